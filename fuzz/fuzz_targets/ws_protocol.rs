//! The WebSocket door's protocol (WsProtocol, through opend_proto::fuzzing::WsSession) fed
//! arbitrary server messages, with or without a good login first, requests and ping
//! timers in between; every event checked against a model of docs/PROTOCOL.md §10.
//! Input: the byte form of tests/support/ws_session.rs's Script. The property is shared
//! with tests/properties.rs.
#![no_main]
use libfuzzer_sys::fuzz_target;

// `Script::to_bytes` is for tests/properties.rs (it writes the seeds).
#[allow(dead_code)]
#[path = "../../tests/support/ws_session.rs"]
mod ws_session;

fuzz_target!(|data: &[u8]| {
    ws_session::run(&ws_session::Script::from_bytes(data));
});
