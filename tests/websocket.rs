//! The client over OpenD's WebSocket door, `ws://` and `wss://`, against `opend-sim`: the
//! same matrix as the TCP door (tests/engine.rs), plus what only this door has (the key's
//! MD5 login, the header's `error` field, cmd 2, TLS certificates).

#[path = "support/tls.rs"]
mod tls;
#[path = "support/watchlist.rs"]
mod watchlist;

use opend::conn::errcode;
use opend::door::Door;
use opend::{
    Connection, Events, GetUserSecurityGroup, GroupType, Options, Qot, QotError, ReplyKind, State,
    TlsRoots, WebSocketKey,
};
use opend_sim::{Config, Faults, GroupEntry, RateLimit, Sim, WsTls};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watchlist::{expected, names};

/// The two flavours of the door.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TransportKind {
    WebSocket,
    WebSocketTls,
}

/// Both flavours of the door.
const DOORS: [TransportKind; 2] = [TransportKind::WebSocket, TransportKind::WebSocketTls];

fn sim(kind: TransportKind, config: Config) -> Sim {
    let p = tls::pki();
    Sim::start(Config {
        ws_port: Some(0),
        ws_tls: (kind == TransportKind::WebSocketTls)
            .then(|| WsTls::from_pem_files(&p.server_cert, &p.server_key).unwrap()),
        ..config
    })
    .expect("simulator starts")
}

fn no_limit() -> Config {
    Config {
        rate_limit: None,
        ..Config::default()
    }
}

fn options(kind: TransportKind) -> Options {
    Options {
        door: Door::WebSocket {
            tls: kind == TransportKind::WebSocketTls,
            key: None,
            tls_roots: Some(TlsRoots::from_pem_file(&tls::pki().ca).unwrap()),
        },
        ..Options::default()
    }
}

/// `o` with OpenD's WebSocket key.
fn with_key(o: Options, key: Option<WebSocketKey>) -> Options {
    let Door::WebSocket { tls, tls_roots, .. } = o.door else {
        unreachable!("a WebSocket door")
    };
    Options {
        door: Door::WebSocket {
            tls,
            key,
            tls_roots,
        },
        ..o
    }
}

/// `o` trusting `roots` (besides the system's).
fn with_roots(o: Options, roots: Option<TlsRoots>) -> Options {
    let Door::WebSocket { tls, key, .. } = o.door else {
        unreachable!("a WebSocket door")
    };
    Options {
        door: Door::WebSocket {
            tls,
            key,
            tls_roots: roots,
        },
        ..o
    }
}

fn quick(kind: TransportKind) -> Options {
    Options {
        request_timeout: Duration::from_millis(400),
        ..options(kind)
    }
}

fn connect(s: &Sim, o: Options) -> Qot {
    Qot::connect("127.0.0.1", s.ws_port().unwrap(), o).expect("connects over the WebSocket door")
}

/// As [`connect`], with a recorder for the connection's callbacks.
fn connect_recorded(s: &Sim, o: Options) -> (Qot, Rec) {
    let rec = Rec::default();
    let q = Qot::connect_with("127.0.0.1", s.ws_port().unwrap(), o, rec.clone())
        .expect("connects over the WebSocket door");
    (q, rec)
}

/// Records disconnects and pushes.
#[derive(Clone, Default)]
struct Rec {
    disconnects: Arc<Mutex<Vec<(i64, String)>>>,
    inits: Arc<Mutex<Vec<(i64, String)>>>,
    pushes: Arc<Mutex<Vec<u32>>>,
    states: Arc<Mutex<Vec<State>>>,
}

impl Events for Rec {
    fn on_init_connect(&mut self, _c: &Connection, code: i64, desc: &str) {
        self.inits.lock().unwrap().push((code, desc.to_owned()));
    }
    fn on_disconnect(&mut self, _c: &Connection, code: i64, reason: &str) {
        self.disconnects
            .lock()
            .unwrap()
            .push((code, reason.to_owned()));
    }
    fn on_push(&mut self, _c: &Connection, proto: u32, _serial: u32, _body: &[u8]) {
        self.pushes.lock().unwrap().push(proto);
    }
    fn on_state_change(&mut self, _c: &Connection, state: State, _reason: &str) {
        self.states.lock().unwrap().push(state);
    }
}

/// Sends `n` requests whose outcomes go to the returned list.
fn send_n(q: &Qot, n: usize) -> Arc<Mutex<Vec<(u32, i32, String)>>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..n {
        let o = out.clone();
        q.request(GetUserSecurityGroup::new(GroupType::All), None, move |r| {
            o.lock()
                .unwrap()
                .push((r.serial, r.ret_type, r.message().to_owned()))
        })
        .unwrap();
    }
    out
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn all_three_group_types_with_cjk_and_emoji_names_over_ws_and_wss() {
    let groups = vec![
        GroupEntry::new("全部", 2),
        GroupEntry::new("特别关注", 2),
        GroupEntry::new("港股 🚀", 2),
        GroupEntry::new("自选 ✨ A", 1),
        GroupEntry::new("C", 1),
    ];
    for kind in DOORS {
        let s = sim(
            kind,
            Config {
                groups: groups.clone(),
                ..no_limit()
            },
        );
        let q = connect(&s, options(kind));
        assert_ne!(q.connection().conn_id(), 0);
        assert_eq!(
            q.connection().session_info().encrypted,
            kind == TransportKind::WebSocketTls
        );
        for t in [GroupType::All, GroupType::Custom, GroupType::System] {
            let got = q.get_user_security_group(t).unwrap();
            assert_eq!(names(&got), expected(&groups, t), "{kind:?} {t:?}");
        }
        // The request went as the official client sends it: section = our serial.
        let r: Vec<_> = s
            .received()
            .into_iter()
            .filter(|r| r.proto_id == 3222)
            .collect();
        assert_eq!(r.len(), 3);
        assert!(r.windows(2).all(|w| w[0].serial < w[1].serial));
    }
}

#[test]
fn the_login_carries_the_keys_md5_and_a_wrong_key_is_refused() {
    for kind in DOORS {
        let s = sim(
            kind,
            Config {
                ws_key: Some("7522027ccf5a06b1".into()),
                ..no_limit()
            },
        );
        let good = with_key(options(kind), Some(WebSocketKey::new("7522027ccf5a06b1")));
        let q = connect(&s, good);
        assert_eq!(
            q.get_user_security_group(GroupType::Custom).unwrap().len(),
            2
        );
        let login = s.received().into_iter().find(|r| r.proto_id == 1).unwrap();
        let c2s = <opend::pb::init_web_socket::Request as prost::Message>::decode(&login.body[..])
            .unwrap()
            .c2s
            .unwrap();
        assert_eq!(
            c2s.websocket_key.as_deref(),
            Some(WebSocketKey::new("7522027ccf5a06b1").md5_hex().as_str())
        );

        for key in [Some("sekrit-Zq9"), None] {
            let bad = with_key(options(kind), key.map(WebSocketKey::new));
            match Qot::connect("127.0.0.1", s.ws_port().unwrap(), bad) {
                Err(opend::ConnectError::Init { err_code, desc }) => {
                    assert_eq!(
                        err_code,
                        errcode::make(100, errcode::init_fail::OPEND_REJECT)
                    );
                    assert!(desc.contains("wrong WebSocket key"), "{desc}");
                    assert!(!desc.contains("sekrit"), "the key never shows: {desc}");
                }
                other => panic!("{kind:?} key {key:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_withheld_reply_times_out_and_opends_error_field_becomes_the_outcome() {
    for kind in DOORS {
        let s = sim(
            kind,
            Config {
                faults: Faults {
                    withhold: vec![3222],
                    ..Default::default()
                },
                ..no_limit()
            },
        );
        let q = connect(&s, quick(kind));
        let t0 = Instant::now();
        let r = q
            .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
            .unwrap();
        assert_eq!(r.ret_type, -100);
        assert!(t0.elapsed() >= Duration::from_millis(350));

        for (error, want) in [(1, -100), (2, -100), (3, -200)] {
            s.set_faults(Faults {
                peer_error: Some((3222, error)),
                ..Default::default()
            });
            let t0 = Instant::now();
            let r = q
                .request_blocking(
                    GetUserSecurityGroup::new(GroupType::All),
                    Some(Duration::from_secs(10)),
                )
                .unwrap();
            assert_eq!(r.ret_type, want, "{kind:?} error {error}: {r:?}");
            assert!(
                r.message().contains(&format!("error {error}")),
                "{}",
                r.message()
            );
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "at once, not after the timeout"
            );
        }
        // The connection is still there.
        s.set_faults(Faults::default());
        assert!(q.get_user_security_group(GroupType::All).is_ok());
    }
}

#[test]
fn a_server_close_gives_minus_200_to_every_pending_request_then_on_disconnect() {
    for kind in DOORS {
        let s = sim(kind, no_limit());
        s.set_faults(Faults {
            withhold: vec![3222],
            ..Default::default()
        });
        let (q, rec) = connect_recorded(&s, options(kind));
        let out = send_n(&q, 5);
        std::thread::sleep(Duration::from_millis(100));
        s.set_faults(Faults {
            close_after: Some(3222),
            ..Default::default()
        });
        q.request(GetUserSecurityGroup::new(GroupType::All), None, |_| {})
            .unwrap();
        wait_for("the disconnect", 5, || {
            !rec.disconnects.lock().unwrap().is_empty()
        });
        let got = out.lock().unwrap().clone();
        assert_eq!(
            got.len(),
            5,
            "{kind:?}: every pending request had its outcome first"
        );
        assert!(got.iter().all(|(_, rt, _)| *rt == -200), "{got:?}");
        let (code, _) = rec.disconnects.lock().unwrap()[0].clone();
        assert_eq!(errcode::high(code), errcode::connect_fail::RECV_FAILED);
    }
}

#[test]
fn cmd_2_ends_the_session_and_every_pending_request_gets_minus_200() {
    for kind in DOORS {
        let s = sim(kind, no_limit());
        s.set_faults(Faults {
            withhold: vec![3222],
            ..Default::default()
        });
        let (q, rec) = connect_recorded(&s, options(kind));
        let out = send_n(&q, 3);
        std::thread::sleep(Duration::from_millis(100));
        s.set_faults(Faults {
            opend_lost: Some(3222),
            ..Default::default()
        });
        q.request(GetUserSecurityGroup::new(GroupType::All), None, |_| {})
            .unwrap();
        wait_for("the disconnect", 5, || {
            !rec.disconnects.lock().unwrap().is_empty()
        });
        assert!(out.lock().unwrap().iter().all(|(_, rt, _)| *rt == -200));
        assert_eq!(out.lock().unwrap().len(), 3);
        let (_, reason) = rec.disconnects.lock().unwrap()[0].clone();
        assert!(reason.contains("lost its connection to OpenD"), "{reason}");
        assert!(q.connection().wait_closed(Duration::from_secs(5)));
    }
}

#[test]
fn opends_rate_limit_is_passed_through() {
    for kind in DOORS {
        let s = sim(
            kind,
            Config {
                rate_limit: Some(RateLimit {
                    max: 2,
                    window: Duration::from_secs(30),
                    per_connection: false,
                }),
                ..Config::default()
            },
        );
        // The client-side limiter first: one per minute, fail-fast, nothing sent.
        let mut o = Options {
            rate_limit_mode: opend::RateLimitMode::FailFast,
            ..options(kind)
        };
        o.rate_limits.insert(
            3222,
            opend::Quota {
                max: 1,
                window: Duration::from_secs(60),
            },
        );
        let q = connect(&s, o);
        assert!(q.get_user_security_group(GroupType::All).is_ok());
        match q.get_user_security_group(GroupType::All) {
            Err(QotError::Reply {
                ret_type: -300,
                ret_msg,
                ..
            }) => {
                assert!(ret_msg.contains("rate limited locally"), "{ret_msg}")
            }
            other => panic!("{other:?}"),
        }
        drop(q);
        // Then OpenD's own (2 per 30 s, one used above), passed through.
        let o = Options {
            rate_limit_mode: opend::RateLimitMode::Off,
            ..options(kind)
        };
        let q = connect(&s, o);
        assert!(q.get_user_security_group(GroupType::All).is_ok());
        match q.get_user_security_group(GroupType::All) {
            Err(QotError::Reply {
                ret_type: -1,
                ret_msg,
                ..
            }) => {
                assert!(ret_msg.contains("frequency"), "{ret_msg}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn our_close_with_requests_pending_gives_each_minus_200() {
    for kind in DOORS {
        let s = sim(
            kind,
            Config {
                faults: Faults {
                    withhold: vec![3222],
                    ..Default::default()
                },
                ..no_limit()
            },
        );
        let (q, rec) = connect_recorded(&s, options(kind));
        let out = send_n(&q, 10);
        q.close();
        let got = out.lock().unwrap().clone();
        assert_eq!(got.len(), 10);
        assert!(
            got.iter()
                .all(|(_, rt, m)| *rt == -200 && m.contains("closed by the user"))
        );
        assert_eq!(
            rec.disconnects.lock().unwrap().as_slice(),
            &[(0, "closed by the user".to_owned())]
        );
        assert_eq!(q.connection().state(), State::Closed);
        wait_for("the simulator to see the close", 5, || {
            s.open_connections() == 0
        });
    }
}

#[test]
fn a_thousand_requests_from_four_threads_each_get_exactly_one_outcome() {
    for kind in DOORS {
        let s = sim(kind, no_limit());
        let o = Options {
            rate_limit_mode: opend::RateLimitMode::Off,
            ..options(kind)
        };
        let q = Arc::new(connect(&s, o));
        let seen = Arc::new(Mutex::new(std::collections::HashMap::<u32, usize>::new()));
        let total = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (q, seen, total) = (q.clone(), seen.clone(), total.clone());
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        let (seen, total) = (seen.clone(), total.clone());
                        q.request(GetUserSecurityGroup::new(GroupType::All), None, move |r| {
                            assert_eq!(r.ret_type, 0);
                            *seen.lock().unwrap().entry(r.serial).or_default() += 1;
                            total.fetch_add(1, Ordering::SeqCst);
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        wait_for("1000 outcomes", 20, || total.load(Ordering::SeqCst) >= 1000);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(total.load(Ordering::SeqCst), 1000);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1000);
        assert!(seen.values().all(|&n| n == 1));
    }
}

#[test]
fn replies_split_into_single_bytes_are_reassembled() {
    for kind in DOORS {
        let s = sim(
            kind,
            Config {
                faults: Faults {
                    byte_at_a_time: true,
                    ..Default::default()
                },
                ..no_limit()
            },
        );
        let q = connect(&s, options(kind));
        let got = q.get_user_security_group(GroupType::Custom).unwrap();
        assert_eq!(names(&got), vec![("A".into(), 1), ("C".into(), 1)]);
    }
}

#[test]
fn auto_reconnect_redoes_the_login_after_the_simulator_restarts() {
    for kind in DOORS {
        let s = sim(kind, no_limit());
        let port = s.ws_port().unwrap();
        let mut o = options(kind);
        o.set_auto_reconnect(
            true,
            Some(Duration::from_millis(50)),
            Some(Duration::from_millis(200)),
            false,
        );
        let (q, rec) = connect_recorded(&s, o);
        let first = q.connection().conn_id();
        drop(s);
        wait_for("the disconnect", 5, || {
            !rec.disconnects.lock().unwrap().is_empty()
        });
        let p = tls::pki();
        let s2 = Sim::start(Config {
            ws_port: Some(port),
            ws_tls: (kind == TransportKind::WebSocketTls)
                .then(|| WsTls::from_pem_files(&p.server_cert, &p.server_key).unwrap()),
            ..no_limit()
        })
        .unwrap();
        wait_for("the second login", 10, || {
            rec.inits.lock().unwrap().len() >= 2
        });
        assert_eq!(rec.inits.lock().unwrap()[1].0, 0);
        assert_ne!(q.connection().conn_id(), first);
        assert!(q.get_user_security_group(GroupType::All).is_ok());
        assert_eq!(s2.received().iter().filter(|r| r.proto_id == 1).count(), 1);
        q.close();
        use State::*;
        assert_eq!(
            rec.states.lock().unwrap().as_slice(),
            &[
                Connecting,
                Initializing,
                Ready,
                Reconnecting,
                Ready,
                Closing,
                Closed
            ],
            "{kind:?}"
        );
    }
}

#[test]
fn a_certificate_nobody_trusts_is_refused_with_a_clear_reason() {
    // Listening on every address, so that 127.0.0.2 reaches it too.
    let s = sim(
        TransportKind::WebSocketTls,
        Config {
            host: "0.0.0.0".into(),
            ..no_limit()
        },
    );
    let port = s.ws_port().unwrap();
    let untrusted = with_roots(
        options(TransportKind::WebSocketTls),
        Some(TlsRoots::from_pem_file(&tls::pki().other_ca).unwrap()),
    );
    let none = with_roots(untrusted.clone(), None);
    for o in [untrusted, none] {
        match Qot::connect("127.0.0.1", port, o) {
            Err(opend::ConnectError::Init { err_code, desc }) => {
                assert_eq!(
                    errcode::high(err_code),
                    errcode::connect_fail::CONNECT_FAILED
                );
                assert!(
                    desc.contains("TLS handshake") && desc.contains("certificate"),
                    "{desc}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // The name must match too: the certificate is for 127.0.0.1 and localhost.
    match Qot::connect("127.0.0.2", port, options(TransportKind::WebSocketTls)) {
        Err(opend::ConnectError::Init { desc, .. }) => {
            assert!(desc.contains("certificate"), "{desc}")
        }
        Ok(_) => panic!("a certificate for another name was accepted"),
        Err(e) => panic!("{e:?}"),
    }
    // A plain client at a TLS door, and a TLS client at a plain one, fail cleanly.
    let plain = sim(TransportKind::WebSocket, no_limit());
    assert!(
        Qot::connect(
            "127.0.0.1",
            plain.ws_port().unwrap(),
            options(TransportKind::WebSocketTls)
        )
        .is_err()
    );
    assert!(
        Qot::connect(
            "127.0.0.1",
            port,
            Options {
                connect_timeout: Duration::from_secs(2),
                ..options(TransportKind::WebSocket)
            }
        )
        .is_err()
    );
    assert!(TlsRoots::from_pem_file("/nonexistent/ca.pem").is_err());
}

#[test]
fn the_login_times_out_and_a_silent_opend_is_caught_through_unanswered_pings() {
    for kind in DOORS {
        let s = sim(
            kind,
            Config {
                faults: Faults {
                    withhold: vec![1001],
                    ..Default::default()
                },
                ..no_limit()
            },
        );
        let o = Options {
            init_timeout: Duration::from_millis(300),
            ..options(kind)
        };
        match Qot::connect("127.0.0.1", s.ws_port().unwrap(), o) {
            Err(opend::ConnectError::Init { err_code, desc }) => {
                assert_eq!(err_code, errcode::make(100, errcode::init_fail::TIMEOUT));
                assert!(desc.contains("WebSocket login"), "{desc}");
            }
            other => panic!("{other:?}"),
        }

        // Pings every 300 ms keep a 1.2 s watchdog quiet while OpenD answers them...
        s.set_faults(Faults::default());
        let o = Options {
            silence_timeout: Some(Duration::from_millis(1200)),
            ..options(kind)
        };
        let (q, rec) = connect_recorded(&s, o);
        std::thread::sleep(Duration::from_millis(2000));
        assert!(
            rec.disconnects.lock().unwrap().is_empty(),
            "{kind:?}: pongs feed the watchdog"
        );
        // ... and a silent one is caught.
        s.set_faults(Faults {
            withhold: vec![1004],
            ..Default::default()
        });
        wait_for("the watchdog", 5, || {
            !rec.disconnects.lock().unwrap().is_empty()
        });
        let (_, reason) = rec.disconnects.lock().unwrap()[0].clone();
        assert!(reason.contains("pings unanswered"), "{reason}");
        drop(q);
    }
}

#[test]
fn pushes_arrive_over_the_websocket_door() {
    for kind in DOORS {
        let s = sim(kind, no_limit());
        let (q, rec) = connect_recorded(&s, options(kind));
        s.push_notify(opend::pb::notify::S2c {
            r#type: 3,
            ..Default::default()
        });
        wait_for("the push", 5, || !rec.pushes.lock().unwrap().is_empty());
        assert_eq!(rec.pushes.lock().unwrap().as_slice(), &[1003]);
        drop(q);
    }
}

/// A push queued behind a reply goes out whole at once, not when the next ping happens to
/// push its last byte out (the sim's frame filter once read the HTTP upgrade as frames and
/// held a byte back; the default ping interval is 8 s, this waits 3).
#[test]
fn a_push_after_a_reply_arrives_without_waiting_for_a_ping() {
    for kind in DOORS {
        let s = sim(
            kind,
            Config {
                notify_on: vec![3222],
                ..no_limit()
            },
        );
        let (q, rec) = connect_recorded(&s, options(kind));
        for round in 1..=3 {
            q.get_user_security_group(GroupType::All).unwrap();
            wait_for("the push", 3, || rec.pushes.lock().unwrap().len() == round);
        }
        assert_eq!(rec.pushes.lock().unwrap().as_slice(), &[1003, 1003, 1003]);
        drop(q);
    }
}

#[test]
fn broken_frames_end_the_connection_with_a_reason_and_no_request_is_left_hanging() {
    let cases: [(&str, Faults); 5] = [
        (
            "bad sign",
            Faults {
                bad_magic: Some(3222),
                ..Default::default()
            },
        ),
        (
            "huge frame",
            Faults {
                huge_body_len: Some(3222),
                ..Default::default()
            },
        ),
        (
            "garbage",
            Faults {
                garbage_after: Some(3222),
                ..Default::default()
            },
        ),
        (
            "mid header",
            Faults {
                close_mid_header: Some(3222),
                ..Default::default()
            },
        ),
        (
            "mid body",
            Faults {
                close_mid_body: Some(3222),
                ..Default::default()
            },
        ),
    ];
    for kind in DOORS {
        for (what, faults) in &cases {
            let s = sim(kind, no_limit());
            let (q, rec) = connect_recorded(&s, quick(kind));
            s.set_faults(faults.clone());
            let out = send_n(&q, 3);
            wait_for(what, 5, || !rec.disconnects.lock().unwrap().is_empty());
            let got = out.lock().unwrap().clone();
            assert_eq!(got.len(), 3, "{kind:?} {what}");
            // The first reply may have been delivered before the break (garbage after it).
            assert!(
                got.iter().all(|(_, rt, _)| *rt == -200 || *rt == 0),
                "{kind:?} {what}: {got:?}"
            );
            assert!(
                got.iter().any(|(_, rt, _)| *rt == -200),
                "{kind:?} {what}: {got:?}"
            );
        }
    }
}

#[test]
fn wrong_proto_and_duplicate_replies_are_dropped_like_on_the_tcp_door() {
    for kind in DOORS {
        let s = sim(
            kind,
            Config {
                faults: Faults {
                    wrong_proto: Some(3222),
                    ..Default::default()
                },
                ..no_limit()
            },
        );
        let q = connect(&s, quick(kind));
        assert_eq!(
            q.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
                .unwrap()
                .ret_type,
            -100
        );
        s.set_faults(Faults {
            duplicate: Some(3222),
            ..Default::default()
        });
        let out = send_n(&q, 2);
        wait_for("two outcomes", 5, || out.lock().unwrap().len() >= 2);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(out.lock().unwrap().len(), 2);
        assert!(out.lock().unwrap().iter().all(|(_, rt, _)| *rt == 0));
    }
}

/// The WebSocket door has no AES: its settings have no place for it (TLS is its
/// encryption). What the TCP door's encryption needs is checked before connecting.
#[test]
fn a_door_setting_that_cannot_work_is_refused_before_connecting() {
    let o = Options {
        door: Door::Tcp {
            encrypt: true,
            rsa_key: None,
        },
        ..options(TransportKind::WebSocket)
    };
    assert!(matches!(
        Qot::connect("127.0.0.1", 1, o),
        Err(opend::ConnectError::NoRsaKey)
    ));
    let _ = ReplyKind::Server;
}

#[test]
fn log_lines_name_the_door_and_never_the_key_or_its_md5() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l2 = lines.clone();
    opend::log::set_logger(
        Some(Arc::new(move |level, target, msg| {
            l2.lock()
                .unwrap()
                .push(format!("{} {target} {msg}", level.name()))
        })),
        Some(opend::log::Level::Trace),
    );
    let key = "k3y-Secret-77";
    let s = sim(
        TransportKind::WebSocket,
        Config {
            ws_key: Some(key.into()),
            ..no_limit()
        },
    );
    let right = with_key(
        options(TransportKind::WebSocket),
        Some(WebSocketKey::new(key)),
    );
    let q = connect(&s, right);
    q.get_user_security_group(GroupType::All).unwrap();
    drop(q);
    let wrong = with_key(
        options(TransportKind::WebSocket),
        Some(WebSocketKey::new("other-Secret-88")),
    );
    assert!(Qot::connect("127.0.0.1", s.ws_port().unwrap(), wrong).is_err());
    opend::log::set_logger(None, None);
    let lines = lines.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("connected over ws://")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("debug ftapi::conn send proto=3222")),
        "{lines:#?}"
    );
    let md5 = WebSocketKey::new(key).md5_hex();
    let md5_other = WebSocketKey::new("other-Secret-88").md5_hex();
    for l in &lines {
        assert!(
            !l.contains("Secret") && !l.contains(&md5) && !l.contains(&md5_other),
            "{l}"
        );
    }
}

/// Through the WebSocket door too, the typed reply keeps retMsg / errCode as sent.
#[test]
fn groups_reply_keeps_ret_msg_and_err_code_as_sent_over_ws() {
    for kind in DOORS {
        for omit in [false, true] {
            let s = sim(
                kind,
                Config {
                    faults: Faults {
                        omit_ret_fields: omit,
                        ..Faults::default()
                    },
                    ..no_limit()
                },
            );
            let q = connect(&s, options(kind));
            let r = q
                .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
                .unwrap();
            assert_eq!((r.ret_type, r.has_s2c, r.groups.len()), (0, true, 12));
            let want = if omit {
                (None, None)
            } else {
                (Some(""), Some(0))
            };
            assert_eq!(
                (r.ret_msg.as_deref(), r.err_code),
                want,
                "{kind:?} omit {omit}"
            );
        }
    }
}
