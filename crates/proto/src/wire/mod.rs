//! The frame codecs of OpenD's two doors, shared by the client and the simulator.
//!
//! - [`ft`]: the TCP API port's 44-byte little-endian header with the body's SHA-1, the
//!   streaming frame reader (re-exported here, so `wire::HEADER_LEN` is the FT header);
//! - [`ws`]: the WebSocket port's big-endian headers, one packet per WebSocket message.

pub mod ft;
pub mod ws;

pub use ft::*;
