//! The typed quote API: Get Groups From Watchlist (`Qot_GetUserSecurityGroup`, proto 3222)
//! over a [`Connection`].
//!
//! ```no_run
//! use ftapi::{GroupType, Options, Qot};
//! let qot = Qot::connect("127.0.0.1", 11111, Options::default())?;
//! for g in qot.get_user_security_group(GroupType::All)? {
//!     println!("{}\t{}", g.name, g.type_name());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::engine::{
    self as conn, ConnectError, Connection, Events, Options, Reply, ReplyKind, SendError,
};
use crate::pb::{proto_id, qot_get_user_security_group as pb};
use prost::Message;
use std::fmt;
use std::time::Duration;

mod slot;
mod view;
pub use slot::{ConfigError, Door, QotSlot, SecondConnect, WaitError};
pub use view::{DecodeError, GroupRef, GroupsView};

/// Which groups to ask for. OpenD knows no others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum GroupType {
    /// Groups the user made.
    Custom = 1,
    /// Built-in groups (All, Starred, HK, ...).
    System = 2,
    /// Both.
    All = 3,
}

impl GroupType {
    /// The group type with this protocol value, if it is one.
    pub fn from_i32(v: i32) -> Option<GroupType> {
        match v {
            1 => Some(GroupType::Custom),
            2 => Some(GroupType::System),
            3 => Some(GroupType::All),
            _ => None,
        }
    }

    /// The official Python client's name for it: `CUSTOM`, `SYSTEM` or `ALL`.
    pub fn name(self) -> &'static str {
        match self {
            GroupType::Custom => "CUSTOM",
            GroupType::System => "SYSTEM",
            GroupType::All => "ALL",
        }
    }
}

/// One watchlist group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    /// As OpenD sent it: 1 (custom) or 2 (system).
    pub group_type: i32,
}

impl Group {
    /// `CUSTOM`, `SYSTEM`, or `N/A` for a value OpenD should not send.
    pub fn type_name(&self) -> &'static str {
        match GroupType::from_i32(self.group_type) {
            Some(GroupType::Custom) => "CUSTOM",
            Some(GroupType::System) => "SYSTEM",
            _ => "N/A",
        }
    }
}

/// The one outcome of a GetUserSecurityGroup request, whoever made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupsReply {
    pub serial: u32,
    /// 0 success, -1 OpenD refused, -100 timeout, -200 disconnected, -300 refused by the
    /// client-side rate limiter (nothing sent), -500 unparsable reply.
    pub ret_type: i32,
    /// OpenD's message, or the library's reason for a library-made outcome.
    pub ret_msg: String,
    pub err_code: i32,
    pub groups: Vec<Group>,
    /// The serialized `Qot_GetUserSecurityGroup.Response`: OpenD's bytes, or the library's
    /// own for -100 / -200 / -500, so every language's protobuf classes can parse it.
    pub pb: Vec<u8>,
}

impl GroupsReply {
    fn library_made(serial: u32, ret_type: i32, ret_msg: String) -> GroupsReply {
        let pb = pb::Response {
            ret_type,
            ret_msg: Some(ret_msg.clone()),
            err_code: None,
            s2c: None,
        }
        .encode_to_vec();
        GroupsReply {
            serial,
            ret_type,
            ret_msg,
            err_code: 0,
            groups: Vec::new(),
            pb,
        }
    }

    /// The outcome for a reply from OpenD that is not a valid Response (-500).
    pub fn unparsable(serial: u32, e: &DecodeError) -> GroupsReply {
        GroupsReply::library_made(
            serial,
            crate::pb::common::RetType::Invalid as i32,
            format!("cannot parse OpenD's reply: {e}"),
        )
    }

    /// Translates an engine reply.
    pub fn from_reply(reply: Reply) -> GroupsReply {
        match reply.kind {
            ReplyKind::Timeout | ReplyKind::Disconnected | ReplyKind::RateLimited => {
                GroupsReply::library_made(reply.serial, reply.kind as i32, reply.reason)
            }
            ReplyKind::Server => match GroupsView::parse(&reply.body) {
                Ok(v) => GroupsReply {
                    serial: reply.serial,
                    ret_type: v.ret_type,
                    ret_msg: v.ret_msg.to_owned(),
                    err_code: v.err_code,
                    groups: v
                        .groups
                        .iter()
                        .map(|g| Group {
                            name: g.name.to_owned(),
                            group_type: g.group_type,
                        })
                        .collect(),
                    pb: reply.body,
                },
                Err(e) => GroupsReply::unparsable(reply.serial, &e),
            },
        }
    }

    /// The groups on success, the error otherwise.
    pub fn into_result(self) -> Result<Vec<Group>, QotError> {
        if self.ret_type == 0 {
            Ok(self.groups)
        } else {
            Err(QotError::Reply {
                ret_type: self.ret_type,
                ret_msg: self.ret_msg,
                err_code: self.err_code,
            })
        }
    }
}

/// Why a quote call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QotError {
    /// A group type other than 1, 2 or 3; nothing was sent.
    InvalidGroupType(i32),
    /// The request could not be sent.
    Send(SendError),
    /// A blocking call was made from inside a callback, where it would deadlock.
    InCallback,
    /// The request's outcome was not a success: OpenD's retType/retMsg (e.g. -1 for its
    /// rate limit), or -100 timeout, -200 disconnected, -500 unparsable reply.
    Reply {
        ret_type: i32,
        ret_msg: String,
        err_code: i32,
    },
}

impl fmt::Display for QotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QotError::InvalidGroupType(v) => {
                write!(
                    f,
                    "invalid group type {v}: use 1 (custom), 2 (system) or 3 (all)"
                )
            }
            QotError::Send(e) => write!(f, "{e}"),
            QotError::InCallback => write!(f, "blocking call made from inside a callback"),
            QotError::Reply {
                ret_type, ret_msg, ..
            } => write!(f, "retType {ret_type}: {ret_msg}"),
        }
    }
}

impl std::error::Error for QotError {}

impl From<SendError> for QotError {
    fn from(e: SendError) -> Self {
        QotError::Send(e)
    }
}

struct NoEvents;
impl Events for NoEvents {}

/// A quote connection to OpenD. Dropping it closes the connection.
pub struct Qot {
    conn: Connection,
}

impl fmt::Debug for Qot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Qot").field("conn", &self.conn).finish()
    }
}

impl Qot {
    /// Connects and waits for InitConnect.
    pub fn connect(host: &str, port: u16, options: Options) -> Result<Qot, ConnectError> {
        Qot::connect_with(host, port, options, NoEvents)
    }

    /// Connects with event callbacks (init, disconnect, push) and waits for InitConnect.
    pub fn connect_with(
        host: &str,
        port: u16,
        options: Options,
        events: impl Events,
    ) -> Result<Qot, ConnectError> {
        Ok(Qot {
            conn: Connection::connect(host, port, options, events)?,
        })
    }

    /// Starts connecting and returns at once; the outcome arrives in
    /// [`Events::on_init_connect`].
    pub fn start(
        host: &str,
        port: u16,
        options: Options,
        events: impl Events,
    ) -> Result<Qot, ConnectError> {
        Ok(Qot {
            conn: Connection::start(host, port, options, events)?,
        })
    }

    /// The underlying connection (connection ID, state, close).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Get Groups From Watchlist, blocking until the outcome (at most the request
    /// timeout of [`Options`]).
    pub fn get_user_security_group(&self, group_type: GroupType) -> Result<Vec<Group>, QotError> {
        self.get_user_security_group_blocking(group_type as i32, None)?
            .into_result()
    }

    /// Blocking form that returns the whole outcome, whatever its retType. `timeout`
    /// overrides the default request timeout.
    pub fn get_user_security_group_blocking(
        &self,
        group_type: i32,
        timeout: Option<Duration>,
    ) -> Result<GroupsReply, QotError> {
        self.get_user_security_group_blocking_raw(group_type, timeout)
            .map(GroupsReply::from_reply)
    }

    /// As [`get_user_security_group_blocking`](Qot::get_user_security_group_blocking), with
    /// the engine's [`Reply`] itself (see
    /// [`get_user_security_group_raw`](Qot::get_user_security_group_raw)).
    pub fn get_user_security_group_blocking_raw(
        &self,
        group_type: i32,
        timeout: Option<Duration>,
    ) -> Result<Reply, QotError> {
        if conn::on_io_thread() {
            return Err(QotError::InCallback);
        }
        let (tx, rx) = conn::oneshot::channel();
        self.get_user_security_group_raw(group_type, timeout, move |r| tx.send(r))?;
        // The engine guarantees one outcome, so this cannot wait forever.
        rx.recv().ok_or(QotError::Send(SendError::Closed))
    }

    /// Callback form: `done` runs once on the I/O thread with the outcome. Returns the
    /// serial number.
    pub fn get_user_security_group_async(
        &self,
        group_type: i32,
        timeout: Option<Duration>,
        done: impl FnOnce(GroupsReply) + Send + 'static,
    ) -> Result<u32, QotError> {
        self.get_user_security_group_raw(group_type, timeout, move |r| {
            done(GroupsReply::from_reply(r))
        })
    }

    /// Sends a serialized `Qot_GetUserSecurityGroup.Request` (as the C++ SDK takes one),
    /// after checking that it parses and names a valid group type.
    pub fn get_user_security_group_pb(
        &self,
        request: &[u8],
        timeout: Option<Duration>,
        done: impl FnOnce(GroupsReply) + Send + 'static,
    ) -> Result<u32, QotError> {
        self.get_user_security_group_pb_raw(request, timeout, move |r| {
            done(GroupsReply::from_reply(r))
        })
    }

    /// As [`get_user_security_group_async`](Qot::get_user_security_group_async), but
    /// `done` gets the engine's [`Reply`] itself, for callers that build their own
    /// representation: decode a [`ReplyKind::Server`] body with [`GroupsView::parse`]
    /// (no copies), hand any other kind (or a body that does not parse) to
    /// [`GroupsReply::from_reply`] / [`GroupsReply::unparsable`]. The C ABI does this.
    pub fn get_user_security_group_raw(
        &self,
        group_type: i32,
        timeout: Option<Duration>,
        done: impl FnOnce(Reply) + Send + 'static,
    ) -> Result<u32, QotError> {
        let body = request_bytes(group_type)?;
        self.send_request_bytes(body, timeout, done)
    }

    /// [`get_user_security_group_pb`](Qot::get_user_security_group_pb) with the engine's
    /// reply, as [`get_user_security_group_raw`](Qot::get_user_security_group_raw).
    pub fn get_user_security_group_pb_raw(
        &self,
        request: &[u8],
        timeout: Option<Duration>,
        done: impl FnOnce(Reply) + Send + 'static,
    ) -> Result<u32, QotError> {
        let req = pb::Request::decode(request).map_err(|e| {
            QotError::Send(SendError::InvalidArgument(format!(
                "not a Qot_GetUserSecurityGroup.Request: {e}"
            )))
        })?;
        GroupType::from_i32(req.c2s.group_type)
            .ok_or(QotError::InvalidGroupType(req.c2s.group_type))?;
        self.send_request_bytes(request.to_vec(), timeout, done)
    }

    fn send_request_bytes(
        &self,
        body: Vec<u8>,
        timeout: Option<Duration>,
        done: impl FnOnce(Reply) + Send + 'static,
    ) -> Result<u32, QotError> {
        Ok(self.conn.send_proto(
            proto_id::QOT_GET_USER_SECURITY_GROUP,
            body,
            timeout,
            Box::new(done),
        )?)
    }

    /// Sends any other OpenD request; `done` gets its one outcome.
    pub fn send_proto(
        &self,
        proto_id: u32,
        body: Vec<u8>,
        timeout: Option<Duration>,
        done: impl FnOnce(Reply) + Send + 'static,
    ) -> Result<u32, SendError> {
        self.conn
            .send_proto(proto_id, body, timeout, Box::new(done))
    }

    /// Closes the connection (see [`Connection::close`]).
    pub fn close(&self) {
        self.conn.close();
    }
}

impl Drop for Qot {
    fn drop(&mut self) {
        self.conn.close();
    }
}

/// The serialized request for a group type, refusing values OpenD does not know.
pub fn request_bytes(group_type: i32) -> Result<Vec<u8>, QotError> {
    GroupType::from_i32(group_type).ok_or(QotError::InvalidGroupType(group_type))?;
    Ok(pb::Request {
        c2s: pb::C2s {
            group_type,
            header: None,
        },
    }
    .encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_group_types_are_refused_locally() {
        assert_eq!(request_bytes(0), Err(QotError::InvalidGroupType(0)));
        assert_eq!(request_bytes(99), Err(QotError::InvalidGroupType(99)));
        assert_eq!(request_bytes(3).unwrap(), vec![0x0a, 0x02, 0x08, 0x03]);
    }

    #[test]
    fn library_made_outcomes_serialize_as_a_parseable_response() {
        for kind in [ReplyKind::Timeout, ReplyKind::Disconnected] {
            let r = GroupsReply::from_reply(Reply {
                proto_id: 3222,
                serial: 7,
                kind,
                body: vec![],
                reason: "why".into(),
            });
            let rsp = pb::Response::decode(r.pb.as_slice()).unwrap();
            assert_eq!(rsp.ret_type, kind as i32);
            assert_eq!(rsp.ret_msg.as_deref(), Some("why"));
        }
        let bad = GroupsReply::from_reply(Reply {
            proto_id: 3222,
            serial: 8,
            kind: ReplyKind::Server,
            body: vec![0xff, 0xff],
            reason: String::new(),
        });
        assert_eq!(bad.ret_type, -500);
        assert_eq!(
            pb::Response::decode(bad.pb.as_slice()).unwrap().ret_type,
            -500
        );
    }
}
