//! The frame reader's byte-accounting property, shared by tests/properties.rs (proptest
//! on stable) and fuzz/fuzz_targets/frame_reader.rs (libFuzzer), which include this file
//! by path.

use opend_proto::wire::{FrameReader, HEADER_LEN};
use std::io::Read;

/// A reader that hands out at most `step` bytes per read.
pub struct Trickle<'a> {
    pub data: &'a [u8],
    pub step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Feeds `stream` in `chunks`; checks the byte accounting; returns the frames' (proto,
/// serial, body) until the end or the first protocol error (then `true`).
pub fn feed(
    max_body: usize,
    chunks: &[usize],
    stream: &[u8],
    use_read: bool,
) -> (Vec<(u32, u32, Vec<u8>)>, bool) {
    let mut r = FrameReader::new(max_body);
    let (mut fed, mut taken) = (0usize, 0usize);
    let mut rest = stream;
    let mut out = Vec::new();
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks[i % chunks.len()].max(1).min(rest.len());
        i += 1;
        if use_read {
            let mut t = Trickle {
                data: &rest[..n],
                step: n,
            };
            while !t.data.is_empty() {
                let before = t.data.len();
                let got = r.read_from(&mut t).unwrap();
                assert!(got > 0);
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
                    assert_eq!(taken + r.buffered(), fed);
                    out.push((f.header.proto_id, f.header.serial, f.body));
                }
                Ok(None) => {
                    assert_eq!(taken + r.buffered(), fed);
                    break;
                }
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}
