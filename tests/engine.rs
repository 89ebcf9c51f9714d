//! The client against `opend-sim` over loopback: every outcome a request can have.

#[path = "support/watchlist.rs"]
mod watchlist;

use opend::conn::errcode;
use opend::{
    Connection, Events, GetUserSecurityGroup, GroupType, GroupsReply, Options, Qot, QotError,
    ReplyKind, Request, State,
};
use opend_sim::{Config, Faults, GroupEntry, Lang, RateLimit, Sim};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watchlist::{expected, names};

fn sim(config: Config) -> Sim {
    Sim::start(config).expect("simulator starts")
}

fn no_limit() -> Config {
    Config {
        rate_limit: None,
        ..Config::default()
    }
}

fn quick() -> Options {
    Options {
        request_timeout: Duration::from_millis(400),
        ..Options::default()
    }
}

#[test]
fn all_three_group_types_return_the_configured_watchlist() {
    let groups = Config::default_groups(Lang::En);
    let s = sim(no_limit());
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    assert_ne!(qot.connection().conn_id(), 0);
    for t in [GroupType::All, GroupType::Custom, GroupType::System] {
        let got = qot.get_user_security_group(t).unwrap();
        assert_eq!(names(&got), expected(&groups, t), "{t:?}");
    }
    assert_eq!(expected(&groups, GroupType::Custom).len(), 2);
}

#[test]
fn chinese_and_emoji_names_and_an_empty_custom_list() {
    let groups = vec![
        GroupEntry::new("全部", 2),
        GroupEntry::new("特别关注", 2),
        GroupEntry::new("我的🚀自选", 2),
    ];
    let s = sim(Config {
        groups: groups.clone(),
        lang: Lang::Zh,
        ..no_limit()
    });
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    assert_eq!(
        names(&qot.get_user_security_group(GroupType::All).unwrap()),
        expected(&groups, GroupType::All)
    );
    let custom = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::Custom), None)
        .unwrap();
    assert_eq!(custom.ret_type, 0);
    assert!(custom.groups.is_empty());
}

#[test]
fn first_request_gets_serial_two_and_serials_increase() {
    let s = sim(no_limit());
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    let a = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    let b = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    assert_eq!((a.serial, b.serial), (2, 3));
    let init = s
        .received()
        .into_iter()
        .find(|r| r.proto_id == 1001)
        .unwrap();
    assert_eq!(init.serial, 1);
}

#[test]
fn invalid_group_types_are_refused_without_sending() {
    let s = sim(no_limit());
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    for bad in [0, 4, 99, -1] {
        assert_eq!(
            GetUserSecurityGroup::from_i32(bad).and_then(|r| qot.request_blocking(r, None)),
            Err(QotError::InvalidGroupType(bad))
        );
    }
    assert!(s.received().iter().all(|r| r.proto_id != 3222));
}

#[test]
fn a_withheld_reply_times_out_with_minus_100_and_a_late_one_is_dropped() {
    let s = sim(Config {
        faults: Faults {
            delay: Some(Duration::from_millis(700)),
            delay_protos: vec![3222],
            ..Faults::default()
        },
        ..no_limit()
    });
    let qot = Qot::connect("127.0.0.1", s.port(), quick()).unwrap();
    let started = Instant::now();
    let r = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    assert_eq!(r.ret_type, -100);
    assert!(started.elapsed() >= Duration::from_millis(380));
    // The late reply arrives ~300 ms later and must not produce a second outcome; the
    // connection keeps working.
    std::thread::sleep(Duration::from_millis(500));
    s.set_faults(Faults::default());
    assert_eq!(
        qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
            .unwrap()
            .ret_type,
        0
    );
}

#[test]
fn server_close_gives_minus_200_then_on_disconnect() {
    #[derive(Default)]
    struct Log(Arc<Mutex<Vec<String>>>);
    impl Events for Log {
        fn on_disconnect(&mut self, _c: &Connection, code: i64, reason: &str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("disconnect {} {reason}", errcode::high(code)));
        }
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let s = sim(Config {
        faults: Faults {
            close_after: Some(3222),
            ..Faults::default()
        },
        ..no_limit()
    });
    let qot =
        Qot::connect_with("127.0.0.1", s.port(), Options::default(), Log(log.clone())).unwrap();
    let l2 = log.clone();
    qot.request(GetUserSecurityGroup::new(GroupType::All), None, move |r| {
        l2.lock().unwrap().push(format!("reply {}", r.ret_type))
    })
    .unwrap();
    assert!(qot.connection().wait_closed(Duration::from_secs(5)));
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0], "reply -200");
    assert!(log[1].starts_with("disconnect 11 OpenD closed"), "{log:?}");
    assert!(matches!(
        qot.get_user_security_group(GroupType::All),
        Err(QotError::Send(opend::SendError::Closed))
    ));
}

#[test]
fn our_own_close_completes_pending_requests_with_minus_200() {
    let s = sim(Config {
        faults: Faults {
            withhold: vec![3222],
            ..Faults::default()
        },
        ..no_limit()
    });
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..5 {
        let o = outcomes.clone();
        qot.request(GetUserSecurityGroup::new(GroupType::All), None, move |r| {
            o.lock().unwrap().push(r.ret_type)
        })
        .unwrap();
    }
    qot.close();
    // close() from another thread returns after every outcome was delivered.
    assert_eq!(*outcomes.lock().unwrap(), vec![-200; 5]);
    assert_eq!(qot.connection().state(), State::Closed);
    qot.close(); // idempotent
}

#[test]
fn opend_rate_limit_error_is_passed_through() {
    let s = sim(Config {
        rate_limit: Some(RateLimit {
            max: 2,
            window: Duration::from_secs(30),
            per_connection: false,
        }),
        ..Config::default()
    });
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    assert!(qot.get_user_security_group(GroupType::All).is_ok());
    assert!(qot.get_user_security_group(GroupType::All).is_ok());
    let third = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    assert_eq!(third.ret_type, -1);
    assert!(!third.message().is_empty());
    match third.clone().into_result() {
        Err(QotError::Reply {
            ret_type: -1,
            ret_msg,
            ..
        }) => assert_eq!(Some(ret_msg), third.ret_msg),
        other => panic!("{other:?}"),
    }
}

#[test]
fn replies_written_one_byte_at_a_time_are_reassembled() {
    let s = sim(Config {
        faults: Faults {
            byte_at_a_time: true,
            ..Faults::default()
        },
        ..no_limit()
    });
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    let got = qot.get_user_security_group(GroupType::All).unwrap();
    assert_eq!(
        names(&got),
        expected(&Config::default_groups(Lang::En), GroupType::All)
    );
}

#[test]
fn corrupted_sha1_ends_the_connection_and_no_request_is_left_hanging() {
    let reason = Arc::new(Mutex::new(String::new()));
    struct R(Arc<Mutex<String>>);
    impl Events for R {
        fn on_disconnect(&mut self, _c: &Connection, _code: i64, reason: &str) {
            *self.0.lock().unwrap() = reason.to_owned();
        }
    }
    let s = sim(Config {
        faults: Faults {
            corrupt_sha1: Some(3222),
            ..Faults::default()
        },
        ..no_limit()
    });
    let qot =
        Qot::connect_with("127.0.0.1", s.port(), Options::default(), R(reason.clone())).unwrap();
    let r = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    assert_eq!(r.ret_type, -200);
    assert!(r.message().contains("SHA-1"), "{}", r.message());
    assert!(qot.connection().wait_closed(Duration::from_secs(5)));
    assert!(reason.lock().unwrap().contains("SHA-1"));
}

/// The receive side remembers the last verified body (wire::Sha1Memo); the very same
/// body under a wrong SHA-1 must still end the connection.
#[test]
fn a_repeated_reply_with_a_bad_sha1_is_still_caught() {
    let s = sim(no_limit());
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    let first = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    assert_eq!(first.ret_type, 0);
    assert_eq!(
        qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
            .unwrap(),
        GroupsReply {
            serial: first.serial + 1,
            ..first.clone()
        }
    );
    s.set_faults(Faults {
        corrupt_sha1: Some(3222),
        ..Faults::default()
    });
    let r = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    assert_eq!(r.ret_type, -200, "{}", r.message());
    assert!(r.message().contains("SHA-1"), "{}", r.message());
    assert!(qot.connection().wait_closed(Duration::from_secs(5)));
}

#[test]
fn keep_alive_is_sent_at_four_fifths_of_a_short_interval() {
    let s = sim(Config {
        keep_alive_interval: 1,
        ..no_limit()
    });
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    std::thread::sleep(Duration::from_millis(2700));
    let recv = s.received();
    let init_at = recv.iter().find(|r| r.proto_id == 1001).unwrap().at;
    let ka: Vec<_> = recv
        .iter()
        .filter(|r| r.proto_id == 1004)
        .map(|r| r.at)
        .collect();
    assert!(
        ka.len() >= 3 && ka.len() <= 4,
        "{} KeepAlives in 2.7 s",
        ka.len()
    );
    let first = ka[0].duration_since(init_at);
    assert!(
        first >= Duration::from_millis(750) && first < Duration::from_millis(1100),
        "{first:?}"
    );
    for w in ka.windows(2) {
        let gap = w[1].duration_since(w[0]);
        assert!(
            gap >= Duration::from_millis(750) && gap < Duration::from_millis(1100),
            "{gap:?}"
        );
    }
    drop(qot);
}

#[test]
fn a_thousand_requests_from_four_threads_each_get_exactly_one_outcome() {
    let s = sim(no_limit());
    let opts = Options {
        rate_limit_mode: opend::RateLimitMode::Off,
        ..Options::default()
    };
    let qot = Arc::new(Qot::connect("127.0.0.1", s.port(), opts).unwrap());
    let outcomes = Arc::new(Mutex::new(std::collections::HashMap::<u32, u32>::new()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (qot, outcomes, sent) = (qot.clone(), outcomes.clone(), sent.clone());
            std::thread::spawn(move || {
                for _ in 0..250 {
                    let o = outcomes.clone();
                    let serial = qot
                        .request(GetUserSecurityGroup::new(GroupType::All), None, move |r| {
                            assert_eq!(r.ret_type, 0);
                            *o.lock().unwrap().entry(r.serial).or_default() += 1;
                        })
                        .unwrap();
                    sent.lock().unwrap().push(serial);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while outcomes.lock().unwrap().len() < 1000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let outcomes = outcomes.lock().unwrap();
    let mut sent = sent.lock().unwrap().clone();
    sent.sort_unstable();
    sent.dedup();
    assert_eq!(sent.len(), 1000, "serials are unique");
    assert_eq!(outcomes.len(), 1000);
    assert!(outcomes.values().all(|&n| n == 1));
    assert!(sent.iter().all(|s| outcomes.contains_key(s)));
}

#[test]
fn rejected_init_connect_reports_the_official_code_and_opends_message() {
    let s = sim(Config {
        faults: Faults {
            reject_init: Some("no login".into()),
            ..Faults::default()
        },
        ..no_limit()
    });
    match Qot::connect("127.0.0.1", s.port(), Options::default()) {
        Err(opend::ConnectError::Init { err_code, desc }) => {
            assert_eq!(err_code, 429496729605);
            assert_eq!(desc, "no login");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unanswered_init_connect_times_out() {
    let s = sim(Config {
        faults: Faults {
            withhold: vec![1001],
            ..Faults::default()
        },
        ..no_limit()
    });
    let opts = Options {
        init_timeout: Duration::from_millis(300),
        ..Options::default()
    };
    match Qot::connect("127.0.0.1", s.port(), opts) {
        Err(opend::ConnectError::Init { err_code, .. }) => assert_eq!(err_code, 429496729601),
        other => panic!("{other:?}"),
    }
}

#[test]
fn connect_failures_carry_the_official_high_part() {
    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    match Qot::connect("127.0.0.1", port, Options::default()) {
        Err(opend::ConnectError::Init { err_code, desc }) => {
            assert_eq!(errcode::high(err_code), 6);
            assert_eq!(errcode::low(err_code), libc::ECONNREFUSED);
            assert!(desc.contains("refused"), "{desc}");
        }
        other => panic!("{other:?}"),
    }
    match Qot::connect("no-such-host.invalid", 11111, Options::default()) {
        Err(opend::ConnectError::Init { err_code, .. }) => assert_eq!(errcode::high(err_code), 4),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Qot::connect("127.0.0.1", 0, Options::default()),
        Err(opend::ConnectError::InvalidArgument(_))
    ));
}

#[test]
fn blocking_calls_inside_callbacks_fail_at_once_and_close_there_is_safe() {
    let s = sim(no_limit());
    let qot = Arc::new(Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let q2 = qot.clone();
    qot.request(GetUserSecurityGroup::new(GroupType::All), None, move |_| {
        let inner = q2.request_blocking(GetUserSecurityGroup::new(GroupType::All), None);
        q2.close(); // must not deadlock on its own thread
        tx.send(inner).unwrap();
    })
    .unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Err(QotError::InCallback)
    );
    assert!(qot.connection().wait_closed(Duration::from_secs(5)));
}

#[test]
fn pushes_are_recognised_by_proto_id() {
    struct P(Arc<AtomicUsize>);
    impl Events for P {
        fn on_push(&mut self, _c: &Connection, proto_id: u32, _s: u32, body: &[u8]) {
            use prost::Message;
            assert_eq!(proto_id, 1003);
            let rsp = opend::pb::notify::Response::decode(body).unwrap();
            assert_eq!(rsp.s2c.unwrap().r#type, 3);
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let n = Arc::new(AtomicUsize::new(0));
    let s = sim(no_limit());
    let qot = Qot::connect_with("127.0.0.1", s.port(), Options::default(), P(n.clone())).unwrap();
    s.push_notify(opend::pb::notify::S2c {
        r#type: 3,
        event: None,
        connect_status: Some(opend::pb::notify::ConnectStatus {
            qot_logined: true,
            trd_logined: false,
        }),
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while n.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(n.load(Ordering::SeqCst), 1);
    // A push never completes a request.
    assert_eq!(
        qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
            .unwrap()
            .ret_type,
        0
    );
}

#[test]
fn raw_send_proto_reaches_opend_and_gets_its_reply() {
    let s = sim(no_limit());
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let body = GetUserSecurityGroup::new(GroupType::System).into_body();
    qot.send_proto(3222, body, None, move |r| tx.send(r).unwrap())
        .unwrap();
    let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(r.kind, ReplyKind::Server);
    let g = opend::GroupsReply::from_reply(r);
    assert_eq!(g.groups.len(), 10);
    assert!(matches!(
        qot.send_proto(1001, vec![], None, |_| {}),
        Err(opend::SendError::InvalidArgument(_))
    ));
}

#[test]
fn a_silent_opend_is_detected_by_the_watchdog() {
    let reason = Arc::new(Mutex::new((0i64, String::new())));
    struct R(Arc<Mutex<(i64, String)>>);
    impl Events for R {
        fn on_disconnect(&mut self, _c: &Connection, code: i64, reason: &str) {
            *self.0.lock().unwrap() = (code, reason.to_owned());
        }
    }
    // KeepAlive every 0.8 s goes unanswered; the watchdog is 1.5 s.
    let s = sim(Config {
        keep_alive_interval: 1,
        faults: Faults {
            withhold: vec![1004],
            ..Faults::default()
        },
        ..no_limit()
    });
    let opts = Options {
        silence_timeout: Some(Duration::from_millis(1500)),
        ..Options::default()
    };
    let started = Instant::now();
    let qot = Qot::connect_with("127.0.0.1", s.port(), opts, R(reason.clone())).unwrap();
    assert!(qot.connection().wait_closed(Duration::from_secs(10)));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    let (code, why) = reason.lock().unwrap().clone();
    assert_eq!(errcode::high(code), 11);
    assert_eq!(errcode::low(code), libc::ETIMEDOUT);
    assert!(why.contains("KeepAlive unanswered"), "{why}");
    assert!(s.received().iter().any(|r| r.proto_id == 1004));
}

#[test]
fn requests_sent_from_callbacks_go_out_at_once() {
    // Each reply's callback sends the next request: 300 round trips must take well under
    // one KeepAlive period (a lost wake-up once held them until the next timer).
    let s = sim(no_limit());
    let opts = Options {
        rate_limit_mode: opend::RateLimitMode::Off,
        ..Options::default()
    };
    let qot = Arc::new(Qot::connect("127.0.0.1", s.port(), opts).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    fn chain(qot: Arc<Qot>, left: u32, tx: std::sync::mpsc::Sender<()>) {
        let q2 = qot.clone();
        qot.request(GetUserSecurityGroup::new(GroupType::All), None, move |r| {
            assert_eq!(r.ret_type, 0);
            if left == 0 {
                tx.send(()).unwrap();
            } else {
                chain(q2, left - 1, tx);
            }
        })
        .unwrap();
    }
    let started = Instant::now();
    chain(qot.clone(), 300, tx);
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the chain finished");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(qot); // the last callback's clone is gone with the chain
}

#[test]
fn a_blocking_connect_returns_after_on_init_connect_has_run() {
    // The waiter wakes up to everything the callback did (bindings read what their init
    // callback stored right after the library's wait).
    struct Slow(Arc<AtomicUsize>);
    impl Events for Slow {
        fn on_init_connect(&mut self, _c: &Connection, err_code: i64, _desc: &str) {
            std::thread::sleep(Duration::from_millis(100));
            self.0
                .store(if err_code == 0 { 1 } else { 2 }, Ordering::SeqCst);
        }
    }
    let s = sim(no_limit());
    let seen = Arc::new(AtomicUsize::new(0));
    let qot = Qot::connect_with(
        "127.0.0.1",
        s.port(),
        Options::default(),
        Slow(seen.clone()),
    )
    .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(
        qot.connection()
            .wait_init(Duration::from_secs(1))
            .map(|(c, _)| c),
        Some(0)
    );
}

/// The typed reply keeps retMsg / errCode as OpenD sent them: OpenD (and opend-sim) send
/// "" and 0 with a success; a reply without them (`omit_ret_fields`) reads `None`, and a
/// refusal keeps its retMsg.
#[test]
fn groups_reply_keeps_ret_msg_and_err_code_as_sent() {
    for omit in [false, true] {
        let s = sim(Config {
            faults: Faults {
                omit_ret_fields: omit,
                ..Faults::default()
            },
            ..no_limit()
        });
        let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
        let r = qot
            .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
            .unwrap();
        assert_eq!(r.ret_type, 0);
        assert!(r.has_s2c);
        assert_eq!(r.groups.len(), 12);
        let want = if omit {
            (None, None)
        } else {
            (Some(""), Some(0))
        };
        assert_eq!((r.ret_msg.as_deref(), r.err_code), want, "omit {omit}");
        assert_eq!(r.message(), "");
        // The raw bytes carry exactly those fields.
        use prost::Message;
        let view = opend::pb::qot_get_user_security_group::Response::decode(&r.pb[..]).unwrap();
        assert_eq!((view.ret_msg.as_deref(), view.err_code), want);
        drop(qot);
        s.stop();
    }
}
