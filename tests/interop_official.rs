//! The official futu-api Python client against our simulator, `opend_sim::Sim`.
//!
//! The official SDK is the independent oracle here: if the simulator (and the
//! ftapi wire/crypto code it is built on) drifted from the real protocol, the official
//! client would fail to connect, reject the SHA-1, decrypt garbage or parse the wrong
//! rows. Each test starts its own simulator on a free loopback port and runs
//! tests/interop/official_client.py from `.venv` (created by scripts/ensure-venv.sh on
//! first use) with a hard timeout, because the official client retries a failed
//! InitConnect forever.

#[path = "interop/venv.rs"]
mod venv;

use opend::pb;
use opend_proto::crypto::{BodyCipher, RsaKey};
use opend_proto::wire::{self, Frame, FrameReader};
use opend_sim::{AesMode, Config, GroupEntry, Lang, RateLimit, Sim};
use prost::Message;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::LineEnding;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const CUSTOM: i32 = 1;
const SYSTEM: i32 = 2;

fn sim_config(groups: Vec<GroupEntry>, lang: Lang) -> Config {
    Config {
        groups,
        lang,
        rate_limit: None,
        ..Default::default()
    }
}

struct Run {
    result: Value,
}

impl Run {
    fn call(&self, i: usize) -> &Value {
        &self.result["calls"][i]
    }
}

/// Runs the official client against `port` with the given calls.
fn official(port: u16, calls: &[&str], encrypt: bool, rsa_file: Option<&std::path::Path>) -> Run {
    let spec = json!({
        "calls": calls,
        "encrypt": encrypt,
        "rsa_file": rsa_file.map(|p| p.to_str().unwrap()),
    });
    let out = venv::run_python(
        &venv::helper("official_client.py"),
        &["127.0.0.1", &port.to_string()],
        spec.to_string().as_bytes(),
        TIMEOUT,
    );
    assert!(
        out.success,
        "official client failed (timed_out={}, after {:?})\n--- stdout\n{}\n--- stderr\n{}",
        out.timed_out, out.elapsed, out.stdout, out.stderr
    );
    let result = out.result();
    // Shown by the harness only when a test fails (or with --nocapture).
    eprintln!("official client ({:?}): {result}", out.elapsed);
    Run { result }
}

/// The rows the official client must print for a request of `want` (1 custom, 2 system,
/// 3 all): the configured groups in order, with the type as its DataFrame string.
fn expected_rows(groups: &[GroupEntry], want: i32) -> Value {
    let rows: Vec<Value> = groups
        .iter()
        .filter(|g| want == 3 || g.group_type == want)
        .map(|g| {
            let t = match g.group_type {
                CUSTOM => "CUSTOM",
                SYSTEM => "SYSTEM",
                other => panic!("group type {other} in a watchlist"),
            };
            json!([g.name, t])
        })
        .collect();
    Value::Array(rows)
}

/// The three filters, each compared with the configured watchlist.
fn assert_all_custom_system(groups: &[GroupEntry], run: &Run) {
    for (i, (name, want)) in [("ALL", 3), ("CUSTOM", CUSTOM), ("SYSTEM", SYSTEM)]
        .into_iter()
        .enumerate()
    {
        let call = run.call(i);
        assert_eq!(call["type"], name);
        assert_eq!(call["ret"], 0, "{name}: {call}");
        assert_eq!(call["rows"], expected_rows(groups, want), "{name}");
    }
}

/// The group types the simulator saw in the official client's 3222 requests, and the
/// packetEncAlgo of its InitConnect.
fn requests_seen(sim: &Sim) -> (Option<i32>, Vec<i32>) {
    let mut algo = None;
    let mut types = Vec::new();
    for r in sim.received() {
        match r.proto_id {
            1001 => {
                let req = pb::init_connect::Request::decode(&r.body[..]).expect("1001 body");
                assert_eq!(req.c2s.client_id, "PyNormal");
                assert_eq!(req.c2s.programming_language.as_deref(), Some("Python"));
                algo = req.c2s.packet_enc_algo;
            }
            3222 => {
                let req = pb::qot_get_user_security_group::Request::decode(&r.body[..])
                    .expect("3222 body");
                types.push(req.c2s.group_type);
            }
            _ => {}
        }
    }
    (algo, types)
}

fn run_watchlist(groups: Vec<GroupEntry>, lang: Lang) {
    let sim = Sim::start(sim_config(groups.clone(), lang)).unwrap();
    let run = official(sim.port(), &["ALL", "CUSTOM", "SYSTEM"], false, None);
    assert_all_custom_system(&groups, &run);
    assert_eq!(run.result["conn"]["is_encrypt"], false);
    let (algo, types) = requests_seen(&sim);
    assert_eq!(
        algo,
        Some(-1),
        "plaintext InitConnect asks for no encryption"
    );
    assert_eq!(types, vec![3, 1, 2]);
}

#[test]
fn official_client_reads_the_english_default_watchlist() {
    run_watchlist(Config::default_groups(Lang::En), Lang::En);
}

#[test]
fn official_client_reads_the_chinese_default_watchlist() {
    let groups = Config::default_groups(Lang::Zh);
    assert_eq!(groups[0].name, "全部");
    run_watchlist(groups, Lang::Zh);
}

#[test]
fn official_client_reads_custom_names_with_chinese_and_emoji() {
    let groups = vec![
        GroupEntry::new("全部", SYSTEM),
        GroupEntry::new("特别关注", SYSTEM),
        GroupEntry::new("我的自选 ⭐", CUSTOM),
        GroupEntry::new("📈 科技股 🚀", CUSTOM),
        GroupEntry::new("港股", SYSTEM),
        GroupEntry::new("Ünïcödé \"quoted\" \\ back", CUSTOM),
        GroupEntry::new("我的自选 ⭐", CUSTOM), // names can repeat (docs/PROTOCOL.md §7)
        GroupEntry::new("👨‍👩‍👧 family ZWJ", CUSTOM),
    ];
    run_watchlist(groups, Lang::Zh);
}

#[test]
fn official_client_gets_an_error_for_group_type_none_and_the_connection_survives() {
    let groups = Config::default_groups(Lang::En);
    let sim = Sim::start(sim_config(groups.clone(), Lang::En)).unwrap();
    let run = official(sim.port(), &["N/A", "ALL"], false, None);
    let bad = run.call(0);
    assert_ne!(bad["ret"], 0, "groupType 0 must not succeed: {bad}");
    assert!(
        bad["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "an error text: {bad}"
    );
    assert_eq!(run.call(1)["ret"], 0);
    assert_eq!(run.call(1)["rows"], expected_rows(&groups, 3));
    let (_, types) = requests_seen(&sim);
    assert_eq!(
        types,
        vec![0, 3],
        "the official client really sent groupType 0"
    );
}

#[test]
fn official_client_sees_the_rate_limit_on_the_eleventh_call() {
    let groups = Config::default_groups(Lang::En);
    let sim = Sim::start(Config {
        rate_limit: Some(RateLimit {
            max: 10,
            window: Duration::from_secs(30),
            per_connection: false,
        }),
        ..sim_config(groups.clone(), Lang::En)
    })
    .unwrap();
    let run = official(sim.port(), &["ALL"; 11], false, None);
    for i in 0..10 {
        assert_eq!(run.call(i)["ret"], 0, "call {}: {}", i + 1, run.call(i));
        assert_eq!(run.call(i)["rows"], expected_rows(&groups, 3));
    }
    let eleventh = run.call(10);
    assert_ne!(eleventh["ret"], 0, "11th call within 30 s: {eleventh}");
    let msg = eleventh["msg"].as_str().expect("an error string");
    assert!(!msg.is_empty());
    assert_eq!(requests_seen(&sim).1.len(), 11);
}

// ---------------------------------------------------------------------------------------
// Encrypted runs

fn test_key(dir: &venv::TempDir) -> (RsaKey, std::path::PathBuf) {
    let mut rng = rsa::rand_core::OsRng;
    let private = rsa::RsaPrivateKey::new(&mut rng, 1024).expect("generate a test key");
    let pem = private.to_pkcs1_pem(LineEnding::LF).unwrap();
    let path = dir.path().join("rsa_test_key.pem");
    std::fs::write(&path, pem.as_bytes()).unwrap();
    (RsaKey::from_pem(&pem).unwrap(), path)
}

/// A loopback TCP relay that records both directions, so the test can look at what the
/// official client and the simulator actually put on the wire.
struct Tap {
    port: u16,
    up: Arc<Mutex<Vec<u8>>>,
    down: Arc<Mutex<Vec<u8>>>,
}

impl Tap {
    fn start(target: u16) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(Mutex::new(Vec::new()));
        let (u, d) = (up.clone(), down.clone());
        std::thread::spawn(move || {
            // One client connection is all a passing run makes.
            let Ok((client, _)) = listener.accept() else {
                return;
            };
            let server = TcpStream::connect(("127.0.0.1", target)).unwrap();
            let pump = |mut from: TcpStream, mut to: TcpStream, log: Arc<Mutex<Vec<u8>>>| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = to.shutdown(Shutdown::Write);
                })
            };
            let a = pump(client.try_clone().unwrap(), server.try_clone().unwrap(), u);
            let b = pump(server, client, d);
            let _ = a.join();
            let _ = b.join();
        });
        Tap { port, up, down }
    }

    fn frames(log: &Mutex<Vec<u8>>) -> Vec<Frame> {
        let mut r = FrameReader::new(wire::DEFAULT_MAX_BODY_LEN);
        r.push(&log.lock().unwrap());
        let mut out = Vec::new();
        while let Some(f) = r.next_frame().expect("well-formed frames") {
            out.push(f);
        }
        out
    }
}

/// Decrypts the tapped conversation with our own crypto and checks it frame by frame
/// against what the simulator says it received and what it was configured to send.
fn check_encrypted_wire(tap: &Tap, key: &RsaKey, sim: &Sim, groups: &[GroupEntry], cbc: bool) {
    let up = Tap::frames(&tap.up);
    let down = Tap::frames(&tap.down);
    let received = sim.received();

    // InitConnect: RSA both ways, 128-byte blocks, SHA-1 of the plaintext in the header.
    let (init_req, init_rsp) = (&up[0], &down[0]);
    assert_eq!(init_req.header.proto_id, 1001);
    assert_eq!(init_req.body.len() % 128, 0);
    let plain_req = key
        .decrypt(&init_req.body)
        .expect("our RSA reads their InitConnect");
    init_req.header.check_sha1(&plain_req).unwrap();
    assert_eq!(plain_req, received[0].body);
    let c2s = pb::init_connect::Request::decode(&plain_req[..])
        .unwrap()
        .c2s;
    assert_eq!(
        c2s.packet_enc_algo,
        Some(2),
        "the official client asks for AES-CBC"
    );

    assert_eq!(init_rsp.header.proto_id, 1001);
    assert_eq!(init_rsp.header.serial, init_req.header.serial);
    let plain_rsp = key.decrypt(&init_rsp.body).expect("the reply is RSA too");
    init_rsp.header.check_sha1(&plain_rsp).unwrap();
    let s2c = pb::init_connect::Response::decode(&plain_rsp[..])
        .unwrap()
        .s2c
        .expect("s2c");
    assert_eq!(s2c.aes_cb_civ.is_some(), cbc, "IV sent iff CBC");
    let cipher = BodyCipher::from_init_reply(&s2c.conn_aes_key, s2c.aes_cb_civ.as_deref()).unwrap();

    // The 3222 requests and replies: AES on the wire, never the plaintext itself.
    let reqs: Vec<&Frame> = up.iter().filter(|f| f.header.proto_id == 3222).collect();
    let rsps: Vec<&Frame> = down.iter().filter(|f| f.header.proto_id == 3222).collect();
    let sim_reqs: Vec<_> = received.iter().filter(|r| r.proto_id == 3222).collect();
    assert_eq!(reqs.len(), 3);
    assert_eq!(rsps.len(), 3);
    for ((req, rsp), seen) in reqs.iter().zip(&rsps).zip(&sim_reqs) {
        assert_ne!(req.body, seen.body, "a 3222 request went out in the clear");
        let plain = cipher
            .decrypt(&req.body)
            .expect("our AES reads their request");
        req.header.check_sha1(&plain).unwrap();
        assert_eq!(plain, seen.body);
        let want = pb::qot_get_user_security_group::Request::decode(&plain[..])
            .unwrap()
            .c2s
            .group_type;

        assert_eq!(rsp.header.serial, req.header.serial);
        let plain = cipher.decrypt(&rsp.body).expect("our AES reads the reply");
        rsp.header.check_sha1(&plain).unwrap();
        let list = pb::qot_get_user_security_group::Response::decode(&plain[..])
            .unwrap()
            .s2c
            .expect("s2c")
            .group_list;
        let names: Vec<(&str, i32)> = list
            .iter()
            .map(|g| (g.group_name.as_str(), g.group_type))
            .collect();
        let expected: Vec<(&str, i32)> = groups
            .iter()
            .filter(|g| want == 3 || g.group_type == want)
            .map(|g| (g.name.as_str(), g.group_type))
            .collect();
        assert_eq!(names, expected);
    }
}

fn encrypted_run(aes_mode: AesMode, cbc: bool) {
    let dir = venv::TempDir::new("interop-rsa");
    let (key, pem_path) = test_key(&dir);
    let groups = Config::default_groups(Lang::Zh);
    let sim = Sim::start(Config {
        rsa_key: Some(key.clone()),
        require_encryption: true,
        aes_mode,
        ..sim_config(groups.clone(), Lang::Zh)
    })
    .unwrap();
    let tap = Tap::start(sim.port());
    let run = official(
        tap.port,
        &["ALL", "CUSTOM", "SYSTEM"],
        true,
        Some(&pem_path),
    );
    assert_all_custom_system(&groups, &run);
    assert_eq!(run.result["conn"]["is_encrypt"], true);
    assert_eq!(run.result["conn"]["has_iv"], cbc);
    check_encrypted_wire(&tap, &key, &sim, &groups, cbc);
}

#[test]
fn official_client_encrypted_run_gets_the_watchlist_over_aes_cbc() {
    encrypted_run(AesMode::FollowClient, true);
}

#[test]
fn official_client_encrypted_run_gets_the_watchlist_over_ftaes_ecb() {
    // OpenD picks FTAES-ECB and omits aesCBCiv; the official client must follow.
    encrypted_run(AesMode::ForceFtAesEcb, false);
}

#[test]
fn official_client_with_the_wrong_key_never_gets_in() {
    let dir = venv::TempDir::new("interop-wrongkey");
    let (sim_key, _) = test_key(&dir);
    let other = venv::TempDir::new("interop-wrongkey2");
    let (_, client_pem) = test_key(&other);
    let sim = Sim::start(Config {
        rsa_key: Some(sim_key),
        require_encryption: true,
        ..sim_config(Config::default_groups(Lang::En), Lang::En)
    })
    .unwrap();
    let spec = json!({"calls": ["ALL"], "encrypt": true, "rsa_file": client_pem.to_str().unwrap()});
    let out = venv::run_python(
        &venv::helper("official_client.py"),
        &["127.0.0.1", &sim.port().to_string()],
        spec.to_string().as_bytes(),
        Duration::from_secs(8),
    );
    // It retries InitConnect forever (every 6 s), so it is still trying when killed.
    assert!(
        out.timed_out,
        "expected the official client to hang; got\n{}\n{}",
        out.stdout, out.stderr
    );
    assert!(!out.stdout.contains("@@RESULT@@"));
    assert!(sim.connections_accepted() >= 1);
    assert!(
        sim.received().iter().all(|r| r.proto_id != 3222),
        "no request may get through without a working InitConnect"
    );
}
