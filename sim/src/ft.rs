//! The TCP door: reads FT request frames in large chunks with the client's frame reader,
//! checks their SHA-1 through the client's memo, does InitConnect (RSA, AES selection),
//! and answers every complete frame of a read with a single write. Routing, limits and
//! fault plans come from `route`.

use crate::conn::{Conn, FtPushState, PushSink};
use crate::route::{self, GROUPS, INIT_CONNECT, Plan, Session};
use crate::{AesMode, Faults, Lang, Shared};
use opend_proto::crypto::{BodyCipher, PacketEncAlgo};
use opend_proto::pb;
use opend_proto::wire::{FrameReader, HEADER_LEN, Header, Sha1Memo};
use prost::Message;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// How a connection ends.
pub(crate) enum End {
    /// Orderly close (FIN).
    Close,
    /// Abortive close (RST).
    Reset,
}

/// Closes a socket the way `end` says.
pub(crate) fn close_socket(stream: &TcpStream, end: End) {
    match end {
        End::Close => {
            let _ = stream.shutdown(Shutdown::Both);
        }
        End::Reset => {
            // SO_LINGER on with a zero timeout: closing the socket sends RST, not FIN.
            let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
        }
    }
}

struct FtDoor {
    session: Session,
    conn: Arc<Conn>,
    /// InitConnect answered (or withheld) successfully; AES applies from here on.
    ready: bool,
    cipher: Option<BodyCipher>,
    /// The SHA-1 of the last request body checked, and of the last reply sent: the same
    /// bytes again cost a compare.
    recv_sha1: Sha1Memo,
    send_sha1: Sha1Memo,
}

/// Serves one TCP-door connection until the peer closes, a fault or protocol error ends
/// it, or the simulator stops.
pub(crate) fn serve(shared: Arc<Shared>, conn: Arc<Conn>) {
    let mut door = FtDoor {
        session: Session::new(shared.clone(), conn.index),
        conn: conn.clone(),
        ready: false,
        cipher: None,
        recv_sha1: Sha1Memo::default(),
        send_sha1: Sha1Memo::default(),
    };
    // A read that times out ends the connection like EOF.
    let _ = conn.stream.set_read_timeout(shared.cfg.idle_timeout);
    let end = door.run();
    shared.conns.lock().remove(&conn.index);
    close_socket(&conn.stream, end);
    // The fd closes when the last Arc goes (a concurrent push may hold one briefly).
}

impl FtDoor {
    fn shared(&self) -> &Arc<Shared> {
        &self.session.shared
    }

    fn run(&mut self) -> End {
        let mut reader = FrameReader::new(self.shared().cfg.max_body_len);
        let mut out = Vec::with_capacity(64 * 1024);
        let conn = self.conn.clone();
        loop {
            if self.shared().is_stopping() {
                return End::Close;
            }
            match reader.read_from(&mut &conn.stream) {
                Ok(0) => return End::Close,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return End::Close,
            }
            let faults = self.shared().faults();
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
            self.session.flush_records();
            if let Some(end) = ended {
                // Replies to the frames before the offending one still go out.
                let _ = self.write(&out, &faults);
                return end;
            }
            if self.write(&out, &faults).is_err() {
                return End::Close;
            }
            if faults.stop_reading && self.ready {
                self.shared().park_until_stop();
                return End::Close;
            }
        }
    }

    fn write(&self, bytes: &[u8], faults: &Faults) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let PushSink::Ft { write_lock, .. } = &self.conn.sink else {
            unreachable!("a TCP-door connection");
        };
        let _g = write_lock.lock();
        let mut s = &self.conn.stream;
        if faults.byte_at_a_time {
            for b in bytes {
                s.write_all(std::slice::from_ref(b))?;
                if !self.shared().sleep(Duration::from_millis(1)) {
                    return Err(io::ErrorKind::Interrupted.into());
                }
            }
            Ok(())
        } else {
            s.write_all(bytes)
        }
    }

    /// Decodes one request frame: decrypts and checks it; anything broken ends the
    /// connection. Returns the plaintext and whether InitConnect came RSA-encrypted.
    fn decode(&mut self, header: &Header, body: Vec<u8>) -> Result<(Vec<u8>, bool), End> {
        if !self.ready {
            if header.proto_id != INIT_CONNECT {
                // OpenD expects InitConnect first.
                return Err(End::Close);
            }
            if header.check_sha1(&body).is_ok() {
                return Ok((body, false));
            }
            let key = self.shared().cfg.rsa_key.as_ref().ok_or(End::Close)?;
            let plain = key.decrypt(&body).map_err(|_| End::Close)?;
            header.check_sha1(&plain).map_err(|_| End::Close)?;
            return Ok((plain, true));
        }
        let plain = match &self.cipher {
            Some(c) => c.decrypt(&body).map_err(|_| End::Close)?,
            None => body,
        };
        header
            .check_digest(self.recv_sha1.digest(&plain))
            .map_err(|_| End::Close)?;
        Ok((plain, false))
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
        let (plain, rsa_init) = self.decode(&header, body)?;
        self.session.record(proto, header.serial, &plain);
        let plan = self.session.plan(proto, faults);
        if plan.withhold {
            if proto == INIT_CONNECT && !self.ready {
                // The connection is set up all the same; only the reply is lost.
                let _ = self.init_connect(&plain, rsa_init, faults);
            }
            return Ok(());
        }
        // The socket is the link to OpenD here: losing it, or it "closing" under a
        // request, closes the connection; the other errors mean no reply in time.
        if plan.close || plan.opend_lost || plan.peer_error == Some(3) {
            return Err(End::Close);
        }
        if plan.peer_error.is_some() {
            return Ok(());
        }
        if plan.reset {
            return Err(End::Reset);
        }
        // The reply: plaintext, then as sent (encrypted) with the cipher in force before
        // this request (InitConnect's own reply is RSA or plaintext).
        let (reply_plain, reply_wire) = if header.fmt != 0 {
            let msg = "opend-sim speaks protobuf only (nProtoFmtType 0)";
            let json = if faults.omit_ret_fields {
                format!("{{\"retType\":-1,\"retMsg\":\"{msg}\"}}")
            } else {
                format!("{{\"retType\":-1,\"retMsg\":\"{msg}\",\"errCode\":0}}")
            }
            .into_bytes();
            let wire = self.encrypt(&json);
            (json, wire)
        } else if !self.ready {
            self.init_connect(&plain, rsa_init, faults)
        } else {
            let p = self.session.answer(proto, &plain, faults);
            let w = self.encrypt(&p);
            (p, w)
        };
        let frame = self.encode(&header, &reply_plain, reply_wire, &plan);
        self.apply(proto, frame, &plan, faults, out)?;
        if self.ready && self.shared().cfg.notify_on.contains(&proto) {
            // The batch's replies go first, then the push (written under the same lock).
            if self.write(out, faults).is_err() {
                return Err(End::Close);
            }
            out.clear();
            self.conn.push(
                opend_proto::pb::proto_id::NOTIFY,
                &crate::conn_status_notify(faults.omit_ret_fields),
            );
        }
        Ok(())
    }

    /// The reply frame, with the plan's changes to its header and body.
    fn encode(
        &mut self,
        req: &Header,
        plain: &[u8],
        mut wire_body: Vec<u8>,
        plan: &Plan,
    ) -> Vec<u8> {
        // The cached 3222 replies hash once through the memo.
        let digest = if req.proto_id == GROUPS {
            self.send_sha1.digest(plain)
        } else {
            opend_proto::wire::sha1(plain)
        };
        let mut head = Header::with_digest(req.proto_id, req.serial, digest, wire_body.len());
        head.fmt = req.fmt;
        if plan.corrupt_integrity {
            head.sha1[0] ^= 0x01;
        }
        if plan.wrong_proto {
            head.proto_id = req.proto_id.wrapping_add(1);
        }
        if plan.huge_len {
            head.body_len = u32::MAX;
        }
        if plan.corrupt_body {
            if let Some(last) = wire_body.last_mut() {
                *last ^= 0x5a;
            }
        }
        let mut frame = Vec::with_capacity(HEADER_LEN + wire_body.len());
        frame.extend_from_slice(&head.encode());
        if plan.bad_magic {
            frame[0] = b'X';
        }
        frame.extend_from_slice(&wire_body);
        frame
    }

    /// Puts the reply on its way as the plan says.
    fn apply(
        &mut self,
        proto: u32,
        frame: Vec<u8>,
        plan: &Plan,
        faults: &Faults,
        out: &mut Vec<u8>,
    ) -> Result<(), End> {
        if plan.close_mid_header {
            out.extend_from_slice(&frame[..20]);
            return Err(End::Close);
        }
        if plan.close_mid_body {
            let body = frame.len() - HEADER_LEN;
            let half = (body / 2).max(1).min(body);
            out.extend_from_slice(&frame[..HEADER_LEN + half]);
            return Err(End::Close);
        }
        if let Some(d) = plan.delay {
            // Earlier replies of this batch go out on time; this one waits.
            if self.write(out, faults).is_err() {
                return Err(End::Close);
            }
            out.clear();
            if !self.shared().sleep(d) {
                return Err(End::Close);
            }
        }
        out.extend_from_slice(&frame);
        if plan.duplicate {
            out.extend_from_slice(&frame);
        }
        if plan.garbage_after {
            out.extend_from_slice(&route::garbage());
        }
        self.session.answered(proto, plan);
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
        let shared = self.shared().clone();
        let cfg = &shared.cfg;
        let c2s = match pb::init_connect::Request::decode(plain) {
            Ok(r) => r.c2s,
            Err(_) => {
                let p = route::error_reply(
                    "InitConnect: cannot parse the request body",
                    faults.omit_ret_fields,
                );
                return (p.clone(), p);
            }
        };
        let algo = PacketEncAlgo::from_field(c2s.packet_enc_algo);
        // Encrypted only if the client RSA-encrypted InitConnect and did not say "none"
        // (the official clients RSA-encrypt whenever they hold a key).
        let encrypted = rsa_init && algo != Some(PacketEncAlgo::None);
        // A client that encrypted expects even a refusal RSA-encrypted.
        let refuse = |msg: &str| {
            let p = route::error_reply(msg, faults.omit_ret_fields);
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
            (true, Some(PacketEncAlgo::AesCbc), AesMode::FollowClient) => true,
            (true, Some(PacketEncAlgo::FtAesEcb | PacketEncAlgo::AesCbc), _) => false,
            (true, _, _) => {
                return refuse(&format!(
                    "packetEncAlgo {} is not supported (opend-sim supports 0 FTAES_ECB, 2 AES_CBC, -1 none)",
                    c2s.packet_enc_algo.unwrap_or(0)
                ));
            }
        };
        let key = route::random_hex16();
        let iv = route::random_hex16();
        let s2c = pb::init_connect::S2c {
            server_ver: cfg.server_ver,
            login_user_id: cfg.login_user_id,
            conn_id: self.session.conn_id(),
            conn_aes_key: key.clone(),
            keep_alive_interval: cfg.keep_alive_interval,
            aes_cb_civ: cbc.then(|| iv.clone()),
            user_attribution: Some(1),
        };
        let (ret_msg, err_code) = route::success_fields(faults.omit_ret_fields);
        let rsp = pb::init_connect::Response {
            ret_type: 0,
            ret_msg,
            err_code,
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
        if let PushSink::Ft { state, .. } = &self.conn.sink {
            *state.lock() = FtPushState {
                ready: true,
                recv_notify: c2s.recv_notify.unwrap_or(false),
                cipher,
                serial: 0,
            };
        }
        (p, wire)
    }
}
