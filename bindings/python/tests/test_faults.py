"""Library-made outcomes: timeout (-100), disconnect (-200), rate limit (-1)."""
import time

import pytest

from opend import (RET_ERROR, FtapiConnectError, FtapiDisconnected, FtapiError, FtapiTimeout,
                   OpenQuoteContext)
from opend import _native as _n


@pytest.fixture(scope="module")
def withhold_sim(sim_factory):
    return sim_factory("--withhold", "3222")


@pytest.fixture(scope="module")
def close_sim(sim_factory):
    return sim_factory("--close-after", "3222")


def test_timeout_official_shape(withhold_sim):
    ctx = OpenQuoteContext(port=withhold_sim.port, timeout=0.4)
    t = time.monotonic()
    ret, msg = ctx.get_user_security_group()
    elapsed = time.monotonic() - t
    ctx.close()
    assert ret == RET_ERROR and "Timeout" in msg
    assert 0.3 < elapsed < 5


def test_timeout_per_call_raises(withhold_sim):
    with OpenQuoteContext(port=withhold_sim.port) as ctx:   # default 12 s request timeout
        t = time.monotonic()
        with pytest.raises(FtapiTimeout) as ei:
            ctx.groups("ALL", timeout=0.3)
        assert time.monotonic() - t < 5
        assert ei.value.ret_type == -100 and isinstance(ei.value, TimeoutError)
        assert ctx.state == "READY"  # a timeout does not end the connection


def test_timeout_async(withhold_sim):
    import threading
    got, done = [], threading.Event()
    with OpenQuoteContext(port=withhold_sim.port, timeout=0.3) as ctx:
        ctx.get_user_security_group_async("ALL", lambda r: (got.append(r), done.set()))
        assert done.wait(5)
    time.sleep(0.1)
    assert len(got) == 1 and got[0].ret_type == -100 and isinstance(got[0].error, FtapiTimeout)


def test_disconnect_official_shape(close_sim):
    ctx = OpenQuoteContext(port=close_sim.port)
    ret, msg = ctx.get_user_security_group()
    assert ret == RET_ERROR and "Disconnect" in msg
    # the connection has ended: later calls fail at once, clearly
    ret, msg = ctx.get_user_security_group()
    assert ret == RET_ERROR and msg
    for _ in range(100):
        if ctx.disconnect_info is not None:
            break
        time.sleep(0.02)
    err, reason = ctx.disconnect_info
    assert err != 0 and reason
    ctx.close()


def test_disconnect_raises_and_handler_runs(close_sim):
    import threading
    seen, done = [], threading.Event()
    ctx = OpenQuoteContext(port=close_sim.port)
    ctx.set_disconnect_handler(lambda err, reason: (seen.append((err, reason)), done.set()))
    with pytest.raises(FtapiDisconnected) as ei:
        ctx.groups("CUSTOM", timeout=5)
    assert ei.value.ret_type == -200 and isinstance(ei.value, ConnectionError)
    assert done.wait(5) and seen[0][0] >> 32 == 11  # FTAPI_CONNECT_FAIL_RECV
    with pytest.raises(FtapiError):
        ctx.groups("ALL")
    ctx.close()


def test_rate_limit_refusal_carries_opend_message(sim_factory):
    s = sim_factory("--rate-limit", "2/30")
    with OpenQuoteContext(port=s.port) as ctx:
        ctx.groups("ALL")
        ctx.groups("ALL")
        with pytest.raises(FtapiError) as ei:
            ctx.groups("ALL")
        assert ei.value.ret_type == -1 and ei.value.message
        ret, msg = ctx.get_user_security_group()
        assert ret == RET_ERROR and msg == ei.value.message


def test_exit_without_close_closes_by_the_library_exit_policy(withhold_sim, tmp_path):
    # A program that returns with a connection open and a request pending: at exit the
    # library's policy (ftapi_close_all, from atexit) closes it while Python can still run
    # callbacks: the request gets its one -200, the disconnect handler runs, the process
    # ends promptly.
    import os
    import subprocess
    import sys
    script = tmp_path / "exit_open.py"
    script.write_text(
        "import sys\n"
        "from opend import OpenQuoteContext\n"
        "ctx = OpenQuoteContext(port=int(sys.argv[1]), timeout=30)\n"
        "ctx.set_disconnect_handler(lambda code, why: print('disconnected', code, flush=True))\n"
        "ctx.get_user_security_group_async('ALL', lambda r: print('outcome', r.ret_type, flush=True))\n"
        "print('main returns', flush=True)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.run([sys.executable, str(script), str(withhold_sim.port)], env=env,
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines == ["main returns", "outcome -200", "disconnected 0"], p.stdout + p.stderr


def test_connect_timeout_is_the_librarys_wait(sim_factory):
    # OpenD never answers InitConnect: the constructor gives up after connect_timeout
    # through the library's own wait (ftapi_qot_wait_init), with its result code.
    s = sim_factory("--withhold", "1001")
    t0 = time.monotonic()
    with pytest.raises(FtapiConnectError) as e:
        OpenQuoteContext(port=s.port, connect_timeout=0.5)
    assert 0.4 <= time.monotonic() - t0 < 5
    assert e.value.result == _n.ERR_TIMEOUT and e.value.err_code == _n.ERR_TIMEOUT
    assert "no outcome within 0.5 s" in e.value.message
