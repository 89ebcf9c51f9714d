//! The WebSocket door's protocol (`crate::wire::ws`): the Init login (cmd 1) with the
//! key's MD5, requests whose section is their serial number, the reply header's `error`
//! turned into per-request failures, cmd 2 ending the session, and WebSocket pings so
//! that the engine's silence watchdog hears from a healthy OpenD. No SHA-1, no
//! InitConnect, no KeepAlive, no AES: TLS (`wss://`) is the transport's business.

use super::{Event, Failure, Outbox, Packet, PeerFailure, Protocol, Serials, SessionInfo};
use crate::pb::{self, proto_id};
use crate::wire::ws::{self, cmd};
use md5::{Digest, Md5};
use prost::Message;
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

/// The WebSocket key shared with OpenD. Only its MD5 travels; neither appears in any
/// message or log line.
#[derive(Clone, PartialEq, Eq)]
pub struct WebSocketKey(String);

impl WebSocketKey {
    pub fn new(key: impl Into<String>) -> WebSocketKey {
        WebSocketKey(key.into())
    }

    /// What the login carries: the key's MD5 as 32 lowercase hex characters.
    pub fn md5_hex(&self) -> String {
        Md5::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Debug for WebSocketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebSocketKey(..)")
    }
}

#[derive(Clone, Debug)]
pub struct WsConfig {
    pub key: Option<WebSocketKey>,
    pub client_id: String,
    pub programming_language: String,
    /// Time between WebSocket pings once logged in.
    pub ping_every: Duration,
    /// Whether the transport is TLS (reported in [`SessionInfo::encrypted`]).
    pub tls: bool,
}

pub struct WsProtocol {
    cfg: WsConfig,
    login_section: u64,
    ready: bool,
    dead: bool,
    events: VecDeque<Event>,
    next_ping: Option<Instant>,
}

impl WsProtocol {
    pub fn new(cfg: WsConfig) -> WsProtocol {
        WsProtocol {
            cfg,
            login_section: 0,
            ready: false,
            dead: false,
            events: VecDeque::new(),
            next_ping: None,
        }
    }

    fn lose(&mut self, f: Failure) {
        self.dead = true;
        self.events.push_back(Event::Lost(f));
    }

    fn login_reply(&mut self, h: &ws::ReplyHeader, body: &[u8]) -> Result<SessionInfo, Failure> {
        let parsed = (!body.is_empty())
            .then(|| pb::init_web_socket::Response::decode(body))
            .transpose();
        if h.error != 0 {
            let why = match &parsed {
                Ok(Some(r)) if r.ret_msg.as_deref().is_some_and(|m| !m.is_empty()) => {
                    r.ret_msg.clone().unwrap_or_default()
                }
                _ if !h.errmsg.is_empty() => h.errmsg.clone(),
                _ => "no reason given".into(),
            };
            return Err(Failure::Rejected(format!(
                "OpenD refused the WebSocket login (error {}): {why}",
                h.error
            )));
        }
        let rsp = parsed
            .map_err(|e| {
                Failure::Protocol(format!("cannot parse the WebSocket login's reply: {e}"))
            })?
            .ok_or_else(|| Failure::Protocol("the WebSocket login's reply has no body".into()))?;
        if rsp.ret_type != 0 {
            return Err(Failure::rejected(rsp.ret_type, rsp.ret_msg));
        }
        let s2c = rsp
            .s2c
            .ok_or_else(|| Failure::Protocol("the WebSocket login's reply has no s2c".into()))?;
        Ok(SessionInfo {
            conn_id: s2c.conn_id.unwrap_or(0),
            encrypted: self.cfg.tls,
            ..SessionInfo::default()
        })
    }
}

/// The retType a failure of the WebSocket side becomes, and what to say when its errmsg
/// is empty: `error` 1 and 2 are timeouts, 3 (and anything unknown) a lost link.
fn peer_failure(error: i32) -> (PeerFailure, &'static str) {
    match error {
        ws::error::TIMEOUT => (PeerFailure::Timeout, "no reply from OpenD in time"),
        ws::error::OPEND_TIMEOUT => (
            PeerFailure::Timeout,
            "OpenD timed out (its link to Futu's servers may be down)",
        ),
        ws::error::DISCONNECTED => (
            PeerFailure::Disconnected,
            "the link between OpenD's WebSocket side and OpenD closed",
        ),
        _ => (
            PeerFailure::Disconnected,
            "the WebSocket side failed the request",
        ),
    }
}

impl Protocol for WsProtocol {
    fn start(&mut self, _now: Instant, out: &mut Outbox, serials: Serials<'_>) {
        let req = pb::init_web_socket::Request {
            c2s: Some(pb::init_web_socket::C2s {
                ip: None,
                port: None,
                rsa_private_key: None,
                websocket_key: Some(
                    self.cfg
                        .key
                        .as_ref()
                        .map(WebSocketKey::md5_hex)
                        .unwrap_or_default(),
                ),
                client_id: Some(self.cfg.client_id.clone()),
                programming_language: Some(self.cfg.programming_language.clone()),
            }),
        };
        self.login_section = u64::from(serials());
        ws::encode_request(
            out.buf(),
            cmd::INIT,
            self.login_section,
            &req.encode_to_vec(),
        );
        out.end_message();
    }

    fn handle_input(&mut self, msg: &[u8], now: Instant) {
        if self.dead {
            return;
        }
        let (h, body) = match ws::decode_reply(msg) {
            Ok(v) => v,
            Err(e) => return self.lose(Failure::Protocol(format!("protocol error: {e}"))),
        };
        if h.cmd == cmd::OPEND_DISCONNECTED {
            let mut why = "OpenD's WebSocket side lost its connection to OpenD".to_owned();
            if !h.errmsg.is_empty() {
                why = format!("{why}: {}", h.errmsg);
            }
            return self.lose(Failure::Ended(why));
        }
        if !self.ready {
            // Nothing but the login's reply is expected before it.
            if h.cmd == cmd::INIT && h.section == self.login_section {
                match self.login_reply(&h, body) {
                    Ok(info) => {
                        self.ready = true;
                        self.next_ping = Some(now + self.cfg.ping_every);
                        self.events.push_back(Event::Ready(info));
                    }
                    Err(f) => self.lose(f),
                }
            }
            return;
        }
        // Sections are the serial numbers we sent; anything else is not a reply of ours.
        let serial = u32::try_from(h.section).unwrap_or(0);
        if h.error != 0 {
            let (kind, default) = peer_failure(h.error);
            let what = if h.errmsg.is_empty() {
                default
            } else {
                h.errmsg.as_str()
            };
            self.events.push_back(Event::Failed {
                proto_id: h.cmd,
                serial,
                kind,
                reason: format!("OpenD's WebSocket side (error {}): {what}", h.error),
            });
            return;
        }
        let packet = Packet {
            proto_id: h.cmd,
            serial,
            body: body.to_vec(),
        };
        self.events.push_back(if proto_id::is_push(h.cmd) {
            Event::Push(packet)
        } else {
            Event::Reply(packet)
        });
    }

    fn poll_event(&mut self, _now: Instant) -> Option<Event> {
        self.events.pop_front()
    }

    fn send(&mut self, proto_id: u32, serial: u32, body: &[u8], out: &mut Outbox) {
        ws::encode_request(out.buf(), proto_id, u64::from(serial), body);
        out.end_message();
    }

    fn next_timeout(&self) -> Option<Instant> {
        self.next_ping.filter(|_| self.ready && !self.dead)
    }

    fn handle_timeout(&mut self, now: Instant, out: &mut Outbox, _serials: Serials<'_>) {
        if let Some(t) = self.next_ping {
            if self.ready && !self.dead && now >= t {
                out.ping();
                self.next_ping = Some(now + self.cfg.ping_every);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(key: Option<&str>) -> WsProtocol {
        WsProtocol::new(WsConfig {
            key: key.map(WebSocketKey::new),
            client_id: "t".into(),
            programming_language: "Rust".into(),
            ping_every: Duration::from_secs(8),
            tls: false,
        })
    }

    fn reply(cmd: u32, section: u64, error: i32, errmsg: &str, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        ws::encode_reply(&mut out, cmd, section, error, errmsg, body);
        out
    }

    fn login_ok(section: u64) -> Vec<u8> {
        let rsp = pb::init_web_socket::Response {
            ret_type: 0,
            ret_msg: None,
            err_code: None,
            s2c: Some(pb::init_web_socket::S2c {
                server_time: Some(1),
                conn_id: Some(99),
            }),
        };
        reply(cmd::INIT, section, 0, "", &rsp.encode_to_vec())
    }

    #[test]
    fn the_login_carries_the_keys_md5_and_a_refusal_is_rejected() {
        // MD5("secret123"), as the official SDK sends it.
        assert_eq!(
            WebSocketKey::new("secret123").md5_hex(),
            "5d7845ac6ee7cfffafc5fe5f35cf666d"
        );
        let mut p = proto(Some("secret123"));
        let mut out = Outbox::default();
        p.start(Instant::now(), &mut out, &mut || 5);
        let (h, body) = ws::decode_request(out.next_message().unwrap()).unwrap();
        assert_eq!((h.cmd, h.section), (1, 5));
        let c2s = pb::init_web_socket::Request::decode(body)
            .unwrap()
            .c2s
            .unwrap();
        assert_eq!(
            c2s.websocket_key.as_deref(),
            Some(WebSocketKey::new("secret123").md5_hex().as_str())
        );
        assert!(
            format!("{:?}", WebSocketKey::new("secret123"))
                .find("secret")
                .is_none()
        );

        p.handle_input(&reply(cmd::INIT, 5, 7, "bad key", b""), Instant::now());
        match p.poll_event(Instant::now()) {
            Some(Event::Lost(Failure::Rejected(m))) => {
                assert!(m.contains("bad key") && m.contains("error 7"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn replies_map_sections_to_serials_errors_to_failures_and_cmd_2_ends_it() {
        let mut p = proto(None);
        let mut out = Outbox::default();
        p.start(Instant::now(), &mut out, &mut || 1);
        p.handle_input(&reply(3222, 1, 0, "", b"too early"), Instant::now());
        assert!(p.poll_event(Instant::now()).is_none());
        p.handle_input(&login_ok(1), Instant::now());
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Ready(SessionInfo { conn_id: 99, .. }))
        ));

        p.send(3222, 2, b"\x0a\x02\x08\x03", &mut out);
        out.message_taken();
        let (h, _) = ws::decode_request(out.next_message().unwrap()).unwrap();
        assert_eq!(h.section, 2);

        p.handle_input(&reply(3222, 2, 0, "", b"ok"), Instant::now());
        p.handle_input(&reply(3222, 3, 1, "", b""), Instant::now());
        p.handle_input(&reply(3222, 4, 3, "gone", b""), Instant::now());
        p.handle_input(&reply(1003, 0, 0, "", b"push"), Instant::now());
        p.handle_input(
            &reply(cmd::OPEND_DISCONNECTED, 0, 0, "", b""),
            Instant::now(),
        );
        p.handle_input(&reply(3222, 5, 0, "", b"after the end"), Instant::now());
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Reply(Packet { serial: 2, .. }))
        ));
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Failed {
                serial: 3,
                kind: PeerFailure::Timeout,
                ..
            })
        ));
        match p.poll_event(Instant::now()) {
            Some(Event::Failed {
                serial: 4,
                kind: PeerFailure::Disconnected,
                reason,
                ..
            }) => {
                assert!(reason.contains("gone"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Push(Packet { proto_id: 1003, .. }))
        ));
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Lost(Failure::Ended(_)))
        ));
        assert!(p.poll_event(Instant::now()).is_none());
    }

    #[test]
    fn pings_go_out_once_logged_in() {
        let mut p = proto(None);
        let mut out = Outbox::default();
        p.start(Instant::now(), &mut out, &mut || 1);
        assert!(p.next_timeout().is_none());
        p.handle_input(&login_ok(1), Instant::now());
        let _ = p.poll_event(Instant::now());
        let t = p.next_timeout().unwrap();
        p.handle_timeout(t, &mut out, &mut || 0);
        assert_eq!(out.take_pings(), 1);
        assert!(p.next_timeout().unwrap() > t);
    }

    #[test]
    fn a_frame_that_is_not_opends_ends_the_session() {
        let mut p = proto(None);
        let mut out = Outbox::default();
        p.start(Instant::now(), &mut out, &mut || 1);
        p.handle_input(b"hello", Instant::now());
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Lost(Failure::Protocol(_)))
        ));
    }
}
