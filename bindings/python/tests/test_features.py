"""Beyond the official SDKs: client-side rate limiter, auto-reconnect across a simulator
restart, state callback, server version and the log callback / logging bridge.

The run-tests.sh exports FTAPI_RATE_LIMIT=off, so every limiter test sets its mode."""
import logging
import os
import subprocess
import tempfile
import threading
import time

import pytest

import opend
from opend import (RET_ERROR, FtapiDisconnected, FtapiRateLimited, FtapiReconnecting,
                   OpenQuoteContext, RateLimitMode)

from conftest import OPEND_SIM

EN_ALL = ["All", "Starred", "CN", "HK", "US", "Options", "HK options", "US options",
          "Futures", "Bonds", "A", "C"]


class RestartableSim:
    """opend-sim on a fixed port (0 the first time), restartable on the same port."""

    def __init__(self, *flags):
        self.flags = flags
        self.dir = tempfile.mkdtemp(prefix="ftapi-py-feat-")
        self.proc = None
        self.port = 0
        self.start()

    def start(self):
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.proc = subprocess.Popen(
            [OPEND_SIM, "--port", str(self.port), "--port-file", port_file, "--rate-limit", "off",
             *self.flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                text = open(port_file).read().strip()
                if text:
                    port = int(text)
                    assert self.port in (0, port)
                    self.port = port
                    return
            assert self.proc.poll() is None, "opend-sim exited"
            time.sleep(0.01)
        raise RuntimeError("opend-sim did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def rsim():
    s = RestartableSim()
    yield s
    s.stop()


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_rate_limit_fail_fast_11th_request(rsim):
    with OpenQuoteContext(port=rsim.port, rate_limit_mode=RateLimitMode.FAIL_FAST,
                          rate_limits={3222: (10, 1.5)}) as ctx:
        for _ in range(10):
            assert [g.name for g in ctx.groups("ALL", timeout=5)] == EN_ALL
        t = time.monotonic()
        r = ctx.get_user_security_group_result("ALL", timeout=5)
        assert time.monotonic() - t < 1.0  # at once, not after the 1.5 s window
        assert r.ret_type == -300 and not r.ok and r.groups == []
        assert "next slot frees in" in r.ret_msg
        with pytest.raises(FtapiRateLimited):
            ctx.groups("ALL", timeout=5)
        ret, msg = ctx.get_user_security_group("ALL")      # official shape
        assert ret == RET_ERROR and "rate limited locally" in msg
        got = []
        done = threading.Event()
        ctx.get_user_security_group_async("ALL", lambda res: (got.append(res), done.set()))
        assert done.wait(2)
        assert got[0].ret_type == -300 and isinstance(got[0].error, FtapiRateLimited)


def test_rate_limit_wait_holds_11th_request(rsim):
    with OpenQuoteContext(port=rsim.port, rate_limit_mode="wait",
                          rate_limits={3222: (10, 1.5)}) as ctx:
        t0 = time.monotonic()
        for _ in range(10):
            ctx.groups("ALL", timeout=5)
        t1 = time.monotonic()
        assert [g.name for g in ctx.groups("ALL", timeout=5)] == EN_ALL
        assert time.monotonic() - t0 >= 1.4
        assert time.monotonic() - t1 >= 0.1


def test_rate_limit_bad_arguments(rsim):
    with pytest.raises(ValueError):
        OpenQuoteContext(port=rsim.port, rate_limit_mode="sometimes")
    with pytest.raises(ValueError):
        OpenQuoteContext(port=rsim.port, rate_limits={3222: (10, 0)})
    with pytest.raises(ValueError):
        OpenQuoteContext(port=rsim.port, timeout=-1)


def test_a_zero_timeout_means_the_default_as_in_every_language(rsim):
    # 0 is the C ABI's "the default" (the request timeout, 12 s): not an instant timeout,
    # and not an error.
    with OpenQuoteContext(port=rsim.port, timeout=0, silence_timeout=0) as ctx:
        assert [g.name for g in ctx.groups("ALL", timeout=0)] == EN_ALL
        assert ctx.get_user_security_group_result("ALL", timeout=0).ret_type == 0


def test_auto_reconnect_across_sim_restart(rsim):
    states, inits = [], []
    lock = threading.Lock()

    def on_state(state, reason):
        assert isinstance(reason, str)
        with lock:
            states.append(state)

    ctx = OpenQuoteContext(port=rsim.port, auto_reconnect=True, reconnect_initial=0.1,
                           reconnect_max=0.4, state_callback=on_state)
    try:
        id1 = ctx.connect_id
        assert id1 != 0 and ctx.server_ver > 0 and ctx.state == "READY"
        rsim.stop()
        assert wait_for(lambda: ctx.state == "RECONNECTING")
        with pytest.raises(FtapiReconnecting):
            ctx.groups("ALL", timeout=2)
        assert ctx.disconnect_info is not None and ctx.disconnect_info[0] != 0
        time.sleep(0.3)
        rsim.start()
        assert wait_for(lambda: ctx.state == "READY")
        assert ctx.connect_id not in (0, id1)
        assert [g.name for g in ctx.groups("CUSTOM", timeout=5)] == ["A", "C"]
    finally:
        ctx.close()
    assert states == ["CONNECTING", "INITIALIZING", "READY", "RECONNECTING", "READY",
                      "CLOSING", "CLOSED"]


def test_no_auto_reconnect_ends_closed(rsim):
    states = []
    ctx = OpenQuoteContext(port=rsim.port)
    ctx.set_state_handler(lambda st, why: states.append(st))
    try:
        rsim.stop()
        assert wait_for(lambda: ctx.state == "CLOSED")
        time.sleep(0.5)
        assert ctx.state == "CLOSED"
        with pytest.raises(FtapiDisconnected) as e:
            ctx.groups("ALL", timeout=2)
        assert not isinstance(e.value, FtapiReconnecting)
    finally:
        ctx.close()
    assert states == ["CLOSING", "CLOSED"]   # the handler was set after READY


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rsa-feat") / "key.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(path), "1024"],
                   check=True, capture_output=True)
    return str(path)


def test_log_callback_packet_lines_and_no_key(key_file):
    pem = open(key_file).read()
    fragment = pem.split("\n")[1][:16]
    lines, lock = [], threading.Lock()

    def on_log(level, target, message):
        with lock:
            lines.append((level, target, message))

    opend.set_log_callback(on_log, "trace")
    sim = RestartableSim("--rsa-key", key_file)
    try:
        with OpenQuoteContext(port=sim.port, is_encrypt=True, rsa_file=key_file) as ctx:
            assert len(ctx.groups("ALL", timeout=5)) == 12
    finally:
        opend.set_log_callback(None)
        sim.stop()
    n = len(lines)
    text = "\n".join(m for _, _, m in lines)
    assert all(1 <= lv <= 5 and tg for lv, tg, _ in lines)
    assert "send proto=3222 serial=2" in text
    assert "recv proto=3222 serial=2" in text and "latency_us=" in text
    assert "serverVer=" in text
    assert "BEGIN" not in text and fragment not in text
    sim2 = RestartableSim()      # cleared: nothing more arrives
    try:
        with OpenQuoteContext(port=sim2.port) as ctx:
            ctx.groups("ALL", timeout=5)
    finally:
        sim2.stop()
    assert len(lines) == n


def test_log_to_logging_bridge_and_level_filter(rsim):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    lg = logging.getLogger("opend.test-bridge")
    lg.setLevel(1)
    lg.propagate = False
    h = Keep()
    lg.addHandler(h)
    try:
        opend.log_to_logging(lg, "info")
        with OpenQuoteContext(port=rsim.port) as ctx:
            ctx.groups("ALL", timeout=5)
        opend.set_log_callback(None)
    finally:
        lg.removeHandler(h)
    assert any("serverVer=" in r.getMessage() and r.levelno == logging.INFO for r in records)
    assert all(r.levelno >= logging.INFO for r in records)      # no debug packet lines
    assert all(getattr(r, "ftapi_target", "") for r in records)
    with pytest.raises(ValueError):
        opend.set_log_callback(print, "loud")


def test_log_callback_exception_does_not_break_connection(rsim):
    calls = []

    def bad(level, target, message):
        calls.append(message)
        raise RuntimeError("thrown from the log callback on purpose")

    opend.set_log_callback(bad, "debug")
    try:
        with OpenQuoteContext(port=rsim.port) as ctx:
            assert len(ctx.groups("ALL", timeout=5)) == 12
    finally:
        opend.set_log_callback(None)
    assert any("send proto=3222" in m for m in calls)
