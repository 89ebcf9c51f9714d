//! Hooks for the fuzz targets (`fuzz/`) and the property tests (`tests/properties.rs`):
//! crate-private state machines behind a small public face, so that the properties can
//! live outside the crate (`tests/support/`). Not part of the API: hidden from the docs,
//! changed whenever the code behind it changes.
//!
//! [`WsSession`] drives the WebSocket door's protocol (`crate::protocol::ws::WsProtocol`)
//! the way the engine does, without a socket or a thread: the login goes out, server
//! messages come in one at a time, events come out in order.

use crate::protocol::ws::{WebSocketKey, WsConfig, WsProtocol};
use crate::protocol::{Event, Failure, Outbox, PeerFailure, Protocol};
use std::time::{Duration, Instant};

/// Time between pings once logged in (the engine's default is the same order).
pub const WS_PING_EVERY: Duration = Duration::from_secs(8);

/// Why a session ended ([`WsEvent::Lost`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LostKind {
    /// The server broke the protocol.
    Protocol,
    /// The login was refused.
    Rejected,
    /// OpenD said the session is over (cmd 2).
    Ended,
}

/// A protocol event, with everything a property may check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsEvent {
    Ready {
        conn_id: u64,
        encrypted: bool,
    },
    Reply {
        proto_id: u32,
        serial: u32,
        body: Vec<u8>,
    },
    Push {
        proto_id: u32,
        serial: u32,
        body: Vec<u8>,
    },
    Failed {
        proto_id: u32,
        serial: u32,
        /// `PeerFailure::Timeout` (else `Disconnected`).
        timeout: bool,
        reason: String,
    },
    Lost {
        kind: LostKind,
        reason: String,
    },
}

impl From<Event> for WsEvent {
    fn from(e: Event) -> WsEvent {
        match e {
            Event::Ready(i) => WsEvent::Ready {
                conn_id: i.conn_id,
                encrypted: i.encrypted,
            },
            Event::Reply(p) => WsEvent::Reply {
                proto_id: p.proto_id,
                serial: p.serial,
                body: p.body,
            },
            Event::Push(p) => WsEvent::Push {
                proto_id: p.proto_id,
                serial: p.serial,
                body: p.body,
            },
            Event::Failed {
                proto_id,
                serial,
                kind,
                reason,
            } => WsEvent::Failed {
                proto_id,
                serial,
                timeout: kind == PeerFailure::Timeout,
                reason,
            },
            Event::Lost(f) => {
                let (kind, reason) = match f {
                    Failure::Protocol(r) => (LostKind::Protocol, r),
                    Failure::Rejected(r) => (LostKind::Rejected, r),
                    Failure::Ended(r) => (LostKind::Ended, r),
                };
                WsEvent::Lost { kind, reason }
            }
        }
    }
}

/// One WebSocket-door session without a transport.
pub struct WsSession {
    proto: WsProtocol,
    out: Outbox,
    next_serial: u32,
    /// The session's clock: set at the start, moved on by [`timeout`](Self::timeout).
    now: Instant,
}

impl WsSession {
    /// A session whose serial source starts at `first_serial` (the login's section),
    /// started: returns it and the messages the start queued (the login).
    pub fn start(key: Option<&str>, tls: bool, first_serial: u32) -> (WsSession, Vec<Vec<u8>>) {
        let mut s = WsSession {
            proto: WsProtocol::new(WsConfig {
                key: key.map(WebSocketKey::new),
                client_id: "fuzz".into(),
                programming_language: "Rust".into(),
                ping_every: WS_PING_EVERY,
                tls,
            }),
            out: Outbox::default(),
            next_serial: first_serial,
            now: Instant::now(),
        };
        let serial = &mut s.next_serial;
        s.proto.start(s.now, &mut s.out, &mut || {
            let v = *serial;
            *serial = serial.wrapping_add(1);
            v
        });
        let sent = s.take_messages();
        (s, sent)
    }

    /// The serial the source would hand out next.
    pub fn next_serial(&self) -> u32 {
        self.next_serial
    }

    /// One WebSocket message from the server.
    pub fn input(&mut self, msg: &[u8]) {
        self.proto.handle_input(msg, self.now);
    }

    /// The next event, if any.
    pub fn poll(&mut self) -> Option<WsEvent> {
        self.proto.poll_event(self.now).map(WsEvent::from)
    }

    /// Sends a request; returns the messages it queued.
    pub fn send(&mut self, proto_id: u32, serial: u32, body: &[u8]) -> Vec<Vec<u8>> {
        self.proto.send(proto_id, serial, body, &mut self.out);
        self.take_messages()
    }

    /// When the protocol wants [`timeout`](Self::timeout) called.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.proto.next_timeout()
    }

    /// Runs the protocol's timer at `now`: the messages it queued and the pings it asked
    /// for.
    pub fn timeout(&mut self, now: Instant) -> (Vec<Vec<u8>>, u32) {
        self.now = self.now.max(now);
        let serial = &mut self.next_serial;
        self.proto.handle_timeout(now, &mut self.out, &mut || {
            let v = *serial;
            *serial = serial.wrapping_add(1);
            v
        });
        let sent = self.take_messages();
        (sent, self.out.take_pings())
    }

    fn take_messages(&mut self) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        while let Some(m) = self.out.next_message() {
            v.push(m.to_vec());
            self.out.message_taken();
        }
        v
    }

    /// Bytes queued outside any message (a message transport would never send them).
    pub fn unframed(&self) -> usize {
        self.out.pending()
    }
}
