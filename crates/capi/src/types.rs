//! Types and constants of the C ABI.

use super::c_string;
use crate::engine::{Reply, ReplyKind};
use crate::qot::{GroupRef, GroupsReply, GroupsView};
use std::ffi::{CStr, CString, c_char, c_void};

/// Result of a call. Values are fixed forever; ftapi_result_message describes each.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FtapiResult {
    /// Success.
    FTAPI_OK = 0,
    /// A required pointer argument was NULL.
    FTAPI_ERR_NULL_ARGUMENT = 1,
    /// A string argument was not valid UTF-8.
    FTAPI_ERR_INVALID_UTF8 = 2,
    /// An argument is out of range or malformed (empty host, port 0, bad request bytes).
    FTAPI_ERR_INVALID_ARGUMENT = 3,
    /// A group type other than 1 (custom), 2 (system) or 3 (all); nothing was sent.
    FTAPI_ERR_INVALID_GROUP_TYPE = 4,
    /// Not connected, or InitConnect has not succeeded yet.
    FTAPI_ERR_NOT_READY = 5,
    /// The connection is closed or has ended.
    FTAPI_ERR_CLOSED = 6,
    /// A connection is already active on this object.
    FTAPI_ERR_ALREADY_CONNECTED = 7,
    /// A blocking call was made from inside a callback, where it would deadlock.
    FTAPI_ERR_IN_CALLBACK = 8,
    /// Too many bytes wait to be sent: OpenD is not reading.
    FTAPI_ERR_BACKPRESSURE = 9,
    /// Encryption was requested but no RSA private key is set.
    FTAPI_ERR_NO_RSA_KEY = 10,
    /// The RSA private key is not a 1024-bit PKCS#1 or PKCS#8 PEM key.
    FTAPI_ERR_BAD_RSA_KEY = 11,
    /// An internal error (a caught panic); please report it.
    FTAPI_ERR_PANIC = 12,
    /// A wait ended before the awaited event.
    FTAPI_ERR_TIMEOUT = 13,
    /// The connection dropped and is reconnecting (auto-reconnect without queueing).
    FTAPI_ERR_RECONNECTING = 14,
    /// The CA file cannot be read or holds no PEM certificate.
    FTAPI_ERR_BAD_CA_FILE = 15,
}

impl FtapiResult {
    pub(crate) fn message(code: i32) -> &'static str {
        match code {
            0 => "ok\0",
            1 => "a required pointer argument is NULL\0",
            2 => "a string argument is not valid UTF-8\0",
            3 => "an argument is out of range or malformed\0",
            4 => "invalid group type: use 1 (custom), 2 (system) or 3 (all)\0",
            5 => "not connected, or InitConnect has not succeeded yet\0",
            6 => "the connection is closed\0",
            7 => "a connection is already active on this object\0",
            8 => "blocking call made from inside a callback\0",
            9 => "send buffer full: OpenD is not reading\0",
            10 => "encryption requested but no RSA private key is set\0",
            11 => "the RSA private key is not a 1024-bit PKCS#1 or PKCS#8 PEM key\0",
            12 => "internal error (caught panic)\0",
            13 => "timed out waiting\0",
            14 => "the connection dropped and is reconnecting\0",
            15 => "the CA file cannot be read or holds no PEM certificate\0",
            _ => "unknown result code\0",
        }
    }
}

/// `FTAPI_InitFail`: high part of every InitConnect failure code.
pub const FTAPI_INIT_FAIL: i32 = 100;
/// InitFailType (low part with `FTAPI_INIT_FAIL`): unknown / bad reply.
pub const FTAPI_INIT_FAIL_UNKNOWN: i32 = 0;
/// InitFailType: InitConnect got no reply in time.
pub const FTAPI_INIT_FAIL_TIMEOUT: i32 = 1;
/// InitFailType: the connection ended (or was closed) during InitConnect.
pub const FTAPI_INIT_FAIL_DISCONNECT: i32 = 3;
/// InitFailType: OpenD refused InitConnect (desc has its retMsg).
pub const FTAPI_INIT_FAIL_OPEND_REJECT: i32 = 5;
/// ConnectFailType (high part; low part errno): the host name did not resolve.
pub const FTAPI_CONNECT_FAIL_GET_HOST_BY_NAME: i32 = 4;
/// ConnectFailType: TCP connect failed (refused, unreachable, timed out).
pub const FTAPI_CONNECT_FAIL_CONNECT: i32 = 6;
/// ConnectFailType: sending failed; the connection ended.
pub const FTAPI_CONNECT_FAIL_SEND: i32 = 10;
/// ConnectFailType: receiving failed, OpenD closed the connection, or it broke the
/// protocol (see the reason text).
pub const FTAPI_CONNECT_FAIL_RECV: i32 = 11;

/// `reply_type` / `ret_type`: OpenD's reply.
pub const FTAPI_REPLY_SERVER: i32 = 0;
/// `reply_type` / `ret_type`: no reply before the request's timeout.
pub const FTAPI_REPLY_TIMEOUT: i32 = -100;
/// `reply_type` / `ret_type`: the connection ended first (also after the user's close).
pub const FTAPI_REPLY_DISCONNECT: i32 = -200;
/// `reply_type` / `ret_type`: refused by the client-side rate limiter; nothing was
/// sent. The message says when the next slot frees.
pub const FTAPI_REPLY_RATE_LIMITED: i32 = -300;
/// `ret_type`: OpenD's reply could not be parsed.
pub const FTAPI_REPLY_INVALID: i32 = -500;

/// Group types for GetUserSecurityGroup.
pub const FTAPI_GROUP_CUSTOM: i32 = 1;
pub const FTAPI_GROUP_SYSTEM: i32 = 2;
pub const FTAPI_GROUP_ALL: i32 = 3;

/// Connection states from `ftapi_qot_get_state`.
pub const FTAPI_STATE_CONNECTING: i32 = 0;
pub const FTAPI_STATE_INITIALIZING: i32 = 1;
pub const FTAPI_STATE_READY: i32 = 2;
pub const FTAPI_STATE_CLOSING: i32 = 3;
pub const FTAPI_STATE_CLOSED: i32 = 4;
pub const FTAPI_STATE_RECONNECTING: i32 = 5;

/// Rate limiter modes for `ftapi_qot_set_rate_limit_mode`.
pub const FTAPI_RATE_LIMIT_OFF: i32 = 0;
pub const FTAPI_RATE_LIMIT_FAIL_FAST: i32 = 1;
pub const FTAPI_RATE_LIMIT_WAIT: i32 = 2;

/// Log levels for `ftapi_set_log_callback`.
pub const FTAPI_LOG_OFF: i32 = 0;
pub const FTAPI_LOG_ERROR: i32 = 1;
pub const FTAPI_LOG_WARN: i32 = 2;
pub const FTAPI_LOG_INFO: i32 = 3;
pub const FTAPI_LOG_DEBUG: i32 = 4;
pub const FTAPI_LOG_TRACE: i32 = 5;

/// A state-change callback: the new `FTAPI_STATE_*` and why (UTF-8, borrowed).
/// NULL removes the callback.
pub type FtapiStateCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        qot: *mut FtapiQot,
        state: i32,
        reason: *const c_char,
    ),
>;

/// A log callback: level (`FTAPI_LOG_*`), target (e.g. "ftapi::conn") and message, UTF-8,
/// borrowed for the call.
/// NULL goes back to stderr / `FTAPI_LOG`.
pub type FtapiLogCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: i32,
        target: *const c_char,
        message: *const c_char,
    ),
>;

/// A finalizer for a caller's `user_data`; NULL when there is nothing to free.
pub type FtapiFreeFn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A per-request callback for Get Groups From Watchlist: the request's one outcome,
/// borrowed for the call (see ftapi_qot_get_user_security_group_cb).
pub type FtapiGroupsCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        qot: *mut FtapiQot,
        serial_no: u32,
        reply: *const FtapiUserSecurityGroupReply,
    ),
>;

/// A per-request callback for any request: `reply_type` 0 with OpenD's serialized
/// `Response` in `body` (borrowed for the call), or -100 / -200 / -300 with an empty body
/// (see ftapi_qot_send_proto_cb).
pub type FtapiReplyCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        qot: *mut FtapiQot,
        reply_type: i32,
        proto_id: u32,
        serial_no: u32,
        body: *const u8,
        len: usize,
    ),
>;

/// One watchlist group. Borrowed from the reply that holds it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FtapiGroup {
    /// UTF-8, NUL-terminated.
    pub group_name: *const c_char,
    /// 1 custom, 2 system.
    pub group_type: i32,
}

/// The outcome of a GetUserSecurityGroup request.
///
/// In a callback it is borrowed for the duration of the call (copy what you keep);
/// from `ftapi_qot_get_user_security_group_sync` it is owned by the caller until
/// `ftapi_user_security_group_reply_free`.
#[repr(C)]
pub struct FtapiUserSecurityGroupReply {
    /// 0 success; -1 OpenD refused (its ret_msg says why, e.g. its rate limit); -100
    /// timeout; -200 disconnected; -500 unparsable reply.
    pub ret_type: i32,
    /// UTF-8, never NULL (may be empty).
    pub ret_msg: *const c_char,
    pub err_code: i32,
    /// `group_count` groups (NULL when 0).
    pub groups: *const FtapiGroup,
    pub group_count: usize,
    /// The serialized `Qot_GetUserSecurityGroup.Response` (also for library-made
    /// outcomes), for protobuf users.
    pub pb: *const u8,
    pub pb_len: usize,
    /// 1 when the reply had `retMsg` (even an empty one; library-made outcomes always
    /// have one), 0 when OpenD left it out, as protobuf says.
    pub has_ret_msg: u8,
    /// 1 when the reply had `errCode`.
    pub has_err_code: u8,
    /// 1 when the reply had `s2c` (even with no group).
    pub has_s2c: u8,
}

/// The reply plus the storage its pointers point into. `c` comes first, so a pointer to
/// an `OwnedReply` is a pointer to its `FtapiUserSecurityGroupReply`. All group names
/// share one buffer (NUL-terminated, back to back), so a reply costs a few allocations
/// whatever its size.
#[repr(C)]
pub(crate) struct OwnedReply {
    pub(crate) c: FtapiUserSecurityGroupReply,
    /// None for an empty message (most replies): `c.ret_msg` is then a static "".
    _ret_msg: Option<CString>,
    _names: Vec<u8>,
    _groups: Vec<FtapiGroup>,
    _pb: Vec<u8>,
}

impl OwnedReply {
    /// The C view of an engine reply. OpenD's bytes are decoded straight into it (names
    /// borrowed from the body, which the view then keeps without a copy); library-made
    /// outcomes and unparsable bodies go through the Rust API's [`GroupsReply`].
    pub(crate) fn from_engine(reply: Reply) -> OwnedReply {
        if reply.kind == ReplyKind::Server {
            let parsed = GroupsView::parse(&reply.body)
                .map(|v| CView::build(v.ret_type, v.ret_msg, v.err_code, v.has_s2c, &v.groups));
            return match parsed {
                Ok(c) => c.finish(reply.body),
                Err(e) => OwnedReply::from_reply(GroupsReply::unparsable(reply.serial, &e)),
            };
        }
        OwnedReply::from_reply(GroupsReply::from_reply(reply))
    }

    /// The C view of a Rust API reply; takes its serialized bytes without a copy.
    pub(crate) fn from_reply(mut r: GroupsReply) -> OwnedReply {
        let pb = std::mem::take(&mut r.pb);
        let groups: Vec<GroupRef<'_>> = r
            .groups
            .iter()
            .map(|g| GroupRef {
                name: &g.name,
                group_type: g.group_type,
            })
            .collect();
        CView::build(
            r.ret_type,
            r.ret_msg.as_deref(),
            r.err_code,
            r.has_s2c,
            &groups,
        )
        .finish(pb)
    }
}

/// An `OwnedReply` before it owns its Response bytes (which the names may borrow from
/// while it is built).
struct CView {
    ret_type: i32,
    err_code: Option<i32>,
    /// retMsg as sent (None: absent), and its C copy when not empty.
    has_ret_msg: bool,
    has_s2c: bool,
    ret_msg: Option<CString>,
    names: Vec<u8>,
    groups: Vec<FtapiGroup>,
}

impl CView {
    fn build(
        ret_type: i32,
        ret_msg: Option<&str>,
        err_code: Option<i32>,
        has_s2c: bool,
        src: &[GroupRef<'_>],
    ) -> CView {
        let has_ret_msg = ret_msg.is_some();
        let ret_msg = ret_msg.filter(|m| !m.is_empty()).map(c_string);
        let total: usize = src.iter().map(|g| g.name.len() + 1).sum();
        let mut names = Vec::with_capacity(total);
        let mut groups = Vec::with_capacity(src.len());
        for g in src {
            // The pointer is filled in below, once `names` has stopped growing.
            groups.push(FtapiGroup {
                group_name: std::ptr::without_provenance(names.len()),
                group_type: g.group_type,
            });
            if g.name.as_bytes().contains(&0) {
                // C strings cannot carry NUL: it becomes U+FFFD.
                names.extend_from_slice(g.name.replace('\0', "\u{FFFD}").as_bytes());
            } else {
                names.extend_from_slice(g.name.as_bytes());
            }
            names.push(0);
        }
        // `names` is not touched again (moving a Vec keeps its heap buffer), so pointers
        // into it stay valid.
        let base = names.as_ptr();
        for g in &mut groups {
            // SAFETY: every offset stored above is inside `names`.
            g.group_name = unsafe { base.add(g.group_name.addr()) }.cast();
        }
        CView {
            ret_type,
            err_code,
            has_ret_msg,
            has_s2c,
            ret_msg,
            names,
            groups,
        }
    }

    fn finish(self, pb: Vec<u8>) -> OwnedReply {
        let groups = self.groups;
        OwnedReply {
            c: FtapiUserSecurityGroupReply {
                ret_type: self.ret_type,
                ret_msg: self.ret_msg.as_deref().map_or(c"".as_ptr(), CStr::as_ptr),
                err_code: self.err_code.unwrap_or(0),
                groups: if groups.is_empty() {
                    std::ptr::null()
                } else {
                    groups.as_ptr()
                },
                group_count: groups.len(),
                pb: pb.as_ptr(),
                pb_len: pb.len(),
                has_ret_msg: self.has_ret_msg.into(),
                has_err_code: self.err_code.is_some().into(),
                has_s2c: self.has_s2c.into(),
            },
            _ret_msg: self.ret_msg,
            _names: self.names,
            _groups: groups,
            _pb: pb,
        }
    }
}

/// The callback table (SPI). Any entry may be NULL. Copied by `ftapi_qot_set_spi`.
///
/// Threading: every callback runs on the connection's own I/O thread, never on the
/// caller's; calls for one connection never overlap. Inside a callback you may send
/// requests, call `ftapi_qot_close`, `ftapi_qot_free` and `ftapi_qot_set_spi`; blocking
/// calls (`*_sync`) return `FTAPI_ERR_IN_CALLBACK`. Pointer arguments are borrowed for
/// the duration of the call: copy what you keep. `user_data` is passed back untouched
/// and may be used from the library's threads.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FtapiQotSpi {
    pub user_data: *mut c_void,
    /// InitConnect finished: `err_code` 0 and `desc` "" on success; otherwise the
    /// official code (`ftapi_err_code_high` / `_low` split it) and a UTF-8 description.
    /// Comes before any reply on this connection.
    pub on_init_connect: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            qot: *mut FtapiQot,
            err_code: i64,
            desc: *const c_char,
        ),
    >,
    /// An initialised connection ended; every pending request has had its outcome.
    /// `err_code` is 0 after `ftapi_qot_close`, else `FTAPI_CONNECT_FAIL_* << 32 | errno`;
    /// `reason` says what happened (UTF-8).
    pub on_disconnect: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            qot: *mut FtapiQot,
            err_code: i64,
            reason: *const c_char,
        ),
    >,
    /// The one outcome of a GetUserSecurityGroup request.
    pub on_reply_get_user_security_group: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            qot: *mut FtapiQot,
            serial_no: u32,
            reply: *const FtapiUserSecurityGroupReply,
        ),
    >,
    /// The one outcome of a `ftapi_qot_send_proto` request (and of GetUserSecurityGroup
    /// when `on_reply_get_user_security_group` is NULL): `reply_type` 0 with OpenD's
    /// serialized `Response` in `body`, or -100 / -200 with an empty body.
    pub on_reply: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            qot: *mut FtapiQot,
            reply_type: i32,
            proto_id: u32,
            serial_no: u32,
            body: *const u8,
            len: usize,
        ),
    >,
    /// A push from OpenD (e.g. Notify, 1003): its serialized `Response`.
    pub on_push: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            qot: *mut FtapiQot,
            proto_id: u32,
            body: *const u8,
            len: usize,
        ),
    >,
    /// Called once with `user_data` after the last callback that can see it: when the
    /// table is replaced or the object is freed.
    pub free_user_data: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
}

use super::FtapiQot;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errcode::{connect_fail, init_fail};

    #[test]
    fn reply_names_are_nul_terminated_in_one_buffer() {
        use crate::qot::Group;
        let r = GroupsReply {
            serial: 1,
            ret_type: 0,
            ret_msg: None,
            err_code: None,
            has_s2c: true,
            groups: vec![
                Group {
                    name: "全部".into(),
                    group_type: 2,
                },
                Group {
                    name: "a\0b".into(),
                    group_type: 1,
                },
                Group {
                    name: String::new(),
                    group_type: 1,
                },
            ],
            pb: vec![8, 0],
        };
        let o = OwnedReply::from_reply(r);
        assert_eq!(o.c.group_count, 3);
        // SAFETY: the pointers point into `o`, alive for this test.
        let name = |i: usize| unsafe {
            std::ffi::CStr::from_ptr((*o.c.groups.add(i)).group_name)
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(name(0), "全部");
        assert_eq!(name(1), "a\u{FFFD}b");
        assert_eq!(name(2), "");
    }

    #[test]
    fn the_c_view_says_which_fields_opend_sent() {
        let view = |body: Vec<u8>| {
            let o = OwnedReply::from_engine(Reply {
                proto_id: 3222,
                serial: 1,
                kind: ReplyKind::Server,
                body,
                reason: String::new(),
            });
            (o.c.has_ret_msg, o.c.has_err_code, o.c.has_s2c, o.c.err_code)
        };
        // retType 0 alone; then retMsg "" and errCode 0 present, and an empty s2c.
        assert_eq!(view(vec![0x08, 0x00]), (0, 0, 0, 0));
        assert_eq!(
            view(vec![0x08, 0x00, 0x12, 0x00, 0x18, 0x00, 0x22, 0x00]),
            (1, 1, 1, 0)
        );
        assert_eq!(view(vec![0x08, 0x7f, 0x18, 0x05]).3, 5);
        // Library-made outcomes carry their reason, nothing else.
        let o = OwnedReply::from_engine(Reply {
            proto_id: 3222,
            serial: 2,
            kind: ReplyKind::Timeout,
            body: vec![],
            reason: "late".into(),
        });
        assert_eq!((o.c.has_ret_msg, o.c.has_err_code, o.c.has_s2c), (1, 0, 0));
    }

    /// The C view of OpenD's bytes, decoded straight from them, equals the one built from
    /// the Rust API's reply; an unparsable body and library-made outcomes become -500 /
    /// their own kind with a Response that parses.
    #[test]
    fn engine_replies_become_the_same_c_view_as_the_rust_api_gives() {
        use crate::pb::qot_get_user_security_group as pb;
        use prost::Message;
        let name_of = |o: &OwnedReply, i: usize| {
            // SAFETY: the pointers point into `o`, alive for this closure's use.
            unsafe { std::ffi::CStr::from_ptr((*o.c.groups.add(i)).group_name) }
                .to_str()
                .unwrap()
                .to_owned()
        };
        let body = pb::Response {
            ret_type: 0,
            ret_msg: Some("fine".into()),
            err_code: Some(7),
            s2c: Some(pb::S2c {
                group_list: ["全部", "a\0b", ""]
                    .iter()
                    .enumerate()
                    .map(|(i, n)| pb::GroupData {
                        group_name: (*n).into(),
                        group_type: i as i32,
                    })
                    .collect(),
            }),
        }
        .encode_to_vec();
        let engine = |kind, body: Vec<u8>| Reply {
            proto_id: 3222,
            serial: 5,
            kind,
            body,
            reason: "why".into(),
        };
        let direct = OwnedReply::from_engine(engine(ReplyKind::Server, body.clone()));
        let via_rust = OwnedReply::from_reply(GroupsReply::from_reply(engine(
            ReplyKind::Server,
            body.clone(),
        )));
        for o in [&direct, &via_rust] {
            assert_eq!((o.c.ret_type, o.c.err_code, o.c.group_count), (0, 7, 3));
            // SAFETY: ret_msg is a NUL-terminated string inside `o`.
            assert_eq!(
                unsafe { std::ffi::CStr::from_ptr(o.c.ret_msg) }.to_str(),
                Ok("fine")
            );
            assert_eq!(name_of(o, 0), "全部");
            assert_eq!(name_of(o, 1), "a\u{FFFD}b");
            assert_eq!(name_of(o, 2), "");
            // SAFETY: groups has group_count entries.
            assert_eq!(unsafe { (*o.c.groups.add(2)).group_type }, 2);
            // SAFETY: pb/pb_len describe bytes inside `o`.
            assert_eq!(
                unsafe { std::slice::from_raw_parts(o.c.pb, o.c.pb_len) },
                &body[..]
            );
        }
        let bad = OwnedReply::from_engine(engine(ReplyKind::Server, vec![0x12, 0x05]));
        assert_eq!((bad.c.ret_type, bad.c.group_count), (-500, 0));
        assert!(bad.c.groups.is_null());
        // SAFETY: as above.
        let pb_bytes = unsafe { std::slice::from_raw_parts(bad.c.pb, bad.c.pb_len) };
        assert_eq!(pb::Response::decode(pb_bytes).unwrap().ret_type, -500);
        // No retMsg at all: "" (never NULL), as the header promises.
        let quiet = OwnedReply::from_engine(engine(ReplyKind::Server, vec![0x08, 0x00]));
        assert!(!quiet.c.ret_msg.is_null());
        // SAFETY: as above.
        assert_eq!(
            unsafe { std::ffi::CStr::from_ptr(quiet.c.ret_msg) }.to_bytes(),
            b""
        );
        let gone = OwnedReply::from_engine(engine(ReplyKind::Disconnected, Vec::new()));
        assert_eq!(gone.c.ret_type, -200);
        // SAFETY: as above.
        assert_eq!(
            unsafe { std::ffi::CStr::from_ptr(gone.c.ret_msg) }.to_str(),
            Ok("why")
        );
    }

    #[test]
    fn abi_constants_match_the_engine() {
        assert_eq!(FTAPI_INIT_FAIL, crate::errcode::INIT_FAIL);
        assert_eq!(FTAPI_INIT_FAIL_UNKNOWN, init_fail::UNKNOWN);
        assert_eq!(FTAPI_INIT_FAIL_TIMEOUT, init_fail::TIMEOUT);
        assert_eq!(FTAPI_INIT_FAIL_DISCONNECT, init_fail::DISCONNECT);
        assert_eq!(FTAPI_INIT_FAIL_OPEND_REJECT, init_fail::OPEND_REJECT);
        assert_eq!(
            FTAPI_CONNECT_FAIL_GET_HOST_BY_NAME,
            connect_fail::GET_HOST_BY_NAME_FAILED
        );
        assert_eq!(FTAPI_CONNECT_FAIL_CONNECT, connect_fail::CONNECT_FAILED);
        assert_eq!(FTAPI_CONNECT_FAIL_SEND, connect_fail::SEND_FAILED);
        assert_eq!(FTAPI_CONNECT_FAIL_RECV, connect_fail::RECV_FAILED);
        assert_eq!(FTAPI_STATE_READY, crate::engine::State::Ready as i32);
        assert_eq!(FTAPI_STATE_CLOSED, crate::engine::State::Closed as i32);
        assert_eq!(
            FTAPI_REPLY_DISCONNECT,
            crate::engine::ReplyKind::Disconnected as i32
        );
    }
}
