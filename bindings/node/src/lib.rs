//! The Node-API addon behind the `opend` npm package. It translates the Rust API: one
//! [`QotSlot`] per JavaScript connection object (a second `start()` replaces the first, as
//! in the official JavaScript SDK), and it owns what waits on it: each request's promise,
//! the promises of `ready()`, the login state they are settled from, and which connection
//! is the current one. The JavaScript layer (`bindings/node/lib`) shapes arguments and
//! values (`FtError`, the Response) and calls the user's callbacks; it keeps no state.
//!
//! Threads and lifetimes:
//! - the library's I/O thread never waits for JavaScript: every hand-over is a
//!   non-blocking call into a connection's unbounded thread-safe function queue, so a
//!   connection's events and its requests' outcomes reach the JavaScript thread in the
//!   library's order (every outcome before the disconnect that caused it);
//! - each request's promise is created here (`napi_create_promise`); its deferred travels
//!   with the request's completion, which the library calls exactly once, and is settled on
//!   the JavaScript thread. A request refused before it is sent is settled at once. A
//!   completion dropped without being called (a panic) rejects the promise instead, so
//!   every promise is settled exactly once;
//! - one thread-safe function per connection, held (strongly) only by that connection's
//!   event sink, which the engine drops when the connection is over, and by the
//!   completions of its requests still pending. The native object keeps only a weak
//!   reference, so a connection keeps the event loop alive exactly while it is live
//!   (connecting, logged in, reconnecting); once it has ended (stop(), a refused login,
//!   a drop without auto-reconnect) the function is released after its queue has been
//!   delivered and the process may exit by itself;
//! - every connection gets a generation number; its callback drops its events once a later
//!   `start()` has taken over (the outcomes of its requests are still delivered);
//! - the log sink is process-wide and never keeps the event loop alive;
//! - no panic leaves the addon: every export runs in [`js::sync`] (a panic is thrown as an
//!   `Error` with code `EPANIC`) or settles its promise with that `Error`, and every
//!   callback runs in [`js::contain`] (see `js.rs`).

mod js;

use js::{Deferred, JsRef, JsResult, Value, val};
use napi::bindgen_prelude::{Buffer, Function, ObjectFinalize, Unknown};
use napi::threadsafe_function::{
    ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsValue, Status};
use napi_derive::napi;
use opend::log::Level;
use opend::pb::{notify, proto_id};
use opend::qot::{GetUserSecurityGroup, Outcome};
use opend::{
    Connection, Door, Events, GroupsReply, Options, Qot, QotError, QotSlot, Reply, ReplyKind,
    SecondConnect, SendError, State,
};
use prost::Message;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Locks, ignoring poisoning (nothing here can leave the data half-changed).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the I/O thread hands to the JavaScript thread (plain Rust data; made into
/// JavaScript values there).
enum Ev {
    Init {
        code: i64,
        desc: String,
        conn_id: u64,
    },
    Disconnect {
        code: i64,
        reason: String,
    },
    State {
        state: State,
        reason: String,
    },
    Push {
        proto: u32,
        body: Vec<u8>,
    },
    /// A request's one outcome, for the promise in `cell`.
    Outcome {
        cell: PromiseCell,
        out: Out,
    },
}

/// A request's outcome.
enum Out {
    Groups(GroupsOutcome),
    Raw(Reply),
    /// The completion was dropped without being called (a panic on its way).
    Lost,
}

/// A Get Groups From Watchlist outcome with field presence kept, so that the JavaScript
/// side can read absent fields as protobuf defaults and still print what the official
/// client prints.
struct GroupsOutcome {
    ret_type: i32,
    ret_msg: Option<String>,
    err_code: Option<i32>,
    s2c: Option<Vec<(String, i32)>>,
}

/// Built once from the library's typed reply, which keeps the fields' presence.
impl Outcome<GetUserSecurityGroup> for GroupsOutcome {
    fn from_reply(reply: Reply) -> GroupsOutcome {
        test_panic::at("outcome");
        let r = GroupsReply::from_reply(reply);
        GroupsOutcome {
            ret_type: r.ret_type,
            ret_msg: r.ret_msg,
            err_code: r.err_code,
            s2c: r.has_s2c.then(|| {
                r.groups
                    .into_iter()
                    .map(|g| (g.name, g.group_type))
                    .collect()
            }),
        }
    }
}

/// A decoded Notify (1003) push, fields present as OpenD sent them.
#[napi(object)]
pub struct NotifyObj {
    pub ret_type: i32,
    pub ret_msg: Option<String>,
    pub err_code: Option<i32>,
    /// napi would spell it `hasS2C`; lib/ftapi.js reads this name.
    #[napi(js_name = "hasS2c")]
    pub has_s2c: bool,
    pub r#type: Option<i32>,
    pub event_type: Option<i32>,
    pub event_desc: Option<String>,
    pub qot_logined: Option<bool>,
    pub trd_logined: Option<bool>,
}

fn notify_obj(body: &[u8]) -> Option<NotifyObj> {
    let r = notify::Response::decode(body).ok()?;
    let s = r.s2c.as_ref();
    let ev = s.and_then(|s| s.event.as_ref());
    let cs = s.and_then(|s| s.connect_status.as_ref());
    Some(NotifyObj {
        ret_type: r.ret_type,
        ret_msg: r.ret_msg.clone(),
        err_code: r.err_code,
        has_s2c: s.is_some(),
        r#type: s.map(|s| s.r#type),
        event_type: ev.map(|e| e.event_type),
        event_desc: ev.map(|e| e.desc.clone()),
        qot_logined: cs.map(|c| c.qot_logined),
        trd_logined: cs.map(|c| c.trd_logined),
    })
}

/// The groups in one string, `<type>:<name length in UTF-16 units>:<name>` each, so that
/// JavaScript makes them with a few string operations instead of a native call per field.
fn encode_groups(groups: &[(String, i32)]) -> String {
    let mut out = String::with_capacity(groups.iter().map(|(n, _)| n.len() + 8).sum());
    for (name, t) in groups {
        use std::fmt::Write;
        let _ = write!(out, "{t}:{}:", name.encode_utf16().count());
        out.push_str(name);
    }
    out
}

/// A connection's thread-safe function. Its JavaScript function does nothing
/// ([`js::noop`]); its callback ([`Dispatch`]) does the work on the JavaScript thread.
type Tsfn = ThreadsafeFunction<Ev, Unknown<'static>, (), Status, false, false, 0>;

/// Hands `ev` to the JavaScript thread without waiting. Fails only when the environment
/// is going away (then nobody is left to tell).
fn post(tsfn: &Tsfn, ev: Ev) {
    let _ = tsfn.call(ev, ThreadsafeFunctionCallMode::NonBlocking);
}

/// The engine's events for one connection, posted to the JavaScript thread. Owns the
/// connection's thread-safe function: the engine drops this when the connection has ended.
struct JsEvents {
    tsfn: Arc<Tsfn>,
}

impl Events for JsEvents {
    fn on_init_connect(&mut self, conn: &Connection, err_code: i64, desc: &str) {
        js::contain("events.on_init_connect", || {
            post(
                &self.tsfn,
                Ev::Init {
                    code: err_code,
                    desc: desc.to_owned(),
                    conn_id: conn.conn_id(),
                },
            )
        });
    }

    fn on_disconnect(&mut self, _conn: &Connection, err_code: i64, reason: &str) {
        js::contain("events.on_disconnect", || {
            post(
                &self.tsfn,
                Ev::Disconnect {
                    code: err_code,
                    reason: reason.to_owned(),
                },
            )
        });
    }

    fn on_push(&mut self, _conn: &Connection, proto_id: u32, _serial: u32, body: &[u8]) {
        js::contain("events.on_push", || {
            post(
                &self.tsfn,
                Ev::Push {
                    proto: proto_id,
                    body: body.to_vec(),
                },
            )
        });
    }

    fn on_state_change(&mut self, _conn: &Connection, state: State, reason: &str) {
        js::contain("events.on_state_change", || {
            post(
                &self.tsfn,
                Ev::State {
                    state,
                    reason: reason.to_owned(),
                },
            )
        });
    }
}

/// A request's promise on its way: the export that sent the request and the request's
/// completion share it, and whichever settles the promise takes the deferred out, on the
/// JavaScript thread. The other finds it empty.
type PromiseCell = Arc<Mutex<Option<Deferred>>>;

/// A request's completion: posts the outcome with the promise's cell. Dropped without
/// [`Settle::finish`] (the library refused the request and dropped its completion, or a
/// panic unwound through it), it posts [`Out::Lost`]: the promise is rejected then, unless
/// the export has already settled it (a refused send).
struct Settle {
    cell: Option<PromiseCell>,
    tsfn: Arc<Tsfn>,
}

impl Settle {
    fn finish(mut self, out: Out) {
        js::contain("a request's completion", move || {
            if let Some(cell) = self.cell.take() {
                post(&self.tsfn, Ev::Outcome { cell, out });
            }
        });
    }
}

impl Drop for Settle {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            post(
                &self.tsfn,
                Ev::Outcome {
                    cell,
                    out: Out::Lost,
                },
            );
        }
    }
}

/// Why a request was not sent (no outcome follows): retType (-200 when there is no
/// usable connection: not logged in yet, stopped, reconnecting; -1 otherwise: a bad
/// argument, the send buffer full) and a stable code.
fn send_fail(e: &QotError) -> (i32, &'static str) {
    match e {
        QotError::Send(SendError::NotReady) => (-200, "ENOTREADY"),
        QotError::Send(SendError::Closed) => (-200, "ECLOSED"),
        QotError::Send(SendError::Reconnecting) => (-200, "ERECONNECTING"),
        QotError::Send(SendError::Backpressure { .. }) => (-1, "EBACKPRESSURE"),
        _ => (-1, "EINVAL"),
    }
}

fn ms(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v.min(u64::MAX as f64) as u64
    } else {
        0
    }
}

/// A request's timeout from JavaScript: 0 (or nothing sensible) means the connection's.
fn request_timeout(timeout_ms: f64) -> Option<std::time::Duration> {
    let ms = ms(timeout_ms);
    (ms != 0).then(|| std::time::Duration::from_millis(ms))
}

fn js_err(e: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(Status::InvalidArg, e.to_string())
}

// --- The JavaScript thread's side of one connection object ------------------------------

/// What `shape(kind, ...)` of lib/ftapi.js makes (see there).
mod shape {
    /// `(message, retType, retMsg, errCode, code)`: an FtError.
    pub const ERROR: u32 = 0;
    /// `(errCode, desc, connID)`: the login's info `{connID}`, or its FtError (ELOGIN).
    pub const LOGIN: u32 = 1;
    /// `(retType, retMsg, errCode, groups)`: the Response, or the FtError carrying it.
    pub const GROUPS: u32 = 5;
    /// `(retType, reason)`: a request's library-made failure (timeout, disconnect, ...).
    pub const FAILED: u32 = 6;
}

/// What the JavaScript layer's callback for a connection (`_emit(kind, a, b)`) gets.
mod emit {
    /// `(ok, info | FtError)`: onlogin.
    pub const LOGIN: u32 = 1;
    /// `(errCode, reason)`: ondisconnect.
    pub const DISCONNECT: u32 = 2;
    /// `(state, reason)`: onstate (states as `FTAPI_STATE_*`).
    pub const STATE: u32 = 3;
    /// `(proto, Notify object | Buffer)`: onPush.
    pub const PUSH: u32 = 4;
}

/// The state of one connection object that lives on the JavaScript thread (not `Send`:
/// the native object and its connections' thread-safe function callbacks share it there).
/// The login state is kept from the events as they are delivered, in their order, so
/// that `ready()` and `onlogin` never disagree.
struct Side {
    /// lib/ftapi.js's `shape(kind, ...)`, which makes the values promises settle with.
    shape: JsRef,
    /// The current connection's generation; events of earlier ones are dropped.
    generation: u64,
    /// Started and not ended (connecting, logged in, reconnecting).
    live: bool,
    logged_in: bool,
    /// The last login's `{connID}`: what `ready()` resolves with while logged in.
    info: Option<JsRef>,
    /// Why the connection is not live: what `ready()` rejects with.
    error: Option<JsRef>,
    /// The promises of `ready()` calls waiting for the login's outcome.
    waiters: Vec<Deferred>,
    /// Requests whose promise is not settled yet.
    pending: u32,
}

type SideRef = Rc<RefCell<Side>>;

/// Calls `shape(kind, ...args)`. The borrow of `side` ends before JavaScript runs.
fn shape(env: &Env, side: &RefCell<Side>, kind: u32, args: &[Value]) -> JsResult<Value> {
    let f = side
        .borrow()
        .shape
        .get()
        .map_err(|e| js::napi_value_of(env, e))?;
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(val(env, kind)?);
    all.extend_from_slice(args);
    js::call(env, f, &all)
}

/// An FtError made by `shape`.
fn ft_error(
    env: &Env,
    side: &RefCell<Side>,
    message: &str,
    ret_type: i32,
    ret_msg: &str,
    code: &str,
) -> JsResult<Value> {
    let args = [
        val(env, message)?,
        val(env, ret_type)?,
        val(env, ret_msg)?,
        val(env, 0)?,
        val(env, code)?,
    ];
    shape(env, side, shape::ERROR, &args)
}

/// Takes a request's deferred out of its cell (once), counting it settled.
fn take_request(side: &RefCell<Side>, cell: &PromiseCell) -> Option<Deferred> {
    let d = lock(cell).take();
    if d.is_some() {
        let mut s = side.borrow_mut();
        s.pending = s.pending.saturating_sub(1);
    }
    d
}

fn take_waiters(side: &RefCell<Side>) -> Vec<Deferred> {
    std::mem::take(&mut side.borrow_mut().waiters)
}

/// Calls a connection's `emit(kind, a, b)`.
fn emit_to(env: &Env, emit: &JsRef, kind: u32, a: Value, b: Value) -> JsResult<()> {
    let f = emit.get().map_err(|e| js::napi_value_of(env, e))?;
    js::call(env, f, &[val(env, kind)?, a, b]).map(drop)
}

/// A connection's thread-safe function callback, on the JavaScript thread.
struct Dispatch {
    side: SideRef,
    /// The connection's generation.
    generation: u64,
    /// The JavaScript layer's `(kind, a, b) => this._emit(kind, a, b)` for this connection.
    emit: Rc<JsRef>,
}

impl Dispatch {
    fn run(&self, env: &Env, ev: Ev) {
        match ev {
            Ev::Outcome { cell, out } => self.outcome(env, &cell, out),
            ev => js::contain("js.event", || {
                if self.side.borrow().generation != self.generation {
                    return; // a connection replaced by a later start()
                }
                if let Err(v) = self.event(env, ev) {
                    // Only our own JavaScript throws here (the user's callbacks are called
                    // inside try/catch): an uncaught exception, as from a Node callback.
                    js::fatal_exception(env, v);
                }
            }),
        }
    }

    /// Settles a request's promise with its outcome (exactly once: the cell is emptied).
    fn outcome(&self, env: &Env, cell: &PromiseCell, out: Out) {
        let Some(d) = take_request(&self.side, cell) else {
            return; // already settled by the export (a refused send)
        };
        let settled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            test_panic::at("js.outcome");
            self.outcome_value(env, out)
        }));
        let (ok, value) = match settled {
            Ok(Ok(v)) => v,
            Ok(Err(thrown)) => (false, thrown),
            Err(p) => (false, js::panic_error(env, "settling a request", &*p)),
        };
        d.settle(env, ok, value);
    }

    fn outcome_value(&self, env: &Env, out: Out) -> JsResult<(bool, Value)> {
        let side = &*self.side;
        match out {
            Out::Groups(g) => {
                let args = [
                    val(env, g.ret_type)?,
                    val(env, g.ret_msg)?,
                    val(env, g.err_code)?,
                    val(env, g.s2c.map(|s| encode_groups(&s)))?,
                ];
                Ok((g.ret_type == 0, shape(env, side, shape::GROUPS, &args)?))
            }
            Out::Raw(r) if r.kind == ReplyKind::Server => {
                Ok((true, val(env, Buffer::from(r.body))?))
            }
            Out::Raw(r) => {
                let args = [val(env, r.kind as i32)?, val(env, r.reason)?];
                Ok((false, shape(env, side, shape::FAILED, &args)?))
            }
            Out::Lost => Ok((
                false,
                js::error(
                    env,
                    "EPANIC",
                    "ftapi: this request's outcome was lost to a panic in the Node addon (see stderr)",
                ),
            )),
        }
    }

    fn emit(&self, env: &Env, kind: u32, a: Value, b: Value) -> JsResult<()> {
        emit_to(env, &self.emit, kind, a, b)
    }

    /// A current connection's event: the login state first, then the user's callback.
    fn event(&self, env: &Env, ev: Ev) -> JsResult<()> {
        let side = &*self.side;
        let new_ref = |v| JsRef::new(env, v).map_err(|e| js::napi_value_of(env, e));
        match ev {
            Ev::Init {
                code,
                desc,
                conn_id,
            } => {
                let ok = code == 0;
                let args = [
                    val(env, code as f64)?,
                    val(env, desc)?,
                    val(env, conn_id.to_string())?,
                ];
                let v = shape(env, side, shape::LOGIN, &args)?;
                let kept = Some(new_ref(v)?);
                {
                    let mut s = side.borrow_mut();
                    s.logged_in = ok;
                    if ok {
                        s.info = kept;
                    } else {
                        s.live = false;
                        s.error = kept;
                    }
                }
                js::settle_all(env, take_waiters(side), ok, v);
                self.emit(env, emit::LOGIN, val(env, ok)?, v)
            }
            Ev::Disconnect { code, reason } => {
                side.borrow_mut().logged_in = false;
                self.emit(
                    env,
                    emit::DISCONNECT,
                    val(env, code as f64)?,
                    val(env, reason)?,
                )
            }
            Ev::State { state, reason } => {
                let closed = state == State::Closed;
                {
                    let mut s = side.borrow_mut();
                    if matches!(state, State::Reconnecting | State::Closing | State::Closed) {
                        s.logged_in = false;
                    }
                    if closed {
                        s.live = false;
                    }
                }
                let waiters = if closed {
                    take_waiters(side)
                } else {
                    Vec::new()
                };
                if !waiters.is_empty() {
                    let kept = side.borrow().error.as_ref().map(JsRef::get);
                    let v = match kept {
                        Some(v) => v.map_err(|e| js::napi_value_of(env, e))?,
                        None => ft_error(
                            env,
                            side,
                            &format!("ftapi: the connection ended: {reason}"),
                            -200,
                            &reason,
                            "EDISCONNECTED",
                        )?,
                    };
                    js::settle_all(env, waiters, false, v);
                }
                let state = val(env, u32::from(state as u8))?;
                self.emit(env, emit::STATE, state, val(env, reason)?)
            }
            Ev::Push { proto, body } => {
                let msg = match (proto == proto_id::NOTIFY)
                    .then(|| notify_obj(&body))
                    .flatten()
                {
                    Some(n) => val(env, n)?,
                    None => val(env, Buffer::from(body))?,
                };
                self.emit(env, emit::PUSH, val(env, proto)?, msg)
            }
            Ev::Outcome { .. } => Ok(()), // handled in `run`
        }
    }
}

/// One JavaScript connection object's native half.
#[napi(custom_finalize)]
pub struct NativeQot {
    slot: QotSlot,
    side: SideRef,
    /// The current connection's thread-safe function, for the completions of its requests.
    tsfn: RefCell<Weak<Tsfn>>,
    /// setTimeout's value: the timeout of requests sent without their own (0: the
    /// connection's).
    timeout_ms: Cell<f64>,
}

#[napi]
impl NativeQot {
    /// `language` is InitConnect's / the WebSocket login's `programmingLanguage`; `shape`
    /// is lib/ftapi.js's maker of the values promises settle with.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        env: Env,
        language: String,
        shape: Function<'_, (), Unknown<'static>>,
    ) -> napi::Result<NativeQot> {
        js::sync(&env, "NativeQot.new", || {
            let slot = QotSlot::new(Options::default(), SecondConnect::Replace);
            slot.set_programming_language(&language);
            let side = Side {
                shape: JsRef::new(&env, shape.raw())?,
                generation: 0,
                live: false,
                logged_in: false,
                info: None,
                error: None,
                waiters: Vec::new(),
                pending: 0,
            };
            Ok(NativeQot {
                slot,
                side: Rc::new(RefCell::new(side)),
                tsfn: RefCell::new(Weak::new()),
                timeout_ms: Cell::new(0.0),
            })
        })
    }

    /// Per-request (and handshake) timeout in ms, for requests sent afterwards and the
    /// next login; 0 restores 12 s.
    #[napi(catch_unwind)]
    pub fn set_request_timeout(&self, env: Env, timeout_ms: f64) -> napi::Result<()> {
        js::sync(&env, "NativeQot.setRequestTimeout", || {
            self.timeout_ms.set(timeout_ms);
            self.slot.set_request_timeout_ms(ms(timeout_ms));
            Ok(())
        })
    }

    /// Auto-reconnect after an unexpected drop; bounds of 0 keep the defaults.
    #[napi(catch_unwind)]
    pub fn set_auto_reconnect(
        &self,
        env: Env,
        enable: bool,
        initial_ms: f64,
        max_ms: f64,
    ) -> napi::Result<()> {
        js::sync(&env, "NativeQot.setAutoReconnect", || {
            self.slot
                .set_auto_reconnect(enable, ms(initial_ms), ms(max_ms), false);
            Ok(())
        })
    }

    /// The client-side rate limiter's mode: 0 off, 1 fail-fast, 2 wait.
    #[napi(catch_unwind)]
    pub fn set_rate_limit_mode(&self, env: Env, mode: i32) -> napi::Result<()> {
        js::sync(&env, "NativeQot.setRateLimitMode", || {
            self.slot.set_rate_limit_mode(mode).map_err(js_err)
        })
    }

    /// InitConnect's clientID and clientVer.
    #[napi(catch_unwind)]
    pub fn set_client_info(
        &self,
        env: Env,
        client_id: String,
        client_ver: i32,
    ) -> napi::Result<()> {
        js::sync(&env, "NativeQot.setClientInfo", || {
            self.slot.set_client_info(&client_id, client_ver);
            Ok(())
        })
    }

    /// Extra CA certificates (a PEM file) trusted for wss://; "" clears them.
    #[napi(catch_unwind)]
    pub fn set_tls_ca_file(&self, env: Env, path: String) -> napi::Result<()> {
        js::sync(&env, "NativeQot.setTlsCaFile", || {
            self.slot.set_tls_ca_file(&path).map_err(js_err)
        })
    }

    /// Starts connecting, replacing a live connection; its events go to `emit(kind, a, b)`.
    /// `websocket`: the WebSocket door (`secure` = wss://, `key` its key) or the TCP door
    /// (`secure` = RSA + AES encryption, `key` the RSA private key's PEM text, kept for
    /// later starts too). A start refused before anything is attempted (bad arguments, a
    /// bad key) still ends the earlier connection; its refusal is `ready()`'s rejection at
    /// once and `onlogin(false, err)` through the event queue.
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn connect(
        &self,
        env: Env,
        websocket: bool,
        host: String,
        port: u32,
        secure: bool,
        key: Option<String>,
        emit: Function<'_, (), Unknown<'static>>,
    ) -> napi::Result<()> {
        js::sync(&env, "NativeQot.connect", || {
            let generation = {
                let mut s = self.side.borrow_mut();
                s.generation += 1;
                s.generation
            };
            let emit = Rc::new(JsRef::new(&env, emit.raw())?);
            let refuse = |message: &str, reason: &str| {
                self.refuse(&env, generation, emit.clone(), message, reason)
            };
            if let (false, Some(pem)) = (websocket, key.as_deref()) {
                if let Err(e) = self.slot.set_rsa_private_key(pem) {
                    return refuse(&format!("ftapi: {e}"), &e.to_string());
                }
            }
            // A new login: ready() calls still waiting for the earlier one are told.
            let waiters = {
                let mut s = self.side.borrow_mut();
                s.logged_in = false;
                s.info = None;
                s.error = None;
                s.live = true;
                std::mem::take(&mut s.waiters)
            };
            if !waiters.is_empty() {
                let e = ft_error(
                    &env,
                    &self.side,
                    "a new start() replaced this login",
                    -200,
                    "replaced",
                    "ECLOSED",
                )
                .map_err(|v| js::throw(&env, v))?;
                js::settle_all(&env, waiters, false, e);
            }
            let Ok(port16) = u16::try_from(port) else {
                let why = format!("port {port} out of range");
                return refuse(&format!("ftapi: cannot start: {why}"), &why);
            };
            let door = if websocket {
                Door::WebSocket { tls: secure, key }
            } else {
                Door::Tcp { encrypt: secure }
            };
            let dispatch = Dispatch {
                side: self.side.clone(),
                generation,
                emit: emit.clone(),
            };
            let tsfn: Tsfn = env
                .create_function::<(), Unknown<'static>>("ftapiEvents", js::noop)?
                .build_threadsafe_function::<Ev>()
                .callee_handled::<false>()
                .build_callback(move |ctx: ThreadsafeCallContext<Ev>| {
                    // Ok always: an Err here would be thrown as an uncaught exception.
                    js::contain("js.dispatch", || dispatch.run(&ctx.env, ctx.value));
                    Ok(())
                })?;
            let tsfn = Arc::new(tsfn);
            let events = JsEvents { tsfn: tsfn.clone() };
            match self.slot.connect(door, &host, port16, events) {
                // Only the JavaScript thread (this one) sends, so nothing needs it before this.
                Ok(_) => *self.tsfn.borrow_mut() = Arc::downgrade(&tsfn),
                Err(e) => {
                    let why = e.to_string();
                    return refuse(&format!("ftapi: cannot start: {why}"), &why);
                }
            }
            Ok(())
        })
    }

    /// Resolves with the login's `{connID}` once logged in (at once if already); rejects
    /// if the login fails, the connection ends or is stopped first, or nothing was started.
    #[napi(catch_unwind)]
    pub fn ready(&self, env: Env) -> napi::Result<Unknown<'static>> {
        let (d, promise) = Deferred::new(&env)?;
        let cell: PromiseCell = Arc::new(Mutex::new(Some(d)));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            test_panic::at("NativeQot.ready");
            self.login_outcome(&env)
        }));
        let settled = match r {
            Ok(Ok(Some(outcome))) => Some(outcome),
            Ok(Ok(None)) => {
                // Still logging in: settled when the outcome arrives.
                if let Some(d) = lock(&cell).take() {
                    self.side.borrow_mut().waiters.push(d);
                }
                None
            }
            Ok(Err(thrown)) => Some((false, thrown)),
            Err(p) => Some((false, js::panic_error(&env, "NativeQot.ready", &*p))),
        };
        if let Some((ok, v)) = settled {
            if let Some(d) = lock(&cell).take() {
                d.settle(&env, ok, v);
            }
        }
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
    }

    /// Ends the connection: pending requests get -200 (delivered after this returns), then
    /// the disconnect and the final state; `ready()` rejects from now on. Idempotent. Never
    /// waits long: the library's I/O thread never blocks, not in DNS nor in a TCP connect,
    /// so a close is taken at once in every phase.
    #[napi(catch_unwind)]
    pub fn stop(&self, env: Env) -> napi::Result<()> {
        js::sync(&env, "NativeQot.stop", || {
            {
                let mut s = self.side.borrow_mut();
                s.live = false;
                s.logged_in = false;
            }
            self.slot.close();
            let e = ft_error(
                &env,
                &self.side,
                "ftapi: stopped",
                -200,
                "stopped",
                "ECLOSED",
            )
            .map_err(|v| js::throw(&env, v))?;
            self.side.borrow_mut().error = Some(JsRef::new(&env, e)?);
            js::settle_all(&env, take_waiters(&self.side), false, e);
            Ok(())
        })
    }

    /// Get Groups From Watchlist: a promise of the Response (rejected with the FtError
    /// carrying it unless retType is 0). `timeout_ms`: this request's (0: the
    /// connection's), absent: setTimeout's.
    #[napi(catch_unwind)]
    pub fn get_user_security_group(
        &self,
        env: Env,
        group_type: i32,
        timeout_ms: Option<f64>,
    ) -> napi::Result<Unknown<'static>> {
        self.request(
            &env,
            "NativeQot.getUserSecurityGroup",
            timeout_ms,
            |q, timeout, settle| {
                let request = GetUserSecurityGroup::from_i32(group_type)?;
                q.request_as(request, timeout, move |rsp: GroupsOutcome| {
                    settle.finish(Out::Groups(rsp))
                })?;
                Ok(())
            },
        )
    }

    /// Any other request: `body` is its serialized Request; a promise of OpenD's serialized
    /// Response (a Buffer, whatever its retType), rejected on timeout (-100), disconnect
    /// (-200) or the client-side rate limit (-300).
    #[napi(catch_unwind)]
    pub fn send_proto(
        &self,
        env: Env,
        proto: u32,
        body: Buffer,
        timeout_ms: Option<f64>,
    ) -> napi::Result<Unknown<'static>> {
        self.request(
            &env,
            "NativeQot.sendProto",
            timeout_ms,
            |q, timeout, settle| {
                q.send_proto(proto, body.to_vec(), timeout, move |r: Reply| {
                    settle.finish(Out::Raw(r))
                })?;
                Ok(())
            },
        )
    }

    /// Requests whose promise is not settled yet.
    #[napi(catch_unwind)]
    pub fn pending_requests(&self, env: Env) -> napi::Result<u32> {
        js::sync(&env, "NativeQot.pendingRequests", || {
            Ok(self.side.borrow().pending)
        })
    }

    /// 0 connecting, 1 initializing, 2 ready, 3 closing, 4 closed, 5 reconnecting.
    #[napi(catch_unwind)]
    pub fn state(&self, env: Env) -> napi::Result<u32> {
        js::sync(&env, "NativeQot.state", || {
            Ok(u32::from(self.slot.state() as u8))
        })
    }

    /// The connection ID from the login, as a decimal string ("0" before it).
    #[napi(catch_unwind)]
    pub fn conn_id(&self, env: Env) -> napi::Result<String> {
        js::sync(&env, "NativeQot.connId", || {
            Ok(self.slot.conn_id().to_string())
        })
    }

    /// OpenD's serverVer (TCP door; 0 on the WebSocket door).
    #[napi(catch_unwind)]
    pub fn server_ver(&self, env: Env) -> napi::Result<i32> {
        js::sync(&env, "NativeQot.serverVer", || Ok(self.slot.server_ver()))
    }
}

impl NativeQot {
    /// A start refused before anything was attempted: the earlier connection ends all the
    /// same (its events are dropped, their generation is over; its requests' outcomes
    /// follow), `ready()` rejects with the refusal from now on, and `onlogin(false, err)`
    /// follows on `process.nextTick` (before the earlier connection's outcomes reach
    /// JavaScript), unless another start() comes first.
    fn refuse(
        &self,
        env: &Env,
        generation: u64,
        emit: Rc<JsRef>,
        message: &str,
        reason: &str,
    ) -> napi::Result<()> {
        self.slot.close();
        *self.tsfn.borrow_mut() = Weak::new();
        let err = ft_error(env, &self.side, message, -1, reason, "EINVAL")
            .map_err(|v| js::throw(env, v))?;
        let waiters = {
            let mut s = self.side.borrow_mut();
            s.live = false;
            s.logged_in = false;
            s.error = Some(JsRef::new(env, err)?);
            std::mem::take(&mut s.waiters)
        };
        js::settle_all(env, waiters, false, err);
        let err = JsRef::new(env, err)?;
        let side = self.side.clone();
        js::next_tick(env, "js.refused", move |env| {
            if side.borrow().generation != generation {
                return; // another start() came first
            }
            let login = err
                .get()
                .map_err(|e| js::napi_value_of(env, e))
                .and_then(|err| emit_to(env, &emit, emit::LOGIN, val(env, false)?, err));
            if let Err(v) = login {
                js::fatal_exception(env, v);
            }
        })
    }

    /// What `ready()` settles with now: the login's info while logged in, why not while
    /// not live (the kept error, or "not started"); `None` while logging in.
    fn login_outcome(&self, env: &Env) -> JsResult<Option<(bool, Value)>> {
        let (logged_in, live, kept) = {
            let s = self.side.borrow();
            let logged_in = s.logged_in && s.info.is_some();
            let kept = if logged_in { &s.info } else { &s.error };
            (logged_in, s.live, kept.as_ref().map(JsRef::get))
        };
        if !logged_in && live {
            return Ok(None);
        }
        let kept = kept.transpose().map_err(|e| js::napi_value_of(env, e))?;
        let v = match kept {
            Some(v) => v,
            None => ft_error(
                env,
                &self.side,
                "ftapi: not started (call start() first)",
                -200,
                "not started",
                "ENOTREADY",
            )?,
        };
        Ok(Some((logged_in, v)))
    }

    /// Sends a request with `send` and returns its promise: settled from the request's
    /// outcome, or at once (a request refused before it is sent, or a panic).
    fn request(
        &self,
        env: &Env,
        what: &str,
        timeout_ms: Option<f64>,
        send: impl FnOnce(&Qot, Option<std::time::Duration>, Settle) -> Result<(), QotError>,
    ) -> napi::Result<Unknown<'static>> {
        let (d, promise) = Deferred::new(env)?;
        let cell: PromiseCell = Arc::new(Mutex::new(Some(d)));
        self.side.borrow_mut().pending += 1;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            test_panic::at(what);
            let q = self
                .slot
                .current()
                .ok_or(QotError::Send(SendError::NotReady))?;
            let tsfn = self
                .tsfn
                .borrow()
                .upgrade()
                .ok_or(QotError::Send(SendError::Closed))?;
            let timeout = request_timeout(timeout_ms.unwrap_or(self.timeout_ms.get()));
            let settle = Settle {
                cell: Some(cell.clone()),
                tsfn,
            };
            send(&q, timeout, settle)
        }));
        let fail = match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                let (ret_type, code) = send_fail(&e);
                let message = e.to_string();
                Some(
                    ft_error(env, &self.side, &message, ret_type, &message, code)
                        .unwrap_or_else(|thrown| thrown),
                )
            }
            Err(p) => Some(js::panic_error(env, what, &*p)),
        };
        if let Some(v) = fail {
            if let Some(d) = take_request(&self.side, &cell) {
                d.settle(env, false, v);
            }
        }
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
    }
}

/// The object is being collected: its connection (if any is still live) closes, and the
/// references it kept are deleted here, on the JavaScript thread.
impl ObjectFinalize for NativeQot {
    fn finalize(self, _env: Env) -> napi::Result<()> {
        js::contain("NativeQot's finalizer", move || drop(self));
        Ok(())
    }
}

/// One log line, as the logger callback gets it.
#[napi(object)]
pub struct LogLine {
    /// 1 error, 2 warn, 3 info, 4 debug, 5 trace.
    pub level: i32,
    pub target: String,
    pub message: String,
}

type LogTsfn = ThreadsafeFunction<LogLine, Unknown<'static>, (), Status, false, true, 0>;

/// Routes the library's log lines (every connection's) to `callback({level, target,
/// message})` up to `level` (1 error .. 5 trace; 0 off). Without a callback: back to stderr
/// at `FTAPI_LOG`'s level. The callback never keeps the process alive.
#[napi(catch_unwind)]
pub fn set_logger(
    env: Env,
    callback: Option<Function<'_, LogLine, Unknown<'static>>>,
    level: i32,
) -> napi::Result<()> {
    js::sync(&env, "setLogger", || {
        let Some(cb) = callback else {
            opend::log::set_logger(None, None);
            return Ok(());
        };
        let f = JsRef::new(&env, cb.raw())?;
        let tsfn: LogTsfn = env
            .create_function::<(), Unknown<'static>>("ftapiLog", js::noop)?
            .build_threadsafe_function::<LogLine>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |ctx: ThreadsafeCallContext<LogLine>| {
                js::contain("js.log", || {
                    let env = &ctx.env;
                    let call = val(env, ctx.value).and_then(|line| {
                        js::call(
                            env,
                            f.get().map_err(|e| js::napi_value_of(env, e))?,
                            &[line],
                        )
                    });
                    if let Err(v) = call {
                        js::fatal_exception(env, v);
                    }
                });
                Ok(())
            })?;
        opend::log::set_logger(
            Some(Arc::new(move |level: Level, target: &str, msg: &str| {
                js::contain("logger", || {
                    let line = LogLine {
                        level: level as i32,
                        target: target.to_owned(),
                        message: msg.to_owned(),
                    };
                    let _ = tsfn.call(line, ThreadsafeFunctionCallMode::NonBlocking);
                })
            })),
            Level::from_i32(level),
        );
        Ok(())
    })
}

/// The test build's injected panics (cargo feature `test-panic`, bindings/node/run-tests.sh
/// builds with it; the shipped package does not have it): `testPanic(point)` arms a
/// one-shot panic at a named point (an export's name such as `NativeQot.state`, or a
/// callback's: `outcome`, `js.outcome`, `js.event`, `events.on_push`, `logger`, ...).
#[cfg(feature = "test-panic")]
pub mod test_panic {
    use napi_derive::napi;
    use std::sync::Mutex;

    static ARMED: Mutex<Option<String>> = Mutex::new(None);

    /// Panics if `point` is armed (once).
    pub fn at(point: &str) {
        let hit = {
            let mut armed = super::lock(&ARMED);
            let hit = armed.as_deref() == Some(point);
            if hit {
                *armed = None;
            }
            hit
        };
        if hit {
            panic!("test panic at {point}");
        }
    }

    /// Arms a one-shot panic at `point`.
    #[napi(catch_unwind)]
    pub fn test_panic(point: String) {
        *super::lock(&ARMED) = Some(point);
    }
}

#[cfg(not(feature = "test-panic"))]
pub mod test_panic {
    #[inline(always)]
    pub fn at(_point: &str) {}
}
