"""Run only in the second venv, which has pandas: data is then a DataFrame."""
import subprocess
import sys

import pytest

from opend import RET_OK, OpenQuoteContext, UserSecurityGroupType

pd = pytest.importorskip("pandas")


def test_dataframe_columns_and_rows(sim):
    with OpenQuoteContext(port=sim.port) as ctx:
        ret, data = ctx.get_user_security_group(UserSecurityGroupType.ALL)
        ret2, custom = ctx.get_user_security_group(UserSecurityGroupType.CUSTOM)
    assert ret == RET_OK and isinstance(data, pd.DataFrame)
    assert list(data.columns) == ["group_name", "group_type"] and len(data) == 12
    assert list(data["group_type"]) == ["SYSTEM"] * 10 + ["CUSTOM"] * 2
    assert list(custom["group_name"]) == ["A", "C"]


def test_official_sample_prints_dataframe(sim, tmp_path):
    script = tmp_path / "sample.py"
    script.write_text(
        "from opend import *\n"
        f"quote_ctx = OpenQuoteContext(host='127.0.0.1', port={sim.port})\n"
        "ret, data = quote_ctx.get_user_security_group(group_type = UserSecurityGroupType.ALL)\n"
        "if ret == RET_OK:\n    print(data)\nelse:\n    print('error:', data)\n"
        "quote_ctx.close()\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["group_name", "group_type"]
    assert lines[-1].split() == ["11", "C", "CUSTOM"]
