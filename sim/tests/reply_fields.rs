//! retMsg and errCode in every reply and push the simulator builds, on both doors: OpenD
//! sends retMsg "" and errCode 0 with a success (docs/PROTOCOL.md §5), so a protobuf client
//! prints the same message from opend-sim as from OpenD; `Faults::omit_ret_fields` leaves
//! them out, for testing clients against replies without them.

mod common;

use common::Client;
use opend_proto::pb;
use opend_proto::wire::ws;
use opend_sim::{Config, Faults, Sim};
use prost::Message;
use std::net::TcpStream;
use std::time::Duration;

/// (retMsg, errCode) of a successful reply, as sent or left out.
fn success(omit: bool) -> (Option<String>, Option<i32>) {
    if omit {
        (None, None)
    } else {
        (Some(String::new()), Some(0))
    }
}

fn start(omit: bool) -> Sim {
    Sim::start(Config {
        ws_port: Some(0),
        rate_limit: None,
        notify_on: vec![1004],
        faults: Faults {
            omit_ret_fields: omit,
            ..Faults::default()
        },
        ..Config::default()
    })
    .unwrap()
}

/// The first fields of a successful 3222 reply's bytes: retType 0, then (unless omitted)
/// retMsg "" and errCode 0, then s2c — the order protobuf printers follow.
fn assert_groups_prefix(body: &[u8], omit: bool) {
    let want: &[u8] = if omit {
        &[0x08, 0x00, 0x22]
    } else {
        &[0x08, 0x00, 0x12, 0x00, 0x18, 0x00, 0x22]
    };
    assert_eq!(&body[..want.len()], want, "{body:02x?}");
}

fn tcp_door(omit: bool) {
    let sim = start(omit);
    let ok = success(omit);
    let mut c = Client::connect(sim.addr());
    let (init, _) = c.init();
    assert_eq!(
        (init.ret_type, init.ret_msg, init.err_code),
        (0, ok.0.clone(), ok.1)
    );
    assert!(init.s2c.is_some());

    for t in [1, 2, 3] {
        let serial = c.send(3222, &Client::groups_request(t));
        let (h, body) = c.recv().unwrap();
        assert_eq!((h.proto_id, h.serial), (3222, serial));
        assert_groups_prefix(&body, omit);
        let rsp = pb::qot_get_user_security_group::Response::decode(&body[..]).unwrap();
        assert_eq!(
            (rsp.ret_type, rsp.ret_msg, rsp.err_code),
            (0, ok.0.clone(), ok.1)
        );
    }

    // KeepAlive, then the Notify that --notify-on 1004 pushes after it.
    let ka = c.keep_alive();
    assert_eq!(
        (ka.ret_type, ka.ret_msg, ka.err_code),
        (0, ok.0.clone(), ok.1)
    );
    let (h, body) = c.recv().unwrap();
    assert_eq!(h.proto_id, 1003);
    let n = pb::notify::Response::decode(&body[..]).unwrap();
    assert_eq!((n.ret_type, n.ret_msg, n.err_code), (0, ok.0.clone(), ok.1));
    // Sim::push_notify.
    sim.push_notify(pb::notify::S2c {
        r#type: 3,
        ..Default::default()
    });
    let (h, body) = c.recv().unwrap();
    assert_eq!(h.proto_id, 1003);
    let n = pb::notify::Response::decode(&body[..]).unwrap();
    assert_eq!((n.ret_type, n.ret_msg, n.err_code), (0, ok.0.clone(), ok.1));

    // Refusals: retMsg says why; errCode 0 unless omitted.
    let bad = c.groups(99);
    assert_eq!(bad.ret_type, -1);
    assert!(bad.ret_msg.unwrap().contains("groupType"));
    assert_eq!(bad.err_code, ok.1);
    assert!(bad.s2c.is_none());
    c.send(3213, b"");
    let (_, body) = c.recv().unwrap();
    let bad = pb::keep_alive::Response::decode(&body[..]).unwrap();
    assert_eq!((bad.ret_type, bad.err_code), (-1, ok.1));
    assert!(bad.ret_msg.unwrap().contains("unsupported proto"));

    sim.set_faults(Faults {
        reject_init: Some("no entry".into()),
        omit_ret_fields: omit,
        ..Faults::default()
    });
    let (refused, _) = Client::connect(sim.addr()).init();
    assert_eq!(
        (
            refused.ret_type,
            refused.ret_msg.as_deref(),
            refused.err_code
        ),
        (-1, Some("no entry"), ok.1)
    );
}

/// A minimal client of the WebSocket door: one binary message per packet.
struct WsClient {
    ws: tungstenite::WebSocket<TcpStream>,
    section: u64,
}

impl WsClient {
    fn connect(sim: &Sim) -> WsClient {
        let port = sim.ws_port().unwrap();
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (ws, _) = tungstenite::client(format!("ws://127.0.0.1:{port}/"), s).unwrap();
        WsClient { ws, section: 0 }
    }

    fn send(&mut self, cmd: u32, body: &[u8]) -> u64 {
        self.section += 1;
        let mut out = Vec::new();
        ws::encode_request(&mut out, cmd, self.section, body);
        self.ws.send(tungstenite::Message::binary(out)).unwrap();
        self.section
    }

    /// The next packet: its header and body.
    fn recv(&mut self) -> (ws::ReplyHeader, Vec<u8>) {
        loop {
            match self.ws.read().unwrap() {
                tungstenite::Message::Binary(b) => {
                    let (h, body) = ws::decode_reply(&b).unwrap();
                    return (h, body.to_vec());
                }
                _ => continue,
            }
        }
    }

    fn login(&mut self) -> pb::init_web_socket::Response {
        let req = pb::init_web_socket::Request {
            c2s: Some(pb::init_web_socket::C2s {
                websocket_key: Some(String::new()),
                programming_language: Some("Rust".into()),
                ..Default::default()
            }),
        };
        let section = self.send(ws::cmd::INIT, &req.encode_to_vec());
        let (h, body) = self.recv();
        assert_eq!((h.cmd, h.section), (ws::cmd::INIT, section));
        pb::init_web_socket::Response::decode(&body[..]).unwrap()
    }
}

fn ws_door(omit: bool) {
    let sim = start(omit);
    let ok = success(omit);
    let mut c = WsClient::connect(&sim);
    let login = c.login();
    assert_eq!(
        (login.ret_type, login.ret_msg, login.err_code),
        (0, ok.0.clone(), ok.1)
    );

    let section = c.send(3222, &Client::groups_request(3));
    let (h, body) = c.recv();
    assert_eq!((h.cmd, h.section, h.error), (3222, section, 0));
    assert_groups_prefix(&body, omit);
    let rsp = pb::qot_get_user_security_group::Response::decode(&body[..]).unwrap();
    assert_eq!(
        (rsp.ret_type, rsp.ret_msg, rsp.err_code),
        (0, ok.0.clone(), ok.1)
    );
    assert_eq!(rsp.s2c.unwrap().group_list.len(), 12);

    // KeepAlive, then the Notify that --notify-on 1004 pushes after it.
    let ka = pb::keep_alive::Request {
        c2s: pb::keep_alive::C2s { time: 1 },
    };
    c.send(1004, &ka.encode_to_vec());
    let (h, body) = c.recv();
    assert_eq!(h.cmd, 1004);
    let ka = pb::keep_alive::Response::decode(&body[..]).unwrap();
    assert_eq!(
        (ka.ret_type, ka.ret_msg, ka.err_code),
        (0, ok.0.clone(), ok.1)
    );
    let (h, body) = c.recv();
    assert_eq!((h.cmd, h.section), (1003, 0));
    let n = pb::notify::Response::decode(&body[..]).unwrap();
    assert_eq!((n.ret_type, n.ret_msg, n.err_code), (0, ok.0.clone(), ok.1));

    let section = c.send(3222, &Client::groups_request(0));
    let (h, body) = c.recv();
    assert_eq!(h.section, section);
    let bad = pb::qot_get_user_security_group::Response::decode(&body[..]).unwrap();
    assert_eq!((bad.ret_type, bad.err_code), (-1, ok.1));
    assert!(bad.ret_msg.unwrap().contains("groupType"));

    // A refused login.
    sim.set_faults(Faults {
        reject_init: Some("no entry".into()),
        omit_ret_fields: omit,
        ..Faults::default()
    });
    let refused = WsClient::connect(&sim).login();
    assert_eq!(
        (
            refused.ret_type,
            refused.ret_msg.as_deref(),
            refused.err_code
        ),
        (-1, Some("no entry"), ok.1)
    );
}

#[test]
fn tcp_door_replies_and_pushes_carry_ret_msg_and_err_code() {
    tcp_door(false);
}

#[test]
fn tcp_door_omit_ret_fields_leaves_them_out() {
    tcp_door(true);
}

#[test]
fn websocket_door_replies_and_pushes_carry_ret_msg_and_err_code() {
    ws_door(false);
}

#[test]
fn websocket_door_omit_ret_fields_leaves_them_out() {
    ws_door(true);
}

/// The switch applies to running connections, cached 3222 replies included.
#[test]
fn omit_ret_fields_switches_on_a_running_connection() {
    let sim = start(false);
    let mut c = Client::connect(sim.addr());
    c.init();
    assert_eq!(c.groups(3).err_code, Some(0));
    sim.set_faults(Faults {
        omit_ret_fields: true,
        ..Faults::default()
    });
    let r = c.groups(3);
    assert_eq!((r.ret_msg, r.err_code), (None, None));
    sim.set_faults(Faults::default());
    let r = c.groups(3);
    assert_eq!((r.ret_msg.as_deref(), r.err_code), (Some(""), Some(0)));
}
