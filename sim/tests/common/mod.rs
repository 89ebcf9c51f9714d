//! A tiny raw OpenD client for the simulator's tests: TcpStream + opend_proto::wire + opend_proto::pb.
#![allow(dead_code)]

use opend_proto::crypto::{BodyCipher, RsaKey};
use opend_proto::pb;
use opend_proto::wire::{FrameReader, HEADER_LEN, Header, encode_frame_into, sha1};
use prost::Message;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

pub struct Client {
    pub s: TcpStream,
    reader: FrameReader,
    pub serial: u32,
    pub cipher: Option<BodyCipher>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect to the simulator");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.set_nodelay(true).unwrap();
        Client {
            s,
            reader: FrameReader::new(64 << 20),
            serial: 100,
            cipher: None,
        }
    }

    /// Sends one request (AES-encrypted if the connection is), returns its serial.
    pub fn send(&mut self, proto: u32, plain: &[u8]) -> u32 {
        self.serial += 1;
        let wire = match &self.cipher {
            Some(c) => c.encrypt(plain),
            None => plain.to_vec(),
        };
        let mut out = Vec::new();
        encode_frame_into(&mut out, proto, self.serial, plain, &wire);
        self.s.write_all(&out).unwrap();
        self.serial
    }

    /// The next frame, decrypted; its SHA-1 is checked.
    pub fn recv(&mut self) -> io::Result<(Header, Vec<u8>)> {
        let (h, wire) = self.recv_wire()?;
        let plain = match &self.cipher {
            Some(c) => c.decrypt(&wire).expect("AES decrypt of the reply"),
            None => wire,
        };
        h.check_sha1(&plain)
            .expect("reply SHA-1 must match its plaintext");
        Ok((h, plain))
    }

    /// The next frame as it came off the wire.
    pub fn recv_wire(&mut self) -> io::Result<(Header, Vec<u8>)> {
        loop {
            if let Some(f) = self
                .reader
                .next_frame()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
            {
                return Ok((f.header, f.body));
            }
            if self.reader.read_from(&mut self.s)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Every byte until EOF (for the mid-frame close faults).
    pub fn read_to_eof(&mut self) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.s.read_to_end(&mut v)?;
        Ok(v)
    }

    /// Asserts that the simulator closed the connection without sending anything more
    /// (a close with unread input may show up as a reset).
    pub fn assert_closed(&mut self) {
        match self.read_to_eof() {
            Ok(v) => assert!(v.is_empty(), "expected a bare close, got {} bytes", v.len()),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        }
    }

    /// Asserts that nothing arrives for `wait`.
    pub fn assert_silent(&mut self, wait: Duration) {
        self.s.set_read_timeout(Some(wait)).unwrap();
        let r = self.recv_wire();
        self.s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        match r {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            other => panic!("expected silence, got {other:?}"),
        }
    }

    pub fn init_request(recv_notify: bool, algo: i32) -> Vec<u8> {
        pb::init_connect::Request {
            c2s: pb::init_connect::C2s {
                client_ver: 300,
                client_id: "sim-test".into(),
                recv_notify: Some(recv_notify),
                packet_enc_algo: Some(algo),
                push_proto_fmt: Some(0),
                programming_language: Some("Rust".into()),
                ai_type: Some(0),
            },
        }
        .encode_to_vec()
    }

    /// Plaintext InitConnect; returns the reply and its serial.
    pub fn init(&mut self) -> (pb::init_connect::Response, Header) {
        self.init_with(true)
    }

    pub fn init_with(&mut self, recv_notify: bool) -> (pb::init_connect::Response, Header) {
        let serial = self.send(1001, &Self::init_request(recv_notify, -1));
        let (h, body) = self.recv().expect("InitConnect reply");
        assert_eq!((h.proto_id, h.serial), (1001, serial));
        (pb::init_connect::Response::decode(&body[..]).unwrap(), h)
    }

    /// RSA-encrypted InitConnect with this packetEncAlgo. `reply_encrypted` says how the
    /// reply is expected to come back. Sets up the AES cipher from the reply.
    pub fn init_rsa(
        &mut self,
        key: &RsaKey,
        algo: i32,
        reply_encrypted: bool,
    ) -> pb::init_connect::Response {
        let plain = Self::init_request(true, algo);
        let wire = key.encrypt(&plain);
        self.serial += 1;
        let mut out = Vec::new();
        encode_frame_into(&mut out, 1001, self.serial, &plain, &wire);
        self.s.write_all(&out).unwrap();
        let (h, wire) = self.recv_wire().expect("InitConnect reply");
        assert_eq!((h.proto_id, h.serial), (1001, self.serial));
        let body = if reply_encrypted {
            assert_ne!(h.sha1, sha1(&wire), "the reply should be RSA-encrypted");
            key.decrypt(&wire).expect("RSA-decrypt the reply")
        } else {
            wire
        };
        h.check_sha1(&body).expect("InitConnect reply SHA-1");
        let rsp = pb::init_connect::Response::decode(&body[..]).unwrap();
        if reply_encrypted && rsp.ret_type == 0 {
            let s2c = rsp.s2c.as_ref().unwrap();
            self.cipher = Some(
                BodyCipher::from_init_reply(&s2c.conn_aes_key, s2c.aes_cb_civ.as_deref()).unwrap(),
            );
        }
        rsp
    }

    pub fn groups_request(group_type: i32) -> Vec<u8> {
        pb::qot_get_user_security_group::Request {
            c2s: pb::qot_get_user_security_group::C2s {
                group_type,
                header: Some(pb::qot_common::QotHeader {
                    security_firm: Some(0),
                }),
            },
        }
        .encode_to_vec()
    }

    pub fn groups(&mut self, group_type: i32) -> pb::qot_get_user_security_group::Response {
        let serial = self.send(3222, &Self::groups_request(group_type));
        let (h, body) = self.recv().expect("3222 reply");
        assert_eq!((h.proto_id, h.serial), (3222, serial));
        pb::qot_get_user_security_group::Response::decode(&body[..]).unwrap()
    }

    pub fn keep_alive(&mut self) -> pb::keep_alive::Response {
        let body = pb::keep_alive::Request {
            c2s: pb::keep_alive::C2s { time: 1 },
        }
        .encode_to_vec();
        let serial = self.send(1004, &body);
        let (h, body) = self.recv().expect("1004 reply");
        assert_eq!((h.proto_id, h.serial), (1004, serial));
        pb::keep_alive::Response::decode(&body[..]).unwrap()
    }
}

/// A 1024-bit test key, made once per test binary.
pub fn test_key() -> &'static (RsaKey, String) {
    static KEY: OnceLock<(RsaKey, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let pem = private
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .unwrap()
            .to_string();
        (RsaKey::from_pem(&pem).unwrap(), pem)
    })
}

pub fn names(rsp: &pb::qot_get_user_security_group::Response) -> Vec<(String, i32)> {
    rsp.s2c
        .as_ref()
        .expect("s2c present")
        .group_list
        .iter()
        .map(|g| (g.group_name.clone(), g.group_type))
        .collect()
}

pub const HDR: usize = HEADER_LEN;
