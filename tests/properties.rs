//! Property tests on stable: the fuzz targets' properties (fuzz/fuzz_targets/), a bounded
//! number of cases each so `make test` stays fast. The long runs are `cargo +nightly fuzz`
//! (figures in docs/RELIABILITY.md). Regression inputs the fuzzers found are pinned below.

use opend::pb::qot_get_user_security_group::Response;
use opend_proto::crypto::{BodyCipher, RsaKey};
use opend_proto::wire::{FrameReader, HEADER_LEN, encode_frame};

#[path = "support/frame_feed.rs"]
mod frame_feed;
#[path = "support/groups_oracle.rs"]
mod groups_oracle;
#[path = "support/ws_codec.rs"]
mod ws_codec;
#[path = "support/ws_session.rs"]
mod ws_session;
use frame_feed::{Trickle, feed};
use opend::{GroupsReply, Reply, ReplyKind};
use proptest::prelude::*;
use prost::Message;
use std::sync::OnceLock;

fn test_key() -> &'static RsaKey {
    static KEY: OnceLock<RsaKey> = OnceLock::new();
    KEY.get_or_init(|| {
        RsaKey::from_pem(include_str!("../fuzz/TEST-KEY-rsa1024-DO-NOT-USE.pem")).expect("test key")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes in arbitrary chunks: no panic, exact byte accounting.
    #[test]
    fn frame_reader_survives_garbage(
        max in prop::sample::select(vec![0usize, 1, 16, 100, 4096]),
        chunks in prop::collection::vec(1usize..64, 1..8),
        stream in prop::collection::vec(any::<u8>(), 0..2048),
        use_read: bool,
    ) {
        feed(max, &chunks, &stream, use_read);
    }

    /// Valid frames, however they are cut, come out whole and in order.
    #[test]
    fn frame_reader_reassembles_frames(
        bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..6),
        chunks in prop::collection::vec(1usize..97, 1..8),
        use_read: bool,
    ) {
        let mut stream = Vec::new();
        for (i, b) in bodies.iter().enumerate() {
            stream.extend(encode_frame(3000 + i as u32, 10 + i as u32, b));
        }
        let (frames, err) = feed(4096, &chunks, &stream, use_read);
        prop_assert!(!err);
        prop_assert_eq!(frames.len(), bodies.len());
        for (i, (p, s, b)) in frames.iter().enumerate() {
            prop_assert_eq!((*p, *s), (3000 + i as u32, 10 + i as u32));
            prop_assert_eq!(b, &bodies[i]);
        }
    }

    /// Both AES decoders: arbitrary input never panics; own ciphertext round-trips.
    #[test]
    fn aes_decoders(key: [u8; 16], iv: [u8; 16], body in prop::collection::vec(any::<u8>(), 0..600)) {
        for c in [BodyCipher::AesCbc { key, iv }, BodyCipher::FtAesEcb { key }] {
            if let Ok(plain) = c.decrypt(&body) {
                prop_assert!(plain.len() <= body.len());
            }
            prop_assert_eq!(c.decrypt(&c.encrypt(&body)).unwrap(), body.clone());
        }
    }

    /// Reply decoding: never panics, and `pb` always parses (the C ABI's promise).
    #[test]
    fn groups_reply_from_any_body(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let g = GroupsReply::from_reply(Reply {
            proto_id: 3222,
            serial: 9,
            kind: ReplyKind::Server,
            body: body.clone(),
            reason: String::new(),
        });
        let rsp = Response::decode(g.pb.as_slice()).expect("pb parses");
        prop_assert_eq!(rsp.ret_type, g.ret_type);
        prop_assert_eq!(g.serial, 9);
        if g.ret_type != -500 {
            prop_assert_eq!(&g.pb, &body);
        }
    }
}

/// Protobuf pieces to assemble a `Qot_GetUserSecurityGroup.Response`-like body from:
/// the known fields, repeated, with wrong wire types, and unknown fields (groups too).
#[derive(Clone, Debug)]
enum Piece {
    Varint(u32, u64),
    Bytes(u32, Vec<u8>),
    Fixed32(u32),
    Fixed64(u32),
    Group(u32, Vec<Piece>),
    /// A stray end-group key.
    EndGroup(u32),
    Message(u32, Vec<Piece>),
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn encode(pieces: &[Piece], out: &mut Vec<u8>) {
    for p in pieces {
        match p {
            Piece::Varint(f, v) => {
                varint(out, u64::from(*f) << 3);
                varint(out, *v);
            }
            Piece::Bytes(f, b) => {
                varint(out, u64::from(*f) << 3 | 2);
                varint(out, b.len() as u64);
                out.extend_from_slice(b);
            }
            Piece::Fixed32(f) => {
                varint(out, u64::from(*f) << 3 | 5);
                out.extend_from_slice(&[1, 2, 3, 4]);
            }
            Piece::Fixed64(f) => {
                varint(out, u64::from(*f) << 3 | 1);
                out.extend_from_slice(&[9; 8]);
            }
            Piece::Group(f, inner) => {
                varint(out, u64::from(*f) << 3 | 3);
                encode(inner, out);
                varint(out, u64::from(*f) << 3 | 4);
            }
            Piece::EndGroup(f) => varint(out, u64::from(*f) << 3 | 4),
            Piece::Message(f, inner) => {
                let mut b = Vec::new();
                encode(inner, &mut b);
                varint(out, u64::from(*f) << 3 | 2);
                varint(out, b.len() as u64);
                out.extend_from_slice(&b);
            }
        }
    }
}

fn piece(depth: u32) -> BoxedStrategy<Piece> {
    // Field numbers 1..=4 are the known ones at every level; 5..=7 and 100 are not.
    let field = prop_oneof![4 => 1u32..5, 1 => 5u32..8, 1 => Just(100u32)];
    let value = prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(3),
        Just(u64::MAX),
        Just(0x1_0000_0001),
        any::<u64>()
    ];
    let bytes = prop_oneof![
        prop::string::string_regex("[a-z全部\\x00]{0,6}")
            .unwrap()
            .prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..6),
    ];
    let leaf = prop_oneof![
        (field.clone(), value).prop_map(|(f, v)| Piece::Varint(f, v)),
        (field.clone(), bytes).prop_map(|(f, b)| Piece::Bytes(f, b)),
        field.clone().prop_map(Piece::Fixed32),
        field.clone().prop_map(Piece::Fixed64),
        field.clone().prop_map(Piece::EndGroup),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        4 => leaf,
        1 => (field.clone(), prop::collection::vec(piece(depth - 1), 0..4)).prop_map(|(f, v)| Piece::Group(f, v)),
        2 => (field, prop::collection::vec(piece(depth - 1), 0..5)).prop_map(|(f, v)| Piece::Message(f, v)),
    ]
    .boxed()
}

/// What OpenD sends, give or take: an `s2c` (field 4) of GroupData (field 1) with a name
/// (valid or not as UTF-8) and a type, each with a stray extra piece now and then.
fn s2c_piece() -> impl Strategy<Value = Piece> {
    let name = prop_oneof![
        prop::string::string_regex("[a-z全部\\x00]{0,6}")
            .unwrap()
            .prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..6),
    ];
    let group = (
        name,
        any::<i64>(),
        prop::option::of(piece(1)),
        any::<bool>(),
    )
        .prop_map(|(n, t, extra, swap)| {
            let mut v = vec![Piece::Bytes(1, n), Piece::Varint(2, t as u64)];
            if swap {
                v.reverse();
            }
            v.extend(extra);
            Piece::Message(1, v)
        });
    prop::collection::vec(prop_oneof![6 => group, 1 => piece(1)], 0..5)
        .prop_map(|v| Piece::Message(4, v))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    /// The hand-written 3222 decoder agrees with prost on assembled bodies (known fields
    /// repeated or with the wrong wire type, unknown fields and groups, nesting), and on
    /// each of them with one byte changed or cut short.
    #[test]
    fn groups_view_agrees_with_prost(
        pieces in prop::collection::vec(prop_oneof![piece(3), s2c_piece()], 0..8),
        flip in any::<(usize, u8)>(),
        cut in any::<usize>(),
    ) {
        let mut body = Vec::new();
        encode(&pieces, &mut body);
        groups_oracle::agrees_with_prost(&body);
        if !body.is_empty() {
            let mut flipped = body.clone();
            let i = flip.0 % body.len();
            flipped[i] ^= flip.1 | 1;
            groups_oracle::agrees_with_prost(&flipped);
            groups_oracle::agrees_with_prost(&body[..cut % body.len()]);
        }
    }

    /// And on arbitrary bytes.
    #[test]
    fn groups_view_agrees_with_prost_on_garbage(body in prop::collection::vec(any::<u8>(), 0..256)) {
        groups_oracle::agrees_with_prost(&body);
    }
}

/// Groups nested past prost's recursion limit: both decoders refuse, at the same depth.
#[test]
fn groups_view_nesting_limit_matches_prost() {
    for depth in [98usize, 99, 100, 101] {
        let mut body = Vec::new();
        for _ in 0..depth {
            body.push(5 << 3 | 3);
        }
        for _ in 0..depth {
            body.push(5 << 3 | 4);
        }
        groups_oracle::agrees_with_prost(&body);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// RSA chunk decoding of arbitrary bytes (128-byte multiples included) never panics;
    /// own ciphertext round-trips.
    #[test]
    fn rsa_decrypt_any(blocks in 0usize..3, tail in 0usize..2, fill: u8, plain in prop::collection::vec(any::<u8>(), 1..260)) {
        let mut c = vec![fill; blocks * 128 + tail];
        if let Some(b) = c.first_mut() { *b = 0; }
        let _ = test_key().decrypt(&c);
        prop_assert_eq!(test_key().decrypt(&test_key().encrypt(&plain)).unwrap(), plain);
    }
}

/// A fuzzer finding that was a harness bug, kept: `read_from` may take fewer bytes than a
/// reader offers when the body limit is small (here 0: at most one header per read).
#[test]
fn read_from_with_zero_limit_takes_header_sized_reads() {
    let stream = vec![0x46u8; 49];
    let mut r = FrameReader::new(0);
    let mut t = Trickle {
        data: &stream,
        step: 49,
    };
    let got = r.read_from(&mut t).unwrap();
    assert!(got <= HEADER_LEN + 1 && got > 0);
}

/// The input of that finding (fuzz/seeds/frame_reader/regress-read_from-short-read), fed
/// the way the fuzz target feeds it: limit 1 byte, through `read_from`.
#[test]
fn fuzz_input_short_read_is_handled() {
    let data = include_bytes!("../fuzz/seeds/frame_reader/regress-read_from-short-read");
    let max = [0usize, 1, 16, 100, 4096, 1 << 20][data[0] as usize % 6];
    assert_eq!(max, 1);
    for chunks in [&[49usize][..], &[1], &[7, 64, 3]] {
        let (frames, _err) = feed(max, chunks, &data[2..], true);
        assert!(frames.iter().all(|(_, _, b)| b.len() <= max));
    }
}

// ---- The WebSocket door: frame codec and protocol (fuzz targets ws_codec, ws_protocol).

use opend::pb::init_web_socket;
use opend_proto::wire::ws::{self as wsw, SIGN};
use ws_session::{Script, Step};

/// A login reply's body: a good one, a refusal, or a broken one.
fn ws_login_body() -> BoxedStrategy<Vec<u8>> {
    (
        prop_oneof![3 => Just(0i32), 1 => Just(-1), 1 => any::<i32>()],
        prop::option::of(prop::string::string_regex("[a-z 全]{0,12}").unwrap()),
        prop::option::of(prop::option::of(any::<u64>())),
    )
        .prop_map(|(ret_type, ret_msg, s2c)| {
            init_web_socket::Response {
                ret_type,
                ret_msg,
                err_code: None,
                s2c: s2c.map(|conn_id| init_web_socket::S2c {
                    server_time: Some(1),
                    conn_id,
                }),
            }
            .encode_to_vec()
        })
        .boxed()
}

/// One server message: mostly well-formed replies (commands and sections that matter,
/// errors, errmsgs with NULs and multibyte characters), some damaged, some garbage.
fn ws_message(login_section: u32) -> BoxedStrategy<Vec<u8>> {
    let ls = u64::from(login_section);
    let cmd = prop_oneof![
        Just(wsw::cmd::INIT),
        Just(wsw::cmd::OPEND_DISCONNECTED),
        Just(3222u32),
        Just(1003),
        Just(3005),
        Just(1004),
        any::<u32>()
    ];
    let section = prop_oneof![
        Just(ls),
        Just(ls.wrapping_add(1)),
        Just(0u64),
        Just(u64::from(u32::MAX)),
        Just(u64::from(u32::MAX) + 1),
        Just(u64::MAX),
        any::<u64>()
    ];
    let error = prop_oneof![4 => Just(0i32), 1 => Just(1), 1 => Just(2), 1 => Just(3), 1 => Just(-1), 1 => any::<i32>()].boxed();
    let errmsg = prop::string::string_regex("[a-z 全\\x00]{0,24}")
        .unwrap()
        .boxed();
    // The login's reply, in all its forms.
    let login = (error.clone(), errmsg.clone(), ws_login_body())
        .prop_map(move |(e, m, b)| ws_session::reply(wsw::cmd::INIT, ls, e, &m, &b));
    let body = prop_oneof![prop::collection::vec(any::<u8>(), 0..48), ws_login_body()];
    let frame = (cmd, section, error, errmsg, body)
        .prop_map(|(c, s, e, m, b)| ws_session::reply(c, s, e, &m, &b))
        .boxed();
    prop_oneof![
        6 => frame.clone(),
        1 => any::<u64>().prop_map(move |c| ws_session::login_ok(ls, c)),
        2 => login,
        1 => (frame.clone(), any::<usize>(), 1u8..).prop_map(|(mut m, i, x)| {
            let i = i % m.len();
            m[i] ^= x;
            m
        }),
        1 => (frame, any::<usize>()).prop_map(|(m, n)| m[..n % (m.len() + 1)].to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
    .boxed()
}

fn ws_script() -> impl Strategy<Value = Script> {
    (
        any::<(bool, bool, bool)>(),
        prop_oneof![Just(1u32), Just(2), Just(u32::MAX), any::<u32>()],
    )
        .prop_flat_map(|((login, tls, key), first_serial)| {
            let step = prop_oneof![
                6 => ws_message(first_serial).prop_map(Step::Msg),
                2 => Just(Step::Poll),
                1 => (any::<u16>(), any::<u8>()).prop_map(|(p, n)| Step::Send { proto_id: u32::from(p), body_len: n }),
                1 => any::<bool>().prop_map(|early| Step::Tick { early }),
            ];
            prop::collection::vec(step, 0..16).prop_map(move |steps| Script {
                login,
                tls,
                key,
                first_serial,
                steps,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// The WebSocket codec on arbitrary bytes (the fuzz target's input as it is).
    #[test]
    fn ws_codec_any_bytes(data in prop::collection::vec(any::<u8>(), 0..96)) {
        ws_codec::check_input(&data);
    }

    /// Bytes after the sign (any eighth byte; now and then one of the first seven
    /// changed): headers that decode, errmsg fields that are text or not, with or
    /// without NUL padding.
    #[test]
    fn ws_codec_signed_bytes(
        pad: u8,
        flip in prop::option::weighted(0.2, (0usize..7, 1u8..)),
        rest in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut msg = SIGN[..7].to_vec();
        msg.push(pad);
        msg.extend(rest);
        if let Some((i, x)) = flip {
            msg[i] ^= x;
        }
        let decodes = ws_codec::check_message(&msg);
        prop_assert_eq!(decodes, msg.len() >= wsw::REPLY_HEADER_LEN && flip.is_none());
    }

    /// encode then decode gives the fields back, errmsg cut at 20 bytes and a character
    /// boundary, up to its first NUL.
    #[test]
    fn ws_codec_round_trip(
        prefix in prop::collection::vec(any::<u8>(), 0..4),
        cmd: u32, section: u64, error: i32,
        errmsg in prop::string::string_regex("[a-z全\\x00é]{0,24}").unwrap(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        ws_codec::check_round_trip(&prefix, cmd, section, error, &errmsg, &body);
    }

    /// WsProtocol fed server messages, with or without a good login first: every event
    /// as the model says, the invariants hold, output bounded by input.
    #[test]
    fn ws_protocol_follows_the_model(script in ws_script()) {
        prop_assert_eq!(Script::from_bytes(&script.to_bytes()), script.clone());
        ws_session::run(&script);
    }
}

/// What the cut and the NUL do to an errmsg.
#[test]
fn ws_errmsg_after_round_trip_examples() {
    assert_eq!(ws_codec::errmsg_after_round_trip("gone"), "gone");
    assert_eq!(
        ws_codec::errmsg_after_round_trip("abcdefghijklmnopqrs全"),
        "abcdefghijklmnopqrs"
    );
    assert_eq!(ws_codec::errmsg_after_round_trip("ab\0cd"), "ab");
    assert_eq!(ws_codec::errmsg_after_round_trip("\0"), "");
}

/// The seed corpora of fuzz/seeds/ws_codec and fuzz/seeds/ws_protocol, made with the
/// codec: what the login, requests, replies, failures, pushes and cmd 2 look like.
fn ws_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let reply = ws_session::reply;
    let mut request = Vec::new();
    wsw::encode_request(&mut request, 3222, 2, &[0x0a, 0x02, 0x08, 0x03]);
    let refused = init_web_socket::Response {
        ret_type: -1,
        ret_msg: Some("bad key".into()),
        err_code: None,
        s2c: None,
    }
    .encode_to_vec();
    let script = |login: bool, first_serial: u32, steps: Vec<Step>| {
        Script {
            login,
            tls: false,
            key: true,
            first_serial,
            steps,
        }
        .to_bytes()
    };
    let msg = Step::Msg;
    vec![
        ("ws_codec", "request_3222", request),
        ("ws_codec", "login_ok", ws_session::login_ok(1, 99)),
        ("ws_codec", "reply_3222", reply(3222, 2, 0, "", b"\x08\x00")),
        (
            "ws_codec",
            "failed_timeout",
            reply(3222, 3, 1, "timeout", b""),
        ),
        (
            "ws_codec",
            "errmsg_full",
            reply(1003, u64::MAX, -1, "abcdefghijklmnopqrs全", b"x"),
        ),
        ("ws_codec", "opend_disconnected", reply(2, 0, 0, "", b"")),
        (
            "ws_codec",
            "short",
            reply(3222, 2, 0, "", b"")[..43].to_vec(),
        ),
        (
            "ws_protocol",
            "session",
            script(
                true,
                1,
                vec![
                    Step::Send {
                        proto_id: 3222,
                        body_len: 4,
                    },
                    msg(reply(3222, 2, 0, "", b"\x08\x00")),
                    msg(reply(3222, 3, 2, "", b"")),
                    msg(reply(3222, 4, 3, "gone", b"")),
                    msg(reply(3005, 0, 0, "", b"push")),
                    Step::Poll,
                    Step::Tick { early: true },
                    Step::Tick { early: false },
                    msg(reply(2, 0, 0, "bye", b"")),
                    msg(reply(3222, 5, 0, "", b"after the end")),
                    Step::Tick { early: false },
                ],
            ),
        ),
        (
            "ws_protocol",
            "login_in_script",
            script(
                false,
                7,
                vec![
                    msg(reply(3222, 7, 0, "", b"too early")),
                    msg(ws_session::login_ok(6, 1)),
                    msg(ws_session::login_ok(7, 1)),
                    Step::Poll,
                    msg(reply(3222, u64::from(u32::MAX) + 9, 0, "", b"")),
                ],
            ),
        ),
        (
            "ws_protocol",
            "login_refused",
            script(false, 1, vec![msg(reply(1, 1, 0, "", &refused))]),
        ),
        (
            "ws_protocol",
            "login_error",
            script(false, 1, vec![msg(reply(1, 1, 7, "bad key", b""))]),
        ),
        (
            "ws_protocol",
            "garbage_after_login",
            script(true, u32::MAX, vec![msg(b"hello".to_vec()), Step::Poll]),
        ),
    ]
}

/// The committed seeds are what `ws_seeds` makes (FTAPI_UPDATE_SEEDS=1 writes them), and
/// each passes its target's property.
#[test]
fn ws_fuzz_seeds_are_current_and_pass() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let update = std::env::var_os("FTAPI_UPDATE_SEEDS").is_some();
    for (target, name, bytes) in ws_seeds() {
        let path = root.join(target).join(name);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (FTAPI_UPDATE_SEEDS=1 writes it)", path.display()));
        assert_eq!(
            on_disk,
            bytes,
            "{} is stale (FTAPI_UPDATE_SEEDS=1)",
            path.display()
        );
        match target {
            "ws_codec" => ws_codec::check_input(&bytes),
            _ => {
                ws_session::run(&Script::from_bytes(&bytes));
            }
        }
    }
}
