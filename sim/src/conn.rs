//! One simulated OpenD connection: reads request frames in large chunks, answers every
//! complete frame of a read with a single write, and applies the configured faults.

use crate::{AesMode, Faults, Lang, Received, Shared, random_bytes};
use ftapi::crypto::BodyCipher;
use ftapi::pb;
use ftapi::wire::{FrameReader, HEADER_LEN, Header};
use parking_lot::Mutex;
use prost::Message;
use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const INIT_CONNECT: u32 = pb::proto_id::INIT_CONNECT;
const KEEP_ALIVE: u32 = pb::proto_id::KEEP_ALIVE;
const GROUPS: u32 = pb::proto_id::QOT_GET_USER_SECURITY_GROUP;

/// What push_notify needs to know about a connection.
#[derive(Default)]
struct PushState {
    ready: bool,
    recv_notify: bool,
    cipher: Option<BodyCipher>,
    serial: u32,
}

/// A connection as seen by the rest of the simulator.
pub(crate) struct Conn {
    pub(crate) index: u64,
    pub(crate) stream: TcpStream,
    /// Serialises whole-frame writes of the connection thread and of pushes.
    write_lock: Mutex<()>,
    push_state: Mutex<PushState>,
}

impl Conn {
    pub(crate) fn new(index: u64, stream: TcpStream) -> Conn {
        Conn {
            index,
            stream,
            write_lock: Mutex::new(()),
            push_state: Mutex::new(PushState::default()),
        }
    }

    /// Sends a push frame if the connection is initialised and asked for pushes.
    pub(crate) fn push(&self, proto_id: u32, plain: &[u8]) {
        let frame = {
            let mut st = self.push_state.lock();
            if !st.ready || !st.recv_notify {
                return;
            }
            st.serial = st.serial.wrapping_add(1).max(1);
            let wire = match &st.cipher {
                Some(c) => c.encrypt(plain),
                None => plain.to_vec(),
            };
            let mut out = Vec::with_capacity(HEADER_LEN + wire.len());
            ftapi::wire::encode_frame_into(&mut out, proto_id, st.serial, plain, &wire);
            out
        };
        let _g = self.write_lock.lock();
        let _ = (&self.stream).write_all(&frame);
    }
}

/// Why a connection ends.
enum End {
    /// Orderly close (FIN).
    Close,
    /// Abortive close (RST).
    Reset,
}

struct Handler {
    shared: Arc<Shared>,
    conn: Arc<Conn>,
    /// InitConnect answered (or withheld) successfully; AES applies from here on.
    ready: bool,
    cipher: Option<BodyCipher>,
    /// Requests answered without a fault, per proto ID (for `Faults::after_n`).
    answered: HashMap<u32, u32>,
    /// The per-connection 3222 window.
    rate: VecDeque<Instant>,
    /// Requests recorded during the current batch, appended to `Shared::received` at once.
    records: Vec<Received>,
    /// The successful 3222 reply per groupType 1..=3 (plaintext and its SHA-1): the
    /// watchlist never changes while the simulator runs, so it is encoded and hashed
    /// once per connection instead of per request (bench: ~half the simulator's CPU).
    groups_cache: [Option<(Vec<u8>, [u8; 20])>; 4],
    /// The last request body whose SHA-1 checked out, with that SHA-1: a request with
    /// the same bytes and the same header SHA-1 needs no rehash.
    last_verified: Option<(Vec<u8>, [u8; 20])>,
}

/// Serves one connection until the peer closes, a fault or protocol error ends it, or
/// the simulator stops.
pub(crate) fn serve(shared: Arc<Shared>, conn: Arc<Conn>) {
    let mut h = Handler {
        shared: shared.clone(),
        conn: conn.clone(),
        ready: false,
        cipher: None,
        answered: HashMap::new(),
        rate: VecDeque::new(),
        records: Vec::new(),
        groups_cache: Default::default(),
        last_verified: None,
    };
    // A read that times out ends the connection like EOF.
    let _ = conn.stream.set_read_timeout(shared.cfg.idle_timeout);
    let end = h.run();
    shared.conns.lock().remove(&conn.index);
    match end {
        End::Close => {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
        End::Reset => {
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket fd and a correctly sized `linger` value.
            unsafe {
                libc::setsockopt(
                    conn.stream.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
        }
    }
    // The fd closes when the last Arc goes (a concurrent push may hold one briefly).
}

impl Handler {
    fn run(&mut self) -> End {
        let mut reader = FrameReader::new(self.shared.cfg.max_body_len);
        let mut out = Vec::with_capacity(64 * 1024);
        let conn = self.conn.clone();
        loop {
            if self.shared.is_stopping() {
                return End::Close;
            }
            match reader.read_from(&mut &conn.stream) {
                Ok(0) => return End::Close,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return End::Close,
            }
            let faults = self.shared.faults();
            out.clear();
            let mut ended = None;
            loop {
                match reader.next_frame() {
                    Ok(Some(frame)) => {
                        if let Err(end) = self.handle(frame.header, frame.body, &faults, &mut out) {
                            ended = Some(end);
                            break;
                        }
                    }
                    Ok(None) => break,
                    // A broken request frame (bad magic, oversized body) ends the connection.
                    Err(_) => {
                        ended = Some(End::Close);
                        break;
                    }
                }
            }
            self.flush_records();
            if let Some(end) = ended {
                // Replies to the frames before the offending one still go out.
                let _ = self.write(&out, &faults);
                return end;
            }
            if self.write(&out, &faults).is_err() {
                return End::Close;
            }
            if faults.stop_reading && self.ready {
                self.shared.park_until_stop();
                return End::Close;
            }
        }
    }

    fn flush_records(&mut self) {
        if !self.records.is_empty() {
            self.shared.received.lock().append(&mut self.records);
        }
    }

    fn write(&self, bytes: &[u8], faults: &Faults) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let _g = self.conn.write_lock.lock();
        let mut s = &self.conn.stream;
        if faults.byte_at_a_time {
            for b in bytes {
                s.write_all(std::slice::from_ref(b))?;
                if !self.shared.sleep(Duration::from_millis(1)) {
                    return Err(io::ErrorKind::Interrupted.into());
                }
            }
            Ok(())
        } else {
            s.write_all(bytes)
        }
    }

    /// Whether the proto-keyed faults apply to this request of `proto`.
    fn armed(&self, proto: u32, faults: &Faults) -> bool {
        self.answered.get(&proto).copied().unwrap_or(0) >= faults.after_n
    }

    /// Handles one request frame, appending its reply (if any) to `out`.
    fn handle(
        &mut self,
        header: Header,
        body: Vec<u8>,
        faults: &Faults,
        out: &mut Vec<u8>,
    ) -> Result<(), End> {
        let proto = header.proto_id;
        // Decrypt and check the frame; anything broken ends the connection.
        let (plain, rsa_init) = if !self.ready {
            if proto != INIT_CONNECT {
                // OpenD expects InitConnect first.
                return Err(End::Close);
            }
            if header.check_sha1(&body).is_ok() {
                (body, false)
            } else {
                let key = self.shared.cfg.rsa_key.as_ref().ok_or(End::Close)?;
                let plain = key.decrypt(&body).map_err(|_| End::Close)?;
                header.check_sha1(&plain).map_err(|_| End::Close)?;
                (plain, true)
            }
        } else {
            let plain = match &self.cipher {
                Some(c) => c.decrypt(&body).map_err(|_| End::Close)?,
                None => body,
            };
            let seen = self
                .last_verified
                .as_ref()
                .is_some_and(|(b, h)| *h == header.sha1 && b[..] == plain[..]);
            if !seen {
                header.check_sha1(&plain).map_err(|_| End::Close)?;
                if plain.len() <= 256 {
                    self.last_verified = Some((plain.clone(), header.sha1));
                }
            }
            (plain, false)
        };
        if self.shared.cfg.record_received {
            self.records.push(Received {
                conn_index: self.conn.index,
                proto_id: proto,
                serial: header.serial,
                at: Instant::now(),
                body: plain.clone(),
            });
        }

        let armed = self.armed(proto, faults);
        let hit = |f: Option<u32>| armed && f == Some(proto);
        if armed && faults.withhold.contains(&proto) {
            if proto == INIT_CONNECT && !self.ready {
                // The connection is set up all the same; only the reply is lost.
                let _ = self.init_connect(&plain, rsa_init, faults);
            }
            return Ok(());
        }
        if hit(faults.close_after) {
            return Err(End::Close);
        }
        if hit(faults.reset) {
            return Err(End::Reset);
        }

        // The reply: plaintext, then as sent (encrypted) with the cipher in force before
        // this request (InitConnect's own reply is RSA or plaintext).
        let mut known_sha1 = None;
        let (reply_plain, reply_wire) = if header.fmt != 0 {
            let msg = "opend-sim speaks protobuf only (nProtoFmtType 0)";
            let json = format!("{{\"retType\":-1,\"retMsg\":\"{msg}\"}}").into_bytes();
            let wire = self.encrypt(&json);
            (json, wire)
        } else if !self.ready {
            self.init_connect(&plain, rsa_init, faults)
        } else {
            let p = match proto {
                KEEP_ALIVE => keep_alive(),
                GROUPS => {
                    let (p, sha1) = self.groups(&plain);
                    known_sha1 = sha1;
                    p
                }
                INIT_CONNECT => error_reply("InitConnect was already done on this connection"),
                _ => error_reply(&format!("unsupported proto {proto} (opend-sim)")),
            };
            let w = self.encrypt(&p);
            (p, w)
        };

        let mut head = match known_sha1 {
            Some(sha1) => Header {
                proto_id: proto,
                fmt: 0,
                ver: 0,
                serial: header.serial,
                body_len: reply_wire.len() as u32,
                sha1,
            },
            None => Header::new(proto, header.serial, &reply_plain, reply_wire.len()),
        };
        head.fmt = header.fmt;
        if hit(faults.corrupt_sha1) {
            head.sha1[0] ^= 0x01;
        }
        if hit(faults.wrong_proto) {
            head.proto_id = proto.wrapping_add(1);
        }
        if hit(faults.huge_body_len) {
            head.body_len = u32::MAX;
        }
        let mut frame = Vec::with_capacity(HEADER_LEN + reply_wire.len());
        frame.extend_from_slice(&head.encode());
        if hit(faults.bad_magic) {
            frame[0] = b'X';
        }
        frame.extend_from_slice(&reply_wire);
        if hit(faults.corrupt_body) && !reply_wire.is_empty() {
            *frame.last_mut().expect("non-empty body") ^= 0x5a;
        }

        if hit(faults.close_mid_header) {
            out.extend_from_slice(&frame[..20]);
            return Err(End::Close);
        }
        if hit(faults.close_mid_body) {
            let half = (reply_wire.len() / 2).max(1).min(reply_wire.len());
            out.extend_from_slice(&frame[..HEADER_LEN + half]);
            return Err(End::Close);
        }
        let delayed = faults.delay.filter(|_| {
            armed
                && if faults.delay_protos.is_empty() {
                    proto != INIT_CONNECT && proto != KEEP_ALIVE
                } else {
                    faults.delay_protos.contains(&proto)
                }
        });
        if let Some(d) = delayed {
            // Earlier replies of this batch go out on time; this one waits.
            if self.write(out, faults).is_err() {
                return Err(End::Close);
            }
            out.clear();
            if !self.shared.sleep(d) {
                return Err(End::Close);
            }
        }
        out.extend_from_slice(&frame);
        let mut faulted = delayed.is_some()
            || hit(faults.corrupt_sha1)
            || hit(faults.corrupt_body)
            || hit(faults.wrong_proto)
            || hit(faults.huge_body_len)
            || hit(faults.bad_magic);
        if hit(faults.duplicate) {
            out.extend_from_slice(&frame);
            faulted = true;
        }
        if hit(faults.garbage_after) {
            let mut junk = [0u8; 64];
            random_bytes(&mut junk);
            for b in &mut junk {
                if *b == b'F' {
                    *b = b'G';
                }
            }
            out.extend_from_slice(&junk);
            faulted = true;
        }
        if !faulted {
            *self.answered.entry(proto).or_insert(0) += 1;
        }
        Ok(())
    }

    fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        match &self.cipher {
            Some(c) => c.encrypt(plain),
            None => plain.to_vec(),
        }
    }

    /// Answers InitConnect: returns the reply's plaintext and wire body, and on success
    /// marks the connection ready with its cipher.
    fn init_connect(
        &mut self,
        plain: &[u8],
        rsa_init: bool,
        faults: &Faults,
    ) -> (Vec<u8>, Vec<u8>) {
        let cfg = &self.shared.cfg;
        let c2s = match pb::init_connect::Request::decode(plain) {
            Ok(r) => r.c2s,
            Err(_) => {
                let p = error_reply("InitConnect: cannot parse the request body");
                return (p.clone(), p);
            }
        };
        let algo = c2s.packet_enc_algo.unwrap_or(0);
        // Encrypted only if the client RSA-encrypted InitConnect and did not say -1 (the
        // official clients RSA-encrypt whenever they hold a key, PROTOCOL.md §4).
        let encrypted = rsa_init && algo != -1;
        // A client that encrypted expects even a refusal RSA-encrypted.
        let refuse = |msg: &str| {
            let p = error_reply(msg);
            let wire = match (&cfg.rsa_key, encrypted) {
                (Some(rsa), true) => rsa.encrypt(&p),
                _ => p.clone(),
            };
            (p, wire)
        };
        if let Some(msg) = &faults.reject_init {
            return refuse(msg);
        }
        if cfg.require_encryption && !encrypted {
            return refuse(match cfg.lang {
                Lang::En => {
                    "this OpenD requires encryption: set the RSA private key and enable encryption (opend-sim)"
                }
                Lang::Zh => "此 OpenD 要求加密连接：请设置 RSA 私钥并启用加密 (opend-sim)",
            });
        }
        let cbc = match (encrypted, algo, cfg.aes_mode) {
            (false, _, _) => true,
            (true, 2, AesMode::FollowClient) => true,
            (true, 0 | 2, _) => false,
            (true, other, _) => {
                return refuse(&format!(
                    "packetEncAlgo {other} is not supported (opend-sim supports 0 FTAES_ECB, 2 AES_CBC, -1 none)"
                ));
            }
        };
        let key = random_hex16();
        let iv = random_hex16();
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let counter = self.shared.conn_counter.fetch_add(1, Ordering::AcqRel);
        let s2c = pb::init_connect::S2c {
            server_ver: cfg.server_ver,
            login_user_id: cfg.login_user_id,
            conn_id: (unix_ms << 22) | (counter & 0x3F_FFFF),
            conn_aes_key: key.clone(),
            keep_alive_interval: cfg.keep_alive_interval,
            aes_cb_civ: cbc.then(|| iv.clone()),
            user_attribution: Some(1),
        };
        let rsp = pb::init_connect::Response {
            ret_type: 0,
            ret_msg: None,
            err_code: None,
            s2c: Some(s2c),
        };
        let p = rsp.encode_to_vec();
        let (wire, cipher) = if encrypted {
            let rsa = cfg.rsa_key.as_ref().expect("rsa_init implies a key");
            let cipher = BodyCipher::from_init_reply(&key, cbc.then_some(iv.as_str()))
                .expect("16-character key and IV");
            (rsa.encrypt(&p), Some(cipher))
        } else {
            (p.clone(), None)
        };
        self.ready = true;
        self.cipher = cipher.clone();
        {
            let mut st = self.conn.push_state.lock();
            st.ready = true;
            st.recv_notify = c2s.recv_notify.unwrap_or(false);
            st.cipher = cipher;
        }
        (p, wire)
    }

    /// The 3222 reply's plaintext, and its SHA-1 when it came from the cache.
    fn groups(&mut self, plain: &[u8]) -> (Vec<u8>, Option<[u8; 20]>) {
        let cfg = &self.shared.cfg;
        if let Some(rl) = cfg.rate_limit {
            let now = Instant::now();
            let admit = |w: &mut VecDeque<Instant>| {
                while w
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= rl.window)
                {
                    w.pop_front();
                }
                if w.len() >= rl.max as usize {
                    false
                } else {
                    w.push_back(now);
                    true
                }
            };
            let ok = if rl.per_connection {
                admit(&mut self.rate)
            } else {
                admit(&mut self.shared.rate.lock())
            };
            if !ok {
                let secs = rl.window.as_secs_f64();
                return (
                    error_reply(&match cfg.lang {
                        Lang::En => format!(
                            "request frequency limit exceeded: at most {} Get Groups From Watchlist requests per {secs} s (opend-sim's own wording; the real OpenD text is unknown)",
                            rl.max
                        ),
                        Lang::Zh => format!(
                            "请求频率太高：获取自选股分组每 {secs} 秒最多 {} 次 (opend-sim 自拟文案，真实 OpenD 文案未知)",
                            rl.max
                        ),
                    }),
                    None,
                );
            }
        }
        let req = match pb::qot_get_user_security_group::Request::decode(plain) {
            Ok(r) => r,
            Err(_) => {
                return (
                    error_reply("cannot parse the Qot_GetUserSecurityGroup request"),
                    None,
                );
            }
        };
        let t = req.c2s.group_type;
        let keep = |g: i32| match t {
            1 | 2 => g == t,
            _ => true,
        };
        if !(1..=3).contains(&t) {
            return (
                error_reply(&match cfg.lang {
                    Lang::En => {
                        format!(
                            "parameter error: groupType {t} is invalid (1 custom, 2 system, 3 all)"
                        )
                    }
                    Lang::Zh => format!("参数错误：groupType {t} 无效 (1 自定义, 2 系统, 3 全部)"),
                }),
                None,
            );
        }
        if let Some((p, sha1)) = &self.groups_cache[t as usize] {
            return (p.clone(), Some(*sha1));
        }
        let rsp = pb::qot_get_user_security_group::Response {
            ret_type: 0,
            ret_msg: None,
            err_code: None,
            s2c: Some(pb::qot_get_user_security_group::S2c {
                group_list: cfg
                    .groups
                    .iter()
                    .filter(|g| keep(g.group_type))
                    .map(|g| pb::qot_get_user_security_group::GroupData {
                        group_name: g.name.clone(),
                        group_type: g.group_type,
                    })
                    .collect(),
            }),
        };
        let p = rsp.encode_to_vec();
        let sha1 = ftapi::wire::sha1(&p);
        self.groups_cache[t as usize] = Some((p.clone(), sha1));
        (p, Some(sha1))
    }
}

fn keep_alive() -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    pb::keep_alive::Response {
        ret_type: 0,
        ret_msg: None,
        err_code: None,
        s2c: Some(pb::keep_alive::S2c { time: now }),
    }
    .encode_to_vec()
}

/// A `Response{retType=-1, retMsg}`; fields 1–3 are the same in every proto's Response.
fn error_reply(msg: &str) -> Vec<u8> {
    pb::keep_alive::Response {
        ret_type: -1,
        ret_msg: Some(msg.to_owned()),
        err_code: None,
        s2c: None,
    }
    .encode_to_vec()
}

/// 16 upper-case hex characters, like OpenD's connAESKey and aesCBCiv.
fn random_hex16() -> String {
    let mut b = [0u8; 8];
    random_bytes(&mut b);
    b.iter().map(|x| format!("{x:02X}")).collect()
}
