//! A WebSocket (tungstenite) over TCP or over TLS (rustls), non-blocking: each message the
//! protocol marked in its outbox becomes one binary WebSocket message; each binary
//! message received goes to the protocol whole. Pings asked for by the protocol go out
//! as WebSocket pings; pings and pongs received count as activity.

use super::{Broken, Opening, ReadStatus, Transport, TransportConfig, TransportKind, tls};
use crate::protocol::{Outbox, Protocol};
use rustls::{ClientConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Bytes, Message, WebSocket};

/// The byte stream under the WebSocket.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl Stream {
    fn tls_wants_write(&self) -> bool {
        matches!(self, Stream::Tls(s) if s.conn.wants_write())
    }
}

enum Handshake {
    Start { stream: Stream, url: String },
    Mid(tungstenite::handshake::MidHandshake<ClientHandshake<Stream>>),
}

struct WsOpening {
    state: Option<Handshake>,
    fd: RawFd,
    config: WebSocketConfig,
    tls: bool,
    peer: String,
}

/// Starts the TLS (for `wss://`) and WebSocket handshakes over a connected socket.
pub(crate) fn open(
    cfg: &TransportConfig,
    sock: TcpStream,
    host: &str,
    port: u16,
) -> Result<Box<dyn Opening>, String> {
    let fd = sock.as_raw_fd();
    let tls = cfg.kind == TransportKind::WebSocketTls;
    let stream = if tls {
        let config = tls::client_config(cfg.tls_roots.as_ref())?;
        let conn = ClientConnection::new(config, tls::server_name(host)?)
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        Stream::Tls(Box::new(StreamOwned::new(conn, sock)))
    } else {
        Stream::Plain(sock)
    };
    let url_host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let scheme = if tls { "wss" } else { "ws" };
    let config = WebSocketConfig::default()
        .max_message_size(Some(cfg.max_packet_len))
        .max_frame_size(Some(cfg.max_packet_len));
    Ok(Box::new(WsOpening {
        state: Some(Handshake::Start {
            stream,
            url: format!("{scheme}://{url_host}:{port}/"),
        }),
        fd,
        config,
        tls,
        peer: format!("{host}:{port}"),
    }))
}

/// A handshake error in words: TLS failures (e.g. an untrusted certificate) say so.
fn describe(e: &tungstenite::Error, tls: bool, peer: &str) -> String {
    if let tungstenite::Error::Io(io) = e {
        if let Some(t) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return format!("TLS handshake with {peer} failed: {t}");
        }
        if io.kind() == io::ErrorKind::UnexpectedEof || io.kind() == io::ErrorKind::ConnectionReset
        {
            let what = if tls { "TLS/WebSocket" } else { "WebSocket" };
            return format!(
                "{what} handshake with {peer} failed: the server closed the connection"
            );
        }
    }
    format!("WebSocket handshake with {peer} failed: {e}")
}

impl Opening for WsOpening {
    fn fd(&self) -> RawFd {
        self.fd
    }

    fn wants_write(&self) -> bool {
        match &self.state {
            Some(Handshake::Start { .. }) => true,
            Some(Handshake::Mid(m)) => m.get_ref().get_ref().tls_wants_write(),
            None => false,
        }
    }

    fn step(&mut self) -> Result<Option<Box<dyn Transport>>, String> {
        let result = match self.state.take() {
            Some(Handshake::Start { stream, url }) => {
                tungstenite::client::client_with_config(url, stream, Some(self.config))
            }
            Some(Handshake::Mid(mid)) => mid.handshake(),
            None => return Err("the WebSocket handshake already ended".into()),
        };
        match result {
            Ok((ws, _response)) => Ok(Some(Box::new(WsTransport {
                ws,
                out: Outbox::default(),
                needs_flush: false,
                fd: self.fd,
            }))),
            Err(HandshakeError::Interrupted(mid)) => {
                self.state = Some(Handshake::Mid(mid));
                Ok(None)
            }
            Err(HandshakeError::Failure(e)) => Err(describe(&e, self.tls, &self.peer)),
        }
    }
}

pub(crate) struct WsTransport {
    ws: WebSocket<Stream>,
    out: Outbox,
    /// tungstenite holds bytes the socket has not taken yet.
    needs_flush: bool,
    fd: RawFd,
}

/// Most messages handed to the protocol per read, so sends get their turn.
const MESSAGES_PER_READ: usize = 256;

fn would_block(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(io) if io.kind() == io::ErrorKind::WouldBlock)
}

fn broken(e: tungstenite::Error, send: bool) -> Broken {
    use tungstenite::Error as E;
    match e {
        E::ConnectionClosed | E::AlreadyClosed => {
            Broken::Closed("OpenD closed the WebSocket".into())
        }
        E::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => {
            Broken::Closed("OpenD closed the connection".into())
        }
        E::Io(err) => {
            if let Some(t) = err
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
            {
                return Broken::Protocol(format!("TLS error: {t}"));
            }
            let what = if send {
                format!("sending to OpenD failed: {err}")
            } else {
                format!("receiving from OpenD failed: {err}")
            };
            Broken::Io { send, err, what }
        }
        E::Capacity(c) => Broken::Protocol(format!("WebSocket message refused: {c}")),
        other => Broken::Protocol(format!("WebSocket error: {other}")),
    }
}

impl Transport for WsTransport {
    fn fd(&self) -> RawFd {
        self.fd
    }

    fn outbox(&mut self) -> &mut Outbox {
        &mut self.out
    }

    fn wants_write(&self) -> bool {
        self.needs_flush || self.out.next_message().is_some() || self.ws.get_ref().tls_wants_write()
    }

    fn flush(&mut self) -> Result<(), Broken> {
        for _ in 0..self.out.take_pings() {
            match self.ws.write(Message::Ping(Bytes::new())) {
                Ok(()) => self.needs_flush = true,
                Err(e) if would_block(&e) => self.needs_flush = true,
                Err(e) => return Err(broken(e, true)),
            }
        }
        while let Some(msg) = self.out.next_message() {
            let m = Message::Binary(Bytes::copy_from_slice(msg));
            match self.ws.write(m) {
                Ok(()) => {
                    self.out.message_taken();
                    self.needs_flush = true;
                }
                // The message is in tungstenite's buffer; the socket is full for now.
                Err(e) if would_block(&e) => {
                    self.out.message_taken();
                    self.needs_flush = true;
                    break;
                }
                Err(tungstenite::Error::WriteBufferFull(_)) => break,
                Err(e) => return Err(broken(e, true)),
            }
        }
        if self.needs_flush {
            match self.ws.flush() {
                Ok(()) => self.needs_flush = false,
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(broken(e, true)),
            }
        }
        Ok(())
    }

    fn read(&mut self, proto: &mut dyn Protocol) -> Result<ReadStatus, Broken> {
        let mut status = ReadStatus::default();
        for _ in 0..MESSAGES_PER_READ {
            match self.ws.read() {
                Ok(Message::Binary(b)) => {
                    status.activity = true;
                    proto.handle_input(&b);
                }
                // OpenD sends binary frames only; the protocol says why this is not one.
                Ok(Message::Text(t)) => {
                    status.activity = true;
                    proto.handle_input(t.as_bytes());
                }
                Ok(Message::Ping(_)) => {
                    // tungstenite has queued the pong; it goes out with the next flush.
                    status.activity = true;
                    self.needs_flush = true;
                }
                Ok(Message::Pong(_)) | Ok(Message::Frame(_)) => status.activity = true,
                Ok(Message::Close(frame)) => {
                    let why = match frame {
                        Some(f) if !f.reason.is_empty() => {
                            format!(
                                "OpenD closed the WebSocket (code {}: {})",
                                u16::from(f.code),
                                f.reason
                            )
                        }
                        Some(f) => {
                            format!("OpenD closed the WebSocket (code {})", u16::from(f.code))
                        }
                        None => "OpenD closed the WebSocket".into(),
                    };
                    return Err(Broken::Closed(why));
                }
                Err(e) if would_block(&e) => return Ok(status),
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(broken(e, false)),
            }
        }
        status.more = true;
        Ok(status)
    }

    fn unsent(&self) -> usize {
        self.out.pending()
    }
}

impl Drop for WsTransport {
    fn drop(&mut self) {
        // A goodbye OpenD can tell from a crash; best effort, never blocking.
        if self.ws.can_write() {
            let _ = self.ws.close(None);
        }
    }
}
