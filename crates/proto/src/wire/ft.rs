//! The TCP door's frame: a 44-byte little-endian header followed by the body.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | `"FT"` |
//! | 2 | 4 | proto ID |
//! | 6 | 1 | body format (0 protobuf, 1 JSON) |
//! | 7 | 1 | protocol version (0) |
//! | 8 | 4 | serial number |
//! | 12 | 4 | body length as sent (after encryption) |
//! | 16 | 20 | SHA-1 of the plaintext body |
//! | 36 | 8 | reserved, zero |

use sha1::{Digest, Sha1};
use std::fmt;
use std::io::{self, Read};

/// Size of the frame header.
pub const HEADER_LEN: usize = 44;
/// The two bytes every frame starts with.
pub const MAGIC: [u8; 2] = *b"FT";
/// Default cap on a received body; a larger one ends the connection before anything is
/// allocated for it.
pub const DEFAULT_MAX_BODY_LEN: usize = 64 << 20;

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub proto_id: u32,
    pub fmt: u8,
    pub ver: u8,
    pub serial: u32,
    pub body_len: u32,
    pub sha1: [u8; 20],
}

/// A frame that breaks the protocol. Each of these ends the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The header does not start with `"FT"`.
    BadMagic([u8; 2]),
    /// The header announces a body larger than the configured maximum.
    BodyTooLong {
        proto_id: u32,
        serial: u32,
        len: u64,
        max: usize,
    },
    /// The body's SHA-1 differs from the header's.
    Sha1Mismatch { proto_id: u32, serial: u32 },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::BadMagic(m) => {
                write!(
                    f,
                    "bad frame header: expected \"FT\", got {:02x} {:02x}",
                    m[0], m[1]
                )
            }
            WireError::BodyTooLong {
                proto_id,
                serial,
                len,
                max,
            } => write!(
                f,
                "frame body of {len} bytes (proto {proto_id}, serial {serial}) exceeds the {max}-byte limit"
            ),
            WireError::Sha1Mismatch { proto_id, serial } => {
                write!(f, "SHA-1 mismatch on proto {proto_id}, serial {serial}")
            }
        }
    }
}

impl std::error::Error for WireError {}

/// SHA-1 of a plaintext body, as carried in the header.
pub fn sha1(body: &[u8]) -> [u8; 20] {
    Sha1::digest(body).into()
}

/// SHA-1 with a memory of the last body it hashed. A connection sends the same request
/// body and gets the same reply again and again; comparing a few hundred bytes is far
/// cheaper than hashing them, and the digest of identical bytes is the same, so a check
/// made through this is exactly as strict as hashing every time.
#[derive(Default)]
pub struct Sha1Memo {
    last: Vec<u8>,
    digest: [u8; 20],
}

/// Bodies longer than this are hashed every time (and not remembered).
const MEMO_MAX: usize = 4096;

impl Sha1Memo {
    pub fn digest(&mut self, body: &[u8]) -> [u8; 20] {
        if !self.last.is_empty() && self.last == body {
            return self.digest;
        }
        let d = sha1(body);
        if !body.is_empty() && body.len() <= MEMO_MAX {
            self.last.clear();
            self.last.extend_from_slice(body);
            self.digest = d;
        }
        d
    }
}

impl Header {
    /// The header of a protobuf frame whose plaintext is `plain` and whose wire body is
    /// `wire_len` bytes long.
    pub fn new(proto_id: u32, serial: u32, plain: &[u8], wire_len: usize) -> Header {
        Header::with_digest(proto_id, serial, sha1(plain), wire_len)
    }

    /// As [`Header::new`], with the plaintext's SHA-1 computed by the caller.
    pub fn with_digest(proto_id: u32, serial: u32, digest: [u8; 20], wire_len: usize) -> Header {
        Header {
            proto_id,
            fmt: 0,
            ver: 0,
            serial,
            body_len: wire_len as u32,
            sha1: digest,
        }
    }

    /// Serializes the header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..2].copy_from_slice(&MAGIC);
        b[2..6].copy_from_slice(&self.proto_id.to_le_bytes());
        b[6] = self.fmt;
        b[7] = self.ver;
        b[8..12].copy_from_slice(&self.serial.to_le_bytes());
        b[12..16].copy_from_slice(&self.body_len.to_le_bytes());
        b[16..36].copy_from_slice(&self.sha1);
        b
    }

    /// Parses a header. Only the magic is checked here; the body length is checked by
    /// [`FrameReader`] against its limit.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Header, WireError> {
        if b[0..2] != MAGIC {
            return Err(WireError::BadMagic([b[0], b[1]]));
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut sha1 = [0u8; 20];
        sha1.copy_from_slice(&b[16..36]);
        Ok(Header {
            proto_id: u32_at(2),
            fmt: b[6],
            ver: b[7],
            serial: u32_at(8),
            body_len: u32_at(12),
            sha1,
        })
    }

    /// Checks the plaintext body against the header's SHA-1.
    pub fn check_sha1(&self, plain: &[u8]) -> Result<(), WireError> {
        self.check_digest(sha1(plain))
    }

    /// Checks the SHA-1 of the plaintext body, computed by the caller (e.g. through a
    /// [`Sha1Memo`]), against the header's.
    pub fn check_digest(&self, digest: [u8; 20]) -> Result<(), WireError> {
        if digest == self.sha1 {
            Ok(())
        } else {
            Err(WireError::Sha1Mismatch {
                proto_id: self.proto_id,
                serial: self.serial,
            })
        }
    }
}

/// Appends one frame to `out`: the header (SHA-1 of `plain`) and `wire_body`, which is
/// `plain` itself on an unencrypted connection.
pub fn encode_frame_into(
    out: &mut Vec<u8>,
    proto_id: u32,
    serial: u32,
    plain: &[u8],
    wire_body: &[u8],
) {
    encode_frame_with_digest(out, proto_id, serial, sha1(plain), wire_body);
}

/// As [`encode_frame_into`], with the plaintext's SHA-1 computed by the caller.
pub fn encode_frame_with_digest(
    out: &mut Vec<u8>,
    proto_id: u32,
    serial: u32,
    digest: [u8; 20],
    wire_body: &[u8],
) {
    let header = Header::with_digest(proto_id, serial, digest, wire_body.len());
    out.reserve(HEADER_LEN + wire_body.len());
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(wire_body);
}

/// One unencrypted frame.
pub fn encode_frame(proto_id: u32, serial: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame_into(&mut out, proto_id, serial, body, body);
    out
}

/// A received frame; `body` is as it came off the wire (still encrypted, if the
/// connection is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub header: Header,
    pub body: Vec<u8>,
}

/// Cuts a byte stream into frames: partial frames wait for more bytes, several frames
/// in one read come out one by one, bodies of any size up to the limit are assembled.
pub struct FrameReader {
    buf: Vec<u8>,
    /// Start of the bytes not yet returned as frames.
    pos: usize,
    max_body_len: usize,
    /// Whether the last `read_from` got fewer bytes than it asked for (the socket had
    /// no more for now, so another read would only say "would block").
    short_read: bool,
}

/// How many bytes one `read` asks for when no frame size is known yet.
const READ_CHUNK: usize = 64 * 1024;

impl FrameReader {
    /// A reader that refuses bodies longer than `max_body_len`.
    pub fn new(max_body_len: usize) -> FrameReader {
        FrameReader {
            buf: Vec::with_capacity(READ_CHUNK),
            pos: 0,
            max_body_len,
            short_read: false,
        }
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Reads once from `r` into the buffer; returns what `read` returned (0 at EOF).
    pub fn read_from<R: Read>(&mut self, r: &mut R) -> io::Result<usize> {
        self.compact();
        let want = match self.peek_header() {
            // Read the rest of a known large frame in one go.
            Some(Ok(h)) => (HEADER_LEN + h.body_len as usize)
                .saturating_sub(self.buffered())
                .max(READ_CHUNK),
            _ => READ_CHUNK,
        }
        .min(self.max_body_len + HEADER_LEN);
        let len = self.buf.len();
        self.buf.resize(len + want, 0);
        let res = r.read(&mut self.buf[len..]);
        let n = *res.as_ref().unwrap_or(&0);
        self.buf.truncate(len + n);
        self.short_read = n < want;
        res
    }

    /// Whether the last [`read_from`](Self::read_from) returned fewer bytes than asked:
    /// a non-blocking socket then has nothing more for now.
    pub fn last_read_was_short(&self) -> bool {
        self.short_read
    }

    fn compact(&mut self) {
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos >= self.buf.capacity() / 2) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    fn peek_header(&self) -> Option<Result<Header, WireError>> {
        let rest = &self.buf[self.pos..];
        let raw: &[u8; HEADER_LEN] = rest.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Header::decode(raw).and_then(|h| {
            if h.body_len as usize > self.max_body_len {
                Err(WireError::BodyTooLong {
                    proto_id: h.proto_id,
                    serial: h.serial,
                    len: h.body_len as u64,
                    max: self.max_body_len,
                })
            } else {
                Ok(h)
            }
        }))
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or the protocol
    /// error that must end the connection.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, WireError> {
        let header = match self.peek_header() {
            None => return Ok(None),
            Some(h) => h?,
        };
        let total = HEADER_LEN + header.body_len as usize;
        if self.buffered() < total {
            return Ok(None);
        }
        let start = self.pos + HEADER_LEN;
        let body = self.buf[start..self.pos + total].to_vec();
        self.pos += total;
        Ok(Some(Frame { header, body }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_memo_gives_the_digest_of_every_body_and_checks_stay_strict() {
        let mut m = Sha1Memo::default();
        let big = vec![7u8; MEMO_MAX + 1];
        let bodies: [&[u8]; 8] = [b"abc", b"abc", b"abd", b"abc", b"", b"", &big, &big];
        for b in bodies {
            assert_eq!(m.digest(b), sha1(b), "{:?}", &b[..b.len().min(4)]);
        }
        // A remembered body under a header whose SHA-1 is wrong still fails.
        let body = b"the same reply".to_vec();
        let good = Header::new(3222, 2, &body, body.len());
        assert!(good.check_digest(m.digest(&body)).is_ok());
        let mut bad = good;
        bad.sha1[19] ^= 1;
        assert!(bad.check_digest(m.digest(&body)).is_err());
        assert!(good.check_digest(m.digest(&body)).is_ok());
    }

    #[test]
    fn header_matches_the_official_clients_bytes() {
        // docs/PROTOCOL.md §1: the official Python client's 3222 request.
        let body = [0x0a, 0x07, 0x08, 0x03, 0xa2, 0x06, 0x02, 0x08, 0x00];
        let frame = encode_frame(3222, 0x22a8, &body);
        let expected_head = "4654960c00000000a822000009000000c541341b80be0b4409ad494fdc2f1d3a1398a2250000000000000000";
        let hex: String = frame[..HEADER_LEN]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, expected_head);
        assert_eq!(&frame[HEADER_LEN..], &body);
    }

    #[test]
    fn reader_handles_partial_and_concatenated_frames() {
        let mut stream = Vec::new();
        stream.extend(encode_frame(1, 10, b"first"));
        stream.extend(encode_frame(2, 11, &vec![7u8; 200_000]));
        stream.extend(encode_frame(3, 12, b""));
        let mut r = FrameReader::new(DEFAULT_MAX_BODY_LEN);
        let mut got = Vec::new();
        for chunk in stream.chunks(7) {
            r.push(chunk);
            while let Some(f) = r.next_frame().unwrap() {
                f.header.check_sha1(&f.body).unwrap();
                got.push((f.header.proto_id, f.header.serial, f.body.len()));
            }
        }
        assert_eq!(got, vec![(1, 10, 5), (2, 11, 200_000), (3, 12, 0)]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn reader_reads_large_frames_from_a_stream() {
        let stream = [
            encode_frame(5, 1, &vec![1u8; 1 << 20]),
            encode_frame(6, 2, b"x"),
        ]
        .concat();
        let mut cursor = io::Cursor::new(stream);
        let mut r = FrameReader::new(DEFAULT_MAX_BODY_LEN);
        let mut got = Vec::new();
        while r.read_from(&mut cursor).unwrap() > 0 {
            while let Some(f) = r.next_frame().unwrap() {
                got.push(f.body.len());
            }
        }
        assert_eq!(got, vec![1 << 20, 1]);
    }

    #[test]
    fn oversized_body_is_refused_before_it_arrives() {
        let mut head = Header::new(3222, 9, b"", 0);
        head.body_len = u32::MAX;
        let mut r = FrameReader::new(DEFAULT_MAX_BODY_LEN);
        r.push(&head.encode());
        match r.next_frame() {
            Err(WireError::BodyTooLong { len, .. }) => assert_eq!(len, u32::MAX as u64),
            other => panic!("expected BodyTooLong, got {other:?}"),
        }
    }

    #[test]
    fn bad_magic_and_bad_sha1_are_reported() {
        let mut frame = encode_frame(1, 1, b"abc");
        frame[0] = b'X';
        let mut r = FrameReader::new(1024);
        r.push(&frame);
        assert!(matches!(
            r.next_frame(),
            Err(WireError::BadMagic([b'X', b'T']))
        ));

        let mut frame = encode_frame(1, 1, b"abc");
        frame[20] ^= 1;
        let mut r = FrameReader::new(1024);
        r.push(&frame);
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(
            f.header.check_sha1(&f.body),
            Err(WireError::Sha1Mismatch {
                proto_id: 1,
                serial: 1
            })
        );
    }
}
