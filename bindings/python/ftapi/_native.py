"""ctypes declarations of libftapi's C ABI (include/ftapi.h) and the library loader.

Only what the Python layer uses is declared. Strings cross the boundary as UTF-8 bytes.
"""

import ctypes
import ctypes.util
import os
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


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("libftapi.so", "libftapi.so.0"):
        yield os.path.join(here, name)
    if os.environ.get("FTAPI_LIB"):
        yield os.environ["FTAPI_LIB"]
    if os.environ.get("FTAPI_LIB_DIR"):
        for name in ("libftapi.so", "libftapi.so.0"):
            yield os.path.join(os.environ["FTAPI_LIB_DIR"], name)


def _load():
    tried = []
    for path in _candidates():
        if os.path.isfile(path):
            try:
                return ctypes.CDLL(path), path
            except OSError as e:
                tried.append(f"{path}: {e}")
        else:
            tried.append(f"{path}: not found")
    for name in ("libftapi.so.0", ctypes.util.find_library("ftapi")):
        if not name:
            continue
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            tried.append(f"{name}: {e}")
    raise ImportError("ftapi: cannot load libftapi.so; tried:\n  " + "\n  ".join(tried)
                      + "\nInstall the ftapi wheel, or set FTAPI_LIB / FTAPI_LIB_DIR.")


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
