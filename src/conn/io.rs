//! The I/O thread of one connection.

use super::errcode::{self, connect_fail, init_fail};
use super::{
    Cmd, Completion, Connection, Events, RateLimitMode, Reply, ReplyKind, SessionInfo, State,
    take_serial,
};
use crate::crypto::BodyCipher;
use crate::ftlog;
use crate::log::Level;
use crate::pb::{self, proto_id};
use crate::wire::{self, Frame, FrameReader};
use crossbeam_channel::{Receiver, TryRecvError};
use prost::Message;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a session ended: before InitConnect succeeded (reported by `on_init_connect`) or
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

struct Pending {
    proto_id: u32,
    deadline: Instant,
    sent_at: Instant,
    /// None for the library's own KeepAlive, whose reply nobody waits for.
    done: Option<Completion>,
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

const TARGET: &str = "ftapi::conn";

struct Io {
    conn: Connection,
    rx: Receiver<Cmd>,
    events: Box<dyn Events>,
    pending: SerialMap<Pending>,
    deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
    reader: FrameReader,
    out: Vec<u8>,
    out_pos: usize,
    cipher: Option<BodyCipher>,
    init_serial: u32,
    init_deadline: Option<Instant>,
    ready: bool,
    keep_alive_every: Duration,
    next_keep_alive: Option<Instant>,
    /// When the silence watchdog fires unless some bytes arrive first.
    silence_deadline: Option<Instant>,
    closing: bool,
    held: VecDeque<Held>,
    /// When the first held request may go (or time out).
    held_wakeup: Option<Instant>,
    /// Send times per rate-limited proto ID, oldest first.
    sent_times: HashMap<u32, VecDeque<Instant>>,
    /// The last state reported through `on_state_change`.
    reported: Option<State>,
    /// Inside an auto-reconnect (InitConnect already reported once).
    reconnecting: bool,
    /// SHA-1 of what we send and of what we check, each remembering its last body.
    send_sha1: wire::Sha1Memo,
    recv_sha1: wire::Sha1Memo,
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
    let max_body = conn.shared.options.max_body_len;
    let mut io = Io {
        conn,
        rx,
        events,
        pending: SerialMap::default(),
        deadlines: BinaryHeap::new(),
        reader: FrameReader::new(max_body),
        out: Vec::new(),
        out_pos: 0,
        cipher: None,
        init_serial: 0,
        init_deadline: None,
        ready: false,
        keep_alive_every: Duration::from_secs(8),
        next_keep_alive: None,
        silence_deadline: None,
        closing: false,
        held: VecDeque::new(),
        held_wakeup: None,
        sent_times: HashMap::new(),
        reported: None,
        reconnecting: false,
        send_sha1: wire::Sha1Memo::default(),
        recv_sha1: wire::Sha1Memo::default(),
    };
    io.report_state(State::Connecting, &format!("connecting to {host}:{port}"));
    let mut attempt: u32 = 0;
    let final_reason = loop {
        let end = io.session(&host, port);
        let was_ready = io.ready;
        let backoff = io.conn.shared.options.auto_reconnect;
        let again = backoff.is_some() && !io.closing && (was_ready || io.reconnecting);
        // New sends see the right state while the last outcomes are delivered.
        io.store_state(if again {
            State::Reconnecting
        } else {
            State::Closing
        });
        if !again {
            let why = end.reason().to_owned();
            io.report_state(State::Closing, &why);
        }
        let reason = io.end_session(end);
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

impl Io {
    fn session(&mut self, host: &str, port: u16) -> End {
        let sock = match self.tcp_connect(host, port) {
            Ok(s) => s,
            Err(end) => return end,
        };
        if let Err(end) = self.send_init_connect() {
            return end;
        }
        match self.run_loop(&sock) {
            Ok(()) => unreachable!("the loop only ends with a reason"),
            Err(end) => end,
        }
    }

    fn tcp_connect(&mut self, host: &str, port: u16) -> Result<TcpStream, End> {
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
        let timeout = self.conn.shared.options.connect_timeout;
        let mut last = None;
        for addr in &addrs {
            self.drain_commands();
            if self.closing {
                return Err(self.user_close_end());
            }
            match TcpStream::connect_timeout(addr, timeout) {
                Ok(s) => {
                    let setup = s.set_nonblocking(true).and_then(|_| s.set_nodelay(true));
                    if let Err(e) = setup {
                        last = Some((addr, e));
                        continue;
                    }
                    return Ok(s);
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

    fn user_close_end(&self) -> End {
        if self.ready {
            End::Disconnect {
                code: 0,
                reason: "closed by the user".into(),
            }
        } else {
            End::Init {
                code: errcode::make(errcode::INIT_FAIL, init_fail::DISCONNECT),
                desc: "closed by the user before InitConnect completed".into(),
            }
        }
    }

    fn next_serial(&self) -> u32 {
        take_serial(&mut self.conn.shared.submit.lock())
    }

    fn send_init_connect(&mut self) -> Result<(), End> {
        let s = &self.conn.shared;
        let st = State::from_u8(s.state.load(Ordering::Acquire));
        if !matches!(st, State::Connecting | State::Reconnecting) {
            self.drain_commands();
            return Err(self.user_close_end());
        }
        if st == State::Connecting {
            self.set_state(State::Initializing, "TCP connected; InitConnect sent");
        }
        let s = &self.conn.shared;
        let opts = &s.options;
        let encrypt = opts.encrypt;
        let req = pb::init_connect::Request {
            c2s: pb::init_connect::C2s {
                client_ver: opts.client_ver,
                client_id: opts.client_id.clone(),
                recv_notify: Some(true),
                packet_enc_algo: Some(if encrypt {
                    pb::common::PacketEncAlgo::AesCbc as i32
                } else {
                    pb::common::PacketEncAlgo::None as i32
                }),
                push_proto_fmt: Some(0),
                programming_language: Some(opts.programming_language.clone()),
                ai_type: None,
            },
        };
        let plain = req.encode_to_vec();
        let wire_body = match (&opts.rsa_key, encrypt) {
            (Some(key), true) => key.encrypt(&plain),
            _ => plain.clone(),
        };
        self.init_serial = self.next_serial();
        self.init_deadline = Some(Instant::now() + opts.init_timeout);
        wire::encode_frame_into(
            &mut self.out,
            proto_id::INIT_CONNECT,
            self.init_serial,
            &plain,
            &wire_body,
        );
        self.account_out(wire::HEADER_LEN + wire_body.len());
        Ok(())
    }

    fn account_out(&self, n: usize) {
        self.conn.shared.queued_bytes.fetch_add(n, Ordering::AcqRel);
    }

    fn run_loop(&mut self, sock: &TcpStream) -> Result<(), End> {
        let wake_fd = self.conn.shared.waker.fd();
        loop {
            // Requests sent from callbacks during the last round go out before we sleep.
            self.drain_commands();
            if self.closing {
                return Err(self.user_close_end());
            }
            self.flush(sock)?;
            let timeout_ms = match self.next_timer() {
                None => -1,
                Some(t) => {
                    let d = t.saturating_duration_since(Instant::now());
                    // Round up so a timer is never checked a hair too early.
                    d.as_millis().min(i32::MAX as u128) as i32
                        + i32::from(d.subsec_nanos() % 1_000_000 != 0)
                }
            };
            let want_out = self.out_pos < self.out.len();
            let mut fds = [
                libc::pollfd {
                    fd: sock.as_raw_fd(),
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
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(self.disconnect(
                    connect_fail::RECV_FAILED,
                    os_err(&e),
                    format!("poll failed: {e}"),
                ));
            }
            if fds[1].revents != 0 {
                self.conn.shared.waker.reset();
            }
            self.drain_commands();
            if self.closing {
                return Err(self.user_close_end());
            }
            if fds[0].revents != 0 {
                self.read(sock)?;
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
        for other in [
            self.init_deadline,
            self.next_keep_alive,
            self.silence_deadline,
            self.held_wakeup,
        ]
        .into_iter()
        .flatten()
        {
            t = Some(t.map_or(other, |t| t.min(other)));
        }
        t
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
                        .fetch_sub(body.len() + wire::HEADER_LEN, Ordering::AcqRel);
                    let deadline = now + timeout;
                    if self.closing {
                        self.complete_now(
                            proto_id,
                            serial,
                            done,
                            ReplyKind::Disconnected,
                            "closed by the user",
                        );
                        now = Instant::now();
                    } else if !self.ready {
                        if self.reconnecting && self.conn.shared.options.queue_while_reconnecting {
                            self.hold(Held {
                                proto_id,
                                serial,
                                body,
                                deadline,
                                done,
                            });
                        } else {
                            // Accepted just before the connection dropped.
                            self.complete_now(
                                proto_id,
                                serial,
                                done,
                                ReplyKind::Disconnected,
                                "the connection dropped",
                            );
                            now = Instant::now();
                        }
                    } else if self.submit(
                        Held {
                            proto_id,
                            serial,
                            body,
                            deadline,
                            done,
                        },
                        now,
                    ) {
                        now = Instant::now();
                    }
                }
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return,
            }
        }
    }

    fn hold(&mut self, h: Held) {
        self.held_wakeup = Some(self.held_wakeup.map_or(h.deadline, |w| w.min(h.deadline)));
        self.held.push_back(h);
    }

    /// The client-side quota of a proto ID, if the limiter is on.
    fn quota(&self, proto_id: u32) -> Option<super::Quota> {
        let o = &self.conn.shared.options;
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
        let times = self.sent_times.entry(proto_id).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= q.window)
        {
            times.pop_front();
        }
        if (times.len() as u32) < q.max {
            Ok(())
        } else {
            Err(times[0] + q.window)
        }
    }

    /// A new request while ready: to the wire, or held / refused by the rate limiter.
    /// True when it was refused (its callback has run).
    fn submit(&mut self, h: Held, now: Instant) -> bool {
        let behind_held = self.held.iter().any(|x| x.proto_id == h.proto_id);
        match (behind_held, self.slot(h.proto_id, now)) {
            (false, Ok(())) => self.send_request(h, now),
            (_, Err(next))
                if self.conn.shared.options.rate_limit_mode == RateLimitMode::FailFast =>
            {
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
            self.sent_times
                .entry(h.proto_id)
                .or_default()
                .push_back(now);
        }
        self.queue_frame(h.proto_id, h.serial, &h.body);
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
                done: Some(h.done),
            },
        );
        self.deadlines.push(Reverse((h.deadline, h.serial)));
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
            wake = Some(wake.map_or(deadline, |w| w.min(deadline)));
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
                    wake = Some(wake.map_or(next, |w| w.min(next)));
                    i += 1;
                }
            }
        }
        self.held_wakeup = wake;
    }

    fn queue_frame(&mut self, proto_id: u32, serial: u32, plain: &[u8]) {
        let before = self.out.len();
        let digest = self.send_sha1.digest(plain);
        match &self.cipher {
            Some(c) => {
                let wire_body = c.encrypt(plain);
                wire::encode_frame_with_digest(&mut self.out, proto_id, serial, digest, &wire_body);
            }
            None => wire::encode_frame_with_digest(&mut self.out, proto_id, serial, digest, plain),
        }
        self.account_out(self.out.len() - before);
    }

    fn flush(&mut self, mut sock: &TcpStream) -> Result<(), End> {
        while self.out_pos < self.out.len() {
            match sock.write(&self.out[self.out_pos..]) {
                Ok(n) => {
                    self.out_pos += n;
                    self.conn.shared.queued_bytes.fetch_sub(n, Ordering::AcqRel);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(self.disconnect(
                        connect_fail::SEND_FAILED,
                        os_err(&e),
                        format!("sending to OpenD failed: {e}"),
                    ));
                }
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos > (1 << 20) {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        Ok(())
    }

    /// An end after the socket was up: `on_disconnect` if InitConnect had succeeded,
    /// otherwise an InitConnect failure.
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
            let desc = if self.conn.shared.options.encrypt {
                format!(
                    "{reason} during InitConnect; with encryption on this usually means OpenD's RSA key \
                     differs from ours (or OpenD has none)"
                )
            } else {
                reason
            };
            End::Init {
                code: errcode::make(errcode::INIT_FAIL, kind),
                desc,
            }
        }
    }

    /// A frame that breaks the protocol ends the connection.
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

    fn read(&mut self, mut sock: &TcpStream) -> Result<(), End> {
        for _ in 0..16 {
            match self.reader.read_from(&mut sock) {
                Ok(0) => {
                    return Err(self.disconnect(
                        connect_fail::RECV_FAILED,
                        0,
                        "OpenD closed the connection".into(),
                    ));
                }
                Ok(_) => {
                    if let Some(t) = self.conn.shared.options.silence_timeout {
                        if self.ready {
                            self.silence_deadline = Some(Instant::now() + t);
                        }
                    }
                    let mut handled = 0u32;
                    while let Some(frame) = self
                        .reader
                        .next_frame()
                        .map_err(|e| self.protocol_error(format!("protocol error: {e}")))?
                    {
                        self.handle_frame(frame)?;
                        if self.closing {
                            return Ok(());
                        }
                        handled += 1;
                        if handled % 128 == 0 {
                            // Keep OpenD busy while we work through a long batch. Each
                            // flush is a send that wakes OpenD: every 128 replies measured
                            // ~10 % more requests/s at 256 in flight than every 32, and
                            // never flushing mid-batch ~15 % fewer (OpenD went idle).
                            self.drain_commands();
                            self.flush(sock)?;
                        }
                    }
                    // Requests the callbacks just made go out while OpenD works on the
                    // rest, instead of after the whole batch.
                    self.drain_commands();
                    self.flush(sock)?;
                    if self.closing || self.reader.last_read_was_short() {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(self.disconnect(
                        connect_fail::RECV_FAILED,
                        os_err(&e),
                        format!("receiving from OpenD failed: {e}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn handle_frame(&mut self, frame: Frame) -> Result<(), End> {
        let h = frame.header;
        if h.proto_id == proto_id::INIT_CONNECT && !self.ready {
            return self.handle_init_reply(frame);
        }
        if !self.ready {
            // Nothing but InitConnect's reply is expected before it.
            return Ok(());
        }
        let plain = match &self.cipher {
            Some(c) => c.decrypt(&frame.body).map_err(|e| {
                self.protocol_error(format!(
                    "cannot decrypt the body of proto {} serial {}: {e}",
                    h.proto_id, h.serial
                ))
            })?,
            None => frame.body,
        };
        h.check_digest(self.recv_sha1.digest(&plain))
            .map_err(|e| self.protocol_error(format!("protocol error: {e}")))?;

        if proto_id::is_push(h.proto_id) {
            ftlog!(
                Level::Debug,
                TARGET,
                "push proto={} serial={} len={}",
                h.proto_id,
                h.serial,
                plain.len()
            );
            let conn = self.conn.clone();
            let events = &mut self.events;
            guard("on_push", || {
                events.on_push(&conn, h.proto_id, h.serial, &plain)
            });
            return Ok(());
        }
        match self.pending.get(&h.serial) {
            Some(p) if p.proto_id == h.proto_id => {
                let p = self.pending.remove(&h.serial).expect("present");
                ftlog!(
                    Level::Debug,
                    TARGET,
                    "recv proto={} serial={} len={} latency_us={}",
                    h.proto_id,
                    h.serial,
                    plain.len(),
                    p.sent_at.elapsed().as_micros()
                );
                if let Some(done) = p.done {
                    let reply = Reply {
                        proto_id: h.proto_id,
                        serial: h.serial,
                        kind: ReplyKind::Server,
                        body: plain,
                        reason: String::new(),
                    };
                    guard("a reply callback", || done(reply));
                }
            }
            // A reply whose proto ID does not match its request's, or for a request that
            // already timed out, or that was never made: dropped, the request stays as it is.
            _ => ftlog!(
                Level::Warn,
                TARGET,
                "dropped an unmatched reply: proto={} serial={} len={}",
                h.proto_id,
                h.serial,
                plain.len()
            ),
        }
        Ok(())
    }

    fn handle_init_reply(&mut self, frame: Frame) -> Result<(), End> {
        let h = frame.header;
        let fail = |kind: i32, desc: String| End::Init {
            code: errcode::make(errcode::INIT_FAIL, kind),
            desc,
        };
        if h.serial != self.init_serial {
            return Ok(());
        }
        let opts = &self.conn.shared.options;
        let plain = match (&opts.rsa_key, opts.encrypt) {
            (Some(key), true) => key.decrypt(&frame.body).map_err(|e| {
                fail(
                    init_fail::UNKNOWN,
                    format!("cannot decrypt InitConnect's reply: {e}"),
                )
            })?,
            _ => frame.body,
        };
        h.check_sha1(&plain)
            .map_err(|e| fail(init_fail::UNKNOWN, format!("InitConnect reply: {e}")))?;
        let rsp = pb::init_connect::Response::decode(plain.as_slice()).map_err(|e| {
            fail(
                init_fail::UNKNOWN,
                format!("cannot parse InitConnect's reply: {e}"),
            )
        })?;
        if rsp.ret_type != 0 {
            let desc = match rsp.ret_msg {
                Some(m) if !m.is_empty() => m,
                _ => format!("retType={}", rsp.ret_type),
            };
            return Err(fail(init_fail::OPEND_REJECT, desc));
        }
        let s2c = rsp
            .s2c
            .ok_or_else(|| fail(init_fail::UNKNOWN, "InitConnect's reply has no s2c".into()))?;
        if opts.encrypt {
            let cipher = BodyCipher::from_init_reply(&s2c.conn_aes_key, s2c.aes_cb_civ.as_deref())
                .map_err(|e| fail(init_fail::UNKNOWN, format!("InitConnect's reply: {e}")))?;
            self.cipher = Some(cipher);
        }
        let interval_s = s2c.keep_alive_interval.max(1);
        self.keep_alive_every = Duration::from_millis(interval_s as u64 * 800);
        let shared = &self.conn.shared;
        *shared.info.lock() = SessionInfo {
            conn_id: s2c.conn_id,
            login_user_id: s2c.login_user_id,
            server_ver: s2c.server_ver,
            keep_alive_interval_s: s2c.keep_alive_interval,
            encrypted: self.cipher.is_some(),
        };
        shared.conn_id.store(s2c.conn_id, Ordering::Release);
        {
            let _submit = shared.submit.lock();
            let st = State::from_u8(shared.state.load(Ordering::Acquire));
            if !matches!(st, State::Initializing | State::Reconnecting) {
                self.closing = true;
                return Ok(());
            }
            shared.state.store(State::Ready as u8, Ordering::Release);
        }
        ftlog!(
            Level::Info,
            TARGET,
            "connected: OpenD serverVer={} connID={} keepAliveInterval={}s encrypted={}",
            s2c.server_ver,
            s2c.conn_id,
            s2c.keep_alive_interval,
            self.cipher.is_some()
        );
        self.ready = true;
        self.init_deadline = None;
        self.next_keep_alive = Some(Instant::now() + self.keep_alive_every);
        self.silence_deadline = self
            .conn
            .shared
            .options
            .silence_timeout
            .map(|t| Instant::now() + t);
        let why = if self.reconnecting {
            format!("reconnected: connection ID {}", s2c.conn_id)
        } else {
            format!("InitConnect succeeded: connection ID {}", s2c.conn_id)
        };
        self.report_state(State::Ready, &why);
        self.signal_init(0, String::new());
        let conn = self.conn.clone();
        let events = &mut self.events;
        guard("on_init_connect", || events.on_init_connect(&conn, 0, ""));
        // Requests held during the reconnect go out now.
        self.release_held();
        Ok(())
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
                let ms = self.conn.shared.options.init_timeout.as_millis();
                return Err(End::Init {
                    code: errcode::make(errcode::INIT_FAIL, init_fail::TIMEOUT),
                    desc: format!("InitConnect got no reply within {ms} ms"),
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
                if let Some(done) = p.done {
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
                        done,
                        ReplyKind::Timeout,
                        "no reply before the request's timeout",
                    );
                }
                if self.closing {
                    return Ok(());
                }
            }
        }
        if let Some(d) = self.silence_deadline {
            if now >= d {
                let ms = self
                    .conn
                    .shared
                    .options
                    .silence_timeout
                    .unwrap_or_default()
                    .as_millis();
                return Err(End::Disconnect {
                    code: errcode::make(connect_fail::RECV_FAILED, libc::ETIMEDOUT),
                    reason: format!(
                        "OpenD sent nothing for {ms} ms (KeepAlive unanswered): connection considered dead"
                    ),
                });
            }
        }
        if let Some(t) = self.next_keep_alive {
            if self.ready && now >= t {
                self.send_keep_alive();
                self.next_keep_alive = Some(now + self.keep_alive_every);
            }
        }
        Ok(())
    }

    fn send_keep_alive(&mut self) {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let body = pb::keep_alive::Request {
            c2s: pb::keep_alive::C2s { time },
        }
        .encode_to_vec();
        let serial = self.next_serial();
        self.queue_frame(proto_id::KEEP_ALIVE, serial, &body);
        ftlog!(
            Level::Trace,
            TARGET,
            "send proto=1004 serial={serial} len={}",
            body.len()
        );
        let deadline = Instant::now() + self.conn.shared.options.request_timeout;
        self.pending.insert(
            serial,
            Pending {
                proto_id: proto_id::KEEP_ALIVE,
                deadline,
                sent_at: Instant::now(),
                done: None,
            },
        );
        self.deadlines.push(Reverse((deadline, serial)));
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
    fn end_session(&mut self, end: End) -> String {
        let reason = end.reason().to_owned();
        // Requests already on the wire, in the order they were sent.
        let mut pending: Vec<(u32, Pending)> = self.pending.drain().collect();
        pending.sort_by_key(|(serial, _)| *serial);
        self.deadlines.clear();
        for (serial, p) in pending {
            if let Some(done) = p.done {
                self.complete_now(p.proto_id, serial, done, ReplyKind::Disconnected, &reason);
            }
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

    /// Forgets the last session's socket state before a reconnect.
    fn reset_session(&mut self) {
        let unsent = self.out.len() - self.out_pos;
        self.conn
            .shared
            .queued_bytes
            .fetch_sub(unsent, Ordering::AcqRel);
        self.out.clear();
        self.out_pos = 0;
        self.reader = FrameReader::new(self.conn.shared.options.max_body_len);
        self.cipher = None;
        self.init_serial = 0;
        self.init_deadline = None;
        self.ready = false;
        self.next_keep_alive = None;
        self.silence_deadline = None;
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
                shared
                    .queued_bytes
                    .fetch_sub(body.len() + wire::HEADER_LEN, Ordering::AcqRel);
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
        shared.state.store(State::Closed as u8, Ordering::Release);
        self.report_state(State::Closed, reason);
        // Waiters wake only after the last callback has returned.
        let _done = shared.init_done.lock();
        shared.finished.store(true, Ordering::Release);
        shared.init_cv.notify_all();
    }
}
