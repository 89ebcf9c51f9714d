"""close() during a connect that never completes (as tests/c/close_interrupts.c, case
tcp_connect): a loopback listener whose accept queue this module fills first, so the kernel
drops the library's SYN. 200 ms into the connect, close() must return within 100 ms (not
after the 10 s connect timeout; three misses in a row fail), the init outcome must be the
user's close (FTAPI_INIT_FAIL << 32 | FTAPI_INIT_FAIL_DISCONNECT, "closed by the user ..."),
and nothing may follow (no disconnect, no second outcome, no state change after close()).

Two call shapes: is_async_connect=True (the constructor returns at once; close() from the
caller), and the official blocking constructor, closed from another thread while it waits
for InitConnect: it then raises FtapiConnectError carrying the user's close."""
import select
import socket
import threading
import time

import pytest

from opend import FtapiConnectError, OpenQuoteContext

USER_CLOSE = 100 << 32 | 3   # FTAPI_INIT_FAIL << 32 | FTAPI_INIT_FAIL_DISCONNECT
LIMIT = 0.100


@pytest.fixture(scope="module")
def full_port():
    """A loopback listener that never accepts, with its accept queue full: non-blocking
    connects fill it until one does not complete within 300 ms (its SYN was dropped)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(16):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            fillers.append(c)
            c.setblocking(False)
            if c.connect_ex(("127.0.0.1", port)) == 0:
                continue
            _, writable, _ = select.select([], [c], [], 0.3)
            if not writable:
                break   # this SYN was dropped: the queue is full
        else:
            pytest.fail("the listener's accept queue never filled")
        yield port
    finally:
        for c in fillers:
            c.close()
        listener.close()


def bounded(attempt_once):
    """A close that waits for the connect takes 10 s every time; one that does not, a few
    ms. Retries only when the time bound alone was missed."""
    for attempt in range(1, 4):
        took = attempt_once()
        if took <= LIMIT:
            return
        print(f"close() took {took * 1000:.0f} ms (attempt {attempt})")
    pytest.fail(f"close() took {took * 1000:.0f} ms three times (limit {LIMIT * 1000:.0f} ms)")


class Recorder:
    def __init__(self):
        self.closed = False
        self.states = []        # (state, reason, after close() returned)
        self.disconnects = []

    def on_state(self, state, reason):
        self.states.append((state, reason, self.closed))

    def on_disconnect(self, err, reason):
        self.disconnects.append((err, reason, self.closed))


def check_nothing_after(rec, ctx):
    time.sleep(0.3)
    assert rec.disconnects == [], "no disconnect for a connect that never finished"
    assert ctx.disconnect_info is None
    assert [s for s in rec.states if s[2]] == [], f"state changes after close(): {rec.states}"
    assert rec.states[-1][0] == "CLOSED", rec.states
    assert ctx._core._spi_released.wait(5), "free_user_data ran: the native object is gone"


def test_close_interrupts_async_connect(full_port):
    def once():
        rec = Recorder()
        ctx = OpenQuoteContext(port=full_port, is_async_connect=True, state_callback=rec.on_state)
        ctx.set_disconnect_handler(rec.on_disconnect)
        core = ctx._core
        time.sleep(0.2)
        assert not core.init_done.is_set(), "no outcome yet: the connect is still under way"
        assert ctx.state == "CONNECTING"
        t0 = time.monotonic()
        ctx.close()
        took = time.monotonic() - t0
        rec.closed = True
        print(f"close() returned in {took * 1000:.1f} ms: init ({core.init_err}, {core.init_desc!r})")
        # The outcome, recorded by on_init_connect before close() returned.
        assert core.init_done.is_set()
        assert core.init_err == USER_CLOSE, core.init_desc
        assert "closed by the user" in core.init_desc
        assert ctx.state == "CLOSED"
        check_nothing_after(rec, ctx)
        return took
    bounded(once)


def test_close_from_another_thread_interrupts_the_blocking_constructor(full_port):
    def once():
        rec = Recorder()
        box, took = [], []

        class Ctx(OpenQuoteContext):
            # The official constructor connects and waits for InitConnect: hand the context
            # to the closing thread just before it starts waiting.
            def _wait_connected(self, timeout):
                box.append(self)
                return super()._wait_connected(timeout)

        def closer():
            for _ in range(500):
                if box:
                    break
                time.sleep(0.01)
            else:
                return
            time.sleep(0.2)
            t0 = time.monotonic()
            box[0].close()
            took.append(time.monotonic() - t0)
            rec.closed = True

        t = threading.Thread(target=closer)
        t.start()
        t_ctor = time.monotonic()
        try:
            with pytest.raises(FtapiConnectError) as ei:
                Ctx(port=full_port, connect_timeout=30, state_callback=rec.on_state)
        finally:
            t.join(15)
        ctor = time.monotonic() - t_ctor
        assert box, "the constructor never started waiting for InitConnect"
        assert took, "the closing thread did not close"
        e = ei.value
        print(f"close() returned in {took[0] * 1000:.1f} ms, the constructor raised after "
              f"{ctor * 1000:.0f} ms: {e.message!r}")
        assert e.err_code == USER_CLOSE, e.message
        assert "closed by the user" in e.message
        assert ctor < 2, "the constructor raised at the close, not at a timeout"
        check_nothing_after(rec, box[0])
        return took[0]
    bounded(once)
