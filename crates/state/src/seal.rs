//! Sealing what byok writes to Redis: AES-256-GCM under a key derived from `state_key`, with
//! the Redis key as associated data.
//!
//! A value is `1 || nonce (12 bytes) || ciphertext and tag`. The leading version byte leaves
//! room for another format; the random nonce is fresh for every write (96 random bits: a
//! collision is not expected before billions of writes under one key). Binding the value to
//! its Redis key means a value copied to another key (another client's record, another
//! account's tokens) fails to open instead of being served.

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use byok_types::Secret;
use sha2::{Digest, Sha256};

use crate::StateError;

/// The version byte of the current format.
const VERSION: u8 = 1;
/// The nonce's length: GCM's 96 bits.
const NONCE_LEN: usize = 12;
/// Fewer characters than this cannot be a key worth the name (`openssl rand -hex 32` gives 64).
const MIN_KEY_CHARS: usize = 16;

/// The cipher of one `state_key`.
pub(crate) struct Seal {
    cipher: Aes256Gcm,
    /// The key of [`Seal::name`]'s digests, derived from `state_key` apart from the cipher's.
    names: [u8; 32],
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(***)")
    }
}

impl Seal {
    /// The cipher of `state_key`, refused when it is shorter than 16 characters.
    pub(crate) fn new(state_key: &Secret) -> Result<Self, StateError> {
        let key = state_key.expose().trim();
        if key.is_empty() {
            return Err(StateError::Key(
                "Redis needs a `state_key` to seal the tokens and responses byok keeps there",
            ));
        }
        if key.chars().count() < MIN_KEY_CHARS {
            return Err(StateError::Key("`state_key` is shorter than 16 characters"));
        }
        // The key is a long random string, not a password: one SHA-256 (with a label, so this
        // digest serves nothing else) gives the 256-bit AES key.
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut hasher = Sha256::new();
            hasher.update(label);
            hasher.update(key.as_bytes());
            hasher.finalize().into()
        };
        let digest = derive(b"byok-state-seal-v1\0");
        let cipher = Aes256Gcm::new_from_slice(&digest)
            .map_err(|_| StateError::Key("`state_key` cannot make an AES-256 key"))?;
        Ok(Self {
            cipher,
            names: derive(b"byok-state-names-v1\0"),
        })
    }

    /// The keyed digest (SHA-256 of a 32-byte key derived from `state_key`, then `name`; 32 hex
    /// digits) that stands for `name` (an account's email) in a Redis key: the instances of a
    /// team find it again, whoever reads the database without `state_key` does not read the
    /// name, nor test a guessed one.
    pub(crate) fn name(&self, name: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.names);
        hasher.update(name.as_bytes());
        let digest: [u8; 32] = hasher.finalize().into();
        digest[..16]
            .iter()
            .fold(String::with_capacity(32), |mut hex, b| {
                use std::fmt::Write as _;
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }

    /// `plain` sealed for the Redis key `at`.
    pub(crate) fn seal(&self, at: &str, plain: &[u8]) -> Vec<u8> {
        let nonce = Nonce::generate();
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: at.as_bytes(),
                },
            )
            // Encrypting into a Vec fails only past GCM's 64 GiB message limit.
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The plain text of `sealed`, read from the Redis key `at`.
    pub(crate) fn open(&self, at: &str, sealed: &[u8]) -> Result<Vec<u8>, StateError> {
        let refused = || StateError::Sealed { at: at.to_owned() };
        let rest = sealed.strip_prefix(&[VERSION]).ok_or_else(refused)?;
        if rest.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| refused())?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: body,
                    aad: at.as_bytes(),
                },
            )
            .map_err(|_| refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &str) -> Seal {
        Seal::new(&Secret::new(key)).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_at_its_place() {
        let one = seal("0123456789abcdef-one");
        let sealed = one.seal("byok:resp:a:1", b"{\"id\":\"resp_1\"}");
        assert!(!sealed.windows(7).any(|w| w == b"resp_1\""));
        assert_eq!(
            one.open("byok:resp:a:1", &sealed).unwrap(),
            b"{\"id\":\"resp_1\"}"
        );
        // Moved to another key, another key, tampered with: refused.
        assert!(one.open("byok:resp:b:1", &sealed).is_err());
        assert!(
            seal("0123456789abcdef-two")
                .open("byok:resp:a:1", &sealed)
                .is_err()
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(one.open("byok:resp:a:1", &tampered).is_err());
        assert!(one.open("byok:resp:a:1", b"plain").is_err());
        // Two seals of one value differ (fresh nonces).
        assert_ne!(sealed, one.seal("byok:resp:a:1", b"{\"id\":\"resp_1\"}"));
    }

    #[test]
    fn short_or_missing_keys_are_refused() {
        assert!(Seal::new(&Secret::new("")).is_err());
        assert!(Seal::new(&Secret::new("short")).is_err());
    }

    #[test]
    fn a_name_s_digest_is_the_same_under_one_key_and_another_under_another() {
        let one = seal("0123456789abcdef-one");
        let name = one.name("one@example.com");
        assert_eq!(name.len(), 32);
        assert!(!name.contains("example"));
        assert_eq!(seal("0123456789abcdef-one").name("one@example.com"), name);
        assert_ne!(one.name("two@example.com"), name);
        assert_ne!(seal("0123456789abcdef-two").name("one@example.com"), name);
    }
}
