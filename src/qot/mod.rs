//! The typed quote API: Get Groups From Watchlist (`Qot_GetUserSecurityGroup`, proto 3222)
//! over a [`Connection`].
//!
//! ```no_run
//! use opend::{GroupType, Options, Qot};
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

mod request;
mod slot;
mod view;
pub use request::{Outcome, Request};
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
    /// OpenD's `retMsg` if it sent one, or the library's reason for a library-made
    /// outcome.
    pub ret_msg: Option<String>,
    /// OpenD's `errCode`, if it sent one.
    pub err_code: Option<i32>,
    /// Whether the reply had `s2c` (even an empty one); `groups` are its groups.
    pub has_s2c: bool,
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
            ret_msg: Some(ret_msg),
            err_code: None,
            has_s2c: false,
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
                    ret_msg: v.ret_msg.map(str::to_owned),
                    err_code: v.err_code,
                    has_s2c: v.has_s2c,
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

    /// `retMsg`, or "" when the reply had none.
    pub fn message(&self) -> &str {
        self.ret_msg.as_deref().unwrap_or("")
    }

    /// The groups on success, the error otherwise.
    pub fn into_result(self) -> Result<Vec<Group>, QotError> {
        if self.ret_type == 0 {
            Ok(self.groups)
        } else {
            Err(QotError::Reply {
                ret_type: self.ret_type,
                ret_msg: self.ret_msg.unwrap_or_default(),
                err_code: self.err_code.unwrap_or_default(),
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

    /// Sends a typed request; `done` runs once on the I/O thread with its outcome, as the
    /// request's default reply type. Returns the serial number.
    pub fn request<R: Request>(
        &self,
        request: R,
        timeout: Option<Duration>,
        done: impl FnOnce(R::Reply) + Send + 'static,
    ) -> Result<u32, SendError> {
        self.request_as(request, timeout, done)
    }

    /// As [`request`](Qot::request), with the outcome as any [`Outcome`] of `R` (a
    /// binding's own representation, or the engine's [`Reply`]). `timeout` overrides the
    /// default request timeout.
    pub fn request_as<R: Request, O: Outcome<R>>(
        &self,
        request: R,
        timeout: Option<Duration>,
        done: impl FnOnce(O) + Send + 'static,
    ) -> Result<u32, SendError> {
        self.conn.send_proto(
            R::PROTO_ID,
            request.into_body(),
            timeout,
            Box::new(move |reply| done(O::from_reply(reply))),
        )
    }

    /// Sends a typed request and blocks until its outcome (at most the request timeout).
    pub fn request_blocking<R: Request>(
        &self,
        request: R,
        timeout: Option<Duration>,
    ) -> Result<R::Reply, QotError> {
        self.request_blocking_as(request, timeout)
    }

    /// As [`request_blocking`](Qot::request_blocking), with the outcome as any
    /// [`Outcome`] of `R`. Refused from inside a callback, where it would deadlock.
    pub fn request_blocking_as<R: Request, O: Outcome<R>>(
        &self,
        request: R,
        timeout: Option<Duration>,
    ) -> Result<O, QotError> {
        if conn::on_io_thread() {
            return Err(QotError::InCallback);
        }
        let (tx, rx) = conn::oneshot::channel();
        self.request_as(request, timeout, move |o: O| tx.send(o))?;
        // The engine guarantees one outcome, so this cannot wait forever.
        rx.recv().ok_or(QotError::Send(SendError::Closed))
    }

    /// Get Groups From Watchlist, blocking until the outcome (at most the request
    /// timeout of [`Options`]): the groups, or why there are none.
    pub fn get_user_security_group(&self, group_type: GroupType) -> Result<Vec<Group>, QotError> {
        self.request_blocking(GetUserSecurityGroup::new(group_type), None)?
            .into_result()
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

    /// As [`send_proto`](Qot::send_proto) with a borrowed body (see
    /// [`Connection::send_proto_slice`]: one too large for the send buffer is refused
    /// before it is copied).
    pub fn send_proto_slice(
        &self,
        proto_id: u32,
        body: &[u8],
        timeout: Option<Duration>,
        done: impl FnOnce(Reply) + Send + 'static,
    ) -> Result<u32, SendError> {
        self.conn
            .send_proto_slice(proto_id, body, timeout, Box::new(done))
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

/// Get Groups From Watchlist (`Qot_GetUserSecurityGroup`, proto 3222): its request,
/// checked when made. Its outcome is a [`GroupsReply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetUserSecurityGroup {
    group_type: GroupType,
    body: Vec<u8>,
}

impl GetUserSecurityGroup {
    /// The request for one group type.
    pub fn new(group_type: GroupType) -> GetUserSecurityGroup {
        let body = pb::Request {
            c2s: pb::C2s {
                group_type: group_type as i32,
                header: None,
            },
        }
        .encode_to_vec();
        GetUserSecurityGroup { group_type, body }
    }

    /// The request for a group type's protocol value, refusing values OpenD does not
    /// know (nothing is sent for them).
    pub fn from_i32(group_type: i32) -> Result<GetUserSecurityGroup, QotError> {
        GroupType::from_i32(group_type)
            .map(GetUserSecurityGroup::new)
            .ok_or(QotError::InvalidGroupType(group_type))
    }

    /// A serialized `Qot_GetUserSecurityGroup.Request` (as the C++ and Java SDKs take
    /// one), sent as given once it parses and names a valid group type.
    pub fn from_pb(request: &[u8]) -> Result<GetUserSecurityGroup, QotError> {
        let req = pb::Request::decode(request).map_err(|e| {
            QotError::Send(SendError::InvalidArgument(format!(
                "not a Qot_GetUserSecurityGroup.Request: {e}"
            )))
        })?;
        let group_type = GroupType::from_i32(req.c2s.group_type)
            .ok_or(QotError::InvalidGroupType(req.c2s.group_type))?;
        Ok(GetUserSecurityGroup {
            group_type,
            body: request.to_vec(),
        })
    }

    pub fn group_type(&self) -> GroupType {
        self.group_type
    }
}

impl From<GroupType> for GetUserSecurityGroup {
    fn from(group_type: GroupType) -> Self {
        GetUserSecurityGroup::new(group_type)
    }
}

impl Request for GetUserSecurityGroup {
    const PROTO_ID: u32 = proto_id::QOT_GET_USER_SECURITY_GROUP;
    type Reply = GroupsReply;
    fn into_body(self) -> Vec<u8> {
        self.body
    }
}

impl Outcome<GetUserSecurityGroup> for GroupsReply {
    fn from_reply(reply: Reply) -> GroupsReply {
        GroupsReply::from_reply(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_group_types_are_refused_locally() {
        let r = GetUserSecurityGroup::from_i32;
        assert_eq!(r(0), Err(QotError::InvalidGroupType(0)));
        assert_eq!(r(99), Err(QotError::InvalidGroupType(99)));
        assert_eq!(r(3).unwrap().into_body(), vec![0x0a, 0x02, 0x08, 0x03]);
        let from_pb = GetUserSecurityGroup::from_pb;
        assert_eq!(
            from_pb(&[0x0a, 0x02, 0x08, 0x01]).unwrap().group_type(),
            GroupType::Custom
        );
        assert_eq!(
            from_pb(&[0x0a, 0x02, 0x08, 0x07]),
            Err(QotError::InvalidGroupType(7))
        );
        assert!(matches!(
            from_pb(&[0xff]),
            Err(QotError::Send(SendError::InvalidArgument(_)))
        ));
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
