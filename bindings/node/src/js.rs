//! The few Node-API pieces the addon drives itself, over raw handles: a promise and its
//! deferred, a strong reference, a call into JavaScript, an `Error` value, and the panic
//! boundaries every export and callback runs in.
//!
//! Everything here that takes an [`Env`] runs on the JavaScript thread: napi-rs hands an
//! `Env` only to exports and to thread-safe function callbacks, both on that thread.

use napi::bindgen_prelude::{JsError, ToNapiValue};
use napi::{Env, Status, sys};
use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

/// A JavaScript value, valid in the current callback's scope.
pub type Value = sys::napi_value;

/// What went wrong, as the JavaScript value to throw or reject with.
pub type JsResult<T> = Result<T, Value>;

/// A promise's resolving end (`napi_create_promise`). Settled at most once by
/// construction ([`Deferred::settle`] takes it by value); one that is dropped unsettled is
/// left pending and calls nothing (the addon settles every one it hands out, except while
/// the environment itself is going away).
pub struct Deferred(sys::napi_deferred);

// SAFETY: an opaque handle. It is passed to Node-API only in `settle`, which needs an
// `Env`, so only on the JavaScript thread; elsewhere (the library's I/O thread, inside a
// request's completion) it is only moved, and dropping it there calls nothing.
unsafe impl Send for Deferred {}

impl Deferred {
    /// A new promise and its deferred.
    pub fn new(env: &Env) -> napi::Result<(Deferred, Value)> {
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        let status = unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) };
        check(status, "napi_create_promise")?;
        Ok((Deferred(deferred), promise))
    }

    /// Resolves (`ok`) or rejects the promise with `value`.
    pub fn settle(self, env: &Env, ok: bool, value: Value) {
        // Fails only while the environment is going away: nobody is left to tell.
        unsafe {
            if ok {
                sys::napi_resolve_deferred(env.raw(), self.0, value);
            } else {
                sys::napi_reject_deferred(env.raw(), self.0, value);
            }
        }
    }
}

/// Settles every promise in `all` the same way.
pub fn settle_all(env: &Env, all: Vec<Deferred>, ok: bool, value: Value) {
    for d in all {
        d.settle(env, ok, value);
    }
}

/// A strong reference to a JavaScript value, deleted when dropped. Not `Send`: it is made,
/// read and dropped on the JavaScript thread only (the addon keeps these in objects owned
/// by that thread: the native object, and thread-safe function callbacks, which Node-API
/// finalizes on that thread).
pub struct JsRef {
    env: sys::napi_env,
    raw: sys::napi_ref,
}

impl JsRef {
    pub fn new(env: &Env, value: Value) -> napi::Result<JsRef> {
        let mut raw = ptr::null_mut();
        let status = unsafe { sys::napi_create_reference(env.raw(), value, 1, &mut raw) };
        check(status, "napi_create_reference")?;
        Ok(JsRef {
            env: env.raw(),
            raw,
        })
    }

    pub fn get(&self) -> napi::Result<Value> {
        let mut value = ptr::null_mut();
        let status = unsafe { sys::napi_get_reference_value(self.env, self.raw, &mut value) };
        check(status, "napi_get_reference_value")?;
        Ok(value)
    }
}

impl Drop for JsRef {
    fn drop(&mut self) {
        unsafe { sys::napi_delete_reference(self.env, self.raw) };
    }
}

fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            Status::from(status),
            format!("{what} failed"),
        ))
    }
}

/// A napi-rs error as a JavaScript value (the original exception when it carries one).
pub fn napi_value_of(env: &Env, e: napi::Error) -> Value {
    unsafe { JsError::from(e).into_value(env.raw()) }
}

/// `v` as a JavaScript value.
pub fn val<T: ToNapiValue>(env: &Env, v: T) -> JsResult<Value> {
    unsafe { T::to_napi_value(env.raw(), v) }.map_err(|e| napi_value_of(env, e))
}

/// An `Error` with `message` and `code`.
pub fn error(env: &Env, code: &str, message: &str) -> Value {
    let raw = env.raw();
    let mut code_value = ptr::null_mut();
    let mut msg_value = ptr::null_mut();
    let mut err = ptr::null_mut();
    unsafe {
        sys::napi_create_string_utf8(
            raw,
            code.as_ptr().cast(),
            code.len() as isize,
            &mut code_value,
        );
        sys::napi_create_string_utf8(
            raw,
            message.as_ptr().cast(),
            message.len() as isize,
            &mut msg_value,
        );
        sys::napi_create_error(raw, code_value, msg_value, &mut err);
    }
    err
}

/// Calls `f(...args)` with `this` undefined; what it throws comes back as the error.
pub fn call(env: &Env, f: Value, args: &[Value]) -> JsResult<Value> {
    let raw = env.raw();
    let mut this = ptr::null_mut();
    let mut ret = ptr::null_mut();
    let status = unsafe {
        sys::napi_get_undefined(raw, &mut this);
        sys::napi_call_function(raw, this, f, args.len(), args.as_ptr(), &mut ret)
    };
    match status {
        sys::Status::napi_ok => Ok(ret),
        sys::Status::napi_pending_exception => {
            let mut exception = ptr::null_mut();
            unsafe { sys::napi_get_and_clear_last_exception(raw, &mut exception) };
            Err(exception)
        }
        s => Err(error(
            env,
            "ECALL",
            &format!(
                "ftapi: calling into JavaScript failed ({})",
                Status::from(s)
            ),
        )),
    }
}

/// Throws `v` and returns the error that tells napi-rs an exception is pending.
pub fn throw(env: &Env, v: Value) -> napi::Error {
    unsafe { sys::napi_throw(env.raw(), v) };
    napi::Error::from_status(Status::PendingException)
}

/// Hands `v` to the process's `uncaughtException` handling: for an exception thrown by
/// JavaScript where no caller is left to get it (as Node does for a throwing callback).
pub fn fatal_exception(env: &Env, v: Value) {
    unsafe { sys::napi_fatal_exception(env.raw(), v) };
}

// --- Panic boundaries ------------------------------------------------------------------
//
// A panic must never unwind out of an `extern "C"` frame (Node-API's callbacks into the
// addon): Rust aborts the process there. Every export, every thread-safe function callback
// and every callback the library calls runs inside one of these instead.

/// The text a panic carried.
pub fn panic_text(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// The `Error` (code `EPANIC`) a contained panic becomes.
pub fn panic_error(env: &Env, what: &str, p: &(dyn Any + Send)) -> Value {
    let message = format!(
        "ftapi: a panic in the Node addon ({what}): {}",
        panic_text(p)
    );
    error(env, "EPANIC", &message)
}

/// An export's body: a panic in it becomes a thrown `Error` (code `EPANIC`).
pub fn sync<T>(env: &Env, what: &str, f: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(|| {
        crate::test_panic::at(what);
        f()
    })) {
        Ok(r) => r,
        Err(p) => Err(throw(env, panic_error(env, what, &*p))),
    }
}

/// A callback with no caller to report to (the library's I/O thread, a log line, a
/// JavaScript-thread callback of a thread-safe function): a panic in it is written to
/// stderr and goes no further.
pub fn contain(what: &str, f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| {
        crate::test_panic::at(what);
        f()
    })) {
        // Not `eprintln!`, which panics when the write fails (stderr can be a full
        // non-blocking pipe shared with Node): here that would escape the boundary.
        opend::log::stderr_line(format_args!(
            "ftapi: a panic in the Node addon ({what}) was caught; the process goes on: {}",
            panic_text(&*p)
        ));
    }
}

/// The function a thread-safe function is built on: it does nothing. The addon's own
/// callback (run first, on the JavaScript thread) does the work and calls JavaScript
/// itself, so that it can also call nothing (an event of a replaced connection) and
/// contain its own panics.
pub unsafe extern "C" fn noop(_env: sys::napi_env, _info: sys::napi_callback_info) -> Value {
    ptr::null_mut()
}

/// What a tick runs.
type TickFn = Box<dyn FnOnce(&Env)>;

/// A callback `process.nextTick` runs once (see [`next_tick`]).
struct Tick {
    what: &'static str,
    f: RefCell<Option<TickFn>>,
}

/// Runs `f` on `process.nextTick`: after the current JavaScript operation, before any
/// I/O or thread-safe function callback. The JavaScript function handed to `nextTick`
/// carries `f`; it runs it at most once, and its data is freed when the function is
/// collected (`napi_wrap`'s finalizer).
pub fn next_tick(
    env: &Env,
    what: &'static str,
    f: impl FnOnce(&Env) + 'static,
) -> napi::Result<()> {
    let raw = env.raw();
    let data = Box::into_raw(Box::new(Tick {
        what,
        f: RefCell::new(Some(Box::new(f))),
    }));
    let name = "ftapiTick";
    let mut func = ptr::null_mut();
    let created = unsafe {
        sys::napi_create_function(
            raw,
            name.as_ptr().cast(),
            name.len() as isize,
            Some(tick_cb),
            data.cast(),
            &mut func,
        )
    };
    let wrapped = if created == sys::Status::napi_ok {
        unsafe {
            sys::napi_wrap(
                raw,
                func,
                data.cast(),
                Some(tick_finalize),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        }
    } else {
        created
    };
    if wrapped != sys::Status::napi_ok {
        // Nothing can call the function without its data: it was never handed out.
        drop(unsafe { Box::from_raw(data) });
        return check(wrapped, "napi_create_function / napi_wrap");
    }
    let property = |object: Value, key: &str| -> napi::Result<Value> {
        let mut key_value = ptr::null_mut();
        let mut v = ptr::null_mut();
        let s = unsafe {
            sys::napi_create_string_utf8(
                raw,
                key.as_ptr().cast(),
                key.len() as isize,
                &mut key_value,
            )
        };
        check(s, "napi_create_string_utf8")?;
        check(
            unsafe { sys::napi_get_property(raw, object, key_value, &mut v) },
            "napi_get_property",
        )?;
        Ok(v)
    };
    let mut global = ptr::null_mut();
    check(
        unsafe { sys::napi_get_global(raw, &mut global) },
        "napi_get_global",
    )?;
    let process = property(global, "process")?;
    let next_tick = property(process, "nextTick")?;
    call(env, next_tick, &[func]).map(drop).map_err(|thrown| {
        unsafe { sys::napi_throw(raw, thrown) };
        napi::Error::from_status(Status::PendingException)
    })
}

unsafe extern "C" fn tick_cb(env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    let mut data = ptr::null_mut();
    let s = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            &mut data,
        )
    };
    if s == sys::Status::napi_ok {
        // SAFETY: the data `next_tick` gave this function, freed only with the function.
        if let Some(tick) = unsafe { data.cast::<Tick>().as_ref() } {
            let f = tick.f.borrow_mut().take();
            if let Some(f) = f {
                contain(tick.what, || f(&Env::from_raw(env)));
            }
        }
    }
    ptr::null_mut()
}

unsafe extern "C" fn tick_finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the Box `next_tick` leaked for this function, finalized once.
    contain("a finalizer", || {
        drop(unsafe { Box::from_raw(data.cast::<Tick>()) })
    });
}
