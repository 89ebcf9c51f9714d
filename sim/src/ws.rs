//! The WebSocket door (what the official JavaScript SDK speaks): a tungstenite server,
//! over TLS (rustls) when configured. One request per binary message, decoded with the
//! client's codec (`opend_proto::wire::ws`); the Init login checks the key's MD5; then routing,
//! limits and fault plans come from `route`, exactly as on the TCP door.
//!
//! On this door the fault switches name the login 1001 (its cmd is 1) and the WebSocket
//! pings 1004 (`--withhold 1004` leaves them unanswered); the frame has no SHA-1, so
//! `--corrupt-sha1` flips the body's last byte like `--corrupt-body`.

use crate::conn::{Conn, PushSink};
use crate::ft::{End, close_socket};
use crate::route::{self, INIT_CONNECT, KEEP_ALIVE, Plan, Session};
use crate::{Faults, Lang, Shared};
use opend_proto::pb;
use opend_proto::protocol::ws::WebSocketKey;
use opend_proto::wire::ws::{self, cmd};
use prost::Message as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Bytes, Message, WebSocket};

/// The certificate and key `wss://` is served with.
#[derive(Clone)]
pub struct WsTls {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for WsTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WsTls(..)")
    }
}

impl WsTls {
    /// Reads a PEM certificate chain and its PEM private key.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<WsTls, String> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect())
            .map_err(|e| format!("certificate {}: {e}", cert.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "certificate {}: no PEM certificate in it",
                cert.display()
            ));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("private key {}: {e}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
            .map_err(|e| format!("TLS setup: {e}"))?;
        Ok(WsTls {
            config: Arc::new(config),
        })
    }
}

/// The TCP socket under everything, where `--byte-at-a-time` applies (below TLS).
struct Wire {
    sock: TcpStream,
    byte_at_a_time: bool,
    shared: Arc<Shared>,
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read(buf)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.byte_at_a_time || buf.is_empty() {
            return self.sock.write(buf);
        }
        let n = self.sock.write(&buf[..1])?;
        if !self.shared.sleep(Duration::from_millis(1)) {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

enum Link {
    Plain(Wire),
    Tls(Box<StreamOwned<ServerConnection, Wire>>),
}

impl Link {
    fn wire(&mut self) -> &mut Wire {
        match self {
            Link::Plain(w) => w,
            Link::Tls(s) => &mut s.sock,
        }
    }
}

impl Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Link::Plain(w) => w.read(buf),
            Link::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Link::Plain(w) => w.write(buf),
            Link::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Link::Plain(w) => w.flush(),
            Link::Tls(s) => s.flush(),
        }
    }
}

/// The byte stream tungstenite writes WebSocket frames into. It can drop the pong frames
/// (`--withhold 1004`): tungstenite answers pings by itself, so this is where a silent
/// OpenD is made. Raw writes (partial or broken frames) go around the frame tracking.
struct Frames {
    link: Link,
    /// Off during the HTTP upgrade, whose response is not made of frames.
    tracking: bool,
    drop_pongs: bool,
    /// Header bytes of the frame being written, until it is complete.
    head: Vec<u8>,
    /// Payload bytes of the current frame still to pass (or drop).
    left: u64,
    dropping: bool,
}

impl Frames {
    /// The size of a complete frame header in `head`, if it is complete.
    fn header_len(&self) -> Option<usize> {
        let h = &self.head;
        if h.len() < 2 {
            return None;
        }
        let masked = h[1] & 0x80 != 0;
        let ext = match h[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let need = 2 + ext + if masked { 4 } else { 0 };
        (h.len() >= need).then_some(need)
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.link.write_all(bytes)?;
        self.link.flush()
    }
}

impl Read for Frames {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.link.read(buf)
    }
}

impl Write for Frames {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.tracking {
            return self.link.write(buf);
        }
        let mut rest = buf;
        while !rest.is_empty() {
            if self.left > 0 {
                let n = (self.left.min(rest.len() as u64)) as usize;
                if !self.dropping {
                    self.link.write_all(&rest[..n])?;
                }
                self.left -= n as u64;
                rest = &rest[n..];
                continue;
            }
            self.head.push(rest[0]);
            rest = &rest[1..];
            if let Some(n) = self.header_len() {
                let h = std::mem::take(&mut self.head);
                self.left = match h[1] & 0x7f {
                    126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
                    127 => u64::from_be_bytes(h[2..10].try_into().expect("8 bytes")),
                    l => u64::from(l),
                };
                // Opcode 0xA is a pong.
                self.dropping = self.drop_pongs && h[0] & 0x0f == 0x0a;
                if !self.dropping {
                    self.link.write_all(&h[..n])?;
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.link.flush()
    }
}

/// The header of an unmasked binary frame of `len` payload bytes (RFC 6455 §5.2).
fn frame_header(len: u64) -> Vec<u8> {
    let mut h = vec![0x82];
    if len < 126 {
        h.push(len as u8);
    } else if len <= 0xFFFF {
        h.push(126);
        h.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        h.push(127);
        h.extend_from_slice(&len.to_be_bytes());
    }
    h
}

struct WsDoor {
    session: Session,
    conn: Arc<Conn>,
    ws: WebSocket<Frames>,
    tls: bool,
    ready: bool,
}

/// Serves one WebSocket-door connection: TLS and WebSocket handshakes, then requests,
/// until the peer closes, a fault ends it, or the simulator stops.
pub(crate) fn serve(shared: Arc<Shared>, conn: Arc<Conn>, sock: TcpStream) {
    let end = match handshake(&shared, sock) {
        Some((ws, tls)) => {
            let mut door = WsDoor {
                session: Session::new(shared.clone(), conn.index),
                conn: conn.clone(),
                ws,
                tls,
                ready: false,
            };
            door.run()
        }
        None => End::Close,
    };
    shared.conns.lock().remove(&conn.index);
    close_socket(&conn.stream, end);
}

/// The TLS (for `wss://`) and WebSocket handshakes, blocking, within 10 s.
fn handshake(shared: &Arc<Shared>, sock: TcpStream) -> Option<(WebSocket<Frames>, bool)> {
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let wire = Wire {
        sock,
        byte_at_a_time: false,
        shared: shared.clone(),
    };
    let (link, tls) = match &shared.cfg.ws_tls {
        Some(t) => {
            let conn = ServerConnection::new(t.config.clone()).ok()?;
            (Link::Tls(Box::new(StreamOwned::new(conn, wire))), true)
        }
        None => (Link::Plain(wire), false),
    };
    let frames = Frames {
        link,
        tracking: false,
        drop_pongs: false,
        head: Vec::new(),
        left: 0,
        dropping: false,
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(shared.cfg.max_body_len + ws::REQUEST_HEADER_LEN))
        .max_frame_size(Some(shared.cfg.max_body_len + ws::REQUEST_HEADER_LEN));
    let mut ws = tungstenite::accept_with_config(frames, Some(config)).ok()?;
    // Frames from here on.
    ws.get_mut().tracking = true;
    // From here reads wake every 50 ms, so that queued pushes go out and stop is seen.
    let wire = ws.get_mut().link.wire();
    wire.sock
        .set_read_timeout(Some(Duration::from_millis(50)))
        .ok()?;
    Some((ws, tls))
}

fn timed_out(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(io) if matches!(io.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
}

impl WsDoor {
    fn shared(&self) -> &Arc<Shared> {
        &self.session.shared
    }

    fn run(&mut self) -> End {
        let mut last_heard = Instant::now();
        loop {
            if self.shared().is_stopping() {
                return End::Close;
            }
            if self.send_pushes().is_err() {
                return End::Close;
            }
            let msg = self.ws.read();
            // The faults in force when the request arrived (as on the TCP door, which
            // reads them once per batch).
            let faults = self.shared().faults();
            {
                let f = self.ws.get_mut();
                f.drop_pongs = faults.withhold.contains(&KEEP_ALIVE);
                f.link.wire().byte_at_a_time = faults.byte_at_a_time;
            }
            let msg = match msg {
                Ok(m) => m,
                Err(e) if timed_out(&e) => {
                    if let Some(t) = self.shared().cfg.idle_timeout {
                        if last_heard.elapsed() >= t {
                            return End::Close;
                        }
                    }
                    continue;
                }
                Err(_) => return End::Close,
            };
            last_heard = Instant::now();
            let result = match msg {
                Message::Binary(b) => self.handle(&b, &faults),
                // A peer that speaks no OpenD frames.
                Message::Text(_) => Err(End::Close),
                Message::Close(_) => {
                    let _ = self.ws.flush();
                    return End::Close;
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
            };
            self.session.flush_records();
            if let Err(end) = result {
                return end;
            }
            if self.ws.flush().is_err() {
                return End::Close;
            }
            if faults.stop_reading && self.ready {
                self.shared().park_until_stop();
                return End::Close;
            }
        }
    }

    fn send_pushes(&mut self) -> tungstenite::Result<()> {
        let PushSink::Ws { queue } = &self.conn.sink else {
            unreachable!("a WebSocket-door connection");
        };
        let pushes: VecDeque<Vec<u8>> = match queue.lock().as_mut() {
            Some(q) => std::mem::take(q),
            None => return Ok(()),
        };
        for p in pushes {
            self.ws.send(Message::Binary(Bytes::from(p)))?;
        }
        Ok(())
    }

    /// Handles one request message.
    fn handle(&mut self, msg: &[u8], faults: &Faults) -> Result<(), End> {
        // A message that is not an OpenD frame ends the connection.
        let (h, body) = ws::decode_request(msg).map_err(|_| End::Close)?;
        if !self.ready && h.cmd != cmd::INIT {
            // OpenD expects the login first.
            return Err(End::Close);
        }
        self.session.record(h.cmd, h.section as u32, body);
        // The faults name the login by InitConnect's proto ID.
        let proto = if h.cmd == cmd::INIT {
            INIT_CONNECT
        } else {
            h.cmd
        };
        let plan = self.session.plan(proto, faults);
        if plan.withhold {
            if !self.ready {
                // The session is set up all the same; only the reply is lost.
                let _ = self.login(body, faults);
            }
            return Ok(());
        }
        if plan.close {
            return Err(End::Close);
        }
        if plan.reset {
            return Err(End::Reset);
        }
        if plan.opend_lost {
            let mut out = Vec::new();
            ws::encode_reply(
                &mut out,
                cmd::OPEND_DISCONNECTED,
                0,
                0,
                "OpenD disconnected",
                &[],
            );
            return self.send(out);
        }
        if let Some(error) = plan.peer_error {
            let errmsg = match error {
                ws::error::TIMEOUT => "request timed out",
                ws::error::OPEND_TIMEOUT => "OpenD timed out",
                _ => "OpenD link closed",
            };
            let mut out = Vec::new();
            ws::encode_reply(&mut out, h.cmd, h.section, error, errmsg, &[]);
            self.send(out)?;
            self.session.answered(proto, &plan);
            return Ok(());
        }
        let (error, errmsg, reply, refused) = if !self.ready {
            match self.login(body, faults) {
                Ok(r) => (0, String::new(), r, false),
                Err((errmsg, r)) => (-1, errmsg, r, true),
            }
        } else {
            (
                0,
                String::new(),
                self.session.answer(h.cmd, body, faults),
                false,
            )
        };
        let reply_cmd = if plan.wrong_proto {
            h.cmd.wrapping_add(1)
        } else {
            h.cmd
        };
        let mut out = Vec::with_capacity(ws::REPLY_HEADER_LEN + reply.len());
        ws::encode_reply(&mut out, reply_cmd, h.section, error, &errmsg, &reply);
        if plan.bad_magic {
            out[0] = b'x';
        }
        if (plan.corrupt_body || plan.corrupt_integrity) && out.len() > ws::REPLY_HEADER_LEN {
            *out.last_mut().expect("non-empty") ^= 0x5a;
        }
        self.apply(proto, out, &plan)?;
        if self.ready && !refused && self.shared().cfg.notify_on.contains(&proto) {
            // Queued: the connection's loop sends it after this reply.
            self.conn.push(
                opend_proto::pb::proto_id::NOTIFY,
                &crate::conn_status_notify(faults.omit_ret_fields),
            );
        }
        if refused {
            // No session for a refused login.
            let _ = self.ws.close(None);
            let _ = self.ws.flush();
            return Err(End::Close);
        }
        Ok(())
    }

    fn send(&mut self, msg: Vec<u8>) -> Result<(), End> {
        self.ws
            .send(Message::Binary(Bytes::from(msg)))
            .map_err(|_| End::Close)
    }

    /// Puts the reply on its way as the plan says.
    fn apply(&mut self, proto: u32, msg: Vec<u8>, plan: &Plan) -> Result<(), End> {
        if plan.close_mid_header || plan.close_mid_body {
            let cut = if plan.close_mid_header {
                20
            } else {
                let body = msg.len() - ws::REPLY_HEADER_LEN;
                ws::REPLY_HEADER_LEN + (body / 2).max(1).min(body)
            };
            let _ = self.ws.flush();
            let mut raw = frame_header(msg.len() as u64);
            raw.extend_from_slice(&msg[..cut.min(msg.len())]);
            let _ = self.ws.get_mut().raw(&raw);
            return Err(End::Close);
        }
        if plan.huge_len {
            // A frame announcing 4 GiB, followed by the real message.
            let _ = self.ws.flush();
            let mut raw = frame_header(u64::from(u32::MAX));
            raw.extend_from_slice(&msg);
            self.ws.get_mut().raw(&raw).map_err(|_| End::Close)?;
            self.session.answered(proto, plan);
            return Ok(());
        }
        if let Some(d) = plan.delay {
            // Earlier replies go out on time; this one waits.
            self.ws.flush().map_err(|_| End::Close)?;
            if !self.shared().sleep(d) {
                return Err(End::Close);
            }
        }
        if plan.duplicate {
            self.send(msg.clone())?;
        }
        self.send(msg)?;
        if plan.garbage_after {
            self.ws.flush().map_err(|_| End::Close)?;
            // Random bytes read as a WebSocket frame header could announce a frame that is
            // valid, or longer than what follows (then the client just waits): about one
            // run in eight. The garbage starts as a short frame with a reserved opcode (3),
            // which every WebSocket client must refuse.
            let mut junk = route::garbage();
            junk[0] = 0x83;
            junk[1] = 0x05;
            self.ws.get_mut().raw(&junk).map_err(|_| End::Close)?;
        }
        self.session.answered(proto, plan);
        Ok(())
    }

    /// The Init login: the key's MD5 (when the simulator has a key), then a session.
    /// A refusal gives the errmsg and the Response body to send.
    fn login(&mut self, body: &[u8], faults: &Faults) -> Result<Vec<u8>, (String, Vec<u8>)> {
        let shared = self.shared().clone();
        let cfg = &shared.cfg;
        let refuse = |short: &str, long: &str| {
            let rsp = pb::init_web_socket::Response {
                ret_type: -1,
                ret_msg: Some(long.to_owned()),
                err_code: route::error_code(faults.omit_ret_fields),
                s2c: None,
            };
            Err((short.to_owned(), rsp.encode_to_vec()))
        };
        let c2s = match pb::init_web_socket::Request::decode(body) {
            Ok(r) => r.c2s.unwrap_or_default(),
            Err(_) => {
                return refuse(
                    "bad login request",
                    "cannot parse the InitWebSocket request (opend-sim)",
                );
            }
        };
        if let Some(msg) = &faults.reject_init {
            return refuse(msg, msg);
        }
        if let Some(key) = &cfg.ws_key {
            let want = WebSocketKey::new(key.clone()).md5_hex();
            let got = c2s.websocket_key.unwrap_or_default();
            if !got.eq_ignore_ascii_case(&want) {
                return refuse(
                    "wrong websocket key",
                    match cfg.lang {
                        Lang::En => {
                            "wrong WebSocket key: the login must carry the MD5 of the key OpenD is configured with (opend-sim)"
                        }
                        Lang::Zh => {
                            "WebSocket 密钥错误：登录须携带 OpenD 所配置密钥的 MD5 (opend-sim)"
                        }
                    },
                );
            }
        }
        if cfg.require_encryption && !self.tls {
            return refuse(
                "encryption required",
                "this OpenD requires encryption: connect with wss:// (opend-sim)",
            );
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let (ret_msg, err_code) = route::success_fields(faults.omit_ret_fields);
        let rsp = pb::init_web_socket::Response {
            ret_type: 0,
            ret_msg,
            err_code,
            s2c: Some(pb::init_web_socket::S2c {
                server_time: Some(now),
                conn_id: Some(self.session.conn_id()),
            }),
        };
        self.ready = true;
        if let PushSink::Ws { queue } = &self.conn.sink {
            *queue.lock() = Some(VecDeque::new());
        }
        Ok(rsp.encode_to_vec())
    }
}
