"""Several threads at once, close while a call waits, and the async callback form."""
import gc
import logging
import threading
import time

import pytest

import opend
from opend import FtapiDisconnected, FtapiError, OpenQuoteContext

EN_ALL = 12


def test_many_threads_share_one_context(sim):
    errors, counts = [], []
    with OpenQuoteContext(port=sim.port) as ctx:
        def worker(i):
            try:
                for j in range(10):
                    gt = ("ALL", "CUSTOM", "SYSTEM")[(i + j) % 3]
                    counts.append((gt, len(ctx.groups(gt, timeout=10))))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors
    assert len(counts) == 80
    assert all(n == {"ALL": 12, "CUSTOM": 2, "SYSTEM": 10}[gt] for gt, n in counts)


def test_many_threads_own_contexts(sim):
    results = []

    def worker():
        with OpenQuoteContext(port=sim.port) as ctx:
            results.append(ctx.get_user_security_group("ALL")[0])
    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [0] * 6


def test_close_while_calls_wait(sim_factory):
    s = sim_factory("--withhold", "3222")
    ctx = OpenQuoteContext(port=s.port)
    outcomes = []

    def waiter():
        t = time.monotonic()
        try:
            ctx.groups("ALL", timeout=30)
        except FtapiError as e:
            outcomes.append((type(e), e.ret_type, time.monotonic() - t))
    waiters = [threading.Thread(target=waiter) for _ in range(3)]
    for w in waiters:
        w.start()
    time.sleep(0.3)
    async_got = []
    ctx.get_user_security_group_async("ALL", async_got.append)
    ctx.close()   # returns after every pending request had its -200
    assert [r.ret_type for r in async_got] == [-200]
    for w in waiters:
        w.join(5)
        assert not w.is_alive()
    assert [o[:2] for o in outcomes] == [(FtapiDisconnected, -200)] * 3
    assert all(o[2] < 10 for o in outcomes)
    assert ctx.disconnect_info[0] == 0   # our own close
    assert ctx.get_user_security_group() == (-1, "Connection closed")


def test_async_callback_runs_once_on_io_thread(sim):
    got, done = [], threading.Event()
    with OpenQuoteContext(port=sim.port) as ctx:
        def cb(result):
            got.append((result, threading.current_thread() is threading.main_thread()))
            done.set()
        serial = ctx.get_user_security_group_async("CUSTOM", cb)
        assert serial >= 2
        assert done.wait(5)
        time.sleep(0.1)
    assert len(got) == 1
    result, on_main = got[0]
    assert not on_main
    assert result.ok and result.serial_no == serial
    assert [g.name for g in result.groups] == ["A", "C"]


def test_many_async_requests_each_get_their_outcome(sim):
    got = {}
    lock = threading.Lock()
    all_done = threading.Event()
    n = 40
    with OpenQuoteContext(port=sim.port) as ctx:
        def cb(result):
            with lock:
                got.setdefault(result.serial_no, []).append(result)
                if len(got) == n:
                    all_done.set()
        serials = [ctx.get_user_security_group_async(("ALL", "CUSTOM")[i % 2], cb) for i in range(n)]
        assert all_done.wait(10)
    assert sorted(serials) == sorted(got) and len(set(serials)) == n
    assert all(len(v) == 1 and v[0].ok for v in got.values())
    for i, s in enumerate(serials):
        assert len(got[s][0].groups) == (EN_ALL if i % 2 == 0 else 2)


def test_exception_in_callback_is_reported_and_stored(sim, caplog):
    done = threading.Event()
    with OpenQuoteContext(port=sim.port) as ctx:
        def bad(result):
            raise ValueError("boom from user code")
        with caplog.at_level(logging.ERROR, logger="opend"):
            ctx.get_user_security_group_async("ALL", bad)
            ctx.get_user_security_group_async("ALL", lambda r: done.set())
            assert done.wait(5)
        # the I/O thread survived: the connection still works
        assert len(ctx.groups("ALL")) == EN_ALL
        assert [str(e) for e in ctx.callback_errors] == ["boom from user code"]
        assert isinstance(ctx.callback_errors[0], ValueError)
    assert any("boom from user code" in (r.exc_text or "") or
               (r.exc_info and "boom" in str(r.exc_info[1])) for r in caplog.records)


def test_blocking_call_inside_callback_raises_not_deadlocks(sim):
    seen, done = [], threading.Event()
    with OpenQuoteContext(port=sim.port) as ctx:
        def cb(result):
            try:
                ctx.groups("ALL")
            except FtapiError as e:
                seen.append(e.result)
            # sending (not waiting) from a callback is fine
            ctx.get_user_security_group_async("SYSTEM", lambda r: (seen.append(len(r.groups)), done.set()))
        ctx.get_user_security_group_async("ALL", cb)
        assert done.wait(5)
    assert seen == [8, 10]   # FTAPI_ERR_IN_CALLBACK, then the chained request's 10 groups


def test_close_from_inside_callback(sim):
    ctx = OpenQuoteContext(port=sim.port)
    done, later = threading.Event(), []
    def cb(result):
        ctx.close()
        done.set()
    ctx.get_user_security_group_async("ALL", cb)
    assert done.wait(5)
    for _ in range(100):
        if ctx.state == "CLOSED":
            break
        time.sleep(0.02)
    assert ctx.state == "CLOSED"
    assert ctx.get_user_security_group() == (-1, "Connection closed")
    assert wait_gone(ctx._core.token)


def wait_gone(token):
    for _ in range(250):
        if token not in opend._cores:
            return True
        time.sleep(0.02)
    return False


def test_forgotten_context_is_released(sim):
    ctx = OpenQuoteContext(port=sim.port)
    token = ctx._core.token
    assert token in opend._cores
    del ctx
    gc.collect()
    assert wait_gone(token)   # free_user_data ran: the native object is gone
