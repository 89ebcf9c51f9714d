"""ctypes declarations of libftapi's C ABI (include/ftapi.h) and the library loader.

Only what the Python layer uses is declared. Strings cross the boundary as UTF-8 bytes.
"""

import ctypes
import ctypes.util
import os
import sys
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int32, c_int64, c_size_t,
                    c_uint8, c_uint16, c_uint32, c_uint64, c_void_p)

# Copies of include/ftapi.h's constants, named without the FTAPI_ prefix. Every constant of
# the header is here with the header's value: tests/test_constants.py parses the header and
# fails on a difference or on one missing here.

# FtapiResult (fixed values).
OK = 0
ERR_NULL_ARGUMENT = 1
ERR_INVALID_UTF8 = 2
ERR_INVALID_ARGUMENT = 3
ERR_INVALID_GROUP_TYPE = 4
ERR_NOT_READY = 5
ERR_CLOSED = 6
ERR_ALREADY_CONNECTED = 7
ERR_IN_CALLBACK = 8
ERR_BACKPRESSURE = 9
ERR_NO_RSA_KEY = 10
ERR_BAD_RSA_KEY = 11
ERR_PANIC = 12
ERR_TIMEOUT = 13
ERR_RECONNECTING = 14
ERR_BAD_CA_FILE = 15

# err_code parts (on_init_connect / on_disconnect): high << 32 | low.
INIT_FAIL = 100                  # high part of every InitConnect failure
INIT_FAIL_UNKNOWN = 0            # low parts with INIT_FAIL
INIT_FAIL_TIMEOUT = 1
INIT_FAIL_DISCONNECT = 3
INIT_FAIL_OPEND_REJECT = 5
CONNECT_FAIL_GET_HOST_BY_NAME = 4    # high parts (low part: errno)
CONNECT_FAIL_CONNECT = 6
CONNECT_FAIL_SEND = 10
CONNECT_FAIL_RECV = 11

# ret_type values of a reply.
REPLY_SERVER = 0
REPLY_FAILED = -1                # OpenD refused (not a header constant: OpenD's own retType)
REPLY_TIMEOUT = -100
REPLY_DISCONNECT = -200
REPLY_RATE_LIMITED = -300
REPLY_INVALID = -500

GROUP_CUSTOM = 1
GROUP_SYSTEM = 2
GROUP_ALL = 3

STATE_CONNECTING = 0
STATE_INITIALIZING = 1
STATE_READY = 2
STATE_CLOSING = 3
STATE_CLOSED = 4
STATE_RECONNECTING = 5
STATE_NAMES = {STATE_CONNECTING: "CONNECTING", STATE_INITIALIZING: "INITIALIZING",
               STATE_READY: "READY", STATE_CLOSING: "CLOSING", STATE_CLOSED: "CLOSED",
               STATE_RECONNECTING: "RECONNECTING"}

RATE_LIMIT_OFF = 0
RATE_LIMIT_FAIL_FAST = 1
RATE_LIMIT_WAIT = 2

LOG_OFF = 0
LOG_ERROR = 1
LOG_WARN = 2
LOG_INFO = 3
LOG_DEBUG = 4
LOG_TRACE = 5


class FtapiGroup(Structure):
    _fields_ = [("group_name", c_void_p), ("group_type", c_int32)]


class FtapiUserSecurityGroupReply(Structure):
    _fields_ = [
        ("ret_type", c_int32),
        ("ret_msg", c_void_p),
        ("err_code", c_int32),
        ("groups", POINTER(FtapiGroup)),
        ("group_count", c_size_t),
        ("pb", POINTER(c_uint8)),
        ("pb_len", c_size_t),
        ("has_ret_msg", c_uint8),
        ("has_err_code", c_uint8),
        ("has_s2c", c_uint8),
    ]


ON_INIT_CONNECT = CFUNCTYPE(None, c_void_p, c_void_p, c_int64, c_void_p)
ON_DISCONNECT = CFUNCTYPE(None, c_void_p, c_void_p, c_int64, c_void_p)
ON_REPLY_GROUP = CFUNCTYPE(None, c_void_p, c_void_p, c_uint32, POINTER(FtapiUserSecurityGroupReply))
ON_REPLY = CFUNCTYPE(None, c_void_p, c_void_p, c_int32, c_uint32, c_uint32, POINTER(c_uint8), c_size_t)
ON_PUSH = CFUNCTYPE(None, c_void_p, c_void_p, c_uint32, POINTER(c_uint8), c_size_t)
FREE_USER_DATA = CFUNCTYPE(None, c_void_p)
ON_STATE = CFUNCTYPE(None, c_void_p, c_void_p, c_int32, c_void_p)
ON_LOG = CFUNCTYPE(None, c_void_p, c_int32, c_void_p, c_void_p)


class FtapiQotSpi(Structure):
    _fields_ = [
        ("user_data", c_void_p),
        ("on_init_connect", ON_INIT_CONNECT),
        ("on_disconnect", ON_DISCONNECT),
        ("on_reply_get_user_security_group", ON_REPLY_GROUP),
        ("on_reply", ON_REPLY),
        ("on_push", ON_PUSH),
        ("free_user_data", FREE_USER_DATA),
    ]


def c_str(ptr):
    """Decodes a borrowed NUL-terminated UTF-8 string (NULL gives "")."""
    if not ptr:
        return ""
    return ctypes.string_at(ptr).decode("utf-8", errors="replace")


# The native library's file names per sys.platform: the wheel for each platform carries the
# first name; libftapi.so.0 is the soname a system install (make install) provides.
_LIBRARY_NAMES = {
    "linux": ("libftapi.so", "libftapi.so.0"),
    "win32": ("ftapi.dll",),
    "darwin": ("libftapi.dylib",),
}


def _platform_key(platform):
    # sys.platform is "linux" on Python 3.3+, "linux2" on older ones; "cygwin" is not win32.
    return "linux" if platform.startswith("linux") else platform


def _library_names(platform):
    """The file names of libftapi for a sys.platform value, most specific first. Raises
    ImportError naming the platform when opend has no library for it."""
    names = _LIBRARY_NAMES.get(_platform_key(platform))
    if names is None:
        raise ImportError(
            f"opend: no native library for this platform (sys.platform {platform!r}); "
            f"opend runs on {', '.join(sorted(_LIBRARY_NAMES))}. "
            "Set FTAPI_LIB to a libftapi built for this system to use it anyway.")
    return names


def _candidates(platform, env, here):
    """(path, must_be_file) in search order: next to the package, $FTAPI_LIB, $FTAPI_LIB_DIR.
    An unsupported platform still takes an explicit $FTAPI_LIB; otherwise its ImportError
    goes up."""
    explicit = env.get("FTAPI_LIB")
    try:
        names = _library_names(platform)
    except ImportError:
        if explicit:
            return [explicit]
        raise
    paths = [os.path.join(here, name) for name in names]
    if explicit:
        paths.append(explicit)
    if env.get("FTAPI_LIB_DIR"):
        paths += [os.path.join(env["FTAPI_LIB_DIR"], name) for name in names]
    return paths


def _load(platform=sys.platform, env=os.environ, here=os.path.dirname(os.path.abspath(__file__))):
    """Loads libftapi: the first of _candidates that loads, else the system's search (the
    platform's names, then ctypes.util.find_library). The ImportError names the platform
    and every attempt."""
    tried = []
    paths = _candidates(platform, env, here)
    for path in paths:
        if os.path.isfile(path):
            try:
                return ctypes.CDLL(path), path
            except OSError as e:
                tried.append(f"{path}: {e}")
        else:
            tried.append(f"{path}: not found")
    try:
        # The system's own search by name: the last name (Linux: the soname, libftapi.so.0).
        system = [_library_names(platform)[-1], ctypes.util.find_library("ftapi")]
    except ImportError:
        system = []     # an unsupported platform with $FTAPI_LIB: nothing else to try
    for name in system:
        if not name:
            continue
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            tried.append(f"{name} (system search): {e}")
    file = _library_names(platform)[0] if system else "libftapi"
    raise ImportError(f"opend: cannot load {file} for this platform (sys.platform {platform!r}); tried:\n  "
                      + "\n  ".join(tried)
                      + "\nInstall the opend wheel for this platform, or set FTAPI_LIB / FTAPI_LIB_DIR.")


lib, lib_path = _load()


def _sig(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_Qot = c_void_p
_sig("ftapi_version", c_char_p)
_sig("ftapi_result_message", c_char_p, c_int32)
_sig("ftapi_err_code_high", c_int32, c_int64)
_sig("ftapi_err_code_low", c_int32, c_int64)
_sig("ftapi_qot_new", _Qot)
_sig("ftapi_qot_free", None, _Qot)
_sig("ftapi_close_all", None)
_sig("ftapi_qot_set_client_info", c_int32, _Qot, c_char_p, c_int32)
_sig("ftapi_qot_set_programming_language", c_int32, _Qot, c_char_p)
_sig("ftapi_qot_set_rsa_private_key", c_int32, _Qot, c_char_p)
_sig("ftapi_qot_set_request_timeout", c_int32, _Qot, c_uint32)
_sig("ftapi_qot_set_spi", c_int32, _Qot, POINTER(FtapiQotSpi))
_sig("ftapi_qot_init_connect", c_int32, _Qot, c_char_p, c_uint16, c_int32)
_sig("ftapi_qot_init_connect_ws", c_int32, _Qot, c_char_p, c_uint16, c_int32, c_char_p)
_sig("ftapi_qot_set_tls_ca_file", c_int32, _Qot, c_char_p)
_sig("ftapi_qot_get_connect_id", c_uint64, _Qot)
_sig("ftapi_qot_get_state", c_int32, _Qot)
_sig("ftapi_qot_close", c_int32, _Qot)
_sig("ftapi_qot_get_user_security_group", c_int32, _Qot, c_int32, POINTER(c_uint32))
_sig("ftapi_qot_get_user_security_group_sync", c_int32, _Qot, c_int32, c_uint32,
     POINTER(POINTER(FtapiUserSecurityGroupReply)))
_sig("ftapi_user_security_group_reply_free", None, POINTER(FtapiUserSecurityGroupReply))
_sig("ftapi_qot_set_limits", c_int32, _Qot, c_uint32, c_size_t, c_size_t)
_sig("ftapi_qot_set_rate_limit_mode", c_int32, _Qot, c_int32)
_sig("ftapi_qot_set_rate_limit", c_int32, _Qot, c_uint32, c_uint32, c_uint32)
_sig("ftapi_qot_set_auto_reconnect", c_int32, _Qot, c_int32, c_uint32, c_uint32, c_int32)
_sig("ftapi_qot_set_state_callback", c_int32, _Qot, ON_STATE, c_void_p, FREE_USER_DATA)
_sig("ftapi_qot_get_server_ver", c_int32, _Qot)
_sig("ftapi_set_log_callback", None, ON_LOG, c_void_p, FREE_USER_DATA, c_int32)
_sig("ftapi_qot_set_silence_timeout", c_int32, _Qot, c_uint32)
_sig("ftapi_qot_wait_init", c_int32, _Qot, c_uint32, POINTER(c_int64))
# Per-request callbacks: the library keeps track of who waits for what, and runs
# free_user_data exactly once per call (after the outcome, or before a failed call returns).
_sig("ftapi_qot_get_user_security_group_cb", c_int32, _Qot, c_int32, ON_REPLY_GROUP, c_void_p,
     FREE_USER_DATA, POINTER(c_uint32))
_sig("ftapi_qot_send_proto_cb", c_int32, _Qot, c_uint32, c_char_p, c_size_t, ON_REPLY, c_void_p,
     FREE_USER_DATA, POINTER(c_uint32))


def result_message(code):
    return lib.ftapi_result_message(code).decode("utf-8", errors="replace")
