"""The modern API: context manager, Group dataclasses, exceptions, Chinese/emoji names."""
import pytest

from conftest import write_json
from opend import (FtapiConnectError, FtapiError, Group, OpenQuoteContext,
                   UserSecurityGroupType)

GROUPS = [
    {"groupName": "全部", "groupType": 2},
    {"groupName": "港股 🇭🇰", "groupType": 2},
    {"groupName": "自选 A", "groupType": 1},
    {"groupName": "🚀 moon", "groupType": 1},
    {"groupName": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀", "groupType": 1},
]


@pytest.fixture(scope="module")
def unicode_sim(sim_factory, tmp_path_factory):
    path = write_json(str(tmp_path_factory.mktemp("groups")), "groups.json", GROUPS)
    return sim_factory("--groups", path, "--rate-limit", "off")


def expected(types):
    return [Group(g["groupName"], "CUSTOM" if g["groupType"] == 1 else "SYSTEM")
            for g in GROUPS if g["groupType"] in types]


def test_three_group_types_with_chinese_and_emoji(unicode_sim):
    with OpenQuoteContext(port=unicode_sim.port) as ctx:
        assert ctx.state == "READY" and ctx.connect_id != 0
        assert ctx.groups(UserSecurityGroupType.ALL) == expected({1, 2})
        assert ctx.groups(UserSecurityGroupType.CUSTOM) == expected({1})
        assert ctx.groups(UserSecurityGroupType.SYSTEM) == expected({2})
        assert ctx.groups("custom", timeout=5) == expected({1})  # any case, per-call timeout
        assert ctx.groups(1) == expected({1}) and ctx.groups(2) == expected({2})
    assert ctx.state == "CLOSED"


def test_official_shape_keeps_unicode(unicode_sim):
    with OpenQuoteContext(port=unicode_sim.port) as ctx:
        ret, data = ctx.get_user_security_group(UserSecurityGroupType.ALL)
    assert ret == 0
    assert [(r["group_name"], r["group_type"]) for r in data] == \
        [(g.name, g.group_type) for g in expected({1, 2})]


def test_result_object(unicode_sim):
    with OpenQuoteContext(port=unicode_sim.port) as ctx:
        r = ctx.get_user_security_group_result("SYSTEM")
    assert r.ok and r.error is None and r.ret_type == 0 and r.groups == expected({2})


@pytest.mark.parametrize("bad", [0, 4, -1, 99])
def test_invalid_int_group_type_rejected_by_library(unicode_sim, bad):
    with OpenQuoteContext(port=unicode_sim.port) as ctx:
        with pytest.raises(FtapiError) as ei:
            ctx.groups(bad)
        assert ei.value.err_code == 4 and ei.value.result == 4 and ei.value.ret_type == -1
        with pytest.raises(FtapiError):
            ctx.get_user_security_group_async(bad, lambda r: None)
        assert ctx.groups("ALL") == expected({1, 2})


@pytest.mark.parametrize("bad", ["FOO", "", None, 2.0, True])
def test_invalid_group_type_values(unicode_sim, bad):
    with OpenQuoteContext(port=unicode_sim.port) as ctx:
        with pytest.raises(FtapiError) as ei:
            ctx.groups(bad)
        assert ei.value.err_code == 4


def test_connect_refused_raises(sim_factory):
    s = sim_factory()
    port = s.port
    s.stop()
    with pytest.raises(FtapiConnectError) as ei:
        OpenQuoteContext(port=port, connect_timeout=10)
    assert ei.value.err_code >> 32 == 6  # FTAPI_CONNECT_FAIL_CONNECT


def test_reject_init_raises_with_opend_message(sim_factory):
    s = sim_factory("--reject-init", "no entry 禁止")
    with pytest.raises(FtapiConnectError) as ei:
        OpenQuoteContext(port=s.port)
    assert ei.value.err_code == (100 << 32 | 5)  # FTAPI_INIT_FAIL / OPEND_REJECT
    assert "no entry 禁止" in ei.value.message


def test_bad_host_raises(sim):
    with pytest.raises(FtapiError):
        OpenQuoteContext(host="", port=sim.port)


def test_result_keeps_the_reply_fields_as_sent(sim_factory):
    # OpenD (and opend-sim) send retMsg "" and errCode 0 with a success ...
    s = sim_factory("--rate-limit", "off")
    with OpenQuoteContext(port=s.port) as ctx:
        r = ctx.get_user_security_group_result("ALL")
    assert r.ok and len(r.groups) == 12
    assert (r.has_ret_msg, r.ret_msg, r.has_err_code, r.err_code, r.has_s2c) == (True, "", True, 0, True)
    # ... and a reply without them (--omit-ret-fields) does not gain them.
    bare = sim_factory("--rate-limit", "off", "--omit-ret-fields")
    with OpenQuoteContext(port=bare.port) as ctx:
        r = ctx.get_user_security_group_result("ALL")
    assert r.ok and len(r.groups) == 12
    assert (r.has_ret_msg, r.ret_msg, r.has_err_code, r.err_code, r.has_s2c) == (False, "", False, 0, True)
