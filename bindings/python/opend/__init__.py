"""opend: a Futu / moomoo OpenD quote client for Python, over libftapi's C ABI (ctypes).

No protobuf dependency; pandas is optional. Two ways to use it:

Official call shape (the doc's sample runs with only ``from opend import *``)::

    quote_ctx = OpenQuoteContext(host='127.0.0.1', port=11111)
    ret, data = quote_ctx.get_user_security_group(group_type=UserSecurityGroupType.ALL)
    quote_ctx.close()

Modern API::

    with OpenQuoteContext(port=11111) as ctx:
        for g in ctx.groups(UserSecurityGroupType.CUSTOM, timeout=5):   # list[Group]
            print(g.name, g.group_type)
        ctx.get_user_security_group_async('ALL', lambda result: print(result.groups))

Errors of the modern API raise FtapiError (ret_type, err_code, message); its subclasses
FtapiTimeout (-100) and FtapiDisconnected (-200) are also TimeoutError / ConnectionError;
FtapiRateLimited (-300) is a refusal by the client-side rate limiter.

Beyond the official SDKs (keyword options of OpenQuoteContext)::

    ctx = OpenQuoteContext(port=11111, rate_limit_mode=RateLimitMode.WAIT,
                           auto_reconnect=True, state_callback=lambda st, why: print(st, why))
    ctx.state, ctx.server_ver, ctx.connect_id
    opend.set_log_callback(lambda level, target, msg: print(msg), level="debug")
    opend.log_to_logging()          # or: the library's lines into logging.getLogger("opend.native")

OpenD's WebSocket door (ws://, or wss:// with TLS) instead of its TCP port::

    ctx = OpenQuoteContext(host='127.0.0.1', port=33333, websocket_key='your key',
                           websocket_tls=True, tls_ca_file='ca.pem')
"""

import atexit
import ctypes
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from . import _native as _n
from ._native import lib as _lib

__all__ = [
    "RET_OK", "RET_ERROR", "UserSecurityGroupType", "OpenQuoteContext", "SysConfig",
    "Group", "GroupsResult", "FtapiError", "FtapiTimeout", "FtapiDisconnected",
    "FtapiConnectError", "native_version", "RateLimitMode", "FtapiRateLimited",
    "FtapiReconnecting", "set_log_callback", "log_to_logging", "ProtoResult",
]

__version__ = "0.1.0"

RET_OK = 0
RET_ERROR = -1

log = logging.getLogger("opend")

# The official client's messages for library-made outcomes (docs/PROTOCOL.md §5).
MSG_TIMEOUT = "PacketErr.Timeout"
MSG_DISCONNECT = "Disconnect"
MSG_CLOSED = "Connection closed"

DEFAULT_REQUEST_TIMEOUT = 12.0


class UserSecurityGroupType:
    """Group type of Get Groups From Watchlist; the official values are these strings."""
    NONE = "N/A"
    CUSTOM = "CUSTOM"
    SYSTEM = "SYSTEM"
    ALL = "ALL"


_GROUP_CODES = {"CUSTOM": _n.GROUP_CUSTOM, "SYSTEM": _n.GROUP_SYSTEM, "ALL": _n.GROUP_ALL}
_GROUP_NAMES = {_n.GROUP_CUSTOM: "CUSTOM", _n.GROUP_SYSTEM: "SYSTEM"}


class RateLimitMode:
    """Client-side rate limiter modes (the strings FTAPI_RATE_LIMIT accepts)."""
    OFF = "off"
    FAIL_FAST = "fail-fast"
    WAIT = "wait"


_RATE_MODES = {"off": _n.RATE_LIMIT_OFF, "fail-fast": _n.RATE_LIMIT_FAIL_FAST,
               "fail_fast": _n.RATE_LIMIT_FAIL_FAST, "wait": _n.RATE_LIMIT_WAIT}


def _rate_mode_code(mode):
    if isinstance(mode, str) and mode.lower() in _RATE_MODES:
        return _RATE_MODES[mode.lower()]
    raise ValueError(f"invalid rate_limit_mode: {mode!r} (expected 'off', 'fail-fast' or 'wait')")


def native_version() -> str:
    """The version of the loaded libftapi."""
    return _lib.ftapi_version().decode()


class SysConfig:
    """Process-wide defaults, as the official client's SysConfig."""
    _rsa_file: Optional[str] = None
    _encrypt: bool = False

    @classmethod
    def set_init_rsa_file(cls, path: str) -> None:
        cls._rsa_file = path

    @classmethod
    def enable_proto_encrypt(cls, is_encrypt: bool) -> None:
        cls._encrypt = bool(is_encrypt)


class FtapiError(Exception):
    """A failed call. ret_type: the reply's retType (-1 OpenD refused, -100 timeout,
    -200 disconnected, -500 unparsable) or -1 for a local error; err_code: OpenD's
    errCode, or the FtapiResult code of a local error (then ``result`` is set too)."""

    def __init__(self, message: str, ret_type: int = RET_ERROR, err_code: int = 0,
                 result: Optional[int] = None):
        super().__init__(message)
        self.message = message
        self.ret_type = ret_type
        self.err_code = err_code
        self.result = result

    def __repr__(self):
        return (f"{type(self).__name__}({self.message!r}, ret_type={self.ret_type}, "
                f"err_code={self.err_code}, result={self.result})")


class FtapiTimeout(FtapiError, TimeoutError):
    """No reply before the request's timeout (ret_type -100)."""


class FtapiDisconnected(FtapiError, ConnectionError):
    """The connection ended before the reply (ret_type -200), or is closed."""


class FtapiRateLimited(FtapiError):
    """Refused by the client-side rate limiter (ret_type -300, nothing was sent); the
    message says when the next slot frees."""


class FtapiReconnecting(FtapiDisconnected):
    """The connection dropped and auto-reconnect is under way (without queueing)."""


class FtapiConnectError(FtapiError, ConnectionError):
    """Connecting / InitConnect failed; err_code is the official 64-bit code."""


@dataclass(frozen=True)
class Group:
    """One watchlist group. group_type is 'CUSTOM' or 'SYSTEM'."""
    name: str
    group_type: str


@dataclass(frozen=True)
class GroupsResult:
    """The one outcome of a Get Groups From Watchlist request. ret_msg and err_code read
    "" and 0 when the reply did not carry them; has_ret_msg, has_err_code and has_s2c say
    whether it did (as protobuf's HasField would)."""
    serial_no: int
    ret_type: int
    ret_msg: str
    err_code: int
    groups: List[Group] = field(default_factory=list)
    has_ret_msg: bool = False
    has_err_code: bool = False
    has_s2c: bool = False

    @property
    def ok(self) -> bool:
        return self.ret_type == 0

    @property
    def error(self) -> Optional[FtapiError]:
        return None if self.ok else _reply_error(self.ret_type, self.ret_msg, self.err_code)


@dataclass(frozen=True)
class ProtoResult:
    """The one outcome of a send_proto request. reply_type: 0 OpenD's reply (body is its
    serialized Response), -100 timeout, -200 disconnected, -300 refused by the client-side
    rate limiter (body empty)."""
    serial_no: int
    reply_type: int
    proto_id: int
    body: bytes

    @property
    def ok(self) -> bool:
        return self.reply_type == 0


def _reply_error(ret_type, ret_msg, err_code):
    if ret_type == _n.REPLY_TIMEOUT:
        return FtapiTimeout(MSG_TIMEOUT, ret_type, err_code)
    if ret_type == _n.REPLY_DISCONNECT:
        return FtapiDisconnected(MSG_DISCONNECT, ret_type, err_code)
    if ret_type == _n.REPLY_RATE_LIMITED:
        return FtapiRateLimited(ret_msg or "rate limited locally", ret_type, err_code)
    if ret_type == _n.REPLY_INVALID:
        return FtapiError(ret_msg or "Invalid reply from OpenD", ret_type, err_code)
    return FtapiError(ret_msg or f"OpenD failed (retType {ret_type})", ret_type, err_code)


def _result_error(rc):
    if rc in (_n.ERR_CLOSED,):
        return FtapiDisconnected(MSG_CLOSED, RET_ERROR, rc, rc)
    if rc == _n.ERR_RECONNECTING:
        return FtapiReconnecting(f"{MSG_DISCONNECT}: {_n.result_message(rc)}", RET_ERROR, rc, rc)
    if rc == _n.ERR_NOT_READY:
        return FtapiDisconnected(f"{MSG_DISCONNECT}: {_n.result_message(rc)}", RET_ERROR, rc, rc)
    return FtapiError(_n.result_message(rc), RET_ERROR, rc, rc)


def _group_code(group_type):
    """Official strings (any case) map to 1/2/3; ints go to the library unchecked, which
    rejects anything but 1, 2, 3 with FTAPI_ERR_INVALID_GROUP_TYPE."""
    if isinstance(group_type, bool):
        raise FtapiError(f"invalid group_type: {group_type!r}", RET_ERROR,
                         _n.ERR_INVALID_GROUP_TYPE, _n.ERR_INVALID_GROUP_TYPE)
    if isinstance(group_type, int):
        if not -2**31 <= group_type < 2**31:
            raise FtapiError(f"invalid group_type: {group_type!r}", RET_ERROR,
                             _n.ERR_INVALID_GROUP_TYPE, _n.ERR_INVALID_GROUP_TYPE)
        return group_type
    if isinstance(group_type, str) and group_type.upper() in _GROUP_CODES:
        return _GROUP_CODES[group_type.upper()]
    raise FtapiError(f"invalid group_type: {group_type!r} (expected ALL, CUSTOM or SYSTEM)",
                     RET_ERROR, _n.ERR_INVALID_GROUP_TYPE, _n.ERR_INVALID_GROUP_TYPE)


def _copy_reply(serial, p):
    r = p.contents
    groups = []
    for i in range(r.group_count):
        g = r.groups[i]
        groups.append(Group(_n.c_str(g.group_name),
                            _GROUP_NAMES.get(g.group_type, str(g.group_type))))
    return GroupsResult(serial, r.ret_type, _n.c_str(r.ret_msg), r.err_code, groups,
                        bool(r.has_ret_msg), bool(r.has_err_code), bool(r.has_s2c))


# --- callbacks -----------------------------------------------------------------------
# The native library calls five module-level trampolines that live as long as the
# process, so no ctypes thunk is ever freed while native code may call it. user_data
# is a token into _cores; free_user_data (the last call that sees it) drops the entry.

_cores = {}
_cores_lock = threading.Lock()
_tokens = itertools.count(1)


def _core_of(ud):
    with _cores_lock:
        return _cores.get(ud or 0)


def _guarded(fn):
    def run(ud, *args):
        core = _core_of(ud)
        if core is None:
            return
        try:
            fn(core, *args)
        except BaseException:  # never unwind into the I/O thread
            log.exception("opend: internal error in a callback")
    return run


_on_init_connect = _n.ON_INIT_CONNECT(_guarded(
    lambda core, qot, err, desc: core._on_init_connect(err, _n.c_str(desc))))
_on_disconnect = _n.ON_DISCONNECT(_guarded(
    lambda core, qot, err, reason: core._on_disconnect(err, _n.c_str(reason))))
_on_push = _n.ON_PUSH(_guarded(
    lambda core, qot, proto, body, n: core._on_push(proto, ctypes.string_at(body, n) if n else b"")))


_on_state = _n.ON_STATE(_guarded(
    lambda core, qot, state, reason: core._on_state(state, _n.c_str(reason))))


# Per-request callbacks (ftapi_qot_*_cb): user_data is the address of the request's own
# (core, callback) tuple, whose reference the library holds from the send until its
# free_user_data, which runs exactly once (after the outcome, or before a failed send
# returns). No table: the library tells each outcome whose it is.
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes, _incref.restype = [ctypes.py_object], None
_decref = ctypes.pythonapi.Py_DecRef
_decref.argtypes, _decref.restype = [ctypes.py_object], None


def _hold(obj):
    """A reference for the library to hold, as user_data; _release_ud gives it back."""
    _incref(obj)
    return ctypes.c_void_p(id(obj))


def _held(ud):
    return ctypes.cast(ctypes.c_void_p(ud), ctypes.py_object).value


def _release_ud(ud):
    if ud:
        _decref(_held(ud))


def _request_done(ud, make_result):
    try:
        core, callback = _held(ud)
        core.run_user(callback, make_result())
    except BaseException:  # never unwind into the I/O thread
        log.exception("opend: internal error in a request callback")


_on_groups_done = _n.ON_REPLY_GROUP(
    lambda ud, qot, serial, reply: _request_done(ud, lambda: _copy_reply(serial, reply)))
_on_proto_done = _n.ON_REPLY(
    lambda ud, qot, kind, proto, serial, body, n: _request_done(
        ud, lambda: ProtoResult(serial, kind, proto, ctypes.string_at(body, n) if n else b"")))
_release_cb = _n.FREE_USER_DATA(_release_ud)


def _free_user_data(ud):
    with _cores_lock:
        core = _cores.pop(ud or 0, None)
    if core is not None:
        core._spi_released.set()


_free_cb = _n.FREE_USER_DATA(_free_user_data)


class _Core:
    """Owns one FtapiQot. Kept in _cores (not by the user's context) until the library's
    free_user_data, so callbacks never see a dead object. Frees the native object as soon
    as it is closed: the handle is a key the library checks, and a thread still inside a
    call holds the library's own reference, so nothing here counts threads."""

    def __init__(self):
        self.qot = _lib.ftapi_qot_new()
        if not self.qot:
            raise MemoryError("ftapi_qot_new failed")
        self.lock = threading.Lock()
        self.closed = False
        self.init_done = threading.Event()
        self.init_err = None
        self.init_desc = ""
        self.disconnected = threading.Event()
        self.disconnect_info = None
        self.callback_errors = []
        self.on_disconnect = None
        self.on_state = None
        self.on_push = None
        self._spi_released = threading.Event()
        self.token = next(_tokens)
        with _cores_lock:
            _cores[self.token] = self
        # Every request carries its own callback (or waits in a _sync call): the SPI's
        # reply callbacks stay NULL.
        spi = _n.FtapiQotSpi(ctypes.c_void_p(self.token), _on_init_connect, _on_disconnect,
                             _n.ON_REPLY_GROUP(), _n.ON_REPLY(), _on_push, _free_cb)
        rc = _lib.ftapi_qot_set_spi(self.qot, ctypes.byref(spi))
        if rc == _n.OK:
            # Same token; no free_user_data: the SPI's one drops the core, and closing
            # (which delivers the last states) happens before that.
            rc = _lib.ftapi_qot_set_state_callback(self.qot, _on_state,
                                                   ctypes.c_void_p(self.token), _n.FREE_USER_DATA())
        if rc != _n.OK:
            with _cores_lock:
                _cores.pop(self.token, None)
            _lib.ftapi_qot_free(self.qot)
            raise _result_error(rc)

    def enter(self):
        """Refuses a call on a closed connection with the official wording."""
        if self.closed:
            raise FtapiDisconnected(MSG_CLOSED, RET_ERROR, _n.ERR_CLOSED, _n.ERR_CLOSED)

    def error(self, rc):
        """The exception for a failed call. A connection closed by another thread while
        the call was on its way has a handle the library no longer knows
        (INVALID_ARGUMENT): that is the same "closed" as enter()'s."""
        if rc == _n.ERR_INVALID_ARGUMENT and self.closed:
            return FtapiDisconnected(MSG_CLOSED, RET_ERROR, _n.ERR_CLOSED, _n.ERR_CLOSED)
        return _result_error(rc)

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        # From another thread this returns after every pending request had its -200
        # and on_disconnect ran; from a callback it returns at once.
        _lib.ftapi_qot_close(self.qot)
        _lib.ftapi_qot_free(self.qot)

    # Callbacks (I/O thread).
    def _on_init_connect(self, err, desc):
        self.init_err, self.init_desc = err, desc
        self.init_done.set()  # a record that it ran (the waiting is the library's)

    def _on_disconnect(self, err, reason):
        self.disconnect_info = (err, reason)
        self.disconnected.set()
        handler = self.on_disconnect
        if handler is not None:
            self.run_user(handler, err, reason)

    def _on_state(self, state, reason):
        handler = self.on_state
        if handler is not None:
            self.run_user(handler, _n.STATE_NAMES.get(state, str(state)), reason)

    def _on_push(self, proto_id, body):
        handler = self.on_push
        if handler is not None:
            self.run_user(handler, proto_id, body)

    def run_user(self, fn, *args):
        try:
            fn(*args)
        except Exception as e:
            self.callback_errors.append(e)
            log.error("opend: exception in user callback %r", fn, exc_info=True)


@atexit.register
def _close_all():
    # The library's exit policy, as in every binding: every connection still open is closed
    # (pending requests get their -200, then the disconnect handler runs) while Python can
    # still run those callbacks, before the interpreter is finalized.
    _lib.ftapi_close_all()


class OpenQuoteContext:
    """A connection to OpenD. The constructor connects and waits for InitConnect.

    host, port: OpenD's address. is_encrypt: encrypt the connection (None: SysConfig's
    default); needs rsa_file (or rsa_key PEM text, or SysConfig.set_init_rsa_file).
    timeout: the per-request timeout in seconds (library default 12). connect_timeout:
    the longest the constructor waits for InitConnect. Raises FtapiConnectError when the
    connection fails (no retrying).

    Beyond the official client (all keyword-only, for this connection):
    rate_limit_mode: RateLimitMode.OFF / FAIL_FAST (library default: an over-quota request
    fails at once with FtapiRateLimited, ret_type -300) / WAIT (held until a slot frees);
    $FTAPI_RATE_LIMIT changes the default. rate_limits: {proto_id: (max, window_seconds)}
    (max 0 removes a quota; the default is 3222: 10 per 30 s). auto_reconnect: reconnect
    with backoff (reconnect_initial / reconnect_max seconds) after an unexpected
    disconnect; pending requests still fail with -200, new ones raise FtapiReconnecting
    meanwhile, or wait when queue_while_reconnecting. state_callback(state, reason):
    state changes ('CONNECTING', 'INITIALIZING', 'READY', 'CLOSING', 'CLOSED',
    'RECONNECTING') on the I/O thread, in order. silence_timeout: seconds of silence
    from OpenD before the connection is dropped (0 off, default 33).

    OpenD's WebSocket door (the port the official JavaScript SDK uses) instead of its TCP
    port: websocket_key, a string (even '' for none), selects it at host:port; only its MD5
    is sent. websocket_tls: wss:// (TLS; the certificate must name host) instead of ws://.
    tls_ca_file: a PEM file of CA certificates trusted for wss:// besides the system's
    (read now: an unreadable file or one without a certificate raises FtapiError with
    result FTAPI_ERR_BAD_CA_FILE, 15). A refused login raises FtapiConnectError with
    err_code 100 << 32 | 5, a TLS or WebSocket handshake failure one with 6 << 32. The
    WebSocket door has no RSA encryption: is_encrypt=True with it is a ValueError, and
    SysConfig's encryption default does not apply to it.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 11111, is_encrypt=None,
                 is_async_connect: bool = False, *, rsa_file: Optional[str] = None,
                 rsa_key: Optional[str] = None, timeout: Optional[float] = None,
                 connect_timeout: Optional[float] = None, client_id: str = "ftapi-python",
                 client_ver: int = 100, rate_limit_mode: Optional[str] = None,
                 rate_limits: Optional[dict] = None, auto_reconnect: bool = False,
                 reconnect_initial: Optional[float] = None,
                 reconnect_max: Optional[float] = None,
                 queue_while_reconnecting: bool = False,
                 state_callback: Optional[Callable[[str, str], None]] = None,
                 silence_timeout: Optional[float] = None,
                 websocket_key: Optional[str] = None, websocket_tls: bool = False,
                 tls_ca_file: Optional[str] = None):
        self._core = None
        if websocket_key is not None:
            if not isinstance(websocket_key, str):
                raise TypeError("websocket_key must be a str ('' for no key)")
            if is_encrypt:
                raise ValueError("is_encrypt applies to OpenD's TCP port; the WebSocket door "
                                 "(websocket_key) has no RSA encryption: use websocket_tls=True")
            is_encrypt = False
        elif websocket_tls:
            raise ValueError("websocket_tls=True needs websocket_key (a str, '' for no key), "
                             "which selects OpenD's WebSocket door")
        if is_encrypt is None:
            is_encrypt = SysConfig._encrypt
        if rsa_key is None and (rsa_file or (is_encrypt and SysConfig._rsa_file)):
            with open(rsa_file or SysConfig._rsa_file, "r", encoding="utf-8") as f:
                rsa_key = f.read()
        core = _Core()
        self._core = core
        try:
            self._check(_lib.ftapi_qot_set_client_info(core.qot, client_id.encode(), client_ver))
            self._check(_lib.ftapi_qot_set_programming_language(core.qot, b"Python"))
            req_ms = 0 if timeout is None else _ms(timeout)
            self._check(_lib.ftapi_qot_set_request_timeout(core.qot, req_ms))
            if rsa_key:
                self._check(_lib.ftapi_qot_set_rsa_private_key(core.qot, rsa_key.encode()))
            if rate_limit_mode is not None:
                self._check(_lib.ftapi_qot_set_rate_limit_mode(core.qot, _rate_mode_code(rate_limit_mode)))
            for proto_id, (max_n, window) in (rate_limits or {}).items():
                rc = _lib.ftapi_qot_set_rate_limit(core.qot, int(proto_id), int(max_n), _ms(window))
                if rc == _n.ERR_INVALID_ARGUMENT:  # the library's refusal (a window of 0)
                    raise ValueError(f"rate_limits[{proto_id}] = {(max_n, window)!r}: "
                                     f"{_n.result_message(rc)}")
                self._check(rc)
            if auto_reconnect:
                self._check(_lib.ftapi_qot_set_auto_reconnect(
                    core.qot, 1, 0 if reconnect_initial is None else _ms(reconnect_initial),
                    0 if reconnect_max is None else _ms(reconnect_max),
                    1 if queue_while_reconnecting else 0))
            if silence_timeout is not None:
                self._check(_lib.ftapi_qot_set_silence_timeout(core.qot, _ms(silence_timeout)))
            if state_callback is not None:
                if not callable(state_callback):
                    raise TypeError("state_callback must be callable")
                core.on_state = state_callback
            if tls_ca_file is not None:
                rc = _lib.ftapi_qot_set_tls_ca_file(core.qot, str(tls_ca_file).encode())
                if rc == _n.ERR_BAD_CA_FILE:
                    raise FtapiError(f"{_n.result_message(rc)}: tls_ca_file={str(tls_ca_file)!r}",
                                     RET_ERROR, rc, rc)
                self._check(rc)
            if connect_timeout is None:
                connect_timeout = (timeout or DEFAULT_REQUEST_TIMEOUT) + 5.0
            if websocket_key is None:
                self._check(_lib.ftapi_qot_init_connect(core.qot, host.encode(), int(port),
                                                        1 if is_encrypt else 0))
            else:
                self._check(_lib.ftapi_qot_init_connect_ws(core.qot, host.encode(), int(port),
                                                           1 if websocket_tls else 0,
                                                           websocket_key.encode()))
            if not is_async_connect:
                self._wait_connected(connect_timeout)
        except BaseException:
            core.close()
            raise

    @staticmethod
    def _check(rc):
        if rc != _n.OK:
            raise _result_error(rc)

    def _wait_connected(self, timeout):
        # The library's wait; it wakes up after on_init_connect ran, so init_desc is set.
        core = self._core
        code = ctypes.c_int64(-1)
        rc = _lib.ftapi_qot_wait_init(core.qot, _ms(timeout), ctypes.byref(code))
        if rc != _n.OK:
            raise FtapiConnectError(
                f"InitConnect got no outcome within {timeout:g} s: {_n.result_message(rc)}",
                RET_ERROR, rc, rc)
        core.init_err = code.value
        if core.init_err != 0:
            raise FtapiConnectError(
                f"connect failed: {core.init_desc} (err_code {core.init_err}: "
                f"{_lib.ftapi_err_code_high(core.init_err)}/{_lib.ftapi_err_code_low(core.init_err)})",
                RET_ERROR, core.init_err)

    # --- properties (a freed handle reads as 0 / CLOSED in the library itself) ---------
    @property
    def connect_id(self) -> int:
        c = self._core
        return 0 if c is None else _lib.ftapi_qot_get_connect_id(c.qot)

    @property
    def state(self) -> str:
        c = self._core
        if c is None:
            return "CLOSED"
        return _n.STATE_NAMES.get(_lib.ftapi_qot_get_state(c.qot), "UNKNOWN")

    @property
    def server_ver(self) -> int:
        """OpenD's serverVer from InitConnect (e.g. 903); 0 before."""
        c = self._core
        return 0 if c is None else _lib.ftapi_qot_get_server_ver(c.qot)

    def set_state_handler(self, handler: Optional[Callable[[str, str], None]]):
        """handler(state, reason) runs on the I/O thread for each state change, in order."""
        if handler is not None and not callable(handler):
            raise TypeError("handler must be callable")
        self._core.on_state = handler

    @property
    def callback_errors(self) -> List[BaseException]:
        """Exceptions raised by user callbacks (each was also logged to 'opend')."""
        return self._core.callback_errors

    @property
    def disconnect_info(self):
        """(err_code, reason) once the connection has ended, else None."""
        return self._core.disconnect_info

    def set_disconnect_handler(self, handler: Optional[Callable[[int, str], None]]):
        """handler(err_code, reason) runs on the I/O thread when the connection ends."""
        self._core.on_disconnect = handler

    # --- official shape ---------------------------------------------------------
    def get_user_security_group(self, group_type=UserSecurityGroupType.ALL):
        """Returns (RET_OK, data) or (RET_ERROR, message). data is a pandas DataFrame with
        columns group_name, group_type when pandas is installed, else a list of dicts."""
        try:
            groups = self.groups(group_type)
        except FtapiError as e:
            return RET_ERROR, e.message
        rows = [{"group_name": g.name, "group_type": g.group_type} for g in groups]
        try:
            import pandas as pd
        except ImportError:
            return RET_OK, rows
        return RET_OK, pd.DataFrame(rows, columns=["group_name", "group_type"])

    def close(self):
        """Closes the connection: pending requests end with 'Disconnect'. Idempotent."""
        if self._core is not None:
            self._core.close()

    # --- modern API -------------------------------------------------------------
    def groups(self, group_type=UserSecurityGroupType.ALL,
               timeout: Optional[float] = None) -> List[Group]:
        """The watchlist's groups; raises FtapiError (FtapiTimeout, FtapiDisconnected).
        timeout in seconds (None: the connection's request timeout)."""
        return self.get_user_security_group_result(group_type, timeout, raise_error=True).groups

    def get_user_security_group_result(self, group_type=UserSecurityGroupType.ALL,
                                       timeout: Optional[float] = None,
                                       raise_error: bool = False) -> GroupsResult:
        code = _group_code(group_type)
        core = self._core
        ms = 0 if timeout is None else _ms(timeout)
        out = ctypes.POINTER(_n.FtapiUserSecurityGroupReply)()
        core.enter()
        rc = _lib.ftapi_qot_get_user_security_group_sync(core.qot, code, ms, ctypes.byref(out))
        if rc != _n.OK:
            raise core.error(rc)
        try:
            result = _copy_reply(0, out)
        finally:
            _lib.ftapi_user_security_group_reply_free(out)
        if raise_error and not result.ok:
            raise result.error
        return result

    def get_user_security_group_async(self, group_type,
                                      callback: Callable[[GroupsResult], None]) -> int:
        """Sends the request and returns its serial number at once. callback(result)
        runs exactly once on the library's I/O thread: do not block there (the
        blocking calls raise FtapiError there). Its exceptions are logged to 'opend'
        and kept in callback_errors."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        code = _group_code(group_type)
        core = self._core
        serial = ctypes.c_uint32(0)
        core.enter()
        rc = _lib.ftapi_qot_get_user_security_group_cb(
            core.qot, code, _on_groups_done, _hold((core, callback)), _release_cb,
            ctypes.byref(serial))
        if rc != _n.OK:
            raise core.error(rc)
        return serial.value

    def send_proto(self, proto_id: int, body: bytes,
                   callback: Callable[["ProtoResult"], None]) -> int:
        """Sends any OpenD request: body is its serialized Request (protobuf bytes). Returns
        the serial number at once; callback(ProtoResult) runs exactly once on the library's
        I/O thread with the outcome (OpenD's serialized Response, or -100 / -200 / -300 with
        an empty body). Raises FtapiError when nothing could be sent (then callback never
        runs). As for get_user_security_group_async: do not block in the callback."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError("body must be bytes")
        if not 0 <= int(proto_id) < 2**32:
            raise ValueError(f"invalid proto_id: {proto_id!r}")
        data = bytes(body)
        core = self._core
        serial = ctypes.c_uint32(0)
        core.enter()
        rc = _lib.ftapi_qot_send_proto_cb(core.qot, int(proto_id), data, len(data),
                                          _on_proto_done, _hold((core, callback)),
                                          _release_cb, ctypes.byref(serial))
        if rc != _n.OK:
            raise core.error(rc)
        return serial.value

    def set_push_handler(self, handler: Optional[Callable[[int, bytes], None]]):
        """handler(proto_id, body) runs on the I/O thread for each push from OpenD (e.g.
        Notify, 1003), with its serialized Response; None removes it."""
        if handler is not None and not callable(handler):
            raise TypeError("handler must be callable")
        self._core.on_push = handler

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


# --- logging ---------------------------------------------------------------------------
# One permanent native thunk; user_data is a token into _log_handlers, dropped by the
# library's free_user_data once no call can see it.

_LOG_LEVELS = {"off": _n.LOG_OFF, "error": _n.LOG_ERROR, "warn": _n.LOG_WARN,
               "warning": _n.LOG_WARN, "info": _n.LOG_INFO, "debug": _n.LOG_DEBUG,
               "trace": _n.LOG_TRACE}
_log_handlers = {}
_log_lock = threading.Lock()


def _log_tramp(ud, level, target, message):
    with _log_lock:
        fn = _log_handlers.get(ud or 0)
    if fn is None:
        return
    try:
        fn(level, _n.c_str(target), _n.c_str(message))
    except BaseException:  # never unwind into the library's thread
        log.exception("opend: exception in the log callback")


def _log_free(ud):
    with _log_lock:
        _log_handlers.pop(ud or 0, None)


_log_thunk = _n.ON_LOG(_log_tramp)
_log_free_thunk = _n.FREE_USER_DATA(_log_free)


def set_log_callback(fn: Optional[Callable[[int, str, str], None]], level="debug") -> None:
    """Sends the library's log lines (process-wide) to fn(level, target, message), level
    1 error .. 5 trace, up to `level` ('error', 'warn', 'info', 'debug', 'trace' or 1-5).
    fn runs on whichever thread logs, possibly on several at once. At 'debug' there is
    one line per packet ('send proto=3222 serial=2 len=4', 'recv proto=3222 ...
    latency_us=85'); key material never appears. None goes back to stderr at $FTAPI_LOG."""
    if fn is None:
        _lib.ftapi_set_log_callback(_n.ON_LOG(), None, _n.FREE_USER_DATA(), 0)
        return
    if not callable(fn):
        raise TypeError("fn must be callable")
    if isinstance(level, str):
        if level.lower() not in _LOG_LEVELS:
            raise ValueError(f"invalid log level: {level!r}")
        code = _LOG_LEVELS[level.lower()]
    else:
        code = int(level)
        if not 0 <= code <= 5:
            raise ValueError(f"invalid log level: {level!r}")
    token = next(_tokens)
    with _log_lock:
        _log_handlers[token] = fn
    _lib.ftapi_set_log_callback(_log_thunk, ctypes.c_void_p(token), _log_free_thunk, code)


_TO_PY_LEVEL = {_n.LOG_ERROR: logging.ERROR, _n.LOG_WARN: logging.WARNING,
                _n.LOG_INFO: logging.INFO, _n.LOG_DEBUG: logging.DEBUG, _n.LOG_TRACE: 5}


def log_to_logging(logger: Optional[logging.Logger] = None, level="debug") -> None:
    """Bridges the library's log lines into `logger` (default logging.getLogger(
    'opend.native')): error/warn/info/debug map to the logging levels, trace to 5. The
    record's `ftapi_target` attribute holds the library's target (e.g. 'ftapi::conn')."""
    lg = logger or logging.getLogger("opend.native")

    def emit(lv, target, message):
        lg.log(_TO_PY_LEVEL.get(lv, logging.DEBUG), "%s", message, extra={"ftapi_target": target})

    set_log_callback(emit, level)


def _ms(seconds):
    """Seconds to the C ABI's milliseconds. 0 stays 0, which the library reads as its
    default wherever the header says so (as in every other language); a positive value
    never rounds down to 0."""
    s = float(seconds)
    if not s >= 0:  # also NaN
        raise ValueError(f"a time in seconds must be >= 0, not {seconds!r}")
    if s == 0:
        return 0
    return min(max(int(round(s * 1000)), 1), 2**32 - 1)
