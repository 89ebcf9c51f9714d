"""OpenD's WebSocket door (ws:// and wss://) through OpenQuoteContext(websocket_key=...,
websocket_tls=..., tls_ca_file=...): the official sample, a wrong key, CA file and TLS
failures, and the TCP suite's fault cases that apply to this door (request timeout, the
server closing the connection, close with requests pending), each over ws:// and wss://."""
import os
import subprocess
import sys
import threading
import time

import pytest

from opend import (RET_ERROR, FtapiConnectError, FtapiDisconnected, FtapiError, FtapiReconnecting,
                   FtapiTimeout, OpenQuoteContext)

from conftest import ROOT, Sim
from test_official_shape import EN_SYSTEM, OFFICIAL_SAMPLE

KEY = "py ws key ✓"
REQ_ALL = b"\x0a\x02\x08\x03"   # Qot_GetUserSecurityGroup.Request { c2s { groupType: 3 } }
REFUSED = 100 << 32 | 5         # FTAPI_INIT_FAIL << 32 | FTAPI_INIT_FAIL_OPEND_REJECT
CONNECT_FAIL_CONNECT = 6
CONNECT_FAIL_RECV = 11


def ws_flags(door, certs, *flags, key=KEY):
    """opend-sim flags for a WebSocket door (wss:// with the test certificates)."""
    out = ["--ws-port", "0", *flags]
    if key is not None:
        out += ["--ws-key", key]
    if door == "wss":
        out += ["--ws-tls-cert", certs["cert"], "--ws-tls-key", certs["key"]]
    return out


def ws_args(door, certs, key=KEY):
    """OpenQuoteContext's keyword arguments for that door."""
    if door == "wss":
        return {"websocket_key": key, "websocket_tls": True, "tls_ca_file": certs["ca"]}
    return {"websocket_key": key}


def wait(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


@pytest.fixture(scope="module", params=["ws", "wss"])
def door(request):
    return request.param


@pytest.fixture(scope="module")
def wsim(sim_factory, door, tls_certs):
    return sim_factory(*ws_flags(door, tls_certs, "--rate-limit", "off"))


@pytest.fixture(scope="module")
def withhold_wsim(sim_factory, door, tls_certs):
    return sim_factory(*ws_flags(door, tls_certs, "--withhold", "3222", "--rate-limit", "off"))


@pytest.fixture(scope="module")
def close_wsim(sim_factory, door, tls_certs):
    return sim_factory(*ws_flags(door, tls_certs, "--close-after", "3222", "--rate-limit", "off"))


def sample_for(port, door, certs, key=KEY):
    args = f"host='127.0.0.1', port={port}, websocket_key={key!r}"
    if door == "wss":
        args += f", websocket_tls=True, tls_ca_file={certs['ca']!r}"
    src = OFFICIAL_SAMPLE.replace("host='127.0.0.1', port=11111", args)
    assert src != OFFICIAL_SAMPLE
    return src


def run_sample(tmp_path, src):
    script = tmp_path / "sample.py"
    script.write_text(src, encoding="utf-8")
    t = time.monotonic()
    # A hang fails the test here (TimeoutExpired) instead of hanging the suite.
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60, cwd=str(tmp_path))
    return out, time.monotonic() - t


# --- the official sample ---------------------------------------------------------------

def test_official_sample_over_websocket(wsim, door, tls_certs, tmp_path):
    out, _ = run_sample(tmp_path, sample_for(wsim.ws_port, door, tls_certs))
    assert out.returncode == 0, out.stderr
    assert "error:" not in out.stdout
    for name in EN_SYSTEM + ["A", "C"]:
        assert f"'group_name': '{name}'" in out.stdout
    assert out.stdout.count("'SYSTEM'") == 10 and out.stdout.count("'CUSTOM'") == 2


def test_official_sample_with_wrong_key_is_refused_and_exits(wsim, door, tls_certs, tmp_path):
    out, elapsed = run_sample(tmp_path, sample_for(wsim.ws_port, door, tls_certs, key="wrong"))
    assert out.returncode != 0
    assert "FtapiConnectError" in out.stderr and "refused" in out.stderr.lower(), out.stderr
    assert str(REFUSED) in out.stderr
    assert elapsed < 30


# --- login and TLS failures --------------------------------------------------------------

def test_wrong_key_raises_connect_error(wsim, door, tls_certs):
    t = time.monotonic()
    with pytest.raises(FtapiConnectError) as ei:
        OpenQuoteContext(port=wsim.ws_port, **ws_args(door, tls_certs, key="not the key"))
    assert time.monotonic() - t < 10
    e = ei.value
    assert e.err_code == REFUSED and isinstance(e, ConnectionError)
    assert "websocket login" in e.message.lower() and "refused" in e.message.lower(), e.message
    assert "not the key" not in e.message     # the key never appears


def test_official_shape_calls_and_state_over_websocket(wsim, door, tls_certs):
    states = []
    ctx = OpenQuoteContext(host="127.0.0.1", port=wsim.ws_port, state_callback=lambda s, r: states.append(s),
                           **ws_args(door, tls_certs))
    try:
        assert ctx.state == "READY" and ctx.connect_id != 0
        assert ctx.server_ver == 0   # the WebSocket login carries no serverVer
        ret, data = ctx.get_user_security_group(group_type="CUSTOM")
        assert (ret, data) == (0, [{"group_name": "A", "group_type": "CUSTOM"},
                                   {"group_name": "C", "group_type": "CUSTOM"}])
        assert [g.name for g in ctx.groups("SYSTEM", timeout=5)] == EN_SYSTEM
    finally:
        ctx.close()
    assert states == ["CONNECTING", "INITIALIZING", "READY", "CLOSING", "CLOSED"]
    assert ctx.disconnect_info[0] == 0


def test_empty_key_selects_the_websocket_door(sim_factory):
    s = sim_factory("--ws-port", "0", "--rate-limit", "off")   # no --ws-key: any key logs in
    with OpenQuoteContext(port=s.ws_port, websocket_key="") as ctx:
        assert len(ctx.groups("ALL", timeout=5)) == 12
    # the same call at the TCP port speaks WebSocket there, and fails clearly
    with pytest.raises(FtapiConnectError):
        OpenQuoteContext(port=s.port, websocket_key="", connect_timeout=10)
    # and without websocket_key the TCP door is used, as before
    with OpenQuoteContext(port=s.port) as ctx:
        assert len(ctx.groups("ALL", timeout=5)) == 12


@pytest.fixture(scope="module")
def tls_sim(sim_factory, tls_certs):
    return sim_factory(*ws_flags("wss", tls_certs, "--rate-limit", "off"))


def test_missing_ca_file_raises_bad_ca_file(tls_sim, tmp_path):
    missing = str(tmp_path / "no-such-ca.pem")
    t = time.monotonic()
    with pytest.raises(FtapiError) as ei:
        OpenQuoteContext(port=tls_sim.ws_port, websocket_key=KEY, websocket_tls=True,
                         tls_ca_file=missing)
    assert time.monotonic() - t < 5
    assert ei.value.result == 15 and ei.value.err_code == 15   # FTAPI_ERR_BAD_CA_FILE
    assert "CA file" in ei.value.message and missing in ei.value.message


def test_ca_file_without_certificate_raises_bad_ca_file(tls_sim, tls_certs, tmp_path):
    text = tmp_path / "not-pem.txt"
    text.write_text("no PEM here\n")
    for path in (str(text), tls_certs["key"]):   # no PEM at all; PEM without a certificate
        with pytest.raises(FtapiError) as ei:
            OpenQuoteContext(port=tls_sim.ws_port, websocket_key=KEY, websocket_tls=True,
                             tls_ca_file=path)
        assert ei.value.result == 15 and path in ei.value.message, path


def test_corrupt_certificate_in_ca_file_fails_the_connect_naming_the_file(tls_sim, tmp_path):
    # A CERTIFICATE block is taken when the file is read; its DER is checked at the handshake.
    bad = tmp_path / "bad-ca.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    t = time.monotonic()
    with pytest.raises(FtapiConnectError) as ei:
        OpenQuoteContext(port=tls_sim.ws_port, websocket_key=KEY, websocket_tls=True,
                         tls_ca_file=str(bad))
    assert time.monotonic() - t < 10
    assert ei.value.err_code >> 32 == CONNECT_FAIL_CONNECT
    assert str(bad) in ei.value.message, ei.value.message


def test_wss_without_the_ca_fails_the_tls_handshake(tls_sim):
    t = time.monotonic()
    with pytest.raises(FtapiConnectError) as ei:
        OpenQuoteContext(port=tls_sim.ws_port, websocket_key=KEY, websocket_tls=True)
    assert time.monotonic() - t < 10
    assert ei.value.err_code >> 32 == CONNECT_FAIL_CONNECT
    assert "certificate" in ei.value.message.lower(), ei.value.message


def test_wss_with_another_ca_fails_the_tls_handshake(tls_sim, tmp_path):
    other = tmp_path / "other-certs"
    subprocess.run([os.path.join(ROOT, "tests", "c", "make-test-certs.sh"), str(other)],
                   check=True, capture_output=True, timeout=60)
    with pytest.raises(FtapiConnectError) as ei:
        OpenQuoteContext(port=tls_sim.ws_port, websocket_key=KEY, websocket_tls=True,
                         tls_ca_file=str(other / "ca.pem"))
    assert ei.value.err_code >> 32 == CONNECT_FAIL_CONNECT
    assert "certificate" in ei.value.message.lower(), ei.value.message


def test_plain_ws_to_the_tls_door_fails_clearly(tls_sim):
    t = time.monotonic()
    with pytest.raises(FtapiConnectError) as ei:
        OpenQuoteContext(port=tls_sim.ws_port, websocket_key=KEY, connect_timeout=15)
    assert time.monotonic() - t < 15
    assert ei.value.err_code >> 32 == CONNECT_FAIL_CONNECT
    assert "websocket handshake" in ei.value.message.lower(), ei.value.message


def test_argument_checks(tls_sim):
    with pytest.raises(ValueError):
        OpenQuoteContext(port=tls_sim.ws_port, websocket_tls=True)   # no websocket_key
    with pytest.raises(ValueError):
        OpenQuoteContext(port=tls_sim.ws_port, websocket_key=KEY, is_encrypt=True)
    with pytest.raises(TypeError):
        OpenQuoteContext(port=tls_sim.ws_port, websocket_key=b"bytes")


# --- faults the TCP suite runs, over this door ---------------------------------------------

def test_timeout_official_shape(withhold_wsim, door, tls_certs):
    ctx = OpenQuoteContext(port=withhold_wsim.ws_port, timeout=0.4, **ws_args(door, tls_certs))
    t = time.monotonic()
    ret, msg = ctx.get_user_security_group()
    elapsed = time.monotonic() - t
    ctx.close()
    assert ret == RET_ERROR and "Timeout" in msg
    assert 0.3 < elapsed < 5


def test_timeout_per_call_and_async(withhold_wsim, door, tls_certs):
    got, done = [], threading.Event()
    with OpenQuoteContext(port=withhold_wsim.ws_port, **ws_args(door, tls_certs)) as ctx:
        with pytest.raises(FtapiTimeout) as ei:
            ctx.groups("ALL", timeout=0.3)
        assert ei.value.ret_type == -100
        assert ctx.state == "READY"   # a timeout does not end the connection
    with OpenQuoteContext(port=withhold_wsim.ws_port, timeout=0.3, **ws_args(door, tls_certs)) as ctx:
        ctx.get_user_security_group_async("ALL", lambda r: (got.append(r), done.set()))
        assert done.wait(5)
        ctx.send_proto(3222, REQ_ALL, got.append)
        assert wait(lambda: len(got) == 2)
    time.sleep(0.1)
    assert [r.ret_type for r in got[:1]] == [-100] and got[1].reply_type == -100
    assert len(got) == 2   # exactly one outcome each, none after close


def test_server_closing_gives_disconnect(close_wsim, door, tls_certs):
    seen, done = [], threading.Event()
    ctx = OpenQuoteContext(port=close_wsim.ws_port, **ws_args(door, tls_certs))
    ctx.set_disconnect_handler(lambda err, reason: (seen.append((err, reason)), done.set()))
    ret, msg = ctx.get_user_security_group()
    assert ret == RET_ERROR and "Disconnect" in msg
    assert done.wait(5)
    err, reason = seen[0]
    assert err >> 32 == CONNECT_FAIL_RECV and reason
    assert ctx.disconnect_info == seen[0]
    with pytest.raises(FtapiError):   # the connection has ended: later calls fail at once
        ctx.groups("ALL")
    ctx.close()
    time.sleep(0.1)
    assert len(seen) == 1


def test_close_with_requests_pending_gives_one_outcome_each(withhold_wsim, door, tls_certs):
    ctx = OpenQuoteContext(port=withhold_wsim.ws_port, **ws_args(door, tls_certs))
    outcomes, protos, groups = [], [], []

    def waiter():
        try:
            ctx.groups("ALL", timeout=30)
        except FtapiError as e:
            outcomes.append((type(e), e.ret_type))
    waiters = [threading.Thread(target=waiter) for _ in range(3)]
    for w in waiters:
        w.start()
    for _ in range(5):
        ctx.send_proto(3222, REQ_ALL, protos.append)
    ctx.get_user_security_group_async("ALL", groups.append)
    time.sleep(0.3)
    assert protos == [] and groups == [] and outcomes == []
    ctx.close()   # returns after every pending request had its -200
    assert [r.reply_type for r in protos] == [-200] * 5
    assert [r.ret_type for r in groups] == [-200]
    for w in waiters:
        w.join(5)
        assert not w.is_alive()
    assert outcomes == [(FtapiDisconnected, -200)] * 3
    assert ctx.disconnect_info[0] == 0
    time.sleep(0.2)
    assert len(protos) == 5 and len(groups) == 1


def test_auto_reconnect_across_sim_restart(door, tls_certs):
    flags = ws_flags(door, tls_certs, "--rate-limit", "off")
    s = Sim(*flags)
    port = s.ws_port
    states = []
    try:
        ctx = OpenQuoteContext(port=port, auto_reconnect=True, reconnect_initial=0.1,
                               reconnect_max=0.4, state_callback=lambda st, why: states.append(st),
                               **ws_args(door, tls_certs))
    except BaseException:
        s.stop()   # not a sim_factory one: stop it here
        raise
    try:
        id1 = ctx.connect_id
        s.stop()
        assert wait(lambda: ctx.state == "RECONNECTING")
        with pytest.raises(FtapiReconnecting):
            ctx.groups("ALL", timeout=2)
        flags[flags.index("--ws-port") + 1] = str(port)
        for _ in range(50):   # the port may still be busy for a moment
            try:
                s = Sim(*flags)
                break
            except RuntimeError:
                time.sleep(0.1)
        assert wait(lambda: ctx.state == "READY")
        assert ctx.connect_id not in (0, id1)
        assert [g.name for g in ctx.groups("CUSTOM", timeout=5)] == ["A", "C"]
    finally:
        ctx.close()
        s.stop()
    assert states == ["CONNECTING", "INITIALIZING", "READY", "RECONNECTING", "READY",
                      "CLOSING", "CLOSED"]
