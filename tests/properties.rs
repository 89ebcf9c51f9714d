//! Property tests on stable: the fuzz targets' properties (fuzz/fuzz_targets/), a bounded
//! number of cases each so `make test` stays fast. The long runs are `cargo +nightly fuzz`
//! (figures in docs/RELIABILITY.md). Regression inputs the fuzzers found are pinned below.

use ftapi::crypto::{BodyCipher, RsaKey};
use ftapi::pb::qot_get_user_security_group::Response;
use ftapi::wire::{FrameReader, HEADER_LEN, encode_frame};

#[path = "support/frame_feed.rs"]
mod frame_feed;
use frame_feed::{Trickle, feed};
use ftapi::{GroupsReply, Reply, ReplyKind};
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
