"""Starts opend-sim (--port 0 --port-file; --ws-port-file for the WebSocket door) as a
subprocess for the tests that need one, and makes the wss:// test certificates."""
import json
import os
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LIB_DIR = os.environ.get("FTAPI_LIB_DIR", os.path.join(ROOT, "target", "release"))
OPEND_SIM = os.environ.get("OPEND_SIM", os.path.join(LIB_DIR, "opend-sim"))


class Sim:
    """opend-sim in the background. With "--ws-port" among the flags it serves the
    WebSocket door too, and ws_port is that port (else None)."""

    def __init__(self, *flags):
        self.dir = tempfile.mkdtemp(prefix="ftapi-py-sim-")
        port_file = os.path.join(self.dir, "port")
        ws_port_file = os.path.join(self.dir, "ws-port")
        extra = ["--ws-port-file", ws_port_file] if "--ws-port" in flags else []
        self.ws_port = None
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen([OPEND_SIM, "--port", "0", "--port-file", port_file, *extra,
                                      *flags], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            port, ws_port = _read_port(port_file), _read_port(ws_port_file) if extra else -1
            if port is not None and ws_port is not None:
                self.port = port
                if extra:
                    self.ws_port = ws_port
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        self.stop()
        self.log.seek(0)
        raise RuntimeError(f"opend-sim did not start: {self.log.read()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _read_port(path):
    if os.path.exists(path):
        text = open(path).read().strip()
        if text:
            return int(text)
    return None


@pytest.fixture(scope="module")
def sim_factory():
    sims = []

    def start(*flags):
        s = Sim(*flags)
        sims.append(s)
        return s

    yield start
    for s in sims:
        s.stop()


@pytest.fixture(scope="module")
def sim(sim_factory):
    """The default watchlist (en), rate limit off."""
    return sim_factory("--rate-limit", "off")


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory):
    """tests/c/make-test-certs.sh's set: {"ca", "cert", "key"} paths (a CA and a server
    certificate it signs for 127.0.0.1 and localhost)."""
    d = tmp_path_factory.mktemp("certs")
    subprocess.run([os.path.join(ROOT, "tests", "c", "make-test-certs.sh"), str(d)], check=True,
                   capture_output=True, timeout=60)
    return {"ca": str(d / "ca.pem"), "cert": str(d / "server.pem"), "key": str(d / "server.key")}


def write_json(tmp_dir, name, data):
    path = os.path.join(tmp_dir, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    return path
