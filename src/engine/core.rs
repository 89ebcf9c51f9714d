//! The engine core: the life of requests and sessions as a state machine, with no socket,
//! no thread and no clock. Time is an argument of every entry point; what must happen
//! next comes out of [`Core::poll_action`] (open a link, send a packet, drop the link,
//! deliver an outcome, report a state) and [`Core::poll_timeout`] says when to call
//! [`Core::handle_timeout`] next. The driver (`super::driver`) does the I/O and runs the
//! callbacks; the unit tests below drive it on a virtual clock.
//!
//! What it holds: serial-keyed pending requests and their deadlines, the held queue (rate
//! limiter, reconnect queueing), the limiter's windows, the session phase and its
//! deadlines (connect, handshake, silence), reconnect decisions with backoff, the
//! connection state, and the mapping from how a session ended to the official codes.

use super::errcode::{self, connect_fail, init_fail};
use super::{Backoff, Completion, Quota, RateLimitMode, Reply, ReplyKind, SendError, State};
use crate::door::DoorText;
use crate::ftlog;
use crate::limiter::SlidingWindow;
use crate::log::Level;
use crate::protocol::{Event, Failure, Packet, PeerFailure, SessionInfo};
use crate::transport::Broken;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

const TARGET: &str = "ftapi::conn";

/// A request handed to the I/O thread: the serial is already taken.
pub(crate) struct Request {
    pub proto_id: u32,
    pub serial: u32,
    pub body: Vec<u8>,
    pub timeout: Duration,
    pub done: Completion,
}

/// What other threads see of the connection, published by the core. The driver's gate
/// writes the shared state under the lock that senders hold while they check it; the
/// tests' gate is a plain record.
pub(crate) trait Gate: Send {
    /// Stores `state` unless a close is under way (then only `Closed` is stored). False
    /// when it was not stored.
    fn publish(&mut self, state: State) -> bool;
    /// As [`publish`](Gate::publish); with `take`, also takes the requests still queued
    /// for the I/O thread, under the same lock (they were accepted under the old state),
    /// and says whether a close was queued among them.
    fn publish_taking(&mut self, state: State, take: bool) -> (Vec<Request>, bool);
}

/// What the core needs from the connection's options.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// "host:port", for messages.
    pub target: String,
    pub door: DoorText,
    pub connect_timeout: Duration,
    pub init_timeout: Duration,
    pub silence_timeout: Option<Duration>,
    pub auto_reconnect: Option<Backoff>,
    pub queue_while_reconnecting: bool,
    pub rate_limit_mode: RateLimitMode,
    pub rate_limits: HashMap<u32, Quota>,
    /// Seeds the reconnect jitter.
    pub jitter_seed: u64,
}

/// How a link attempt failed before its transport was up, or how a live one broke.
#[derive(Debug)]
pub(crate) enum LinkFailure {
    /// Name resolution failed (OS error number, or 0).
    Resolve { os_error: i32, desc: String },
    /// The name has no address.
    NoAddress(String),
    /// Every address refused or failed the TCP connect.
    Connect { os_error: i32, desc: String },
    /// The transport's own handshake (TLS, WebSocket upgrade) failed.
    Handshake(String),
    /// The transport broke (read, write or its own protocol).
    Broken(Broken),
}

/// What must happen next, in order.
pub(crate) enum Action {
    /// Open a link: resolve, TCP-connect, run the door's transport handshake; then report
    /// [`Core::link_tcp_connected`] and [`Core::link_up`], or [`Core::link_failed`].
    Connect,
    /// The transport is up and the core agrees: start the protocol's handshake.
    StartHandshake,
    /// Hand a request to the protocol.
    Send {
        proto_id: u32,
        serial: u32,
        body: Vec<u8>,
    },
    /// Drop the link (socket, transport, protocol, a resolver still running).
    DropLink,
    /// A request's one outcome.
    Complete {
        done: Completion,
        reply: Reply,
    },
    Push(Packet),
    /// The handshake succeeded: what it said (published before the state changes).
    SessionUp(SessionInfo),
    /// `on_state_change`.
    State {
        state: State,
        reason: String,
    },
    /// `on_init_connect`: 0 and "" on success.
    InitDone {
        code: i64,
        desc: String,
    },
    /// `on_disconnect`.
    Disconnected {
        code: i64,
        reason: String,
    },
    /// Nothing follows: every outcome and report was handed out.
    Finished,
}

/// How a session ended: before its handshake succeeded (reported by `on_init_connect`) or
/// after (reported by `on_disconnect`).
enum End {
    Init { code: i64, desc: String },
    Disconnect { code: i64, reason: String },
}

impl End {
    fn reason(&self) -> &str {
        match self {
            End::Init { desc, .. } => desc,
            End::Disconnect { reason, .. } => reason,
        }
    }
}

/// Where the current session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not started, or waiting out a reconnect delay.
    Idle,
    /// Resolving and TCP-connecting (`false`), or in the transport's handshake (`true`).
    Opening {
        tcp_connected: bool,
    },
    /// The protocol's handshake (InitConnect, the WebSocket login) is out.
    Handshake,
    Ready,
    /// Over for good.
    Done,
}

/// A request on the wire, waiting for its outcome.
struct Pending {
    proto_id: u32,
    deadline: Instant,
    sent_at: Instant,
    done: Completion,
}

/// A request accepted but not sent yet: waiting for a rate-limit slot, or for the
/// connection to come back (auto-reconnect with queueing).
struct Held {
    proto_id: u32,
    serial: u32,
    body: Vec<u8>,
    deadline: Instant,
    done: Completion,
}

/// Requests in flight by serial. Serials are ours and sequential, so a multiplicative
/// hash spreads them well at a fraction of SipHash's cost; replies only look serials up
/// (never insert), so a hostile OpenD cannot make the map grow or collide.
type SerialMap<V> = HashMap<u32, V, BuildHasherDefault<SerialHash>>;

#[derive(Default)]
struct SerialHash(u64);

impl Hasher for SerialHash {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Whether a new request may be accepted, seen from the sending thread: the published
/// state, and the bytes that wait to be sent against the send-buffer limit.
pub(crate) fn admit(
    state: State,
    queue_while_reconnecting: bool,
    queued: usize,
    size: usize,
    limit: usize,
) -> Result<(), SendError> {
    match state {
        State::Ready => {}
        State::Reconnecting if queue_while_reconnecting => {}
        State::Reconnecting => return Err(SendError::Reconnecting),
        State::Connecting | State::Initializing => return Err(SendError::NotReady),
        State::Closing | State::Closed => return Err(SendError::Closed),
    }
    if queued + size > limit {
        return Err(SendError::Backpressure { queued, limit });
    }
    Ok(())
}

pub(crate) struct Core {
    cfg: Config,
    gate: Box<dyn Gate>,
    phase: Phase,
    actions: VecDeque<Action>,
    pending: SerialMap<Pending>,
    deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
    held: VecDeque<Held>,
    /// When the first held request may go (or time out).
    held_wakeup: Option<Instant>,
    /// Send times per rate-limited proto ID.
    windows: HashMap<u32, SlidingWindow>,
    connect_deadline: Option<Instant>,
    init_deadline: Option<Instant>,
    silence_deadline: Option<Instant>,
    reconnect_at: Option<Instant>,
    /// The last state reported through `on_state_change`.
    reported: Option<State>,
    closing: bool,
    /// Inside an auto-reconnect (the first connect was already reported).
    reconnecting: bool,
    attempt: u32,
    jitter: u64,
}

impl Core {
    pub(crate) fn new(cfg: Config, gate: Box<dyn Gate>) -> Core {
        let jitter = cfg.jitter_seed | 1;
        Core {
            cfg,
            gate,
            phase: Phase::Idle,
            actions: VecDeque::new(),
            pending: SerialMap::default(),
            deadlines: BinaryHeap::new(),
            held: VecDeque::new(),
            held_wakeup: None,
            windows: HashMap::new(),
            connect_deadline: None,
            init_deadline: None,
            silence_deadline: None,
            reconnect_at: None,
            reported: None,
            closing: false,
            reconnecting: false,
            attempt: 0,
            jitter,
        }
    }

    /// The first connect.
    pub(crate) fn start(&mut self, now: Instant) {
        let why = format!("connecting to {}", self.cfg.target);
        self.report_state(State::Connecting, &why);
        self.open(now);
    }

    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub(crate) fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing
    }

    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// When [`handle_timeout`](Core::handle_timeout) must run next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.deadlines.peek().map(|Reverse((d, _))| *d);
        for other in [
            self.connect_deadline,
            self.init_deadline,
            self.silence_deadline,
            self.held_wakeup,
            self.reconnect_at,
        ] {
            t = min_opt(t, other);
        }
        t
    }

    fn open(&mut self, now: Instant) {
        self.phase = Phase::Opening {
            tcp_connected: false,
        };
        self.connect_deadline = Some(now + self.cfg.connect_timeout);
        self.actions.push_back(Action::Connect);
    }

    /// The TCP connection is up; the transport's own handshake (if any) starts, with a
    /// connect timeout of its own.
    pub(crate) fn link_tcp_connected(&mut self, now: Instant) {
        if let Phase::Opening { .. } = self.phase {
            self.phase = Phase::Opening {
                tcp_connected: true,
            };
            self.connect_deadline = Some(now + self.cfg.connect_timeout);
        }
    }

    /// The transport is up: the protocol's handshake goes out ([`Action::StartHandshake`]).
    pub(crate) fn link_up(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Opening { .. }) {
            return;
        }
        self.connect_deadline = None;
        if !self.reconnecting {
            let why = format!(
                "{} connected; {} sent",
                self.cfg.door.name, self.cfg.door.handshake
            );
            self.set_state(State::Initializing, &why);
        }
        self.phase = Phase::Handshake;
        self.init_deadline = Some(now + self.cfg.init_timeout);
        self.actions.push_back(Action::StartHandshake);
    }

    /// The link could not be opened, or broke.
    pub(crate) fn link_failed(&mut self, failure: LinkFailure, now: Instant) {
        if matches!(self.phase, Phase::Idle | Phase::Done) {
            return;
        }
        let end = match failure {
            LinkFailure::Resolve { os_error, desc } => End::Init {
                code: errcode::make(connect_fail::GET_HOST_BY_NAME_FAILED, os_error),
                desc,
            },
            LinkFailure::NoAddress(desc) => End::Init {
                code: errcode::make(connect_fail::GET_HOST_BY_NAME_WRONG, 0),
                desc,
            },
            LinkFailure::Connect { os_error, desc } => End::Init {
                code: errcode::make(connect_fail::CONNECT_FAILED, os_error),
                desc,
            },
            LinkFailure::Handshake(desc) => End::Init {
                code: errcode::make(connect_fail::CONNECT_FAILED, 0),
                desc,
            },
            LinkFailure::Broken(b) => self.broken(b),
        };
        self.end_session(end, now);
    }

    /// OpenD was heard from (any bytes, a WebSocket ping or pong).
    pub(crate) fn note_activity(&mut self, now: Instant) {
        if self.phase == Phase::Ready {
            if let Some(t) = self.cfg.silence_timeout {
                self.silence_deadline = Some(now + t);
            }
        }
    }

    /// What the protocol made of the input.
    pub(crate) fn handle_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Ready(info) => self.on_ready(info, now),
            Event::Reply(p) => self.on_reply(p, now),
            Event::Push(p) => {
                if self.phase == Phase::Ready {
                    self.actions.push_back(Action::Push(p));
                }
            }
            Event::Failed {
                proto_id,
                serial,
                kind,
                reason,
            } => self.on_failed(proto_id, serial, kind, &reason),
            Event::Lost(f) => {
                if matches!(self.phase, Phase::Handshake | Phase::Ready) {
                    let end = self.failure(f);
                    self.end_session(end, now);
                }
            }
        }
    }

    /// A new request, taken from the queue at `now` (its timeout runs from here).
    pub(crate) fn submit(&mut self, r: Request, now: Instant) {
        let h = Held {
            proto_id: r.proto_id,
            serial: r.serial,
            body: r.body,
            deadline: now + r.timeout,
            done: r.done,
        };
        if self.closing {
            self.complete(
                h.proto_id,
                h.serial,
                h.done,
                ReplyKind::Disconnected,
                "closed by the user",
            );
        } else if self.phase != Phase::Ready {
            if self.reconnecting && self.cfg.queue_while_reconnecting {
                self.hold(h);
            } else {
                // Accepted just before the connection dropped.
                self.complete(
                    h.proto_id,
                    h.serial,
                    h.done,
                    ReplyKind::Disconnected,
                    "the connection dropped",
                );
            }
        } else {
            self.submit_ready(h, now);
        }
    }

    /// The user's close: pending requests get -200, then the end is reported.
    pub(crate) fn close(&mut self, now: Instant) {
        if self.closing || self.phase == Phase::Done {
            return;
        }
        self.closing = true;
        self.report_state(State::Closing, "closed by the user");
        match self.phase {
            Phase::Idle if self.reconnecting => {
                self.finish("closed by the user while reconnecting")
            }
            Phase::Idle => self.finish("closed by the user"),
            Phase::Done => {}
            _ => {
                let end = self.user_close_end();
                self.end_session(end, now);
            }
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.connect_deadline.is_some_and(|d| now >= d) {
            let ms = self.cfg.connect_timeout.as_millis();
            let desc = match self.phase {
                Phase::Opening {
                    tcp_connected: true,
                } => format!(
                    "the {} handshake did not finish within {ms} ms",
                    self.cfg.door.name
                ),
                _ => format!("TCP connect to {} timed out after {ms} ms", self.cfg.target),
            };
            let end = End::Init {
                code: errcode::make(connect_fail::CONNECT_FAILED, errcode::os::TIMED_OUT),
                desc,
            };
            return self.end_session(end, now);
        }
        if self.init_deadline.is_some_and(|d| now >= d) {
            let ms = self.cfg.init_timeout.as_millis();
            let end = End::Init {
                code: errcode::make(errcode::INIT_FAIL, init_fail::TIMEOUT),
                desc: format!("{} got no reply within {ms} ms", self.cfg.door.handshake),
            };
            return self.end_session(end, now);
        }
        while let Some(&Reverse((deadline, serial))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            if matches!(self.pending.get(&serial), Some(p) if p.deadline == deadline) {
                let p = self.pending.remove(&serial).expect("present");
                ftlog!(
                    Level::Debug,
                    TARGET,
                    "timeout proto={} serial={}",
                    p.proto_id,
                    serial
                );
                self.complete(
                    p.proto_id,
                    serial,
                    p.done,
                    ReplyKind::Timeout,
                    "no reply before the request's timeout",
                );
            }
        }
        if self.silence_deadline.is_some_and(|d| now >= d) {
            let ms = self.cfg.silence_timeout.unwrap_or_default().as_millis();
            let end = End::Disconnect {
                code: errcode::make(connect_fail::RECV_FAILED, errcode::os::TIMED_OUT),
                reason: format!(
                    "OpenD sent nothing for {ms} ms ({}): connection considered dead",
                    self.cfg.door.liveness
                ),
            };
            return self.end_session(end, now);
        }
        self.release_held(now);
        if self.reconnect_at.is_some_and(|t| now >= t) && self.phase == Phase::Idle {
            self.reconnect_at = None;
            self.open(now);
        }
    }

    fn on_ready(&mut self, info: SessionInfo, now: Instant) {
        if self.phase != Phase::Handshake {
            return;
        }
        self.actions.push_back(Action::SessionUp(info.clone()));
        if !self.gate.publish(State::Ready) {
            // Closed meanwhile by another thread: its command is on its way; end now.
            self.closing = true;
            self.report_state(State::Closing, "closed by the user");
            let end = self.user_close_end();
            return self.end_session(end, now);
        }
        self.phase = Phase::Ready;
        self.init_deadline = None;
        self.silence_deadline = self.cfg.silence_timeout.map(|t| now + t);
        let why = if self.reconnecting {
            format!("reconnected: connection ID {}", info.conn_id)
        } else {
            format!(
                "{} succeeded: connection ID {}",
                self.cfg.door.handshake, info.conn_id
            )
        };
        self.report_state(State::Ready, &why);
        self.actions.push_back(Action::InitDone {
            code: 0,
            desc: String::new(),
        });
        // Requests held during the reconnect go out now.
        self.release_held(now);
    }

    fn on_reply(&mut self, p: Packet, now: Instant) {
        match self.pending.get(&p.serial) {
            Some(x) if x.proto_id == p.proto_id => {
                let x = self.pending.remove(&p.serial).expect("present");
                ftlog!(
                    Level::Debug,
                    TARGET,
                    "recv proto={} serial={} len={} latency_us={}",
                    p.proto_id,
                    p.serial,
                    p.body.len(),
                    now.saturating_duration_since(x.sent_at).as_micros()
                );
                let reply = Reply {
                    proto_id: p.proto_id,
                    serial: p.serial,
                    kind: ReplyKind::Server,
                    body: p.body,
                    reason: String::new(),
                };
                self.actions.push_back(Action::Complete {
                    done: x.done,
                    reply,
                });
            }
            // A reply whose proto ID does not match its request's, or for a request that
            // already timed out, or that was never made: dropped, the request stays as it is.
            _ => ftlog!(
                Level::Warn,
                TARGET,
                "dropped an unmatched reply: proto={} serial={} len={}",
                p.proto_id,
                p.serial,
                p.body.len()
            ),
        }
    }

    /// The far side failed a request itself (the WebSocket door's `error` field).
    fn on_failed(&mut self, proto_id: u32, serial: u32, kind: PeerFailure, reason: &str) {
        match self.pending.get(&serial) {
            Some(x) if x.proto_id == proto_id => {
                let x = self.pending.remove(&serial).expect("present");
                let kind = match kind {
                    PeerFailure::Timeout => ReplyKind::Timeout,
                    PeerFailure::Disconnected => ReplyKind::Disconnected,
                };
                ftlog!(
                    Level::Debug,
                    TARGET,
                    "failed proto={proto_id} serial={serial}: {reason}"
                );
                self.complete(proto_id, serial, x.done, kind, reason);
            }
            _ => ftlog!(
                Level::Warn,
                TARGET,
                "dropped an unmatched failure: proto={proto_id} serial={serial}: {reason}"
            ),
        }
    }

    fn complete(
        &mut self,
        proto_id: u32,
        serial: u32,
        done: Completion,
        kind: ReplyKind,
        reason: &str,
    ) {
        let reply = Reply {
            proto_id,
            serial,
            kind,
            body: Vec::new(),
            reason: reason.to_owned(),
        };
        self.actions.push_back(Action::Complete { done, reply });
    }

    fn hold(&mut self, h: Held) {
        self.held_wakeup = Some(self.held_wakeup.map_or(h.deadline, |w| w.min(h.deadline)));
        self.held.push_back(h);
    }

    /// The client-side quota of a proto ID, if the limiter is on.
    fn quota(&self, proto_id: u32) -> Option<Quota> {
        if self.cfg.rate_limit_mode == RateLimitMode::Off {
            return None;
        }
        self.cfg.rate_limits.get(&proto_id).copied()
    }

    /// `Ok` if a request of this proto may go now, else when the next slot frees.
    fn slot(&mut self, proto_id: u32, now: Instant) -> Result<(), Instant> {
        let Some(q) = self.quota(proto_id) else {
            return Ok(());
        };
        self.windows
            .entry(proto_id)
            .or_default()
            .check(now, q.max, q.window)
    }

    /// A new request while ready: to the wire, or held / refused by the rate limiter.
    fn submit_ready(&mut self, h: Held, now: Instant) {
        let behind_held = self.held.iter().any(|x| x.proto_id == h.proto_id);
        match (behind_held, self.slot(h.proto_id, now)) {
            (false, Ok(())) => self.send_request(h, now),
            (_, Err(next)) if self.cfg.rate_limit_mode == RateLimitMode::FailFast => {
                let q = self.quota(h.proto_id).expect("limited protos have a quota");
                let reason = format!(
                    "rate limited locally: at most {} requests of proto {} per {} s; next slot frees in {} ms",
                    q.max,
                    h.proto_id,
                    q.window.as_secs_f64(),
                    next.saturating_duration_since(now).as_millis()
                );
                ftlog!(Level::Info, TARGET, "serial={} {reason}", h.serial);
                self.complete(
                    h.proto_id,
                    h.serial,
                    h.done,
                    ReplyKind::RateLimited,
                    &reason,
                );
            }
            (_, Err(next)) => {
                self.hold(h);
                self.held_wakeup = Some(self.held_wakeup.map_or(next, |w| w.min(next)));
            }
            (true, Ok(())) => self.hold(h),
        }
    }

    fn send_request(&mut self, h: Held, now: Instant) {
        if self.quota(h.proto_id).is_some() {
            self.windows.entry(h.proto_id).or_default().record(now);
        }
        ftlog!(
            Level::Debug,
            TARGET,
            "send proto={} serial={} len={}",
            h.proto_id,
            h.serial,
            h.body.len()
        );
        self.pending.insert(
            h.serial,
            Pending {
                proto_id: h.proto_id,
                deadline: h.deadline,
                sent_at: now,
                done: h.done,
            },
        );
        self.push_deadline(h.deadline, h.serial);
        self.actions.push_back(Action::Send {
            proto_id: h.proto_id,
            serial: h.serial,
            body: h.body,
        });
    }

    /// Records a request's deadline. Entries of answered requests stay in the heap until
    /// their deadline passes; once they outnumber the pending requests by far they are
    /// dropped, so the heap follows what is in flight, not the request rate times the
    /// timeout.
    fn push_deadline(&mut self, deadline: Instant, serial: u32) {
        self.deadlines.push(Reverse((deadline, serial)));
        if self.deadlines.len() > 2 * self.pending.len() + 1024 {
            let pending = &self.pending;
            self.deadlines
                .retain(|Reverse((d, s))| pending.get(s).is_some_and(|p| p.deadline == *d));
        }
    }

    /// Sends held requests whose slot is free (in order per proto ID) and times out
    /// those past their deadline.
    fn release_held(&mut self, now: Instant) {
        if self.held.is_empty() {
            self.held_wakeup = None;
            return;
        }
        let ready = self.phase == Phase::Ready;
        let mut blocked: HashSet<u32> = HashSet::new();
        let mut wake: Option<Instant> = None;
        let mut i = 0;
        while i < self.held.len() {
            let (proto, deadline) = (self.held[i].proto_id, self.held[i].deadline);
            if deadline <= now {
                let h = self.held.remove(i).expect("index checked");
                let why = if ready {
                    "no rate-limit slot freed before the request's timeout"
                } else {
                    "the connection did not come back before the request's timeout"
                };
                self.complete(h.proto_id, h.serial, h.done, ReplyKind::Timeout, why);
                continue;
            }
            wake = min_opt(wake, Some(deadline));
            if !ready || blocked.contains(&proto) {
                i += 1;
                continue;
            }
            match self.slot(proto, now) {
                Ok(()) => {
                    let h = self.held.remove(i).expect("index checked");
                    self.send_request(h, now);
                }
                Err(next) => {
                    blocked.insert(proto);
                    wake = min_opt(wake, Some(next));
                    i += 1;
                }
            }
        }
        self.held_wakeup = wake;
    }

    fn user_close_end(&self) -> End {
        if self.phase == Phase::Ready {
            End::Disconnect {
                code: 0,
                reason: "closed by the user".into(),
            }
        } else {
            End::Init {
                code: errcode::make(errcode::INIT_FAIL, init_fail::DISCONNECT),
                desc: format!(
                    "closed by the user before {} completed",
                    self.cfg.door.handshake
                ),
            }
        }
    }

    /// An end after the socket was up: `on_disconnect` if the handshake had succeeded,
    /// otherwise a handshake failure.
    fn disconnect(&self, high: i32, low: i32, reason: String) -> End {
        if self.phase == Phase::Ready {
            return End::Disconnect {
                code: errcode::make(high, low),
                reason,
            };
        }
        let kind = if high == connect_fail::RECV_FAILED || high == connect_fail::SEND_FAILED {
            init_fail::DISCONNECT
        } else {
            init_fail::UNKNOWN
        };
        let desc = match self.cfg.door.handshake_hint {
            Some(hint) => format!("{reason} during {}; {hint}", self.cfg.door.handshake),
            None => reason,
        };
        End::Init {
            code: errcode::make(errcode::INIT_FAIL, kind),
            desc,
        }
    }

    /// A packet that breaks the protocol ends the connection.
    fn protocol_error(&self, reason: String) -> End {
        if self.phase == Phase::Ready {
            End::Disconnect {
                code: errcode::make(connect_fail::RECV_FAILED, 0),
                reason,
            }
        } else {
            End::Init {
                code: errcode::make(errcode::INIT_FAIL, init_fail::UNKNOWN),
                desc: reason,
            }
        }
    }

    fn broken(&self, b: Broken) -> End {
        match b {
            Broken::Closed(reason) => self.disconnect(connect_fail::RECV_FAILED, 0, reason),
            Broken::Io { send, err, what } => {
                let high = if send {
                    connect_fail::SEND_FAILED
                } else {
                    connect_fail::RECV_FAILED
                };
                self.disconnect(high, err.raw_os_error().unwrap_or(0), what)
            }
            Broken::Protocol(reason) => self.protocol_error(reason),
        }
    }

    fn failure(&self, f: Failure) -> End {
        match f {
            Failure::Protocol(reason) => self.protocol_error(reason),
            Failure::Rejected(desc) if self.phase != Phase::Ready => End::Init {
                code: errcode::make(errcode::INIT_FAIL, init_fail::OPEND_REJECT),
                desc,
            },
            Failure::Rejected(reason) => self.protocol_error(reason),
            Failure::Ended(reason) => self.disconnect(connect_fail::RECV_FAILED, 0, reason),
        }
    }

    /// Ends one session: the link goes, every request on the wire completes with -200,
    /// then those accepted for it but not sent, then the end is reported
    /// (`on_disconnect`, or `on_init_connect` for a first connect that failed); then a
    /// reconnect is scheduled or the connection is finished.
    fn end_session(&mut self, end: End, now: Instant) {
        // The socket closes before the outcomes go out, as it would on its own.
        self.actions.push_back(Action::DropLink);
        let was_ready = self.phase == Phase::Ready;
        self.phase = Phase::Idle;
        self.connect_deadline = None;
        self.init_deadline = None;
        self.silence_deadline = None;
        let backoff = self.cfg.auto_reconnect;
        let again = backoff.is_some() && !self.closing && (was_ready || self.reconnecting);
        // New sends see the right state while the last outcomes are delivered. Requests
        // accepted before that change but still queued belong to this session: they are
        // taken under the same lock and complete before its end is reported.
        let next = if again {
            State::Reconnecting
        } else {
            State::Closing
        };
        let (taken, saw_close) = self.gate.publish_taking(next, was_ready);
        if saw_close && !self.closing {
            self.closing = true;
            self.report_state(State::Closing, "closed by the user");
        }
        let mut late: Vec<Held> = taken
            .into_iter()
            .map(|r| Held {
                proto_id: r.proto_id,
                serial: r.serial,
                body: r.body,
                deadline: now,
                done: r.done,
            })
            .collect();
        if !again {
            // Held requests (waiting for a rate-limit slot) have no later session either.
            late.extend(self.held.drain(..));
            self.held_wakeup = None;
            let why = end.reason().to_owned();
            self.report_state(State::Closing, &why);
        }
        let reason = end.reason().to_owned();
        // Requests already on the wire, in the order they were sent.
        let mut pending: Vec<(u32, Pending)> = self.pending.drain().collect();
        pending.sort_by_key(|(serial, _)| *serial);
        self.deadlines.clear();
        for (serial, p) in pending {
            self.complete(p.proto_id, serial, p.done, ReplyKind::Disconnected, &reason);
        }
        for h in late {
            self.complete(
                h.proto_id,
                h.serial,
                h.done,
                ReplyKind::Disconnected,
                &reason,
            );
        }
        match end {
            End::Init { code, desc } => {
                ftlog!(Level::Warn, TARGET, "connect failed ({code}): {desc}");
                if !self.reconnecting {
                    self.actions.push_back(Action::InitDone { code, desc });
                }
            }
            End::Disconnect { code, reason } => {
                ftlog!(Level::Warn, TARGET, "disconnected ({code}): {reason}");
                self.actions
                    .push_back(Action::Disconnected { code, reason });
            }
        }
        match backoff.filter(|_| again && !self.closing) {
            Some(backoff) => {
                self.attempt = if was_ready { 1 } else { self.attempt + 1 };
                let delay = backoff.delay(self.attempt, self.next_jitter());
                self.reconnecting = true;
                let why = format!(
                    "{reason}; reconnect attempt {} in {} ms",
                    self.attempt,
                    delay.as_millis()
                );
                self.set_state(State::Reconnecting, &why);
                self.reconnect_at = Some(now + delay);
            }
            None => self.finish(&reason),
        }
    }

    /// The connection is over for good: requests still queued or held complete with
    /// -200, the state becomes Closed.
    fn finish(&mut self, reason: &str) {
        self.reconnect_at = None;
        // No new requests can arrive once Closing is published.
        let (taken, _) = self.gate.publish_taking(State::Closing, true);
        self.closing = true;
        let held: Vec<Held> = self.held.drain(..).collect();
        self.held_wakeup = None;
        for h in held {
            self.complete(
                h.proto_id,
                h.serial,
                h.done,
                ReplyKind::Disconnected,
                reason,
            );
        }
        for r in taken {
            self.complete(
                r.proto_id,
                r.serial,
                r.done,
                ReplyKind::Disconnected,
                reason,
            );
        }
        self.gate.publish(State::Closed);
        self.report_state(State::Closed, reason);
        self.phase = Phase::Done;
        self.actions.push_back(Action::Finished);
    }

    /// A number in 0..1000 for the reconnect jitter (xorshift).
    fn next_jitter(&mut self) -> u32 {
        let mut x = self.jitter;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter = x;
        (x % 1000) as u32
    }

    /// Changes the published state (unless a close is under way) and reports it.
    fn set_state(&mut self, state: State, reason: &str) {
        if self.gate.publish(state) {
            self.report_state(state, reason);
        }
    }

    /// Reports `state` when it differs from the last one reported.
    fn report_state(&mut self, state: State, reason: &str) {
        if self.reported == Some(state) {
            return;
        }
        self.reported = Some(state);
        ftlog!(Level::Info, TARGET, "state {}: {reason}", state.name());
        self.actions.push_back(Action::State {
            state,
            reason: reason.to_owned(),
        });
    }
}

impl Drop for Core {
    /// A core dropped before it finished (the driver's thread unwinding, say) still gives
    /// every request it holds its one outcome.
    fn drop(&mut self) {
        let mut outcomes: Vec<(Completion, Reply)> = Vec::new();
        for a in self.actions.drain(..) {
            if let Action::Complete { done, reply } = a {
                outcomes.push((done, reply));
            }
        }
        let dropped = |proto_id, serial| Reply {
            proto_id,
            serial,
            kind: ReplyKind::Disconnected,
            body: Vec::new(),
            reason: "the connection was dropped".into(),
        };
        let mut pending: Vec<(u32, Pending)> = self.pending.drain().collect();
        pending.sort_by_key(|(serial, _)| *serial);
        for (serial, p) in pending {
            outcomes.push((p.done, dropped(p.proto_id, serial)));
        }
        for h in self.held.drain(..) {
            outcomes.push((h.done, dropped(h.proto_id, h.serial)));
        }
        for (done, reply) in outcomes {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| done(reply)));
        }
    }
}

/// The core on a virtual clock: no socket, no thread, no sleep. A harness plays the
/// driver (it records what the core asks for) and the test plays OpenD and the user.
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Published {
        state: Option<State>,
        /// Requests accepted by "other threads" and not yet taken by the I/O thread.
        queued: Vec<Request>,
        close_queued: bool,
    }

    struct TestGate(Arc<Mutex<Published>>);

    impl Gate for TestGate {
        fn publish(&mut self, state: State) -> bool {
            let mut p = self.0.lock().unwrap();
            if matches!(p.state, Some(State::Closing | State::Closed)) && state != State::Closed {
                return false;
            }
            p.state = Some(state);
            true
        }

        fn publish_taking(&mut self, state: State, take: bool) -> (Vec<Request>, bool) {
            let mut p = self.0.lock().unwrap();
            if !matches!(p.state, Some(State::Closing | State::Closed)) {
                p.state = Some(state);
            }
            if !take {
                return (Vec::new(), false);
            }
            let close = std::mem::take(&mut p.close_queued);
            (std::mem::take(&mut p.queued), close)
        }
    }

    /// (serial, kind, reason) per outcome, in delivery order.
    type Outcomes = Arc<Mutex<Vec<(u32, ReplyKind, String)>>>;

    struct Harness {
        core: Core,
        gate: Arc<Mutex<Published>>,
        now: Instant,
        outcomes: Outcomes,
        /// Everything else the core asked for, in order, as words.
        log: Vec<String>,
        /// Serials handed to the protocol.
        sent: Vec<u32>,
        link: bool,
        next_serial: u32,
        /// A completion asked to close the connection (as a callback calling close()).
        close_asked: Arc<Mutex<bool>>,
    }

    fn config() -> Config {
        Config {
            target: "127.0.0.1:11111".into(),
            door: crate::door::Door::default().text(),
            connect_timeout: Duration::from_secs(10),
            init_timeout: Duration::from_secs(12),
            silence_timeout: Some(Duration::from_secs(33)),
            auto_reconnect: None,
            queue_while_reconnecting: false,
            rate_limit_mode: RateLimitMode::Off,
            rate_limits: HashMap::new(),
            jitter_seed: 42,
        }
    }

    fn harness(cfg: Config) -> Harness {
        let gate = Arc::new(Mutex::new(Published::default()));
        Harness {
            core: Core::new(cfg, Box::new(TestGate(gate.clone()))),
            gate,
            now: Instant::now(),
            outcomes: Arc::default(),
            log: Vec::new(),
            sent: Vec::new(),
            link: false,
            next_serial: 1,
            close_asked: Arc::default(),
        }
    }

    fn info(conn_id: u64) -> SessionInfo {
        SessionInfo {
            conn_id,
            ..SessionInfo::default()
        }
    }

    impl Harness {
        /// Carries out the core's actions as the driver would.
        fn drive(&mut self) {
            while let Some(a) = self.core.poll_action() {
                match a {
                    Action::Connect => {
                        self.link = true;
                        self.log.push("connect".into());
                    }
                    Action::StartHandshake => self.log.push("handshake".into()),
                    Action::Send { serial, .. } => self.sent.push(serial),
                    Action::DropLink => {
                        self.link = false;
                        self.log.push("drop".into());
                    }
                    Action::Complete { done, reply } => {
                        done(reply);
                        if std::mem::take(&mut *self.close_asked.lock().unwrap()) {
                            // What the driver does after a callback that closed.
                            self.core.close(self.now);
                        }
                    }
                    Action::Push(p) => self.log.push(format!("push {}", p.proto_id)),
                    Action::SessionUp(i) => self.log.push(format!("up {}", i.conn_id)),
                    Action::State { state, reason } => {
                        self.log.push(format!("state {}: {reason}", state.name()))
                    }
                    Action::InitDone { code, desc } => {
                        self.log.push(format!("init {code}: {desc}"))
                    }
                    Action::Disconnected { code, reason } => {
                        self.log.push(format!("disconnect {code}: {reason}"))
                    }
                    Action::Finished => self.log.push("finished".into()),
                }
            }
        }

        /// Start, TCP, transport and handshake, as far as `Ready`.
        fn connect(&mut self) {
            self.core.start(self.now);
            self.drive();
            assert!(self.link);
            self.core.link_tcp_connected(self.now);
            self.core.link_up(self.now);
            self.drive();
            self.core.handle_event(Event::Ready(info(7)), self.now);
            self.drive();
            assert!(self.core.is_ready());
        }

        fn done(&self, close: bool) -> Completion {
            let out = self.outcomes.clone();
            let ask = self.close_asked.clone();
            Box::new(move |r: Reply| {
                out.lock().unwrap().push((r.serial, r.kind, r.reason));
                if close {
                    *ask.lock().unwrap() = true;
                }
            })
        }

        fn request_with(&mut self, proto_id: u32, timeout_ms: u64, close: bool) -> u32 {
            let serial = self.next_serial;
            self.next_serial += 1;
            let r = Request {
                proto_id,
                serial,
                body: vec![1, 2, 3],
                timeout: Duration::from_millis(timeout_ms),
                done: self.done(close),
            };
            self.core.submit(r, self.now);
            self.drive();
            serial
        }

        fn request(&mut self, timeout_ms: u64) -> u32 {
            self.request_with(3222, timeout_ms, false)
        }

        fn reply(&mut self, serial: u32) {
            let p = Packet {
                proto_id: 3222,
                serial,
                body: b"ok".to_vec(),
            };
            self.core.handle_event(Event::Reply(p), self.now);
            self.drive();
        }

        /// Moves the virtual clock on by `ms`, firing every timer due on the way, each at
        /// its own time.
        fn advance(&mut self, ms: u64) {
            let target = self.now + Duration::from_millis(ms);
            while let Some(t) = self.core.poll_timeout().filter(|t| *t <= target) {
                self.now = self.now.max(t);
                self.core.handle_timeout(self.now);
                self.drive();
            }
            self.now = target;
        }

        fn outcomes(&self) -> Vec<(u32, ReplyKind)> {
            self.outcomes
                .lock()
                .unwrap()
                .iter()
                .map(|(s, k, _)| (*s, *k))
                .collect()
        }

        fn has(&self, prefix: &str) -> bool {
            self.log.iter().any(|l| l.starts_with(prefix))
        }

        fn position(&self, prefix: &str) -> usize {
            self.log
                .iter()
                .position(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix:?} in {:#?}", self.log))
        }
    }

    fn closed(kind: ReplyKind) -> bool {
        kind == ReplyKind::Disconnected
    }

    #[test]
    fn a_reply_completes_its_request_once_and_a_duplicate_is_dropped() {
        let mut h = harness(config());
        h.connect();
        assert_eq!(
            h.log[..4],
            [
                "state connecting: connecting to 127.0.0.1:11111",
                "connect",
                "state initializing: TCP connected; InitConnect sent",
                "handshake"
            ]
        );
        assert!(h.has("state ready: InitConnect succeeded: connection ID 7"));
        assert!(h.has("init 0: "));
        let a = h.request(1000);
        assert_eq!(h.sent, [a]);
        h.reply(a);
        h.reply(a);
        // A reply for a request never made changes nothing either.
        h.reply(99);
        assert_eq!(h.outcomes(), [(a, ReplyKind::Server)]);
        // Its deadline passes quietly.
        h.advance(2000);
        assert_eq!(h.outcomes().len(), 1);
    }

    #[test]
    fn a_timeout_completes_once_and_the_late_reply_is_dropped() {
        let mut h = harness(config());
        h.connect();
        let a = h.request(300);
        let b = h.request(1000);
        h.advance(299);
        assert!(h.outcomes().is_empty());
        h.advance(1);
        assert_eq!(h.outcomes(), [(a, ReplyKind::Timeout)]);
        h.reply(a);
        assert_eq!(h.outcomes().len(), 1, "the late reply was delivered");
        h.reply(b);
        assert_eq!(
            h.outcomes(),
            [(a, ReplyKind::Timeout), (b, ReplyKind::Server)]
        );
        assert!(h.core.is_ready(), "a timeout does not end the connection");
    }

    #[test]
    fn a_disconnect_completes_every_pending_request_before_it_is_reported() {
        let mut h = harness(config());
        h.connect();
        let serials: Vec<u32> = (0..3).map(|_| h.request(5000)).collect();
        // One more was accepted by another thread just before the drop.
        let out = h.outcomes.clone();
        h.gate.lock().unwrap().queued.push(Request {
            proto_id: 3222,
            serial: 50,
            body: vec![],
            timeout: Duration::from_secs(5),
            done: Box::new(move |r: Reply| out.lock().unwrap().push((r.serial, r.kind, r.reason))),
        });
        h.core.link_failed(
            LinkFailure::Broken(Broken::Closed("OpenD closed the connection".into())),
            h.now,
        );
        h.drive();
        let o = h.outcomes();
        assert_eq!(o.iter().map(|x| x.0).collect::<Vec<_>>(), [1, 2, 3, 50]);
        assert!(o.iter().all(|x| closed(x.1)));
        assert_eq!(&serials[..], &[1, 2, 3]);
        let reasons = h.outcomes.lock().unwrap().clone();
        assert!(reasons.iter().all(|r| r.2 == "OpenD closed the connection"));
        // The drop came first, the report after every outcome, then the end.
        let drop_at = h.position("drop");
        let disc = h.position("disconnect ");
        assert!(drop_at < disc);
        assert_eq!(
            h.log[disc],
            format!(
                "disconnect {}: OpenD closed the connection",
                errcode::make(connect_fail::RECV_FAILED, 0)
            )
        );
        assert_eq!(h.log.last().unwrap(), "finished");
        assert_eq!(h.gate.lock().unwrap().state, Some(State::Closed));
        // Nothing after the end: a late reply, a timer.
        h.reply(2);
        h.advance(10_000);
        assert_eq!(h.outcomes().len(), 4);
    }

    #[test]
    fn the_users_close_gives_minus_200_then_disconnect_0_then_closed() {
        let mut h = harness(config());
        h.connect();
        let a = h.request(5000);
        let b = h.request(5000);
        h.core.close(h.now);
        h.drive();
        assert_eq!(
            h.outcomes(),
            [(a, ReplyKind::Disconnected), (b, ReplyKind::Disconnected)]
        );
        let tail: Vec<&str> = h.log[h.position("state closing")..]
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            tail,
            [
                "state closing: closed by the user",
                "drop",
                "disconnect 0: closed by the user",
                "state closed: closed by the user",
                "finished"
            ]
        );
        // A request after the close (sent just before it, taken just after) gets -200.
        let c = h.request(5000);
        assert_eq!(h.outcomes().last().unwrap(), &(c, ReplyKind::Disconnected));
        h.core.close(h.now);
        h.drive();
        assert_eq!(h.log.iter().filter(|l| *l == "finished").count(), 1);
    }

    #[test]
    fn a_close_from_inside_a_completion_ends_the_rest_with_minus_200_once() {
        let mut h = harness(config());
        h.connect();
        let a = h.request_with(3222, 5000, true);
        let b = h.request(5000);
        let c = h.request(5000);
        h.reply(a);
        // b's and c's replies were already on their way: they find nothing.
        h.reply(b);
        h.reply(c);
        assert_eq!(
            h.outcomes(),
            [
                (a, ReplyKind::Server),
                (b, ReplyKind::Disconnected),
                (c, ReplyKind::Disconnected)
            ]
        );
        assert!(h.has("disconnect 0: closed by the user"));
        assert!(h.core.is_done());
    }

    #[test]
    fn a_dropped_core_still_gives_each_request_one_outcome() {
        let mut h = harness(config());
        h.connect();
        let a = h.request(5000);
        let b = h.request(5000);
        // The reply to `a` is queued as an action, not delivered yet.
        let p = Packet {
            proto_id: 3222,
            serial: a,
            body: vec![],
        };
        h.core.handle_event(Event::Reply(p), h.now);
        let outcomes = h.outcomes.clone();
        drop(h);
        let o: Vec<(u32, ReplyKind)> = outcomes
            .lock()
            .unwrap()
            .iter()
            .map(|x| (x.0, x.1))
            .collect();
        assert_eq!(o, [(a, ReplyKind::Server), (b, ReplyKind::Disconnected)]);
    }

    #[test]
    fn held_requests_keep_their_order_and_time_out_while_held() {
        let mut cfg = config();
        cfg.rate_limit_mode = RateLimitMode::Wait;
        cfg.rate_limits.insert(
            3222,
            Quota {
                max: 2,
                window: Duration::from_millis(1000),
            },
        );
        let mut h = harness(cfg);
        h.connect();
        let s1 = h.request(5000);
        let s2 = h.request(5000);
        let s3 = h.request(5000);
        let s4 = h.request(300);
        let s5 = h.request(5000);
        // Another proto is not held behind 3222.
        let other = h.request_with(3223, 5000, false);
        assert_eq!(h.sent, [s1, s2, other]);
        h.advance(300);
        assert_eq!(h.outcomes(), [(s4, ReplyKind::Timeout)]);
        assert_eq!(
            h.outcomes.lock().unwrap()[0].2,
            "no rate-limit slot freed before the request's timeout"
        );
        h.advance(699);
        assert_eq!(h.sent, [s1, s2, other]);
        h.advance(1);
        assert_eq!(
            h.sent,
            [s1, s2, other, s3, s5],
            "in order, when the slots free"
        );
    }

    #[test]
    fn fail_fast_refuses_over_the_quota_with_when_the_next_slot_frees() {
        let mut cfg = config();
        cfg.rate_limit_mode = RateLimitMode::FailFast;
        cfg.rate_limits.insert(
            3222,
            Quota {
                max: 1,
                window: Duration::from_millis(1000),
            },
        );
        let mut h = harness(cfg);
        h.connect();
        let a = h.request(5000);
        h.advance(400);
        let b = h.request(5000);
        assert_eq!(h.sent, [a]);
        assert_eq!(h.outcomes(), [(b, ReplyKind::RateLimited)]);
        assert!(
            h.outcomes.lock().unwrap()[0]
                .2
                .contains("next slot frees in 600 ms")
        );
    }

    #[test]
    fn the_handshake_has_a_deadline_and_the_tcp_connect_one_too() {
        let mut h = harness(config());
        h.core.start(h.now);
        h.core.link_tcp_connected(h.now);
        h.core.link_up(h.now);
        h.drive();
        h.advance(11_999);
        assert!(!h.has("init "));
        h.advance(1);
        assert_eq!(
            h.log[h.position("init ")],
            format!(
                "init {}: InitConnect got no reply within 12000 ms",
                errcode::make(errcode::INIT_FAIL, init_fail::TIMEOUT)
            )
        );
        assert!(h.position("drop") < h.position("init "));
        assert!(
            !h.has("disconnect"),
            "a first connect that failed has no on_disconnect"
        );
        assert_eq!(h.log.last().unwrap(), "finished");

        // The TCP connect that is never answered.
        let mut h = harness(config());
        h.core.start(h.now);
        h.drive();
        h.advance(10_000);
        assert_eq!(
            h.log[h.position("init ")],
            format!(
                "init {}: TCP connect to 127.0.0.1:11111 timed out after 10000 ms",
                errcode::make(connect_fail::CONNECT_FAILED, errcode::os::TIMED_OUT)
            )
        );
        // A transport handshake that never finishes has its own.
        let mut h = harness(config());
        h.core.start(h.now);
        h.advance(9_000);
        h.core.link_tcp_connected(h.now);
        h.advance(9_999);
        assert!(!h.has("init "));
        h.advance(1);
        assert!(
            h.log[h.position("init ")]
                .ends_with("the TCP handshake did not finish within 10000 ms")
        );
    }

    #[test]
    fn a_close_before_the_handshake_ends_is_reported_as_the_users() {
        for when in ["connecting", "handshake", "racing ready"] {
            let mut h = harness(config());
            h.core.start(h.now);
            h.drive();
            if when != "connecting" {
                h.core.link_tcp_connected(h.now);
                h.core.link_up(h.now);
                h.drive();
            }
            if when == "racing ready" {
                // Another thread's close is published before the I/O thread sees it.
                h.gate.lock().unwrap().state = Some(State::Closing);
                h.core.handle_event(Event::Ready(info(3)), h.now);
            } else {
                h.core.close(h.now);
            }
            h.drive();
            assert_eq!(
                h.log[h.position("init ")],
                format!(
                    "init {}: closed by the user before InitConnect completed",
                    errcode::make(errcode::INIT_FAIL, init_fail::DISCONNECT)
                ),
                "{when}"
            );
            assert!(!h.has("state ready"), "{when}");
            assert_eq!(h.log.last().unwrap(), "finished", "{when}");
        }
    }

    #[test]
    fn the_silence_watchdog_fires_only_when_opend_says_nothing() {
        let mut cfg = config();
        cfg.silence_timeout = Some(Duration::from_millis(1500));
        let mut h = harness(cfg);
        h.connect();
        let a = h.request(60_000);
        for _ in 0..5 {
            h.advance(1000);
            h.core.note_activity(h.now);
        }
        assert!(!h.has("disconnect"));
        h.advance(1499);
        assert!(!h.has("disconnect"));
        h.advance(1);
        assert_eq!(h.outcomes(), [(a, ReplyKind::Disconnected)]);
        assert_eq!(
            h.log[h.position("disconnect")],
            format!(
                "disconnect {}: OpenD sent nothing for 1500 ms (KeepAlive unanswered): connection considered dead",
                errcode::make(connect_fail::RECV_FAILED, errcode::os::TIMED_OUT)
            )
        );
    }

    #[test]
    fn reconnect_backs_off_redoes_the_login_and_reports_its_states() {
        let mut cfg = config();
        cfg.auto_reconnect = Some(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
        });
        let mut h = harness(cfg);
        h.connect();
        let a = h.request(5000);
        h.core.link_failed(
            LinkFailure::Broken(Broken::Closed("OpenD closed the connection".into())),
            h.now,
        );
        h.drive();
        assert_eq!(h.outcomes(), [(a, ReplyKind::Disconnected)]);
        assert!(h.position("disconnect") < h.position("state reconnecting"));
        assert!(!h.core.is_done());
        assert_eq!(h.gate.lock().unwrap().state, Some(State::Reconnecting));
        // While down (no queueing), a request taken now gets -200 at once.
        let b = h.request(5000);
        assert_eq!(h.outcomes().last().unwrap(), &(b, ReplyKind::Disconnected));

        // Attempt 1 after 50-100 ms; it fails at once; attempt 2 after 100-200 ms.
        let connects = |h: &Harness| h.log.iter().filter(|l| *l == "connect").count();
        h.advance(49);
        assert_eq!(connects(&h), 1);
        h.advance(51);
        assert_eq!(connects(&h), 2);
        h.core.link_failed(
            LinkFailure::Connect {
                os_error: 111,
                desc: "refused".into(),
            },
            h.now,
        );
        h.drive();
        assert!(
            !h.has("init 2"),
            "a failed reconnect is not an on_init_connect"
        );
        // Still "reconnecting": the state is not reported again.
        assert_eq!(h.log.last().unwrap(), "drop");
        h.advance(99);
        assert_eq!(connects(&h), 2);
        h.advance(101);
        assert_eq!(connects(&h), 3);
        // The login is redone; the state stays "reconnecting" until it succeeds.
        h.core.link_tcp_connected(h.now);
        h.core.link_up(h.now);
        h.drive();
        assert_eq!(
            h.log
                .iter()
                .filter(|l| l.starts_with("state initializing"))
                .count(),
            1
        );
        assert_eq!(h.log.last().unwrap(), "handshake");
        h.core.handle_event(Event::Ready(info(8)), h.now);
        h.drive();
        assert!(h.has("state ready: reconnected: connection ID 8"));
        assert_eq!(h.log.iter().filter(|l| *l == "init 0: ").count(), 2);
        let c = h.request(5000);
        assert_eq!(h.sent, [a, c]);
        // A close while waiting to reconnect ends it at once.
        h.core
            .link_failed(LinkFailure::Broken(Broken::Closed("gone".into())), h.now);
        h.drive();
        h.core.close(h.now);
        h.drive();
        assert!(h.has("state closed: closed by the user while reconnecting"));
        assert!(h.core.is_done());
    }

    #[test]
    fn requests_held_while_reconnecting_go_out_in_order_or_time_out() {
        let mut cfg = config();
        cfg.auto_reconnect = Some(Backoff {
            initial: Duration::from_millis(1000),
            max: Duration::from_millis(1000),
        });
        cfg.queue_while_reconnecting = true;
        let mut h = harness(cfg);
        h.connect();
        h.core
            .link_failed(LinkFailure::Broken(Broken::Closed("gone".into())), h.now);
        h.drive();
        let short = h.request(200);
        let x = h.request(5000);
        let y = h.request(5000);
        h.advance(200);
        assert_eq!(h.outcomes(), [(short, ReplyKind::Timeout)]);
        assert_eq!(
            h.outcomes.lock().unwrap()[0].2,
            "the connection did not come back before the request's timeout"
        );
        h.advance(1000);
        h.core.link_tcp_connected(h.now);
        h.core.link_up(h.now);
        h.core.handle_event(Event::Ready(info(9)), h.now);
        h.drive();
        assert_eq!(h.sent, [x, y]);
    }

    #[test]
    fn a_refused_login_and_a_broken_handshake_have_their_codes() {
        let mut h = harness(config());
        h.core.start(h.now);
        h.core.link_tcp_connected(h.now);
        h.core.link_up(h.now);
        h.drive();
        h.core
            .handle_event(Event::Lost(Failure::Rejected("no".into())), h.now);
        h.drive();
        assert!(h.has(&format!(
            "init {}: no",
            errcode::make(errcode::INIT_FAIL, init_fail::OPEND_REJECT)
        )));

        let mut cfg = config();
        cfg.door = crate::door::Door::Tcp {
            encrypt: true,
            rsa_key: None,
        }
        .text();
        let mut h = harness(cfg);
        h.core.start(h.now);
        h.core.link_tcp_connected(h.now);
        h.core.link_up(h.now);
        h.core.link_failed(
            LinkFailure::Broken(Broken::Closed("OpenD closed the connection".into())),
            h.now,
        );
        h.drive();
        let line = &h.log[h.position("init ")];
        assert!(
            line.starts_with(&format!(
                "init {}: OpenD closed the connection during InitConnect; with encryption on",
                errcode::make(errcode::INIT_FAIL, init_fail::DISCONNECT)
            )),
            "{line}"
        );
    }

    #[test]
    fn the_send_buffer_limit_and_the_state_decide_what_is_accepted() {
        assert_eq!(admit(State::Ready, false, 0, 10, 100), Ok(()));
        assert_eq!(admit(State::Ready, false, 90, 10, 100), Ok(()));
        assert_eq!(
            admit(State::Ready, false, 91, 10, 100),
            Err(SendError::Backpressure {
                queued: 91,
                limit: 100
            })
        );
        assert_eq!(
            admit(State::Initializing, false, 0, 1, 100),
            Err(SendError::NotReady)
        );
        assert_eq!(
            admit(State::Reconnecting, false, 0, 1, 100),
            Err(SendError::Reconnecting)
        );
        assert_eq!(admit(State::Reconnecting, true, 0, 1, 100), Ok(()));
        assert_eq!(
            admit(State::Closing, true, 0, 1, 100),
            Err(SendError::Closed)
        );
        assert_eq!(
            admit(State::Closed, false, 0, 1, 100),
            Err(SendError::Closed)
        );
    }
}
