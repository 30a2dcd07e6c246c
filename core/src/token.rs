//! Opaque HMAC tokens: `<prefix><random>.<mac>`.
//!
//! The random part is 33 bytes: the issuing millisecond (6 bytes, big-endian) and 27
//! random bytes (216 bits) from the platform. The MAC is HMAC-SHA-512/256 of the random
//! part under a key derived from the system secret (Hydra's construction, with our own
//! prefixes and layout). Storage keeps only a hash of the MAC part, so a database leak
//! yields no usable token, and a forged token is rejected before any storage read.
//! Every configured system secret is tried, so rotating secrets keeps issued tokens
//! valid.
//!
//! The storage key starts with the issuing millisecond ([`storage_key`]), so new rows
//! land at the end of every index on it instead of on a random leaf page: a batch of
//! inserts dirties a few pages rather than one per row, which is what bounded the
//! token rate on SQLite and keeps InnoDB's clustered primary key
//! append-only. The millisecond is no secret (a JWT's `iat` says as much).
//!
//! Tokens minted before this layout (a 32-byte random part, all random) keep their old
//! storage key, the plain hash of the MAC part, and so keep working.

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

type TokenMac = Hmac<Sha512_256>;

std::thread_local! {
    /// The last secret this thread keyed a MAC with, and the keyed MAC. Keying takes a
    /// SHA-256 and two SHA-512 blocks, as much again as MACing a token, and every token
    /// is MACed under the same first secret; a clone of the keyed state skips that.
    /// (Both sides of the comparison are configured secrets, never request input.)
    static KEYED: std::cell::RefCell<Option<(Vec<u8>, TokenMac)>> = const { std::cell::RefCell::new(None) };
}

fn mac(secret: &[u8], random_part: &str) -> Vec<u8> {
    let mut m = KEYED.with_borrow_mut(|keyed| match keyed {
        Some((s, m)) if s.as_slice() == secret => m.clone(),
        _ => {
            let m = <TokenMac as Mac>::new_from_slice(&mac_key(secret)).expect("HMAC takes any key length");
            *keyed = Some((secret.to_vec(), m.clone()));
            m
        }
    });
    m.update(random_part.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// Bytes of the random part: the issuing millisecond (6) and the random bytes (27).
const TIME_LEN: usize = 6;
const RANDOM_LEN: usize = 27;
/// Characters of the random part in base64url: 33 bytes, 44 characters, of which the
/// first 8 encode exactly the 6 time bytes. A legacy random part has 43 (32 bytes).
const RANDOM_PART_CHARS: usize = 44;
const TIME_CHARS: usize = 8;

/// The legacy storage key of a token: hex SHA-256 of its MAC part. JWT access tokens
/// are still stored under the hash of their signature.
pub fn signature_hash(mac_part: &str) -> String {
    hex::encode(Sha256::digest(mac_part.as_bytes()))
}

/// The storage key of a token: 12 hex digits of its issuing millisecond, then the first
/// 52 of [`signature_hash`] (208 bits). 64 characters, as the legacy key, so every
/// schema's column holds either. `None` if the time part is not base64url.
fn storage_key(random_part: &str, mac_part: &str) -> Option<String> {
    let time = B64.decode(random_part.get(..TIME_CHARS)?).ok()?;
    let mut key = hex::encode(time);
    key.push_str(&signature_hash(mac_part)[..52]);
    Some(key)
}

/// A freshly minted token and its storage key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Minted {
    /// The token to hand out.
    pub token: String,
    /// The key to store it under (see [`storage_key`]).
    pub signature: String,
}

/// Mints a token with `prefix`, signed with the first system secret.
pub fn mint<P: Platform + ?Sized>(platform: &P, secrets: &[Vec<u8>], prefix: &str) -> Minted {
    let mut raw = [0u8; TIME_LEN + RANDOM_LEN];
    let millis = crate::platform::millis_48(platform);
    raw[..TIME_LEN].copy_from_slice(&millis.to_be_bytes()[2..]);
    platform.fill_random(&mut raw[TIME_LEN..]);
    let random_part = B64.encode(raw);
    let mac_part = B64.encode(mac(&secrets[0], &random_part));
    let signature = storage_key(&random_part, &mac_part).expect("a freshly encoded time part decodes");
    Minted { signature, token: format!("{prefix}{random_part}.{mac_part}") }
}

/// Checks a presented token's prefix and MAC against every system secret; on success
/// returns its storage key. Never touches storage.
pub fn verify(secrets: &[Vec<u8>], prefix: &str, token: &str) -> Option<String> {
    let rest = token.strip_prefix(prefix)?;
    let (random_part, mac_part) = rest.split_once('.')?;
    let presented = B64.decode(mac_part).ok()?;
    let valid = secrets.iter().any(|s| bool::from(mac(s, random_part).ct_eq(&presented)));
    if !valid {
        return None;
    }
    if random_part.len() == RANDOM_PART_CHARS {
        storage_key(random_part, mac_part)
    } else {
        Some(signature_hash(mac_part))
    }
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
    fn storage_keys_follow_the_issuing_millisecond() {
        let p = FixedPlatform::new(1_700_000_000, 45);
        let secrets = vec![b"s".repeat(32)];
        let first = mint(&p, &secrets, ACCESS_TOKEN_PREFIX);
        p.advance(1);
        let later = mint(&p, &secrets, ACCESS_TOKEN_PREFIX);
        // 1 700 000 000 000 ms is 0x018BCFE56800.
        assert!(first.signature.starts_with("018bcfe56800"), "{}", first.signature);
        assert!(later.signature.starts_with("018bcfe56be8"), "{}", later.signature);
        assert!(first.signature < later.signature);
        // The rest is the MAC's hash, so two tokens of one millisecond differ there.
        let twin = mint(&p, &secrets, ACCESS_TOKEN_PREFIX);
        assert_eq!(later.signature[..12], twin.signature[..12]);
        assert_ne!(later.signature, twin.signature);
    }

    #[test]
    fn legacy_tokens_keep_their_storage_key() {
        // A token of the first layout: 32 random bytes, key = SHA-256 of the MAC part.
        let secrets = vec![b"s".repeat(32)];
        let random_part = B64.encode([7u8; 32]);
        let mac_part = B64.encode(mac(&secrets[0], &random_part));
        let token = format!("{ACCESS_TOKEN_PREFIX}{random_part}.{mac_part}");
        assert_eq!(verify(&secrets, ACCESS_TOKEN_PREFIX, &token), Some(signature_hash(&mac_part)));
    }

    #[test]
    fn storage_key_is_not_the_token() {
        let p = FixedPlatform::new(0, 44);
        let m = mint(&p, &[b"s".repeat(32)], ACCESS_TOKEN_PREFIX);
        assert_eq!(m.signature.len(), 64);
        assert!(!m.token.contains(&m.signature));
    }
}
