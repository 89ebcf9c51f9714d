//! The Node-API addon behind the `ftapi` npm package. It only translates the Rust API:
//! one [`QotSlot`] per JavaScript connection object (a second `start()` replaces the first,
//! as in the official JavaScript SDK), its events and each request's one outcome handed to
//! the JavaScript thread through a thread-safe function. The JavaScript layer
//! (`bindings/node/lib`) turns those into the official `ftWebsocket` call shape.
//!
//! Threads and lifetimes:
//! - the library's I/O thread never waits for JavaScript: every hand-over is a
//!   non-blocking call into an unbounded thread-safe function queue;
//! - one thread-safe function per connection, held (strongly) only by that connection's
//!   event sink, which the engine drops when the connection is over, and by the
//!   completions of its requests still pending. The native object keeps only a weak
//!   reference, so a connection keeps the event loop alive exactly while it is live
//!   (connecting, logged in, reconnecting); once it has ended (stop(), a refused login,
//!   a drop without auto-reconnect) the function is released after its queue has been
//!   delivered and the process may exit by itself;
//! - the log sink is process-wide and never keeps the event loop alive.

use ftapi::log::Level;
use ftapi::pb::{notify, proto_id};
use ftapi::qot::{GetUserSecurityGroup, Outcome};
use ftapi::{
    Connection, Door, Events, GroupsReply, Options, QotError, QotSlot, Reply, ReplyKind,
    SecondConnect, SendError, State,
};
use napi::Status;
use napi::bindgen_prelude::{Buffer, Either3, FnArgs, Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use prost::Message;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Locks, ignoring poisoning (nothing here can leave the data half-changed).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the I/O thread hands to JavaScript (plain Rust data; made into JavaScript values
/// on the JavaScript thread).
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
        state: u8,
        reason: String,
    },
    Push {
        proto: u32,
        body: Vec<u8>,
    },
    Groups {
        id: u32,
        rsp: GroupsOutcome,
    },
    Raw {
        id: u32,
        kind: i32,
        body: Vec<u8>,
        reason: String,
    },
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

/// What an event's sixth argument carries.
type Extra = Option<Either3<String, Buffer, NotifyObj>>;

/// The JavaScript callback's arguments: `(kind, id, num, text, errCode, extra)`:
/// 1 login (num = error code, text = why, extra = connection ID), 2 disconnect (num, text),
/// 3 state (num = state, text = why), 4 push (num = proto, extra = Notify or the bytes),
/// 5 groups reply (id, num = retType, text = retMsg, errCode, extra = the groups, absent
/// without s2c), 6 raw reply (id, num = retType, text = why, extra = the bytes).
type Args = FnArgs<(u32, u32, f64, Option<String>, Option<i32>, Extra)>;

fn js_args(ev: Ev) -> Args {
    let (kind, id, num, text, err, extra): (u32, u32, f64, Option<String>, Option<i32>, Extra) =
        match ev {
            Ev::Init {
                code,
                desc,
                conn_id,
            } => (
                1,
                0,
                code as f64,
                Some(desc),
                None,
                Some(Either3::A(conn_id.to_string())),
            ),
            Ev::Disconnect { code, reason } => (2, 0, code as f64, Some(reason), None, None),
            Ev::State { state, reason } => (3, 0, f64::from(state), Some(reason), None, None),
            Ev::Push { proto, body } => {
                let extra = match (proto == proto_id::NOTIFY)
                    .then(|| notify_obj(&body))
                    .flatten()
                {
                    Some(n) => Either3::C(n),
                    None => Either3::B(body.into()),
                };
                (4, 0, f64::from(proto), None, None, Some(extra))
            }
            Ev::Groups { id, rsp } => (
                5,
                id,
                f64::from(rsp.ret_type),
                rsp.ret_msg,
                rsp.err_code,
                rsp.s2c.map(|g| Either3::A(encode_groups(&g))),
            ),
            Ev::Raw {
                id,
                kind,
                body,
                reason,
            } => (
                6,
                id,
                f64::from(kind),
                Some(reason),
                None,
                Some(Either3::B(body.into())),
            ),
        };
    FnArgs::from((kind, id, num, text, err, extra))
}

/// A connection's thread-safe function: JavaScript's `(event) => ...`, keeping the event
/// loop alive while it exists.
type Tsfn = ThreadsafeFunction<Ev, Unknown<'static>, Args, Status, false, false, 0>;

/// Hands `ev` to JavaScript without waiting. Fails only when the environment is going
/// away (then nobody is left to tell).
fn post(tsfn: &Tsfn, ev: Ev) {
    let _ = tsfn.call(ev, ThreadsafeFunctionCallMode::NonBlocking);
}

/// The engine's events for one connection, posted to JavaScript. Owns the connection's
/// thread-safe function: the engine drops this when the connection has ended.
struct JsEvents {
    tsfn: Arc<Tsfn>,
}

impl Events for JsEvents {
    fn on_init_connect(&mut self, conn: &Connection, err_code: i64, desc: &str) {
        post(
            &self.tsfn,
            Ev::Init {
                code: err_code,
                desc: desc.to_owned(),
                conn_id: conn.conn_id(),
            },
        );
    }

    fn on_disconnect(&mut self, _conn: &Connection, err_code: i64, reason: &str) {
        post(
            &self.tsfn,
            Ev::Disconnect {
                code: err_code,
                reason: reason.to_owned(),
            },
        );
    }

    fn on_push(&mut self, _conn: &Connection, proto_id: u32, _serial: u32, body: &[u8]) {
        post(
            &self.tsfn,
            Ev::Push {
                proto: proto_id,
                body: body.to_vec(),
            },
        );
    }

    fn on_state_change(&mut self, _conn: &Connection, state: State, reason: &str) {
        post(
            &self.tsfn,
            Ev::State {
                state: state as u8,
                reason: reason.to_owned(),
            },
        );
    }
}

/// Why a request was not sent (no outcome follows): what JavaScript rejects with at once.
#[napi(object)]
pub struct SendFail {
    /// -200 when there is no usable connection (not logged in yet, stopped,
    /// reconnecting), -1 otherwise (bad argument, send buffer full).
    pub ret_type: i32,
    /// A stable name: ENOTREADY, ECLOSED, ERECONNECTING, EBACKPRESSURE, EINVAL.
    pub code: String,
    pub message: String,
}

fn send_fail(e: &QotError) -> SendFail {
    let (ret_type, code) = match e {
        QotError::Send(SendError::NotReady) => (-200, "ENOTREADY"),
        QotError::Send(SendError::Closed) => (-200, "ECLOSED"),
        QotError::Send(SendError::Reconnecting) => (-200, "ERECONNECTING"),
        QotError::Send(SendError::Backpressure { .. }) => (-1, "EBACKPRESSURE"),
        _ => (-1, "EINVAL"),
    };
    SendFail {
        ret_type,
        code: code.to_owned(),
        message: e.to_string(),
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

/// One JavaScript connection object's native half.
#[napi]
pub struct NativeQot {
    slot: QotSlot,
    /// The current connection's thread-safe function, for the completions of its requests.
    tsfn: Mutex<Weak<Tsfn>>,
}

#[napi]
impl NativeQot {
    /// `language` is InitConnect's / the WebSocket login's `programmingLanguage`.
    #[napi(constructor)]
    pub fn new(language: String) -> NativeQot {
        let slot = QotSlot::new(Options::default(), SecondConnect::Replace);
        slot.set_programming_language(&language);
        NativeQot {
            slot,
            tsfn: Mutex::new(Weak::new()),
        }
    }

    /// Per-request (and handshake) timeout in ms; 0 restores 12 s.
    #[napi]
    pub fn set_request_timeout(&self, timeout_ms: f64) {
        self.slot.set_request_timeout_ms(ms(timeout_ms));
    }

    /// Auto-reconnect after an unexpected drop; bounds of 0 keep the defaults.
    #[napi]
    pub fn set_auto_reconnect(&self, enable: bool, initial_ms: f64, max_ms: f64) {
        self.slot
            .set_auto_reconnect(enable, ms(initial_ms), ms(max_ms), false);
    }

    /// The client-side rate limiter's mode: 0 off, 1 fail-fast, 2 wait.
    #[napi]
    pub fn set_rate_limit_mode(&self, mode: i32) -> napi::Result<()> {
        self.slot.set_rate_limit_mode(mode).map_err(js_err)
    }

    /// InitConnect's clientID and clientVer.
    #[napi]
    pub fn set_client_info(&self, client_id: String, client_ver: i32) {
        self.slot.set_client_info(&client_id, client_ver);
    }

    /// The RSA private key (PEM text) for the TCP door's encryption; "" clears it.
    #[napi]
    pub fn set_rsa_private_key(&self, pem: String) -> napi::Result<()> {
        self.slot.set_rsa_private_key(&pem).map_err(js_err)
    }

    /// Extra CA certificates (a PEM file) trusted for wss://; "" clears them.
    #[napi]
    pub fn set_tls_ca_file(&self, path: String) -> napi::Result<()> {
        self.slot.set_tls_ca_file(&path).map_err(js_err)
    }

    /// Starts connecting (replacing a live connection); events go to `callback`.
    /// `websocket`: the WebSocket door (`secure` = wss://, `key` its key) or the TCP door
    /// (`secure` = RSA + AES encryption). Throws for arguments refused before anything is
    /// attempted.
    #[napi]
    pub fn connect(
        &self,
        websocket: bool,
        host: String,
        port: u32,
        secure: bool,
        key: Option<String>,
        callback: Function<'_, (), Unknown<'static>>,
    ) -> napi::Result<()> {
        let port = u16::try_from(port).map_err(|_| js_err(format!("port {port} out of range")))?;
        let door = if websocket {
            Door::WebSocket { tls: secure, key }
        } else {
            Door::Tcp { encrypt: secure }
        };
        let tsfn: Tsfn = callback
            .build_threadsafe_function::<Ev>()
            .callee_handled::<false>()
            .build_callback(|ctx| Ok(js_args(ctx.value)))?;
        let tsfn = Arc::new(tsfn);
        let weak = Arc::downgrade(&tsfn);
        self.slot
            .connect(door, &host, port, JsEvents { tsfn })
            .map_err(js_err)?;
        // Only the JavaScript thread (this one) sends, so nothing needs it before this.
        *lock(&self.tsfn) = weak;
        Ok(())
    }

    /// Get Groups From Watchlist; the outcome comes as a kind-5 event with `id`. Returns
    /// why it was not sent, or nothing when it was.
    #[napi]
    pub fn get_user_security_group(
        &self,
        id: u32,
        group_type: i32,
        timeout_ms: f64,
    ) -> Option<SendFail> {
        let (q, tsfn) = match self.live() {
            Ok(v) => v,
            Err(f) => return Some(f),
        };
        let timeout = request_timeout(timeout_ms);
        let request = match GetUserSecurityGroup::from_i32(group_type) {
            Ok(r) => r,
            Err(e) => return Some(send_fail(&e)),
        };
        q.request_as(request, timeout, move |rsp: GroupsOutcome| {
            post(&tsfn, Ev::Groups { id, rsp })
        })
        .err()
        .map(|e| send_fail(&QotError::Send(e)))
    }

    /// Any other request: `body` is its serialized Request; the outcome comes as a kind-6
    /// event with `id` (retType 0 and OpenD's Response bytes, or -100 / -200 / -300 and a
    /// reason).
    #[napi]
    pub fn send_proto(
        &self,
        id: u32,
        proto: u32,
        body: Buffer,
        timeout_ms: f64,
    ) -> Option<SendFail> {
        let (q, tsfn) = match self.live() {
            Ok(v) => v,
            Err(f) => return Some(f),
        };
        let timeout = request_timeout(timeout_ms);
        q.send_proto(proto, body.to_vec(), timeout, move |r: Reply| {
            let kind = match r.kind {
                ReplyKind::Server => 0,
                k => k as i32,
            };
            post(
                &tsfn,
                Ev::Raw {
                    id,
                    kind,
                    body: r.body,
                    reason: r.reason,
                },
            )
        })
        .err()
        .map(|e| send_fail(&QotError::Send(e)))
    }

    /// Ends the connection: pending requests get -200 (delivered to JavaScript after this
    /// returns), then the disconnect and the final state. Idempotent. Never waits long: the
    /// library's I/O thread never blocks, not in DNS nor in a TCP connect, so a close is
    /// taken at once in every phase.
    #[napi]
    pub fn close(&self) {
        if let Some(q) = self.slot.current() {
            q.close();
        }
    }

    /// 0 connecting, 1 initializing, 2 ready, 3 closing, 4 closed, 5 reconnecting.
    #[napi]
    pub fn state(&self) -> u32 {
        u32::from(self.slot.state() as u8)
    }

    /// The connection ID from the login, as a decimal string ("0" before it).
    #[napi]
    pub fn conn_id(&self) -> String {
        self.slot.conn_id().to_string()
    }

    /// OpenD's serverVer (TCP door; 0 on the WebSocket door).
    #[napi]
    pub fn server_ver(&self) -> i32 {
        self.slot.server_ver()
    }

    fn live(&self) -> Result<(Arc<ftapi::Qot>, Arc<Tsfn>), SendFail> {
        let closed = || send_fail(&QotError::Send(SendError::Closed));
        let q = self
            .slot
            .current()
            .ok_or_else(|| send_fail(&QotError::Send(SendError::NotReady)))?;
        let tsfn = lock(&self.tsfn).upgrade().ok_or_else(closed)?;
        Ok((q, tsfn))
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

type LogTsfn = ThreadsafeFunction<LogLine, Unknown<'static>, LogLine, Status, false, true, 0>;

/// Routes the library's log lines (every connection's) to `callback({level, target,
/// message})` up to `level` (1 error .. 5 trace; 0 off). Without a callback: back to stderr
/// at `FTAPI_LOG`'s level. The callback never keeps the process alive.
#[napi]
pub fn set_logger(
    callback: Option<Function<'_, LogLine, Unknown<'static>>>,
    level: i32,
) -> napi::Result<()> {
    let Some(cb) = callback else {
        ftapi::log::set_logger(None, None);
        return Ok(());
    };
    let tsfn: LogTsfn = cb
        .build_threadsafe_function::<LogLine>()
        .callee_handled::<false>()
        .weak::<true>()
        .build_callback(|ctx| Ok(ctx.value))?;
    ftapi::log::set_logger(
        Some(Arc::new(move |level: Level, target: &str, msg: &str| {
            let line = LogLine {
                level: level as i32,
                target: target.to_owned(),
                message: msg.to_owned(),
            };
            let _ = tsfn.call(line, ThreadsafeFunctionCallMode::NonBlocking);
        })),
        Level::from_i32(level),
    );
    Ok(())
}
