//! The simulator's protocol behaviour, checked with a raw client.

mod common;

use common::{Client, names, test_key};
use opend_proto::crypto::BodyCipher;
use opend_proto::pb;
use opend_proto::wire::{encode_frame, sha1};
use opend_sim::{AesMode, Config, GroupEntry, Lang, RateLimit, Sim};
use prost::Message;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn sim(cfg: Config) -> Sim {
    Sim::start(cfg).unwrap()
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn is_hex16(s: &str) -> bool {
    s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

#[test]
fn init_connect_reply_has_the_documented_fields() {
    let sim = sim(Config::default());
    let before = unix_ms();
    let mut a = Client::connect(sim.addr());
    let (rsp, head) = a.init();
    let after = unix_ms();
    assert_eq!(rsp.ret_type, 0);
    assert_eq!(head.fmt, 0);
    let s2c = rsp.s2c.expect("s2c");
    assert_eq!(s2c.server_ver, 903);
    assert_eq!(s2c.keep_alive_interval, 10);
    assert_eq!(s2c.user_attribution, Some(1));
    assert!(s2c.login_user_id > 0);
    let ms = s2c.conn_id >> 22;
    assert!(
        (before..=after).contains(&ms),
        "connID >> 22 = {ms}, not in {before}..={after}"
    );
    assert!(is_hex16(&s2c.conn_aes_key), "{}", s2c.conn_aes_key);
    // aesCBCiv is sent even on an unencrypted connection.
    assert!(is_hex16(s2c.aes_cb_civ.as_deref().unwrap()));

    let mut b = Client::connect(sim.addr());
    let s2c_b = b.init().0.s2c.unwrap();
    assert_ne!(s2c.conn_id, s2c_b.conn_id);
    assert_ne!(s2c.conn_aes_key, s2c_b.conn_aes_key);

    let got = sim.received();
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].conn_index, got[0].proto_id), (1, 1001));
    assert_eq!(got[0].serial, 101);
    let c2s = pb::init_connect::Request::decode(&got[0].body[..])
        .unwrap()
        .c2s;
    assert_eq!(c2s.client_id, "sim-test");
    assert_eq!(got[1].conn_index, 2);
    assert_eq!(sim.connections_accepted(), 2);
    assert_eq!(sim.open_connections(), 2);
}

#[test]
fn config_values_reach_the_init_reply() {
    let sim = sim(Config {
        keep_alive_interval: 3,
        server_ver: 1011,
        ..Config::default()
    });
    let s2c = Client::connect(sim.addr()).init().0.s2c.unwrap();
    assert_eq!((s2c.keep_alive_interval, s2c.server_ver), (3, 1011));
}

#[test]
fn a_first_frame_other_than_init_connect_closes_the_connection() {
    let sim = sim(Config::default());
    let mut c = Client::connect(sim.addr());
    c.send(3222, &Client::groups_request(3));
    c.assert_closed();
}

#[test]
fn broken_request_frames_close_the_connection() {
    let sim = sim(Config {
        max_body_len: 1000,
        ..Config::default()
    });
    // Bad SHA-1.
    let mut c = Client::connect(sim.addr());
    c.init();
    let mut frame = encode_frame(1004, 7, b"\x0a\x02\x08\x01");
    frame[16] ^= 1;
    std::io::Write::write_all(&mut c.s, &frame).unwrap();
    c.assert_closed();
    // Bad magic.
    let mut c = Client::connect(sim.addr());
    c.init();
    let mut frame = encode_frame(1004, 7, b"\x0a\x02\x08\x01");
    frame[0] = b'X';
    std::io::Write::write_all(&mut c.s, &frame).unwrap();
    c.assert_closed();
    // Body above max_body_len.
    let mut c = Client::connect(sim.addr());
    c.init();
    c.send(1004, &[0u8; 1001]);
    c.assert_closed();
}

#[test]
fn idle_timeout_closes_silent_connections_only() {
    let sim = sim(Config {
        idle_timeout: Some(Duration::from_millis(400)),
        ..Config::default()
    });
    let mut busy = Client::connect(sim.addr());
    let mut idle = Client::connect(sim.addr());
    busy.init();
    idle.init();
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(busy.keep_alive().ret_type, 0);
    }
    idle.assert_closed();
    assert_eq!(sim.open_connections(), 1);
}

#[test]
fn keep_alive_returns_server_time() {
    let sim = sim(Config::default());
    let mut c = Client::connect(sim.addr());
    c.init();
    let rsp = c.keep_alive();
    assert_eq!(rsp.ret_type, 0);
    let now = (unix_ms() / 1000) as i64;
    let t = rsp.s2c.unwrap().time;
    assert!((now - 2..=now + 2).contains(&t), "time {t}, now {now}");
}

#[test]
fn groups_by_type_in_configured_order() {
    let sim = sim(Config::default());
    let mut c = Client::connect(sim.addr());
    c.init();
    let all = names(&c.groups(3));
    let sys: Vec<_> = [
        "All",
        "Starred",
        "CN",
        "HK",
        "US",
        "Options",
        "HK options",
        "US options",
        "Futures",
        "Bonds",
    ]
    .iter()
    .map(|n| (n.to_string(), 2))
    .collect();
    let custom = vec![("A".to_string(), 1), ("C".to_string(), 1)];
    assert_eq!(all, [sys.clone(), custom.clone()].concat());
    assert_eq!(names(&c.groups(2)), sys);
    assert_eq!(names(&c.groups(1)), custom);
    for bad in [0, 99, -1] {
        let rsp = c.groups(bad);
        assert_eq!(rsp.ret_type, -1, "groupType {bad}");
        assert!(rsp.s2c.is_none());
        assert!(rsp.ret_msg.unwrap().contains("groupType"));
    }
    // The request's header (field 100) was there and did not matter.
    let req = &sim.received()[1];
    let c2s = pb::qot_get_user_security_group::Request::decode(&req.body[..])
        .unwrap()
        .c2s;
    assert_eq!(c2s.header.unwrap().security_firm, Some(0));
}

#[test]
fn empty_group_lists_still_carry_s2c_and_zh_names_work() {
    let sim = sim(Config {
        groups: vec![GroupEntry::new("系统", 2)],
        ..Config::default()
    });
    let mut c = Client::connect(sim.addr());
    c.init();
    let rsp = c.groups(1);
    assert_eq!(rsp.ret_type, 0);
    assert_eq!(rsp.s2c.unwrap().group_list.len(), 0);
    assert_eq!(names(&c.groups(3)), vec![("系统".to_string(), 2)]);

    let zh = Config::default_groups(Lang::Zh);
    assert_eq!(zh[0], GroupEntry::new("全部", 2));
    assert_eq!(zh[9], GroupEntry::new("债券", 2));
    assert_eq!(zh[10], GroupEntry::new("A", 1));
}

#[test]
fn unknown_protos_get_unsupported() {
    let sim = sim(Config::default());
    let mut c = Client::connect(sim.addr());
    c.init();
    let serial = c.send(3213, b"");
    let (h, body) = c.recv().unwrap();
    assert_eq!((h.proto_id, h.serial), (3213, serial));
    let rsp = pb::keep_alive::Response::decode(&body[..]).unwrap();
    assert_eq!(rsp.ret_type, -1);
    assert!(rsp.ret_msg.unwrap().contains("unsupported proto"));
}

#[test]
fn several_requests_in_one_write_are_all_answered_in_order() {
    let sim = sim(Config {
        rate_limit: None,
        ..Config::default()
    });
    let mut c = Client::connect(sim.addr());
    c.init();
    let mut batch = Vec::new();
    for i in 0..50u32 {
        let body = Client::groups_request(1 + (i % 3) as i32);
        opend_proto::wire::encode_frame_into(&mut batch, 3222, 1000 + i, &body, &body);
    }
    std::io::Write::write_all(&mut c.s, &batch).unwrap();
    for i in 0..50u32 {
        let (h, _) = c.recv().unwrap();
        assert_eq!(h.serial, 1000 + i);
    }
}

#[test]
fn rate_limit_per_server_counts_every_connection_and_slides() {
    let window = Duration::from_millis(800);
    let sim = sim(Config {
        rate_limit: Some(RateLimit {
            max: 10,
            window,
            per_connection: false,
        }),
        ..Config::default()
    });
    let mut a = Client::connect(sim.addr());
    let mut b = Client::connect(sim.addr());
    a.init();
    b.init();
    let start = Instant::now();
    for _ in 0..5 {
        assert_eq!(a.groups(3).ret_type, 0);
    }
    // Invalid requests count too.
    assert_eq!(a.groups(0).ret_type, -1);
    for _ in 0..4 {
        assert_eq!(b.groups(1).ret_type, 0);
    }
    let rsp = b.groups(3);
    assert!(start.elapsed() < window, "test machine too slow");
    assert_eq!(rsp.ret_type, -1);
    assert!(rsp.s2c.is_none());
    let msg = rsp.ret_msg.unwrap();
    assert!(
        msg.contains("frequency") && msg.contains("opend-sim"),
        "{msg}"
    );
    assert_eq!(a.groups(3).ret_type, -1);
    std::thread::sleep(window);
    assert_eq!(a.groups(3).ret_type, 0);
}

#[test]
fn rate_limit_per_connection_is_separate() {
    let sim = sim(Config {
        rate_limit: Some(RateLimit {
            max: 10,
            window: Duration::from_secs(30),
            per_connection: true,
        }),
        ..Config::default()
    });
    let mut a = Client::connect(sim.addr());
    let mut b = Client::connect(sim.addr());
    a.init();
    b.init();
    for _ in 0..10 {
        assert_eq!(a.groups(3).ret_type, 0);
    }
    assert_eq!(a.groups(3).ret_type, -1);
    assert_eq!(b.groups(3).ret_type, 0);
}

#[test]
fn connections_above_the_cap_are_accepted_then_closed() {
    let sim = sim(Config {
        max_connections: 3,
        ..Config::default()
    });
    let mut kept: Vec<Client> = (0..3).map(|_| Client::connect(sim.addr())).collect();
    for c in &mut kept {
        assert_eq!(c.init().0.ret_type, 0);
    }
    let mut extra = Client::connect(sim.addr());
    extra.send(1001, &Client::init_request(true, -1));
    extra.assert_closed();
    assert_eq!(sim.connections_accepted(), 4);
    assert_eq!(sim.open_connections(), 3);
    // A slot frees up when a client leaves.
    drop(kept.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.open_connections() != 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(Client::connect(sim.addr()).init().0.ret_type, 0);
}

#[test]
fn notify_goes_only_to_clients_that_asked() {
    let sim = sim(Config::default());
    let mut yes = Client::connect(sim.addr());
    let mut no = Client::connect(sim.addr());
    yes.init_with(true);
    no.init_with(false);
    let s2c = pb::notify::S2c {
        r#type: 3,
        event: None,
        connect_status: Some(pb::notify::ConnectStatus {
            qot_logined: true,
            trd_logined: false,
        }),
    };
    sim.push_notify(s2c.clone());
    sim.push_notify(s2c.clone());
    for want in [1, 2] {
        let (h, body) = yes.recv().unwrap();
        assert_eq!((h.proto_id, h.serial), (1003, want));
        let rsp = pb::notify::Response::decode(&body[..]).unwrap();
        assert_eq!((rsp.ret_type, rsp.s2c), (0, Some(s2c.clone())));
    }
    no.assert_silent(Duration::from_millis(200));
}

#[test]
fn stop_is_prompt_with_idle_and_delayed_connections() {
    let sim = sim(Config::default());
    let mut idle = Client::connect(sim.addr());
    idle.init();
    let mut slow = Client::connect(sim.addr());
    slow.init();
    sim.set_faults(opend_sim::Faults {
        delay: Some(Duration::from_secs(60)),
        ..Default::default()
    });
    slow.send(3222, &Client::groups_request(3));
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    sim.stop();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    idle.assert_closed();
}

// ---- encryption (docs/PROTOCOL.md §4) ----

fn rsa_sim(aes_mode: AesMode, require_encryption: bool) -> Sim {
    sim(Config {
        rsa_key: Some(test_key().0.clone()),
        aes_mode,
        require_encryption,
        ..Config::default()
    })
}

#[test]
fn encrypted_client_asking_cbc_gets_rsa_reply_then_aes_cbc() {
    let sim = rsa_sim(AesMode::FollowClient, false);
    let mut c = Client::connect(sim.addr());
    let rsp = c.init_rsa(&test_key().0, 2, true);
    assert_eq!(rsp.ret_type, 0);
    assert!(matches!(c.cipher, Some(BodyCipher::AesCbc { .. })));
    // The client's cipher (made from the reply) and the simulator's agree both ways.
    assert_eq!(names(&c.groups(1)), vec![("A".into(), 1), ("C".into(), 1)]);
    let serial = c.send(1004, &[0x0a, 0x02, 0x08, 0x05]);
    let (h, wire) = c.recv_wire().unwrap();
    assert_eq!(h.serial, serial);
    assert_ne!(h.sha1, sha1(&wire), "KeepAlive reply must be encrypted");
    // received() holds plaintext.
    let got = sim.received();
    assert_eq!(got[0].body, Client::init_request(true, 2));
    assert_eq!(got[2].body, [0x0a, 0x02, 0x08, 0x05]);
    // Pushes are encrypted too (recv() decrypts and checks the SHA-1).
    sim.push_notify(pb::notify::S2c {
        r#type: 1,
        event: None,
        connect_status: None,
    });
    let (h, body) = c.recv().unwrap();
    assert_eq!(h.proto_id, 1003);
    assert_eq!(pb::notify::Response::decode(&body[..]).unwrap().ret_type, 0);
}

#[test]
fn ftaes_ecb_when_forced_or_asked_and_no_iv() {
    for (mode, algo) in [(AesMode::ForceFtAesEcb, 2), (AesMode::FollowClient, 0)] {
        let sim = rsa_sim(mode, false);
        let mut c = Client::connect(sim.addr());
        let rsp = c.init_rsa(&test_key().0, algo, true);
        assert_eq!(rsp.s2c.as_ref().unwrap().aes_cb_civ, None, "{mode:?}");
        assert!(matches!(c.cipher, Some(BodyCipher::FtAesEcb { .. })));
        assert_eq!(c.groups(3).ret_type, 0);
        assert_eq!(c.keep_alive().ret_type, 0);
    }
}

#[test]
fn rsa_init_with_encryption_off_gets_a_plaintext_reply() {
    let sim = rsa_sim(AesMode::FollowClient, false);
    let mut c = Client::connect(sim.addr());
    let rsp = c.init_rsa(&test_key().0, -1, false);
    assert_eq!(rsp.ret_type, 0);
    assert!(rsp.s2c.unwrap().aes_cb_civ.is_some());
    assert!(c.cipher.is_none());
    // The connection stays unencrypted.
    assert_eq!(c.groups(2).s2c.unwrap().group_list.len(), 10);
}

#[test]
fn plaintext_clients_work_beside_a_key_unless_encryption_is_required() {
    let sim = rsa_sim(AesMode::FollowClient, false);
    assert_eq!(Client::connect(sim.addr()).init().0.ret_type, 0);

    let sim = rsa_sim(AesMode::FollowClient, true);
    let rsp = Client::connect(sim.addr()).init().0;
    assert_eq!(rsp.ret_type, -1);
    assert!(rsp.ret_msg.unwrap().contains("requires encryption"));
    let rsp = Client::connect(sim.addr()).init_rsa(&test_key().0, -1, false);
    assert_eq!(rsp.ret_type, -1);
    let rsp = Client::connect(sim.addr()).init_rsa(&test_key().0, 2, true);
    assert_eq!(rsp.ret_type, 0);
}

#[test]
fn rsa_init_without_a_key_closes_the_connection() {
    let sim = sim(Config::default());
    let mut c = Client::connect(sim.addr());
    let plain = Client::init_request(true, 2);
    let mut out = Vec::new();
    opend_proto::wire::encode_frame_into(&mut out, 1001, 1, &plain, &test_key().0.encrypt(&plain));
    std::io::Write::write_all(&mut c.s, &out).unwrap();
    c.assert_closed();
}
