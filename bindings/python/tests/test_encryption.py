"""Encrypted connections: a key made here with openssl, OpenD (the sim) holding the same."""
import shutil
import subprocess

import pytest

from opend import FtapiError, OpenQuoteContext, SysConfig


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    path = tmp_path_factory.mktemp("rsa") / "key.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(path), "1024"],
                   check=True, capture_output=True)
    return str(path)


@pytest.fixture(scope="module")
def rsa_sim(sim_factory, key_file):
    return sim_factory("--rsa-key", key_file, "--rate-limit", "off")


def test_encrypted_official_shape(rsa_sim, key_file):
    ctx = OpenQuoteContext(host="127.0.0.1", port=rsa_sim.port, is_encrypt=True, rsa_file=key_file)
    ret, data = ctx.get_user_security_group()
    ctx.close()
    assert ret == 0 and [r["group_name"] for r in data][-2:] == ["A", "C"] and len(data) == 12


def test_encrypted_via_sysconfig(rsa_sim, key_file):
    SysConfig.set_init_rsa_file(key_file)
    SysConfig.enable_proto_encrypt(True)
    try:
        with OpenQuoteContext(port=rsa_sim.port) as ctx:
            assert [g.name for g in ctx.groups("CUSTOM")] == ["A", "C"]
    finally:
        SysConfig.enable_proto_encrypt(False)
        SysConfig.set_init_rsa_file(None)


def test_encrypt_without_key_fails_clearly(rsa_sim):
    with pytest.raises(FtapiError) as ei:
        OpenQuoteContext(port=rsa_sim.port, is_encrypt=True)
    assert ei.value.result == 10   # FTAPI_ERR_NO_RSA_KEY


def test_bad_key_rejected(rsa_sim, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n")
    with pytest.raises(FtapiError) as ei:
        OpenQuoteContext(port=rsa_sim.port, is_encrypt=True, rsa_file=str(bad))
    assert ei.value.result == 11   # FTAPI_ERR_BAD_RSA_KEY


def test_wrong_key_does_not_connect(rsa_sim, tmp_path):
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(other), "1024"],
                   check=True, capture_output=True)
    with pytest.raises(FtapiError):
        OpenQuoteContext(port=rsa_sim.port, is_encrypt=True, rsa_file=str(other), timeout=2)
