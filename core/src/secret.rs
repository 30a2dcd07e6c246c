//! Client secrets: stored only as a slow salted hash (PBKDF2-HMAC-SHA-256, RFC 8018
//! §5.2), verified cheaply on repeat through a cache that never holds a secret.
//!
//! ## Why a cache, and why it is safe
//!
//! PBKDF2 with 25 000 iterations costs milliseconds of CPU; paying it on every token
//! request would cap a server at a few hundred requests per second per core (Hydra's
//! published client-credentials benchmark is bound by exactly this). So after a
//! successful verification we remember, for [`CACHE_TTL`] seconds, a **keyed MAC** of
//! `(client id, stored hash, presented secret)` under a random key drawn when the
//! process starts and never stored. The cache holds neither secrets nor anything a
//! thief could test guesses against without that key; a changed secret changes the
//! stored hash and so misses; a wrong secret never enters it.

use crate::platform::Platform;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// How long a verified (client, secret) pair stays cached, in seconds.
pub const CACHE_TTL: i64 = 300;
/// At most this many cached verifications; the cache is cleared when full.
pub const CACHE_CAPACITY: usize = 10_000;

/// Hashes a secret as `$pbkdf2-sha256$i=<iterations>,l=32$<salt>$<hash>` (PHC-style).
pub async fn hash_secret<P: Platform + ?Sized>(platform: &P, secret: &str, iterations: u32) -> String {
    let salt = platform.random_bytes(16);
    let dk = platform.pbkdf2_sha256(secret.as_bytes(), &salt, iterations).await;
    format!("$pbkdf2-sha256$i={iterations},l=32${}${}", B64.encode(&salt), B64.encode(dk))
}

/// Checks `presented` against a stored hash, in constant time. A malformed stored
/// hash never verifies.
pub async fn verify_secret<P: Platform + ?Sized>(platform: &P, stored: &str, presented: &str) -> bool {
    let Some((iterations, salt, expected)) = parse_hash(stored) else { return false };
    let dk = platform.pbkdf2_sha256(presented.as_bytes(), &salt, iterations).await;
    dk.ct_eq(expected.as_slice()).into()
}

/// A well-formed hash with `iterations` that no secret matches (its digest is random,
/// not derived from any secret): verifying against it costs exactly what verifying a
/// wrong secret against a real hash with that iteration count costs. Built without
/// running PBKDF2, so it can be made when a server is built.
pub fn dummy_hash<P: Platform + ?Sized>(platform: &P, iterations: u32) -> String {
    let salt = platform.random_bytes(16);
    let digest = platform.random_bytes(32);
    format!("$pbkdf2-sha256$i={},l=32${}${}", iterations.max(1), B64.encode(salt), B64.encode(digest))
}

fn parse_hash(stored: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let mut parts = stored.strip_prefix("$pbkdf2-sha256$")?.split('$');
    let params = parts.next()?;
    let salt = B64.decode(parts.next()?).ok()?;
    let hash = B64.decode(parts.next()?).ok()?;
    let iterations = params.split(',').find_map(|p| p.strip_prefix("i="))?.parse().ok()?;
    (hash.len() == 32 && iterations > 0).then_some((iterations, salt, hash))
}

/// Remembers recent successful verifications; see the module doc.
#[derive(Debug)]
pub struct VerifiedSecretCache {
    key: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], i64>>,
}

impl VerifiedSecretCache {
    /// A cache keyed by fresh random bytes from the platform.
    pub fn new<P: Platform + ?Sized>(platform: &P) -> Self {
        let mut key = [0u8; 32];
        platform.fill_random(&mut key);
        VerifiedSecretCache { key, entries: Mutex::new(HashMap::new()) }
    }

    fn mac(&self, client_id: &str, stored: &str, presented: &str) -> [u8; 32] {
        // Length-prefix each field so no two triples share an encoding.
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        for part in [client_id, stored, presented] {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part.as_bytes());
        }
        m.finalize().into_bytes().into()
    }

    /// Verifies `presented` for a client, using the cache when it can.
    pub async fn verify<P: Platform + ?Sized>(
        &self,
        platform: &P,
        client_id: &str,
        stored: &str,
        presented: &str,
    ) -> bool {
        let now = platform.now();
        let mac = self.mac(client_id, stored, presented);
        if let Ok(g) = self.entries.lock() {
            if g.get(&mac).is_some_and(|&exp| exp > now) {
                return true;
            }
        }
        let ok = verify_secret(platform, stored, presented).await;
        if ok {
            if let Ok(mut g) = self.entries.lock() {
                if g.len() >= CACHE_CAPACITY {
                    g.retain(|_, exp| *exp > now);
                    if g.len() >= CACHE_CAPACITY {
                        g.clear();
                    }
                }
                g.insert(mac, now + CACHE_TTL);
            }
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::FixedPlatform;
    use futures_executor::block_on;

    /// A platform that counts PBKDF2 calls, to see the cache work.
    struct Counting(FixedPlatform, std::cell::Cell<u32>);
    impl Platform for Counting {
        fn now(&self) -> i64 {
            self.0.now()
        }
        fn fill_random(&self, b: &mut [u8]) {
            self.0.fill_random(b)
        }
        async fn pbkdf2_sha256(&self, p: &[u8], s: &[u8], r: u32) -> [u8; 32] {
            self.1.set(self.1.get() + 1);
            self.0.pbkdf2_sha256(p, s, r).await
        }
    }

    #[test]
    fn hash_verifies_only_the_right_secret() {
        let p = FixedPlatform::new(1_700_000_000, 7);
        let h = block_on(hash_secret(&p, "secret", 1000));
        assert!(h.starts_with("$pbkdf2-sha256$i=1000,l=32$"));
        assert!(block_on(verify_secret(&p, &h, "secret")));
        assert!(!block_on(verify_secret(&p, &h, "secreT")));
        assert!(!block_on(verify_secret(&p, "garbage", "secret")));
        // Salted: the same secret hashes differently each time.
        assert_ne!(h, block_on(hash_secret(&p, "secret", 1000)));
    }

    #[test]
    fn pbkdf2_matches_rfc_7914_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64), first 32 bytes.
        let p = FixedPlatform::new(0, 1);
        let dk = block_on(p.pbkdf2_sha256(b"passwd", b"salt", 1));
        assert_eq!(hex::encode(dk), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    }

    #[test]
    fn cache_skips_pbkdf2_on_repeat_and_expires() {
        let p = Counting(FixedPlatform::new(1_700_000_000, 9), Default::default());
        let h = block_on(hash_secret(&p, "secret", 1000));
        let cache = VerifiedSecretCache::new(&p);
        p.1.set(0);
        assert!(block_on(cache.verify(&p, "c", &h, "secret")));
        assert!(block_on(cache.verify(&p, "c", &h, "secret")));
        assert_eq!(p.1.get(), 1, "second verification must come from the cache");
        // A wrong secret is never cached and always pays the hash.
        assert!(!block_on(cache.verify(&p, "c", &h, "wrong")));
        assert!(!block_on(cache.verify(&p, "c", &h, "wrong")));
        assert_eq!(p.1.get(), 3);
        // Another client with the same stored hash does not hit the entry.
        assert!(block_on(cache.verify(&p, "other", &h, "secret")));
        assert_eq!(p.1.get(), 4);
        p.0.advance(CACHE_TTL + 1);
        assert!(block_on(cache.verify(&p, "c", &h, "secret")));
        assert_eq!(p.1.get(), 5, "expired entries are verified again");
    }
}
