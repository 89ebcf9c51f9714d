//! The TCP door's protocol: 44-byte frames with the plaintext's SHA-1 (`crate::wire::ft`),
//! InitConnect (RSA-encrypted when encrypting), AES bodies after it, and KeepAlive at
//! 4/5 of the interval OpenD asks for.

use super::{Event, Failure, Outbox, Packet, Protocol, Serials, SessionInfo};
use crate::crypto::{BodyCipher, PacketEncAlgo, RsaKey};
use crate::ftlog;
use crate::log::Level;
use crate::pb::{self, proto_id};
use crate::wire::{self, Frame, FrameReader};
use prost::Message;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const TARGET: &str = "ftapi::conn";

/// What InitConnect says about us, and how to encrypt.
#[derive(Clone, Debug)]
pub struct FtConfig {
    pub client_id: String,
    pub client_ver: i32,
    pub programming_language: String,
    pub rsa_key: Option<RsaKey>,
    pub encrypt: bool,
    pub max_body_len: usize,
    /// How long a KeepAlive's reply is watched for (it is never waited on).
    pub keep_alive_reply_window: Duration,
    /// Seconds since the Unix epoch when the session starts: KeepAlive carries the time.
    pub unix_time_at_start: i64,
}

pub struct FtProtocol {
    cfg: FtConfig,
    reader: FrameReader,
    cipher: Option<BodyCipher>,
    init_serial: u32,
    /// When `start` ran (with `cfg.unix_time_at_start`, the KeepAlive's clock).
    started: Option<Instant>,
    ready: bool,
    /// A failure was reported; nothing more comes out.
    dead: bool,
    keep_alive_every: Duration,
    next_keep_alive: Option<Instant>,
    /// Our own KeepAlives whose replies may still come (serial, sent at), oldest first;
    /// their replies are swallowed here, never shown to the engine.
    keep_alives: VecDeque<(u32, Instant)>,
    /// SHA-1 of what we send and of what we check, each remembering its last body.
    send_sha1: wire::Sha1Memo,
    recv_sha1: wire::Sha1Memo,
}

impl FtProtocol {
    pub fn new(cfg: FtConfig) -> FtProtocol {
        FtProtocol {
            reader: FrameReader::new(cfg.max_body_len),
            cfg,
            cipher: None,
            init_serial: 0,
            started: None,
            ready: false,
            dead: false,
            keep_alive_every: Duration::from_secs(8),
            next_keep_alive: None,
            keep_alives: VecDeque::new(),
            send_sha1: wire::Sha1Memo::default(),
            recv_sha1: wire::Sha1Memo::default(),
        }
    }

    fn lose(&mut self, f: Failure) -> Event {
        self.dead = true;
        Event::Lost(f)
    }

    fn queue_frame(&mut self, proto_id: u32, serial: u32, plain: &[u8], out: &mut Outbox) {
        let digest = self.send_sha1.digest(plain);
        match &self.cipher {
            Some(c) => {
                let wire_body = c.encrypt(plain);
                wire::encode_frame_with_digest(out.buf(), proto_id, serial, digest, &wire_body);
            }
            None => wire::encode_frame_with_digest(out.buf(), proto_id, serial, digest, plain),
        }
    }

    fn init_reply(&mut self, frame: Frame, now: Instant) -> Result<SessionInfo, Failure> {
        let h = frame.header;
        let fail = Failure::Protocol;
        let plain = match (&self.cfg.rsa_key, self.cfg.encrypt) {
            (Some(key), true) => key
                .decrypt(&frame.body)
                .map_err(|e| fail(format!("cannot decrypt InitConnect's reply: {e}")))?,
            _ => frame.body,
        };
        h.check_sha1(&plain)
            .map_err(|e| fail(format!("InitConnect reply: {e}")))?;
        let rsp = pb::init_connect::Response::decode(plain.as_slice())
            .map_err(|e| fail(format!("cannot parse InitConnect's reply: {e}")))?;
        if rsp.ret_type != 0 {
            return Err(Failure::rejected(rsp.ret_type, rsp.ret_msg));
        }
        let s2c = rsp
            .s2c
            .ok_or_else(|| fail("InitConnect's reply has no s2c".into()))?;
        if self.cfg.encrypt {
            let cipher = BodyCipher::from_init_reply(&s2c.conn_aes_key, s2c.aes_cb_civ.as_deref())
                .map_err(|e| fail(format!("InitConnect's reply: {e}")))?;
            self.cipher = Some(cipher);
        }
        let interval_s = s2c.keep_alive_interval.max(1);
        self.keep_alive_every = Duration::from_millis(interval_s as u64 * 800);
        self.ready = true;
        self.next_keep_alive = Some(now + self.keep_alive_every);
        Ok(SessionInfo {
            conn_id: s2c.conn_id,
            login_user_id: s2c.login_user_id,
            server_ver: s2c.server_ver,
            keep_alive_interval_s: s2c.keep_alive_interval,
            encrypted: self.cipher.is_some(),
        })
    }

    /// Whether `serial` was one of our KeepAlives (then forgets it).
    fn take_keep_alive(&mut self, serial: u32) -> bool {
        match self.keep_alives.iter().position(|(s, _)| *s == serial) {
            Some(i) => {
                self.keep_alives.remove(i);
                true
            }
            None => false,
        }
    }
}

impl Protocol for FtProtocol {
    fn start(&mut self, now: Instant, out: &mut Outbox, serials: Serials<'_>) {
        self.started = Some(now);
        let cfg = &self.cfg;
        let req = pb::init_connect::Request {
            c2s: pb::init_connect::C2s {
                client_ver: cfg.client_ver,
                client_id: cfg.client_id.clone(),
                recv_notify: Some(true),
                packet_enc_algo: Some(PacketEncAlgo::requested(cfg.encrypt) as i32),
                push_proto_fmt: Some(0),
                programming_language: Some(cfg.programming_language.clone()),
                ai_type: None,
            },
        };
        let plain = req.encode_to_vec();
        let wire_body = match (&cfg.rsa_key, cfg.encrypt) {
            (Some(key), true) => key.encrypt(&plain),
            _ => plain.clone(),
        };
        self.init_serial = serials();
        wire::encode_frame_into(
            out.buf(),
            proto_id::INIT_CONNECT,
            self.init_serial,
            &plain,
            &wire_body,
        );
    }

    fn handle_input(&mut self, data: &[u8], _now: Instant) {
        if !self.dead {
            self.reader.push(data);
        }
    }

    fn poll_event(&mut self, now: Instant) -> Option<Event> {
        loop {
            if self.dead {
                return None;
            }
            let frame = match self.reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return None,
                Err(e) => {
                    return Some(self.lose(Failure::Protocol(format!("protocol error: {e}"))));
                }
            };
            let h = frame.header;
            if !self.ready {
                // Nothing but InitConnect's reply is expected before it.
                if h.proto_id == proto_id::INIT_CONNECT && h.serial == self.init_serial {
                    return Some(match self.init_reply(frame, now) {
                        Ok(info) => Event::Ready(info),
                        Err(f) => self.lose(f),
                    });
                }
                continue;
            }
            let plain = match &self.cipher {
                Some(c) => match c.decrypt(&frame.body) {
                    Ok(p) => p,
                    Err(e) => {
                        let why = format!(
                            "cannot decrypt the body of proto {} serial {}: {e}",
                            h.proto_id, h.serial
                        );
                        return Some(self.lose(Failure::Protocol(why)));
                    }
                },
                None => frame.body,
            };
            if let Err(e) = h.check_digest(self.recv_sha1.digest(&plain)) {
                return Some(self.lose(Failure::Protocol(format!("protocol error: {e}"))));
            }
            let packet = Packet {
                proto_id: h.proto_id,
                serial: h.serial,
                body: plain,
            };
            if proto_id::is_push(h.proto_id) {
                return Some(Event::Push(packet));
            }
            if h.proto_id == proto_id::KEEP_ALIVE && self.take_keep_alive(h.serial) {
                continue;
            }
            return Some(Event::Reply(packet));
        }
    }

    fn send(&mut self, proto_id: u32, serial: u32, body: &[u8], out: &mut Outbox) {
        self.queue_frame(proto_id, serial, body, out);
    }

    fn next_timeout(&self) -> Option<Instant> {
        self.next_keep_alive.filter(|_| self.ready && !self.dead)
    }

    fn handle_timeout(&mut self, now: Instant, out: &mut Outbox, serials: Serials<'_>) {
        let Some(t) = self.next_keep_alive else {
            return;
        };
        if !self.ready || self.dead || now < t {
            return;
        }
        let since_start = self
            .started
            .map_or(0, |s| now.saturating_duration_since(s).as_secs());
        let time = self.cfg.unix_time_at_start + since_start as i64;
        let body = pb::keep_alive::Request {
            c2s: pb::keep_alive::C2s { time },
        }
        .encode_to_vec();
        let serial = serials();
        self.queue_frame(proto_id::KEEP_ALIVE, serial, &body, out);
        ftlog!(
            Level::Trace,
            TARGET,
            "send proto=1004 serial={serial} len={}",
            body.len()
        );
        let window = self.cfg.keep_alive_reply_window;
        while self
            .keep_alives
            .front()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) > window)
        {
            self.keep_alives.pop_front();
        }
        self.keep_alives.push_back((serial, now));
        self.next_keep_alive = Some(now + self.keep_alive_every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::encode_frame;

    fn cfg() -> FtConfig {
        FtConfig {
            client_id: "t".into(),
            client_ver: 1,
            programming_language: "Rust".into(),
            rsa_key: None,
            encrypt: false,
            max_body_len: 1 << 20,
            keep_alive_reply_window: Duration::from_secs(12),
            unix_time_at_start: 1_700_000_000,
        }
    }

    fn init_ok(serial: u32, keep_alive: i32) -> Vec<u8> {
        let rsp = pb::init_connect::Response {
            ret_type: 0,
            ret_msg: None,
            err_code: None,
            s2c: Some(pb::init_connect::S2c {
                server_ver: 903,
                login_user_id: 7,
                conn_id: 42,
                conn_aes_key: "0123456789ABCDEF".into(),
                keep_alive_interval: keep_alive,
                aes_cb_civ: None,
                user_attribution: None,
            }),
        };
        encode_frame(proto_id::INIT_CONNECT, serial, &rsp.encode_to_vec())
    }

    /// The protocol without a socket: InitConnect out, its reply in, then replies,
    /// pushes and KeepAlives, fed one byte at a time.
    #[test]
    fn init_connect_then_replies_pushes_and_keep_alive_without_a_socket() {
        let mut p = FtProtocol::new(cfg());
        let mut out = Outbox::default();
        let mut next = 0u32;
        let mut serials = || {
            next += 1;
            next
        };
        p.start(Instant::now(), &mut out, &mut serials);
        let mut r = FrameReader::new(1 << 20);
        r.push(out.unwritten());
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!((f.header.proto_id, f.header.serial), (1001, 1));
        let req = pb::init_connect::Request::decode(f.body.as_slice()).unwrap();
        assert_eq!(req.c2s.packet_enc_algo, Some(-1));

        // Before InitConnect's reply, anything else is ignored.
        let mut stream = encode_frame(3222, 5, b"early");
        stream.extend(init_ok(1, 10));
        stream.extend(encode_frame(3222, 2, b"reply"));
        stream.extend(encode_frame(1003, 9, b"push"));
        for b in &stream {
            p.handle_input(std::slice::from_ref(b), Instant::now());
        }
        let Some(Event::Ready(info)) = p.poll_event(Instant::now()) else {
            panic!("expected Ready")
        };
        assert_eq!(
            (info.conn_id, info.server_ver, info.encrypted),
            (42, 903, false)
        );
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Reply(Packet {
                proto_id: 3222,
                serial: 2,
                ..
            }))
        ));
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Push(Packet { proto_id: 1003, .. }))
        ));
        assert!(p.poll_event(Instant::now()).is_none());

        // KeepAlive at 4/5 of the interval; its reply is swallowed.
        let due = p.next_timeout().expect("a KeepAlive is scheduled");
        out.consume(out.pending());
        p.handle_timeout(due, &mut out, &mut serials);
        let mut r = FrameReader::new(1 << 20);
        r.push(out.unwritten());
        let ka = r.next_frame().unwrap().unwrap();
        assert_eq!(ka.header.proto_id, 1004);
        p.handle_input(&encode_frame(1004, ka.header.serial, b""), Instant::now());
        assert!(p.poll_event(Instant::now()).is_none());
        // A 1004 reply that is not ours goes to the engine.
        p.handle_input(&encode_frame(1004, 77, b""), Instant::now());
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Reply(Packet { serial: 77, .. }))
        ));
    }

    #[test]
    fn a_bad_sha1_ends_the_session_after_the_good_frames_before_it() {
        let mut p = FtProtocol::new(cfg());
        let mut out = Outbox::default();
        p.start(Instant::now(), &mut out, &mut || 1);
        let mut stream = init_ok(1, 10);
        stream.extend(encode_frame(3222, 2, b"good"));
        let mut bad = encode_frame(3222, 3, b"bad");
        bad[20] ^= 1;
        stream.extend(bad);
        stream.extend(encode_frame(3222, 4, b"after"));
        p.handle_input(&stream, Instant::now());
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Ready(_))
        ));
        assert!(matches!(
            p.poll_event(Instant::now()),
            Some(Event::Reply(Packet { serial: 2, .. }))
        ));
        match p.poll_event(Instant::now()) {
            Some(Event::Lost(Failure::Protocol(why))) => assert!(why.contains("SHA-1"), "{why}"),
            other => panic!("expected Lost, got {other:?}"),
        }
        assert!(p.poll_event(Instant::now()).is_none());
    }

    #[test]
    fn a_refused_init_connect_is_rejected_with_opends_message() {
        let mut p = FtProtocol::new(cfg());
        let mut out = Outbox::default();
        p.start(Instant::now(), &mut out, &mut || 1);
        let rsp = pb::init_connect::Response {
            ret_type: -1,
            ret_msg: Some("no".into()),
            err_code: None,
            s2c: None,
        };
        p.handle_input(&encode_frame(1001, 1, &rsp.encode_to_vec()), Instant::now());
        assert!(
            matches!(p.poll_event(Instant::now()), Some(Event::Lost(Failure::Rejected(m))) if m == "no")
        );
    }

    /// KeepAlive on a virtual clock: the first at 4/5 of OpenD's interval after the
    /// reply, then every 4/5 of it, each carrying the session's Unix time.
    #[test]
    fn keep_alive_runs_on_the_time_it_is_given() {
        let t0 = Instant::now();
        let mut p = FtProtocol::new(cfg());
        let mut out = Outbox::default();
        let mut next = 0u32;
        let mut serials = || {
            next += 1;
            next
        };
        p.start(t0, &mut out, &mut serials);
        out.consume(out.pending());
        assert_eq!(
            p.next_timeout(),
            None,
            "no KeepAlive before InitConnect's reply"
        );
        let ready_at = t0 + Duration::from_secs(3);
        p.handle_input(&init_ok(1, 10), ready_at);
        assert!(matches!(p.poll_event(ready_at), Some(Event::Ready(_))));
        let due = p.next_timeout().unwrap();
        assert_eq!(due, ready_at + Duration::from_secs(8));
        // Not yet: nothing is sent a millisecond early.
        p.handle_timeout(due - Duration::from_millis(1), &mut out, &mut serials);
        assert_eq!(out.pending(), 0);
        for round in 1..=3u64 {
            let now = ready_at + Duration::from_secs(8 * round);
            assert_eq!(p.next_timeout(), Some(now));
            p.handle_timeout(now, &mut out, &mut serials);
            let mut r = FrameReader::new(1 << 20);
            r.push(out.unwritten());
            let f = r.next_frame().unwrap().unwrap();
            assert_eq!(f.header.proto_id, 1004);
            let req = pb::keep_alive::Request::decode(f.body.as_slice()).unwrap();
            assert_eq!(req.c2s.time, 1_700_000_000 + 3 + 8 * round as i64);
            out.consume(out.pending());
        }
    }
}
