"""Starts opend-sim (--port 0 --port-file) as a subprocess for the tests that need one."""
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
    def __init__(self, *flags):
        self.dir = tempfile.mkdtemp(prefix="ftapi-py-sim-")
        port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen([OPEND_SIM, "--port", "0", "--port-file", port_file, *flags],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                text = open(port_file).read().strip()
                if text:
                    self.port = int(text)
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


def write_json(tmp_dir, name, data):
    path = os.path.join(tmp_dir, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    return path
