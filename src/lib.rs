//! opend (the ftapi project's Rust crate): a client for Futu / moomoo OpenD, through its TCP
//! API port or its WebSocket port.
//!
//! The workspace's layers, from the bytes up (see `docs/DESIGN.md`):
//! - `opend-proto` (crates/proto, shared with the simulator): the frame codecs of both
//!   doors, RSA and AES, the protobuf messages ([`pb`]), one sans-I/O state machine per
//!   door, the rate limiter ([`limiter`]) and the log sink ([`log`]);
//! - this crate: `transport` (TCP, WebSocket over TCP, WebSocket over TLS); [`door`] (a
//!   door with its settings, which builds its transport and protocol); [`engine`] (the
//!   sans-I/O core: pending requests, timeouts, exactly one outcome each, rate limit,
//!   reconnect, state; and the thin mio driver around it: one I/O thread per connection
//!   with its socket, clock and callbacks); [`qot`] (the typed API and the reusable
//!   connection slot);
//! - `ftapi-c` (crates/capi): the C ABI (`libftapi`, header `include/ftapi.h`), the
//!   official channel's `FTAPIChannel_*` and the Java binding's JNI exports, translating
//!   this API; the Node addon (bindings/node) translates it too.

pub mod door;
pub mod engine;
pub mod qot;
mod transport;

// The layer below, in its own crate (crates/proto, shared with opend-sim): the protobuf
// messages, the log sink and the rate limiter are part of this API; the codecs, the
// crypto and the protocol state machines are used here under their usual names.
pub(crate) use opend_proto::ftlog;
pub(crate) use opend_proto::{crypto, protocol, wire};
pub use opend_proto::{limiter, log, pb};

/// The engine's earlier name, kept for programs written against it.
pub use engine as conn;

pub use engine::close_all;
pub use engine::errcode;
pub use engine::{Backoff, Quota, RateLimitMode};
pub use engine::{
    ConnectError, Connection, Events, Options, Reply, ReplyKind, SendError, SessionInfo, State,
    TlsError, TlsRoots, WebSocketKey,
};
pub use qot::{
    ConfigError, Door, GetUserSecurityGroup, Group, GroupType, GroupsReply, Outcome, Qot, QotError,
    QotSlot, Request, SecondConnect, WaitError,
};
