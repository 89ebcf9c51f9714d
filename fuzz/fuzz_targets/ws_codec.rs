//! The WebSocket door's frame codec (opend_proto::wire::ws) on arbitrary bytes: decoded as a
//! reply and as a request, every field checked against the layout, re-encoded; and the
//! same bytes read as the fields of an encode/decode round trip. The property is shared
//! with tests/properties.rs.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/ws_codec.rs"]
mod ws_codec;

fuzz_target!(|data: &[u8]| {
    ws_codec::check_input(data);
});
