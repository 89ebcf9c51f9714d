//! The WebSocket door's protocol (`WsProtocol`, through `opend_proto::fuzzing::WsSession`) fed
//! server messages, after a good login or without one, checked event by event against a
//! model written from docs/PROTOCOL.md §10. Shared by tests/properties.rs (proptest on
//! stable) and fuzz/fuzz_targets/ws_protocol.rs (libFuzzer), which include this file by
//! path.
//!
//! The input is a [`Script`]; its byte form (what the fuzzer mutates and what the seeds
//! in fuzz/seeds/ws_protocol hold) is [`Script::from_bytes`].

use opend::pb::init_web_socket;
use opend::pb::proto_id::is_push;
use opend_proto::fuzzing::{LostKind, WS_PING_EVERY, WsEvent, WsSession};
use opend_proto::wire::ws::{self, SIGN, cmd};
use prost::Message;
use std::collections::VecDeque;
use std::time::Duration;

/// The WebSocket key of scripts that set one. It must never appear in a message.
pub const KEY: &str = "fuzz-key-5f3a";
/// The connID of the good login reply.
pub const CONN_ID: u64 = 0x0123_4567_89ab;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// One WebSocket message from the server.
    Msg(Vec<u8>),
    /// Take every queued event and check it.
    Poll,
    /// Send a request (only once logged in and not lost, as the engine does).
    Send { proto_id: u32, body_len: u8 },
    /// Run the timer when it is due (`early`: 1 ms before).
    Tick { early: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// Feed the good login reply first.
    pub login: bool,
    pub tls: bool,
    /// Log in with [`KEY`] (else without a key).
    pub key: bool,
    /// The serial source's first value: the login's section.
    pub first_serial: u32,
    pub steps: Vec<Step>,
}

/// A successful login's reply to the login sent with `section`.
pub fn login_ok(section: u64, conn_id: u64) -> Vec<u8> {
    let rsp = init_web_socket::Response {
        ret_type: 0,
        ret_msg: None,
        err_code: None,
        s2c: Some(init_web_socket::S2c {
            server_time: Some(1_700_000_000),
            conn_id: Some(conn_id),
        }),
    };
    reply(cmd::INIT, section, 0, "", &rsp.encode_to_vec())
}

/// One reply message.
pub fn reply(cmd: u32, section: u64, error: i32, errmsg: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ws::encode_reply(&mut out, cmd, section, error, errmsg, body);
    out
}

// Byte form: flags (bit 0 login, bit 1 tls, bit 2 key), the first serial (4 bytes,
// big-endian), then steps, each a tag byte and its operands; a missing byte reads as 0.
// Tag & 3: 0 a message (bit 2 of the tag: the sign "ft-v1.0\0" goes first; then 2 bytes
// of length and that many bytes, or what is left), 1 poll, 2 send (2 bytes proto ID, 1
// byte body length), 3 tick (bit 2 of the tag: early).
const SIGN_FIRST: u8 = 4;

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.0.first().copied().unwrap_or(0);
        self.0 = self.0.get(1..).unwrap_or(&[]);
        b
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
}

impl Script {
    pub fn from_bytes(data: &[u8]) -> Script {
        let mut r = Reader(data);
        let flags = r.byte();
        let first_serial = u32::from_be_bytes([r.byte(), r.byte(), r.byte(), r.byte()]);
        let mut steps = Vec::new();
        while !r.0.is_empty() {
            let tag = r.byte();
            steps.push(match tag & 3 {
                0 => {
                    let len = u16::from_be_bytes([r.byte(), r.byte()]) as usize;
                    let mut m = Vec::new();
                    if tag & SIGN_FIRST != 0 {
                        m.extend_from_slice(&SIGN);
                    }
                    m.extend_from_slice(r.bytes(len));
                    Step::Msg(m)
                }
                1 => Step::Poll,
                2 => Step::Send {
                    proto_id: u32::from(u16::from_be_bytes([r.byte(), r.byte()])),
                    body_len: r.byte(),
                },
                _ => Step::Tick {
                    early: tag & 4 != 0,
                },
            });
        }
        Script {
            login: flags & 1 != 0,
            tls: flags & 2 != 0,
            key: flags & 4 != 0,
            first_serial,
            steps,
        }
    }

    /// The byte form; `from_bytes(to_bytes(s)) == s` for messages up to 65 535 bytes and
    /// proto IDs up to 65 535.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![self.login as u8 | (self.tls as u8) << 1 | (self.key as u8) << 2];
        v.extend_from_slice(&self.first_serial.to_be_bytes());
        for s in &self.steps {
            match s {
                Step::Msg(m) => {
                    let (tag, m) = match m.strip_prefix(&SIGN[..]) {
                        Some(rest) => (SIGN_FIRST, rest),
                        None => (0, &m[..]),
                    };
                    v.push(tag);
                    v.extend_from_slice(&u16::try_from(m.len()).unwrap().to_be_bytes());
                    v.extend_from_slice(m);
                }
                Step::Poll => v.push(1),
                Step::Send { proto_id, body_len } => {
                    v.push(2);
                    v.extend_from_slice(&u16::try_from(*proto_id).unwrap().to_be_bytes());
                    v.push(*body_len);
                }
                Step::Tick { early } => v.push(if *early { 3 | 4 } else { 3 }),
            }
        }
        v
    }
}

/// An event the model expects. Reasons are checked for what they must contain.
#[derive(Debug)]
enum Expect {
    Ready {
        conn_id: u64,
        encrypted: bool,
    },
    Reply {
        push: bool,
        proto_id: u32,
        serial: u32,
        body: Vec<u8>,
    },
    Failed {
        proto_id: u32,
        serial: u32,
        timeout: bool,
        must_say: Vec<String>,
    },
    Lost {
        kind: LostKind,
        must_say: Vec<String>,
    },
}

/// What the protocol should make of each message (docs/PROTOCOL.md §10).
struct Model {
    login_section: u64,
    tls: bool,
    ready: bool,
    lost: bool,
    queue: VecDeque<Expect>,
}

impl Model {
    fn lose(&mut self, kind: LostKind, must_say: Vec<String>) {
        self.lost = true;
        self.queue.push_back(Expect::Lost { kind, must_say });
    }

    fn input(&mut self, msg: &[u8]) {
        if self.lost {
            return;
        }
        // The codec itself is checked by tests/support/ws_codec.rs.
        let Ok((h, body)) = ws::decode_reply(msg) else {
            return self.lose(LostKind::Protocol, vec![]);
        };
        let errmsg: Vec<String> = (!h.errmsg.is_empty())
            .then(|| h.errmsg.clone())
            .into_iter()
            .collect();
        if h.cmd == cmd::OPEND_DISCONNECTED {
            return self.lose(LostKind::Ended, errmsg);
        }
        if !self.ready {
            if h.cmd == cmd::INIT && h.section == self.login_section {
                self.login(h.error, errmsg, body);
            }
            // Anything else before the login's reply is not for us.
            return;
        }
        // Sections are the serials we sent (all of them fit in 32 bits); 0 is never one.
        let serial = u32::try_from(h.section).unwrap_or(0);
        if h.error != 0 {
            let mut must_say = errmsg;
            must_say.push(format!("error {}", h.error));
            self.queue.push_back(Expect::Failed {
                proto_id: h.cmd,
                serial,
                timeout: h.error == ws::error::TIMEOUT || h.error == ws::error::OPEND_TIMEOUT,
                must_say,
            });
            return;
        }
        self.queue.push_back(Expect::Reply {
            push: is_push(h.cmd),
            proto_id: h.cmd,
            serial,
            body: body.to_vec(),
        });
    }

    /// The login's reply: done when `error` is 0 and the body is a Response with retType
    /// 0 and an s2c; a refusal (error, retType) is Rejected, a broken reply Protocol.
    fn login(&mut self, error: i32, errmsg: Vec<String>, body: &[u8]) {
        let parsed = (!body.is_empty()).then(|| init_web_socket::Response::decode(body));
        if error != 0 {
            let mut must_say = vec![format!("error {error}")];
            match &parsed {
                Some(Ok(r)) if r.ret_msg.as_deref().is_some_and(|m| !m.is_empty()) => {
                    must_say.push(r.ret_msg.clone().unwrap())
                }
                _ => must_say.extend(errmsg),
            }
            return self.lose(LostKind::Rejected, must_say);
        }
        let rsp = match parsed {
            Some(Ok(r)) => r,
            _ => return self.lose(LostKind::Protocol, vec![]),
        };
        if rsp.ret_type != 0 {
            let say = match rsp.ret_msg {
                Some(m) if !m.is_empty() => m,
                _ => format!("retType={}", rsp.ret_type),
            };
            return self.lose(LostKind::Rejected, vec![say]);
        }
        match rsp.s2c {
            None => self.lose(LostKind::Protocol, vec![]),
            Some(s2c) => {
                self.ready = true;
                self.queue.push_back(Expect::Ready {
                    conn_id: s2c.conn_id.unwrap_or(0),
                    encrypted: self.tls,
                });
            }
        }
    }
}

/// The checks every event stream must pass, whatever the model says: nothing after
/// Lost, at most one Ready, nothing for a request before it.
#[derive(Default)]
struct Invariants {
    ready: u32,
    lost: bool,
    events: usize,
    body_bytes: usize,
}

impl Invariants {
    fn see(&mut self, e: &WsEvent) {
        assert!(!self.lost, "{e:?} after Lost");
        self.events += 1;
        match e {
            WsEvent::Ready { .. } => {
                self.ready += 1;
                assert_eq!(self.ready, 1, "a second Ready");
            }
            WsEvent::Reply { body, .. } | WsEvent::Push { body, .. } => {
                assert_eq!(self.ready, 1, "{e:?} before Ready");
                self.body_bytes += body.len();
            }
            WsEvent::Failed { reason, .. } => {
                assert_eq!(self.ready, 1, "{e:?} before Ready");
                assert!(!reason.is_empty());
            }
            WsEvent::Lost { reason, .. } => {
                self.lost = true;
                assert!(!reason.is_empty());
            }
        }
    }
}

fn says_all(reason: &str, must_say: &[String]) -> bool {
    must_say.iter().all(|w| reason.contains(w.as_str()))
}

fn matches(got: &WsEvent, want: &Expect) -> bool {
    match (got, want) {
        (
            WsEvent::Ready { conn_id, encrypted },
            Expect::Ready {
                conn_id: c,
                encrypted: e,
            },
        ) => conn_id == c && encrypted == e,
        (
            WsEvent::Reply {
                proto_id,
                serial,
                body,
            },
            Expect::Reply {
                push: false,
                proto_id: p,
                serial: s,
                body: b,
            },
        )
        | (
            WsEvent::Push {
                proto_id,
                serial,
                body,
            },
            Expect::Reply {
                push: true,
                proto_id: p,
                serial: s,
                body: b,
            },
        ) => proto_id == p && serial == s && body == b,
        (
            WsEvent::Failed {
                proto_id,
                serial,
                timeout,
                reason,
            },
            Expect::Failed {
                proto_id: p,
                serial: s,
                timeout: t,
                must_say,
            },
        ) => proto_id == p && serial == s && timeout == t && says_all(reason, must_say),
        (WsEvent::Lost { kind, reason }, Expect::Lost { kind: k, must_say }) => {
            kind == k && says_all(reason, must_say)
        }
        _ => false,
    }
}

/// Runs `script`; panics on the first event, message or timer that breaks the model or
/// the invariants. Returns the events seen.
pub fn run(script: &Script) -> Vec<WsEvent> {
    let key = script.key.then_some(KEY);
    let (mut s, sent) = WsSession::start(key, script.tls, script.first_serial);
    assert_eq!(s.unframed(), 0);

    // The login: one message, cmd 1, the first serial as its section, the key's MD5.
    assert_eq!(sent.len(), 1, "the start queues exactly the login");
    let (h, body) = ws::decode_request(&sent[0]).expect("the login decodes");
    assert_eq!(
        (h.cmd, h.section),
        (cmd::INIT, u64::from(script.first_serial))
    );
    let c2s = init_web_socket::Request::decode(body)
        .expect("the login's body parses")
        .c2s
        .expect("the login has a c2s");
    let md5 = c2s.websocket_key.expect("the login says its key");
    match key {
        Some(_) => {
            assert_eq!(md5.len(), 32);
            assert!(
                md5.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
        }
        None => assert_eq!(md5, ""),
    }
    assert!(!sent[0].windows(KEY.len()).any(|w| w == KEY.as_bytes()));
    assert_eq!(s.next_timeout(), None, "no pings before the login's reply");

    let mut model = Model {
        login_section: u64::from(script.first_serial),
        tls: script.tls,
        ready: false,
        lost: false,
        queue: VecDeque::new(),
    };
    let mut inv = Invariants::default();
    let mut seen = Vec::new();
    let (mut fed_msgs, mut fed_bytes, mut longest) = (0usize, 0usize, 0usize);
    let mut feed = |s: &mut WsSession, model: &mut Model, m: &[u8]| {
        model.input(m);
        s.input(m);
        fed_msgs += 1;
        fed_bytes += m.len();
        longest = longest.max(m.len());
    };
    let poll =
        |s: &mut WsSession, model: &mut Model, inv: &mut Invariants, seen: &mut Vec<WsEvent>| {
            while let Some(e) = s.poll() {
                inv.see(&e);
                let want = model.queue.pop_front();
                assert!(
                    want.as_ref().is_some_and(|w| matches(&e, w)),
                    "got {e:?}, the model expected {want:?}"
                );
                seen.push(e);
            }
            assert!(
                model.queue.is_empty(),
                "the model expected {:?}",
                model.queue
            );
        };

    if script.login {
        feed(
            &mut s,
            &mut model,
            &login_ok(u64::from(script.first_serial), CONN_ID),
        );
    }
    for step in &script.steps {
        match step {
            Step::Msg(m) => feed(&mut s, &mut model, m),
            Step::Poll => poll(&mut s, &mut model, &mut inv, &mut seen),
            Step::Send { proto_id, body_len } => {
                if !model.ready || model.lost {
                    continue;
                }
                let serial = s.next_serial();
                let body = vec![0xa5u8; usize::from(*body_len)];
                let sent = s.send(*proto_id, serial, &body);
                assert_eq!(sent.len(), 1, "one message per request");
                assert_eq!(s.unframed(), 0);
                let (h, b) = ws::decode_request(&sent[0]).expect("a request decodes");
                assert_eq!(
                    (h.cmd, h.section, b),
                    (*proto_id, u64::from(serial), &body[..])
                );
            }
            Step::Tick { early } => {
                let live = model.ready && !model.lost;
                match s.next_timeout() {
                    None => {
                        assert!(!live, "no ping timer while logged in");
                        // Running the timer anyway does nothing.
                        let t = std::time::Instant::now() + Duration::from_secs(3600);
                        assert_eq!(s.timeout(t), (vec![], 0));
                    }
                    Some(t) => {
                        assert!(live, "a ping timer before the login or after the end");
                        if *early {
                            let (msgs, pings) = s.timeout(t - Duration::from_millis(1));
                            assert_eq!((msgs.len(), pings), (0, 0), "a ping before it is due");
                            assert_eq!(s.next_timeout(), Some(t));
                        } else {
                            let (msgs, pings) = s.timeout(t);
                            assert_eq!((msgs.len(), pings), (0, 1), "one ping when due");
                            assert_eq!(s.next_timeout(), Some(t + WS_PING_EVERY));
                        }
                    }
                }
                assert_eq!(s.unframed(), 0);
            }
        }
    }
    poll(&mut s, &mut model, &mut inv, &mut seen);

    // Bounded output for bounded input: an event per message at most, no body bytes that
    // were not received, reasons no longer than a fixed text plus the message.
    assert!(
        inv.events <= fed_msgs,
        "{} events from {fed_msgs} messages",
        inv.events
    );
    assert!(inv.body_bytes <= fed_bytes);
    for e in &seen {
        if let WsEvent::Failed { reason, .. } | WsEvent::Lost { reason, .. } = e {
            assert!(
                reason.len() <= 256 + 3 * longest,
                "{} bytes of reason",
                reason.len()
            );
        }
    }
    seen
}
