//! The protocols, one per door, as sans-I/O state machines: bytes in; bytes, packets and
//! timers out. Neither owns a socket, a thread or a clock; the client's engine driver
//! (`opend::engine`) feeds them what its transport read and the time, and hands what they
//! queued in their [`Outbox`] to the transport. A door (`opend::door`) builds them.
//!
//! - [`ft::FtProtocol`]: the TCP door (44-byte frames, SHA-1, InitConnect, RSA/AES,
//!   KeepAlive);
//! - [`ws::WsProtocol`]: the WebSocket door (big-endian frames, the Init login, section ↔
//!   serial, WebSocket pings for liveness).
//!
//! A protocol never sees a user callback: what it tells the engine are [`Event`]s.

pub mod ft;
pub mod ws;

use std::collections::VecDeque;
use std::time::Instant;

/// What the handshake (InitConnect, or the WebSocket Init login) told us.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionInfo {
    pub conn_id: u64,
    /// The logged-in user (TCP door; 0 on the WebSocket door, whose login does not say).
    pub login_user_id: u64,
    /// OpenD's version (TCP door; 0 on the WebSocket door).
    pub server_ver: i32,
    /// Seconds between KeepAlives, as OpenD asked (TCP door; 0 on the WebSocket door).
    pub keep_alive_interval_s: i32,
    /// Whether the link is encrypted: AES bodies on the TCP door, TLS (`wss://`) on the
    /// WebSocket door.
    pub encrypted: bool,
}

/// A request's reply or a push, with its plaintext body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub proto_id: u32,
    pub serial: u32,
    pub body: Vec<u8>,
}

/// A request that the far side answered with a failure of its own instead of a body
/// (the WebSocket door's `error` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerFailure {
    /// No answer in time (becomes retType -100).
    Timeout,
    /// The link to OpenD went away (becomes retType -200).
    Disconnected,
}

/// Why a session cannot go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The peer broke the protocol: a bad frame, SHA-1 or body.
    Protocol(String),
    /// OpenD refused the handshake; its reason.
    Rejected(String),
    /// OpenD said the session is over (the WebSocket door's cmd 2).
    Ended(String),
}

impl Failure {
    /// OpenD's refusal of a login: its retMsg, or the retType when it gave none.
    pub fn rejected(ret_type: i32, ret_msg: Option<String>) -> Failure {
        Failure::Rejected(match ret_msg {
            Some(m) if !m.is_empty() => m,
            _ => format!("retType={ret_type}"),
        })
    }
}

/// What a protocol tells the engine, in the order the input produced it.
#[derive(Debug)]
pub enum Event {
    /// The handshake succeeded: requests may go.
    Ready(SessionInfo),
    Reply(Packet),
    Push(Packet),
    /// The far side failed request `serial` itself.
    Failed {
        proto_id: u32,
        serial: u32,
        kind: PeerFailure,
        reason: String,
    },
    /// The session is over; nothing follows.
    Lost(Failure),
}

/// Hands out serial numbers for the packets a protocol makes itself (InitConnect,
/// KeepAlive, the Init login), from the same counter as the user's requests.
pub type Serials<'a> = &'a mut dyn FnMut() -> u32;

/// One door's protocol. Every entry point that can start a timer takes the time; none
/// reads a clock.
pub trait Protocol: Send {
    /// Queues the handshake. Called once, when the transport is up.
    fn start(&mut self, now: Instant, out: &mut Outbox, serials: Serials<'_>);

    /// Bytes from the transport: the next piece of a stream, or one whole message.
    fn handle_input(&mut self, data: &[u8], now: Instant);

    /// The next event the input produced; [`Event::Lost`] is the last one.
    fn poll_event(&mut self, now: Instant) -> Option<Event>;

    /// Queues a request (after [`Event::Ready`]).
    fn send(&mut self, proto_id: u32, serial: u32, body: &[u8], out: &mut Outbox);

    /// When [`handle_timeout`](Protocol::handle_timeout) wants to run.
    fn next_timeout(&self) -> Option<Instant>;

    /// Liveness traffic that is due (KeepAlive, WebSocket ping).
    fn handle_timeout(&mut self, now: Instant, out: &mut Outbox, serials: Serials<'_>);
}

/// Bytes on their way out, owned by the transport and filled by the protocol: one
/// buffer, written as it is by a stream transport (TCP) or cut into the messages the
/// protocol marked by a message transport (WebSocket); plus liveness probes asked for.
#[derive(Default)]
pub struct Outbox {
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already handed on.
    pos: usize,
    /// End offsets in `buf` of the messages not taken yet (message protocols only).
    ends: VecDeque<usize>,
    pings: u32,
}

impl Outbox {
    /// The buffer to append the next packet's bytes to.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Marks the bytes appended since the last mark as one message.
    pub fn end_message(&mut self) {
        self.ends.push_back(self.buf.len());
    }

    /// Asks the transport for a liveness probe (a WebSocket ping).
    pub fn ping(&mut self) {
        self.pings += 1;
    }

    /// Bytes queued and not handed on yet.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn take_pings(&mut self) -> u32 {
        std::mem::take(&mut self.pings)
    }

    /// Stream side: the bytes not written yet.
    pub fn unwritten(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Stream side: `n` more bytes were written.
    pub fn consume(&mut self, n: usize) {
        self.pos += n;
        while self.ends.front().is_some_and(|&e| e <= self.pos) {
            self.ends.pop_front();
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            self.ends.clear();
        } else if self.pos > (1 << 20) {
            let pos = self.pos;
            self.buf.drain(..pos);
            for e in &mut self.ends {
                *e -= pos;
            }
            self.pos = 0;
        }
    }

    /// Message side: the next whole message, if any.
    pub fn next_message(&self) -> Option<&[u8]> {
        self.ends.front().map(|&e| &self.buf[self.pos..e])
    }

    /// Message side: the message [`next_message`](Self::next_message) gave was taken.
    pub fn message_taken(&mut self) {
        if let Some(e) = self.ends.front() {
            let n = e - self.pos;
            self.consume(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_hands_out_messages_in_order_and_streams_the_same_bytes() {
        let mut o = Outbox::default();
        o.buf().extend_from_slice(b"one");
        o.end_message();
        o.buf().extend_from_slice(b"second");
        o.end_message();
        assert_eq!(o.pending(), 9);
        assert_eq!(o.next_message(), Some(&b"one"[..]));
        o.message_taken();
        assert_eq!(o.next_message(), Some(&b"second"[..]));
        o.message_taken();
        assert_eq!(o.next_message(), None);
        assert_eq!(o.pending(), 0);

        o.buf().extend_from_slice(b"abcdef");
        assert_eq!(o.unwritten(), b"abcdef");
        o.consume(2);
        assert_eq!(o.unwritten(), b"cdef");
        o.ping();
        assert_eq!(o.take_pings(), 1);
        assert_eq!(o.take_pings(), 0);
    }
}
