//! The engine core: one OpenD connection, whichever door it goes through. Serial
//! numbers, the pending requests and their deadlines, exactly one outcome per request,
//! the rate limiter, auto-reconnect, the connection state, the callbacks and the
//! send-buffer limit.
//!
//! Two parts:
//! - [`core`]: the rules, as a state machine with no socket, no thread and no clock
//!   (time is an argument); unit-tested on a virtual clock;
//! - `driver`: each connection's background I/O thread, which owns the socket (through
//!   `mio`: epoll, kqueue or IOCP), the clock and the callbacks, and waits in
//!   `mio::Poll` on its socket and a waker, with a timeout set to the next timer.
//!
//! Other threads hand the I/O thread requests through a channel; sending never waits for
//! the network. Every callback runs on that I/O thread. The engine knows no door: a
//! [`Door`] builds the transport and the protocol, and the core sees packets and the
//! protocol's "ready" and "lost" events (`crate::protocol`).
//!
//! Guarantees:
//! - every request accepted by [`Connection::send_proto`] gets exactly one [`Reply`]:
//!   OpenD's, or a library-made one for a timeout or a disconnect;
//! - `on_init_connect` comes before any reply, and `connect` / `wait_init` return only after
//!   it has run; every pending request is completed before
//!   `on_disconnect`;
//! - a packet that breaks the protocol ends the connection with a reason that says why.

pub(crate) mod core;
mod driver;
pub mod errcode;
mod exit_hook;
/// Runs a callback behind a panic boundary, as the engine runs every user callback: a
/// panic is reported on stderr and contained. For bindings that wrap their own code
/// around a user callback (the C ABI, JNI, the Node addon).
pub use driver::guard as guard_callback;
pub(crate) mod oneshot;

pub use crate::door::{Door, DoorError};
pub use crate::protocol::SessionInfo;
pub use crate::protocol::ws::WebSocketKey;
pub use crate::transport::{TlsError, TlsRoots};

use crate::pb::proto_id;
use core::Request;
use crossbeam_channel::Sender;
use parking_lot::{Condvar, Mutex};
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How a connection is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// InitConnect `clientID`.
    pub client_id: String,
    /// InitConnect `clientVer` (major * 100 + minor).
    pub client_ver: i32,
    /// InitConnect `programmingLanguage`.
    pub programming_language: String,
    /// TCP connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// How long InitConnect's reply may take (default 12 s).
    pub init_timeout: Duration,
    /// Default per-request timeout (default 12 s).
    pub request_timeout: Duration,
    /// Largest body accepted from OpenD (default 64 MiB); a larger frame ends the connection.
    pub max_body_len: usize,
    /// Ends the connection when OpenD sends nothing at all (not even KeepAlive replies
    /// or WebSocket pongs) for this long (default 33 s, as the official Python client;
    /// `None` turns it off).
    pub silence_timeout: Option<Duration>,
    /// Most bytes that may wait to be sent; past it, sends fail with [`SendError::Backpressure`].
    pub max_queued_bytes: usize,
    /// Which door, with its own settings: OpenD's TCP API port (the default; encryption
    /// and its RSA key) or its WebSocket port (plain or TLS; its key and CA roots).
    pub door: Door,
    /// Reconnect after an unexpected disconnect (off by default). Requests pending at the
    /// drop still complete with -200 and are never resent.
    pub auto_reconnect: Option<Backoff>,
    /// While reconnecting, hold new requests until the connection is back (within their
    /// timeout) instead of refusing them with [`SendError::Reconnecting`].
    pub queue_while_reconnecting: bool,
    /// What the client-side rate limiter does with a request over its quota.
    pub rate_limit_mode: RateLimitMode,
    /// Quotas per proto ID; the default holds OpenD's documented one for 3222.
    pub rate_limits: HashMap<u32, Quota>,
}

impl Options {
    /// The per-request timeout, also used for InitConnect's reply; `None` restores 12 s.
    pub fn set_request_timeout(&mut self, timeout: Option<Duration>) {
        let t = timeout.unwrap_or(Options::DEFAULT_REQUEST_TIMEOUT);
        self.request_timeout = t;
        self.init_timeout = t;
    }

    /// The TCP connect timeout, the largest body accepted from OpenD and the send buffer
    /// limit; `None` restores a value's default.
    pub fn set_limits(
        &mut self,
        connect_timeout: Option<Duration>,
        max_body_len: Option<usize>,
        max_queued_bytes: Option<usize>,
    ) {
        self.connect_timeout = connect_timeout.unwrap_or(Options::DEFAULT_CONNECT_TIMEOUT);
        self.max_body_len = max_body_len.unwrap_or(crate::wire::DEFAULT_MAX_BODY_LEN);
        self.max_queued_bytes = max_queued_bytes.unwrap_or(Options::DEFAULT_MAX_QUEUED_BYTES);
    }

    /// Turns auto-reconnect on (bounds `None` keep [`Backoff::default`]) or off.
    pub fn set_auto_reconnect(
        &mut self,
        enable: bool,
        initial: Option<Duration>,
        max: Option<Duration>,
        queue: bool,
    ) {
        let d = Backoff::default();
        let backoff = Backoff {
            initial: initial.unwrap_or(d.initial),
            max: max.unwrap_or(d.max),
        };
        self.auto_reconnect = enable.then_some(backoff);
        self.queue_while_reconnecting = queue;
    }

    const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(12);
    const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    const DEFAULT_MAX_QUEUED_BYTES: usize = 64 << 20;
}

/// Exponential backoff with jitter between reconnect attempts: attempt n waits a random
/// time in [d/2, d] with d = min(initial * 2^(n-1), max).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait before attempt `n` (1-based), with `jitter` in 0..1000 (thousandths of
    /// the upper half).
    pub fn delay(&self, attempt: u32, jitter: u32) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let d = exp.min(self.max).max(Duration::from_millis(1));
        d / 2 + (d / 2) * jitter.min(999) / 1000
    }
}

/// How the client-side rate limiter treats a request over its proto's quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum RateLimitMode {
    /// No client-side limiting; OpenD's own limit still applies.
    Off = 0,
    /// The request completes at once with [`ReplyKind::RateLimited`]; nothing is sent.
    FailFast = 1,
    /// The request waits for a free slot, within its timeout.
    Wait = 2,
}

impl RateLimitMode {
    pub fn from_i32(v: i32) -> Option<RateLimitMode> {
        match v {
            0 => Some(RateLimitMode::Off),
            1 => Some(RateLimitMode::FailFast),
            2 => Some(RateLimitMode::Wait),
            _ => None,
        }
    }

    /// The default: `FTAPI_RATE_LIMIT=off|fail-fast|wait` if set, else fail-fast.
    pub fn from_env() -> RateLimitMode {
        RateLimitMode::from_env_or(RateLimitMode::FailFast)
    }

    /// `FTAPI_RATE_LIMIT` if it is set, else `default` (the official channel's default is
    /// off, as the official library has no client-side limiter). The one place that reads
    /// the variable.
    pub fn from_env_or(default: RateLimitMode) -> RateLimitMode {
        match std::env::var_os("FTAPI_RATE_LIMIT") {
            None => default,
            Some(v) => RateLimitMode::parse(v.to_str()),
        }
    }

    /// `off` / `wait` / anything else (fail-fast).
    pub fn parse(v: Option<&str>) -> RateLimitMode {
        match v.map(str::trim) {
            Some("off") => RateLimitMode::Off,
            Some("wait") => RateLimitMode::Wait,
            _ => RateLimitMode::FailFast,
        }
    }
}

/// At most `max` requests per sliding `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub max: u32,
    pub window: Duration,
}

/// OpenD's documented quotas (Get Groups From Watchlist: 10 per 30 s).
pub fn default_rate_limits() -> HashMap<u32, Quota> {
    HashMap::from([(
        proto_id::QOT_GET_USER_SECURITY_GROUP,
        Quota {
            max: 10,
            window: Duration::from_secs(30),
        },
    )])
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client_id: "ftapi".into(),
            client_ver: 100,
            programming_language: "Rust".into(),
            connect_timeout: Options::DEFAULT_CONNECT_TIMEOUT,
            init_timeout: Options::DEFAULT_REQUEST_TIMEOUT,
            request_timeout: Options::DEFAULT_REQUEST_TIMEOUT,
            max_body_len: crate::wire::DEFAULT_MAX_BODY_LEN,
            silence_timeout: Some(Duration::from_secs(33)),
            max_queued_bytes: Options::DEFAULT_MAX_QUEUED_BYTES,
            door: Door::default(),
            auto_reconnect: None,
            queue_while_reconnecting: false,
            rate_limit_mode: RateLimitMode::from_env(),
            rate_limits: default_rate_limits(),
        }
    }
}

/// Where a reply came from. The values are the official `FTAPI_ReqReplyType` / `RetType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ReplyKind {
    /// OpenD answered; `body` is its plaintext `Response`.
    Server = 0,
    /// No answer within the request's timeout.
    Timeout = -100,
    /// The connection ended (by OpenD, the network or our own close) first.
    Disconnected = -200,
    /// Refused by the client-side rate limiter; nothing was sent. The reason says when
    /// the next slot frees.
    RateLimited = -300,
}

/// The one outcome of a request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub proto_id: u32,
    pub serial: u32,
    pub kind: ReplyKind,
    /// OpenD's plaintext body for [`ReplyKind::Server`]; empty otherwise.
    pub body: Vec<u8>,
    /// Why a library-made reply was made ("" for server replies).
    pub reason: String,
}

/// Connection-level events, called on the I/O thread. Calls never overlap.
#[allow(unused_variables)]
pub trait Events: Send + 'static {
    /// InitConnect finished: `err_code` 0 and `desc` "" on success, otherwise the official
    /// error code (see [`errcode`]) and a description.
    fn on_init_connect(&mut self, conn: &Connection, err_code: i64, desc: &str) {}
    /// A connection that had been initialised ended. Every pending request has had its
    /// outcome by now. `err_code` is 0 after [`Connection::close`].
    fn on_disconnect(&mut self, conn: &Connection, err_code: i64, reason: &str) {}
    /// A push (e.g. Notify, 1003); `body` is the plaintext `Response`.
    fn on_push(&mut self, conn: &Connection, proto_id: u32, serial: u32, body: &[u8]) {}
    /// The connection's state changed; `reason` says why.
    fn on_state_change(&mut self, conn: &Connection, state: State, reason: &str) {}
}

/// A request's completion, called once on the I/O thread.
pub type Completion = Box<dyn FnOnce(Reply) + Send>;

/// Why a request was not sent. No outcome follows for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// InitConnect has not succeeded yet.
    NotReady,
    /// The connection is closed or ended.
    Closed,
    /// The connection dropped and is being re-established (auto-reconnect).
    Reconnecting,
    /// Too many bytes wait to be sent (OpenD is not reading).
    Backpressure { queued: usize, limit: usize },
    /// The request itself is wrong.
    InvalidArgument(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotReady => write!(
                f,
                "the connection is not ready (InitConnect has not succeeded)"
            ),
            SendError::Closed => write!(f, "the connection is closed"),
            SendError::Reconnecting => write!(f, "the connection dropped and is reconnecting"),
            SendError::Backpressure { queued, limit } => write!(
                f,
                "send buffer full: {queued} bytes wait to be sent (limit {limit}); OpenD is not reading"
            ),
            SendError::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
        }
    }
}

impl std::error::Error for SendError {}

/// Why [`Connection::connect`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// Bad host, port or options; nothing was attempted.
    InvalidArgument(String),
    /// Encryption was asked for but no RSA private key is set; nothing was attempted.
    NoRsaKey,
    /// The object already has a live connection (see [`crate::qot::QotSlot`]).
    AlreadyConnected,
    /// TCP connect or InitConnect failed: the official error code and its description.
    Init { err_code: i64, desc: String },
    /// A blocking call was made on an I/O thread (from inside a callback), where it would
    /// deadlock.
    InCallback,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            ConnectError::NoRsaKey => {
                write!(f, "encryption requested but no RSA private key is set")
            }
            ConnectError::AlreadyConnected => {
                write!(f, "a connection is already active on this object")
            }
            ConnectError::Init { err_code, desc } => {
                write!(f, "connect failed ({err_code}): {desc}")
            }
            ConnectError::InCallback => write!(f, "blocking call made from inside a callback"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Life of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Resolving and connecting (TCP, and TLS and WebSocket handshakes).
    Connecting = 0,
    /// The handshake (InitConnect or the WebSocket login) sent, reply awaited.
    Initializing = 1,
    /// Requests may be sent.
    Ready = 2,
    /// Close requested; outcomes are being delivered.
    Closing = 3,
    /// Ended; every outcome has been delivered.
    Closed = 4,
    /// Dropped; waiting to reconnect, or reconnecting (auto-reconnect).
    Reconnecting = 5,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Initializing => "initializing",
            State::Ready => "ready",
            State::Closing => "closing",
            State::Closed => "closed",
            State::Reconnecting => "reconnecting",
        }
    }

    fn from_u8(v: u8) -> State {
        match v {
            0 => State::Connecting,
            1 => State::Initializing,
            2 => State::Ready,
            3 => State::Closing,
            5 => State::Reconnecting,
            _ => State::Closed,
        }
    }
}

thread_local! {
    /// On an I/O thread: the address of its connection's `Shared` (0 elsewhere). A plain
    /// const-initialised cell: asking "am I this connection's I/O thread?" from a C
    /// program's own thread must not allocate (`std::thread::current()` would, once per
    /// thread, and valgrind reports that block as "possibly lost" at exit).
    static IO_THREAD_OF: Cell<usize> = const { Cell::new(0) };
}

/// Whether the current thread is an ftapi I/O thread (where blocking calls would deadlock).
pub fn on_io_thread() -> bool {
    IO_THREAD_OF.with(|c| c.get() != 0)
}

pub(crate) enum Cmd {
    Request(Request),
    Close,
}

struct Submit {
    next_serial: u32,
}

struct Shared {
    state: AtomicU8,
    /// Held while a serial is taken and its request queued, so serials reach the wire in
    /// increasing order; also orders sends against the I/O thread's final drain.
    submit: Mutex<Submit>,
    tx: Sender<Cmd>,
    waker: Arc<mio::Waker>,
    /// Set while a wake-up is on its way, so a burst of sends costs one.
    wake_pending: AtomicBool,
    /// Request body bytes queued in the channel.
    queued_bytes: AtomicUsize,
    /// Bytes the transport has not written yet (set by the I/O thread).
    unsent_bytes: AtomicUsize,
    conn_id: AtomicU64,
    info: Mutex<SessionInfo>,
    /// The init outcome, for [`Connection::connect`] to wait on.
    init_done: Mutex<Option<(i64, String)>>,
    init_cv: Condvar,
    /// Set (under `init_done`) once the I/O thread's last callback, the `Closed` state
    /// change, has returned; [`Connection::wait_closed`] waits for it.
    finished: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
    options: Options,
}

impl Shared {
    /// Wakes the I/O thread (once for a burst: it clears the flag before it drains).
    fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = self.waker.wake();
        }
    }
}

/// A handle to one OpenD connection. Clones share the connection; it ends on
/// [`close`](Connection::close), on error, or when OpenD goes away (not when handles
/// are dropped: see [`crate::Qot`] for an owning wrapper).
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("conn_id", &self.conn_id())
            .field("state", &self.state())
            .finish()
    }
}

impl Connection {
    /// Starts connecting in the background; the outcome arrives in
    /// [`Events::on_init_connect`]. Fails only for bad arguments.
    pub fn start(
        host: &str,
        port: u16,
        options: Options,
        events: impl Events,
    ) -> Result<Connection, ConnectError> {
        check_start(host, port, &options)?;
        reap_orphans();
        let (tx, rx) = crossbeam_channel::unbounded();
        let no_loop = |e: std::io::Error| {
            ConnectError::InvalidArgument(format!("cannot create the event loop: {e}"))
        };
        let poll = mio::Poll::new().map_err(no_loop)?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), driver::WAKER).map_err(no_loop)?);
        let shared = Arc::new(Shared {
            state: AtomicU8::new(State::Connecting as u8),
            submit: Mutex::new(Submit { next_serial: 1 }),
            tx,
            waker,
            wake_pending: AtomicBool::new(false),
            queued_bytes: AtomicUsize::new(0),
            unsent_bytes: AtomicUsize::new(0),
            conn_id: AtomicU64::new(0),
            info: Mutex::new(SessionInfo::default()),
            init_done: Mutex::new(None),
            init_cv: Condvar::new(),
            finished: AtomicBool::new(false),
            thread: Mutex::new(None),
            options,
        });
        let conn = Connection { shared };
        let io_conn = conn.clone();
        let host = host.to_owned();
        let events: Box<dyn Events> = Box::new(events);
        let handle = thread::Builder::new()
            .name("ftapi-io".into())
            .spawn(move || {
                // Before any callback can run: a callback that closes its own connection
                // must be recognised as running on this thread (no self-join).
                IO_THREAD_OF.with(|c| c.set(io_conn.shared_addr()));
                driver::run(io_conn, rx, events, poll, host, port);
            })
            .map_err(|e| {
                ConnectError::InvalidArgument(format!("cannot start the I/O thread: {e}"))
            })?;
        *conn.shared.thread.lock() = Some(handle);
        {
            let mut live = LIVE.lock();
            live.retain(|w| {
                w.upgrade()
                    .is_some_and(|s| !s.finished.load(Ordering::Acquire))
            });
            live.push(Arc::downgrade(&conn.shared));
        }
        Ok(conn)
    }

    /// Connects and waits until InitConnect has succeeded or failed.
    pub fn connect(
        host: &str,
        port: u16,
        options: Options,
        events: impl Events,
    ) -> Result<Connection, ConnectError> {
        if on_io_thread() {
            return Err(ConnectError::InCallback);
        }
        let conn = Connection::start(host, port, options, events)?;
        // The I/O thread always reports an init outcome (success, failure or timeout).
        let (err_code, desc) = loop {
            if let Some(done) = conn.wait_init(Duration::from_secs(3600)) {
                break done;
            }
        };
        if err_code == 0 {
            Ok(conn)
        } else {
            conn.close();
            Err(ConnectError::Init { err_code, desc })
        }
    }

    /// Sends a request. `body` is the plaintext serialized `Request`; `done` gets its one
    /// outcome on the I/O thread. Returns the serial number (never 0).
    pub fn send_proto(
        &self,
        proto_id: u32,
        body: Vec<u8>,
        timeout: Option<Duration>,
        done: Completion,
    ) -> Result<u32, SendError> {
        if proto_id == proto_id::INIT_CONNECT {
            return Err(SendError::InvalidArgument(
                "InitConnect is sent by the library".into(),
            ));
        }
        let s = &self.shared;
        let limit = s.options.max_queued_bytes;
        let size = body.len();
        let mut submit = s.submit.lock();
        let queued =
            s.queued_bytes.load(Ordering::Acquire) + s.unsent_bytes.load(Ordering::Acquire);
        core::admit(
            self.state(),
            s.options.queue_while_reconnecting,
            queued,
            size,
            limit,
        )?;
        let serial = take_serial(&mut submit);
        s.queued_bytes.fetch_add(size, Ordering::AcqRel);
        let timeout = timeout.unwrap_or(s.options.request_timeout);
        // The receiver lives as long as `shared` (the I/O thread drains it before it ends).
        let _ = s.tx.send(Cmd::Request(Request {
            proto_id,
            serial,
            body,
            timeout,
            done,
        }));
        drop(submit);
        // From a callback the I/O thread drains the channel before it sleeps again.
        if !self.is_current_io_thread() {
            s.wake();
        }
        Ok(serial)
    }

    /// As [`send_proto`](Connection::send_proto) with a borrowed body, copied only when it
    /// could fit: a body larger than the send buffer could ever hold is refused with
    /// [`SendError::Backpressure`] before a byte is copied (the C ABI and the official
    /// channel pass their callers' bytes this way).
    pub fn send_proto_slice(
        &self,
        proto_id: u32,
        body: &[u8],
        timeout: Option<Duration>,
        done: Completion,
    ) -> Result<u32, SendError> {
        let s = &self.shared;
        let limit = s.options.max_queued_bytes;
        if body.len() > limit {
            let queued =
                s.queued_bytes.load(Ordering::Acquire) + s.unsent_bytes.load(Ordering::Acquire);
            return Err(SendError::Backpressure { queued, limit });
        }
        self.send_proto(proto_id, body.to_vec(), timeout, done)
    }

    /// Ends the connection. Pending requests complete with [`ReplyKind::Disconnected`],
    /// then `on_disconnect` runs (err_code 0). Idempotent. From any other thread this
    /// waits until all of that has happened; from inside a callback it returns at once
    /// and the rest follows when the callback returns.
    pub fn close(&self) {
        let s = &self.shared;
        {
            let _submit = s.submit.lock();
            let st = self.state();
            if st != State::Closing && st != State::Closed {
                s.state.store(State::Closing as u8, Ordering::Release);
                let _ = s.tx.send(Cmd::Close);
            }
        }
        s.wake();
        let handle = s.thread.lock().take();
        if self.is_current_io_thread() {
            // A thread cannot join itself: someone else does, later (see `adopt_orphan`).
            if let Some(h) = handle {
                adopt_orphan(h);
            }
            return;
        }
        match handle {
            Some(h) => {
                let _ = h.join();
            }
            // Another close took the handle (maybe from a callback): wait for the end
            // all the same, so that this returns after every outcome.
            None => {
                self.wait_closed(Duration::from_secs(u32::MAX.into()));
            }
        }
    }

    /// Waits until InitConnect has succeeded or failed and returns its `(err_code, desc)`
    /// (0 and "" on success); `None` if it is still running after `timeout`. Returns at
    /// once (with the outcome so far) when called from an I/O thread.
    pub fn wait_init(&self, timeout: Duration) -> Option<(i64, String)> {
        let deadline = std::time::Instant::now() + timeout;
        let mut done = self.shared.init_done.lock();
        while done.is_none() && !on_io_thread() {
            if self
                .shared
                .init_cv
                .wait_until(&mut done, deadline)
                .timed_out()
            {
                break;
            }
        }
        done.clone()
    }

    /// Whether the caller is this connection's own I/O thread.
    pub fn is_current_io_thread(&self) -> bool {
        IO_THREAD_OF.with(|c| c.get()) == self.shared_addr()
    }

    fn shared_addr(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// The connection ID OpenD gave in InitConnect; 0 before that.
    pub fn conn_id(&self) -> u64 {
        self.shared.conn_id.load(Ordering::Acquire)
    }

    /// What InitConnect's reply said (zeros before it).
    pub fn session_info(&self) -> SessionInfo {
        self.shared.info.lock().clone()
    }

    /// The connection's state. Seen from outside its I/O thread, `Closed` means the last
    /// callback has returned (until then it reads `Closing`), so a caller that polls for
    /// `Closed` has every outcome and state change in hand.
    pub fn state(&self) -> State {
        let st = State::from_u8(self.shared.state.load(Ordering::Acquire));
        if st == State::Closed
            && !self.shared.finished.load(Ordering::Acquire)
            && !self.is_current_io_thread()
        {
            return State::Closing;
        }
        st
    }

    pub fn options(&self) -> &Options {
        &self.shared.options
    }

    /// Waits until the connection is over for good: every outcome delivered and the last
    /// callback (the `Closed` state change) returned. False on timeout. Never waits when
    /// called from an I/O thread (it only reports whether that point has passed).
    pub fn wait_closed(&self, timeout: Duration) -> bool {
        let finished = || self.shared.finished.load(Ordering::Acquire);
        if on_io_thread() {
            return finished();
        }
        let deadline = std::time::Instant::now() + timeout;
        let mut done = self.shared.init_done.lock();
        while !finished() {
            if self
                .shared
                .init_cv
                .wait_until(&mut done, deadline)
                .timed_out()
            {
                return finished();
            }
        }
        true
    }
}

/// The arguments of a connect, checked before anything is attempted.
pub(crate) fn check_start(host: &str, port: u16, options: &Options) -> Result<(), ConnectError> {
    if host.is_empty() {
        return Err(ConnectError::InvalidArgument("empty host".into()));
    }
    if port == 0 {
        return Err(ConnectError::InvalidArgument("port 0".into()));
    }
    options.door.check().map_err(|e| match e {
        DoorError::NoRsaKey => ConnectError::NoRsaKey,
    })
}

/// I/O threads whose connection was closed (or freed) from one of its own callbacks, where
/// nothing can join them. They are joined later: by the next connection's start, and at
/// exit (waiting at most 2 s for each to end), so that a program that frees a connection
/// inside a callback and then returns from `main` leaves no thread running, whose memory
/// valgrind would report as possibly lost.
static ORPHANS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// The connections started in this process (pruned of finished ones at each start), for
/// [`close_all`].
static LIVE: Mutex<Vec<std::sync::Weak<Shared>>> = Mutex::new(Vec::new());

/// The library's exit policy, the same for every language: closes every connection of the
/// process that is still open, as [`Connection::close`] does (each pending request gets its
/// -200 outcome, then `on_disconnect` runs), and returns once all of them have finished
/// (from inside a callback, its own connection finishes after the callback returns). A
/// binding calls it when its runtime shuts down, while the runtime can still run callbacks:
/// Python's `atexit`, .NET's `ProcessExit`, a JVM shutdown hook; C and C++ programs may
/// call `ftapi_close_all` before they return from `main`. A program that exits without it
/// gets no further callbacks: the I/O threads end with the process. Connections started
/// meanwhile are not affected.
pub fn close_all() {
    let live: Vec<Arc<Shared>> = LIVE.lock().iter().filter_map(|w| w.upgrade()).collect();
    for shared in live {
        Connection { shared }.close();
    }
}

fn adopt_orphan(h: JoinHandle<()>) {
    exit_hook::install();
    ORPHANS.lock().push(h);
}

/// Joins the orphaned I/O threads that have ended.
fn reap_orphans() {
    let done: Vec<JoinHandle<()>> = {
        let mut o = ORPHANS.lock();
        let (done, live): (Vec<_>, Vec<_>) = o.drain(..).partition(|h| h.is_finished());
        *o = live;
        done
    };
    for h in done {
        let _ = h.join();
    }
}

fn take_serial(submit: &mut Submit) -> u32 {
    let serial = submit.next_serial;
    submit.next_serial = submit.next_serial.wrapping_add(1).max(1);
    serial
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_bound_with_jitter_in_the_upper_half() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
        };
        assert_eq!(b.delay(1, 0), Duration::from_millis(50));
        assert_eq!(b.delay(1, 999), Duration::from_micros(99_950));
        for j in (0..1000).step_by(37) {
            let d1 = b.delay(1, j);
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = b.delay(3, j);
            assert!(
                d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400),
                "{d3:?}"
            );
            let d30 = b.delay(30, j);
            assert!(
                d30 >= Duration::from_millis(500) && d30 <= Duration::from_millis(1000),
                "{d30:?}"
            );
        }
    }

    #[test]
    fn zero_means_default_for_timeouts_limits_and_reconnect_bounds() {
        let mut o = Options::default();
        o.set_request_timeout(Some(Duration::from_millis(300)));
        assert_eq!(
            (o.request_timeout, o.init_timeout),
            (Duration::from_millis(300), Duration::from_millis(300))
        );
        o.set_request_timeout(None);
        assert_eq!(o.request_timeout, Duration::from_secs(12));
        o.set_limits(Some(Duration::from_secs(1)), Some(10), None);
        assert_eq!(
            (o.connect_timeout, o.max_body_len, o.max_queued_bytes),
            (Duration::from_secs(1), 10, 64 << 20)
        );
        o.set_auto_reconnect(true, None, Some(Duration::from_secs(5)), true);
        assert_eq!(
            o.auto_reconnect,
            Some(Backoff {
                initial: Duration::from_millis(500),
                max: Duration::from_secs(5)
            })
        );
        assert!(o.queue_while_reconnecting);
        o.set_auto_reconnect(false, None, None, false);
        assert_eq!(o.auto_reconnect, None);
    }
}
