"""The official futu-api client's get_user_security_group round trip against opend-sim.

usage: py_rtt.py PORT N     prints one JSON object (p50/p99 in microseconds)
usage: py_rtt.py PORT cold  the official sample (connect, one request, print) for cold start
Run with HOME pointed at a scratch dir (futu logs there). os._exit: futu's threads never end.
"""
import json
import os
import sys
import time

port = int(sys.argv[1])
mode = sys.argv[2]

from futu import OpenQuoteContext, RET_OK, UserSecurityGroupType  # noqa: E402

if mode == "cold":
    quote_ctx = OpenQuoteContext(host="127.0.0.1", port=port)
    ret, data = quote_ctx.get_user_security_group(group_type=UserSecurityGroupType.ALL)
    if ret == RET_OK:
        print(data)
    else:
        print("error:", data)
    sys.stdout.flush()
    os._exit(0 if ret == RET_OK else 1)

n = int(mode)
quote_ctx = OpenQuoteContext(host="127.0.0.1", port=port)
warm = n // 10 + 10
samples = []
for i in range(n + warm):
    t0 = time.perf_counter_ns()
    ret, data = quote_ctx.get_user_security_group(group_type=UserSecurityGroupType.ALL)
    t1 = time.perf_counter_ns()
    if ret != RET_OK or len(data) == 0:
        sys.stderr.write("py_rtt: bad reply: %r\n" % (data,))
        sys.stderr.flush()
        os._exit(1)
    if i >= warm:
        samples.append(t1 - t0)
samples.sort()


def pct(p):
    return samples[min(len(samples) - 1, int(p / 100.0 * len(samples)))] / 1000.0


print(json.dumps({"mode": "py-rtt", "n": n, "p50_us": pct(50), "p99_us": pct(99),
                  "groups": len(data)}))
sys.stdout.flush()
os._exit(0)
