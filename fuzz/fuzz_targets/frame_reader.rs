//! FrameReader fed arbitrary bytes in arbitrary chunks (via push and read_from).
//! Input: byte 0 picks the body limit, byte 1 seeds the chunk sizes, the rest is the stream.
#![no_main]
use ftapi::wire::{FrameReader, HEADER_LEN};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

/// A reader that hands out at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let max_body = [0usize, 1, 16, 100, 4096, 1 << 20][data[0] as usize % 6];
    let mut seed = data[1] as usize | 1;
    let stream = &data[2..];
    let use_read = data[0] & 0x80 != 0;
    let mut r = FrameReader::new(max_body);
    let mut fed = 0usize;
    let mut taken = 0usize;
    let mut rest = stream;
    loop {
        seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
        let step = 1 + (seed >> 8) % 64;
        if rest.is_empty() {
            break;
        }
        let n = step.min(rest.len());
        if use_read {
            // read_from may take less than offered (it reads at most one frame's worth
            // when the limit is small): feed the chunk until it is all in.
            let mut t = Trickle { data: &rest[..n], step: n };
            while !t.data.is_empty() {
                let before = t.data.len();
                let got = r.read_from(&mut t).expect("in-memory read");
                assert!(got > 0, "read_from asked for no bytes");
                assert_eq!(got, before - t.data.len());
            }
        } else {
            r.push(&rest[..n]);
        }
        fed += n;
        rest = &rest[n..];
        loop {
            match r.next_frame() {
                Ok(Some(f)) => {
                    assert_eq!(f.body.len(), f.header.body_len as usize);
                    assert!(f.body.len() <= max_body);
                    taken += HEADER_LEN + f.body.len();
                    assert!(taken <= fed);
                    assert_eq!(taken + r.buffered(), fed);
                    let _ = f.header.check_sha1(&f.body);
                }
                Ok(None) => {
                    assert_eq!(taken + r.buffered(), fed);
                    break;
                }
                // A protocol error ends the connection: the engine stops reading here.
                Err(e) => {
                    let _ = e.to_string();
                    return;
                }
            }
        }
    }
});
