//! Beyond the official SDKs: the client-side rate limiter, auto-reconnect, connection
//! state and logging, against opend-sim.

use opend::{
    Backoff, Connection, Events, GetUserSecurityGroup, GroupType, Options, Qot, Quota,
    RateLimitMode, Request, State,
};
use opend_sim::{Config, Faults, Sim};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn open_sim(port: u16) -> Sim {
    Sim::start(Config {
        port,
        rate_limit: None,
        ..Config::default()
    })
    .expect("simulator starts")
}

fn limited(mode: RateLimitMode) -> Options {
    Options {
        rate_limit_mode: mode,
        rate_limits: [(
            3222,
            Quota {
                max: 10,
                window: Duration::from_millis(1500),
            },
        )]
        .into(),
        ..Options::default()
    }
}

fn sent_3222(s: &Sim) -> usize {
    s.received().iter().filter(|r| r.proto_id == 3222).count()
}

#[test]
fn the_default_quota_is_opends_and_the_mode_follows_the_environment() {
    let o = Options::default();
    assert_eq!(
        o.rate_limits.get(&3222),
        Some(&Quota {
            max: 10,
            window: Duration::from_secs(30)
        })
    );
    assert_eq!(RateLimitMode::parse(None), RateLimitMode::FailFast);
    assert_eq!(RateLimitMode::parse(Some("off")), RateLimitMode::Off);
    assert_eq!(RateLimitMode::parse(Some("wait")), RateLimitMode::Wait);
}

#[test]
fn fail_fast_refuses_the_eleventh_request_at_once_and_sends_nothing() {
    let s = open_sim(0);
    let qot = Qot::connect("127.0.0.1", s.port(), limited(RateLimitMode::FailFast)).unwrap();
    for _ in 0..10 {
        assert_eq!(
            qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
                .unwrap()
                .ret_type,
            0
        );
    }
    let started = Instant::now();
    let r = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    assert_eq!(r.ret_type, -300);
    assert!(
        r.message().contains("rate limited locally") && r.message().contains("next slot frees in"),
        "{}",
        r.message()
    );
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "refused at once, not after the window"
    );
    assert_eq!(sent_3222(&s), 10, "the refused request was not sent");
    // The window slides: after it, requests go again.
    std::thread::sleep(Duration::from_millis(1600));
    assert_eq!(
        qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
            .unwrap()
            .ret_type,
        0
    );
}

#[test]
fn wait_mode_holds_the_eleventh_until_a_slot_frees() {
    let s = open_sim(0);
    let qot = Qot::connect("127.0.0.1", s.port(), limited(RateLimitMode::Wait)).unwrap();
    let first = Instant::now();
    for _ in 0..10 {
        assert_eq!(
            qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
                .unwrap()
                .ret_type,
            0
        );
    }
    let r = qot
        .request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    assert_eq!(r.ret_type, 0);
    let waited = first.elapsed();
    assert!(
        waited >= Duration::from_millis(1450),
        "sent after {waited:?}"
    );
    assert_eq!(sent_3222(&s), 11);
    // A held request whose timeout comes first times out (-100) and is never sent.
    for _ in 0..9 {
        qot.request(GetUserSecurityGroup::new(GroupType::All), None, |_| {})
            .unwrap();
    }
    let r = qot
        .request_blocking(
            GetUserSecurityGroup::new(GroupType::All),
            Some(Duration::from_millis(200)),
        )
        .unwrap();
    assert_eq!(r.ret_type, -100);
    assert!(r.message().contains("rate-limit"), "{}", r.message());
}

#[test]
fn off_mode_sends_everything() {
    let s = open_sim(0);
    let qot = Qot::connect("127.0.0.1", s.port(), limited(RateLimitMode::Off)).unwrap();
    for _ in 0..11 {
        assert_eq!(
            qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
                .unwrap()
                .ret_type,
            0
        );
    }
    assert_eq!(sent_3222(&s), 11);
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Events for Recorder {
    fn on_init_connect(&mut self, c: &Connection, code: i64, _desc: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("init {code} {}", c.conn_id()));
    }
    fn on_disconnect(&mut self, _c: &Connection, code: i64, _reason: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("disconnect {}", opend::errcode::high(code)));
    }
    fn on_state_change(&mut self, _c: &Connection, state: State, _reason: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("state {}", state.name()));
    }
}

fn wait_for(cond: impl Fn() -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

#[test]
fn auto_reconnect_survives_a_simulator_restart() {
    let s = open_sim(0);
    let port = s.port();
    let rec = Recorder::default();
    let opts = Options {
        auto_reconnect: Some(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        }),
        ..Options::default()
    };
    let qot = Qot::connect_with("127.0.0.1", port, opts, rec.clone()).unwrap();
    let first_id = qot.connection().conn_id();
    // A request pending at the drop gets -200 and is not resent.
    s.set_faults(Faults {
        withhold: vec![3222],
        ..Faults::default()
    });
    let (tx, rx) = std::sync::mpsc::channel();
    qot.request(GetUserSecurityGroup::new(GroupType::All), None, move |r| {
        tx.send(r.ret_type).unwrap()
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.stop();
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), -200);
    assert!(wait_for(
        || qot.connection().state() == State::Reconnecting,
        Duration::from_secs(5)
    ));
    assert!(matches!(
        qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None),
        Err(opend::QotError::Send(opend::SendError::Reconnecting))
    ));
    std::thread::sleep(Duration::from_millis(600)); // a few failed attempts
    let s2 = open_sim(port);
    assert!(wait_for(
        || qot.connection().state() == State::Ready,
        Duration::from_secs(10)
    ));
    let second_id = qot.connection().conn_id();
    assert_ne!(second_id, first_id);
    assert_eq!(
        qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
            .unwrap()
            .ret_type,
        0
    );
    assert_eq!(
        s2.received().iter().filter(|r| r.proto_id == 3222).count(),
        1,
        "nothing resent"
    );
    qot.close();
    let log = rec.0.lock().unwrap().clone();
    let expected_prefix = [
        "state connecting".to_owned(),
        "state initializing".to_owned(),
        "state ready".to_owned(),
        format!("init 0 {first_id}"),
        "disconnect 11".to_owned(),
        "state reconnecting".to_owned(),
        "state ready".to_owned(),
        format!("init 0 {second_id}"),
        "state closing".to_owned(),
        "disconnect 0".to_owned(),
        "state closed".to_owned(),
    ];
    assert_eq!(log, expected_prefix, "{log:#?}");
}

#[test]
fn queued_requests_wait_for_the_reconnect() {
    let s = open_sim(0);
    let port = s.port();
    let opts = Options {
        auto_reconnect: Some(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(200),
        }),
        queue_while_reconnecting: true,
        ..Options::default()
    };
    let qot = Qot::connect("127.0.0.1", port, opts).unwrap();
    s.stop();
    assert!(wait_for(
        || qot.connection().state() == State::Reconnecting,
        Duration::from_secs(5)
    ));
    let (tx, rx) = std::sync::mpsc::channel();
    qot.request(
        GetUserSecurityGroup::new(GroupType::All),
        Some(Duration::from_secs(10)),
        move |r| tx.send(r.ret_type).unwrap(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _s2 = open_sim(port);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 0);
}

#[test]
fn without_auto_reconnect_a_drop_is_final() {
    let s = open_sim(0);
    let rec = Recorder::default();
    let qot = Qot::connect_with("127.0.0.1", s.port(), Options::default(), rec.clone()).unwrap();
    s.stop();
    assert!(qot.connection().wait_closed(Duration::from_secs(5)));
    assert_eq!(qot.connection().state(), State::Closed);
    let log = rec.0.lock().unwrap().clone();
    assert_eq!(log.last().map(String::as_str), Some("state closed"));
    assert!(!log.iter().any(|l| l == "state reconnecting"));
}

#[test]
fn the_log_callback_gets_packet_lines_and_never_a_key() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l2 = lines.clone();
    opend::log::set_logger(
        Some(Arc::new(move |level, target, msg| {
            l2.lock()
                .unwrap()
                .push(format!("{} {target} {msg}", level.name()))
        })),
        Some(opend::log::Level::Debug),
    );
    let s = open_sim(0);
    let qot = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    qot.request_blocking(GetUserSecurityGroup::new(GroupType::All), None)
        .unwrap();
    let info = qot.connection().session_info();
    drop(qot);
    opend::log::set_logger(None, None);
    let lines = lines.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("debug ftapi::conn send proto=3222 serial=2 len=")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(
        |l| l.starts_with("debug ftapi::conn recv proto=3222 serial=2")
            && l.contains("latency_us=")
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("serverVer={}", info.server_ver)))
    );
    assert_eq!(info.server_ver, 903);
    // The simulator's AES key for this connection is 16 hex characters; no line may hold
    // anything like it.
    for l in &lines {
        assert!(
            !l.to_lowercase().contains("aeskey") && !l.contains("BEGIN"),
            "{l}"
        );
    }
}

#[test]
fn closing_from_the_very_first_state_callback_does_not_join_itself() {
    // on_state_change(Connecting) is the I/O thread's first act; closing there must be
    // recognised as a close from inside a callback.
    struct CloseAtOnce(Arc<Mutex<Vec<String>>>);
    impl Events for CloseAtOnce {
        fn on_state_change(&mut self, c: &Connection, state: State, _reason: &str) {
            if state == State::Closed {
                // wait_closed must not return while the last callback is still running.
                std::thread::sleep(Duration::from_millis(150));
            }
            self.0.lock().unwrap().push(state.name().to_owned());
            if state == State::Connecting {
                c.close();
            }
        }
    }
    let s = open_sim(0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let conn = Connection::start(
        "127.0.0.1",
        s.port(),
        Options::default(),
        CloseAtOnce(log.clone()),
    )
    .unwrap();
    // Polling the state is as good as waiting: Closed is only seen once the last
    // callback (which sleeps here) has returned.
    let t0 = Instant::now();
    while conn.state() != State::Closed && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(*log.lock().unwrap(), ["connecting", "closing", "closed"]);
    assert!(conn.wait_closed(Duration::from_secs(5)));
    assert_eq!(*log.lock().unwrap(), ["connecting", "closing", "closed"]);
}

#[test]
fn a_borrowed_body_too_large_for_the_send_buffer_is_refused_before_it_is_copied() {
    let s = open_sim(0);
    let o = Options {
        max_queued_bytes: 1000,
        ..Options::default()
    };
    let qot = Qot::connect("127.0.0.1", s.port(), o).unwrap();
    let huge = vec![0u8; 1001];
    match qot.send_proto_slice(3222, &huge, None, |_| panic!("refused: no outcome")) {
        Err(opend::SendError::Backpressure { limit, .. }) => assert_eq!(limit, 1000),
        other => panic!("expected Backpressure, got {other:?}"),
    }
    // One that fits is copied and sent; its outcome arrives once.
    let body = GetUserSecurityGroup::new(GroupType::All).into_body();
    let (tx, rx) = std::sync::mpsc::channel();
    let serial = qot
        .send_proto_slice(3222, &body, None, move |r| tx.send(r).unwrap())
        .unwrap();
    let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((r.serial, r.kind), (serial, opend::ReplyKind::Server));
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
    assert_eq!(sent_3222(&s), 1);
}
