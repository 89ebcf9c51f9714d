//! A borrowed, allocation-light decoder for `Qot_GetUserSecurityGroup.Response`.
//!
//! Replies are decoded on the I/O thread, once per request; with prost that meant a
//! `Response`, an `S2C`, a growing `Vec` and a `String` per group before the C ABI copied
//! it all again into its own view. [`GroupsView::parse`] reads the same bytes with the
//! same rules (proto2 wire format: unknown fields skipped, last value wins for scalars,
//! repeated messages appended, a repeated `s2c` merged, strings checked as UTF-8) and
//! borrows every name from the body, so a caller builds its own representation in one
//! pass. `tests/properties.rs` checks it against prost on arbitrary and mangled input.

use std::fmt;

/// `retType`'s default when OpenD leaves it out (the field is required, default -400).
const RET_TYPE_DEFAULT: i32 = -400;

/// Nesting allowed below the top-level message (as prost allows).
const MAX_DEPTH: u32 = 100;

/// One group, borrowed from the reply's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupRef<'a> {
    pub name: &'a str,
    /// As OpenD sent it: 1 (custom) or 2 (system).
    pub group_type: i32,
}

/// A decoded `Qot_GetUserSecurityGroup.Response` that borrows from its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupsView<'a> {
    pub ret_type: i32,
    /// `retMsg`, if OpenD sent one.
    pub ret_msg: Option<&'a str>,
    /// `errCode`, if OpenD sent one.
    pub err_code: Option<i32>,
    /// Whether OpenD sent `s2c` (even an empty one).
    pub has_s2c: bool,
    pub groups: Vec<GroupRef<'a>>,
}

/// Why bytes are not a `Qot_GetUserSecurityGroup.Response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    what: &'static str,
    at: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for DecodeError {}

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

/// A cursor over one message's bytes; offsets in errors are relative to the whole body.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Cursor { buf, pos: 0, base }
    }

    fn err(&self, what: &'static str) -> DecodeError {
        DecodeError {
            what,
            at: self.base + self.pos,
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, DecodeError> {
        // Keys, lengths and group types are almost always one byte.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_slow()
    }

    #[cold]
    fn varint_slow(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err("truncated varint"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(self.err("varint longer than 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 64 bits"))
    }

    /// A field key: (field number, wire type).
    #[inline]
    fn key(&mut self) -> Result<(u32, u8), DecodeError> {
        let k = self.varint()?;
        if k > u64::from(u32::MAX) {
            return Err(self.err("invalid key"));
        }
        let (field, wire) = ((k >> 3) as u32, (k & 7) as u8);
        if field == 0 {
            return Err(self.err("field number 0"));
        }
        if wire > FIXED32 {
            return Err(self.err("invalid wire type"));
        }
        Ok((field, wire))
    }

    fn bytes(&mut self) -> Result<(&'a [u8], usize), DecodeError> {
        let len = self.varint()?;
        let start = self.pos;
        let left = (self.buf.len() - start) as u64;
        if len > left {
            return Err(self.err("length past the end of the message"));
        }
        self.pos += len as usize;
        Ok((&self.buf[start..self.pos], self.base + start))
    }

    fn string(&mut self) -> Result<&'a str, DecodeError> {
        let (b, at) = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError {
            what: "string is not UTF-8",
            at,
        })
    }

    fn int32(&mut self, wire: u8) -> Result<i32, DecodeError> {
        if wire != VARINT {
            return Err(self.err("wrong wire type for an int32"));
        }
        // Protobuf's int32 is the low 32 bits of the varint.
        Ok(self.varint()? as i32)
    }

    /// Skips an unknown field. `budget` is how many more levels of nesting are allowed
    /// (prost's recursion limit of 100, which nested messages and groups share).
    fn skip(&mut self, field: u32, wire: u8, budget: u32) -> Result<(), DecodeError> {
        if budget == 0 {
            return Err(self.err("nested too deep"));
        }
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.advance(8),
            FIXED32 => self.advance(4),
            LEN => self.bytes().map(drop),
            START_GROUP => loop {
                if self.done() {
                    return Err(self.err("unterminated group"));
                }
                let (f, w) = self.key()?;
                if w == END_GROUP {
                    if f != field {
                        return Err(self.err("mismatched end group"));
                    }
                    return Ok(());
                }
                self.skip(f, w, budget - 1)?;
            },
            _ => Err(self.err("unexpected end group")),
        }
    }

    fn advance(&mut self, n: usize) -> Result<(), DecodeError> {
        if self.buf.len() - self.pos < n {
            return Err(self.err("truncated fixed-width field"));
        }
        self.pos += n;
        Ok(())
    }

    fn message(&mut self, wire: u8) -> Result<Cursor<'a>, DecodeError> {
        if wire != LEN {
            return Err(self.err("wrong wire type for a message"));
        }
        let (b, at) = self.bytes()?;
        Ok(Cursor::new(b, at))
    }
}

impl<'a> GroupsView<'a> {
    /// Decodes a serialized `Qot_GetUserSecurityGroup.Response`.
    pub fn parse(body: &'a [u8]) -> Result<GroupsView<'a>, DecodeError> {
        let mut view = GroupsView {
            ret_type: RET_TYPE_DEFAULT,
            ret_msg: None,
            err_code: None,
            has_s2c: false,
            groups: Vec::new(),
        };
        let mut c = Cursor::new(body, 0);
        while !c.done() {
            match c.key()? {
                (1, w) => view.ret_type = c.int32(w)?,
                (2, LEN) => view.ret_msg = Some(c.string()?),
                (2, _) => return Err(c.err("wrong wire type for a string")),
                (3, w) => view.err_code = Some(c.int32(w)?),
                (4, w) => {
                    let mut s2c = c.message(w)?;
                    view.has_s2c = true;
                    parse_s2c(&mut s2c, &mut view.groups)?;
                }
                (f, w) => c.skip(f, w, MAX_DEPTH)?,
            }
        }
        Ok(view)
    }
}

fn parse_s2c<'a>(c: &mut Cursor<'a>, groups: &mut Vec<GroupRef<'a>>) -> Result<(), DecodeError> {
    if groups.capacity() == 0 {
        // OpenD's groups take ~12-20 bytes each; /8 leaves room without regrowing.
        groups.reserve((c.buf.len() / 8).clamp(1, 4096));
    }
    while !c.done() {
        match c.key()? {
            (1, w) => {
                let mut g = c.message(w)?;
                let mut group = GroupRef {
                    name: "",
                    group_type: 0,
                };
                while !g.done() {
                    match g.key()? {
                        (1, LEN) => group.name = g.string()?,
                        (1, _) => return Err(g.err("wrong wire type for a string")),
                        (2, w) => group.group_type = g.int32(w)?,
                        (f, w) => g.skip(f, w, MAX_DEPTH - 2)?,
                    }
                }
                groups.push(group);
            }
            (f, w) => c.skip(f, w, MAX_DEPTH - 1)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_captured_style_reply() {
        // retType 0, retMsg "", s2c { {"All", 2}, {"我的", 1} }
        let mut b = vec![0x08, 0x00, 0x12, 0x00, 0x22];
        let g1 = [0x0a, 0x07, 0x0a, 0x03, b'A', b'l', b'l', 0x10, 0x02];
        let name = "我的".as_bytes();
        let mut g2 = vec![0x0a, (name.len() + 4) as u8, 0x0a, name.len() as u8];
        g2.extend_from_slice(name);
        g2.extend_from_slice(&[0x10, 0x01]);
        b.push((g1.len() + g2.len()) as u8);
        b.extend_from_slice(&g1);
        b.extend_from_slice(&g2);
        let v = GroupsView::parse(&b).unwrap();
        assert_eq!(v.ret_type, 0);
        assert_eq!((v.ret_msg, v.err_code, v.has_s2c), (Some(""), None, true));
        assert_eq!(
            v.groups,
            [
                GroupRef {
                    name: "All",
                    group_type: 2
                },
                GroupRef {
                    name: "我的",
                    group_type: 1
                }
            ]
        );
    }

    #[test]
    fn empty_body_gives_the_declared_default() {
        let v = GroupsView::parse(&[]).unwrap();
        assert_eq!(
            (v.ret_type, v.ret_msg, v.err_code, v.has_s2c),
            (-400, None, None, false)
        );
        assert!(v.groups.is_empty());
    }

    #[test]
    fn negative_int32_and_broken_input() {
        // retType -1 is a 10-byte varint.
        let mut b = vec![0x08];
        b.extend_from_slice(&[0xff; 9]);
        b.push(0x01);
        assert_eq!(GroupsView::parse(&b).unwrap().ret_type, -1);
        let e = GroupsView::parse(&[0x12, 0x05, b'a']).unwrap_err();
        assert!(e.to_string().contains("past the end"), "{e}");
        let e = GroupsView::parse(&[0x12, 0x01, 0xff]).unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        assert!(GroupsView::parse(&[0x08]).is_err());
        assert!(GroupsView::parse(&[0x0f]).is_err()); // wire type 7
        assert!(GroupsView::parse(&[0x22, 0x02, 0x08, 0x01]).is_err()); // int where a GroupData goes
    }
}
