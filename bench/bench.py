#!/usr/bin/env python3
"""Drives the ftapi benchmarks (stdlib only). Called by bench/run.sh, which builds the C
programs first. Every comparison runs in the same process of this script, alternating
(A, B, A, B ...) over several rounds; the table shows medians over rounds.

Environment: FTAPI_LIB_DIR, OPEND_SIM, BENCH_ROUNDS (default 7), BENCH_IDLE_SECS
(default 30), BENCH_OUT (default <repo>/target/bench), BENCH_NODE_TGZ and BENCH_NODE_DEPS
(the Node package and the folder holding the official futu-api and ws; run.sh sets both).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB_DIR = os.environ.get("FTAPI_LIB_DIR") or os.path.join(ROOT, "target", "release")
SIM = os.environ.get("OPEND_SIM") or os.path.join(LIB_DIR, "opend-sim")
OUT = os.environ.get("BENCH_OUT") or os.path.join(ROOT, "target", "bench")
BENCH = os.path.join(OUT, "bench")
C_EXAMPLE = os.path.join(ROOT, "target", "c", "get_user_security_group")
PY = os.environ.get("BENCH_PYTHON") or os.path.join(ROOT, ".venv", "bin", "python")
PY_SCRIPT = os.path.join(ROOT, "bench", "py_rtt.py")
NODE = os.environ.get("BENCH_NODE") or shutil.which("node") or "node"
NODE_SCRIPT = os.path.join(ROOT, "bench", "node_bench.mjs")
NODE_N = 2000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
IDLE_SECS = float(os.environ.get("BENCH_IDLE_SECS", "30"))
RTT_N = 3000
PY_N = 300
TPUT_SECS = 1.0
DECODE_N = 150
CLK_TCK = os.sysconf("SC_CLK_TCK")

SCRATCH = tempfile.mkdtemp(prefix="ftapi-bench-")
# The library's client-side rate limiter (OpenD's 10 per 30 s for 3222) would turn the
# benchmark into a test of the limiter: off, like the simulator's.
os.environ["FTAPI_RATE_LIMIT"] = "off"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Sim:
    """opend-sim in the background on free ports (rate limit off): the TCP door, and the
    WebSocket door when `ws` is set (its port in `ws_port`)."""

    def __init__(self, *extra, ws=False):
        stamp = time.monotonic_ns()
        self.port_file = os.path.join(SCRATCH, "port-%d" % stamp)
        ws_file = os.path.join(SCRATCH, "ws-port-%d" % stamp)
        self.log = open(os.path.join(SCRATCH, "sim.log"), "ab")
        ws_args = ["--ws-port", "0", "--ws-port-file", ws_file] if ws else []
        self.proc = subprocess.Popen(
            [SIM, "--port", "0", "--port-file", self.port_file, "--rate-limit", "off", *ws_args, *extra],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        self.port = self._wait_port(self.port_file)
        self.ws_port = self._wait_port(ws_file) if ws else None

    def _wait_port(self, path):
        deadline = time.monotonic() + 20
        while True:
            try:
                with open(path) as f:
                    txt = f.read().strip()
                if txt:
                    return int(txt)
            except (FileNotFoundError, ValueError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("bench: opend-sim did not start (see %s)" % self.log.name)
            time.sleep(0.01)

    def cpu_ticks(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def run_json(args, env=None, timeout=120, cwd=None):
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout,
                       stdin=subprocess.DEVNULL, cwd=cwd)
    if p.returncode != 0:
        raise SystemExit("bench: %s failed (%d):\n%s\n%s" % (" ".join(args), p.returncode,
                                                            p.stdout[-2000:], p.stderr[-2000:]))
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit("bench: no JSON from %s:\n%s" % (" ".join(args), p.stdout[-2000:]))


def bench(mode, port, *args, env=None):
    return run_json([BENCH, mode, str(port), *map(str, args)], env=env)


# The bench program's connection through OpenD's WebSocket door.
WS_ENV = dict(os.environ, FTAPI_BENCH_DOOR="ws")


def py_env():
    home = os.path.join(SCRATCH, "home")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ, HOME=home)
    return env


def timed_run(args, expect, env=None, cwd=None):
    """Wall time (ms) from spawn to exit of a process whose stdout must contain `expect`."""
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
                       stdin=subprocess.DEVNULL)
    ms = (time.perf_counter() - t0) * 1000.0
    if p.returncode != 0 or expect not in p.stdout:
        raise SystemExit("bench: %s failed (%d):\n%s\n%s" % (" ".join(args), p.returncode,
                                                            p.stdout[-2000:], p.stderr[-2000:]))
    return ms


def tput(sim, mode, k):
    """One throughput run; also the sim's CPU use over it (percent of one core)."""
    t0, c0 = time.monotonic(), sim.cpu_ticks()
    r = bench(mode, sim.port, k, TPUT_SECS)
    wall, c1 = time.monotonic() - t0, sim.cpu_ticks()
    r["sim_cpu_pct"] = 100.0 * (c1 - c0) / CLK_TCK / wall
    r["client_cpu_pct"] = 100.0 * r["cpu_s"] / r["wall_s"]
    # A run that overran its planned duration by > 1 s had requests stuck somewhere
    # (seen: the library's replies to sends made inside callbacks arriving only with the
    # next KeepAlive, 8 s later). Counted, and shown, rather than hidden.
    r["stalled"] = 1 if r["wall_s"] > TPUT_SECS + 1.0 else 0
    return r


def groups_json(n):
    path = os.path.join(SCRATCH, "groups-%d.json" % n)
    groups = [{"groupName": "group %05d" % i, "groupType": 1 if i % 2 else 2} for i in range(n)]
    with open(path, "w") as f:
        json.dump(groups, f)
    return path


def node_project():
    """A scratch project with the Node package installed and, one folder up, the official
    futu-api and ws: bench/node_bench.mjs runs there."""
    tgz, deps = os.environ.get("BENCH_NODE_TGZ"), os.environ.get("BENCH_NODE_DEPS")
    if not tgz or not deps:
        raise SystemExit("bench: BENCH_NODE_TGZ / BENCH_NODE_DEPS unset (bench/run.sh sets them)")
    top = os.path.join(SCRATCH, "node")
    app = os.path.join(top, "app")
    os.makedirs(app)
    os.symlink(os.path.join(deps, "node_modules"), os.path.join(top, "node_modules"))
    with open(os.path.join(app, "package.json"), "w") as f:
        f.write('{"private": true}\n')
    # The main package and this platform's (NAME-V.tgz beside NAME-linux-x64-gnu-V.tgz).
    name, version = os.path.basename(tgz).rsplit("-", 1)
    platform_tgz = os.path.join(os.path.dirname(tgz), f"{name}-linux-x64-gnu-{version}")
    subprocess.run(["npm", "install", "--offline", "--silent", "--no-audit", "--no-fund", tgz, platform_tgz],
                   cwd=app, check=True, stdin=subprocess.DEVNULL)
    shutil.copy(NODE_SCRIPT, app)
    return app


def main():
    for path in (BENCH, SIM, C_EXAMPLE, PY):
        if not os.access(path, os.X_OK):
            raise SystemExit("bench: missing %s" % path)
    node_app = node_project()
    node_bench = os.path.join(node_app, "node_bench.mjs")
    started = time.monotonic()
    s = {}  # metric -> list of per-round values

    def add(k, v):
        s.setdefault(k, []).append(v)

    env = py_env()
    sim = Sim(ws=True)
    big = Sim("--groups", groups_json(10000))
    wsim = Sim(ws=True)
    try:
        for r in range(ROUNDS):
            log("round %d/%d (port %d)" % (r + 1, ROUNDS, sim.port))
            # Latency, alternating library and floor.
            a = bench("lib-rtt", sim.port, RTT_N)
            b = bench("raw-rtt", sim.port, RTT_N)
            c = bench("sync-rtt", sim.port, RTT_N)
            d = bench("lib-xrtt", sim.port, RTT_N)
            add("rtt_p50_us", a["p50_us"]); add("rtt_p99_us", a["p99_us"])
            add("raw_rtt_p50_us", b["p50_us"]); add("raw_rtt_p99_us", b["p99_us"])
            add("sync_rtt_p50_us", c["p50_us"]); add("sync_rtt_p99_us", c["p99_us"])
            add("xthread_rtt_p50_us", d["p50_us"]); add("xthread_rtt_p99_us", d["p99_us"])
            add("rtt_vs_raw", a["p50_us"] / b["p50_us"])
            p = run_json([PY, PY_SCRIPT, str(sim.port), str(PY_N)], env=env)
            add("python_rtt_p50_us", p["p50_us"]); add("python_rtt_p99_us", p["p99_us"])
            add("rtt_vs_python", p["p50_us"] / a["p50_us"])
            # What a client adds above the loopback floor, the Python SDK's against ours.
            add("overhead_vs_python",
                (p["p50_us"] - b["p50_us"]) / max(a["p50_us"] - b["p50_us"], 1.0))
            # The same library call through OpenD's WebSocket door.
            w = bench("lib-rtt", sim.ws_port, RTT_N, env=WS_ENV)
            add("ws_rtt_p50_us", w["p50_us"]); add("ws_rtt_p99_us", w["p99_us"])
            add("ws_rtt_vs_tcp", w["p50_us"] / a["p50_us"])

            # Throughput on one connection.
            t1 = tput(sim, "lib-tput", 1)
            t16 = tput(sim, "lib-tput", 16)
            lt = tput(sim, "lib-tput", 256)
            rt = tput(sim, "raw-tput", 256)
            add("throughput_rps_1", t1["rps"]); add("throughput_rps_16", t16["rps"])
            add("throughput_rps_256", lt["rps"]); add("raw_throughput_rps_256", rt["rps"])
            add("throughput_vs_raw", lt["rps"] / rt["rps"])
            add("throughput_stalled_runs", t1["stalled"] + t16["stalled"] + lt["stalled"] + rt["stalled"])
            add("sim_cpu_pct", rt["sim_cpu_pct"]); add("sim_cpu_pct_lib_256", lt["sim_cpu_pct"])
            add("client_cpu_pct_lib_256", lt["client_cpu_pct"])
            add("client_cpu_pct_raw_256", rt["client_cpu_pct"])
            add("lib_cpu_us_per_req_256", 1e6 * lt["cpu_s"] / lt["completed"])
            add("raw_cpu_us_per_req_256", 1e6 * rt["cpu_s"] / rt["completed"])

            # Cold start: process start to groups printed and exit.
            cs = timed_run([C_EXAMPLE, "127.0.0.1", str(sim.port)], "CUSTOM")
            ps = timed_run([PY, PY_SCRIPT, str(sim.port), "cold"], "CUSTOM", env=env,
                           cwd=env["HOME"])
            add("cold_start_ms", cs); add("python_cold_start_ms", ps)
            add("cold_start_vs_python", ps / cs)

            # Memory.
            m1 = bench("rss", sim.port, 1)
            m100 = bench("rss", sim.port, 100)
            add("rss_kib_1conn", m1["rss_kib"]); add("rss_kib_100conn", m100["rss_kib"])
            add("rss_kib_per_conn", (m100["rss_kib"] - m1["rss_kib"]) / 99.0)

            # A 10 000-group reply against a tiny one, library and floor.
            lb = bench("lib-rtt", big.port, DECODE_N)
            rb = bench("raw-rtt", big.port, DECODE_N)
            ls = bench("lib-rtt", sim.port, DECODE_N)
            rs = bench("raw-rtt", sim.port, DECODE_N)
            add("rtt_10k_groups_p50_us", lb["p50_us"]); add("raw_rtt_10k_groups_p50_us", rb["p50_us"])
            add("decode_10k_groups_us", (lb["p50_us"] - ls["p50_us"]) - (rb["p50_us"] - rs["p50_us"]))

            # Node: this package against the official futu-api (with ws), both over the
            # WebSocket door, alternating; RTT and cold start (spawn to groups printed and exit).
            no = run_json([NODE, node_bench, "ours", str(wsim.ws_port), "rtt", str(NODE_N)], cwd=node_app)
            nf = run_json([NODE, node_bench, "official", str(wsim.ws_port), "rtt", str(NODE_N)], cwd=node_app)
            add("node_rtt_p50_us", no["p50_us"]); add("node_rtt_p99_us", no["p99_us"])
            add("official_js_rtt_p50_us", nf["p50_us"]); add("official_js_rtt_p99_us", nf["p99_us"])
            add("node_rtt_vs_official", nf["p50_us"] / no["p50_us"])
            nc = timed_run([NODE, node_bench, "ours", str(wsim.ws_port), "cold"], "groups", cwd=node_app)
            fc = timed_run([NODE, node_bench, "official", str(wsim.ws_port), "cold"], "groups", cwd=node_app)
            add("node_cold_start_ms", nc); add("official_js_cold_start_ms", fc)
            add("node_cold_start_vs_official", fc / nc)
    finally:
        wsim.stop()
        big.stop()
        sim.stop()

    # Idle: its own simulator with the default keep-alive interval (10 s).
    log("idle: one connection for %.0f s" % IDLE_SECS)
    idle_sim = Sim()
    try:
        i = run_json([BENCH, "idle", str(idle_sim.port), str(IDLE_SECS)], timeout=IDLE_SECS + 60)
    finally:
        idle_sim.stop()
    s["idle_wakeups_per_s"] = [i["wakeups_per_s"]]
    s["idle_threads"] = [i["threads"]]
    s["idle_cpu_ms"] = [1000.0 * i["cpu_s"]]

    res = {k: round(statistics.median(v), 3) for k, v in s.items()}
    # Ratios of medians are what the table shows; the per-round ratio medians are kept
    # as *_round_median for reference.
    for k in ("rtt_vs_raw", "rtt_vs_python", "cold_start_vs_python", "throughput_vs_raw",
              "overhead_vs_python", "ws_rtt_vs_tcp", "node_rtt_vs_official",
              "node_cold_start_vs_official"):
        res[k + "_round_median"] = res[k]
    res["rtt_vs_raw"] = round(res["rtt_p50_us"] / res["raw_rtt_p50_us"], 3)
    res["rtt_vs_python"] = round(res["python_rtt_p50_us"] / res["rtt_p50_us"], 3)
    res["overhead_vs_python"] = round(
        (res["python_rtt_p50_us"] - res["raw_rtt_p50_us"])
        / max(res["rtt_p50_us"] - res["raw_rtt_p50_us"], 1.0), 3)
    res["ws_rtt_vs_tcp"] = round(res["ws_rtt_p50_us"] / res["rtt_p50_us"], 3)
    res["cold_start_vs_python"] = round(res["python_cold_start_ms"] / res["cold_start_ms"], 3)
    res["throughput_vs_raw"] = round(res["throughput_rps_256"] / res["raw_throughput_rps_256"], 3)
    res["node_rtt_vs_official"] = round(res["official_js_rtt_p50_us"] / res["node_rtt_p50_us"], 3)
    res["node_rtt_p99_vs_official"] = round(res["official_js_rtt_p99_us"] / res["node_rtt_p99_us"], 3)
    res["node_cold_start_vs_official"] = round(res["official_js_cold_start_ms"] / res["node_cold_start_ms"], 3)
    res["rss_kib_per_conn"] = round((res["rss_kib_100conn"] - res["rss_kib_1conn"]) / 99.0, 3)
    res["throughput_stalled_runs"] = sum(s["throughput_stalled_runs"])
    res["rounds"] = ROUNDS
    res["loadavg_1m"] = os.getloadavg()[0]
    res["bench_wall_s"] = round(time.monotonic() - started, 1)

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(OUT, "rounds.json"), "w") as f:
        json.dump(s, f, indent=1, sort_keys=True)
        f.write("\n")

    targets = {
        "rtt_vs_raw": ("<=", 1.25), "throughput_vs_raw": (">=", 0.8),
        "overhead_vs_python": (">=", 20), "cold_start_vs_python": (">=", 50),
        "idle_wakeups_per_s": ("<=", 1), "rss_kib_per_conn": ("<=", 256),
        "node_rtt_vs_official": (">=", 1), "node_cold_start_vs_official": (">=", 1),
    }
    rows = [
        ("rtt_p50_us", "us"), ("rtt_p99_us", "us"), ("sync_rtt_p50_us", "us"),
        ("sync_rtt_p99_us", "us"), ("xthread_rtt_p50_us", "us"), ("raw_rtt_p50_us", "us"),
        ("python_rtt_p50_us", "us"), ("rtt_vs_raw", "x"), ("rtt_vs_python", "x"),
        ("overhead_vs_python", "x"), ("ws_rtt_p50_us", "us"), ("ws_rtt_p99_us", "us"),
        ("ws_rtt_vs_tcp", "x"),
        ("throughput_rps_1", "req/s"), ("throughput_rps_16", "req/s"),
        ("throughput_rps_256", "req/s"), ("raw_throughput_rps_256", "req/s"),
        ("throughput_vs_raw", "x"), ("throughput_stalled_runs", "runs"), ("sim_cpu_pct", "%"), ("sim_cpu_pct_lib_256", "%"),
        ("client_cpu_pct_lib_256", "%"), ("client_cpu_pct_raw_256", "%"),
        ("lib_cpu_us_per_req_256", "us"), ("raw_cpu_us_per_req_256", "us"),
        ("cold_start_ms", "ms"), ("python_cold_start_ms", "ms"), ("cold_start_vs_python", "x"),
        ("rss_kib_1conn", "KiB"), ("rss_kib_100conn", "KiB"), ("rss_kib_per_conn", "KiB"),
        ("idle_wakeups_per_s", "1/s"), ("decode_10k_groups_us", "us"),
        ("rtt_10k_groups_p50_us", "us"), ("raw_rtt_10k_groups_p50_us", "us"),
        ("node_rtt_p50_us", "us"), ("node_rtt_p99_us", "us"), ("official_js_rtt_p50_us", "us"),
        ("official_js_rtt_p99_us", "us"), ("node_rtt_vs_official", "x"), ("node_rtt_p99_vs_official", "x"),
        ("node_cold_start_ms", "ms"), ("official_js_cold_start_ms", "ms"), ("node_cold_start_vs_official", "x"),
    ]
    print("%-28s %14s %-6s %-10s %s" % ("metric", "median", "unit", "target", ""))
    for k, unit in rows:
        t = targets.get(k)
        verdict, tgt = "", ""
        if t:
            op, lim = t
            ok = res[k] <= lim if op == "<=" else res[k] >= lim
            verdict, tgt = ("ok" if ok else "MISSED"), "%s %g" % (op, lim)
        print("%-28s %14.2f %-6s %-10s %s" % (k, res[k], unit, tgt, verdict))
    print("rounds=%d, wall %.0f s, load average %.2f, results: %s" % (
        ROUNDS, res["bench_wall_s"], res["loadavg_1m"], os.path.join(OUT, "results.json")))


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
