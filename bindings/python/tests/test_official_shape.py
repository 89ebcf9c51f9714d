"""The official call shape: the doc's sample with only its import changed."""
import os
from pathlib import Path
import subprocess
import sys

import opend
from opend import *  # noqa: F401,F403  (what the official sample does)

EN_SYSTEM = ["All", "Starred", "CN", "HK", "US", "Options", "HK options", "US options",
             "Futures", "Bonds"]
ZH_SYSTEM = ["全部", "特别关注", "沪深", "港股", "美股", "期权", "港股期权", "美股期权", "期货", "债券"]

OFFICIAL_SAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "get_user_security_group.py").read_text()


def test_constants_match_official():
    assert RET_OK == 0 and RET_ERROR == -1
    assert (UserSecurityGroupType.ALL, UserSecurityGroupType.CUSTOM,
            UserSecurityGroupType.SYSTEM) == ("ALL", "CUSTOM", "SYSTEM")


def test_official_sample_runs_with_import_changed(sim, tmp_path):
    script = tmp_path / "sample.py"
    script.write_text(OFFICIAL_SAMPLE.replace("port=11111", f"port={sim.port}"))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "error:" not in out.stdout
    for name in EN_SYSTEM + ["A", "C"]:
        assert f"'group_name': '{name}'" in out.stdout
    assert out.stdout.count("'SYSTEM'") == 10 and out.stdout.count("'CUSTOM'") == 2


def test_all_custom_system_default_watchlist(sim):
    ctx = OpenQuoteContext(host="127.0.0.1", port=sim.port)
    try:
        ret, data = ctx.get_user_security_group(group_type=UserSecurityGroupType.ALL)
        assert ret == RET_OK
        assert data == [{"group_name": n, "group_type": "SYSTEM"} for n in EN_SYSTEM] + \
            [{"group_name": "A", "group_type": "CUSTOM"}, {"group_name": "C", "group_type": "CUSTOM"}]
        ret, data = ctx.get_user_security_group(UserSecurityGroupType.CUSTOM)
        assert (ret, [r["group_name"] for r in data]) == (RET_OK, ["A", "C"])
        ret, data = ctx.get_user_security_group(group_type="SYSTEM")
        assert (ret, [r["group_name"] for r in data]) == (RET_OK, EN_SYSTEM)
        assert {r["group_type"] for r in data} == {"SYSTEM"}
    finally:
        ctx.close()


def test_zh_watchlist(sim_factory):
    s = sim_factory("--lang", "zh")
    ctx = OpenQuoteContext(port=s.port)
    ret, data = ctx.get_user_security_group()
    ctx.close()
    assert ret == RET_OK
    assert [r["group_name"] for r in data] == ZH_SYSTEM + ["A", "C"]


def test_without_pandas_data_is_list_of_dicts(sim):
    try:
        import pandas  # noqa: F401
        has_pandas = True
    except ImportError:
        has_pandas = False
    assert not has_pandas, "the test venv must not have pandas: pandas is optional"
    ctx = OpenQuoteContext(port=sim.port)
    ret, data = ctx.get_user_security_group(UserSecurityGroupType.CUSTOM)
    ctx.close()
    assert ret == RET_OK and isinstance(data, list) and isinstance(data[0], dict)


def test_invalid_group_type_official_shape(sim):
    ctx = OpenQuoteContext(port=sim.port)
    try:
        ret, msg = ctx.get_user_security_group(group_type="FOO")
        assert ret == RET_ERROR and "group_type" in msg
        ret, msg = ctx.get_user_security_group(group_type=0)
        assert ret == RET_ERROR and "invalid group type" in msg
        # nothing was sent; the connection is still fine
        assert ctx.get_user_security_group("ALL")[0] == RET_OK
    finally:
        ctx.close()


def test_call_after_close_returns_connection_closed(sim):
    ctx = OpenQuoteContext(port=sim.port)
    ctx.close()
    ctx.close()  # idempotent
    assert ctx.get_user_security_group() == (RET_ERROR, "Connection closed")
    assert ctx.state == "CLOSED"


def test_loaded_from_installed_wheel():
    """The package and its libftapi.so come from the installed wheel, not the tree."""
    pkg = os.path.dirname(os.path.abspath(opend.__file__))
    assert "site-packages" in pkg, pkg
    assert os.path.dirname(opend._native.lib_path) == pkg
    assert opend.native_version() == opend.__version__
