//! Transports: moving a protocol's bytes over a socket. TCP for the TCP door; a WebSocket
//! over TCP or over TLS (`ws://`, `wss://`) for the WebSocket door.
//!
//! A transport owns the socket (non-blocking) and the [`Outbox`] its protocol fills. The
//! engine's driver polls [`Transport::fd`], then calls [`Transport::read`] (which feeds
//! what arrived to the protocol) and [`Transport::flush`]. Nothing here knows a packet.

pub(crate) mod tcp;
pub(crate) mod tls;
pub(crate) mod websocket;

use crate::protocol::{Outbox, Protocol};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::RawFd;
use std::time::Duration;

pub use tls::{TlsError, TlsRoots};

/// Which door, and how to reach it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransportKind {
    /// OpenD's TCP API port (FT frames).
    #[default]
    Tcp,
    /// OpenD's WebSocket port, `ws://`.
    WebSocket,
    /// OpenD's WebSocket port over TLS, `wss://`.
    WebSocketTls,
}

impl TransportKind {
    pub fn is_websocket(self) -> bool {
        self != TransportKind::Tcp
    }

    /// For messages: "TCP", "ws://", "wss://".
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Tcp => "TCP",
            TransportKind::WebSocket => "ws://",
            TransportKind::WebSocketTls => "wss://",
        }
    }
}

/// What a read found.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ReadStatus {
    /// Something arrived (data, or a WebSocket ping or pong): the peer is alive.
    pub activity: bool,
    /// More may be waiting already: read again before sleeping.
    pub more: bool,
}

/// Why a transport cannot go on.
#[derive(Debug)]
pub(crate) enum Broken {
    /// The peer closed the connection; the reason says how.
    Closed(String),
    /// A socket error while sending (`send`) or receiving.
    Io {
        send: bool,
        err: io::Error,
        what: String,
    },
    /// The peer broke the transport's own protocol (a bad WebSocket frame, a message
    /// over the size limit).
    Protocol(String),
}

/// A connected transport.
pub(crate) trait Transport: Send {
    fn fd(&self) -> RawFd;
    /// Where the protocol queues what it sends.
    fn outbox(&mut self) -> &mut Outbox;
    /// Whether there are bytes the socket has not taken yet (poll for writability).
    fn wants_write(&self) -> bool;
    /// Hands queued bytes to the socket, as many as it takes now.
    fn flush(&mut self) -> Result<(), Broken>;
    /// Reads what is there and feeds it to `proto`.
    fn read(&mut self, proto: &mut dyn Protocol) -> Result<ReadStatus, Broken>;
    /// Bytes queued and not yet written (for the send-buffer limit).
    fn unsent(&self) -> usize;
}

/// A transport whose handshake (TLS, WebSocket upgrade) is still running.
pub(crate) trait Opening: Send {
    fn fd(&self) -> RawFd;
    /// Whether the handshake waits to write (poll for writability too).
    fn wants_write(&self) -> bool;
    /// Goes on with the handshake: `Ok(Some)` once done, `Ok(None)` while it would block.
    fn step(&mut self) -> Result<Option<Box<dyn Transport>>, String>;
}

/// Settings the transports take from the connection's options.
#[derive(Clone, Debug)]
pub(crate) struct TransportConfig {
    pub kind: TransportKind,
    /// Largest packet accepted (body plus header).
    pub max_packet_len: usize,
    pub tls_roots: Option<TlsRoots>,
}

/// TCP-connects with a timeout and sets the socket up (non-blocking, no Nagle).
pub(crate) fn tcp_connect(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(addr, timeout)?;
    s.set_nonblocking(true)?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Starts the transport of `cfg.kind` over a connected socket.
pub(crate) fn open(
    cfg: &TransportConfig,
    sock: TcpStream,
    host: &str,
    port: u16,
) -> Result<Box<dyn Opening>, String> {
    match cfg.kind {
        TransportKind::Tcp => Ok(Box::new(tcp::Ready(Some(tcp::TcpTransport::new(sock))))),
        TransportKind::WebSocket | TransportKind::WebSocketTls => {
            websocket::open(cfg, sock, host, port)
        }
    }
}
