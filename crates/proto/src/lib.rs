//! opend-proto: OpenD's two wire protocols, without I/O. The client (`opend`) runs them over
//! its sockets; the simulator (`opend-sim`) speaks their server side with the same
//! codecs. Its API serves those two crates and changes with them.
//!
//! - [`wire`]: the frame codecs of both doors (the TCP door's 44-byte header and SHA-1,
//!   the WebSocket door's big-endian frames);
//! - [`crypto`]: RSA for InitConnect, AES-CBC and FTAES-ECB for the bodies after it;
//! - [`pb`]: protobuf messages generated from `proto/`;
//! - [`protocol`]: one sans-I/O state machine per door (bytes in; bytes, packets, events
//!   and timers out; no socket, thread or clock);
//! - [`limiter`]: OpenD's sliding-window rate limit (the client's and the simulator's);
//! - [`log`]: the log sink every layer writes to.

pub mod crypto;
#[doc(hidden)]
pub mod fuzzing;
pub mod limiter;
pub mod log;
pub mod pb;
pub mod protocol;
pub mod wire;
