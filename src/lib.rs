//! ftapi: a client for Futu / moomoo OpenD.
//!
//! Layers, from the bytes up (see `docs/DESIGN.md`):
//! - [`wire`]: the 44-byte frame header, frame encoding, the streaming frame reader;
//! - [`log`]: the log callback / `FTAPI_LOG`;
//! - [`crypto`]: RSA for InitConnect, AES-CBC and FTAES-ECB for the bodies after it;
//! - [`pb`]: protobuf messages generated from `proto/`;
//! - [`conn`]: one OpenD connection, its I/O thread, InitConnect, KeepAlive, pending requests;
//! - [`qot`]: the typed API (Get Groups From Watchlist);
//! - `ffi`: the C ABI over [`qot`] (header `include/ftapi.h`).

pub mod conn;
pub mod crypto;
pub mod ffi;
#[cfg(feature = "java")]
mod jni;
pub mod log;
pub mod pb;
pub mod qot;
pub mod wire;

pub use conn::errcode;
pub use conn::{Backoff, Quota, RateLimitMode};
pub use conn::{
    ConnectError, Connection, Events, Options, Reply, ReplyKind, SendError, SessionInfo, State,
};
pub use qot::{Group, GroupType, GroupsReply, Qot, QotError};
