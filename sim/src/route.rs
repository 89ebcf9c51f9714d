//! What both doors share: routing a request to its answer (KeepAlive, 3222, the rest),
//! OpenD's limits, the record of what was received, and the fault plan for each reply.
//! A door decodes its own frames and encodes its own replies; everything between is here,
//! so every fault switch and limit behaves the same on the TCP and the WebSocket door.

use crate::{Faults, Lang, Received, Shared, random_bytes};
use opend_proto::limiter::SlidingWindow;
use opend_proto::pb;
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) const INIT_CONNECT: u32 = pb::proto_id::INIT_CONNECT;
pub(crate) const KEEP_ALIVE: u32 = pb::proto_id::KEEP_ALIVE;
pub(crate) const GROUPS: u32 = pb::proto_id::QOT_GET_USER_SECURITY_GROUP;

/// What the faults make of one reply. Decided once, applied by the door.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Plan {
    /// No reply at all.
    pub withhold: bool,
    /// Close (FIN) instead of answering.
    pub close: bool,
    /// Close with a TCP RST instead of answering.
    pub reset: bool,
    /// Wait this long before the reply (earlier replies go out first).
    pub delay: Option<Duration>,
    /// Break the reply's integrity check (the TCP door's SHA-1; the WebSocket door has
    /// none and flips the body's last byte instead).
    pub corrupt_integrity: bool,
    /// Flip the body's last byte as sent.
    pub corrupt_body: bool,
    /// A wrong magic / sign.
    pub bad_magic: bool,
    /// Announce an absurd length (the TCP header's nBodyLen; the WebSocket frame's).
    pub huge_len: bool,
    /// The right serial / section with proto ID + 1.
    pub wrong_proto: bool,
    pub duplicate: bool,
    /// 64 random bytes on the stream after the reply.
    pub garbage_after: bool,
    /// Send part of the reply's header, then close.
    pub close_mid_header: bool,
    /// Send the header and half the body, then close.
    pub close_mid_body: bool,
    /// OpenD's own link is lost (the WebSocket door's cmd 2).
    pub opend_lost: bool,
    /// The WebSocket header's `error` for this reply.
    pub peer_error: Option<i32>,
}

impl Plan {
    /// Whether this reply is not a normal one (then it does not count for `--after`).
    fn faulted(&self) -> bool {
        self.delay.is_some()
            || self.corrupt_integrity
            || self.corrupt_body
            || self.bad_magic
            || self.huge_len
            || self.wrong_proto
            || self.duplicate
            || self.garbage_after
            || self.peer_error.is_some()
    }
}

/// One connection's view of the simulated OpenD, whichever door it came through.
pub(crate) struct Session {
    pub(crate) shared: Arc<Shared>,
    index: u64,
    /// Requests answered without a fault, per proto ID (for `Faults::after_n`).
    answered: HashMap<u32, u32>,
    /// The per-connection 3222 window.
    rate: SlidingWindow,
    /// Requests recorded during the current batch, appended to `Shared::received` at once.
    records: Vec<Received>,
    /// The successful 3222 reply per groupType 1..=3 (slots 1–3), and 4–6 for the same
    /// without retMsg/errCode (`Faults::omit_ret_fields`): the watchlist never changes while
    /// the simulator runs, so it is encoded once per connection instead of per request.
    groups_cache: [Option<Vec<u8>>; 7],
}

impl Session {
    pub(crate) fn new(shared: Arc<Shared>, index: u64) -> Session {
        Session {
            shared,
            index,
            answered: HashMap::new(),
            rate: SlidingWindow::new(),
            records: Vec::new(),
            groups_cache: Default::default(),
        }
    }

    pub(crate) fn record(&mut self, proto_id: u32, serial: u32, body: &[u8]) {
        if self.shared.cfg.record_received {
            self.records.push(Received {
                conn_index: self.index,
                proto_id,
                serial,
                at: Instant::now(),
                body: body.to_vec(),
            });
        }
    }

    /// Appends this batch's records to the shared list.
    pub(crate) fn flush_records(&mut self) {
        if !self.records.is_empty() {
            self.shared.received.lock().append(&mut self.records);
        }
    }

    /// The fault plan for the reply to a request of `proto`.
    pub(crate) fn plan(&self, proto: u32, faults: &Faults) -> Plan {
        let armed = self.answered.get(&proto).copied().unwrap_or(0) >= faults.after_n;
        let hit = |f: Option<u32>| armed && f == Some(proto);
        Plan {
            withhold: armed && faults.withhold.contains(&proto),
            close: hit(faults.close_after),
            reset: hit(faults.reset),
            delay: faults.delay.filter(|_| {
                armed
                    && if faults.delay_protos.is_empty() {
                        proto != INIT_CONNECT && proto != KEEP_ALIVE
                    } else {
                        faults.delay_protos.contains(&proto)
                    }
            }),
            corrupt_integrity: hit(faults.corrupt_sha1),
            corrupt_body: hit(faults.corrupt_body),
            bad_magic: hit(faults.bad_magic),
            huge_len: hit(faults.huge_body_len),
            wrong_proto: hit(faults.wrong_proto),
            duplicate: hit(faults.duplicate),
            garbage_after: hit(faults.garbage_after),
            close_mid_header: hit(faults.close_mid_header),
            close_mid_body: hit(faults.close_mid_body),
            opend_lost: hit(faults.opend_lost),
            peer_error: faults
                .peer_error
                .filter(|(p, _)| armed && *p == proto)
                .map(|(_, e)| e),
        }
    }

    /// Counts a reply that went out as planned.
    pub(crate) fn answered(&mut self, proto: u32, plan: &Plan) {
        if !plan.faulted() {
            *self.answered.entry(proto).or_insert(0) += 1;
        }
    }

    /// The answer to a request after the handshake.
    pub(crate) fn answer(&mut self, proto: u32, plain: &[u8], faults: &Faults) -> Vec<u8> {
        let bare = faults.omit_ret_fields;
        match proto {
            KEEP_ALIVE => keep_alive(bare),
            GROUPS => self.groups(plain, bare),
            INIT_CONNECT => error_reply("InitConnect was already done on this connection", bare),
            _ => error_reply(&format!("unsupported proto {proto} (opend-sim)"), bare),
        }
    }

    /// A new connection ID: Unix milliseconds << 22 | a counter, like OpenD's.
    pub(crate) fn conn_id(&self) -> u64 {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let counter = self.shared.conn_counter.fetch_add(1, Ordering::AcqRel);
        (unix_ms << 22) | (counter & 0x3F_FFFF)
    }

    /// The 3222 reply: OpenD's limit, the group type, the configured watchlist.
    fn groups(&mut self, plain: &[u8], bare: bool) -> Vec<u8> {
        let cfg = &self.shared.cfg;
        if let Some(rl) = cfg.rate_limit {
            let now = Instant::now();
            let ok = if rl.per_connection {
                self.rate.admit(now, rl.max, rl.window).is_ok()
            } else {
                self.shared
                    .rate
                    .lock()
                    .admit(now, rl.max, rl.window)
                    .is_ok()
            };
            if !ok {
                let secs = rl.window.as_secs_f64();
                return error_reply(
                    &match cfg.lang {
                        Lang::En => format!(
                            "request frequency limit exceeded: at most {} Get Groups From Watchlist requests per {secs} s (opend-sim's own wording; the real OpenD text is unknown)",
                            rl.max
                        ),
                        Lang::Zh => format!(
                            "请求频率太高：获取自选股分组每 {secs} 秒最多 {} 次 (opend-sim 自拟文案，真实 OpenD 文案未知)",
                            rl.max
                        ),
                    },
                    bare,
                );
            }
        }
        let Ok(req) = pb::qot_get_user_security_group::Request::decode(plain) else {
            return error_reply("cannot parse the Qot_GetUserSecurityGroup request", bare);
        };
        let t = req.c2s.group_type;
        if !(1..=3).contains(&t) {
            return error_reply(
                &match cfg.lang {
                    Lang::En => {
                        format!(
                            "parameter error: groupType {t} is invalid (1 custom, 2 system, 3 all)"
                        )
                    }
                    Lang::Zh => format!("参数错误：groupType {t} 无效 (1 自定义, 2 系统, 3 全部)"),
                },
                bare,
            );
        }
        let slot = t as usize + if bare { 3 } else { 0 };
        if let Some(p) = &self.groups_cache[slot] {
            return p.clone();
        }
        let keep = |g: i32| match t {
            1 | 2 => g == t,
            _ => true,
        };
        let (ret_msg, err_code) = success_fields(bare);
        let rsp = pb::qot_get_user_security_group::Response {
            ret_type: 0,
            ret_msg,
            err_code,
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
        self.groups_cache[slot] = Some(p.clone());
        p
    }
}

/// `retMsg` and `errCode` of a successful reply: OpenD sends both, "" and 0, in every
/// successful Response (docs/PROTOCOL.md §5). `bare` (`Faults::omit_ret_fields`) leaves
/// them out, so that a client's handling of absent fields can be tested.
pub(crate) fn success_fields(bare: bool) -> (Option<String>, Option<i32>) {
    if bare {
        (None, None)
    } else {
        (Some(String::new()), Some(0))
    }
}

/// `errCode` of a refusal: 0, sent as OpenD sends it with every reply (docs/PROTOCOL.md §5);
/// absent when `bare`.
pub(crate) fn error_code(bare: bool) -> Option<i32> {
    (!bare).then_some(0)
}

fn keep_alive(bare: bool) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (ret_msg, err_code) = success_fields(bare);
    pb::keep_alive::Response {
        ret_type: 0,
        ret_msg,
        err_code,
        s2c: Some(pb::keep_alive::S2c { time: now }),
    }
    .encode_to_vec()
}

/// A `Response{retType=-1, retMsg, errCode=0}` (no `errCode` when `bare`); fields 1–3 are
/// the same in every proto's Response.
pub(crate) fn error_reply(msg: &str, bare: bool) -> Vec<u8> {
    pb::keep_alive::Response {
        ret_type: -1,
        ret_msg: Some(msg.to_owned()),
        err_code: error_code(bare),
        s2c: None,
    }
    .encode_to_vec()
}

/// 16 upper-case hex characters, like OpenD's connAESKey and aesCBCiv.
pub(crate) fn random_hex16() -> String {
    let mut b = [0u8; 8];
    random_bytes(&mut b);
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// 64 random bytes that do not start a frame (no 'F' of "FT", no 'f' of "ft-v1.0").
pub(crate) fn garbage() -> [u8; 64] {
    let mut junk = [0u8; 64];
    random_bytes(&mut junk);
    for b in &mut junk {
        if *b == b'F' || *b == b'f' {
            *b = b'G';
        }
    }
    junk
}
