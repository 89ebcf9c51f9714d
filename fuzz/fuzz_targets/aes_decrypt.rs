//! Both AES body decoders on arbitrary bytes, and the encrypt/decrypt round trip.
//! Input: 16-byte key, 16-byte IV, then the body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use opend_proto::crypto::BodyCipher;

fuzz_target!(|data: &[u8]| {
    if data.len() < 32 {
        return;
    }
    let key: [u8; 16] = data[..16].try_into().unwrap();
    let iv: [u8; 16] = data[16..32].try_into().unwrap();
    let body = &data[32..];
    for c in [BodyCipher::AesCbc { key, iv }, BodyCipher::FtAesEcb { key }] {
        if let Ok(plain) = c.decrypt(body) {
            assert!(plain.len() <= body.len());
        }
        let wire = c.encrypt(body);
        assert_eq!(c.decrypt(&wire).expect("own ciphertext decrypts"), body);
    }
});
