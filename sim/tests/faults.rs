//! Every fault switch, checked with a raw client.

mod common;

use common::{Client, HDR};
use opend_proto::pb;
use opend_proto::wire::{Header, sha1};
use opend_sim::{Config, Faults, Sim};
use prost::Message;
use std::io::{self, Read};
use std::time::{Duration, Instant};

/// A simulator with these faults and a client that has done InitConnect (unless the
/// faults concern InitConnect itself; use `start` for those).
fn ready(faults: Faults) -> (Sim, Client) {
    let sim = start(faults);
    let mut c = Client::connect(sim.addr());
    assert_eq!(c.init().0.ret_type, 0);
    (sim, c)
}

fn start(faults: Faults) -> Sim {
    Sim::start(Config {
        faults,
        rate_limit: None,
        ..Config::default()
    })
    .unwrap()
}

fn raw_header(bytes: &[u8]) -> [u8; HDR] {
    bytes[..HDR].try_into().unwrap()
}

#[test]
fn withhold_leaves_requests_unanswered() {
    let (_sim, mut c) = ready(Faults {
        withhold: vec![3222],
        ..Default::default()
    });
    c.send(3222, &Client::groups_request(3));
    c.assert_silent(Duration::from_millis(300));
    // Other protos are still answered.
    assert_eq!(c.keep_alive().ret_type, 0);
}

#[test]
fn withheld_init_connect_and_keep_alive() {
    let sim = start(Faults {
        withhold: vec![1001, 1004],
        ..Default::default()
    });
    let mut c = Client::connect(sim.addr());
    c.send(1001, &Client::init_request(true, -1));
    c.assert_silent(Duration::from_millis(300));
    c.send(1004, &[0x0a, 0x02, 0x08, 0x01]);
    c.assert_silent(Duration::from_millis(200));
    // The connection was set up all the same.
    assert_eq!(c.groups(3).ret_type, 0);
}

#[test]
fn close_after_closes_instead_of_answering() {
    let (sim, mut c) = ready(Faults {
        close_after: Some(3222),
        ..Default::default()
    });
    c.send(3222, &Client::groups_request(3));
    c.assert_closed();
    assert_eq!(sim.received().last().unwrap().proto_id, 3222);
}

#[test]
fn after_n_lets_the_first_requests_through() {
    let (_sim, mut c) = ready(Faults {
        close_after: Some(3222),
        after_n: 2,
        ..Default::default()
    });
    assert_eq!(c.groups(3).ret_type, 0);
    assert_eq!(c.groups(3).ret_type, 0);
    c.send(3222, &Client::groups_request(3));
    c.assert_closed();
}

#[test]
fn delay_applies_to_the_chosen_protos_only() {
    let (sim, mut c) = ready(Faults {
        delay: Some(Duration::from_millis(300)),
        ..Default::default()
    });
    let t = Instant::now();
    assert_eq!(c.keep_alive().ret_type, 0);
    assert!(
        t.elapsed() < Duration::from_millis(250),
        "KeepAlive not delayed by default"
    );
    let t = Instant::now();
    assert_eq!(c.groups(3).ret_type, 0);
    assert!(t.elapsed() >= Duration::from_millis(300));

    sim.set_faults(Faults {
        delay: Some(Duration::from_millis(300)),
        delay_protos: vec![1004],
        ..Default::default()
    });
    let t = Instant::now();
    assert_eq!(c.keep_alive().ret_type, 0);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(c.groups(3).ret_type, 0);
    assert!(t.elapsed() < Duration::from_millis(250));
}

#[test]
fn corrupt_sha1_flips_the_header_digest() {
    let (_sim, mut c) = ready(Faults {
        corrupt_sha1: Some(3222),
        ..Default::default()
    });
    c.send(3222, &Client::groups_request(3));
    let (h, body) = c.recv_wire().unwrap();
    assert_ne!(h.sha1, sha1(&body));
    // The body itself is intact.
    let rsp = pb::qot_get_user_security_group::Response::decode(&body[..]).unwrap();
    assert_eq!(rsp.ret_type, 0);
}

#[test]
fn corrupt_body_flips_the_last_byte_of_the_body_as_sent() {
    let (_sim, mut c) = ready(Faults {
        corrupt_body: Some(3222),
        ..Default::default()
    });
    c.send(3222, &Client::groups_request(3));
    let (h, body) = c.recv_wire().unwrap();
    // The header still carries the SHA-1 of the intact body.
    assert_ne!(h.sha1, sha1(&body));
    let mut fixed = body.clone();
    *fixed.last_mut().unwrap() ^= 0x5a;
    assert_eq!(h.sha1, sha1(&fixed));
}

#[test]
fn reject_init_answers_minus_one_with_the_message() {
    let sim = start(Faults {
        reject_init: Some("no entry".into()),
        ..Default::default()
    });
    let mut c = Client::connect(sim.addr());
    let rsp = c.init().0;
    assert_eq!(rsp.ret_type, -1);
    assert_eq!(rsp.ret_msg.as_deref(), Some("no entry"));
    assert!(rsp.s2c.is_none());
}

#[test]
fn byte_at_a_time_still_delivers_a_valid_reply() {
    let (_sim, mut c) = ready(Faults {
        byte_at_a_time: true,
        ..Default::default()
    });
    let t = Instant::now();
    let rsp = c.groups(1);
    assert_eq!(rsp.ret_type, 0);
    let len = HDR + rsp.encoded_len();
    // One write per byte, each followed by a pause of at least 1 ms.
    assert!(
        t.elapsed() >= Duration::from_millis(len as u64),
        "{len} bytes in {:?}",
        t.elapsed()
    );
}

#[test]
fn close_mid_header_and_mid_body() {
    let (_sim, mut c) = ready(Faults {
        close_mid_header: Some(1004),
        ..Default::default()
    });
    c.send(1004, &[0x0a, 0x02, 0x08, 0x01]);
    let got = c.read_to_eof().unwrap();
    assert!(!got.is_empty() && got.len() < HDR, "{} bytes", got.len());
    assert_eq!(&got[..2], b"FT");

    let (_sim, mut c) = ready(Faults {
        close_mid_body: Some(3222),
        ..Default::default()
    });
    c.send(3222, &Client::groups_request(3));
    let got = c.read_to_eof().unwrap();
    assert!(got.len() > HDR);
    let h = Header::decode(&raw_header(&got)).unwrap();
    assert!(got.len() < HDR + h.body_len as usize);
}

#[test]
fn bad_magic_and_huge_body_len() {
    let (_sim, mut c) = ready(Faults {
        bad_magic: Some(1004),
        ..Default::default()
    });
    c.send(1004, &[0x0a, 0x02, 0x08, 0x01]);
    let mut head = [0u8; HDR];
    c.s.read_exact(&mut head).unwrap();
    assert_eq!(&head[..2], b"XT");

    let (_sim, mut c) = ready(Faults {
        huge_body_len: Some(1004),
        ..Default::default()
    });
    c.send(1004, &[0x0a, 0x02, 0x08, 0x01]);
    c.s.read_exact(&mut head).unwrap();
    assert_eq!(&head[..2], b"FT");
    assert_eq!(&head[12..16], &[0xff; 4]);
}

#[test]
fn reset_sends_rst() {
    let (_sim, mut c) = ready(Faults {
        reset: Some(3222),
        ..Default::default()
    });
    c.send(3222, &Client::groups_request(3));
    let err = c.read_to_eof().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

#[test]
fn garbage_after_the_reply() {
    let (_sim, mut c) = ready(Faults {
        garbage_after: Some(1004),
        ..Default::default()
    });
    let serial = c.send(1004, &[0x0a, 0x02, 0x08, 0x01]);
    let mut head = [0u8; HDR];
    c.s.read_exact(&mut head).unwrap();
    let h = Header::decode(&head).unwrap();
    assert_eq!(h.serial, serial);
    let mut rest = vec![0u8; h.body_len as usize + 64];
    c.s.read_exact(&mut rest).unwrap();
    let junk = &rest[h.body_len as usize..];
    assert_ne!(&junk[..2], b"FT");
    assert!(!junk.contains(&b'F'));
}

#[test]
fn wrong_proto_keeps_the_serial() {
    let (_sim, mut c) = ready(Faults {
        wrong_proto: Some(3222),
        ..Default::default()
    });
    let serial = c.send(3222, &Client::groups_request(3));
    let (h, _) = c.recv().unwrap();
    assert_eq!((h.proto_id, h.serial), (3223, serial));
}

#[test]
fn duplicate_sends_the_reply_twice() {
    let (_sim, mut c) = ready(Faults {
        duplicate: Some(3222),
        ..Default::default()
    });
    let serial = c.send(3222, &Client::groups_request(3));
    let a = c.recv().unwrap();
    let b = c.recv().unwrap();
    assert_eq!(a, b);
    assert_eq!(a.0.serial, serial);
    c.assert_silent(Duration::from_millis(100));
}

#[test]
fn stop_reading_after_init_connect() {
    let (sim, mut c) = ready(Faults {
        stop_reading: true,
        ..Default::default()
    });
    c.send(1004, &[0x0a, 0x02, 0x08, 0x01]);
    c.send(3222, &Client::groups_request(3));
    c.assert_silent(Duration::from_millis(300));
    let got: Vec<u32> = sim.received().iter().map(|r| r.proto_id).collect();
    assert_eq!(got, vec![1001]);
}

#[test]
fn set_faults_changes_running_connections() {
    let (sim, mut c) = ready(Faults::default());
    assert_eq!(c.groups(3).ret_type, 0);
    sim.set_faults(Faults {
        withhold: vec![3222],
        ..Default::default()
    });
    c.send(3222, &Client::groups_request(3));
    c.assert_silent(Duration::from_millis(200));
    sim.set_faults(Faults::default());
    assert_eq!(c.groups(3).ret_type, 0);
}
