//! JNI exports for the Java binding (`bindings/java`, package `com.futu.openapi`).
//!
//! The natives are static methods of the package-private class `com.futu.openapi.NativeLib`.
//! They translate the Rust API ([`Qot`]), not the C ABI:
//! - a Java connection is a `long` handle: a key into a registry of [`JConn`], so a stale or
//!   freed handle is an exception, never a use-after-free;
//! - callbacks run on the connection's I/O thread, attached to the JVM once as a daemon
//!   thread (so the JVM never waits for it at exit; detached when the thread ends), and
//!   call back into the `FTAPI_Conn` object through a JNI weak global reference, so the
//!   Java object stays collectable (its `Cleaner` can close a forgotten connection); the
//!   Java listeners are fields of that object; a `sendProto` request's own `ProtoRequest`
//!   is held by a global reference until its one outcome (the library keeps track of who
//!   waits, not a table on the Java side);
//! - an exception thrown by Java code during a callback is printed and cleared;
//! - every export runs inside `EnvUnowned::with_env`, which turns Rust errors and panics into
//!   Java exceptions; callbacks are wrapped in `catch_unwind`.
//!
//! Strings cross with jni-rs's conversions (modified UTF-8 handled properly, emoji included).

/// A line on stderr that never panics (`log::stderr_line`; several of these run on I/O
/// threads, inside callbacks).
macro_rules! report {
    ($($arg:tt)*) => {
        crate::log::stderr_line(format_args!($($arg)*))
    };
}

use crate::engine::{Connection, Events, Options, Reply, SendError, State};
use crate::handles::Handles;
use crate::log::{Level, Logger};
use crate::qot::{
    Door, GetUserSecurityGroup, GroupsReply, Qot, QotError, QotSlot, SecondConnect, WaitError,
};
use jni::errors::{Error as JError, Result as JResult, ThrowRuntimeExAndDefault};
use jni::objects::{JByteArray, JObject, JString, JValue};
use jni::refs::{Global, Weak};
use jni::strings::JNIString;
use jni::sys::{jboolean, jint, jlong};
use jni::{Env, EnvUnowned, JavaVM, jni_sig, jni_str};
use parking_lot::Mutex;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

type Target = Arc<Weak<JObject<'static>>>;

/// The native state behind one Java `FTAPI_Conn`.
struct JConn {
    /// The Rust API's reusable connection; a second initConnect replaces the first, as
    /// in the official Java SDK.
    slot: QotSlot,
    target: Mutex<Option<Target>>,
}

/// The live connections: a Java `long` handle is a key here, in the C ABI's one handle
/// scheme (`crate::handles`): never dereferenced, never reused.
static REGISTRY: Handles<JConn> = Handles::new();

/// The key of a Java handle (a negative one is no key).
fn key(handle: jlong) -> usize {
    usize::try_from(handle).unwrap_or(0)
}

/// A Java millisecond argument: values <= 0 mean "the default" (or "off", or "no
/// limit"), which the slot spells 0.
fn ms(v: jint) -> u64 {
    v.max(0) as u64
}

fn lookup(env: &mut Env, handle: jlong) -> JResult<Arc<JConn>> {
    match REGISTRY.get(key(handle)) {
        Some(c) => Ok(c),
        None => Err(throw(
            env,
            "java/lang/IllegalStateException",
            "ftapi: the connection object has been closed",
        )),
    }
}

/// Throws `class(msg)` and returns the error to propagate with `?`.
fn throw(env: &mut Env, class: &str, msg: &str) -> JError {
    let class = JNIString::new(class);
    match env.throw_new(class.borrowed(), JNIString::new(msg)) {
        Err(e) => e,
        Ok(()) => JError::JavaException,
    }
}

fn string_arg(env: &mut Env, s: &JString, what: &str) -> JResult<String> {
    if s.is_null() {
        return Err(throw(
            env,
            "java/lang/NullPointerException",
            &format!("{what} is null"),
        ));
    }
    s.try_to_string(env)
}

/// Attaches a native thread (a connection's I/O thread) to the JVM as a *daemon* before
/// jni-rs sees it: jni-rs attaches non-daemon threads only, and the JVM waits for every
/// non-daemon thread when `main` returns, so a program that never called `close()` hung
/// at exit. jni-rs then uses this attachment as it finds it. A thread-local guard detaches
/// the thread when it ends. Threads the JVM already knows (Java threads) are left alone.
fn attach_as_daemon(vm: &JavaVM) {
    struct Detach(*mut jni::sys::JavaVM);
    impl Drop for Detach {
        fn drop(&mut self) {
            // SAFETY: the VM pointer is the process's JavaVM; this thread attached itself
            // below and no jni-rs guard is alive while thread-locals are destroyed.
            unsafe { ((**self.0).v1_1.DetachCurrentThread)(self.0) };
        }
    }
    thread_local! {
        static ATTACHED: std::cell::RefCell<Option<Detach>> = const { std::cell::RefCell::new(None) };
    }
    let _ = ATTACHED.try_with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_some() {
            return;
        }
        let raw = vm.get_raw();
        let mut env: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: `raw` is the JavaVM jni-rs holds for the process; GetEnv and
        // AttachCurrentThreadAsDaemon (JNI 1.2 / 1.4) may be called from any thread.
        unsafe {
            if ((**raw).v1_2.GetEnv)(raw, &mut env, jni::sys::JNI_VERSION_1_6) == jni::sys::JNI_OK {
                return;
            }
            if ((**raw).v1_4.AttachCurrentThreadAsDaemon)(raw, &mut env, std::ptr::null_mut())
                == jni::sys::JNI_OK
            {
                *slot = Some(Detach(raw));
            }
        }
    });
}

/// Runs `f` on the current (I/O) thread attached to the JVM, with the Java `FTAPI_Conn`
/// if it is still alive. Java exceptions are printed and cleared; panics are contained.
fn dispatch<F>(target: &Target, f: F)
where
    F: for<'l> FnOnce(&mut Env<'l>, &JObject<'l>) -> JResult<()>,
{
    on_jvm(|env| {
        let Some(obj) = target.upgrade_local(env)? else {
            return Ok(());
        };
        f(env, &obj)
    });
}

/// Runs `f` on the current (I/O) thread attached to the JVM (as a daemon). Java
/// exceptions are printed and cleared; panics are contained.
fn on_jvm<F>(f: F)
where
    F: for<'l> FnOnce(&mut Env<'l>) -> JResult<()>,
{
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let vm = match JavaVM::singleton() {
            Ok(vm) => vm,
            Err(_) => return,
        };
        attach_as_daemon(&vm);
        let r: JResult<()> = vm.attach_current_thread(|env| match f(env) {
            Err(JError::JavaException) => {
                if env.exception_check() {
                    report!("ftapi: exception in a Java callback (cleared):");
                    env.exception_describe();
                    env.exception_clear();
                }
                Ok(())
            }
            r => r,
        });
        if let Err(e) = r {
            report!("ftapi: Java callback failed: {e}");
        }
    }));
    if outcome.is_err() {
        report!("ftapi: panic in a Java callback (contained)");
    }
}

struct JEvents {
    target: Target,
}

impl Events for JEvents {
    fn on_init_connect(&mut self, _conn: &Connection, err_code: i64, desc: &str) {
        dispatch(&self.target, |env, obj| {
            let d = env.new_string(desc)?;
            env.call_method(
                obj,
                jni_str!("dispatchInitConnect"),
                jni_sig!("(JLjava/lang/String;)V"),
                &[JValue::Long(err_code), JValue::Object(&d)],
            )?;
            Ok(())
        });
    }

    fn on_disconnect(&mut self, _conn: &Connection, err_code: i64, reason: &str) {
        dispatch(&self.target, |env, obj| {
            let d = env.new_string(reason)?;
            env.call_method(
                obj,
                jni_str!("dispatchDisconnect"),
                jni_sig!("(JLjava/lang/String;)V"),
                &[JValue::Long(err_code), JValue::Object(&d)],
            )?;
            Ok(())
        });
    }

    fn on_push(&mut self, _conn: &Connection, proto_id: u32, _serial: u32, body: &[u8]) {
        dispatch(&self.target, |env, obj| {
            let b = env.byte_array_from_slice(body)?;
            env.call_method(
                obj,
                jni_str!("dispatchPush"),
                jni_sig!("(I[B)V"),
                &[JValue::Int(proto_id as i32), JValue::Object(&b)],
            )?;
            Ok(())
        });
    }

    fn on_state_change(&mut self, _conn: &Connection, state: State, reason: &str) {
        dispatch(&self.target, |env, obj| {
            let d = env.new_string(reason)?;
            env.call_method(
                obj,
                jni_str!("dispatchStateChange"),
                jni_sig!("(ILjava/lang/String;)V"),
                &[JValue::Int(state as i32), JValue::Object(&d)],
            )?;
            Ok(())
        });
    }
}

fn deliver_reply(target: &Target, reply: GroupsReply) {
    dispatch(target, |env, obj| {
        // The typed reply's fields, as OpenD sent them (absent stays absent: a null
        // retMsg, hasErrCode false, null group arrays without s2c); Java builds its
        // Response from them, without decoding anything again.
        let ret_msg = match &reply.ret_msg {
            Some(m) => JObject::from(env.new_string(m)?),
            None => JObject::null(),
        };
        let (names, types) = if reply.has_s2c {
            let n = reply.groups.len();
            let names =
                env.new_object_array(n as i32, jni_str!("java/lang/String"), JObject::null())?;
            let types = env.new_int_array(n)?;
            let mut t = Vec::with_capacity(n);
            for (i, g) in reply.groups.iter().enumerate() {
                let s = env.new_string(&g.name)?;
                names.set_element(env, i, &s)?;
                t.push(g.group_type);
            }
            types.set_region(env, 0, &t)?;
            (JObject::from(names), JObject::from(types))
        } else {
            (JObject::null(), JObject::null())
        };
        env.call_method(
            obj,
            jni_str!("dispatchReply"),
            jni_sig!("(IIILjava/lang/String;ZI[Ljava/lang/String;[I)V"),
            &[
                JValue::Int(crate::pb::proto_id::QOT_GET_USER_SECURITY_GROUP as i32),
                JValue::Int(reply.serial as i32),
                JValue::Int(reply.ret_type),
                JValue::Object(&ret_msg),
                JValue::Bool(reply.err_code.is_some()),
                JValue::Int(reply.err_code.unwrap_or(0)),
                JValue::Object(&names),
                JValue::Object(&types),
            ],
        )?;
        Ok(())
    });
}

/// A `sendProto` request's one outcome, to its own Java `ProtoRequest` (held by a global
/// reference until then, so the library, not the Java side, keeps track of who waits).
fn complete_proto(request: Global<JObject<'static>>, r: Reply) {
    on_jvm(|env| {
        let body = env.byte_array_from_slice(&r.body)?;
        env.call_method(
            request.as_obj(),
            jni_str!("complete"),
            jni_sig!("(III[B)V"),
            &[
                JValue::Int(r.kind as i32),
                JValue::Int(r.proto_id as i32),
                JValue::Int(r.serial as i32),
                JValue::Object(&body),
            ],
        )?;
        Ok(())
    });
    // The thread is attached (as a daemon) by now: the reference is deleted here.
    drop(request);
}

fn current_qot(c: &JConn) -> Option<Arc<Qot>> {
    c.slot.current()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_create<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
) -> jlong {
    env.with_env(|_env| -> JResult<jlong> {
        let options = Options {
            client_id: "ftapi-java".into(),
            programming_language: "Java".into(),
            ..Options::default()
        };
        let (handle, _) = REGISTRY.insert(|_| JConn {
            slot: QotSlot::new(options, SecondConnect::Replace),
            target: Mutex::new(None),
        });
        Ok(handle as jlong)
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Closes the connection (waiting for its outcomes unless called on its I/O thread) and
/// forgets the handle. Idempotent.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_free<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
) {
    env.with_env(|_env| -> JResult<()> {
        let c = REGISTRY.remove(key(handle));
        if let Some(c) = c {
            c.slot.release();
            c.target.lock().take();
        }
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setClientInfo<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    client_id: JString<'l>,
    client_ver: jint,
) {
    env.with_env(|env| -> JResult<()> {
        let c = lookup(env, handle)?;
        let id = string_arg(env, &client_id, "clientID")?;
        c.slot.set_client_info(&id, client_ver);
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setProgrammingLanguage<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    lang: JString<'l>,
) {
    env.with_env(|env| -> JResult<()> {
        let c = lookup(env, handle)?;
        let l = string_arg(env, &lang, "language")?;
        c.slot.set_programming_language(&l);
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// An empty or null key clears it; a key that does not parse throws IllegalArgumentException.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setRsaPrivateKey<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    pem: JString<'l>,
) {
    env.with_env(|env| -> JResult<()> {
        let c = lookup(env, handle)?;
        let pem = if pem.is_null() {
            String::new()
        } else {
            pem.try_to_string(env)?
        };
        c.slot.set_rsa_private_key(&pem).map_err(|e| {
            throw(
                env,
                "java/lang/IllegalArgumentException",
                &format!("ftapi: {e}"),
            )
        })
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Default per-request timeout for connections started after this call; <= 0 restores 12 s.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setRequestTimeout<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    ms_arg: jint,
) {
    env.with_env(|env| -> JResult<()> {
        let c = lookup(env, handle)?;
        c.slot.set_request_timeout_ms(ms(ms_arg));
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Starts a connection of `c`'s slot through `door`, with `target`'s callbacks (closing
/// any earlier connection of this object first). Returns false, as the official SDK does,
/// when the arguments do not allow an attempt (the reason is printed, prefixed with
/// `what`); otherwise the outcome arrives in `dispatchInitConnect`.
fn start_connect(
    env: &mut Env,
    c: &JConn,
    target: &JObject,
    door: Door,
    host: &str,
    port: jint,
    what: &str,
) -> JResult<jboolean> {
    if target.is_null() {
        return Err(throw(env, "java/lang/NullPointerException", "target"));
    }
    let weak: Target = Arc::new(env.new_weak_ref(target)?);
    let Ok(port) = u16::try_from(port) else {
        report!("ftapi: {what}: invalid port {port}");
        return Ok(false);
    };
    *c.target.lock() = Some(weak.clone());
    match c.slot.connect(door, host, port, JEvents { target: weak }) {
        Ok(_) => Ok(true),
        Err(e) => {
            report!("ftapi: {what}: {e}");
            Ok(false)
        }
    }
}

/// Starts connecting to OpenD's TCP API port (closing any earlier connection of this
/// object first). Returns false, as the official SDK does, when the arguments do not allow
/// an attempt (the reason is printed); otherwise the outcome arrives in
/// `dispatchInitConnect`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_initConnect<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    target: JObject<'l>,
    host: JString<'l>,
    port: jint,
    encrypt: jboolean,
) -> jboolean {
    env.with_env(|env| -> JResult<jboolean> {
        let c = lookup(env, handle)?;
        let host = string_arg(env, &host, "ip")?;
        let door = Door::Tcp { encrypt };
        start_connect(env, &c, &target, door, &host, port, "initConnect")
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Starts connecting to OpenD's WebSocket port: `ws://`, or `wss://` when `tls` (the
/// system's roots plus those of `setTlsCaFile`). `key` is OpenD's WebSocket key (null or
/// "" for none; only its MD5 is sent). Returns and calls back as `initConnect` does; a
/// refused login or a failed TLS / WebSocket handshake arrives in `dispatchInitConnect`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_initConnectWebSocket<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    target: JObject<'l>,
    host: JString<'l>,
    port: jint,
    tls: jboolean,
    key: JString<'l>,
) -> jboolean {
    env.with_env(|env| -> JResult<jboolean> {
        let c = lookup(env, handle)?;
        let host = string_arg(env, &host, "ip")?;
        let key = if key.is_null() {
            None
        } else {
            Some(key.try_to_string(env)?)
        };
        let door = Door::WebSocket { tls, key };
        start_connect(env, &c, &target, door, &host, port, "initConnectWebSocket")
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Trusts the CA certificates of a PEM file for `wss://` (besides the system's roots) for
/// connections started afterwards; the file is read now. Null or "" clears them. Returns
/// false, with the reason printed, when the file cannot be used (the setting is then
/// unchanged).
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setTlsCaFile<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    path: JString<'l>,
) -> jboolean {
    env.with_env(|env| -> JResult<jboolean> {
        let c = lookup(env, handle)?;
        let path = if path.is_null() {
            String::new()
        } else {
            path.try_to_string(env)?
        };
        match c.slot.set_tls_ca_file(&path) {
            Ok(()) => Ok(true),
            Err(e) => {
                report!("ftapi: setTlsCaFile: {e}");
                Ok(false)
            }
        }
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_getConnectID<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
) -> jlong {
    env.with_env(|env| -> JResult<jlong> {
        let c = lookup(env, handle)?;
        Ok(c.slot.conn_id() as i64)
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// 0 connecting, 1 initializing, 2 ready, 3 closing, 4 closed (or never connected),
/// 5 reconnecting.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_getState<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
) -> jint {
    env.with_env(|env| -> JResult<jint> {
        let c = lookup(env, handle)?;
        Ok(c.slot.state() as jint)
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Closes the connection; the object may connect again. From any thread but the I/O one
/// this returns after every pending request got -200 and onDisconnect ran.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_close<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
) {
    env.with_env(|env| -> JResult<()> {
        let c = REGISTRY.get(key(handle));
        if let Some(c) = c {
            c.slot.close();
        }
        let _ = env;
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Sends a serialized `Qot_GetUserSecurityGroup.Request`. Returns the serial number, or 0
/// (as the official SDK does) when the connection is not ready or closed. A request that is
/// not valid throws IllegalArgumentException.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_getUserSecurityGroup<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    request: JByteArray<'l>,
) -> jint {
    env.with_env(|env| -> JResult<jint> {
        let c = lookup(env, handle)?;
        if request.is_null() {
            return Err(throw(env, "java/lang/NullPointerException", "request"));
        }
        let bytes = env.convert_byte_array(&request)?;
        let (Some(q), Some(target)) = (current_qot(&c), c.target.lock().clone()) else {
            return Ok(0);
        };
        let sent = GetUserSecurityGroup::from_pb(&bytes).and_then(|req| {
            let done = move |reply| deliver_reply(&target, reply);
            Ok(q.request(req, None, done)?)
        });
        match sent {
            Ok(serial) => Ok(serial as jint),
            Err(QotError::Send(SendError::InvalidArgument(m))) => Err(throw(
                env,
                "java/lang/IllegalArgumentException",
                &format!("ftapi: {m}"),
            )),
            Err(e @ QotError::InvalidGroupType(_)) => Err(throw(
                env,
                "java/lang/IllegalArgumentException",
                &format!("ftapi: {e}"),
            )),
            Err(_) => Ok(0),
        }
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Sends any request (`body`: its serialized `Request`); `request` (a `ProtoRequest`) gets
/// its one outcome in `complete(replyType, protoID, serialNo, body)`. Returns the serial
/// number, or 0 (as the official SDK does) when nothing was sent; a negative proto ID or
/// proto 1001 throws IllegalArgumentException.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_sendProto<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    proto_id: jint,
    body: JByteArray<'l>,
    request: JObject<'l>,
) -> jint {
    env.with_env(|env| -> JResult<jint> {
        let c = lookup(env, handle)?;
        if body.is_null() || request.is_null() {
            return Err(throw(
                env,
                "java/lang/NullPointerException",
                "body / listener",
            ));
        }
        let Ok(proto_id) = u32::try_from(proto_id) else {
            return Err(throw(
                env,
                "java/lang/IllegalArgumentException",
                &format!("ftapi: invalid protoID {proto_id}"),
            ));
        };
        let bytes = env.convert_byte_array(&body)?;
        let Some(q) = current_qot(&c) else {
            return Ok(0);
        };
        let global: Global<JObject<'static>> = env.new_global_ref(&request)?;
        match q.send_proto(proto_id, bytes, None, move |r| complete_proto(global, r)) {
            Ok(serial) => Ok(serial as jint),
            Err(SendError::InvalidArgument(m)) => Err(throw(
                env,
                "java/lang/IllegalArgumentException",
                &format!("ftapi: {m}"),
            )),
            Err(_) => Ok(0),
        }
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_version<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
) -> JString<'l> {
    env.with_env(|env| -> JResult<JString<'l>> { env.new_string(env!("CARGO_PKG_VERSION")) })
        .resolve::<ThrowRuntimeExAndDefault>()
}

/// The library's exit policy (`opend::close_all`), from the JVM's shutdown hook: closes
/// every connection still open, each pending request getting its outcome first.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_closeAll<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
) {
    env.with_env(|_env| -> JResult<()> {
        client::close_all();
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// How many connection objects are alive (not yet closed or cleaned); for tests.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_liveHandles<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
) -> jint {
    env.with_env(|_env| -> JResult<jint> { Ok(REGISTRY.len() as jint) })
        .resolve::<ThrowRuntimeExAndDefault>()
}

/// Sets the client-side rate limiter's mode (0 off, 1 fail-fast, 2 wait) for connections
/// started afterwards; another value throws IllegalArgumentException.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setRateLimitMode<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    mode: jint,
) {
    env.with_env(|env| -> JResult<()> {
        let c = lookup(env, handle)?;
        c.slot.set_rate_limit_mode(mode).map_err(|e| {
            throw(
                env,
                "java/lang/IllegalArgumentException",
                &format!("ftapi: {e}"),
            )
        })
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// At most `max` requests of `proto_id` per sliding `window_ms`; `max` 0 removes the quota.
/// Negative values, or a zero window with a quota, throw IllegalArgumentException.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setRateLimit<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    proto_id: jint,
    max: jint,
    window_ms: jint,
) {
    env.with_env(|env| -> JResult<()> {
        let c = lookup(env, handle)?;
        let bad = |env: &mut Env| {
            throw(
                env,
                "java/lang/IllegalArgumentException",
                &format!(
                    "ftapi: bad rate limit (protoID {proto_id}, max {max}, window {window_ms} ms)"
                ),
            )
        };
        // Java's ints are signed; the slot refuses a zero window itself.
        if proto_id < 0 || max < 0 || window_ms < 0 {
            return Err(bad(env));
        }
        c.slot
            .set_rate_limit(proto_id as u32, max as u32, window_ms as u64)
            .map_err(|_| bad(env))
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Auto-reconnect for connections started afterwards; `initial_ms` / `max_ms` <= 0 keep the
/// defaults (500 / 30 000).
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setAutoReconnect<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    enable: jboolean,
    initial_ms: jint,
    max_ms: jint,
    queue: jboolean,
) {
    env.with_env(|env| -> JResult<()> {
        let c = lookup(env, handle)?;
        c.slot
            .set_auto_reconnect(enable, ms(initial_ms), ms(max_ms), queue);
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// The silence watchdog for connections started afterwards; <= 0 turns it off.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setSilenceTimeout<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    ms_arg: jint,
) {
    env.with_env(|env| -> JResult<()> {
        let c = lookup(env, handle)?;
        c.slot.set_silence_timeout_ms(ms(ms_arg));
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Connect timeout, largest body from OpenD and send-buffer limit for connections started
/// afterwards; a value <= 0 keeps its default.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setLimits<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    connect_timeout_ms: jint,
    max_body_len: jlong,
    send_buffer_limit: jlong,
) {
    env.with_env(|env| -> JResult<()> {
        let c = lookup(env, handle)?;
        let size = |v: jlong| usize::try_from(v.max(0)).unwrap_or(usize::MAX);
        c.slot.set_limits(
            ms(connect_timeout_ms),
            size(max_body_len),
            size(send_buffer_limit),
        );
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// OpenD's serverVer from InitConnect; 0 before that.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_getServerVer<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
) -> jint {
    env.with_env(|env| -> JResult<jint> {
        let c = lookup(env, handle)?;
        Ok(c.slot.server_ver())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Waits until InitConnect finished and returns its error code (0 on success), or
/// `Long.MIN_VALUE` on timeout (`timeout_ms` <= 0 waits without limit). Throws
/// IllegalStateException before initConnect or from inside a callback.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_waitInit<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    handle: jlong,
    timeout_ms: jint,
) -> jlong {
    env.with_env(|env| -> JResult<jlong> {
        let c = lookup(env, handle)?;
        match c.slot.wait_init(ms(timeout_ms)) {
            Ok(code) => Ok(code),
            Err(WaitError::Timeout) => Ok(i64::MIN),
            Err(WaitError::InCallback) => Err(throw(
                env,
                "java/lang/IllegalStateException",
                "ftapi: waitInit called from inside a callback (it would deadlock)",
            )),
            Err(WaitError::NotStarted) => Err(throw(
                env,
                "java/lang/IllegalStateException",
                "ftapi: waitInit before initConnect",
            )),
        }
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// Routes the library's log lines (process-wide) to `sink.log(int, String, String)` up to
/// `max_level` (1 error .. 5 trace; 0 off); a null sink goes back to stderr at `FTAPI_LOG`.
/// `sink` is the binding's own wrapper, which catches what the user's listener throws.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_futu_openapi_NativeLib_setLogSink<'l>(
    mut env: EnvUnowned<'l>,
    _class: JObject<'l>,
    sink: JObject<'l>,
    max_level: jint,
) {
    env.with_env(|env| -> JResult<()> {
        if sink.is_null() {
            crate::log::set_logger(None, None);
            return Ok(());
        }
        let global: Arc<Global<JObject<'static>>> = Arc::new(env.new_global_ref(&sink)?);
        let logger: Logger = Arc::new(move |level: Level, target: &str, msg: &str| {
            let Ok(vm) = JavaVM::singleton() else {
                return;
            };
            attach_as_daemon(&vm);
            let r: JResult<()> = vm.attach_current_thread(|env| {
                let t = env.new_string(target)?;
                let m = env.new_string(msg)?;
                env.call_method(
                    global.as_obj(),
                    jni_str!("log"),
                    jni_sig!("(ILjava/lang/String;Ljava/lang/String;)V"),
                    &[
                        JValue::Int(level as i32),
                        JValue::Object(&t),
                        JValue::Object(&m),
                    ],
                )?;
                Ok(())
            });
            if let Err(e) = r {
                report!("ftapi: Java log listener failed: {e}");
            }
        });
        crate::log::set_logger(Some(logger), Level::from_i32(max_level.clamp(0, 5)));
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}
