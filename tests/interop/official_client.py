"""Runs the official futu-api client against an OpenD (the simulator in our tests).

Driven by tests/interop_official.rs:

    official_client.py HOST PORT  < {"calls": ["ALL", "CUSTOM", "SYSTEM", "N/A", ...],
                                     "encrypt": false, "rsa_file": null}

For each call it runs OpenQuoteContext.get_user_security_group(<UserSecurityGroupType>)
on one context and prints a single line

    @@RESULT@@ {"calls": [{"type": "ALL", "ret": 0, "rows": [[name, "SYSTEM"], ...]},
                          {"type": "N/A", "ret": -1, "msg": "..."}],
                "conn": {"is_encrypt": bool, "has_iv": bool, "conn_id": int}}

The OpenQuoteContext constructor retries a failed InitConnect forever (sleep 6 s, new
socket), so the caller must run this with a timeout and kill it.
"""

import json
import os
import sys

from futu import OpenQuoteContext, RET_OK, SysConfig, UserSecurityGroupType
from futu.common.conn_mng import FutuConnMng

TYPES = {
    "ALL": UserSecurityGroupType.ALL,
    "CUSTOM": UserSecurityGroupType.CUSTOM,
    "SYSTEM": UserSecurityGroupType.SYSTEM,
    "N/A": UserSecurityGroupType.NONE,
}


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    spec = json.load(sys.stdin)
    SysConfig.enable_console_log(False)
    SysConfig.set_all_thread_daemon(True)
    if spec.get("rsa_file"):
        SysConfig.set_init_rsa_file(spec["rsa_file"])
    SysConfig.enable_proto_encrypt(bool(spec.get("encrypt")))

    ctx = OpenQuoteContext(host=host, port=port)
    calls = []
    try:
        for t in spec["calls"]:
            ret, data = ctx.get_user_security_group(group_type=TYPES.get(t, t))
            if ret == RET_OK:
                rows = [[str(r.group_name), str(r.group_type)] for r in data.itertuples()]
                calls.append({"type": t, "ret": ret, "rows": rows})
            else:
                calls.append({"type": t, "ret": ret, "msg": str(data)})
        conn_id = ctx.get_sync_conn_id()
        info = FutuConnMng.get_conn_info(conn_id) or {}
        conn = {
            "conn_id": conn_id,
            "is_encrypt": bool(info.get("is_encrypt")),
            "has_iv": info.get("conn_iv") is not None,
        }
    finally:
        ctx.close()
    sys.stdout.write("@@RESULT@@ " + json.dumps({"calls": calls, "conn": conn}) + "\n")
    sys.stdout.flush()
    # Don't wait for the SDK's worker threads to wind down.
    os._exit(0)


if __name__ == "__main__":
    main()
