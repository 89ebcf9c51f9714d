//! Known-answer tests of `opend_proto::crypto` against the official futu-api Python package.
//!
//! Nothing here is a stored ciphertext: every expected value is produced at test time by
//! the official SDK's own code (`FutuConnMng.encrypt_conn_data` / `decrypt_conn_data` for
//! AES-CBC and FTAES-ECB, `RsaCrypt` for RSA), run from `.venv` through
//! tests/interop/crypto_vectors.py. The venv is created by scripts/ensure-venv.sh on first
//! use.

#[path = "interop/venv.rs"]
mod venv;

use opend_proto::crypto::{BodyCipher, RsaKey};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use std::time::Duration;
use venv::{hex, unhex};

const KEY: &str = "3F17CF3EEF912C92"; // the shape OpenD uses: 16 upper-case hex chars
const IV: &str = "C119DDDD6314F18A";
const AES_SIZES: [usize; 6] = [0, 1, 15, 16, 17, 100_000];
const RSA_SIZES: [usize; 4] = [1, 100, 101, 250];

fn plaintext(n: usize, salt: u8) -> Vec<u8> {
    // Not all-zero (zero padding would hide a length bug) and not periodic in 16.
    (0..n).map(|i| ((i * 131 + 7) % 251) as u8 ^ salt).collect()
}

fn official(req: Value) -> Value {
    let out = venv::run_python(
        &venv::helper("crypto_vectors.py"),
        &[],
        req.to_string().as_bytes(),
        Duration::from_secs(120),
    );
    assert!(
        out.success,
        "crypto_vectors.py failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.result()
}

fn ciphers() -> (BodyCipher, BodyCipher) {
    let cbc = BodyCipher::from_init_reply(KEY, Some(IV)).unwrap();
    let ecb = BodyCipher::from_init_reply(KEY, None).unwrap();
    assert!(matches!(cbc, BodyCipher::AesCbc { .. }));
    assert!(matches!(ecb, BodyCipher::FtAesEcb { .. }));
    (cbc, ecb)
}

#[test]
fn aes_cbc_and_ftaes_ecb_match_the_official_sdk_byte_for_byte() {
    let plains: Vec<Vec<u8>> = AES_SIZES.iter().map(|&n| plaintext(n, 0)).collect();
    let res = official(json!({
        "op": "aes", "key": KEY, "iv": IV,
        "plains": plains.iter().map(|p| hex(p)).collect::<Vec<_>>(),
    }));
    let (cbc, ecb) = ciphers();
    for (mode, ours) in [("cbc", &cbc), ("ecb", &ecb)] {
        let theirs = res[mode].as_array().unwrap();
        assert_eq!(theirs.len(), plains.len());
        for (plain, t) in plains.iter().zip(theirs) {
            let n = plain.len();
            let their_cipher = unhex(t["cipher"].as_str().unwrap());
            // The official code round-trips its own output (sanity of the oracle).
            assert_eq!(
                unhex(t["back"].as_str().unwrap()),
                *plain,
                "{mode} {n}: oracle"
            );
            let our_cipher = ours.encrypt(plain);
            assert_eq!(
                our_cipher.len(),
                their_cipher.len(),
                "{mode} size {n}: ciphertext length"
            );
            assert!(
                our_cipher == their_cipher,
                "{mode} size {n}: our ciphertext differs from the official SDK's"
            );
            assert_eq!(
                ours.decrypt(&their_cipher).expect("decrypt theirs"),
                *plain,
                "{mode} size {n}: decrypting the official ciphertext"
            );
        }
    }
    // The lengths the protocol implies, checked on the official output itself.
    let c = res["cbc"].as_array().unwrap();
    let e = res["ecb"].as_array().unwrap();
    for (i, &n) in AES_SIZES.iter().enumerate() {
        assert_eq!(
            c[i]["cipher"].as_str().unwrap().len() / 2,
            (n / 16 + 1) * 16
        );
        let ecb_wire = unhex(e[i]["cipher"].as_str().unwrap());
        assert_eq!(ecb_wire.len(), n.div_ceil(16) * 16 + 16);
        assert_eq!(
            &ecb_wire[ecb_wire.len() - 16..ecb_wire.len() - 1],
            &[0u8; 15]
        );
        assert_eq!(ecb_wire[ecb_wire.len() - 1] as usize, n % 16);
    }
}

#[test]
fn the_official_sdk_decrypts_our_aes_bodies() {
    // Independent of the byte-for-byte test above: different plaintexts, and the official
    // side does the decrypting.
    let (cbc, ecb) = ciphers();
    let plains: Vec<Vec<u8>> = AES_SIZES.iter().map(|&n| plaintext(n, 0x5a)).collect();
    let res = official(json!({
        "op": "aes_decrypt", "key": KEY, "iv": IV,
        "cbc": plains.iter().map(|p| hex(&cbc.encrypt(p))).collect::<Vec<_>>(),
        "ecb": plains.iter().map(|p| hex(&ecb.encrypt(p))).collect::<Vec<_>>(),
    }));
    for mode in ["cbc", "ecb"] {
        for (plain, t) in plains.iter().zip(res[mode].as_array().unwrap()) {
            assert!(
                unhex(t.as_str().unwrap()) == *plain,
                "{mode} size {}: the official SDK decrypted our body to something else",
                plain.len()
            );
        }
    }
}

#[test]
fn rsa_chunked_pkcs1v15_interoperates_with_the_official_sdk() {
    // A throwaway key made here; never a key from anywhere else.
    let mut rng = rsa::rand_core::OsRng;
    let private = RsaPrivateKey::new(&mut rng, 1024).expect("generate a 1024-bit key");
    let pkcs1 = private.to_pkcs1_pem(LineEnding::LF).unwrap();
    let pkcs8 = private.to_pkcs8_pem(LineEnding::LF).unwrap();
    let dir = venv::TempDir::new("rsa");
    let pem_path = dir.path().join("test_key_pkcs1.pem");
    std::fs::write(&pem_path, pkcs1.as_bytes()).unwrap();

    let ours = RsaKey::from_pem(&pkcs1).expect("PKCS#1 PEM");
    let ours8 = RsaKey::from_pem(&pkcs8).expect("PKCS#8 PEM of the same key");

    let to_them: Vec<Vec<u8>> = RSA_SIZES.iter().map(|&n| plaintext(n, 0x11)).collect();
    let from_them: Vec<Vec<u8>> = RSA_SIZES.iter().map(|&n| plaintext(n, 0x22)).collect();
    let our_ciphers: Vec<Vec<u8>> = to_them.iter().map(|p| ours.encrypt(p)).collect();
    for (p, c) in to_them.iter().zip(&our_ciphers) {
        assert_eq!(
            c.len(),
            p.len().div_ceil(100) * 128,
            "our chunking, size {}",
            p.len()
        );
    }
    // A block encrypted under another key must not decrypt on their side either, which
    // shows the oracle really uses the key we gave it.
    let other = RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let other_key = RsaKey::from_pem(&other.to_pkcs1_pem(LineEnding::LF).unwrap()).unwrap();
    let foreign = other_key.encrypt(b"not for you");

    let mut decrypt: Vec<String> = our_ciphers.iter().map(|c| hex(c)).collect();
    decrypt.push(hex(&foreign));
    let res = official(json!({
        "op": "rsa",
        "pem_path": pem_path.to_str().unwrap(),
        "decrypt": decrypt,
        "encrypt": from_them.iter().map(|p| hex(p)).collect::<Vec<_>>(),
    }));

    let decrypted = res["decrypted"].as_array().unwrap();
    for (i, p) in to_them.iter().enumerate() {
        let got = decrypted[i]
            .as_str()
            .unwrap_or_else(|| panic!("official RsaCrypt could not decrypt our size {}", p.len()));
        assert_eq!(
            unhex(got),
            *p,
            "official decryption of our size {}",
            p.len()
        );
    }
    assert_ne!(
        decrypted[to_them.len()].as_str().map(unhex).as_deref(),
        Some(&b"not for you"[..]),
        "the official side decrypted a block made with a different key"
    );

    let encrypted = res["encrypted"].as_array().unwrap();
    for (p, c) in from_them.iter().zip(encrypted) {
        let c = unhex(c.as_str().unwrap());
        assert_eq!(
            c.len(),
            p.len().div_ceil(100) * 128,
            "their chunking, size {}",
            p.len()
        );
        assert_eq!(
            ours.decrypt(&c).unwrap(),
            *p,
            "our decryption, size {}",
            p.len()
        );
        assert_eq!(
            ours8.decrypt(&c).unwrap(),
            *p,
            "PKCS#8 key, size {}",
            p.len()
        );
        assert!(other_key.decrypt(&c).is_err() || other_key.decrypt(&c).unwrap() != *p);
    }
}

#[test]
fn debug_output_never_shows_key_material() {
    // docs/SECURITY.md promises this; a derived Debug would print the key.
    let mut rng = rsa::rand_core::OsRng;
    let private = RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let pem = private.to_pkcs1_pem(LineEnding::LF).unwrap();
    let key = RsaKey::from_pem(&pem).unwrap();
    let options = opend::Options {
        door: opend::door::Door::Tcp {
            encrypt: true,
            rsa_key: Some(key.clone()),
        },
        ..Default::default()
    };
    let (cbc, ecb) = ciphers();
    let n = {
        use rsa::traits::PublicKeyParts;
        private.n().to_string()
    };
    let pem_line = pem.lines().nth(1).unwrap().to_string();
    for shown in [
        format!("{key:?}"),
        format!("{options:?}"),
        format!("{options:#?}"),
        format!("{cbc:?}"),
        format!("{ecb:?}"),
    ] {
        assert!(!shown.contains(&n[..20]), "modulus in {shown}");
        // Big-number limbs in any base show up as long digit runs.
        let longest_digits = shown
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(
            longest_digits < 10,
            "a long number (key material?) in {shown}"
        );
        assert!(!shown.contains(&pem_line), "PEM in {shown}");
        assert!(
            !shown.contains(KEY) && !shown.contains(IV),
            "AES key/IV in {shown}"
        );
        let key_bytes = format!("{:?}", KEY.as_bytes());
        assert!(
            !shown.contains(&key_bytes[1..20]),
            "AES key bytes in {shown}"
        );
    }
}
