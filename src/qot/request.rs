//! Requests as types: one generic path from a typed request to its one typed outcome.
//!
//! A [`Request`] is a validated OpenD request: its protocol ID, its body, and the type its
//! outcome takes by default ([`Request::Reply`]). An [`Outcome`] is any representation of
//! that outcome built once, on the I/O thread, from the engine's [`Reply`]: the typed
//! reply of this crate ([`GroupsReply`] for Get Groups From Watchlist), or a binding's own
//! (the C ABI builds its C view straight from OpenD's bytes). [`Qot::request`] and
//! [`Qot::request_blocking`] (and their `_as` forms, which name the outcome type) are the
//! only calls that send a typed request; `get_user_security_group` is a thin use of them.
//!
//! Adding a typed request is a protobuf file, a request type implementing [`Request`] and
//! a reply type implementing [`Outcome`] (see `docs/DESIGN.md`, "How to add a typed
//! request").
//!
//! [`Qot::request`]: super::Qot::request
//! [`Qot::request_blocking`]: super::Qot::request_blocking
//! [`GroupsReply`]: super::GroupsReply

use crate::engine::Reply;

/// A typed OpenD request, checked when it was made.
pub trait Request: Send + 'static {
    /// OpenD's protocol ID for it (3222 for Get Groups From Watchlist).
    const PROTO_ID: u32;
    /// The outcome [`Qot::request`](super::Qot::request) hands back.
    type Reply: Outcome<Self>;
    /// The serialized protobuf request.
    fn into_body(self) -> Vec<u8>;
}

/// A representation of the one outcome of a request `R`: OpenD's reply, or a library-made
/// one (timeout, disconnect, local rate limit), built once from the engine's [`Reply`].
/// It runs on the connection's I/O thread, so it must not block.
pub trait Outcome<R: ?Sized>: Sized + Send + 'static {
    fn from_reply(reply: Reply) -> Self;
}

/// The engine's reply itself is an outcome of every request (its kind, its bytes).
impl<R: Request> Outcome<R> for Reply {
    fn from_reply(reply: Reply) -> Reply {
        reply
    }
}
