#!/usr/bin/env python3
"""A/B: two builds of the bench program (e.g. before and after an engine change), against
one opend-sim, alternating in every round. Usage: ab.py ROUNDS OLD_BENCH NEW_BENCH
(build each with bench/run.sh's gcc line against its own libftapi, rpath to it)."""
import json, os, statistics, subprocess, sys, time
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIM = os.environ.get("OPEND_SIM") or os.path.join(ROOT, "target", "release", "opend-sim")
BENCHES = {"old": sys.argv[2], "new": sys.argv[3]}
os.environ["FTAPI_RATE_LIMIT"]="off"
p=subprocess.Popen([SIM,"--port","0","--port-file","/tmp/ab-%d.port" % os.getpid(),"--rate-limit","off"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
time.sleep(0.5)
port=open("/tmp/ab-%d.port" % os.getpid()).read().strip()
def run(b,*a):
    out=subprocess.run([b,a[0],port,*a[1:]],capture_output=True,text=True).stdout
    return json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
res={}
for r in range(int(sys.argv[1])):
    for v in ("old","new"):
        b=BENCHES[v]
        a=run(b,"lib-rtt","3000"); raw=run(b,"raw-rtt","3000"); t=run(b,"lib-tput","256","1.0")
        res.setdefault(v+"_rtt_vs_raw",[]).append(a["p50_us"]/raw["p50_us"])
        res.setdefault(v+"_rtt_p50",[]).append(a["p50_us"])
        res.setdefault(v+"_cpu_us_per_req_256",[]).append(1e6*t["cpu_s"]/t["completed"])
        res.setdefault(v+"_rps_256",[]).append(t["rps"])
p.terminate()
for k in sorted(res): print(k, round(statistics.median(res[k]),3), [round(x,3) for x in res[k]])
