//! RsaKey::decrypt (128-byte PKCS#1 v1.5 chunks) on arbitrary bytes, with the committed
//! TEST key (fuzz/TEST-KEY-rsa1024-DO-NOT-USE.pem, public, for fuzzing only).
#![no_main]
use libfuzzer_sys::fuzz_target;
use opend_proto::crypto::RsaKey;
use std::sync::OnceLock;

static KEY: OnceLock<RsaKey> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let key = KEY.get_or_init(|| {
        RsaKey::from_pem(include_str!("../TEST-KEY-rsa1024-DO-NOT-USE.pem")).expect("test key")
    });
    match key.decrypt(data) {
        Ok(plain) => {
            assert!(!data.is_empty() && data.len().is_multiple_of(128));
            assert!(plain.len() <= data.len() / 128 * 117);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // Round trip of the first 250 bytes, for one input in 16 (RSA is slow).
    let n = data.len().min(250);
    if n > 0 && data[0] & 0x0f == 0 {
        let wire = key.encrypt(&data[..n]);
        assert_eq!(
            key.decrypt(&wire).expect("own ciphertext decrypts"),
            &data[..n]
        );
    }
});
