//! A WebSocket (tungstenite) over TCP or over TLS (rustls), non-blocking: each message the
//! protocol marked in its outbox becomes one binary WebSocket message; each binary
//! message received goes to the protocol whole. Pings asked for by the protocol go out
//! as WebSocket pings; pings and pongs received count as activity.

use super::{Broken, Opening, ReadStatus, TlsRoots, Transport, tls};
use crate::protocol::Outbox;
use mio::net::TcpStream;
use rustls::{ClientConnection, StreamOwned};
use std::io::{self, Read, Write};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Bytes, Message, WebSocket};

/// The byte stream under the WebSocket.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, NoSigPipe>>),
}

/// The socket under TLS, written one buffer at a time. rustls hands its records over with
/// `write_vectored`, which a TCP stream turns into `writev`; unlike the `send(..,
/// MSG_NOSIGNAL)` behind `write`, `writev` to a socket the peer has reset raises SIGPIPE,
/// whose default action ends a C program (and nothing in the C ABI asks the program to
/// ignore it). Without a `write_vectored` of its own, each buffer goes through `write`.
pub(crate) struct NoSigPipe(TcpStream);

impl Read for NoSigPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for NoSigPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
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

/// The client's opening handshake (RFC 6455 §4.1), written here rather than through
/// tungstenite's, whose `http` header maps make valgrind report reads of uninitialised
/// memory in every program that connects. tungstenite takes over once it is done.
enum Handshake {
    /// Sending the upgrade request (`written` bytes of it so far).
    Request {
        stream: Stream,
        request: Vec<u8>,
        written: usize,
    },
    /// Reading the server's response (up to [`MAX_RESPONSE`] bytes).
    Response { stream: Stream, buf: Vec<u8> },
}

/// The most a handshake response may take.
const MAX_RESPONSE: usize = 16 * 1024;

struct WsOpening {
    state: Option<Handshake>,
    /// Sec-WebSocket-Key, to check the server's Sec-WebSocket-Accept.
    key: String,
    config: WebSocketConfig,
    tls: bool,
    peer: String,
}

/// Starts the TLS (for `wss://`, when `tls` holds the extra roots, if any) and WebSocket
/// handshakes over a connected socket. `max_packet_len` bounds a message.
pub(crate) fn open(
    sock: TcpStream,
    host: &str,
    port: u16,
    max_packet_len: usize,
    tls: Option<Option<&TlsRoots>>,
) -> Result<Box<dyn Opening>, String> {
    let stream = if let Some(roots) = tls {
        let config = tls::client_config(roots)?;
        let conn = ClientConnection::new(config, tls::server_name(host)?)
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        Stream::Tls(Box::new(StreamOwned::new(conn, NoSigPipe(sock))))
    } else {
        Stream::Plain(sock)
    };
    let url_host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_packet_len))
        .max_frame_size(Some(max_packet_len));
    let key = tungstenite::handshake::client::generate_key();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {url_host}:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    );
    Ok(Box::new(WsOpening {
        state: Some(Handshake::Request {
            stream,
            request: request.into_bytes(),
            written: 0,
        }),
        key,
        config,
        tls: tls.is_some(),
        peer: format!("{host}:{port}"),
    }))
}

/// A handshake error in words: TLS failures (e.g. an untrusted certificate) say so.
fn describe(e: &io::Error, tls: bool, peer: &str) -> String {
    if let Some(t) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return format!("TLS handshake with {peer} failed: {t}");
    }
    let what = if tls { "TLS/WebSocket" } else { "WebSocket" };
    match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => {
            format!("{what} handshake with {peer} failed: the server closed the connection")
        }
        _ => format!("{what} handshake with {peer} failed: {e}"),
    }
}

impl WsOpening {
    /// Checks the server's response; the bytes after it are the first WebSocket frames.
    fn accept(&self, buf: &[u8]) -> Result<Option<usize>, String> {
        let fail = |why: String| format!("WebSocket handshake with {} failed: {why}", self.peer);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut rsp = httparse::Response::new(&mut headers);
        let len = match rsp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() < MAX_RESPONSE => return Ok(None),
            Ok(httparse::Status::Partial) => return Err(fail("the response is too long".into())),
            Err(e) => return Err(fail(format!("not an HTTP response ({e})"))),
        };
        if rsp.code != Some(101) {
            return Err(fail(format!(
                "HTTP {} {} (not a WebSocket endpoint?)",
                rsp.code.unwrap_or(0),
                rsp.reason.unwrap_or("")
            )));
        }
        let header = |name: &str| {
            rsp.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
        };
        if !header("Upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
            return Err(fail("no \"Upgrade: websocket\" in the response".into()));
        }
        if !header("Connection").is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        }) {
            return Err(fail("no \"Connection: upgrade\" in the response".into()));
        }
        let want = tungstenite::handshake::derive_accept_key(self.key.as_bytes());
        if header("Sec-WebSocket-Accept").as_deref() != Some(want.as_str()) {
            return Err(fail("wrong Sec-WebSocket-Accept".into()));
        }
        Ok(Some(len))
    }
}

impl Opening for WsOpening {
    fn step(&mut self) -> Result<Option<Box<dyn Transport>>, String> {
        loop {
            let state = self
                .state
                .take()
                .ok_or_else(|| "the WebSocket handshake already ended".to_owned())?;
            match state {
                Handshake::Request {
                    mut stream,
                    request,
                    mut written,
                } => {
                    let r = if written < request.len() {
                        stream.write(&request[written..]).map(|n| {
                            written += n;
                        })
                    } else {
                        stream.flush()
                    };
                    match r {
                        Ok(()) if written == request.len() && !stream.tls_wants_write() => {
                            self.state = Some(Handshake::Response {
                                stream,
                                buf: Vec::new(),
                            });
                        }
                        Ok(()) => {
                            self.state = Some(Handshake::Request {
                                stream,
                                request,
                                written,
                            })
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            self.state = Some(Handshake::Request {
                                stream,
                                request,
                                written,
                            });
                            return Ok(None);
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                            self.state = Some(Handshake::Request {
                                stream,
                                request,
                                written,
                            })
                        }
                        Err(e) => return Err(describe(&e, self.tls, &self.peer)),
                    }
                }
                Handshake::Response {
                    mut stream,
                    mut buf,
                } => {
                    let mut chunk = [0u8; 4096];
                    match stream.read(&mut chunk) {
                        Ok(0) => {
                            let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
                            return Err(describe(&eof, self.tls, &self.peer));
                        }
                        Ok(n) => {
                            buf.extend_from_slice(&chunk[..n]);
                            if let Some(len) = self.accept(&buf)? {
                                let rest = buf.split_off(len);
                                let ws = WebSocket::from_partially_read(
                                    stream,
                                    rest,
                                    Role::Client,
                                    Some(self.config),
                                );
                                return Ok(Some(Box::new(WsTransport {
                                    ws,
                                    out: Outbox::default(),
                                    needs_flush: false,
                                })));
                            }
                            self.state = Some(Handshake::Response { stream, buf });
                        }
                        Err(e)
                            if e.kind() == io::ErrorKind::WouldBlock
                                || e.kind() == io::ErrorKind::Interrupted =>
                        {
                            self.state = Some(Handshake::Response { stream, buf });
                            if e.kind() == io::ErrorKind::WouldBlock {
                                return Ok(None);
                            }
                        }
                        Err(e) => return Err(describe(&e, self.tls, &self.peer)),
                    }
                }
            }
        }
    }
}

pub(crate) struct WsTransport {
    ws: WebSocket<Stream>,
    out: Outbox,
    /// tungstenite holds bytes the socket has not taken yet.
    needs_flush: bool,
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
        E::Capacity(c) => Broken::Protocol(format!(
            "WebSocket message refused: {c} (over the size limit)"
        )),
        other => Broken::Protocol(format!("WebSocket error: {other}")),
    }
}

impl Transport for WsTransport {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.out
    }

    fn flush(&mut self) -> Result<(), Broken> {
        // TLS records of its own (an alert, a key update) rustls wants to send.
        if self.ws.get_ref().tls_wants_write() {
            self.needs_flush = true;
        }
        // What tungstenite already holds goes first: while the socket takes nothing, no
        // more is handed over, so its buffer stays bounded and the outbox counts the rest.
        if self.needs_flush {
            match self.ws.flush() {
                Ok(()) => self.needs_flush = false,
                Err(e) if would_block(&e) => return Ok(()),
                Err(e) => return Err(broken(e, true)),
            }
        }
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

    fn read(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<ReadStatus, Broken> {
        let mut status = ReadStatus::default();
        for _ in 0..MESSAGES_PER_READ {
            match self.ws.read() {
                Ok(Message::Binary(b)) => {
                    status.activity = true;
                    sink(&b);
                }
                // OpenD sends binary frames only; the protocol says why this is not one.
                Ok(Message::Text(t)) => {
                    status.activity = true;
                    sink(t.as_bytes());
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
