//! `opend-sim`: a simulated Futu / moomoo OpenD, with both of OpenD's doors.
//!
//! - The TCP API port (`ft`): InitConnect (1001) with optional RSA + AES encryption,
//!   KeepAlive (1004), Notify pushes (1003) and Qot_GetUserSecurityGroup (3222).
//! - The WebSocket port (`ws`, optional, `ws://` or `wss://`): the Init login with the
//!   key's MD5, then the same requests, as the official JavaScript SDK speaks them.
//!
//! Both doors share one routing, limits and fault layer (`route`): the documented rate
//! limit and connection cap count across them, and every fault switch works on both, to
//! exercise a client's timeout, disconnect and protocol-error paths. The frame codecs,
//! SHA-1 memo, sliding-window limiter and cipher selection are the client library's own.
//!
//! ```no_run
//! let sim = opend_sim::Sim::start(opend_sim::Config::default()).unwrap();
//! println!("OpenD simulator on {}", sim.addr());
//! sim.stop();
//! ```
//!
//! Threading: one accept thread per door plus one thread per connection, all blocked in
//! the kernel while idle (a WebSocket connection wakes every 50 ms for queued pushes).
//! [`Sim::stop`] wakes them by shutting the sockets down.
//!
//! Choices where the real OpenD's behaviour is unknown (docs/PROTOCOL.md marks them
//! "unknown") are documented on the item they concern: see [`Config::max_connections`],
//! [`RateLimit`], [`Config::require_encryption`] and [`Config::ws_key`].

mod conn;
mod ft;
mod route;
mod ws;

pub use ws::WsTls;

use opend_proto::crypto::RsaKey;
use opend_proto::limiter::SlidingWindow;
use opend_proto::pb;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Which of OpenD's doors a connection came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Door {
    Tcp,
    WebSocket,
}

/// One watchlist group as 3222 returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    /// 1 = custom (made by the user), 2 = system (built in). Never 3.
    pub group_type: i32,
}

impl GroupEntry {
    pub fn new(name: impl Into<String>, group_type: i32) -> GroupEntry {
        GroupEntry {
            name: name.into(),
            group_type,
        }
    }
}

/// Language of the default group names and of the simulator's own messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

/// A sliding-window request limit for 3222 (OpenD documents 10 per 30 s).
///
/// Assumptions (the real behaviour is not documented): the window slides; requests
/// rejected for a bad parameter count toward it; requests rejected *by the limit
/// itself* do not, so a client that backs off gets through once the window moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
    /// Count per connection instead of per server (all connections together).
    pub per_connection: bool,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            max: 10,
            window: Duration::from_secs(30),
            per_connection: false,
        }
    }
}

/// Which AES variant an encrypting client gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AesMode {
    /// AES-CBC when the client asks for packetEncAlgo 2, FTAES-ECB when it asks for 0 or
    /// sends nothing.
    #[default]
    FollowClient,
    /// Always FTAES-ECB; InitConnect's reply then omits aesCBCiv (that is how the Python
    /// client knows).
    ForceFtAesEcb,
}

/// Faults to inject. Everything off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Never answer these proto IDs (1001: InitConnect never answered; 1004: KeepAlive
    /// unanswered). A withheld InitConnect still sets the connection up.
    pub withhold: Vec<u32>,
    /// Close the TCP connection instead of answering this proto ID.
    pub close_after: Option<u32>,
    /// Delay replies by this long.
    pub delay: Option<Duration>,
    /// The proto IDs to delay; empty = every proto except 1001 and 1004.
    pub delay_protos: Vec<u32>,
    /// Flip a bit in the header SHA-1 of replies to this proto ID.
    pub corrupt_sha1: Option<u32>,
    /// Flip the last byte of the body as sent (after encryption) of replies to this proto
    /// ID: on an encrypted connection the client cannot decrypt it.
    pub corrupt_body: Option<u32>,
    /// Answer InitConnect with retType -1 and this retMsg.
    pub reject_init: Option<String>,
    /// Write every reply one byte per `write()`, 1 ms apart.
    pub byte_at_a_time: bool,
    /// On this proto ID: write the first 20 bytes of the reply header, then close.
    pub close_mid_header: Option<u32>,
    /// On this proto ID: write the header and half the body, then close.
    pub close_mid_body: Option<u32>,
    /// Reply to this proto ID with the magic "XT" instead of "FT".
    pub bad_magic: Option<u32>,
    /// Reply to this proto ID with nBodyLen = 0xFFFF_FFFF (the real body follows).
    pub huge_body_len: Option<u32>,
    /// On this proto ID: close with SO_LINGER 0, so the client sees a TCP RST.
    pub reset: Option<u32>,
    /// Append 64 random bytes (never starting with "FT") after the reply to this proto ID.
    pub garbage_after: Option<u32>,
    /// Reply to this proto ID with the right serial number but proto ID + 1.
    pub wrong_proto: Option<u32>,
    /// Send the reply to this proto ID twice.
    pub duplicate: Option<u32>,
    /// After InitConnect, never read from the socket again (the client's writes back up).
    pub stop_reading: bool,
    /// On this proto ID, OpenD's own link is lost: the WebSocket door pushes cmd 2 (its
    /// side lost OpenD) instead of answering and keeps the socket open; on the TCP door
    /// the socket is that link, so it closes.
    pub opend_lost: Option<u32>,
    /// Answer this proto ID with the WebSocket header's `error` set to this value (1 no
    /// reply in time, 2 OpenD's own timeout, 3 the link to OpenD closed) and no body. The
    /// TCP door has no such field: 1 and 2 withhold the reply, 3 closes the connection.
    pub peer_error: Option<(u32, i32)>,
    /// The faults above that name a proto ID (and `delay`) only apply once this many
    /// requests of that proto ID have been answered normally on the connection
    /// (0 = from the first).
    pub after_n: u32,
    /// Leave `retMsg` and `errCode` out of every reply and push the simulator builds
    /// (InitConnect, the WebSocket login, KeepAlive, 3222, Notify); a refusal keeps its
    /// `retMsg`, which says why. OpenD sends both (docs/PROTOCOL.md §5); this is for
    /// testing that a client keeps fields absent when they arrive absent.
    pub omit_ret_fields: bool,
}

/// Simulator settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on; loopback by default.
    pub host: String,
    /// 0 = pick a free port (see [`Sim::port`]).
    pub port: u16,
    /// The WebSocket door's port (0 = a free one, see [`Sim::ws_port`]); `None` = no
    /// WebSocket door.
    pub ws_port: Option<u16>,
    /// The WebSocket key: a login must carry its MD5 (lowercase hex, as the official
    /// JavaScript SDK sends it). `None` accepts any key. What the real OpenD answers to a
    /// wrong key is unknown; the simulator refuses the login with `error` -1, errmsg
    /// "wrong websocket key", a `retType -1` body, and closes the connection.
    pub ws_key: Option<String>,
    /// Serve the WebSocket door as `wss://` with this certificate.
    pub ws_tls: Option<WsTls>,
    /// The watchlist, in the order 3222 returns it.
    pub groups: Vec<GroupEntry>,
    pub lang: Lang,
    /// Seconds, sent in InitConnect's reply (the real OpenD sends 10).
    pub keep_alive_interval: i32,
    /// The 3222 limit; `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
    /// The documented OpenD cap is 128, counted across both doors. What a real OpenD does
    /// with the next one is unknown; the simulator accepts it and closes it at once (the
    /// client sees EOF before any reply to its InitConnect or WebSocket handshake).
    pub max_connections: usize,
    /// With a key, clients may encrypt (docs/PROTOCOL.md §4). Without one, an RSA-encrypted
    /// InitConnect cannot be read and its connection is closed.
    pub rsa_key: Option<RsaKey>,
    /// Refuse (retType -1) any InitConnect that would leave the connection unencrypted:
    /// a plaintext one, or an RSA-encrypted one with packetEncAlgo -1.
    pub require_encryption: bool,
    pub aes_mode: AesMode,
    pub faults: Faults,
    /// A request frame announcing a larger body closes the connection.
    pub max_body_len: usize,
    /// serverVer in InitConnect's reply.
    pub server_ver: i32,
    /// loginUserID in InitConnect's reply.
    pub login_user_id: u64,
    /// Close a connection from which nothing arrives for this long (docs/PROTOCOL.md §3:
    /// whether the real OpenD drops silent clients is unknown). `None` (default) = never.
    pub idle_timeout: Option<Duration>,
    /// Keep every request for [`Sim::received`]. The binary turns it off so that long
    /// benchmark runs do not grow without bound.
    pub record_received: bool,
    /// After answering a request of one of these proto IDs, push a Notify (1003,
    /// ConnStatus: quotes logged in) to that connection, as [`Sim::push_notify`] would: a
    /// way for a test program outside Rust to get a push when it wants one.
    pub notify_on: Vec<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 0,
            ws_port: None,
            ws_key: None,
            ws_tls: None,
            groups: Config::default_groups(Lang::En),
            lang: Lang::En,
            keep_alive_interval: 10,
            rate_limit: Some(RateLimit::default()),
            max_connections: 128,
            rsa_key: None,
            require_encryption: false,
            aes_mode: AesMode::FollowClient,
            faults: Faults::default(),
            max_body_len: opend_proto::wire::DEFAULT_MAX_BODY_LEN,
            server_ver: 903,
            login_user_id: 10_086_001,
            idle_timeout: None,
            record_received: true,
            notify_on: Vec::new(),
        }
    }
}

impl Config {
    /// The groups seen with the official Python client (docs/PROTOCOL.md §9): ten system
    /// groups, then the custom groups "A" and "C".
    pub fn default_groups(lang: Lang) -> Vec<GroupEntry> {
        let system: [&str; 10] = match lang {
            Lang::En => [
                "All",
                "Starred",
                "CN",
                "HK",
                "US",
                "Options",
                "HK options",
                "US options",
                "Futures",
                "Bonds",
            ],
            Lang::Zh => [
                "全部",
                "特别关注",
                "沪深",
                "港股",
                "美股",
                "期权",
                "港股期权",
                "美股期权",
                "期货",
                "债券",
            ],
        };
        system
            .iter()
            .map(|n| GroupEntry::new(*n, 2))
            .chain(["A", "C"].iter().map(|n| GroupEntry::new(*n, 1)))
            .collect()
    }
}

/// One request frame as the simulator received it.
#[derive(Clone, Debug)]
pub struct Received {
    /// 1 for the first accepted connection, then 2, 3, ...
    pub conn_index: u64,
    pub proto_id: u32,
    pub serial: u32,
    pub at: Instant,
    /// The plaintext body (after RSA / AES decryption).
    pub body: Vec<u8>,
}

/// State shared by the accept thread, the connection threads and the [`Sim`] handle.
pub(crate) struct Shared {
    pub(crate) cfg: Config,
    pub(crate) faults: RwLock<Arc<Faults>>,
    pub(crate) received: Mutex<Vec<Received>>,
    pub(crate) accepted: AtomicU64,
    pub(crate) conns: Mutex<HashMap<u64, Arc<conn::Conn>>>,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) stopping: AtomicBool,
    /// Guards nothing; paired with `stop_cv` so that delays and parked connections
    /// wake at once on stop.
    pub(crate) stop_lock: Mutex<()>,
    pub(crate) stop_cv: Condvar,
    /// The per-server 3222 window.
    pub(crate) rate: Mutex<SlidingWindow>,
    /// Low bits of connID.
    pub(crate) conn_counter: AtomicU64,
    /// The next connection's index (1, 2, ... across both doors).
    pub(crate) next_index: AtomicU64,
}

impl Shared {
    pub(crate) fn faults(&self) -> Arc<Faults> {
        self.faults.read().clone()
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Sleeps for `d`, or less if the simulator stops. Returns false if it stopped.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut g = self.stop_lock.lock();
        while !self.is_stopping() {
            if self.stop_cv.wait_until(&mut g, deadline).timed_out() {
                return !self.is_stopping();
            }
        }
        false
    }

    /// Blocks until the simulator stops.
    pub(crate) fn park_until_stop(&self) {
        let mut g = self.stop_lock.lock();
        while !self.is_stopping() {
            self.stop_cv.wait(&mut g);
        }
    }
}

/// One door's listening socket and accept thread.
struct Listener {
    socket: Arc<TcpListener>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

/// A running simulator. Dropping it stops it, like [`Sim::stop`].
pub struct Sim {
    shared: Arc<Shared>,
    tcp: Listener,
    ws: Option<Listener>,
}

fn listen(shared: &Arc<Shared>, host: &str, port: u16, door: Door) -> io::Result<Listener> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    let socket = Arc::new(TcpListener::bind(&addrs[..])?);
    let addr = socket.local_addr()?;
    let thread = {
        let shared = shared.clone();
        let socket = socket.clone();
        let name = match door {
            Door::Tcp => "opend-sim-accept",
            Door::WebSocket => "opend-sim-ws-accept",
        };
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || accept_loop(&shared, &socket, door))?
    };
    Ok(Listener {
        socket,
        thread: Some(thread),
        addr,
    })
}

impl Listener {
    /// Stops accepting and joins the accept thread.
    fn close(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        // Shutdown on a listening socket makes a blocked accept() return at once on Linux.
        let _ = socket2::SockRef::from(&*self.socket).shutdown(Shutdown::Both);
        // Elsewhere, a connection wakes the accept loop, which then sees `stopping`.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(100));
        let _ = thread.join();
    }
}

impl Sim {
    /// Binds the listeners (the TCP door, and the WebSocket door when
    /// [`Config::ws_port`] is set) and starts accepting connections.
    pub fn start(config: Config) -> io::Result<Sim> {
        let shared = Arc::new(Shared {
            faults: RwLock::new(Arc::new(config.faults.clone())),
            cfg: config,
            received: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
            stop_lock: Mutex::new(()),
            stop_cv: Condvar::new(),
            rate: Mutex::new(SlidingWindow::new()),
            conn_counter: AtomicU64::new(0),
            next_index: AtomicU64::new(1),
        });
        let host = shared.cfg.host.clone();
        let tcp = listen(&shared, &host, shared.cfg.port, Door::Tcp)?;
        let mut sim = Sim {
            shared: shared.clone(),
            tcp,
            ws: None,
        };
        if let Some(p) = shared.cfg.ws_port {
            // On failure, dropping `sim` stops the TCP door again.
            sim.ws = Some(listen(&shared, &host, p, Door::WebSocket)?);
        }
        Ok(sim)
    }

    /// The TCP door's port.
    pub fn port(&self) -> u16 {
        self.tcp.addr.port()
    }

    /// The TCP door's address.
    pub fn addr(&self) -> SocketAddr {
        self.tcp.addr
    }

    /// The WebSocket door's port, if it has one.
    pub fn ws_port(&self) -> Option<u16> {
        self.ws.as_ref().map(|l| l.addr.port())
    }

    /// The WebSocket door's address, if it has one.
    pub fn ws_addr(&self) -> Option<SocketAddr> {
        self.ws.as_ref().map(|l| l.addr)
    }

    /// Replaces the faults; they apply from the next batch of packets each connection
    /// reads (and from the next connection).
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.write() = Arc::new(faults);
    }

    /// Every request frame received so far, on all connections of both doors, in
    /// arrival order. Empty if [`Config::record_received`] is off.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().clone()
    }

    /// Connections accepted so far on both doors, including those closed at once for
    /// exceeding [`Config::max_connections`].
    pub fn connections_accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Acquire)
    }

    /// Connections currently served, on both doors.
    pub fn open_connections(&self) -> usize {
        self.shared.conns.lock().len()
    }

    /// Pushes a Notify (1003) to every initialised connection: on the TCP door those
    /// whose InitConnect set recvNotify, encrypted like their replies, serial numbers from
    /// a per-connection counter starting at 1; on the WebSocket door every logged-in one,
    /// with section 0.
    pub fn push_notify(&self, s2c: pb::notify::S2c) {
        let plain = notify_body(s2c, self.shared.faults().omit_ret_fields);
        let conns: Vec<Arc<conn::Conn>> = self.shared.conns.lock().values().cloned().collect();
        for c in conns {
            c.push(pb::proto_id::NOTIFY, &plain);
        }
    }

    /// Closes the listeners and every connection and joins all threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.shared.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            let _g = self.shared.stop_lock.lock();
            self.shared.stop_cv.notify_all();
        }
        self.tcp.close();
        if let Some(ws) = &mut self.ws {
            ws.close();
        }
        for c in self.shared.conns.lock().values() {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *self.shared.threads.lock());
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener, door: Door) {
    loop {
        let res = listener.accept();
        if shared.is_stopping() {
            return;
        }
        let stream = match res {
            Ok((s, _)) => s,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                // EMFILE and friends: back off briefly instead of spinning.
                if !shared.sleep(Duration::from_millis(20)) {
                    return;
                }
                continue;
            }
        };
        shared.accepted.fetch_add(1, Ordering::AcqRel);
        if shared.conns.lock().len() >= shared.cfg.max_connections {
            // Over the cap (both doors together): accepted, then closed at once.
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let index = shared.next_index.fetch_add(1, Ordering::AcqRel);
        let (c, ws_sock) = match door {
            Door::Tcp => (Arc::new(conn::Conn::ft(index, stream)), None),
            Door::WebSocket => match stream.try_clone() {
                Ok(second) => (Arc::new(conn::Conn::ws(index, second)), Some(stream)),
                Err(_) => continue,
            },
        };
        shared.conns.lock().insert(index, c.clone());
        let shared2 = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("opend-sim-conn-{index}"))
            .spawn(move || match ws_sock {
                None => ft::serve(shared2, c),
                Some(sock) => ws::serve(shared2, c, sock),
            });
        let mut threads = shared.threads.lock();
        threads.retain(|t| !t.is_finished());
        match spawned {
            Ok(t) => threads.push(t),
            Err(_) => {
                shared.conns.lock().remove(&index);
            }
        }
    }
}

/// Fills `buf` from the OS random source.
pub(crate) fn random_bytes(buf: &mut [u8]) {
    if getrandom::getrandom(buf).is_ok() {
        return;
    }
    // The OS source never fails on a supported system; fall back to a time-seeded mix.
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15)
        | 1;
    for b in buf {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

/// A Notify push's plaintext `Response`.
/// `retMsg` "" and `errCode` 0 like every successful Response of OpenD's, unless `bare`.
fn notify_body(s2c: pb::notify::S2c, bare: bool) -> Vec<u8> {
    let (ret_msg, err_code) = route::success_fields(bare);
    let rsp = pb::notify::Response {
        ret_type: 0,
        ret_msg,
        err_code,
        s2c: Some(s2c),
    };
    prost::Message::encode_to_vec(&rsp)
}

/// The Notify of [`Config::notify_on`]: ConnStatus, quotes logged in, trading not.
pub(crate) fn conn_status_notify(bare: bool) -> Vec<u8> {
    notify_body(
        pb::notify::S2c {
            r#type: 3,
            event: None,
            connect_status: Some(pb::notify::ConnectStatus {
                qot_logined: true,
                trd_logined: false,
            }),
        },
        bare,
    )
}
