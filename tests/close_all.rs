//! `opend::close_all`, the library's exit policy, in a test binary of its own: it closes
//! every connection of the process, so it must not share one with other tests.

use opend::{GetUserSecurityGroup, GroupType, GroupsReply, Options, Qot, State};
use opend_sim::{Config, Faults, Sim};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn close_all_closes_every_open_connection_with_one_outcome_per_request() {
    let s = Sim::start(Config {
        rate_limit: None,
        faults: Faults {
            delay: Some(Duration::from_secs(30)),
            delay_protos: vec![3222],
            ..Faults::default()
        },
        ..Config::default()
    })
    .expect("simulator starts");
    let (tx, rx) = mpsc::channel::<GroupsReply>();
    let qots: Vec<Qot> = (0..3)
        .map(|_| Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap())
        .collect();
    for q in &qots {
        for _ in 0..2 {
            let tx = tx.clone();
            q.request(GetUserSecurityGroup::new(GroupType::All), None, move |r| {
                tx.send(r).unwrap()
            })
            .unwrap();
        }
    }
    let t = Instant::now();
    opend::close_all();
    // It returns once every connection has finished: each withheld request has had its
    // one -200 outcome by then, long before the 30 s the simulator holds the replies.
    assert!(t.elapsed() < Duration::from_secs(5));
    for q in &qots {
        assert_eq!(q.connection().state(), State::Closed);
    }
    let outcomes: Vec<GroupsReply> = rx.try_iter().collect();
    assert_eq!(outcomes.len(), 6);
    assert!(outcomes.iter().all(|r| r.ret_type == -200), "{outcomes:?}");
    // A connection started afterwards is not affected, and close_all is idempotent.
    opend::close_all();
    s.set_faults(Faults::default());
    let later = Qot::connect("127.0.0.1", s.port(), Options::default()).unwrap();
    assert!(
        !later
            .get_user_security_group(GroupType::All)
            .unwrap()
            .is_empty()
    );
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "no second outcome"
    );
}
