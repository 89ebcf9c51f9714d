//! Transports: moving bytes over a socket. TCP for the TCP door; a WebSocket over TCP or
//! over TLS (`ws://`, `wss://`) for the WebSocket door.
//!
//! A transport owns its non-blocking socket (registered with the driver's `mio::Poll`
//! before it gets here) and the [`Outbox`] a protocol fills. The driver calls
//! [`Transport::read`], which hands what arrived to the driver's sink, and
//! [`Transport::flush`]. Nothing here knows a packet or a protocol.

pub(crate) mod tcp;
pub(crate) mod tls;
pub(crate) mod websocket;

use crate::protocol::Outbox;
use std::io;

pub use tls::{TlsError, TlsRoots};

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

/// A connected transport. Reads and writes go on until the socket would block, so an
/// edge-triggered readiness event (what mio gives) is never missed.
pub(crate) trait Transport: Send {
    /// Where the protocol queues what it sends.
    fn outbox(&mut self) -> &mut Outbox;
    /// Hands queued bytes to the socket, as many as it takes now.
    fn flush(&mut self) -> Result<(), Broken>;
    /// Reads what is there and hands each piece (a stream chunk, or one whole message)
    /// to `sink`.
    fn read(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<ReadStatus, Broken>;
    /// Bytes queued and not yet written (for the send-buffer limit).
    fn unsent(&self) -> usize;
}

/// A transport whose handshake (TLS, WebSocket upgrade) is still running.
pub(crate) trait Opening: Send {
    /// Goes on with the handshake: `Ok(Some)` once done, `Ok(None)` while it would block.
    fn step(&mut self) -> Result<Option<Box<dyn Transport>>, String>;
}
