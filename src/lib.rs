//! ftapi: a client for Futu / moomoo OpenD, through its TCP API port or its WebSocket port.
//!
//! Layers, from the bytes up (see `docs/DESIGN.md`):
//! - [`wire`]: the frame codecs of both doors (shared with the simulator);
//! - [`crypto`]: RSA for InitConnect, AES-CBC and FTAES-ECB for the bodies after it;
//! - [`pb`]: protobuf messages generated from `proto/`;
//! - `transport`: TCP, WebSocket over TCP, WebSocket over TLS;
//! - `protocol`: one sans-I/O state machine per door (FT: frames, SHA-1, InitConnect,
//!   AES, KeepAlive; WS: frames, the Init login, sections, pings);
//! - [`door`]: a door with its settings, which builds its transport and protocol;
//! - [`engine`]: the sans-I/O core (pending requests, timeouts, exactly one outcome
//!   each, rate limiter, reconnect, state) and the thin mio driver around it (one I/O
//!   thread per connection: socket, clock, callbacks);
//! - [`qot`]: the Rust API: typed Get Groups From Watchlist and the reusable
//!   connection slot;
//! - `ffi`: the C ABI over [`qot`] (header `include/ftapi.h`); `jni`: the Java binding's.
//!
//! [`limiter`] and [`log`] serve several layers.

pub mod door;
pub mod engine;
pub mod ffi;
#[cfg(feature = "java")]
mod jni;
pub mod qot;
mod transport;

// The layer below, in its own crate (crates/proto, shared with opend-sim): the protobuf
// messages, the log sink and the rate limiter are part of this API; the codecs, the
// crypto and the protocol state machines are used here under their usual names.
pub(crate) use ftapi_proto::ftlog;
pub(crate) use ftapi_proto::{crypto, protocol, wire};
pub use ftapi_proto::{limiter, log, pb};

/// The engine's earlier name, kept for programs written against it.
pub use engine as conn;

pub use engine::errcode;
pub use engine::{Backoff, Quota, RateLimitMode};
pub use engine::{
    ConnectError, Connection, Events, Options, Reply, ReplyKind, SendError, SessionInfo, State,
    TlsError, TlsRoots, WebSocketKey,
};
pub use qot::{
    ConfigError, Door, Group, GroupType, GroupsReply, Qot, QotError, QotSlot, SecondConnect,
    WaitError,
};
