//! Opaque HMAC tokens: `<prefix><random>.<mac>`.
//!
//! The random part is 32 bytes from the platform; the MAC is HMAC-SHA-512/256 of the
//! random part under a key derived from the system secret (Hydra's construction, with
//! our own prefixes). Storage keeps only the hex SHA-256 of the MAC part, so a database
//! leak yields no usable token, and a forged token is rejected before any storage
//! read. Every configured system secret is tried, so rotating secrets keeps issued
//! tokens valid.

use crate::platform::Platform;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512_256};
use subtle::ConstantTimeEq;

/// Prefix of access tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "latch_at_";
/// Prefix of refresh tokens.
pub const REFRESH_TOKEN_PREFIX: &str = "latch_rt_";
/// Prefix of authorization codes.
pub const AUTH_CODE_PREFIX: &str = "latch_ac_";

fn mac_key(secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"latch token hmac v1\0");
    h.update(secret);
    h.finalize().into()
}

fn mac(secret: &[u8], random_part: &str) -> Vec<u8> {
    let mut m = <Hmac<Sha512_256> as Mac>::new_from_slice(&mac_key(secret)).expect("HMAC takes any key length");
    m.update(random_part.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// The storage key of a token: hex SHA-256 of its MAC part.
pub fn signature_hash(mac_part: &str) -> String {
    hex::encode(Sha256::digest(mac_part.as_bytes()))
}

/// A freshly minted token and its storage key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Minted {
    /// The token to hand out.
    pub token: String,
    /// The key to store it under ([`signature_hash`] of its MAC).
    pub signature: String,
}

/// Mints a token with `prefix`, signed with the first system secret.
pub fn mint<P: Platform + ?Sized>(platform: &P, secrets: &[Vec<u8>], prefix: &str) -> Minted {
    let random_part = B64.encode(platform.random_bytes(32));
    let mac_part = B64.encode(mac(&secrets[0], &random_part));
    Minted { signature: signature_hash(&mac_part), token: format!("{prefix}{random_part}.{mac_part}") }
}

/// Checks a presented token's prefix and MAC against every system secret; on success
/// returns its storage key. Never touches storage.
pub fn verify(secrets: &[Vec<u8>], prefix: &str, token: &str) -> Option<String> {
    let rest = token.strip_prefix(prefix)?;
    let (random_part, mac_part) = rest.split_once('.')?;
    let presented = B64.decode(mac_part).ok()?;
    let valid = secrets.iter().any(|s| bool::from(mac(s, random_part).ct_eq(&presented)));
    valid.then(|| signature_hash(mac_part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::FixedPlatform;

    #[test]
    fn minted_tokens_verify_and_forgeries_do_not() {
        let p = FixedPlatform::new(0, 42);
        let secrets = vec![b"a-very-long-system-secret".to_vec()];
        let m = mint(&p, &secrets, ACCESS_TOKEN_PREFIX);
        assert!(m.token.starts_with("latch_at_"));
        assert_eq!(verify(&secrets, ACCESS_TOKEN_PREFIX, &m.token), Some(m.signature.clone()));
        // Wrong prefix, wrong secret, tampered random part, garbage.
        assert_eq!(verify(&secrets, REFRESH_TOKEN_PREFIX, &m.token), None);
        assert_eq!(verify(&[b"another-secret-entirely".to_vec()], ACCESS_TOKEN_PREFIX, &m.token), None);
        let tampered = m.token.replacen("latch_at_", "latch_at_x", 1);
        assert_eq!(verify(&secrets, ACCESS_TOKEN_PREFIX, &tampered), None);
        assert_eq!(verify(&secrets, ACCESS_TOKEN_PREFIX, "latch_at_nodot"), None);
        assert_eq!(verify(&secrets, ACCESS_TOKEN_PREFIX, ""), None);
    }

    #[test]
    fn rotated_secrets_still_verify() {
        let p = FixedPlatform::new(0, 43);
        let old = vec![b"old-secret-0123456789".to_vec()];
        let m = mint(&p, &old, ACCESS_TOKEN_PREFIX);
        let rotated = vec![b"new-secret-0123456789".to_vec(), old[0].clone()];
        assert_eq!(verify(&rotated, ACCESS_TOKEN_PREFIX, &m.token), Some(m.signature));
    }

    #[test]
    fn storage_key_is_not_the_token() {
        let p = FixedPlatform::new(0, 44);
        let m = mint(&p, &[b"s".repeat(32)], ACCESS_TOKEN_PREFIX);
        assert_eq!(m.signature.len(), 64);
        assert!(!m.token.contains(&m.signature));
    }
}
