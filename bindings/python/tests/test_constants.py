"""Constants from one source: every constant of include/ftapi.h (#define lines and the
FtapiResult enum) must be in opend._native, named without the FTAPI_ prefix, with the
header's value. Python carries every family (result codes, err_code parts, reply kinds,
group types, states, rate limiter modes, log levels)."""
import os
import re

from opend import _native

from conftest import ROOT

HEADER = os.path.join(ROOT, "include", "ftapi.h")

_DEFINE = re.compile(r"^\s*#\s*define\s+(FTAPI_[A-Z0-9_]+)\s+\(?\s*(-?\d+)\s*\)?\s*$")
_ENUM = re.compile(r"^\s*(FTAPI_[A-Z0-9_]+)\s*=\s*(-?\d+)\s*,?\s*$")


def header_constants(text):
    found = {}
    for line in text.splitlines():
        m = _DEFINE.match(line) or _ENUM.match(line)
        if m:
            name, value = m.group(1), int(m.group(2))
            assert name not in found, f"{name} defined twice in ftapi.h"
            found[name] = value
    return found


def test_parser_reads_both_kinds_of_line():
    got = header_constants("#define FTAPI_A 100\n#define FTAPI_B -300\n  FTAPI_C = 15,\n"
                           "#define FTAPI_H\n  FTAPI_D = 0\n// FTAPI_E = 1\n")
    assert got == {"FTAPI_A": 100, "FTAPI_B": -300, "FTAPI_C": 15, "FTAPI_D": 0}


def test_every_header_constant_has_the_headers_value():
    with open(HEADER, encoding="utf-8") as f:
        consts = header_constants(f.read())
    # The parse itself must see every family, or this test would pass on nothing.
    for name in ("FTAPI_OK", "FTAPI_ERR_BAD_CA_FILE", "FTAPI_INIT_FAIL", "FTAPI_CONNECT_FAIL_RECV",
                 "FTAPI_REPLY_INVALID", "FTAPI_GROUP_ALL", "FTAPI_STATE_RECONNECTING",
                 "FTAPI_RATE_LIMIT_WAIT", "FTAPI_LOG_TRACE"):
        assert name in consts, f"the parser missed {name} in {HEADER}"
    problems = []
    for name, value in sorted(consts.items()):
        attr = name[len("FTAPI_"):]
        if not hasattr(_native, attr):
            problems.append(f"{name} = {value}: opend._native has no {attr}")
        elif getattr(_native, attr) != value:
            problems.append(f"{name} = {value}: opend._native.{attr} is {getattr(_native, attr)!r}")
    assert not problems, "constants differ from include/ftapi.h:\n  " + "\n  ".join(problems)


def test_state_names_cover_every_state():
    with open(HEADER, encoding="utf-8") as f:
        states = {v for k, v in header_constants(f.read()).items() if k.startswith("FTAPI_STATE_")}
    assert set(_native.STATE_NAMES) == states
    for value, name in _native.STATE_NAMES.items():
        assert getattr(_native, "STATE_" + name) == value


def test_result_messages_known_for_every_result_code():
    with open(HEADER, encoding="utf-8") as f:
        consts = header_constants(f.read())
    for name, value in consts.items():
        if name == "FTAPI_OK" or name.startswith("FTAPI_ERR_"):
            assert _native.result_message(value) != "unknown result code", name
