//! Body encryption as OpenD does it (docs/PROTOCOL.md §4).
//!
//! - InitConnect (1001) travels RSA-encrypted: PKCS#1 v1.5 with a 1024-bit key, the
//!   plaintext cut into 100-byte chunks, the ciphertext read back in 128-byte chunks.
//!   Both sides hold the same private key; the public half is derived from it.
//! - Every later body is AES-128 with the connection's `connAESKey`: CBC with PKCS#7 and
//!   the fixed `aesCBCiv` (a fresh cipher per packet), or Futu's "FTAES-ECB" (zero padding
//!   plus a 16-byte clear tail whose last byte is `len % 16`) when OpenD sends no IV.
//!
//! The SHA-1 in the frame header always covers the plaintext; callers check it after
//! [`BodyCipher::decrypt`].

use aes::Aes128;
use aes::cipher::{
    BlockDecrypt, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit,
    block_padding::Pkcs7, generic_array::GenericArray,
};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use std::fmt;

/// RSA plaintext chunk size used by every official SDK.
pub const RSA_PLAIN_CHUNK: usize = 100;
/// RSA ciphertext block size of a 1024-bit key.
pub const RSA_CIPHER_CHUNK: usize = 128;

/// Why a key could not be used or a body could not be decrypted. The texts never
/// contain key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The PEM text is neither a PKCS#1 nor a PKCS#8 RSA private key.
    BadPem,
    /// The key is not 1024 bits, the only size the official SDKs' chunking supports.
    KeySize(usize),
    /// RSA ciphertext whose length is not a multiple of 128 bytes, or a block that does not
    /// decrypt with this key (usually: the key differs from OpenD's).
    RsaDecrypt,
    /// An AES key or IV that is not 16 bytes.
    BadAesKey,
    /// An AES body whose length or padding is wrong.
    AesDecrypt,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::BadPem => write!(f, "the RSA private key is not a PKCS#1 or PKCS#8 PEM"),
            CryptoError::KeySize(bits) => {
                write!(
                    f,
                    "the RSA key has {bits} bits; OpenD clients need a 1024-bit key"
                )
            }
            CryptoError::RsaDecrypt => write!(
                f,
                "RSA decryption failed (does the key match OpenD's rsa_private_key?)"
            ),
            CryptoError::BadAesKey => write!(f, "the AES key or IV is not 16 bytes"),
            CryptoError::AesDecrypt => write!(f, "AES decryption failed (bad length or padding)"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// The RSA key shared by the client and OpenD.
#[derive(Clone)]
pub struct RsaKey {
    // Shared: a key is cloned into every connection's settings.
    private: std::sync::Arc<RsaPrivateKey>,
    public: std::sync::Arc<RsaPublicKey>,
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.write_str("RsaKey(..)")
    }
}

impl RsaKey {
    /// Parses a PEM private key, PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8
    /// (`BEGIN PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<RsaKey, CryptoError> {
        let private = RsaPrivateKey::from_pkcs1_pem(pem.trim())
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem.trim()))
            .map_err(|_| CryptoError::BadPem)?;
        let bits = private.size() * 8;
        if bits != RSA_CIPHER_CHUNK * 8 {
            return Err(CryptoError::KeySize(bits));
        }
        let public = RsaPublicKey::from(&private);
        Ok(RsaKey {
            private: private.into(),
            public: public.into(),
        })
    }

    /// Encrypts with the public key, 100 plaintext bytes per 128-byte block.
    pub fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        let mut rng = rsa::rand_core::OsRng;
        let mut out = Vec::with_capacity(plain.len().div_ceil(RSA_PLAIN_CHUNK) * RSA_CIPHER_CHUNK);
        for chunk in plain.chunks(RSA_PLAIN_CHUNK) {
            let block = self
                .public
                .encrypt(&mut rng, Pkcs1v15Encrypt, chunk)
                .expect("a 100-byte chunk always fits a 1024-bit PKCS#1 v1.5 block");
            out.extend_from_slice(&block);
        }
        out
    }

    /// Decrypts with the private key, 128 bytes at a time.
    pub fn decrypt(&self, cipher: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if cipher.is_empty() || cipher.len() % RSA_CIPHER_CHUNK != 0 {
            return Err(CryptoError::RsaDecrypt);
        }
        let mut out = Vec::with_capacity(cipher.len() / RSA_CIPHER_CHUNK * RSA_PLAIN_CHUNK);
        for block in cipher.chunks(RSA_CIPHER_CHUNK) {
            let plain = self
                .private
                .decrypt(Pkcs1v15Encrypt, block)
                .map_err(|_| CryptoError::RsaDecrypt)?;
            out.extend_from_slice(&plain);
        }
        Ok(out)
    }
}

/// InitConnect's `packetEncAlgo`: which body cipher a client asks for. The client and
/// the simulator read and write the field through this one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum PacketEncAlgo {
    /// Futu's ECB variant; what OpenD uses when the field is absent.
    FtAesEcb = 0,
    /// No body encryption.
    None = -1,
    /// Standard AES-ECB (no official client uses it).
    AesEcb = 1,
    /// AES-CBC with the connection's fixed IV: what every official client asks for.
    AesCbc = 2,
}

impl PacketEncAlgo {
    /// What a client sends: AES-CBC when it encrypts, none otherwise.
    pub fn requested(encrypt: bool) -> PacketEncAlgo {
        if encrypt {
            PacketEncAlgo::AesCbc
        } else {
            PacketEncAlgo::None
        }
    }

    /// The field as received; an absent field means FTAES-ECB.
    pub fn from_field(v: Option<i32>) -> Option<PacketEncAlgo> {
        match v.unwrap_or(0) {
            0 => Some(PacketEncAlgo::FtAesEcb),
            -1 => Some(PacketEncAlgo::None),
            1 => Some(PacketEncAlgo::AesEcb),
            2 => Some(PacketEncAlgo::AesCbc),
            _ => None,
        }
    }
}

/// The AES cipher of one connection, chosen from InitConnect's reply.
#[derive(Clone)]
pub enum BodyCipher {
    /// AES-128-CBC, PKCS#7, the same IV for every packet (packetEncAlgo 2).
    AesCbc { key: [u8; 16], iv: [u8; 16] },
    /// Futu's ECB variant (packetEncAlgo 0): zero padding plus a 16-byte clear tail.
    FtAesEcb { key: [u8; 16] },
}

impl fmt::Debug for BodyCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyCipher::AesCbc { .. } => f.write_str("AesCbc(..)"),
            BodyCipher::FtAesEcb { .. } => f.write_str("FtAesEcb(..)"),
        }
    }
}

fn key16(bytes: &[u8]) -> Result<[u8; 16], CryptoError> {
    bytes.try_into().map_err(|_| CryptoError::BadAesKey)
}

impl BodyCipher {
    /// The cipher InitConnect's reply asks for: CBC when it carries `aesCBCiv`,
    /// FTAES-ECB otherwise. Key and IV are used as their UTF-8 bytes.
    pub fn from_init_reply(
        conn_aes_key: &str,
        aes_cbc_iv: Option<&str>,
    ) -> Result<Self, CryptoError> {
        let key = key16(conn_aes_key.as_bytes())?;
        Ok(match aes_cbc_iv {
            Some(iv) => BodyCipher::AesCbc {
                key,
                iv: key16(iv.as_bytes())?,
            },
            None => BodyCipher::FtAesEcb { key },
        })
    }

    /// Encrypts one body.
    pub fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        match self {
            BodyCipher::AesCbc { key, iv } => cbc::Encryptor::<Aes128>::new(key.into(), iv.into())
                .encrypt_padded_vec_mut::<Pkcs7>(plain),
            BodyCipher::FtAesEcb { key } => {
                let aes = Aes128::new(key.into());
                let rem = plain.len() % 16;
                let mut out = Vec::with_capacity(plain.len() + 32);
                out.extend_from_slice(plain);
                if rem != 0 {
                    out.resize(plain.len() + 16 - rem, 0);
                }
                for block in out.chunks_exact_mut(16) {
                    aes.encrypt_block(GenericArray::from_mut_slice(block));
                }
                out.extend_from_slice(&[0u8; 15]);
                out.push(rem as u8);
                out
            }
        }
    }

    /// Decrypts one body.
    pub fn decrypt(&self, wire: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self {
            BodyCipher::AesCbc { key, iv } => cbc::Decryptor::<Aes128>::new(key.into(), iv.into())
                .decrypt_padded_vec_mut::<Pkcs7>(wire)
                .map_err(|_| CryptoError::AesDecrypt),
            BodyCipher::FtAesEcb { key } => {
                if wire.len() < 16 || wire.len() % 16 != 0 {
                    return Err(CryptoError::AesDecrypt);
                }
                let (body, tail) = wire.split_at(wire.len() - 16);
                let rem = tail[15] as usize;
                if rem >= 16 || (rem != 0 && body.is_empty()) {
                    return Err(CryptoError::AesDecrypt);
                }
                let aes = Aes128::new(key.into());
                let mut out = body.to_vec();
                for block in out.chunks_exact_mut(16) {
                    aes.decrypt_block(GenericArray::from_mut_slice(block));
                }
                if rem != 0 {
                    out.truncate(out.len() - (16 - rem));
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ftaes_ecb_round_trips_and_records_the_tail() {
        let c = BodyCipher::from_init_reply("0123456789ABCDEF", None).unwrap();
        for n in [0usize, 1, 15, 16, 17, 100, 1000] {
            let plain: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let wire = c.encrypt(&plain);
            assert_eq!(wire.len(), n.div_ceil(16) * 16 + 16, "size {n}");
            assert_eq!(wire[wire.len() - 1] as usize, n % 16);
            assert_eq!(c.decrypt(&wire).unwrap(), plain, "size {n}");
        }
    }

    #[test]
    fn aes_cbc_round_trips_with_a_full_pad_block_on_exact_multiples() {
        let c = BodyCipher::from_init_reply("0123456789ABCDEF", Some("FEDCBA9876543210")).unwrap();
        for n in [0usize, 1, 15, 16, 17, 100] {
            let plain: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            let wire = c.encrypt(&plain);
            assert_eq!(wire.len(), (n / 16 + 1) * 16);
            assert_eq!(c.decrypt(&wire).unwrap(), plain);
        }
        assert_eq!(c.decrypt(&[1, 2, 3]), Err(CryptoError::AesDecrypt));
    }

    #[test]
    fn short_aes_keys_are_refused() {
        assert_eq!(
            BodyCipher::from_init_reply("short", None).unwrap_err(),
            CryptoError::BadAesKey
        );
    }

    #[test]
    fn garbage_pem_is_refused_without_echoing_it() {
        let err = RsaKey::from_pem("-----BEGIN RSA PRIVATE KEY-----\nsecret\n").unwrap_err();
        assert_eq!(err, CryptoError::BadPem);
        assert!(!err.to_string().contains("secret"));
    }
}
