//! The official native channel, `FTAPIChannel`, as a drop-in (header
//! `include/FTAPIChannel.h`, hand-written; docs/PROTOCOL.md §6 and §11).
//!
//! The official C++ SDK's core library exports these functions; FTAPI4NET's native flavour
//! loads it with `[DllImport("FTAPIChannel")]` and Go wrappers link it through SWIG. libftapi
//! exports them too, and the build installs `libFTAPIChannel.so` as a second name for
//! `libftapi.so`, so such programs run against ftapi unchanged.
//!
//! This is a translation of the Rust API, not a second engine: a channel is a [`QotSlot`]
//! (the reusable connection every binding uses); a request is `send_proto` with a completion
//! of its own that carries the request's header; the four callbacks map from [`Events`] and
//! [`Reply`]. What the official library leaves unsaid is decided here (and in the header):
//!
//! - `FTAPIChannel_InitConnect` returns 0 when the connect started, else an `FtapiResult`
//!   code (1 NULL argument, 2 invalid UTF-8, 3 bad host or port, 7 a connection is live, 10
//!   encryption without a key). A second one while the connection is live is refused (7);
//!   once it has ended (closed, dropped, or InitConnect failed) it starts a new connection on
//!   the same channel.
//! - `FTAPIChannel_SendProto` returns the serial, 0 when nothing was sent (not connected,
//!   InitConnect not done, a NULL / negative / over-limit body, proto 1001). Each sent request
//!   gets exactly one `OnReply`: `replyType` 0 with OpenD's decrypted body, or -100 (no reply
//!   within 12 s) / -200 (the connection ended first, also after Close or Release) with the
//!   request's own header and no body (`data` NULL, `len` 0). A header carries the proto ID,
//!   the serial, the plaintext body length and the SHA-1 of the plaintext (`nProtoVer`: what
//!   the request passed for -100 / -200, 0 for OpenD's replies; the library sends 0 on the
//!   wire, as every official SDK does).
//! - Callbacks run on the connection's I/O thread, one at a time per channel; `OnInitConnect`
//!   comes before any `OnReply`; every pending request has its `OnReply` before
//!   `OnDisConnect`. A setter replaces one callback, also while connected: later events use
//!   the new one, and when the setter returns no call of the old one is running (unless it is
//!   called from inside a callback). A NULL callback drops that event (requests still end
//!   once each, unseen).
//! - `OnDisConnect`'s errCode is the official `ConnectFailType << 32 | errno` (11 << 32 when
//!   OpenD closed the connection, 10 << 32 | errno for a failed send); after the user's own
//!   `FTAPIChannel_Close` (or Release) it is 0, as in the official pure C# SDK. It only comes
//!   for a connection whose InitConnect succeeded; a failed one reports in `OnInitConnect`.
//! - `FTAPIChannel_Close` ends the connection (pending requests get -200, then
//!   `OnDisConnect(0)`); from another thread it returns after all of that, from a callback at
//!   once (the rest follows when the callback returns). The channel may connect again.
//! - `ReleaseFTAPIChannel` closes as `Close` does, then forgets the channel. Safe from any
//!   thread, also inside one of the channel's own callbacks: then the remaining outcomes and
//!   `OnDisConnect` follow after that callback returns, with the same channel pointer (on
//!   which every call now fails harmlessly).
//! - A channel pointer is a key into a registry of live channels, never dereferenced: NULL,
//!   a released channel, a double release or any other pointer is refused (an error return,
//!   0, or nothing), never a crash. So are NULL strings, invalid UTF-8, bad PEM and negative
//!   lengths (the void setters then log a warning through the library's log, see
//!   `ftapi_set_log_callback` / `FTAPI_LOG`).
//! - `FTAPIChannel_Init` / `FTAPIChannel_UnInit` have nothing to do: channels work without
//!   them and outlive `UnInit` (release each one).
//! - The client-side rate limiter is off (as in the official library; OpenD's own limit
//!   answers) unless `FTAPI_RATE_LIMIT` is set in the environment; then a refused request's
//!   `OnReply` has replyType -300 and no body.

#![allow(non_snake_case)]

use super::{bytes_arg, c_string, connect_error, guard, str_arg};
use crate::engine::{Events, Options, RateLimitMode, Reply, ReplyKind};
use crate::log::Level;
use crate::qot::{Door, QotSlot, SecondConnect};
use parking_lot::{Mutex, ReentrantMutex};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::FtapiResult;
use super::handles::Handles;

/// `FTAPIChannelPtr`.
type Ch = *mut c_void;

/// `FTAPI_ProtoHeader`: the 44-byte frame header, packed, host byte order.
#[repr(C, packed)]
#[derive(Clone, Copy)]
#[allow(dead_code)] // read by C
pub struct FtapiChannelProtoHeader {
    header_flag: [u8; 2],
    proto_id: u32,
    proto_fmt_type: u8,
    proto_ver: u8,
    serial_no: u32,
    body_len: u32,
    body_sha1: [u8; 20],
    reserved: [u8; 8],
}

const _: () = assert!(std::mem::size_of::<FtapiChannelProtoHeader>() == 44);

impl FtapiChannelProtoHeader {
    fn new(proto_id: u32, proto_ver: u8, serial: u32, body_len: usize, sha1: [u8; 20]) -> Self {
        FtapiChannelProtoHeader {
            header_flag: crate::wire::MAGIC,
            proto_id,
            proto_fmt_type: 0,
            proto_ver,
            serial_no: serial,
            body_len: u32::try_from(body_len).unwrap_or(u32::MAX),
            body_sha1: sha1,
            reserved: [0; 8],
        }
    }

    /// The header of a body that arrived: its plaintext length and SHA-1.
    fn of_body(proto_id: u32, serial: u32, body: &[u8]) -> Self {
        Self::new(proto_id, 0, serial, body.len(), crate::wire::sha1(body))
    }
}

type OnInitConnect = Option<unsafe extern "C" fn(channel: Ch, err_code: i64, desc: *const c_char)>;
type OnDisconnect = Option<unsafe extern "C" fn(channel: Ch, err_code: i64)>;
type OnReply = Option<
    unsafe extern "C" fn(
        channel: Ch,
        reply_type: i32,
        header: *const FtapiChannelProtoHeader,
        data: *const c_char,
        len: i32,
    ),
>;
type OnPush = Option<
    unsafe extern "C" fn(
        channel: Ch,
        header: *const FtapiChannelProtoHeader,
        data: *const c_char,
        len: i32,
    ),
>;

#[derive(Clone, Copy, Default)]
struct Callbacks {
    init_connect: OnInitConnect,
    disconnect: OnDisconnect,
    reply: OnReply,
    push: OnPush,
}

/// One channel: the Rust API's reusable connection and the caller's four callbacks.
struct FtapiChannel {
    /// Its key in [`CHANNELS`]: the `FTAPIChannelPtr` C holds and gets back in callbacks.
    handle: usize,
    slot: QotSlot,
    callbacks: Mutex<Callbacks>,
    /// Held around every callback and by the setters (reentrant: a callback may call one).
    callback_lock: ReentrantMutex<()>,
}

/// The live channels: what a `FTAPIChannelPtr` is checked against (the C ABI's one handle
/// scheme, `super::handles`).
static CHANNELS: Handles<FtapiChannel> = Handles::new();

/// The live channel behind `ch`, if it is one.
fn channel(ch: Ch) -> Option<Arc<FtapiChannel>> {
    CHANNELS.get(ch as usize)
}

fn warn(what: &str, why: &str) {
    crate::ftlog!(Level::Warn, "ftapi::channel", "{what}: {why}");
}

impl FtapiChannel {
    fn ptr(&self) -> Ch {
        self.handle as Ch
    }

    /// Calls `f` with the current callbacks under the callback lock; a panic is contained.
    fn call(self: &Arc<Self>, what: &str, f: impl FnOnce(&Callbacks, Ch)) {
        let _g = self.callback_lock.lock();
        let cbs = *self.callbacks.lock();
        let p = self.ptr();
        crate::engine::guard_callback(what, || f(&cbs, p));
    }

    /// A request's one outcome: OpenD's reply with its header, or the request's header with
    /// no body (-100, -200, -300).
    fn deliver(self: &Arc<Self>, r: Reply, request: FtapiChannelProtoHeader) {
        let header = if r.kind == ReplyKind::Server {
            FtapiChannelProtoHeader::of_body(r.proto_id, r.serial, &r.body)
        } else {
            request
        };
        let (data, len) = body_arg(&r.body);
        let kind = r.kind as i32;
        self.call("the OnReply callback", |cbs, p| {
            if let Some(f) = cbs.reply {
                // SAFETY: the caller's callback; header and body live until it returns.
                unsafe { f(p, kind, &header, data, len) };
            }
        });
    }
}

/// A body as the callbacks take it: NULL and 0 when empty.
fn body_arg(body: &[u8]) -> (*const c_char, i32) {
    if body.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // Bodies are bounded by the body size limit (64 MiB by default), far below i32::MAX.
        (
            body.as_ptr().cast(),
            i32::try_from(body.len()).unwrap_or(i32::MAX),
        )
    }
}

struct ChannelEvents {
    ch: Arc<FtapiChannel>,
}

impl Events for ChannelEvents {
    fn on_init_connect(&mut self, _conn: &crate::engine::Connection, err_code: i64, desc: &str) {
        let desc = c_string(desc);
        self.ch.call("the OnInitConnect callback", |cbs, p| {
            if let Some(f) = cbs.init_connect {
                // SAFETY: the caller's callback; desc lives until it returns.
                unsafe { f(p, err_code, desc.as_ptr()) };
            }
        });
    }

    fn on_disconnect(&mut self, _conn: &crate::engine::Connection, err_code: i64, _reason: &str) {
        self.ch.call("the OnDisConnect callback", |cbs, p| {
            if let Some(f) = cbs.disconnect {
                // SAFETY: the caller's callback.
                unsafe { f(p, err_code) };
            }
        });
    }

    fn on_push(
        &mut self,
        _conn: &crate::engine::Connection,
        proto_id: u32,
        serial: u32,
        body: &[u8],
    ) {
        let header = FtapiChannelProtoHeader::of_body(proto_id, serial, body);
        let (data, len) = body_arg(body);
        self.ch.call("the OnPush callback", |cbs, p| {
            if let Some(f) = cbs.push {
                // SAFETY: the caller's callback; header and body live until it returns.
                unsafe { f(p, &header, data, len) };
            }
        });
    }
}

/// Nothing to set up: channels work without it.
#[unsafe(no_mangle)]
pub extern "C" fn FTAPIChannel_Init() {}

/// Nothing to tear down: channels live on until ReleaseFTAPIChannel.
#[unsafe(no_mangle)]
pub extern "C" fn FTAPIChannel_UnInit() {}

/// A new channel (not connected); NULL only if memory runs out.
#[unsafe(no_mangle)]
pub extern "C" fn CreateFTAPIChannel() -> Ch {
    guard(std::ptr::null_mut(), || {
        // The official library has no client-side limiter; FTAPI_RATE_LIMIT turns it on.
        let options = Options {
            programming_language: "C".into(),
            rate_limit_mode: RateLimitMode::from_env_or(RateLimitMode::Off),
            ..Options::default()
        };
        let (_, ch) = CHANNELS.insert(|handle| FtapiChannel {
            handle,
            slot: QotSlot::new(options, SecondConnect::Refuse),
            callbacks: Mutex::new(Callbacks::default()),
            callback_lock: ReentrantMutex::new(()),
        });
        ch.ptr()
    })
}

/// Closes (pending requests get -200 first, unless called inside a callback: then after
/// it) and forgets the channel. Unknown pointers, NULL and a second release do nothing.
#[unsafe(no_mangle)]
pub extern "C" fn ReleaseFTAPIChannel(channel: Ch) {
    guard((), || {
        let ch = CHANNELS.remove(channel as usize);
        if let Some(ch) = ch {
            // Waits for the I/O thread (unless this is it): no lock of ours is held.
            ch.slot.release();
        }
    })
}

/// InitConnect's clientID and clientVer, for the next connect. A NULL or invalid id is
/// ignored (with a warning).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn FTAPIChannel_SetClientInfo(
    channel: Ch,
    client_id: *const c_char,
    client_ver: i32,
) {
    guard((), || {
        let Some(ch) = self::channel(channel) else {
            return;
        };
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        match unsafe { str_arg(client_id) } {
            Ok(id) => ch.slot.set_client_info(id, client_ver),
            Err(e) => warn("FTAPIChannel_SetClientInfo", message(e)),
        }
    })
}

/// The RSA private key (PEM text, 1024 bits) for encrypted connections; "" removes it. A
/// key that does not parse (or NULL, or invalid UTF-8) removes it too, with a warning, so
/// that an encrypted InitConnect then fails at once instead of using an older key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn FTAPIChannel_SetRSAPrivateKey(channel: Ch, pem: *const c_char) {
    guard((), || {
        let Some(ch) = self::channel(channel) else {
            return;
        };
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let r = unsafe { str_arg(pem) }
            .map_err(|e| message(e).to_owned())
            .and_then(|pem| ch.slot.set_rsa_private_key(pem).map_err(|e| e.to_string()));
        if let Err(why) = r {
            ch.slot.set_rsa_key(None);
            warn(
                "FTAPIChannel_SetRSAPrivateKey",
                &format!("{why}; no key is set"),
            );
        }
    })
}

/// InitConnect's programmingLanguage (default "C"; FTAPI4NET passes "C#").
#[unsafe(no_mangle)]
pub unsafe extern "C" fn FTAPIChannel_SetProgrammingLanguage(channel: Ch, lang: *const c_char) {
    guard((), || {
        let Some(ch) = self::channel(channel) else {
            return;
        };
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        match unsafe { str_arg(lang) } {
            Ok(l) => ch.slot.set_programming_language(l),
            Err(e) => warn("FTAPIChannel_SetProgrammingLanguage", message(e)),
        }
    })
}

fn message(e: FtapiResult) -> &'static str {
    let m = FtapiResult::message(e as i32);
    &m[..m.len() - 1]
}

/// Starts connecting; 0 when it started (the outcome arrives in OnInitConnect), else an
/// FtapiResult code (see the module documentation).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn FTAPIChannel_InitConnect(
    channel: Ch,
    ip: *const c_char,
    port: u16,
    enable_encrypt: i32,
) -> i32 {
    guard(FtapiResult::FTAPI_ERR_PANIC as i32, || {
        let Some(ch) = self::channel(channel) else {
            return FtapiResult::FTAPI_ERR_NULL_ARGUMENT as i32;
        };
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let host = match unsafe { str_arg(ip) } {
            Ok(h) => h,
            Err(e) => return e as i32,
        };
        let door = Door::Tcp {
            encrypt: enable_encrypt != 0,
        };
        let events = ChannelEvents { ch: ch.clone() };
        match ch.slot.connect(door, host, port, events) {
            Ok(_) => 0,
            Err(e) => connect_error(&e) as i32,
        }
    })
}

/// The connection ID from InitConnect; 0 before it (or for an unknown channel).
#[unsafe(no_mangle)]
pub extern "C" fn FTAPIChannel_GetConnectID(channel: Ch) -> u64 {
    guard(0, || {
        self::channel(channel).map_or(0, |ch| ch.slot.conn_id())
    })
}

/// Sends `len` bytes of a serialized `Request` as proto `proto_id`; the serial, or 0 when
/// nothing was sent. The outcome arrives once in OnReply.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn FTAPIChannel_SendProto(
    channel: Ch,
    proto_id: u32,
    proto_ver: u8,
    data: *const c_char,
    len: i32,
) -> u32 {
    guard(0, || {
        let Some(ch) = self::channel(channel) else {
            return 0;
        };
        let Ok(len) = usize::try_from(len) else {
            return 0;
        };
        // SAFETY: the caller promises `len` readable bytes at `data` (NULL with 0 is empty).
        let Ok(body) = (unsafe { bytes_arg(data.cast(), len) }) else {
            return 0;
        };
        let Some(session) = ch.slot.current() else {
            return 0;
        };
        let sha1 = crate::wire::sha1(body);
        let ch2 = ch.clone();
        session
            .send_proto_slice(proto_id, body, None, move |r: Reply| {
                let request =
                    FtapiChannelProtoHeader::new(proto_id, proto_ver, r.serial, len, sha1);
                ch2.deliver(r, request);
            })
            .unwrap_or(0)
    })
}

/// Closes the connection (see the module documentation); 0, or 1 for an unknown channel.
#[unsafe(no_mangle)]
pub extern "C" fn FTAPIChannel_Close(channel: Ch) -> i32 {
    guard(FtapiResult::FTAPI_ERR_PANIC as i32, || {
        let Some(ch) = self::channel(channel) else {
            return FtapiResult::FTAPI_ERR_NULL_ARGUMENT as i32;
        };
        ch.slot.close();
        0
    })
}

/// Replaces one callback (see the module documentation).
fn set_callback(channel: Ch, f: impl FnOnce(&mut Callbacks)) {
    guard((), || {
        if let Some(ch) = self::channel(channel) {
            let _g = ch.callback_lock.lock();
            f(&mut ch.callbacks.lock());
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn FTAPIChannel_SetOnInitConnectCallback(channel: Ch, callback: OnInitConnect) {
    set_callback(channel, |c| c.init_connect = callback);
}

#[unsafe(no_mangle)]
pub extern "C" fn FTAPIChannel_SetOnDisconnectCallback(channel: Ch, callback: OnDisconnect) {
    set_callback(channel, |c| c.disconnect = callback);
}

#[unsafe(no_mangle)]
pub extern "C" fn FTAPIChannel_SetOnReplyCallback(channel: Ch, callback: OnReply) {
    set_callback(channel, |c| c.reply = callback);
}

#[unsafe(no_mangle)]
pub extern "C" fn FTAPIChannel_SetOnPushCallback(channel: Ch, callback: OnPush) {
    set_callback(channel, |c| c.push = callback);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_pointers_are_refused() {
        let bogus = 0x1234usize as Ch;
        for p in [std::ptr::null_mut(), bogus] {
            assert_eq!(FTAPIChannel_GetConnectID(p), 0);
            assert_ne!(FTAPIChannel_Close(p), 0);
            // SAFETY: the strings are valid; the channel is refused before anything else.
            unsafe {
                assert_ne!(FTAPIChannel_InitConnect(p, c"127.0.0.1".as_ptr(), 1, 0), 0);
                assert_eq!(FTAPIChannel_SendProto(p, 3222, 0, std::ptr::null(), 0), 0);
            }
            ReleaseFTAPIChannel(p);
        }
        let ch = CreateFTAPIChannel();
        assert!(!ch.is_null());
        // SAFETY: as above.
        unsafe {
            assert_eq!(FTAPIChannel_SendProto(ch, 3222, 0, std::ptr::null(), -1), 0);
            assert_eq!(FTAPIChannel_SendProto(ch, 3222, 0, std::ptr::null(), 4), 0);
        }
        ReleaseFTAPIChannel(ch);
        ReleaseFTAPIChannel(ch);
        assert_ne!(FTAPIChannel_Close(ch), 0);
    }
}
