//! OpenD's doors: the TCP API port and the WebSocket port (plain or over TLS). A [`Door`]
//! is one value that carries its own settings and builds what the engine needs for one
//! session: the transport over a connected socket and the sans-I/O protocol on top. The
//! engine never looks inside it; what it says in messages ("InitConnect", "KeepAlive
//! unanswered") comes from here as [`DoorText`].

use crate::crypto::RsaKey;
use crate::protocol::ft::{FtConfig, FtProtocol};
use crate::protocol::ws::{WebSocketKey, WsConfig, WsProtocol};
use crate::protocol::{Protocol, SessionInfo};
use crate::transport::{self, Opening, TlsRoots};
use std::time::Duration;

/// Which door, with its settings.
#[derive(Clone, Debug)]
pub enum Door {
    /// OpenD's TCP API port (FT frames). `encrypt` asks for RSA InitConnect then AES
    /// bodies, with `rsa_key` (the key shared with OpenD).
    Tcp {
        encrypt: bool,
        rsa_key: Option<RsaKey>,
    },
    /// OpenD's WebSocket port: `ws://`, or `wss://` when `tls`. Only the MD5 of `key`
    /// (OpenD's `websocket_key`) is sent; `None` sends an empty key. `tls_roots` are CA
    /// certificates trusted besides the system's.
    WebSocket {
        tls: bool,
        key: Option<WebSocketKey>,
        tls_roots: Option<TlsRoots>,
    },
}

impl Default for Door {
    fn default() -> Self {
        Door::Tcp {
            encrypt: false,
            rsa_key: None,
        }
    }
}

/// Why a door's settings cannot work; nothing is attempted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DoorError {
    /// Encryption was asked for but no RSA private key is set.
    NoRsaKey,
}

/// What the engine says about a door in states, logs and errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoorText {
    /// "TCP", "ws://", "wss://".
    pub name: &'static str,
    /// The handshake after the transport is up: "InitConnect", "the WebSocket login".
    pub handshake: &'static str,
    /// Added when the link closes during the handshake.
    pub handshake_hint: Option<&'static str>,
    /// What went unanswered when OpenD fell silent.
    pub liveness: &'static str,
}

/// Settings shared by every door's protocol, from the connection's options.
#[derive(Clone, Debug)]
pub(crate) struct ProtocolParams {
    pub client_id: String,
    pub client_ver: i32,
    pub programming_language: String,
    pub max_body_len: usize,
    /// How long a request may wait for its reply (also bounds KeepAlive bookkeeping).
    pub request_timeout: Duration,
    /// The silence watchdog's time, which the WebSocket door's pings must beat.
    pub silence_timeout: Option<Duration>,
    /// Seconds since the Unix epoch at the session's start (KeepAlive carries the time).
    pub unix_time_at_start: i64,
}

impl Door {
    pub fn is_websocket(&self) -> bool {
        matches!(self, Door::WebSocket { .. })
    }

    /// Checks the settings before anything is attempted.
    pub fn check(&self) -> Result<(), DoorError> {
        match self {
            Door::Tcp {
                encrypt: true,
                rsa_key: None,
            } => Err(DoorError::NoRsaKey),
            _ => Ok(()),
        }
    }

    pub fn text(&self) -> DoorText {
        match self {
            Door::Tcp { encrypt, .. } => DoorText {
                name: "TCP",
                handshake: "InitConnect",
                handshake_hint: encrypt.then_some(
                    "with encryption on this usually means OpenD's RSA key differs from ours (or OpenD has none)",
                ),
                liveness: "KeepAlive unanswered",
            },
            Door::WebSocket { tls, .. } => DoorText {
                name: if *tls { "wss://" } else { "ws://" },
                handshake: "the WebSocket login",
                handshake_hint: None,
                liveness: "WebSocket pings unanswered",
            },
        }
    }

    /// The log line for a session that is up, in the door's own terms.
    pub(crate) fn session_line(&self, info: &SessionInfo) -> String {
        match self {
            Door::Tcp { .. } => format!(
                "connected: OpenD serverVer={} connID={} keepAliveInterval={}s encrypted={}",
                info.server_ver, info.conn_id, info.keep_alive_interval_s, info.encrypted
            ),
            Door::WebSocket { .. } => {
                format!(
                    "connected over {}: connID={}",
                    self.text().name,
                    info.conn_id
                )
            }
        }
    }

    /// The largest message the transport accepts: a body plus the door's own header.
    pub(crate) fn max_packet_len(&self, max_body_len: usize) -> usize {
        match self {
            Door::Tcp { .. } => max_body_len,
            Door::WebSocket { .. } => max_body_len + crate::wire::ws::REPLY_HEADER_LEN,
        }
    }

    /// Starts the door's transport over a connected, non-blocking socket.
    pub(crate) fn open(
        &self,
        sock: mio::net::TcpStream,
        host: &str,
        port: u16,
        max_body_len: usize,
    ) -> Result<Box<dyn Opening>, String> {
        let max = self.max_packet_len(max_body_len);
        match self {
            Door::Tcp { .. } => Ok(transport::tcp::open(sock)),
            Door::WebSocket { tls, tls_roots, .. } => {
                let roots = if *tls { Some(tls_roots.as_ref()) } else { None };
                transport::websocket::open(sock, host, port, max, roots)
            }
        }
    }

    /// The door's protocol for one session.
    pub(crate) fn protocol(&self, p: &ProtocolParams) -> Box<dyn Protocol> {
        match self {
            Door::Tcp { encrypt, rsa_key } => Box::new(FtProtocol::new(FtConfig {
                client_id: p.client_id.clone(),
                client_ver: p.client_ver,
                programming_language: p.programming_language.clone(),
                rsa_key: rsa_key.clone(),
                encrypt: *encrypt,
                max_body_len: p.max_body_len,
                keep_alive_reply_window: p.request_timeout,
                unix_time_at_start: p.unix_time_at_start,
            })),
            Door::WebSocket { tls, key, .. } => Box::new(WsProtocol::new(WsConfig {
                key: key.clone(),
                client_id: p.client_id.clone(),
                programming_language: p.programming_language.clone(),
                ping_every: ping_interval(p.silence_timeout),
                tls: *tls,
            })),
        }
    }
}

/// How often the WebSocket door pings: a quarter of the silence watchdog's time (so a
/// healthy OpenD is heard from several times before it fires), between 250 ms and 8 s
/// (the TCP door's KeepAlive period).
pub(crate) fn ping_interval(silence_timeout: Option<Duration>) -> Duration {
    silence_timeout.map_or(Duration::from_secs(8), |t| {
        (t / 4).clamp(Duration::from_millis(250), Duration::from_secs(8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_door_words_its_own_handshake_and_liveness() {
        let tcp = Door::default();
        assert_eq!(tcp.text().handshake, "InitConnect");
        assert_eq!(tcp.text().liveness, "KeepAlive unanswered");
        assert_eq!(tcp.max_packet_len(100), 100);
        let wss = Door::WebSocket {
            tls: true,
            key: None,
            tls_roots: None,
        };
        assert_eq!(wss.text().name, "wss://");
        assert_eq!(wss.text().liveness, "WebSocket pings unanswered");
        assert_eq!(
            wss.max_packet_len(100),
            100 + crate::wire::ws::REPLY_HEADER_LEN
        );
        assert_eq!(
            Door::Tcp {
                encrypt: true,
                rsa_key: None
            }
            .check(),
            Err(DoorError::NoRsaKey)
        );
    }

    #[test]
    fn pings_beat_the_silence_watchdog() {
        assert_eq!(ping_interval(None), Duration::from_secs(8));
        assert_eq!(
            ping_interval(Some(Duration::from_secs(4))),
            Duration::from_secs(1)
        );
        assert_eq!(
            ping_interval(Some(Duration::from_millis(100))),
            Duration::from_millis(250)
        );
        assert_eq!(
            ping_interval(Some(Duration::from_secs(600))),
            Duration::from_secs(8)
        );
    }
}
