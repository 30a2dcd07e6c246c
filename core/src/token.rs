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
//!
//! ## Hydra's tokens
//!
//! Access and refresh tokens Hydra issued (`ory_at_…`, `ory_rt_…`) verify too
//! ([`TokenFormat::Hydra`]), so that a move from Hydra (`latch migrate from-hydra`, which
//! carries their rows over) logs nobody out. fosite's format: `<prefix><key>.<mac>`,
//! the key 32 random bytes and the MAC HMAC-SHA-512/256 of the **raw key bytes** under
//! SHA-256 of a system secret, both in unpadded base64url; so they verify while Hydra's
//! system secret is one of Latch's. Hydra stores an access token under the SHA-384 hex
//! of its MAC part and a refresh token under the MAC part itself; Latch stores both under
//! [`hydra_storage_key`] of that SHA-384 hex, a 64-character key like its own. Nothing
//! of Latch's is ever minted in this format.

use crate::platform::Platform;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha384, Sha512_256};
use subtle::ConstantTimeEq;

/// Prefix of access tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "latch_at_";
/// Prefix of refresh tokens.
pub const REFRESH_TOKEN_PREFIX: &str = "latch_rt_";
/// Prefix of authorization codes.
pub const AUTH_CODE_PREFIX: &str = "latch_ac_";
/// Prefix of device codes (RFC 8628 §3.2 `device_code`).
pub const DEVICE_CODE_PREFIX: &str = "latch_dc_";

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

/// Prefix of the access tokens Hydra issued.
pub const HYDRA_ACCESS_TOKEN_PREFIX: &str = "ory_at_";
/// Prefix of the refresh tokens Hydra issued.
pub const HYDRA_REFRESH_TOKEN_PREFIX: &str = "ory_rt_";

/// The opaque token formats Latch verifies (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFormat {
    /// Latch's own, which [`mint`] makes.
    Latch,
    /// Hydra's (fosite's HMAC strategy): access and refresh tokens issued before a move.
    Hydra,
}

impl TokenFormat {
    /// The format of `token` presented where a token with Latch's `prefix` is expected,
    /// and what follows its prefix. Authorization codes have no Hydra form (they live
    /// minutes; none is carried over).
    pub fn of<'a>(prefix: &str, token: &'a str) -> Option<(TokenFormat, &'a str)> {
        if let Some(rest) = token.strip_prefix(prefix) {
            return Some((TokenFormat::Latch, rest));
        }
        let hydra = match prefix {
            ACCESS_TOKEN_PREFIX => HYDRA_ACCESS_TOKEN_PREFIX,
            REFRESH_TOKEN_PREFIX => HYDRA_REFRESH_TOKEN_PREFIX,
            _ => return None,
        };
        token.strip_prefix(hydra).map(|rest| (TokenFormat::Hydra, rest))
    }
}

/// Hydra's name for the MAC part of an access token in storage: lowercase hex of its
/// SHA-384 (`hydra_oauth2_access.signature`).
pub fn hydra_signature_hash(mac_part: &str) -> String {
    hex::encode(Sha384::digest(mac_part.as_bytes()))
}

/// Latch's storage key of a Hydra token, from [`hydra_signature_hash`] of its MAC part:
/// hex SHA-256 under a label of its own, 64 characters as Latch's keys are.
pub fn hydra_storage_key(signature_sha384_hex: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"latch: hydra token\0");
    h.update(signature_sha384_hex.to_ascii_lowercase().as_bytes());
    hex::encode(h.finalize())
}

/// Verifies the part after the prefix of a Hydra token against every system secret.
fn verify_hydra(secrets: &[Vec<u8>], rest: &str) -> Option<String> {
    let (key_part, mac_part) = rest.split_once('.')?;
    let key = B64.decode(key_part).ok()?;
    let presented = B64.decode(mac_part).ok()?;
    let valid = secrets.iter().any(|s| {
        let mut m = <TokenMac as Mac>::new_from_slice(&Sha256::digest(s)).expect("HMAC takes any key length");
        m.update(&key);
        m.verify_slice(&presented).is_ok()
    });
    valid.then(|| hydra_storage_key(&hydra_signature_hash(mac_part)))
}

/// Checks a presented token's prefix and MAC against every system secret; on success
/// returns its storage key. Never touches storage. A Hydra token
/// ([`TokenFormat::Hydra`]) is accepted where a Latch access or refresh token is.
pub fn verify(secrets: &[Vec<u8>], prefix: &str, token: &str) -> Option<String> {
    let rest = match TokenFormat::of(prefix, token)? {
        (TokenFormat::Latch, rest) => rest,
        (TokenFormat::Hydra, rest) => return verify_hydra(secrets, rest),
    };
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

    /// A token as Hydra mints it: 32 random bytes, HMAC-SHA-512/256 of them under
    /// SHA-256 of the system secret.
    fn hydra_token(secret: &[u8], prefix: &str, key: [u8; 32]) -> (String, String) {
        let mut m = <TokenMac as Mac>::new_from_slice(&Sha256::digest(secret)).unwrap();
        m.update(&key);
        let mac_part = B64.encode(m.finalize().into_bytes());
        (format!("{prefix}{}.{mac_part}", B64.encode(key)), mac_part)
    }

    #[test]
    fn hydra_tokens_verify_where_latch_tokens_do() {
        let hydra_secret = b"the-hydra-system-secret".to_vec();
        let secrets = vec![b"latch-own-secret-0123456".to_vec(), hydra_secret.clone()];
        let (at, at_mac) = hydra_token(&hydra_secret, HYDRA_ACCESS_TOKEN_PREFIX, [3; 32]);
        assert_eq!(at.len(), 94, "Hydra's tokens are 94 characters");
        let key = hydra_storage_key(&hydra_signature_hash(&at_mac));
        assert_eq!(key.len(), 64);
        assert_eq!(verify(&secrets, ACCESS_TOKEN_PREFIX, &at), Some(key.clone()));
        // Hydra stores the access token under the SHA-384 hex of its MAC part (upper or lower case).
        assert_eq!(hydra_storage_key(&hydra_signature_hash(&at_mac).to_ascii_uppercase()), key);
        assert_eq!(verify(&secrets, REFRESH_TOKEN_PREFIX, &at), None, "an access token is no refresh token");
        assert_eq!(verify(&secrets, AUTH_CODE_PREFIX, &at.replacen("ory_at_", "ory_ac_", 1)), None);
        let (rt, rt_mac) = hydra_token(&hydra_secret, HYDRA_REFRESH_TOKEN_PREFIX, [4; 32]);
        assert_eq!(
            verify(&secrets, REFRESH_TOKEN_PREFIX, &rt),
            Some(hydra_storage_key(&hydra_signature_hash(&rt_mac)))
        );
        // Without Hydra's secret, or tampered, or in Latch's own MAC construction: refused.
        assert_eq!(verify(&secrets[..1], ACCESS_TOKEN_PREFIX, &at), None);
        let (forged, _) = hydra_token(b"some-other-secret-xxxxx", HYDRA_ACCESS_TOKEN_PREFIX, [3; 32]);
        assert_eq!(verify(&secrets, ACCESS_TOKEN_PREFIX, &forged), None);
        let swapped = format!("{HYDRA_ACCESS_TOKEN_PREFIX}{}.{at_mac}", B64.encode([5u8; 32]));
        assert_eq!(verify(&secrets, ACCESS_TOKEN_PREFIX, &swapped), None);
        assert_eq!(verify(&secrets, ACCESS_TOKEN_PREFIX, "ory_at_garbage"), None);
        assert_eq!(TokenFormat::of(ACCESS_TOKEN_PREFIX, "latch_at_x.y"), Some((TokenFormat::Latch, "x.y")));
        assert_eq!(TokenFormat::of(ACCESS_TOKEN_PREFIX, "ory_at_x.y"), Some((TokenFormat::Hydra, "x.y")));
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
