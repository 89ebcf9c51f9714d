"""send_proto (any request, its one outcome through the library's per-request callback) and
pushes (set_push_handler), against opend-sim."""
import threading
import time

import pytest

from opend import FtapiError, OpenQuoteContext, ProtoResult

REQ_ALL = bytes([0x0A, 0x02, 0x08, 0x03])


def wait(pred, secs=10.0):
    end = time.monotonic() + secs
    while not pred() and time.monotonic() < end:
        time.sleep(0.01)
    return pred()


def test_send_proto_gets_each_outcome_once(sim):
    got, lock = [], threading.Lock()

    def cb(r):
        with lock:
            got.append((r, threading.current_thread() is not threading.main_thread()))

    with OpenQuoteContext(port=sim.port) as ctx:
        serials = [ctx.send_proto(3222, REQ_ALL, cb) for _ in range(20)]
        assert serials == list(range(serials[0], serials[0] + 20))
        assert wait(lambda: len(got) == 20)
        time.sleep(0.1)
        assert sorted(r.serial_no for r, _ in got) == serials
        assert all(isinstance(r, ProtoResult) and r.ok and r.proto_id == 3222 and r.body for r, _ in got)
        assert all(on_io for _, on_io in got)
        # a proto the simulator does not serve: OpenD's reply, retType -1 inside
        other = []
        ctx.send_proto(1002, b"", other.append)
        assert wait(lambda: other)
        assert other[0].reply_type == 0 and other[0].body[:2] == b"\x08\xff"
        # refused before anything is sent: an exception, and the callback never runs
        with pytest.raises(FtapiError) as e:
            ctx.send_proto(1001, REQ_ALL, got.append)
        assert e.value.result == 3
        with pytest.raises(TypeError):
            ctx.send_proto(3222, "not bytes", got.append)
    assert len(got) == 20


def test_send_proto_timeout_and_close_with_requests_pending(sim_factory):
    s = sim_factory("--withhold", "3222")
    with OpenQuoteContext(port=s.port, timeout=0.3) as ctx:
        got = []
        ctx.send_proto(3222, REQ_ALL, got.append)
        assert wait(lambda: got)
        assert got[0].reply_type == -100 and got[0].body == b"" and got[0].proto_id == 3222
    ctx = OpenQuoteContext(port=s.port)
    got = []
    for _ in range(5):
        ctx.send_proto(3222, REQ_ALL, got.append)
    ctx.close()  # returns after every outcome
    assert [r.reply_type for r in got] == [-200] * 5


@pytest.mark.parametrize("omit", [False, True])
def test_pushes_reach_the_push_handler(sim_factory, omit):
    s = sim_factory("--notify-on", "3222", "--rate-limit", "off", *(["--omit-ret-fields"] if omit else []))
    pushes = []
    with OpenQuoteContext(port=s.port) as ctx:
        ctx.set_push_handler(lambda proto, body: pushes.append((proto, body)))
        assert len(ctx.groups("ALL")) == 12
        assert wait(lambda: pushes)
        proto, body = pushes[0]
        assert proto == 1003
        if omit:  # the body as it came: no retMsg / errCode
            assert body[:3] == b"\x08\x00\x22"  # Notify.Response: retType 0, then s2c
        else:  # as OpenD sends it: retType 0, retMsg "", errCode 0, then s2c
            assert body[:7] == b"\x08\x00\x12\x00\x18\x00\x22"
        ctx.set_push_handler(None)
        ctx.groups("ALL")
        time.sleep(0.2)
        assert len(pushes) == 1
        with pytest.raises(TypeError):
            ctx.set_push_handler(42)
