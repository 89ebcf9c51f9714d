//! Error codes of `on_init_connect` / `on_disconnect`, as the official SDKs make them:
//! `high << 32 | low` (docs/PROTOCOL.md §6).
//!
//! - High part a `ConnectFailType`: low part is the OS error number (0 if none).
//! - High part [`INIT_FAIL`] (100): low part is an `InitFailType`.

/// `FTAPI_InitFail`: the high part of every InitConnect failure.
pub const INIT_FAIL: i32 = 100;

/// `ConnectFailType`: why the TCP connection failed or ended.
pub mod connect_fail {
    pub const UNKNOWN: i32 = -1;
    pub const NONE: i32 = 0;
    pub const CREATE_FAILED: i32 = 1;
    pub const GET_HOST_BY_NAME_FAILED: i32 = 4;
    pub const GET_HOST_BY_NAME_WRONG: i32 = 5;
    pub const CONNECT_FAILED: i32 = 6;
    pub const SEND_FAILED: i32 = 10;
    pub const RECV_FAILED: i32 = 11;
}

/// `InitFailType`: why InitConnect failed (with high part [`INIT_FAIL`]).
pub mod init_fail {
    pub const UNKNOWN: i32 = 0;
    pub const TIMEOUT: i32 = 1;
    pub const DISCONNECT: i32 = 3;
    pub const OPEND_REJECT: i32 = 5;
}

/// OS error numbers the library makes itself, as the low part of a `ConnectFailType`
/// code: the values this platform's sockets report.
pub mod os {
    /// A connect, a handshake or the silence watchdog timed out: `ETIMEDOUT`.
    #[cfg(unix)]
    pub const TIMED_OUT: i32 = libc::ETIMEDOUT;
    /// A connect, a handshake or the silence watchdog timed out: `WSAETIMEDOUT`.
    #[cfg(windows)]
    pub const TIMED_OUT: i32 = 10060;
    #[cfg(not(any(unix, windows)))]
    pub const TIMED_OUT: i32 = 0;
}

/// Builds `high << 32 | low`; the low part is taken as 32 unsigned bits.
pub const fn make(high: i32, low: i32) -> i64 {
    ((high as i64) << 32) | (low as u32 as i64)
}

/// The high part (`ConnectFailType` or [`INIT_FAIL`]).
pub const fn high(code: i64) -> i32 {
    (code >> 32) as i32
}

/// The low part (OS error number or `InitFailType`).
pub const fn low(code: i64) -> i32 {
    code as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_official_values() {
        assert_eq!(make(INIT_FAIL, init_fail::OPEND_REJECT), 429496729605);
        assert_eq!(make(INIT_FAIL, init_fail::TIMEOUT), 429496729601);
        assert_eq!(make(connect_fail::CONNECT_FAILED, 0), 25769803776);
        assert_eq!(make(connect_fail::UNKNOWN, 0), -4294967296);
        assert_eq!(high(make(connect_fail::CONNECT_FAILED, 111)), 6);
        assert_eq!(low(make(connect_fail::CONNECT_FAILED, 111)), 111);
    }
}
