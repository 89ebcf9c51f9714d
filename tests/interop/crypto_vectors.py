"""Known-answer vectors from the official futu-api package's own crypto code.

Driven by tests/crypto_vectors.rs. Reads one JSON request on stdin and prints one line
"@@RESULT@@ <json>" on stdout (futu may log to stdout too; the prefix keeps them apart).

Requests:
  {"op": "aes", "key": "<16 chars>", "iv": "<16 chars>", "plains": ["<hex>", ...]}
      -> {"cbc": [{"cipher": hex, "back": hex}], "ecb": [...]}
     Encrypts each plaintext with futu.common.conn_mng.FutuConnMng.encrypt_conn_data on a
     registered connection with an IV (AES-CBC + PKCS#7) and one without (FTAES-ECB), and
     decrypts the result back with FutuConnMng.decrypt_conn_data.
  {"op": "aes_decrypt", "key": ..., "iv": ..., "cbc": [hex...], "ecb": [hex...]}
      -> {"cbc": [hex...], "ecb": [hex...]}   (their decryption of our ciphertexts)
  {"op": "rsa", "pem_path": path, "decrypt": [hex...], "encrypt": [hex...]}
      -> {"decrypted": [hex or null], "encrypted": [hex...]}
     Uses futu.common.sys_config.RsaCrypt (100-byte chunks out, 128-byte chunks in) after
     SysConfig.set_init_rsa_file(pem_path), i.e. exactly what InitConnect uses.
"""

import json
import sys

from futu import SysConfig
from futu.common.conn_mng import FutuConnMng
from futu.common.constant import RET_OK
from futu.common.sys_config import RsaCrypt

SysConfig.enable_console_log(False)

CBC_CONN = 9_000_001
ECB_CONN = 9_000_002


def register(key, iv):
    FutuConnMng.add_conn({"conn_id": CBC_CONN, "conn_key": key, "conn_iv": iv,
                          "is_encrypt": True, "login_user_id": 0})
    # No IV: the official client falls back to FTAES-ECB (conn_mng.get_conn_aes_cryptor).
    FutuConnMng.add_conn({"conn_id": ECB_CONN, "conn_key": key, "conn_iv": None,
                          "is_encrypt": True, "login_user_id": 0})


def enc(conn, data):
    ret, msg, out = FutuConnMng.encrypt_conn_data(conn, data)
    if ret != RET_OK:
        raise RuntimeError("encrypt_conn_data: %s" % msg)
    return out


def dec(conn, data):
    ret, msg, out = FutuConnMng.decrypt_conn_data(conn, data)
    if ret != RET_OK:
        raise RuntimeError("decrypt_conn_data: %s" % msg)
    return out


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    if op == "aes":
        register(req["key"], req["iv"])
        res = {"cbc": [], "ecb": []}
        for h in req["plains"]:
            plain = bytes.fromhex(h)
            for name, conn in (("cbc", CBC_CONN), ("ecb", ECB_CONN)):
                c = enc(conn, plain)
                res[name].append({"cipher": c.hex(), "back": dec(conn, c).hex()})
    elif op == "aes_decrypt":
        register(req["key"], req["iv"])
        res = {
            "cbc": [dec(CBC_CONN, bytes.fromhex(h)).hex() for h in req["cbc"]],
            "ecb": [dec(ECB_CONN, bytes.fromhex(h)).hex() for h in req["ecb"]],
        }
    elif op == "rsa":
        SysConfig.set_init_rsa_file(req["pem_path"])
        decrypted = []
        for h in req["decrypt"]:
            try:
                decrypted.append(RsaCrypt.decrypt(bytes.fromhex(h)).hex())
            except Exception as e:  # noqa: BLE001 - report any failure as null
                print("rsa decrypt failed: %r" % (e,), file=sys.stderr)
                decrypted.append(None)
        encrypted = [RsaCrypt.encrypt(bytes.fromhex(h)).hex() for h in req["encrypt"]]
        res = {"decrypted": decrypted, "encrypted": encrypted}
    else:
        raise SystemExit("unknown op %r" % (op,))
    sys.stdout.write("@@RESULT@@ " + json.dumps(res) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
