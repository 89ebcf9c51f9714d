//! A reusable connection slot: one object that is configured, connected, closed and
//! connected again, as the official SDKs' connection objects are. The C ABI's `FtapiQot`,
//! the Java binding's `FTAPI_Conn` and the Node addon's websocket each hold one and only
//! translate: the option policies and the rules for a second connect live here, once.
//!
//! Policies (the same in every language):
//! - a millisecond value of 0 means the option's default (timeouts, limits, reconnect
//!   bounds), and for the silence watchdog "off"; a wait of 0 ms waits without limit;
//! - a blank PEM or CA path clears the key or the extra CA certificates;
//! - a rate-limit quota of 0 requests removes the quota; a window of 0 ms is invalid;
//! - encryption without an RSA key is refused before anything is attempted;
//! - a second connect while a connection is live is refused ([`SecondConnect::Refuse`])
//!   or replaces it ([`SecondConnect::Replace`], the official Java and JavaScript SDKs'
//!   behaviour): the live one is closed first, with its outcomes. Once the previous
//!   connection has ended (also from inside its own callbacks) a connect always starts,
//!   and forgets the ended one even if its own arguments are then refused.

use super::{Outcome, Qot, Request};
use crate::crypto::{CryptoError, RsaKey};
use crate::engine::{self, ConnectError, Events, Options, Quota, RateLimitMode, State};
use crate::engine::{TlsError, TlsRoots, WebSocketKey};
use crate::qot::QotError;
use parking_lot::Mutex;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What a connect does while the slot's connection is still live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondConnect {
    /// Refuse it ([`ConnectError::AlreadyConnected`]): the C ABI, C++, C#, Python.
    Refuse,
    /// Close the live connection and start the new one: Java, JavaScript.
    Replace,
}

/// Which of OpenD's doors a connect goes through, with the settings a connect call
/// names. The slot completes it with the keys it holds (the RSA key, the CA roots) into
/// the engine's [`crate::door::Door`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Door {
    /// The TCP API port; `encrypt` asks for RSA + AES (needs the RSA key).
    Tcp { encrypt: bool },
    /// The WebSocket port, `wss://` when `tls`; `key` is OpenD's WebSocket key (only its
    /// MD5 is sent; `None` or "" sends an empty key).
    WebSocket { tls: bool, key: Option<String> },
}

/// A setting the slot refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The PEM text is not a 1024-bit RSA private key.
    BadRsaKey(CryptoError),
    /// The CA file cannot be used.
    BadCaFile(TlsError),
    /// A quota with a window of 0 ms.
    ZeroWindow,
    /// A rate-limit mode other than 0 (off), 1 (fail-fast), 2 (wait).
    UnknownRateLimitMode(i32),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadRsaKey(e) => write!(f, "bad RSA private key: {e}"),
            ConfigError::BadCaFile(e) => write!(f, "{e}"),
            ConfigError::ZeroWindow => write!(f, "a rate-limit window of 0 ms is invalid"),
            ConfigError::UnknownRateLimitMode(m) => write!(
                f,
                "unknown rate limit mode {m} (0 off, 1 fail-fast, 2 wait)"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why [`QotSlot::wait_init`] returned without an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// Nothing was connected yet.
    NotStarted,
    /// Still running after the wait.
    Timeout,
    /// Called from inside a callback, where waiting would deadlock.
    InCallback,
}

/// Keys a connect's door takes from the slot.
#[derive(Clone, Default)]
struct Keys {
    rsa_key: Option<RsaKey>,
    tls_roots: Option<TlsRoots>,
}

impl Keys {
    fn from_door(door: &engine::Door) -> Keys {
        match door {
            engine::Door::Tcp { rsa_key, .. } => Keys {
                rsa_key: rsa_key.clone(),
                tls_roots: None,
            },
            engine::Door::WebSocket { tls_roots, .. } => Keys {
                rsa_key: None,
                tls_roots: tls_roots.clone(),
            },
        }
    }
}

/// A millisecond setting: 0 means "the default".
fn ms(v: u64) -> Option<Duration> {
    (v != 0).then(|| Duration::from_millis(v))
}

/// A reusable connection (see the module documentation).
pub struct QotSlot {
    options: Mutex<Options>,
    /// The TCP door's RSA key and the WebSocket door's extra CA roots, kept until a
    /// connect picks its door.
    keys: Mutex<Keys>,
    current: Mutex<Option<Arc<Qot>>>,
    second_connect: SecondConnect,
}

impl fmt::Debug for QotSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QotSlot")
            .field("current", &*self.current.lock())
            .field("second_connect", &self.second_connect)
            .finish()
    }
}

impl QotSlot {
    /// A slot that connects with `options` (as changed by the setters).
    pub fn new(options: Options, second_connect: SecondConnect) -> QotSlot {
        QotSlot {
            keys: Mutex::new(Keys::from_door(&options.door)),
            options: Mutex::new(options),
            current: Mutex::new(None),
            second_connect,
        }
    }

    /// The options the next connect uses.
    pub fn options(&self) -> Options {
        self.options.lock().clone()
    }

    /// Changes the options of connections started afterwards.
    pub fn configure(&self, f: impl FnOnce(&mut Options)) {
        f(&mut self.options.lock());
    }

    /// InitConnect's `clientID` and `clientVer`.
    pub fn set_client_info(&self, client_id: &str, client_ver: i32) {
        self.configure(|o| {
            o.client_id = client_id.to_owned();
            o.client_ver = client_ver;
        });
    }

    /// The `programmingLanguage` OpenD is told.
    pub fn set_programming_language(&self, language: &str) {
        self.configure(|o| o.programming_language = language.to_owned());
    }

    /// The RSA private key shared with OpenD (PEM, PKCS#1 or PKCS#8, 1024 bits), checked
    /// now; blank text clears it.
    pub fn set_rsa_private_key(&self, pem: &str) -> Result<(), ConfigError> {
        let key = if pem.trim().is_empty() {
            None
        } else {
            Some(RsaKey::from_pem(pem).map_err(ConfigError::BadRsaKey)?)
        };
        self.set_rsa_key(key);
        Ok(())
    }

    /// Extra CA certificates trusted for `wss://` (a PEM file), read now; a blank path
    /// clears them (the system's roots stay).
    pub fn set_tls_ca_file(&self, path: &str) -> Result<(), ConfigError> {
        let roots = if path.trim().is_empty() {
            None
        } else {
            Some(TlsRoots::from_pem_file(path).map_err(ConfigError::BadCaFile)?)
        };
        self.keys.lock().tls_roots = roots;
        Ok(())
    }

    /// Sets or clears the RSA private key shared with OpenD (already parsed).
    pub fn set_rsa_key(&self, key: Option<RsaKey>) {
        self.keys.lock().rsa_key = key;
    }

    /// The RSA private key the TCP door's next connect uses.
    pub fn rsa_key(&self) -> Option<RsaKey> {
        self.keys.lock().rsa_key.clone()
    }

    /// The per-request timeout (and InitConnect's); 0 restores 12 s.
    pub fn set_request_timeout_ms(&self, timeout_ms: u64) {
        self.configure(|o| o.set_request_timeout(ms(timeout_ms)));
    }

    /// The TCP connect (and TLS/WebSocket handshake) timeout, the largest body accepted
    /// from OpenD and the send-buffer limit; 0 keeps a value's default.
    pub fn set_limits(
        &self,
        connect_timeout_ms: u64,
        max_body_len: usize,
        send_buffer_limit: usize,
    ) {
        let nonzero = |v: usize| (v != 0).then_some(v);
        self.configure(|o| {
            o.set_limits(
                ms(connect_timeout_ms),
                nonzero(max_body_len),
                nonzero(send_buffer_limit),
            )
        });
    }

    /// The silence watchdog; 0 turns it off.
    pub fn set_silence_timeout_ms(&self, timeout_ms: u64) {
        self.configure(|o| o.silence_timeout = ms(timeout_ms));
    }

    /// The rate limiter's mode: 0 off, 1 fail-fast, 2 wait.
    pub fn set_rate_limit_mode(&self, mode: i32) -> Result<(), ConfigError> {
        let mode = RateLimitMode::from_i32(mode).ok_or(ConfigError::UnknownRateLimitMode(mode))?;
        self.configure(|o| o.rate_limit_mode = mode);
        Ok(())
    }

    /// At most `max` requests of `proto_id` per sliding `window_ms`; `max` 0 removes the
    /// quota, a window of 0 ms with a quota is refused.
    pub fn set_rate_limit(
        &self,
        proto_id: u32,
        max: u32,
        window_ms: u64,
    ) -> Result<(), ConfigError> {
        if max == 0 {
            self.configure(|o| {
                o.rate_limits.remove(&proto_id);
            });
            return Ok(());
        }
        if window_ms == 0 {
            return Err(ConfigError::ZeroWindow);
        }
        let q = Quota {
            max,
            window: Duration::from_millis(window_ms),
        };
        self.configure(|o| {
            o.rate_limits.insert(proto_id, q);
        });
        Ok(())
    }

    /// Auto-reconnect on or off; bounds of 0 keep the defaults (500 ms, 30 s).
    pub fn set_auto_reconnect(&self, enable: bool, initial_ms: u64, max_ms: u64, queue: bool) {
        self.configure(|o| o.set_auto_reconnect(enable, ms(initial_ms), ms(max_ms), queue));
    }

    /// Starts connecting to OpenD through `door`; the outcome arrives in
    /// `events.on_init_connect`. Bad arguments are refused before anything is closed or
    /// attempted; then the second-connect rule applies.
    pub fn connect(
        &self,
        door: Door,
        host: &str,
        port: u16,
        events: impl Events,
    ) -> Result<Arc<Qot>, ConnectError> {
        let mut options = self.options();
        let keys = self.keys.lock().clone();
        options.door = match door {
            Door::Tcp { encrypt } => engine::Door::Tcp {
                encrypt,
                rsa_key: keys.rsa_key,
            },
            Door::WebSocket { tls, key } => engine::Door::WebSocket {
                tls,
                key: key.filter(|k| !k.is_empty()).map(WebSocketKey::new),
                tls_roots: keys.tls_roots,
            },
        };
        // An ended connection is forgotten by any connect, even one whose arguments are
        // then refused (the object reads as never connected).
        let ended = {
            let mut cur = self.current.lock();
            let over = cur
                .as_ref()
                .is_some_and(|q| matches!(q.connection().state(), State::Closing | State::Closed));
            if over { cur.take() } else { None }
        };
        drop(ended);
        engine::check_start(host, port, &options)?;
        let previous = {
            let mut cur = self.current.lock();
            let live = cur
                .as_ref()
                .is_some_and(|q| !matches!(q.connection().state(), State::Closing | State::Closed));
            if live && self.second_connect == SecondConnect::Refuse {
                return Err(ConnectError::AlreadyConnected);
            }
            cur.take()
        };
        // Outside the lock: closing waits for the old connection's callbacks, which may
        // call into this slot. (From the old connection's own I/O thread it returns at
        // once and the rest follows.)
        if let Some(p) = previous {
            p.close();
        }
        // Hold the slot while starting, so that a callback of the new connection (a
        // request sent from on_init_connect, say) finds it here.
        let mut cur = self.current.lock();
        if cur.is_some() {
            // Another thread started one meanwhile; keep theirs.
            return Err(ConnectError::AlreadyConnected);
        }
        let q = Arc::new(Qot::start(host, port, options, events)?);
        *cur = Some(q.clone());
        Ok(q)
    }

    /// The current connection, if one was started (it may have ended).
    pub fn current(&self) -> Option<Arc<Qot>> {
        self.current.lock().clone()
    }

    /// Closes the current connection (see [`crate::Connection::close`]); the slot may
    /// connect again. Idempotent.
    pub fn close(&self) {
        // Never hold the lock across close: callbacks run during it and may call in.
        if let Some(q) = self.current() {
            q.close();
        }
    }

    /// Closes and forgets the current connection (the slot itself is being freed).
    pub fn release(&self) {
        let q = self.current.lock().take();
        if let Some(q) = q {
            q.close();
        }
    }

    /// Waits until the current connect's handshake has succeeded or failed and returns
    /// its error code (0 on success). `timeout_ms` 0 waits without limit.
    pub fn wait_init(&self, timeout_ms: u64) -> Result<i64, WaitError> {
        if engine::on_io_thread() {
            return Err(WaitError::InCallback);
        }
        let q = self.current().ok_or(WaitError::NotStarted)?;
        let timeout = ms(timeout_ms).unwrap_or(Duration::from_secs(u32::MAX.into()));
        q.connection()
            .wait_init(timeout)
            .map(|(code, _)| code)
            .ok_or(WaitError::Timeout)
    }

    /// The connection's state; [`State::Closed`] before the first connect.
    pub fn state(&self) -> State {
        self.current()
            .map_or(State::Closed, |q| q.connection().state())
    }

    /// The connection ID from the handshake; 0 before it.
    pub fn conn_id(&self) -> u64 {
        self.current().map_or(0, |q| q.connection().conn_id())
    }

    /// OpenD's serverVer from InitConnect; 0 before it (and on the WebSocket door).
    pub fn server_ver(&self) -> i32 {
        self.current()
            .map_or(0, |q| q.connection().session_info().server_ver)
    }

    /// Sends a typed request on the current connection and waits for its outcome
    /// ([`Qot::request_blocking_as`]); `timeout_ms` 0 means the request timeout.
    pub fn request_blocking_as<R: Request, O: Outcome<R>>(
        &self,
        request: R,
        timeout_ms: u64,
    ) -> Result<O, QotError> {
        let q = self
            .current()
            .ok_or(QotError::Send(engine::SendError::NotReady))?;
        q.request_blocking_as(request, ms(timeout_ms))
    }
}

impl Drop for QotSlot {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_policies_are_the_same_for_every_binding() {
        let s = QotSlot::new(Options::default(), SecondConnect::Refuse);
        s.set_request_timeout_ms(300);
        assert_eq!(s.options().request_timeout, Duration::from_millis(300));
        s.set_request_timeout_ms(0);
        assert_eq!(s.options().request_timeout, Duration::from_secs(12));
        assert_eq!(s.set_rate_limit(3222, 5, 0), Err(ConfigError::ZeroWindow));
        s.set_rate_limit(3222, 5, 1000).unwrap();
        assert_eq!(s.options().rate_limits[&3222].max, 5);
        s.set_rate_limit(3222, 0, 0).unwrap();
        assert!(!s.options().rate_limits.contains_key(&3222));
        assert_eq!(
            s.set_rate_limit_mode(7),
            Err(ConfigError::UnknownRateLimitMode(7))
        );
        assert!(matches!(
            s.set_rsa_private_key("not a key"),
            Err(ConfigError::BadRsaKey(_))
        ));
        s.set_rsa_private_key("  \n").unwrap();
        assert!(s.rsa_key().is_none());
        s.set_silence_timeout_ms(0);
        assert_eq!(s.options().silence_timeout, None);
        assert!(matches!(
            s.set_tls_ca_file("/nonexistent.pem"),
            Err(ConfigError::BadCaFile(_))
        ));
        s.set_tls_ca_file("").unwrap();
        assert_eq!(s.wait_init(1), Err(WaitError::NotStarted));
        assert_eq!(s.state(), State::Closed);
    }

    #[test]
    fn bad_arguments_and_a_missing_key_are_refused_before_anything_starts() {
        struct NoEvents;
        impl Events for NoEvents {}
        let s = QotSlot::new(Options::default(), SecondConnect::Replace);
        assert_eq!(
            s.connect(Door::Tcp { encrypt: true }, "127.0.0.1", 1, NoEvents)
                .unwrap_err(),
            ConnectError::NoRsaKey
        );
        assert!(matches!(
            s.connect(Door::Tcp { encrypt: false }, "", 1, NoEvents),
            Err(ConnectError::InvalidArgument(_))
        ));
        assert!(s.current().is_none());
    }
}
