//! The I/O thread of one connection: the engine core.
//!
//! It owns the pending table, the deadlines, the exactly-one-outcome rule, the rate
//! limiter, the reconnect loop, the state, the callbacks and the send-buffer limit. What
//! it sees of the wire are packets `{proto ID, serial, plaintext body}` and the
//! protocol's "ready" and "lost" events: the door's protocol (`crate::protocol`) and its
//! transport (`crate::transport`) sit under it, behind two traits, and the driver only
//! moves bytes between them, sleeps in `poll` until the socket, a wake-up or the next
//! timer needs it, and tells the protocol the time.

use super::errcode::{self, connect_fail, init_fail};
use super::{
    Cmd, Completion, Connection, Events, RateLimitMode, Reply, ReplyKind, State, take_serial,
};
use crate::ftlog;
use crate::limiter::SlidingWindow;
use crate::log::Level;
use crate::protocol::ft::{FtConfig, FtProtocol};
use crate::protocol::ws::{WsConfig, WsProtocol};
use crate::protocol::{Event, Failure, Packet, PeerFailure, Protocol, SessionInfo};
use crate::transport::{self, Broken, Opening, Transport, TransportConfig, TransportKind};
use crossbeam_channel::{Receiver, TryRecvError};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

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

/// One session's protocol and the transport under it.
struct Link {
    proto: Box<dyn Protocol>,
    transport: Box<dyn Transport>,
}

const TARGET: &str = "ftapi::conn";

struct Io {
    conn: Connection,
    rx: Receiver<Cmd>,
    events: Box<dyn Events>,
    pending: SerialMap<Pending>,
    deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
    /// The current session's protocol and transport (None between sessions).
    link: Option<Link>,
    /// When the handshake must have succeeded.
    init_deadline: Option<Instant>,
    ready: bool,
    /// When the silence watchdog fires unless something arrives first.
    silence_deadline: Option<Instant>,
    /// The transport may hold input it has not handed on yet: read before sleeping.
    input_pending: bool,
    closing: bool,
    held: VecDeque<Held>,
    /// When the first held request may go (or time out).
    held_wakeup: Option<Instant>,
    /// Send times per rate-limited proto ID.
    windows: HashMap<u32, SlidingWindow>,
    /// The last state reported through `on_state_change`.
    reported: Option<State>,
    /// Inside an auto-reconnect (the first connect was already reported).
    reconnecting: bool,
    /// The current protocol's handshake name and failure hint, for messages.
    handshake_name: &'static str,
    handshake_hint: Option<&'static str>,
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

/// Runs a user callback; a panic in it is reported and contained, never unwound into
/// the I/O loop (or through a C frame).
pub(crate) fn guard(what: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        eprintln!("ftapi: a panic in {what} was caught; the connection goes on");
    }
}

pub(super) fn run(
    conn: Connection,
    rx: Receiver<Cmd>,
    events: Box<dyn Events>,
    host: String,
    port: u16,
) {
    let mut io = Io {
        conn,
        rx,
        events,
        pending: SerialMap::default(),
        deadlines: BinaryHeap::new(),
        link: None,
        init_deadline: None,
        ready: false,
        silence_deadline: None,
        input_pending: false,
        closing: false,
        held: VecDeque::new(),
        held_wakeup: None,
        windows: HashMap::new(),
        reported: None,
        reconnecting: false,
        handshake_name: "InitConnect",
        handshake_hint: None,
    };
    io.report_state(State::Connecting, &format!("connecting to {host}:{port}"));
    let mut attempt: u32 = 0;
    let final_reason = loop {
        let end = io.session(&host, port);
        // The socket closes before the outcomes go out, as it would on its own.
        io.link = None;
        let was_ready = io.ready;
        let backoff = io.conn.shared.options.auto_reconnect;
        let again = backoff.is_some() && !io.closing && (was_ready || io.reconnecting);
        // New sends see the right state while the last outcomes are delivered. Requests
        // accepted before that change but still in the channel belong to this session:
        // they are taken under the same lock and complete before its end is reported.
        let mut late = io.store_state_taking_queued(
            if again {
                State::Reconnecting
            } else {
                State::Closing
            },
            was_ready,
        );
        if !again {
            // Held requests (waiting for a rate-limit slot) have no later session either.
            late.extend(io.held.drain(..));
            io.held_wakeup = None;
            let why = end.reason().to_owned();
            io.report_state(State::Closing, &why);
        }
        let reason = io.end_session(end, late);
        let Some(backoff) = backoff.filter(|_| again && !io.closing) else {
            break reason;
        };
        attempt = if was_ready { 1 } else { attempt + 1 };
        let delay = backoff.delay(attempt);
        io.reconnecting = true;
        io.set_state(
            State::Reconnecting,
            &format!(
                "{reason}; reconnect attempt {attempt} in {} ms",
                delay.as_millis()
            ),
        );
        io.reset_session();
        if !io.sleep_interruptible(delay) {
            break "closed by the user while reconnecting".to_owned();
        }
    };
    io.finish(&final_reason);
}

fn os_err(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// Milliseconds until `t` for poll(2), rounded up so a timer is never checked a hair
/// too early; -1 (forever) for no timer.
fn poll_timeout(t: Option<Instant>) -> i32 {
    match t {
        None => -1,
        Some(t) => {
            let d = t.saturating_duration_since(Instant::now());
            d.as_millis().min(i32::MAX as u128) as i32
                + i32::from(d.subsec_nanos() % 1_000_000 != 0)
        }
    }
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Waits for `fd` (readable, and writable if `want_out`) or the wake-up fd. Returns
/// (socket ready, woken), or the poll error.
fn wait(fd: i32, want_out: bool, wake_fd: i32, timeout_ms: i32) -> io::Result<(bool, bool)> {
    let mut fds = [
        libc::pollfd {
            fd,
            events: libc::POLLIN | if want_out { libc::POLLOUT } else { 0 },
            revents: 0,
        },
        libc::pollfd {
            fd: wake_fd,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: fds is a live array of two pollfd structs for the whole call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((fds[0].revents != 0, fds[1].revents != 0))
}

impl Io {
    fn options(&self) -> &super::Options {
        &self.conn.shared.options
    }

    fn session(&mut self, host: &str, port: u16) -> End {
        let opening = match self.open_transport(host, port) {
            Ok(o) => o,
            Err(end) => return end,
        };
        let transport = match self.handshake(opening) {
            Ok(t) => t,
            Err(end) => return end,
        };
        let proto = self.new_protocol();
        self.handshake_name = proto.handshake_name();
        self.handshake_hint = proto.handshake_failure_hint();
        self.link = Some(Link { proto, transport });
        if let Err(end) = self.start_protocol() {
            return end;
        }
        match self.run_loop() {
            Ok(()) => unreachable!("the loop only ends with a reason"),
            Err(end) => end,
        }
    }

    fn kind(&self) -> TransportKind {
        self.options().transport
    }

    fn new_protocol(&self) -> Box<dyn Protocol> {
        let o = self.options();
        match o.transport {
            TransportKind::Tcp => Box::new(FtProtocol::new(FtConfig {
                client_id: o.client_id.clone(),
                client_ver: o.client_ver,
                programming_language: o.programming_language.clone(),
                rsa_key: o.rsa_key.clone(),
                encrypt: o.encrypt,
                max_body_len: o.max_body_len,
                keep_alive_reply_window: o.request_timeout,
            })),
            TransportKind::WebSocket | TransportKind::WebSocketTls => {
                Box::new(WsProtocol::new(WsConfig {
                    key: o.websocket_key.clone(),
                    client_id: o.client_id.clone(),
                    programming_language: o.programming_language.clone(),
                    ping_every: super::ping_interval(o.silence_timeout),
                    tls: o.transport == TransportKind::WebSocketTls,
                }))
            }
        }
    }

    /// Resolves and TCP-connects, then starts the door's transport on the socket.
    fn open_transport(&mut self, host: &str, port: u16) -> Result<Box<dyn Opening>, End> {
        let addrs: Vec<SocketAddr> = match (host, port).to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(e) => {
                return Err(End::Init {
                    code: errcode::make(connect_fail::GET_HOST_BY_NAME_FAILED, os_err(&e)),
                    desc: format!("cannot resolve host {host:?}: {e}"),
                });
            }
        };
        if addrs.is_empty() {
            return Err(End::Init {
                code: errcode::make(connect_fail::GET_HOST_BY_NAME_WRONG, 0),
                desc: format!("host {host:?} has no address"),
            });
        }
        let timeout = self.options().connect_timeout;
        let mut last = None;
        for addr in &addrs {
            self.drain_commands();
            if self.closing {
                return Err(self.user_close_end());
            }
            match transport::tcp_connect(addr, timeout) {
                Ok(sock) => {
                    let o = self.options();
                    let cfg = TransportConfig {
                        kind: o.transport,
                        max_packet_len: o.max_body_len + crate::wire::ws::REPLY_HEADER_LEN,
                        tls_roots: o.tls_roots.clone(),
                    };
                    return transport::open(&cfg, sock, host, port).map_err(|desc| End::Init {
                        code: errcode::make(connect_fail::CONNECT_FAILED, 0),
                        desc,
                    });
                }
                Err(e) => last = Some((addr, e)),
            }
        }
        let (addr, e) = last.expect("at least one address was tried");
        Err(End::Init {
            code: errcode::make(connect_fail::CONNECT_FAILED, os_err(&e)),
            desc: format!("TCP connect to {addr} failed: {e}"),
        })
    }

    /// Runs the transport's own handshake (TLS, WebSocket upgrade) to its end, within the
    /// connect timeout, still taking commands (a close ends it at once).
    fn handshake(&mut self, mut opening: Box<dyn Opening>) -> Result<Box<dyn Transport>, End> {
        let timeout = self.options().connect_timeout;
        let deadline = Instant::now() + timeout;
        let wake_fd = self.conn.shared.waker.fd();
        loop {
            match opening.step() {
                Ok(Some(t)) => return Ok(t),
                Ok(None) => {}
                Err(desc) => {
                    return Err(End::Init {
                        code: errcode::make(connect_fail::CONNECT_FAILED, 0),
                        desc,
                    });
                }
            }
            if Instant::now() >= deadline {
                return Err(End::Init {
                    code: errcode::make(connect_fail::CONNECT_FAILED, libc::ETIMEDOUT),
                    desc: format!(
                        "the {} handshake did not finish within {} ms",
                        self.kind().name(),
                        timeout.as_millis()
                    ),
                });
            }
            // A short cap: a handshake waiting to write is not always visible from here.
            let ms = poll_timeout(Some(deadline)).min(20);
            match wait(opening.fd(), opening.wants_write(), wake_fd, ms) {
                Ok((_, woken)) => {
                    if woken {
                        self.conn.shared.waker.reset();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(End::Init {
                        code: errcode::make(connect_fail::CONNECT_FAILED, os_err(&e)),
                        desc: format!("poll failed: {e}"),
                    });
                }
            }
            self.drain_commands();
            if self.closing {
                return Err(self.user_close_end());
            }
        }
    }

    fn user_close_end(&self) -> End {
        if self.ready {
            End::Disconnect {
                code: 0,
                reason: "closed by the user".into(),
            }
        } else {
            End::Init {
                code: errcode::make(errcode::INIT_FAIL, init_fail::DISCONNECT),
                desc: format!(
                    "closed by the user before {} completed",
                    self.handshake_name
                ),
            }
        }
    }

    /// Queues the protocol's handshake (InitConnect or the WebSocket login).
    fn start_protocol(&mut self) -> Result<(), End> {
        let s = &self.conn.shared;
        let st = State::from_u8(s.state.load(Ordering::Acquire));
        if !matches!(st, State::Connecting | State::Reconnecting) {
            self.drain_commands();
            return Err(self.user_close_end());
        }
        if st == State::Connecting {
            let kind = match self.kind() {
                TransportKind::Tcp => "TCP",
                k => k.name(),
            };
            let why = format!("{kind} connected; {} sent", self.handshake_name);
            self.set_state(State::Initializing, &why);
        }
        let shared = self.conn.shared.clone();
        let mut serials = || take_serial(&mut shared.submit.lock());
        let link = self.link.as_mut().expect("a session has a link");
        link.proto
            .start(Instant::now(), link.transport.outbox(), &mut serials);
        self.init_deadline = Some(Instant::now() + self.options().init_timeout);
        self.note_unsent();
        Ok(())
    }

    /// Publishes the transport's unsent bytes for the send-buffer limit.
    fn note_unsent(&self) {
        let unsent = self.link.as_ref().map_or(0, |l| l.transport.unsent());
        self.conn
            .shared
            .unsent_bytes
            .store(unsent, Ordering::Release);
    }

    fn run_loop(&mut self) -> Result<(), End> {
        let wake_fd = self.conn.shared.waker.fd();
        loop {
            // Requests sent from callbacks during the last round go out before we sleep.
            self.drain_commands();
            if self.closing {
                return Err(self.user_close_end());
            }
            self.flush()?;
            let timeout_ms = if self.input_pending {
                0
            } else {
                poll_timeout(self.next_timer())
            };
            let (fd, want_out) = {
                let t = &self.link.as_ref().expect("a session has a link").transport;
                (t.fd(), t.wants_write())
            };
            let (readable, woken) = match wait(fd, want_out, wake_fd, timeout_ms) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(self.disconnect(
                        connect_fail::RECV_FAILED,
                        os_err(&e),
                        format!("poll failed: {e}"),
                    ));
                }
            };
            if woken {
                self.conn.shared.waker.reset();
            }
            self.drain_commands();
            if self.closing {
                return Err(self.user_close_end());
            }
            if readable || self.input_pending {
                self.read()?;
                if self.closing {
                    return Err(self.user_close_end());
                }
            }
            self.run_timers()?;
            self.release_held();
            if self.closing {
                return Err(self.user_close_end());
            }
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        let mut t = self.deadlines.peek().map(|Reverse((d, _))| *d);
        for other in [self.init_deadline, self.silence_deadline, self.held_wakeup] {
            t = min_opt(t, other);
        }
        let proto = self.link.as_ref().and_then(|l| l.proto.next_timeout());
        min_opt(t, proto)
    }

    /// Takes new requests from the channel: sends them, holds them, or completes them.
    fn drain_commands(&mut self) {
        // One clock read per batch; refreshed after anything that runs a callback.
        let mut now = Instant::now();
        loop {
            match self.rx.try_recv() {
                Ok(Cmd::Close) => {
                    if !self.closing {
                        self.closing = true;
                        self.report_state(State::Closing, "closed by the user");
                    }
                }
                Ok(Cmd::Request {
                    proto_id,
                    serial,
                    body,
                    timeout,
                    done,
                }) => {
                    self.conn
                        .shared
                        .queued_bytes
                        .fetch_sub(body.len(), Ordering::AcqRel);
                    let deadline = now + timeout;
                    let h = Held {
                        proto_id,
                        serial,
                        body,
                        deadline,
                        done,
                    };
                    if self.closing {
                        self.complete_now(
                            h.proto_id,
                            h.serial,
                            h.done,
                            ReplyKind::Disconnected,
                            "closed by the user",
                        );
                        now = Instant::now();
                    } else if !self.ready {
                        if self.reconnecting && self.options().queue_while_reconnecting {
                            self.hold(h);
                        } else {
                            // Accepted just before the connection dropped.
                            self.complete_now(
                                h.proto_id,
                                h.serial,
                                h.done,
                                ReplyKind::Disconnected,
                                "the connection dropped",
                            );
                            now = Instant::now();
                        }
                    } else if self.submit(h, now) {
                        now = Instant::now();
                    }
                }
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
            }
        }
        self.note_unsent();
    }

    fn hold(&mut self, h: Held) {
        self.held_wakeup = Some(self.held_wakeup.map_or(h.deadline, |w| w.min(h.deadline)));
        self.held.push_back(h);
    }

    /// The client-side quota of a proto ID, if the limiter is on.
    fn quota(&self, proto_id: u32) -> Option<super::Quota> {
        let o = self.options();
        if o.rate_limit_mode == RateLimitMode::Off {
            return None;
        }
        o.rate_limits.get(&proto_id).copied()
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
    /// True when it was refused (its callback has run).
    fn submit(&mut self, h: Held, now: Instant) -> bool {
        let behind_held = self.held.iter().any(|x| x.proto_id == h.proto_id);
        match (behind_held, self.slot(h.proto_id, now)) {
            (false, Ok(())) => self.send_request(h, now),
            (_, Err(next)) if self.options().rate_limit_mode == RateLimitMode::FailFast => {
                let q = self.quota(h.proto_id).expect("limited protos have a quota");
                let reason = format!(
                    "rate limited locally: at most {} requests of proto {} per {} s; next slot frees in {} ms",
                    q.max,
                    h.proto_id,
                    q.window.as_secs_f64(),
                    next.saturating_duration_since(now).as_millis()
                );
                ftlog!(Level::Info, TARGET, "serial={} {reason}", h.serial);
                self.complete_now(
                    h.proto_id,
                    h.serial,
                    h.done,
                    ReplyKind::RateLimited,
                    &reason,
                );
                return true;
            }
            (_, Err(next)) => {
                self.hold(h);
                self.held_wakeup = Some(self.held_wakeup.map_or(next, |w| w.min(next)));
            }
            (true, Ok(())) => self.hold(h),
        }
        false
    }

    fn send_request(&mut self, h: Held, now: Instant) {
        if self.quota(h.proto_id).is_some() {
            self.windows.entry(h.proto_id).or_default().record(now);
        }
        let link = self.link.as_mut().expect("ready implies a link");
        link.proto
            .send(h.proto_id, h.serial, &h.body, link.transport.outbox());
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
    fn release_held(&mut self) {
        if self.held.is_empty() {
            self.held_wakeup = None;
            return;
        }
        let now = Instant::now();
        let mut blocked: HashSet<u32> = HashSet::new();
        let mut wake: Option<Instant> = None;
        let mut i = 0;
        while i < self.held.len() && !self.closing {
            let (proto, deadline) = (self.held[i].proto_id, self.held[i].deadline);
            if deadline <= now {
                let h = self.held.remove(i).expect("index checked");
                let why = if self.ready {
                    "no rate-limit slot freed before the request's timeout"
                } else {
                    "the connection did not come back before the request's timeout"
                };
                self.complete_now(h.proto_id, h.serial, h.done, ReplyKind::Timeout, why);
                continue;
            }
            wake = min_opt(wake, Some(deadline));
            if !self.ready || blocked.contains(&proto) {
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

    fn flush(&mut self) -> Result<(), End> {
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        let r = link.transport.flush();
        self.note_unsent();
        r.map_err(|b| self.broken(b))
    }

    /// An end after the socket was up: `on_disconnect` if the handshake had succeeded,
    /// otherwise a handshake failure.
    fn disconnect(&self, high: i32, low: i32, reason: String) -> End {
        if self.ready {
            End::Disconnect {
                code: errcode::make(high, low),
                reason,
            }
        } else {
            let kind = if high == connect_fail::RECV_FAILED || high == connect_fail::SEND_FAILED {
                init_fail::DISCONNECT
            } else {
                init_fail::UNKNOWN
            };
            let desc = match self.handshake_hint {
                Some(hint) => format!("{reason} during {}; {hint}", self.handshake_name),
                None => reason,
            };
            End::Init {
                code: errcode::make(errcode::INIT_FAIL, kind),
                desc,
            }
        }
    }

    /// A packet that breaks the protocol ends the connection.
    fn protocol_error(&self, reason: String) -> End {
        if self.ready {
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
                self.disconnect(high, os_err(&err), what)
            }
            Broken::Protocol(reason) => self.protocol_error(reason),
        }
    }

    fn failure(&self, f: Failure) -> End {
        match f {
            Failure::Protocol(reason) => self.protocol_error(reason),
            Failure::Rejected(desc) if !self.ready => End::Init {
                code: errcode::make(errcode::INIT_FAIL, init_fail::OPEND_REJECT),
                desc,
            },
            Failure::Rejected(reason) => self.protocol_error(reason),
            Failure::Ended(reason) => self.disconnect(connect_fail::RECV_FAILED, 0, reason),
        }
    }

    fn read(&mut self) -> Result<(), End> {
        self.input_pending = false;
        for _ in 0..16 {
            let status = {
                let link = self.link.as_mut().expect("a session has a link");
                link.transport.read(&mut *link.proto)
            };
            let status = match status {
                Ok(s) => s,
                Err(b) => {
                    // What arrived before the break counts first (a refusal, say, just
                    // before OpenD closes the connection).
                    self.process_events()?;
                    return Err(self.broken(b));
                }
            };
            if status.activity && self.ready {
                if let Some(t) = self.options().silence_timeout {
                    self.silence_deadline = Some(Instant::now() + t);
                }
            }
            self.process_events()?;
            if self.closing {
                return Ok(());
            }
            // Requests the callbacks just made go out while OpenD works on the rest,
            // instead of after the whole batch.
            self.drain_commands();
            self.flush()?;
            if self.closing || !status.more {
                return Ok(());
            }
        }
        self.input_pending = true;
        Ok(())
    }

    /// Acts on what the protocol made of the input, in order.
    fn process_events(&mut self) -> Result<(), End> {
        let mut handled = 0u32;
        loop {
            let Some(event) = self.link.as_mut().and_then(|l| l.proto.poll_event()) else {
                return Ok(());
            };
            match event {
                Event::Ready(info) => self.on_ready(info),
                Event::Reply(p) => self.on_reply(p),
                Event::Push(p) => self.on_push(p),
                Event::Failed {
                    proto_id,
                    serial,
                    kind,
                    reason,
                } => self.on_failed(proto_id, serial, kind, &reason),
                Event::Lost(f) => return Err(self.failure(f)),
            }
            if self.closing {
                return Ok(());
            }
            handled += 1;
            if handled % 128 == 0 {
                // Keep OpenD busy while we work through a long batch. Each flush is a
                // send that wakes OpenD: every 128 replies measured ~10 % more
                // requests/s at 256 in flight than every 32, and never flushing
                // mid-batch ~15 % fewer (OpenD went idle).
                self.drain_commands();
                self.flush()?;
            }
        }
    }

    fn on_reply(&mut self, p: Packet) {
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
                    x.sent_at.elapsed().as_micros()
                );
                let reply = Reply {
                    proto_id: p.proto_id,
                    serial: p.serial,
                    kind: ReplyKind::Server,
                    body: p.body,
                    reason: String::new(),
                };
                let done = x.done;
                guard("a reply callback", || done(reply));
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

    fn on_push(&mut self, p: Packet) {
        ftlog!(
            Level::Debug,
            TARGET,
            "push proto={} serial={} len={}",
            p.proto_id,
            p.serial,
            p.body.len()
        );
        let conn = self.conn.clone();
        let events = &mut self.events;
        guard("on_push", || {
            events.on_push(&conn, p.proto_id, p.serial, &p.body)
        });
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
                self.complete_now(proto_id, serial, x.done, kind, reason);
            }
            _ => ftlog!(
                Level::Warn,
                TARGET,
                "dropped an unmatched failure: proto={proto_id} serial={serial}: {reason}"
            ),
        }
    }

    /// The handshake succeeded: the session is ready.
    fn on_ready(&mut self, info: SessionInfo) {
        let shared = self.conn.shared.clone();
        *shared.info.lock() = info.clone();
        shared.conn_id.store(info.conn_id, Ordering::Release);
        {
            let _submit = shared.submit.lock();
            let st = State::from_u8(shared.state.load(Ordering::Acquire));
            if !matches!(st, State::Initializing | State::Reconnecting) {
                self.closing = true;
                return;
            }
            shared.state.store(State::Ready as u8, Ordering::Release);
        }
        match self.kind() {
            TransportKind::Tcp => ftlog!(
                Level::Info,
                TARGET,
                "connected: OpenD serverVer={} connID={} keepAliveInterval={}s encrypted={}",
                info.server_ver,
                info.conn_id,
                info.keep_alive_interval_s,
                info.encrypted
            ),
            kind => ftlog!(
                Level::Info,
                TARGET,
                "connected over {}: connID={}",
                kind.name(),
                info.conn_id
            ),
        }
        self.ready = true;
        self.init_deadline = None;
        self.silence_deadline = self.options().silence_timeout.map(|t| Instant::now() + t);
        let why = if self.reconnecting {
            format!("reconnected: connection ID {}", info.conn_id)
        } else {
            format!(
                "{} succeeded: connection ID {}",
                self.handshake_name, info.conn_id
            )
        };
        self.report_state(State::Ready, &why);
        self.signal_init(0, String::new());
        let conn = self.conn.clone();
        let events = &mut self.events;
        guard("on_init_connect", || events.on_init_connect(&conn, 0, ""));
        // Requests held during the reconnect go out now.
        self.release_held();
    }

    fn signal_init(&self, code: i64, desc: String) {
        let shared = &self.conn.shared;
        let mut done = shared.init_done.lock();
        if done.is_none() {
            *done = Some((code, desc));
        }
        shared.init_cv.notify_all();
    }

    fn run_timers(&mut self) -> Result<(), End> {
        let now = Instant::now();
        if let Some(d) = self.init_deadline {
            if now >= d {
                let ms = self.options().init_timeout.as_millis();
                return Err(End::Init {
                    code: errcode::make(errcode::INIT_FAIL, init_fail::TIMEOUT),
                    desc: format!("{} got no reply within {ms} ms", self.handshake_name),
                });
            }
        }
        while let Some(&Reverse((deadline, serial))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let expired = matches!(self.pending.get(&serial), Some(p) if p.deadline == deadline);
            if expired {
                let p = self.pending.remove(&serial).expect("present");
                ftlog!(
                    Level::Debug,
                    TARGET,
                    "timeout proto={} serial={}",
                    p.proto_id,
                    serial
                );
                self.complete_now(
                    p.proto_id,
                    serial,
                    p.done,
                    ReplyKind::Timeout,
                    "no reply before the request's timeout",
                );
                if self.closing {
                    return Ok(());
                }
            }
        }
        if let Some(d) = self.silence_deadline {
            if now >= d {
                let ms = self
                    .options()
                    .silence_timeout
                    .unwrap_or_default()
                    .as_millis();
                let unanswered = match self.kind() {
                    TransportKind::Tcp => "KeepAlive unanswered",
                    _ => "WebSocket pings unanswered",
                };
                return Err(End::Disconnect {
                    code: errcode::make(connect_fail::RECV_FAILED, libc::ETIMEDOUT),
                    reason: format!(
                        "OpenD sent nothing for {ms} ms ({unanswered}): connection considered dead"
                    ),
                });
            }
        }
        if let Some(link) = self.link.as_mut() {
            if link.proto.next_timeout().is_some_and(|t| now >= t) {
                let shared = self.conn.shared.clone();
                let mut serials = || take_serial(&mut shared.submit.lock());
                link.proto
                    .handle_timeout(now, link.transport.outbox(), &mut serials);
            }
        }
        Ok(())
    }

    fn complete_now(
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
        guard("a reply callback", || done(reply));
    }

    /// Ends one session: every request on the wire completes with -200, then the end
    /// event (`on_disconnect`, or `on_init_connect` for a first connect that failed).
    /// Returns the reason.
    fn end_session(&mut self, end: End, late: Vec<Held>) -> String {
        let reason = end.reason().to_owned();
        // Requests already on the wire, in the order they were sent.
        let mut pending: Vec<(u32, Pending)> = self.pending.drain().collect();
        pending.sort_by_key(|(serial, _)| *serial);
        self.deadlines.clear();
        for (serial, p) in pending {
            self.complete_now(p.proto_id, serial, p.done, ReplyKind::Disconnected, &reason);
        }
        // Then those accepted for this session but not sent.
        for h in late {
            self.complete_now(
                h.proto_id,
                h.serial,
                h.done,
                ReplyKind::Disconnected,
                &reason,
            );
        }
        let conn = self.conn.clone();
        match end {
            End::Init { code, desc } => {
                ftlog!(Level::Warn, TARGET, "connect failed ({code}): {desc}");
                if !self.reconnecting {
                    self.signal_init(code, desc.clone());
                    let events = &mut self.events;
                    guard("on_init_connect", || {
                        events.on_init_connect(&conn, code, &desc)
                    });
                }
            }
            End::Disconnect { code, reason } => {
                ftlog!(Level::Warn, TARGET, "disconnected ({code}): {reason}");
                let events = &mut self.events;
                guard("on_disconnect", || {
                    events.on_disconnect(&conn, code, &reason)
                });
            }
        }
        reason
    }

    /// Forgets the last session before a reconnect.
    fn reset_session(&mut self) {
        self.link = None;
        self.note_unsent();
        self.init_deadline = None;
        self.ready = false;
        self.silence_deadline = None;
        self.input_pending = false;
    }

    /// Waits out a reconnect delay while still taking commands; false if closed meanwhile.
    fn sleep_interruptible(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            self.drain_commands();
            self.release_held();
            if self.closing {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            let wake = self.held_wakeup.map_or(until, |w| w.min(until));
            let ms = wake
                .saturating_duration_since(now)
                .as_millis()
                .min(i32::MAX as u128) as i32
                + 1;
            let mut fd = libc::pollfd {
                fd: self.conn.shared.waker.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: fd is a live pollfd for the whole call.
            let n = unsafe { libc::poll(&mut fd, 1, ms) };
            if n > 0 {
                self.conn.shared.waker.reset();
            }
        }
    }

    /// Changes the shared state (unless a close is under way) and reports it.
    fn set_state(&mut self, state: State, reason: &str) {
        if self.store_state(state) {
            self.report_state(state, reason);
        }
    }

    /// As [`store_state`](Self::store_state); with `take`, also takes the requests still in
    /// the channel under the same lock (accepted before the change). A `Close` among them
    /// is honoured after the lock is released (its report runs a callback).
    fn store_state_taking_queued(&mut self, state: State, take: bool) -> Vec<Held> {
        let shared = self.conn.shared.clone();
        let mut late = Vec::new();
        let mut saw_close = false;
        {
            let _submit = shared.submit.lock();
            let cur = State::from_u8(shared.state.load(Ordering::Acquire));
            if !matches!(cur, State::Closing | State::Closed) {
                shared.state.store(state as u8, Ordering::Release);
            }
            while take && let Ok(cmd) = self.rx.try_recv() {
                match cmd {
                    Cmd::Request {
                        proto_id,
                        serial,
                        body,
                        done,
                        ..
                    } => {
                        shared.queued_bytes.fetch_sub(body.len(), Ordering::AcqRel);
                        late.push(Held {
                            proto_id,
                            serial,
                            body,
                            deadline: Instant::now(),
                            done,
                        });
                    }
                    Cmd::Close => saw_close = true,
                }
            }
        }
        if saw_close && !self.closing {
            self.closing = true;
            self.report_state(State::Closing, "closed by the user");
        }
        late
    }

    /// Changes the shared state without reporting it; false if a close is under way.
    fn store_state(&self, state: State) -> bool {
        let shared = &self.conn.shared;
        let _submit = shared.submit.lock();
        let cur = State::from_u8(shared.state.load(Ordering::Acquire));
        if matches!(cur, State::Closing | State::Closed) && state != State::Closed {
            return false;
        }
        shared.state.store(state as u8, Ordering::Release);
        true
    }

    /// Calls `on_state_change` when `state` differs from the last one reported.
    fn report_state(&mut self, state: State, reason: &str) {
        if self.reported == Some(state) {
            return;
        }
        self.reported = Some(state);
        ftlog!(Level::Info, TARGET, "state {}: {reason}", state.name());
        let conn = self.conn.clone();
        let events = &mut self.events;
        guard("on_state_change", || {
            events.on_state_change(&conn, state, reason)
        });
    }

    /// The connection is over for good: requests still queued or held complete with
    /// -200, the state becomes Closed, and waiters wake.
    fn finish(&mut self, reason: &str) {
        let shared = self.conn.shared.clone();
        {
            let _submit = shared.submit.lock();
            shared.state.store(State::Closing as u8, Ordering::Release);
        }
        // No new requests can arrive now: the state is Closing.
        self.closing = true;
        while let Ok(cmd) = self.rx.try_recv() {
            if let Cmd::Request {
                proto_id,
                serial,
                body,
                done,
                ..
            } = cmd
            {
                shared.queued_bytes.fetch_sub(body.len(), Ordering::AcqRel);
                self.held.push_back(Held {
                    proto_id,
                    serial,
                    body,
                    deadline: Instant::now(),
                    done,
                });
            }
        }
        while let Some(h) = self.held.pop_front() {
            self.complete_now(
                h.proto_id,
                h.serial,
                h.done,
                ReplyKind::Disconnected,
                reason,
            );
        }
        shared.queued_bytes.store(0, Ordering::Release);
        shared.unsent_bytes.store(0, Ordering::Release);
        shared.state.store(State::Closed as u8, Ordering::Release);
        self.report_state(State::Closed, reason);
        // Waiters wake only after the last callback has returned.
        let _done = shared.init_done.lock();
        shared.finished.store(true, Ordering::Release);
        shared.init_cv.notify_all();
    }
}
