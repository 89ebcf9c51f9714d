//! The frames of OpenD's WebSocket door (what the official JavaScript SDK speaks; see
//! `docs/PROTOCOL.md` §10). One packet per binary WebSocket message, all
//! integers big-endian, no SHA-1 and no body length (the message has one):
//!
//! | request (client to OpenD) | size | reply and push (OpenD to client) | size |
//! |---|---|---|---|
//! | sign `"ft-v1.0"` + NUL | 8 | sign | 8 |
//! | cmd (the proto ID, or [`cmd::INIT`]) | 4 | cmd | 4 |
//! | section | 8 | section (the request's, echoed) | 8 |
//! | | | error ([`error`]; 0 = none) | 4 |
//! | | | errmsg, UTF-8, NUL-padded | 20 |
//! | body | rest | body (absent when OpenD had none) | rest |

use std::fmt;

/// The sign every frame starts with.
pub const SIGN: [u8; 8] = *b"ft-v1.0\0";
/// Size of a request header.
pub const REQUEST_HEADER_LEN: usize = 20;
/// Size of a reply (or push) header.
pub const REPLY_HEADER_LEN: usize = 44;
/// Size of the reply header's errmsg field.
pub const ERRMSG_LEN: usize = 20;

/// Commands of the WebSocket door itself (below OpenD's proto IDs).
pub mod cmd {
    /// The login: `InitWebSocket.Request` in, `InitWebSocket.Response` out.
    pub const INIT: u32 = 1;
    /// Pushed when OpenD's WebSocket side lost its own link to OpenD.
    pub const OPEND_DISCONNECTED: u32 = 2;
}

/// Values of a reply header's `error` field, as the official JavaScript SDK names them.
pub mod error {
    /// No reply from OpenD in time.
    pub const TIMEOUT: i32 = 1;
    /// OpenD's own timeout (its link to Futu's servers may be down).
    pub const OPEND_TIMEOUT: i32 = 2;
    /// The link between the WebSocket side and OpenD closed.
    pub const DISCONNECTED: i32 = 3;
}

/// A WebSocket message that is not an OpenD frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsWireError {
    /// Shorter than its header.
    Short { len: usize, need: usize },
    /// The sign is not `"ft-v1.0"`.
    BadSign([u8; 8]),
}

impl fmt::Display for WsWireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsWireError::Short { len, need } => write!(
                f,
                "WebSocket message of {len} bytes is shorter than the {need}-byte OpenD header"
            ),
            WsWireError::BadSign(s) => {
                write!(f, "bad WebSocket frame sign: expected \"ft-v1.0\", got ")?;
                for b in s {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for WsWireError {}

fn check_sign(msg: &[u8], need: usize) -> Result<(), WsWireError> {
    if msg.len() < need {
        return Err(WsWireError::Short {
            len: msg.len(),
            need,
        });
    }
    // The official SDK accepts any 8 bytes that contain "ft-v1.0"; the NUL is padding.
    if msg[..7] != SIGN[..7] {
        let mut s = [0u8; 8];
        s.copy_from_slice(&msg[..8]);
        return Err(WsWireError::BadSign(s));
    }
    Ok(())
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[i..i + 8]);
    u64::from_be_bytes(v)
}

/// A request header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    pub cmd: u32,
    pub section: u64,
}

/// Appends one request message (header and body) to `out`.
pub fn encode_request(out: &mut Vec<u8>, cmd: u32, section: u64, body: &[u8]) {
    out.reserve(REQUEST_HEADER_LEN + body.len());
    out.extend_from_slice(&SIGN);
    out.extend_from_slice(&cmd.to_be_bytes());
    out.extend_from_slice(&section.to_be_bytes());
    out.extend_from_slice(body);
}

/// Splits a request message into its header and body.
pub fn decode_request(msg: &[u8]) -> Result<(RequestHeader, &[u8]), WsWireError> {
    check_sign(msg, REQUEST_HEADER_LEN)?;
    Ok((
        RequestHeader {
            cmd: u32_at(msg, 8),
            section: u64_at(msg, 12),
        },
        &msg[REQUEST_HEADER_LEN..],
    ))
}

/// A reply (or push) header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyHeader {
    pub cmd: u32,
    pub section: u64,
    pub error: i32,
    /// The errmsg field without its NUL padding (invalid UTF-8 replaced).
    pub errmsg: String,
}

/// Appends one reply message to `out`. `errmsg` is cut to 20 bytes at a character
/// boundary.
pub fn encode_reply(
    out: &mut Vec<u8>,
    cmd: u32,
    section: u64,
    error: i32,
    errmsg: &str,
    body: &[u8],
) {
    out.reserve(REPLY_HEADER_LEN + body.len());
    out.extend_from_slice(&SIGN);
    out.extend_from_slice(&cmd.to_be_bytes());
    out.extend_from_slice(&section.to_be_bytes());
    out.extend_from_slice(&error.to_be_bytes());
    let mut cut = errmsg.len().min(ERRMSG_LEN);
    while !errmsg.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut field = [0u8; ERRMSG_LEN];
    field[..cut].copy_from_slice(&errmsg.as_bytes()[..cut]);
    out.extend_from_slice(&field);
    out.extend_from_slice(body);
}

/// Splits a reply message into its header and body (empty when OpenD sent none).
pub fn decode_reply(msg: &[u8]) -> Result<(ReplyHeader, &[u8]), WsWireError> {
    check_sign(msg, REPLY_HEADER_LEN)?;
    let raw = &msg[24..REPLY_HEADER_LEN];
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    Ok((
        ReplyHeader {
            cmd: u32_at(msg, 8),
            section: u64_at(msg, 12),
            error: u32_at(msg, 20) as i32,
            errmsg: String::from_utf8_lossy(&raw[..end]).into_owned(),
        },
        &msg[REPLY_HEADER_LEN..],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_matches_the_bytes_the_official_client_sends() {
        // Seen on the wire from futu-api 10.11.7108: 3222, section 3, c2s{groupType=3}.
        let mut out = Vec::new();
        encode_request(&mut out, 3222, 3, &[0x0a, 0x02, 0x08, 0x03]);
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "66742d76312e300000000c9600000000000000030a020803");
        let (h, body) = decode_request(&out).unwrap();
        assert_eq!(
            (h.cmd, h.section, body),
            (3222, 3, &[0x0a, 0x02, 0x08, 0x03][..])
        );
    }

    #[test]
    fn reply_round_trips_and_errmsg_is_cut_at_a_character_boundary() {
        let mut out = Vec::new();
        // 19 ASCII bytes, then a 3-byte character that does not fit in 20.
        encode_reply(
            &mut out,
            3222,
            u64::MAX,
            3,
            "abcdefghijklmnopqrs全",
            b"body",
        );
        assert_eq!(out.len(), REPLY_HEADER_LEN + 4);
        let (h, body) = decode_reply(&out).unwrap();
        assert_eq!(h.cmd, 3222);
        assert_eq!(h.section, u64::MAX);
        assert_eq!(h.error, 3);
        assert_eq!(h.errmsg, "abcdefghijklmnopqrs");
        assert_eq!(body, b"body");
        let mut neg = Vec::new();
        encode_reply(&mut neg, 1, 2, -1, "", b"");
        assert_eq!(decode_reply(&neg).unwrap().0.error, -1);
    }

    #[test]
    fn short_messages_and_bad_signs_are_refused() {
        assert_eq!(
            decode_reply(&[0u8; 43]),
            Err(WsWireError::Short { len: 43, need: 44 })
        );
        let mut out = Vec::new();
        encode_reply(&mut out, 1, 1, 0, "", b"");
        out[0] = b'x';
        assert!(matches!(decode_reply(&out), Err(WsWireError::BadSign(_))));
        assert!(decode_request(&out[..19]).is_err());
    }
}
