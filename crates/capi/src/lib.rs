//! ftapi's C ABI: a thin translation of the Rust API ([`opend::qot`]) for C, C++, C# and
//! Python, built as `libftapi.so` / `libftapi.a`; beside it the official native channel's
//! `FTAPIChannel_*` (`channel`) and, with the `java` feature (on by default), the Java
//! binding's JNI exports (`jni`).
//!
//! Every export checks its pointers, validates UTF-8 and catches panics; none unwinds
//! into the caller. The header `include/ftapi.h` is generated from this file by cbindgen.

#![allow(non_camel_case_types, clippy::missing_safety_doc)]

/// The official native channel (`include/FTAPIChannel.h`, hand-written).
/// cbindgen:ignore
mod channel;
/// The one handle scheme of the C objects.
/// cbindgen:ignore
mod handles;
/// The Java binding's JNI exports.
/// cbindgen:ignore
#[cfg(feature = "java")]
mod jni;
mod types;

pub use types::*;

// The layers below, under the names the exports use.
use client::{engine, errcode, log, qot};
use opend_proto::{ftlog, pb, wire};

use crate::engine::{ConnectError, Events, Options, Reply, SendError, State};
use crate::qot::{
    ConfigError, Door, GetUserSecurityGroup, Qot, QotError, QotSlot, SecondConnect, WaitError,
};
use parking_lot::{Mutex, ReentrantMutex};
use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// Runs an export's body; a panic becomes `default` instead of unwinding into C.
fn guard<R>(default: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

/// Borrows a C string as UTF-8.
unsafe fn str_arg<'a>(p: *const c_char) -> Result<&'a str, FtapiResult> {
    if p.is_null() {
        return Err(FtapiResult::FTAPI_ERR_NULL_ARGUMENT);
    }
    // SAFETY: the caller promises a NUL-terminated string that outlives the call.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| FtapiResult::FTAPI_ERR_INVALID_UTF8)
}

/// Borrows a (pointer, length) buffer; NULL with length 0 is the empty slice.
unsafe fn bytes_arg<'a>(p: *const u8, len: usize) -> Result<&'a [u8], FtapiResult> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(FtapiResult::FTAPI_ERR_NULL_ARGUMENT)
        };
    }
    if len > isize::MAX as usize {
        return Err(FtapiResult::FTAPI_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: the caller promises `len` readable bytes at `p` for the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A C string for a Rust one; interior NULs (which C cannot carry) become U+FFFD.
fn c_string(s: &str) -> CString {
    CString::new(s)
        .unwrap_or_else(|_| CString::new(s.replace('\0', "\u{FFFD}")).expect("no NUL left"))
}

fn send_error(e: &SendError) -> FtapiResult {
    match e {
        SendError::NotReady => FtapiResult::FTAPI_ERR_NOT_READY,
        SendError::Closed => FtapiResult::FTAPI_ERR_CLOSED,
        SendError::Reconnecting => FtapiResult::FTAPI_ERR_RECONNECTING,
        SendError::Backpressure { .. } => FtapiResult::FTAPI_ERR_BACKPRESSURE,
        SendError::InvalidArgument(_) => FtapiResult::FTAPI_ERR_INVALID_ARGUMENT,
    }
}

fn config_error(e: &ConfigError) -> FtapiResult {
    match e {
        ConfigError::BadRsaKey(_) => FtapiResult::FTAPI_ERR_BAD_RSA_KEY,
        ConfigError::BadCaFile(_) => FtapiResult::FTAPI_ERR_BAD_CA_FILE,
        ConfigError::ZeroWindow | ConfigError::UnknownRateLimitMode(_) => {
            FtapiResult::FTAPI_ERR_INVALID_ARGUMENT
        }
    }
}

fn connect_error(e: &ConnectError) -> FtapiResult {
    match e {
        ConnectError::InvalidArgument(_) => FtapiResult::FTAPI_ERR_INVALID_ARGUMENT,
        ConnectError::NoRsaKey => FtapiResult::FTAPI_ERR_NO_RSA_KEY,
        ConnectError::AlreadyConnected => FtapiResult::FTAPI_ERR_ALREADY_CONNECTED,
        ConnectError::InCallback => FtapiResult::FTAPI_ERR_IN_CALLBACK,
        ConnectError::Init { .. } => FtapiResult::FTAPI_ERR_CLOSED,
    }
}

/// Starts a connection of `qot`'s slot through `door`, with this object's callbacks.
fn connect(qot: &Arc<FtapiQot>, door: Door, host: &str, port: u16) -> Result<(), FtapiResult> {
    let events = FfiEvents { qot: qot.clone() };
    qot.slot
        .connect(door, host, port, events)
        .map(drop)
        .map_err(|e| connect_error(&e))
}

fn qot_error(e: &QotError) -> FtapiResult {
    match e {
        QotError::InvalidGroupType(_) => FtapiResult::FTAPI_ERR_INVALID_GROUP_TYPE,
        QotError::Send(s) => send_error(s),
        QotError::InCallback => FtapiResult::FTAPI_ERR_IN_CALLBACK,
        QotError::Reply { .. } => FtapiResult::FTAPI_ERR_INVALID_ARGUMENT,
    }
}

/// A caller's `user_data` and its finalizer: dropping it runs `free_user_data` once. Held
/// behind an `Arc` by whatever can call back with it, so the finalizer runs after the
/// last callback that could see `user_data`.
struct UserData {
    ptr: *mut c_void,
    free: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
}

// SAFETY: the caller promises (header) that user_data may be used from the library's
// threads; we never dereference it ourselves.
unsafe impl Send for UserData {}
// SAFETY: as above; it is only passed back.
unsafe impl Sync for UserData {}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(f) = self.free {
            // SAFETY: the finalizer the caller registered, with its own user_data.
            guard((), || unsafe { f(self.ptr) });
        }
    }
}

/// The registered callback table and its user data.
struct SpiHolder {
    spi: FtapiQotSpi,
    _user_data: UserData,
}

impl SpiHolder {
    fn new(spi: FtapiQotSpi) -> SpiHolder {
        SpiHolder {
            spi,
            _user_data: UserData {
                ptr: spi.user_data,
                free: spi.free_user_data,
            },
        }
    }
}

// SAFETY: the table holds function pointers and the user data (see UserData).
unsafe impl Send for SpiHolder {}
// SAFETY: as above; only read.
unsafe impl Sync for SpiHolder {}

/// One OpenD quote connection. Opaque; create with ftapi_qot_new, free with
/// ftapi_qot_free. A `FtapiQot*` is a handle, never dereferenced: every function looks it
/// up, so a freed or made-up one gets FTAPI_ERR_INVALID_ARGUMENT (or 0 / nothing done
/// where a function returns no code), and handles are not reused.
pub struct FtapiQot {
    /// Its key in [`QOTS`]: what C holds as a `FtapiQot*` and gets back in callbacks.
    handle: usize,
    /// The Rust API's reusable connection: options, connect, close, reconnect.
    slot: QotSlot,
    spi: Mutex<Option<Arc<SpiHolder>>>,
    /// Held around every callback; ftapi_qot_set_spi takes it too, so when it
    /// returns no callback of the previous table is running (reentrant, so a callback
    /// may call it).
    callback_lock: ReentrantMutex<()>,
    state_cb: Mutex<Option<Arc<StateCallback>>>,
}

/// `ftapi_qot_set_state_callback`'s function and user data.
struct StateCallback {
    cb: unsafe extern "C" fn(
        user_data: *mut c_void,
        qot: *mut FtapiQot,
        state: i32,
        reason: *const c_char,
    ),
    user_data: UserData,
}

/// The live connection objects (see `handles`).
static QOTS: handles::Handles<FtapiQot> = handles::Handles::new();

impl FtapiQot {
    fn ptr(&self) -> *mut FtapiQot {
        self.handle as *mut FtapiQot
    }

    /// Calls `f` with the current callback table, if any, holding the callback lock.
    fn with_spi(self: &Arc<Self>, f: impl FnOnce(&FtapiQotSpi, *mut FtapiQot)) {
        let _g = self.callback_lock.lock();
        let spi = self.spi.lock().clone();
        if let Some(spi) = spi {
            let p = self.ptr();
            crate::engine::guard_callback("a C callback", || f(&spi.spi, p));
        }
    }

    /// The outcome of a request sent with its own callback.
    fn deliver_groups_to(self: &Arc<Self>, reply: Reply, rcb: RequestCb<FtapiGroupsCallback>) {
        let serial = reply.serial;
        let owned = OwnedReply::from_engine(reply);
        self.with_request_cb(|p| {
            if let Some(f) = rcb.cb {
                // SAFETY: the caller's callback; the reply lives until it returns.
                unsafe { f(rcb.user_data.ptr, p, serial, &owned.c) };
            }
        });
        // Its free_user_data, right after the callback.
        drop(rcb);
    }

    fn deliver_groups(self: &Arc<Self>, reply: Reply) {
        let serial = reply.serial;
        let owned = OwnedReply::from_engine(reply);
        self.with_spi(|spi, p| {
            if let Some(f) = spi.on_reply_get_user_security_group {
                // SAFETY: a callback the caller registered; the reply lives until it returns.
                unsafe { f(spi.user_data, p, serial, &owned.c) };
            } else if let Some(f) = spi.on_reply {
                // SAFETY: as above; the bytes live until it returns.
                unsafe {
                    f(
                        spi.user_data,
                        p,
                        reply_type(owned.c.ret_type),
                        3222,
                        serial,
                        owned.c.pb,
                        owned.c.pb_len,
                    )
                };
            }
        });
    }

    /// Runs a per-request callback under the callback lock, so that it never overlaps
    /// the SPI callbacks; its `free_user_data` runs when `ud` drops, right after.
    fn with_request_cb(self: &Arc<Self>, f: impl FnOnce(*mut FtapiQot)) {
        let _g = self.callback_lock.lock();
        let p = self.ptr();
        crate::engine::guard_callback("a request callback", || f(p));
    }

    /// The current connection, or NOT_READY before the first connect.
    fn session(&self) -> Result<Arc<Qot>, FtapiResult> {
        self.slot.current().ok_or(FtapiResult::FTAPI_ERR_NOT_READY)
    }

    /// Sends Get Groups From Watchlist on the current connection, made by `request` once
    /// there is one (so NOT_READY comes before INVALID_GROUP_TYPE); `deliver` gets the
    /// engine's reply, from which the C view is built once.
    fn send_groups(
        &self,
        request: impl FnOnce() -> Result<GetUserSecurityGroup, QotError>,
        deliver: impl FnOnce(Reply) + Send + 'static,
    ) -> Result<u32, FtapiResult> {
        let session = self.session()?;
        let request = request().map_err(|e| qot_error(&e))?;
        session
            .request_as(request, None, deliver)
            .map_err(|e| send_error(&e))
    }
}

/// `FTAPI_ReqReplyType` for a retType: library-made outcomes keep theirs, everything
/// OpenD sent is a server reply (0).
fn reply_type(ret_type: i32) -> i32 {
    match ret_type {
        -100 | -200 | -300 | -500 => ret_type,
        _ => 0,
    }
}

struct FfiEvents {
    qot: Arc<FtapiQot>,
}

impl Events for FfiEvents {
    fn on_init_connect(&mut self, _conn: &crate::engine::Connection, err_code: i64, desc: &str) {
        let desc = c_string(desc);
        self.qot.with_spi(|spi, p| {
            if let Some(f) = spi.on_init_connect {
                // SAFETY: a callback the caller registered; desc lives until it returns.
                unsafe { f(spi.user_data, p, err_code, desc.as_ptr()) };
            }
        });
    }

    fn on_disconnect(&mut self, _conn: &crate::engine::Connection, err_code: i64, reason: &str) {
        let reason = c_string(reason);
        self.qot.with_spi(|spi, p| {
            if let Some(f) = spi.on_disconnect {
                // SAFETY: a callback the caller registered; reason lives until it returns.
                unsafe { f(spi.user_data, p, err_code, reason.as_ptr()) };
            }
        });
    }

    fn on_state_change(&mut self, _conn: &crate::engine::Connection, state: State, reason: &str) {
        let reason = c_string(reason);
        let _g = self.qot.callback_lock.lock();
        let cb = self.qot.state_cb.lock().clone();
        if let Some(cb) = cb {
            let p = self.qot.ptr();
            crate::engine::guard_callback("the state callback", || {
                // SAFETY: a callback the caller registered; reason lives until it returns.
                unsafe { (cb.cb)(cb.user_data.ptr, p, state as i32, reason.as_ptr()) }
            });
        }
    }

    fn on_push(
        &mut self,
        _conn: &crate::engine::Connection,
        proto_id: u32,
        _serial: u32,
        body: &[u8],
    ) {
        self.qot.with_spi(|spi, p| {
            if let Some(f) = spi.on_push {
                // SAFETY: a callback the caller registered; body lives until it returns.
                unsafe { f(spi.user_data, p, proto_id, body.as_ptr(), body.len()) };
            }
        });
    }
}

/// The object behind a `FtapiQot*` handle from C: NULL_ARGUMENT for NULL,
/// INVALID_ARGUMENT for a handle that is not live (freed, or never issued). Never
/// dereferences it, so any value is safe to pass.
fn qot_arg(qot: *const FtapiQot) -> Result<Arc<FtapiQot>, FtapiResult> {
    if qot.is_null() {
        return Err(FtapiResult::FTAPI_ERR_NULL_ARGUMENT);
    }
    QOTS.get(qot as usize)
        .ok_or(FtapiResult::FTAPI_ERR_INVALID_ARGUMENT)
}

/// The body of most exports: the object behind `qot` (see [`qot_arg`]), a `Result` turned
/// into a code, and a panic into FTAPI_ERR_PANIC.
fn with_qot(
    qot: *const FtapiQot,
    body: impl FnOnce(Arc<FtapiQot>) -> Result<(), FtapiResult>,
) -> FtapiResult {
    guard(FtapiResult::FTAPI_ERR_PANIC, || {
        result(qot_arg(qot).and_then(body))
    })
}

fn result(r: Result<(), FtapiResult>) -> FtapiResult {
    r.err().unwrap_or(FtapiResult::FTAPI_OK)
}

/// The library's version, e.g. `"0.1.0"`. Static; never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ftapi_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A static English description of a result code; unknown values give
/// `"unknown result code"`. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ftapi_result_message(result: i32) -> *const c_char {
    FtapiResult::message(result).as_ptr().cast()
}

/// The high 32 bits of an `err_code` from `on_init_connect` / `on_disconnect`: a
/// `FTAPI_CONNECT_FAIL_*` value, or `FTAPI_INIT_FAIL` (100).
#[unsafe(no_mangle)]
pub extern "C" fn ftapi_err_code_high(err_code: i64) -> i32 {
    crate::errcode::high(err_code)
}

/// The low 32 bits of an `err_code`: an OS error number, or a `FTAPI_INIT_FAIL_*` value
/// when the high part is `FTAPI_INIT_FAIL`.
#[unsafe(no_mangle)]
pub extern "C" fn ftapi_err_code_low(err_code: i64) -> i32 {
    crate::errcode::low(err_code)
}

/// Creates a connection object (not connected yet). Free it with ftapi_qot_free.
/// Returns NULL only if memory runs out.
#[unsafe(no_mangle)]
pub extern "C" fn ftapi_qot_new() -> *mut FtapiQot {
    guard(std::ptr::null_mut(), || {
        let options = Options {
            programming_language: "C".into(),
            ..Options::default()
        };
        let (_, qot) = QOTS.insert(|handle| FtapiQot {
            handle,
            slot: QotSlot::new(options, SecondConnect::Refuse),
            spi: Mutex::new(None),
            callback_lock: ReentrantMutex::new(()),
            state_cb: Mutex::new(None),
        });
        qot.ptr()
    })
}

/// Closes the connection (as ftapi_qot_close) and releases the object. NULL is a
/// no-op. Safe from any thread and from inside a callback; then the rest of the outcomes
/// (-200 for each pending request) and `on_disconnect` follow after that callback
/// returns, with the same `qot` pointer still valid for them, and `free_user_data` runs
/// last. A handle freed already (or never issued) is ignored, so a second free is
/// harmless; calls made with it afterwards get FTAPI_ERR_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_free(qot: *mut FtapiQot) {
    if qot.is_null() {
        return;
    }
    guard((), || {
        // A handle that is not live (freed already, or never issued) is left alone.
        let Some(qot) = QOTS.remove(qot as usize) else {
            return;
        };
        // Closing waits for the I/O thread (unless this is it), whose callbacks may use
        // this object: no lock of ours is held meanwhile.
        qot.slot.release();
        drop(qot);
    })
}

/// The library's exit policy, the same in every language: closes every connection of the
/// process that is still open, each as ftapi_qot_close does (pending requests get -200,
/// then `on_disconnect`), and returns once they have all finished. Objects stay valid
/// (free them as usual). Call it before the program can no longer run its callbacks, e.g.
/// before returning from `main`; the C#, Python and Java bindings call it when their runtime
/// shuts down. Without it, a program that exits gets no further callbacks: the I/O threads
/// end with the process. Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn ftapi_close_all() {
    guard((), client::close_all)
}

/// Sets InitConnect's `clientID` and `clientVer` (used by the next
/// ftapi_qot_init_connect). Errors: NULL_ARGUMENT, INVALID_UTF8.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_client_info(
    qot: *mut FtapiQot,
    client_id: *const c_char,
    client_ver: i32,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        // SAFETY: the caller passes a valid argument (header).
        let id = unsafe { str_arg(client_id) }?;
        qot.slot.set_client_info(id, client_ver);
        Ok(())
    };
    with_qot(qot, body)
}

/// Sets InitConnect's `programmingLanguage` (default `"C"`). Errors: NULL_ARGUMENT,
/// INVALID_UTF8.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_programming_language(
    qot: *mut FtapiQot,
    language: *const c_char,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        // SAFETY: the caller passes a valid argument (header).
        let lang = unsafe { str_arg(language) }?;
        qot.slot.set_programming_language(lang);
        Ok(())
    };
    with_qot(qot, body)
}

/// Sets the RSA private key shared with OpenD (PEM text, PKCS#1 or PKCS#8, 1024 bits),
/// needed for encrypted connections. An empty string removes the key. The key is
/// checked now and never appears in any message. Errors: NULL_ARGUMENT, INVALID_UTF8,
/// BAD_RSA_KEY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_rsa_private_key(
    qot: *mut FtapiQot,
    pem: *const c_char,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        // SAFETY: the caller passes a valid argument (header).
        let pem = unsafe { str_arg(pem) }?;
        qot.slot
            .set_rsa_private_key(pem)
            .map_err(|e| config_error(&e))
    };
    with_qot(qot, body)
}

/// Sets the per-request timeout in milliseconds (0 restores the default, 12 000), used by
/// connections started after this call. Errors: NULL_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_request_timeout(
    qot: *mut FtapiQot,
    timeout_ms: u32,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        qot.slot.set_request_timeout_ms(timeout_ms.into());
        Ok(())
    };
    with_qot(qot, body)
}

/// Sets limits, used by connections started after this call (0 keeps a value's
/// default): `connect_timeout_ms` for the TCP connect (default 10 000);
/// `max_body_len` for a frame body from OpenD (default 64 MiB; a larger one ends the
/// connection before anything is allocated for it); `send_buffer_limit` for the bytes
/// that may wait to be sent (default 64 MiB; past it sends fail with
/// FTAPI_ERR_BACKPRESSURE). Errors: NULL_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_limits(
    qot: *mut FtapiQot,
    connect_timeout_ms: u32,
    max_body_len: usize,
    send_buffer_limit: usize,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        qot.slot
            .set_limits(connect_timeout_ms.into(), max_body_len, send_buffer_limit);
        Ok(())
    };
    with_qot(qot, body)
}

/// Sets the client-side rate limiter's mode (`FTAPI_RATE_LIMIT_OFF`, `_FAIL_FAST`, the
/// default, or `_WAIT`), used by connections started after this call. Over its quota a
/// request completes at once with ret_type `FTAPI_REPLY_RATE_LIMITED` (fail-fast; its
/// message says when the next slot frees) or waits for a slot within its timeout (wait);
/// either way nothing over the quota is sent. The environment variable
/// `FTAPI_RATE_LIMIT=off|fail-fast|wait` changes the default. Errors: NULL_ARGUMENT,
/// INVALID_ARGUMENT (unknown mode).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_rate_limit_mode(
    qot: *mut FtapiQot,
    mode: i32,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        qot.slot
            .set_rate_limit_mode(mode)
            .map_err(|e| config_error(&e))
    };
    with_qot(qot, body)
}

/// Sets the client-side quota of a proto ID: at most `max` requests per sliding
/// `window_ms`. `max` 0 removes the quota. The default is OpenD's documented one for
/// 3222 (10 per 30 000 ms). Errors: NULL_ARGUMENT, INVALID_ARGUMENT (window 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_rate_limit(
    qot: *mut FtapiQot,
    proto_id: u32,
    max: u32,
    window_ms: u32,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        qot.slot
            .set_rate_limit(proto_id, max, window_ms.into())
            .map_err(|e| config_error(&e))
    };
    with_qot(qot, body)
}

/// Turns auto-reconnect on (`enable` non-zero) or off (the default), for connections
/// started after this call. After an unexpected disconnect (not after
/// `ftapi_qot_close`), requests on the wire complete with -200 and `on_disconnect` runs
/// as usual; then the library reconnects with exponential backoff and jitter (attempt n
/// waits between d/2 and d, d = min(initial_ms * 2^(n-1), max_ms); 0 keeps the defaults
/// 500 and 30 000), redoes InitConnect (and the key exchange) and calls
/// `on_init_connect` again (err_code 0; `ftapi_qot_get_connect_id` gives the new ID).
/// Requests are never resent. While reconnecting, new requests fail with
/// FTAPI_ERR_RECONNECTING, or, with `queue_while_reconnecting` non-zero, wait for the
/// connection within their timeout. Errors: NULL_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_auto_reconnect(
    qot: *mut FtapiQot,
    enable: i32,
    initial_ms: u32,
    max_ms: u32,
    queue_while_reconnecting: i32,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        qot.slot.set_auto_reconnect(
            enable != 0,
            initial_ms.into(),
            max_ms.into(),
            queue_while_reconnecting != 0,
        );
        Ok(())
    };
    with_qot(qot, body)
}

/// Registers a state-change callback (NULL `callback` removes it): called on the I/O
/// thread with the new `FTAPI_STATE_*` and a UTF-8 reason (borrowed for the call), in
/// order, never overlapping the SPI callbacks. `free_user_data` (may be NULL) runs once,
/// after the last call that can see `user_data`. Errors: NULL_ARGUMENT (qot).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_state_callback(
    qot: *mut FtapiQot,
    callback: FtapiStateCallback,
    user_data: *mut c_void,
    free_user_data: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        let new = callback.map(|cb| {
            Arc::new(StateCallback {
                cb,
                user_data: UserData {
                    ptr: user_data,
                    free: free_user_data,
                },
            })
        });
        let old = {
            let _g = qot.callback_lock.lock();
            std::mem::replace(&mut *qot.state_cb.lock(), new)
        };
        drop(old);
        Ok(())
    };
    with_qot(qot, body)
}

/// OpenD's `serverVer` from InitConnect (e.g. 903 for 9.3); 0 before that or for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_get_server_ver(qot: *const FtapiQot) -> i32 {
    guard(0, || {
        let Ok(qot) = qot_arg(qot) else {
            return 0;
        };
        qot.slot.server_ver()
    })
}

struct LogCallback {
    cb: unsafe extern "C" fn(
        user_data: *mut c_void,
        level: i32,
        target: *const c_char,
        message: *const c_char,
    ),
    user_data: UserData,
}

/// Sends the library's log lines to `callback` (process-wide), up to `max_level`
/// (`FTAPI_LOG_ERROR` 1 ... `FTAPI_LOG_TRACE` 5; 0 turns logging off). NULL `callback`
/// goes back to stderr at the level in the environment variable
/// `FTAPI_LOG=error|warn|info|debug|trace` (off when unset). At debug there is one line
/// per packet (proto ID, serial number, length, reply latency); key material never
/// appears. The callback runs on whichever thread logs, calls may overlap across
/// connections; `target` and `message` are UTF-8, borrowed for the call.
/// `free_user_data` (may be NULL) runs once, after the last call that can see
/// `user_data`. Never fails.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_set_log_callback(
    callback: FtapiLogCallback,
    user_data: *mut c_void,
    free_user_data: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
    max_level: i32,
) {
    guard((), || {
        let Some(cb) = callback else {
            crate::log::set_logger(None, None);
            return;
        };
        let holder = Arc::new(LogCallback {
            cb,
            user_data: UserData {
                ptr: user_data,
                free: free_user_data,
            },
        });
        let logger: crate::log::Logger = Arc::new(move |level, target, msg| {
            let target = c_string(target);
            let msg = c_string(msg);
            // SAFETY: a callback the caller registered; the strings live until it returns.
            unsafe {
                (holder.cb)(
                    holder.user_data.ptr,
                    level as i32,
                    target.as_ptr(),
                    msg.as_ptr(),
                )
            };
        });
        crate::log::set_logger(Some(logger), crate::log::Level::from_i32(max_level.min(5)));
    })
}

/// Sets the silence watchdog in milliseconds: a connection on which OpenD sends nothing
/// (not even KeepAlive replies) for this long ends with a reason that says so. 0 turns
/// it off; the default is 33 000, as in the official Python client. Used by connections
/// started after this call. Errors: NULL_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_silence_timeout(
    qot: *mut FtapiQot,
    timeout_ms: u32,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        qot.slot.set_silence_timeout_ms(timeout_ms.into());
        Ok(())
    };
    with_qot(qot, body)
}

/// Registers the callback table (copied; NULL removes it). When this returns, no
/// callback of the previous table is running (unless this is called from inside one of
/// them) and its `free_user_data` has run or runs right after that callback returns.
/// Errors: NULL_ARGUMENT (qot).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_spi(
    qot: *mut FtapiQot,
    spi: *const FtapiQotSpi,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        // SAFETY: a non-NULL spi points to a table the caller filled in.
        let new = (!spi.is_null()).then(|| Arc::new(SpiHolder::new(unsafe { *spi })));
        let old = {
            let _g = qot.callback_lock.lock();
            std::mem::replace(&mut *qot.spi.lock(), new)
        };
        drop(old);
        Ok(())
    };
    with_qot(qot, body)
}

/// Starts connecting to OpenD at `host`:`port` and returns at once; the outcome arrives
/// in `on_init_connect` (err_code 0 on success, otherwise the official code, e.g.
/// `FTAPI_INIT_FAIL << 32 | FTAPI_INIT_FAIL_OPEND_REJECT`, or a
/// `FTAPI_CONNECT_FAIL_* << 32 | errno`). `encrypt` non-zero asks for an encrypted
/// connection and needs a key from ftapi_qot_set_rsa_private_key.
/// May be called again once the previous connection has ended (also from its
/// `on_disconnect`). Errors: NULL_ARGUMENT, INVALID_UTF8, INVALID_ARGUMENT (empty host,
/// port 0), NO_RSA_KEY, ALREADY_CONNECTED.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_init_connect(
    qot: *mut FtapiQot,
    host: *const c_char,
    port: u16,
    encrypt: i32,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        // SAFETY: the caller passes a valid argument (header).
        let host = unsafe { str_arg(host) }?;
        connect(
            &qot,
            Door::Tcp {
                encrypt: encrypt != 0,
            },
            host,
            port,
        )
    };
    with_qot(qot, body)
}

/// Starts connecting to OpenD's WebSocket port (the one the official JavaScript SDK uses)
/// at `host`:`port` and returns at once: `ws://`, or `wss://` when `tls` is non-zero
/// (TLS with the system's root certificates plus those of ftapi_qot_set_tls_ca_file; the
/// certificate must name `host`). `key` is OpenD's WebSocket key (NULL or "" for none);
/// only its MD5 is sent and it never appears in any message. The outcome arrives in
/// `on_init_connect` as for ftapi_qot_init_connect: a refused login gives
/// `FTAPI_INIT_FAIL << 32 | FTAPI_INIT_FAIL_OPEND_REJECT`, a TLS or WebSocket handshake
/// failure `FTAPI_CONNECT_FAIL_CONNECT << 32` with the reason. Everything else (timeouts,
/// -100/-200 outcomes, the rate limiter, auto-reconnect, state and log callbacks) works
/// as on the TCP port. Errors: NULL_ARGUMENT (qot, host), INVALID_UTF8,
/// INVALID_ARGUMENT (empty host, port 0), ALREADY_CONNECTED.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_init_connect_ws(
    qot: *mut FtapiQot,
    host: *const c_char,
    port: u16,
    tls: i32,
    key: *const c_char,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        // SAFETY: the caller passes valid arguments (header).
        let host = unsafe { str_arg(host) }?;
        // SAFETY: as above; NULL means no key.
        let key = if key.is_null() {
            None
        } else {
            Some(unsafe { str_arg(key) }?.to_owned())
        };
        connect(&qot, Door::WebSocket { tls: tls != 0, key }, host, port)
    };
    with_qot(qot, body)
}

/// Trusts the CA certificates of a PEM file for `wss://`, besides the system's roots,
/// for connections started after this call. The file is read now; NULL or "" clears the
/// extra certificates. There is no way to turn certificate checks off. Errors:
/// NULL_ARGUMENT (qot), INVALID_UTF8, BAD_CA_FILE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_set_tls_ca_file(
    qot: *mut FtapiQot,
    path: *const c_char,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        // SAFETY: the caller passes a valid argument (header); NULL clears.
        let path = if path.is_null() {
            ""
        } else {
            unsafe { str_arg(path) }?
        };
        qot.slot.set_tls_ca_file(path).map_err(|e| config_error(&e))
    };
    with_qot(qot, body)
}

/// Waits (at most `timeout_ms`; 0 waits without limit) until the InitConnect started by
/// ftapi_qot_init_connect has finished, for programs that prefer blocking over
/// `on_init_connect` (which still runs, and has returned by the time this does).
/// `*err_code_out` (may be NULL) gets the outcome:
/// 0 on success, otherwise the code `on_init_connect` gets. Errors: NULL_ARGUMENT,
/// NOT_READY (no init_connect yet), TIMEOUT, IN_CALLBACK.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_wait_init(
    qot: *mut FtapiQot,
    timeout_ms: u32,
    err_code_out: *mut i64,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        let code = qot.slot.wait_init(timeout_ms.into()).map_err(|e| match e {
            WaitError::InCallback => FtapiResult::FTAPI_ERR_IN_CALLBACK,
            WaitError::NotStarted => FtapiResult::FTAPI_ERR_NOT_READY,
            WaitError::Timeout => FtapiResult::FTAPI_ERR_TIMEOUT,
        })?;
        if !err_code_out.is_null() {
            // SAFETY: a non-NULL err_code_out points to a writable int64_t.
            unsafe { *err_code_out = code };
        }
        Ok(())
    };
    with_qot(qot, body)
}

/// The connection ID OpenD assigned in InitConnect; 0 before that, or for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_get_connect_id(qot: *const FtapiQot) -> u64 {
    guard(0, || {
        let Ok(qot) = qot_arg(qot) else {
            return 0;
        };
        qot.slot.conn_id()
    })
}

/// The connection's state (`FTAPI_STATE_*`); `FTAPI_STATE_CLOSED` before the first
/// ftapi_qot_init_connect or for NULL. Read outside the callbacks, CLOSED means every
/// outcome, `on_disconnect` and the last state change have already been delivered.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_get_state(qot: *const FtapiQot) -> i32 {
    guard(State::Closed as i32, || {
        let Ok(qot) = qot_arg(qot) else {
            return State::Closed as i32;
        };
        qot.slot.state() as i32
    })
}

/// Closes the connection: every pending request completes with retType -200, then
/// `on_disconnect` runs with err_code 0. Idempotent. From another thread it returns
/// after all of that; from inside a callback it returns at once and the rest follows
/// when the callback returns. Errors: NULL_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_close(qot: *mut FtapiQot) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<(), FtapiResult> {
        qot.slot.close();
        Ok(())
    };
    with_qot(qot, body)
}

/// As [`with_qot`], for the exports that send: `*serial_out` (may be NULL) gets the
/// serial number the body returns, or 0 when it fails.
///
/// # Safety
/// `serial_out` is NULL or writable (`qot` may be anything: it is only looked up).
unsafe fn send_on_qot(
    qot: *const FtapiQot,
    serial_out: *mut u32,
    body: impl FnOnce(Arc<FtapiQot>) -> Result<u32, FtapiResult>,
) -> FtapiResult {
    let write = |serial: u32| {
        if !serial_out.is_null() {
            // SAFETY: the caller's promise (above).
            unsafe { *serial_out = serial };
        }
    };
    guard(FtapiResult::FTAPI_ERR_PANIC, || {
        write(0);
        match qot_arg(qot).and_then(body) {
            Ok(serial) => {
                write(serial);
                FtapiResult::FTAPI_OK
            }
            Err(e) => e,
        }
    })
}

/// Sends Get Groups From Watchlist (proto 3222) for `group_type` (1 custom, 2 system,
/// 3 all). The outcome arrives once in `on_reply_get_user_security_group` (or `on_reply`
/// if that is NULL). `*serial_out` (may be NULL) gets the serial number, or 0 on error.
/// Errors: NULL_ARGUMENT, INVALID_GROUP_TYPE, NOT_READY, CLOSED, BACKPRESSURE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_get_user_security_group(
    qot: *mut FtapiQot,
    group_type: i32,
    serial_out: *mut u32,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<u32, FtapiResult> {
        let q2 = qot.clone();
        qot.send_groups(
            || GetUserSecurityGroup::from_i32(group_type),
            move |r| q2.deliver_groups(r),
        )
    };
    // SAFETY: qot and serial_out as the header documents.
    unsafe { send_on_qot(qot, serial_out, body) }
}

/// As ftapi_qot_get_user_security_group, with a serialized
/// `Qot_GetUserSecurityGroup.Request` (what the C++ SDK takes). The bytes must parse and
/// name a valid group type. Errors: as above, plus INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_get_user_security_group_pb(
    qot: *mut FtapiQot,
    request: *const u8,
    len: usize,
    serial_out: *mut u32,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<u32, FtapiResult> {
        // SAFETY: the caller passes a valid argument (header).
        let req = unsafe { bytes_arg(request, len) }?;
        let q2 = qot.clone();
        qot.send_groups(
            || GetUserSecurityGroup::from_pb(req),
            move |r| q2.deliver_groups(r),
        )
    };
    // SAFETY: qot and serial_out as the header documents.
    unsafe { send_on_qot(qot, serial_out, body) }
}

/// Blocking Get Groups From Watchlist: waits for the outcome (at most `timeout_ms`; 0
/// means the connection's request timeout) and stores an owned reply in `*out`, which
/// the caller frees with ftapi_user_security_group_reply_free. FTAPI_OK means `*out`
/// holds the outcome, whose `ret_type` may still say failure (-1, -100, -200, -500).
/// Errors (then `*out` is NULL): NULL_ARGUMENT, INVALID_GROUP_TYPE, NOT_READY, CLOSED,
/// BACKPRESSURE, IN_CALLBACK (called from a callback, where waiting would deadlock).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_get_user_security_group_sync(
    qot: *mut FtapiQot,
    group_type: i32,
    timeout_ms: u32,
    out: *mut *mut FtapiUserSecurityGroupReply,
) -> FtapiResult {
    guard(FtapiResult::FTAPI_ERR_PANIC, || {
        result((|| {
            if out.is_null() {
                return Err(FtapiResult::FTAPI_ERR_NULL_ARGUMENT);
            }
            // SAFETY: out is a writable pointer slot (checked non-NULL).
            unsafe { *out = std::ptr::null_mut() };
            let qot = qot_arg(qot)?;
            if crate::engine::on_io_thread() {
                return Err(FtapiResult::FTAPI_ERR_IN_CALLBACK);
            }
            // NOT_READY before INVALID_GROUP_TYPE, as for the other calls.
            qot.session()?;
            let request = GetUserSecurityGroup::from_i32(group_type).map_err(|e| qot_error(&e))?;
            let reply: Reply = qot
                .slot
                .request_blocking_as(request, timeout_ms.into())
                .map_err(|e| qot_error(&e))?;
            let owned = Box::new(OwnedReply::from_engine(reply));
            // SAFETY: as above. The C struct is the first field of the #[repr(C)] box.
            unsafe { *out = Box::into_raw(owned).cast() };
            Ok(())
        })())
    })
}

/// Frees a reply from ftapi_qot_get_user_security_group_sync. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_user_security_group_reply_free(
    reply: *mut FtapiUserSecurityGroupReply,
) {
    if reply.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: reply came from Box::into_raw of an OwnedReply, whose first field it is.
        drop(unsafe { Box::from_raw(reply.cast::<OwnedReply>()) });
    })
}

/// Sends any other OpenD request: `body` is its serialized plaintext `Request`. The
/// outcome arrives once in `on_reply` (reply_type 0 with OpenD's `Response`, or -100 /
/// -200 with an empty body). Errors: NULL_ARGUMENT, INVALID_ARGUMENT (proto 1001),
/// NOT_READY, CLOSED, BACKPRESSURE (also for a body larger than the send buffer limit,
/// refused before it is copied).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_send_proto(
    qot: *mut FtapiQot,
    proto_id: u32,
    body: *const u8,
    len: usize,
    serial_out: *mut u32,
) -> FtapiResult {
    let send = |qot: Arc<FtapiQot>| -> Result<u32, FtapiResult> {
        // SAFETY: the caller passes a valid argument (header).
        let body = unsafe { bytes_arg(body, len) }?;
        let session = qot.session()?;
        let q2 = qot.clone();
        session
            .send_proto_slice(proto_id, body, None, move |r: Reply| {
                q2.with_spi(|spi, p| {
                    if let Some(f) = spi.on_reply {
                        // SAFETY: a callback the caller registered; the body lives until it returns.
                        unsafe {
                            f(
                                spi.user_data,
                                p,
                                r.kind as i32,
                                r.proto_id,
                                r.serial,
                                r.body.as_ptr(),
                                r.body.len(),
                            )
                        };
                    }
                })
            })
            .map_err(|e| send_error(&e))
    };
    // SAFETY: qot and serial_out as the header documents.
    unsafe { send_on_qot(qot, serial_out, send) }
}

/// A caller's per-request callback with its user data; dropping it runs `free_user_data`.
struct RequestCb<F> {
    cb: F,
    user_data: UserData,
}

// SAFETY: a plain function pointer and the caller's user data (see UserData).
unsafe impl<F> Send for RequestCb<F> {}

impl<F> RequestCb<F> {
    fn new(cb: F, user_data: *mut c_void, free: FtapiFreeFn) -> RequestCb<F> {
        RequestCb {
            cb,
            user_data: UserData {
                ptr: user_data,
                free,
            },
        }
    }
}

/// The body of the `_cb` sends: `free_user_data` runs exactly once whatever happens (when
/// the send fails, before this returns), and `callback` at most once, with the outcome.
///
/// # Safety
/// As [`send_on_qot`].
unsafe fn send_with_cb<F>(
    qot: *const FtapiQot,
    serial_out: *mut u32,
    rcb: Option<RequestCb<F>>,
    send: impl FnOnce(Arc<FtapiQot>, RequestCb<F>) -> Result<u32, FtapiResult>,
) -> FtapiResult {
    let body = |qot: Arc<FtapiQot>| -> Result<u32, FtapiResult> {
        let rcb = rcb.ok_or(FtapiResult::FTAPI_ERR_NULL_ARGUMENT)?;
        send(qot, rcb)
    };
    // SAFETY: the caller's promise (above). A failed send drops `rcb` (its user data's
    // finalizer runs); so does a NULL `qot`, as `body` is dropped unrun.
    unsafe { send_on_qot(qot, serial_out, body) }
}

/// Get Groups From Watchlist with a callback of its own: `callback` gets this request's
/// one outcome (OpenD's reply, or -100 / -200 / -300 / -500, also when the object is
/// closed or freed first), on the I/O thread, never overlapping the SPI callbacks; the
/// SPI's reply callbacks are not called for it. `free_user_data` (may be NULL) runs
/// exactly once, right after `callback` (or, when this call fails, before it returns, and
/// then `callback` never runs). This is the shape of hiredis's `redisAsyncCommand`: the
/// library, not each binding, keeps track of who waits for what.
/// Errors: NULL_ARGUMENT (qot or callback), INVALID_GROUP_TYPE, NOT_READY, CLOSED,
/// RECONNECTING, BACKPRESSURE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_get_user_security_group_cb(
    qot: *mut FtapiQot,
    group_type: i32,
    callback: FtapiGroupsCallback,
    user_data: *mut c_void,
    free_user_data: FtapiFreeFn,
    serial_out: *mut u32,
) -> FtapiResult {
    let rcb = RequestCb::new(callback, user_data, free_user_data);
    let rcb = rcb.cb.is_some().then_some(rcb);
    let send = |qot: Arc<FtapiQot>, rcb: RequestCb<FtapiGroupsCallback>| {
        let q2 = qot.clone();
        qot.send_groups(
            || GetUserSecurityGroup::from_i32(group_type),
            move |r| q2.deliver_groups_to(r, rcb),
        )
    };
    // SAFETY: qot and serial_out as the header documents.
    unsafe { send_with_cb(qot, serial_out, rcb, send) }
}

/// As ftapi_qot_get_user_security_group_cb, with a serialized
/// `Qot_GetUserSecurityGroup.Request`. Errors: as there, plus INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_get_user_security_group_pb_cb(
    qot: *mut FtapiQot,
    request: *const u8,
    len: usize,
    callback: FtapiGroupsCallback,
    user_data: *mut c_void,
    free_user_data: FtapiFreeFn,
    serial_out: *mut u32,
) -> FtapiResult {
    let rcb = RequestCb::new(callback, user_data, free_user_data);
    let rcb = rcb.cb.is_some().then_some(rcb);
    let send = |qot: Arc<FtapiQot>, rcb: RequestCb<FtapiGroupsCallback>| {
        // SAFETY: the caller passes a valid argument (header).
        let req = unsafe { bytes_arg(request, len) }?;
        let q2 = qot.clone();
        qot.send_groups(
            || GetUserSecurityGroup::from_pb(req),
            move |r| q2.deliver_groups_to(r, rcb),
        )
    };
    // SAFETY: qot and serial_out as the header documents.
    unsafe { send_with_cb(qot, serial_out, rcb, send) }
}

/// As ftapi_qot_send_proto, with a callback of its own for this request's one outcome
/// (`reply_type` 0 with OpenD's serialized `Response`, or -100 / -200 / -300 with an
/// empty body), under the rules of ftapi_qot_get_user_security_group_cb. Errors:
/// NULL_ARGUMENT, INVALID_ARGUMENT (proto 1001), NOT_READY, CLOSED, RECONNECTING,
/// BACKPRESSURE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftapi_qot_send_proto_cb(
    qot: *mut FtapiQot,
    proto_id: u32,
    body: *const u8,
    len: usize,
    callback: FtapiReplyCallback,
    user_data: *mut c_void,
    free_user_data: FtapiFreeFn,
    serial_out: *mut u32,
) -> FtapiResult {
    let rcb = RequestCb::new(callback, user_data, free_user_data);
    let rcb = rcb.cb.is_some().then_some(rcb);
    let send = |qot: Arc<FtapiQot>, rcb: RequestCb<FtapiReplyCallback>| {
        // SAFETY: the caller passes a valid argument (header).
        let body = unsafe { bytes_arg(body, len) }?;
        let session = qot.session()?;
        let q2 = qot.clone();
        session
            .send_proto_slice(proto_id, body, None, move |r: Reply| {
                q2.with_request_cb(|p| {
                    if let Some(f) = rcb.cb {
                        // SAFETY: the caller's callback; the body lives until it returns.
                        unsafe {
                            f(
                                rcb.user_data.ptr,
                                p,
                                r.kind as i32,
                                r.proto_id,
                                r.serial,
                                r.body.as_ptr(),
                                r.body.len(),
                            )
                        };
                    }
                });
                drop(rcb);
            })
            .map_err(|e| send_error(&e))
    };
    // SAFETY: qot and serial_out as the header documents.
    unsafe { send_with_cb(qot, serial_out, rcb, send) }
}
