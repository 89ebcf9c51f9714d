//! FrameReader fed arbitrary bytes in arbitrary chunks (via push and read_from).
//! Input: byte 0 picks the body limit and the feeding method, byte 1 seeds the chunk
//! sizes, the rest is the stream. The property itself is shared with tests/properties.rs.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/frame_feed.rs"]
mod frame_feed;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let max_body = [0usize, 1, 16, 100, 4096, 1 << 20][data[0] as usize % 6];
    let use_read = data[0] & 0x80 != 0;
    let mut seed = data[1] as usize | 1;
    let chunks: Vec<usize> = (0..16)
        .map(|_| {
            seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
            1 + (seed >> 8) % 64
        })
        .collect();
    frame_feed::feed(max_body, &chunks, &data[2..], use_read);
});
