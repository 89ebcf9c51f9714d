//! The WebSocket door's frame codec (`opend_proto::wire::ws`) against its layout, read here
//! byte by byte: shared by tests/properties.rs (proptest on stable) and
//! fuzz/fuzz_targets/ws_codec.rs (libFuzzer), which include this file by path.

use opend_proto::wire::ws::{
    ERRMSG_LEN, REPLY_HEADER_LEN, REQUEST_HEADER_LEN, SIGN, WsWireError, decode_reply,
    decode_request, encode_reply, encode_request,
};

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().unwrap())
}

fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().unwrap())
}

/// A refusal must be the right one: too short for `need`, else a sign without
/// "ft-v1.0" (the eighth byte is padding), carrying the message's first 8 bytes.
fn check_refusal(msg: &[u8], need: usize, e: &WsWireError) {
    match e {
        WsWireError::Short { len, need: n } => {
            assert_eq!((*len, *n), (msg.len(), need));
            assert!(msg.len() < need);
        }
        WsWireError::BadSign(s) => {
            assert!(msg.len() >= need);
            assert_eq!(s[..], msg[..8]);
            assert_ne!(msg[..7], SIGN[..7]);
        }
    }
    assert!(!e.to_string().is_empty());
}

/// Decodes `msg` (one WebSocket message) as a reply and as a request and checks every
/// field against the layout; re-encodes what decoded and checks the bytes that come out.
/// Returns whether it decoded as a reply.
pub fn check_message(msg: &[u8]) -> bool {
    let request_ok = match decode_request(msg) {
        Err(e) => {
            check_refusal(msg, REQUEST_HEADER_LEN, &e);
            false
        }
        Ok((h, body)) => {
            assert!(msg.len() >= REQUEST_HEADER_LEN);
            assert_eq!(msg[..7], SIGN[..7]);
            assert_eq!(h.cmd, be32(&msg[8..]));
            assert_eq!(h.section, be64(&msg[12..]));
            assert_eq!(body, &msg[REQUEST_HEADER_LEN..]);
            // Encoding gives the same bytes, with the canonical NUL after the sign.
            let mut again = Vec::new();
            encode_request(&mut again, h.cmd, h.section, body);
            let mut canon = msg.to_vec();
            canon[7] = 0;
            assert_eq!(again, canon);
            true
        }
    };
    match decode_reply(msg) {
        Err(e) => {
            check_refusal(msg, REPLY_HEADER_LEN, &e);
            false
        }
        Ok((h, body)) => {
            assert!(
                request_ok,
                "a reply is at least as long as a request header"
            );
            assert!(msg.len() >= REPLY_HEADER_LEN);
            assert_eq!(h.cmd, be32(&msg[8..]));
            assert_eq!(h.section, be64(&msg[12..]));
            assert_eq!(h.error, be32(&msg[20..]) as i32);
            assert_eq!(body, &msg[REPLY_HEADER_LEN..]);
            let field = &msg[24..24 + ERRMSG_LEN];
            let nul = field.iter().position(|&b| b == 0).unwrap_or(ERRMSG_LEN);
            assert_eq!(h.errmsg, String::from_utf8_lossy(&field[..nul]));
            assert!(!h.errmsg.contains('\0'));
            // Each invalid byte becomes one U+FFFD (3 bytes) at most.
            assert!(h.errmsg.len() <= 3 * ERRMSG_LEN);
            let mut again = Vec::new();
            encode_reply(&mut again, h.cmd, h.section, h.error, &h.errmsg, body);
            assert_eq!(again.len(), msg.len());
            if std::str::from_utf8(&field[..nul]).is_ok() {
                // Valid text: the same bytes, canonical sign and padding.
                let mut canon = msg.to_vec();
                canon[7] = 0;
                canon[24 + nul..24 + ERRMSG_LEN].fill(0);
                assert_eq!(again, canon);
            } else {
                // Replacement characters may not fit: what comes back is a prefix.
                let (h2, body2) = decode_reply(&again).expect("own reply decodes");
                assert_eq!((h2.cmd, h2.section, h2.error), (h.cmd, h.section, h.error));
                assert!(h.errmsg.starts_with(&h2.errmsg));
                assert!(h2.errmsg.len() <= ERRMSG_LEN);
                assert_eq!(body2, body);
            }
            true
        }
    }
}

/// What the errmsg field holds once `errmsg` went through `encode_reply` and
/// `decode_reply`: at most 20 bytes, cut at a character boundary, up to the first NUL.
pub fn errmsg_after_round_trip(errmsg: &str) -> &str {
    let mut cut = errmsg.len().min(ERRMSG_LEN);
    while !errmsg.is_char_boundary(cut) {
        cut -= 1;
    }
    let s = &errmsg[..cut];
    s.split('\0').next().unwrap_or("")
}

/// encode then decode, both kinds, appended after `prefix`: the fields come back (errmsg
/// as [`errmsg_after_round_trip`] says), the message has exactly its header's and body's
/// size, and what was in the buffer before stays.
pub fn check_round_trip(
    prefix: &[u8],
    cmd: u32,
    section: u64,
    error: i32,
    errmsg: &str,
    body: &[u8],
) {
    let mut out = prefix.to_vec();
    encode_reply(&mut out, cmd, section, error, errmsg, body);
    assert_eq!(&out[..prefix.len()], prefix);
    let msg = &out[prefix.len()..];
    assert_eq!(msg.len(), REPLY_HEADER_LEN + body.len());
    assert_eq!(msg[..8], SIGN);
    let (h, b) = decode_reply(msg).expect("own reply decodes");
    assert_eq!((h.cmd, h.section, h.error), (cmd, section, error));
    assert_eq!(h.errmsg, errmsg_after_round_trip(errmsg));
    assert_eq!(b, body);
    assert!(check_message(msg));

    let mut out = prefix.to_vec();
    encode_request(&mut out, cmd, section, body);
    assert_eq!(&out[..prefix.len()], prefix);
    let msg = &out[prefix.len()..];
    assert_eq!(msg.len(), REQUEST_HEADER_LEN + body.len());
    assert_eq!(msg[..8], SIGN);
    let (h, b) = decode_request(msg).expect("own request decodes");
    assert_eq!((h.cmd, h.section), (cmd, section));
    assert_eq!(b, body);
    check_message(msg);
}

/// The fuzz target's input, used twice: as one message, and as the fields of a round
/// trip (cmd 4 bytes, section 8, error 4, errmsg length 1 (mod 32), errmsg bytes read
/// as UTF-8 with replacement, the rest is the body; missing bytes are zeros).
pub fn check_input(data: &[u8]) {
    check_message(data);
    let mut head = [0u8; 17];
    let n = data.len().min(17);
    head[..n].copy_from_slice(&data[..n]);
    let rest = &data[n..];
    let m = (head[16] as usize % 32).min(rest.len());
    let errmsg = String::from_utf8_lossy(&rest[..m]);
    check_round_trip(
        &data[..n.min(3)],
        be32(&head[0..]),
        be64(&head[4..]),
        be32(&head[12..]) as i32,
        &errmsg,
        &rest[m..],
    );
}
