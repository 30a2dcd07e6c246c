//! Client secrets: stored only as a slow salted hash (PBKDF2-HMAC-SHA-256, RFC 8018
//! §5.2), verified cheaply on repeat through a cache that never holds a secret.
//!
//! ## Hashes Hydra made
//!
//! Latch writes only `$pbkdf2-sha256$i=<n>,l=32$<salt>$<key>`, which is also what Hydra
//! writes by default (salt and key in standard base64 without padding). Clients copied
//! from Hydra (`latch migrate from-hydra`) keep their hashes, so verification also
//! reads, by prefix, the other forms Hydra verifies ([`HashFormat`]):
//! * PBKDF2 over another digest, `$pbkdf2-<digest>$i=<n>,l=<len>$<salt>$<key>`, with the
//!   key length taken from the decoded key. `sha1`, `sha256` and `sha512` are those
//!   digests; Hydra computes `sha224` and `sha384` with **SHA3**-224 and SHA3-384, and any
//!   other name with SHA-256, and so does Latch, or the hashes would not verify.
//! * BCrypt (`$2$`, `$2a$`, `$2b$`, `$2y$`, `$2z$` then the cost), as Go's
//!   `x/crypto/bcrypt` writes it; a secret over 72 bytes never verifies (Hydra refuses
//!   it rather than truncating it).
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
/// hash, or one in a format Latch does not verify (Argon2), never verifies.
pub async fn verify_secret<P: Platform + ?Sized>(platform: &P, stored: &str, presented: &str) -> bool {
    match parse_hash(stored) {
        Some(HashFormat::Pbkdf2 { digest: Digest::Sha256, iterations, salt, key }) if key.len() == 32 => {
            let dk = platform.pbkdf2_sha256(presented.as_bytes(), &salt, iterations).await;
            dk.ct_eq(key.as_slice()).into()
        }
        Some(HashFormat::Pbkdf2 { digest, iterations, salt, key }) => {
            let mut dk = vec![0u8; key.len()];
            let p = presented.as_bytes();
            match digest {
                Digest::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(p, &salt, iterations, &mut dk),
                Digest::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(p, &salt, iterations, &mut dk),
                Digest::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(p, &salt, iterations, &mut dk),
                Digest::Sha3_224 => pbkdf2::pbkdf2_hmac::<sha3::Sha3_224>(p, &salt, iterations, &mut dk),
                Digest::Sha3_384 => pbkdf2::pbkdf2_hmac::<sha3::Sha3_384>(p, &salt, iterations, &mut dk),
            }
            dk.ct_eq(key.as_slice()).into()
        }
        Some(HashFormat::Bcrypt { normalized }) => {
            presented.len() <= BCRYPT_MAX_SECRET && bcrypt::verify(presented, &normalized).unwrap_or(false)
        }
        None => false,
    }
}

/// The longest secret BCrypt verifies (its input limit; Hydra refuses longer ones).
pub const BCRYPT_MAX_SECRET: usize = 72;

/// The PBKDF2 pseudorandom functions of Hydra's hashes (HMAC over these digests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest {
    /// `sha1`.
    Sha1,
    /// `sha256`, and every name Hydra does not know.
    Sha256,
    /// `sha512`.
    Sha512,
    /// `sha224`: SHA3-224, as Hydra computes it.
    Sha3_224,
    /// `sha384`: SHA3-384, as Hydra computes it.
    Sha3_384,
}

/// A stored client-secret hash that [`verify_secret`] can check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashFormat {
    /// `$pbkdf2-<digest>$i=<iterations>,l=<length>$<salt>$<key>` (Latch's own with
    /// SHA-256 and a 32-byte key).
    Pbkdf2 {
        /// The digest of the HMAC.
        digest: Digest,
        /// The iteration count (at least 1).
        iterations: u32,
        /// The decoded salt.
        salt: Vec<u8>,
        /// The decoded derived key; its length is the one derived.
        key: Vec<u8>,
    },
    /// A BCrypt hash, rewritten to the `$2b$` prefix the `bcrypt` crate reads (the
    /// variants differ only in bugs of other implementations, not in what Go computes).
    Bcrypt {
        /// `$2b$<cost>$<salt and hash>`.
        normalized: String,
    },
}

/// Reads a stored hash; `None` when it is malformed or in a format Latch does not
/// verify.
pub fn parse_hash(stored: &str) -> Option<HashFormat> {
    if let Some(rest) = stored.strip_prefix("$pbkdf2-") {
        return parse_pbkdf2(rest);
    }
    // Go's bcrypt: `$2` then an optional minor version, then `$<cost>$<53 characters>`.
    let rest = stored.strip_prefix("$2")?;
    let rest = match rest.as_bytes().first()? {
        b'$' => &rest[1..],
        b'a' | b'b' | b'y' | b'z' => rest[1..].strip_prefix('$')?,
        _ => return None,
    };
    let (cost, body) = rest.split_once('$')?;
    let cost: u32 = cost.parse().ok().filter(|c| (4..=31).contains(c))?;
    let ok_chars = body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    (body.len() == 53 && ok_chars).then(|| HashFormat::Bcrypt { normalized: format!("$2b${cost:02}${body}") })
}

fn parse_pbkdf2(rest: &str) -> Option<HashFormat> {
    // Hydra splits at `$` into exactly five parts (the first empty).
    let parts: Vec<&str> = rest.split('$').collect();
    let [name, params, salt, key] = parts[..] else { return None };
    // Hydra matches the prefix with `^\$pbkdf2-sha[0-9]{1,3}\$`.
    let bits =
        name.strip_prefix("sha").filter(|d| (1..=3).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))?;
    let digest = match bits {
        "1" => Digest::Sha1,
        "512" => Digest::Sha512,
        "224" => Digest::Sha3_224,
        "384" => Digest::Sha3_384,
        _ => Digest::Sha256,
    };
    let (i, l) = params.split_once(',')?;
    let iterations: u32 = i.strip_prefix("i=")?.parse().ok().filter(|&i| i > 0)?;
    l.strip_prefix("l=")?.parse::<u32>().ok()?;
    let salt = B64.decode(salt).ok()?;
    let key = B64.decode(key).ok()?;
    (!key.is_empty() && key.len() <= 1024).then_some(HashFormat::Pbkdf2 { digest, iterations, salt, key })
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
    fn hydra_pbkdf2_hashes_verify_with_every_digest() {
        // Computed independently (Python's hashlib.pbkdf2_hmac): "sha224" and "sha384"
        // with SHA3, as Hydra computes them; the key length is the decoded key's.
        let p = FixedPlatform::new(0, 1);
        for stored in [
            "$pbkdf2-sha1$i=1000,l=20$MDEyMzQ1Njc4OWFiY2RlZg$9a1onXabrDe6BM9VSz1VSz0Ee3k",
            "$pbkdf2-sha512$i=1000,l=64$MDEyMzQ1Njc4OWFiY2RlZg$P8sFFFDXJrlrLSsIj6VYnBZXl8EJ51jfGlEMVK9lP/u9Zps3G2kCGHPb4hQN17GAaCTDqRTyZBIlWFT2kOa9TQ",
            "$pbkdf2-sha224$i=1000,l=28$MDEyMzQ1Njc4OWFiY2RlZg$/Gz6/dQNMNau+8TrXdKl7sWZ9l+XtU8QEMUS0g",
            "$pbkdf2-sha384$i=1000,l=48$MDEyMzQ1Njc4OWFiY2RlZg$4aWW/Vl75/xMJeu0RTEm+Vid6TzXe5h+3F92wErQpNwdygXWb00Nthy8tOuH0VlY",
            "$pbkdf2-sha256$i=1000,l=32$MDEyMzQ1Njc4OWFiY2RlZg$DW8aOT044bFhUzHyTD6yYSnYf/6mjPZgj2bEwYvcPRw",
        ] {
            assert!(block_on(verify_secret(&p, stored, "hydra-secret")), "{stored}");
            assert!(!block_on(verify_secret(&p, stored, "hydra-secreT")), "{stored}");
        }
        // An unknown digest name is SHA-256, as in Hydra.
        let sha999 = "$pbkdf2-sha999$i=1000,l=32$MDEyMzQ1Njc4OWFiY2RlZg$DW8aOT044bFhUzHyTD6yYSnYf/6mjPZgj2bEwYvcPRw";
        assert!(block_on(verify_secret(&p, sha999, "hydra-secret")));
    }

    #[test]
    fn hash_formats_parse_by_prefix() {
        let salt = b"0123456789abcdef".to_vec();
        match parse_hash("$pbkdf2-sha384$i=7,l=48$MDEyMzQ1Njc4OWFiY2RlZg$4aWW/Vl75/xMJeu0RTEm+Vid6TzXe5h+3F92wErQpNwdygXWb00Nthy8tOuH0VlY") {
            Some(HashFormat::Pbkdf2 { digest: Digest::Sha3_384, iterations: 7, salt: s, key }) => {
                assert_eq!(s, salt);
                assert_eq!(key.len(), 48);
            }
            other => panic!("{other:?}"),
        }
        let body = "CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        for prefix in ["$2$", "$2a$", "$2b$", "$2y$", "$2z$"] {
            assert_eq!(
                parse_hash(&format!("{prefix}05${body}")),
                Some(HashFormat::Bcrypt { normalized: format!("$2b$05${body}") }),
                "{prefix}"
            );
        }
        for bad in [
            "",
            "plain",
            "$pbkdf2-sha256$i=0,l=32$MDEyMzQ1Njc4OWFiY2RlZg$DW8aOT044bFhUzHyTD6yYSnYf/6mjPZgj2bEwYvcPRw",
            "$pbkdf2-sha256$l=32,i=1$MDEyMzQ1Njc4OWFiY2RlZg$DW8aOT044bFhUzHyTD6yYSnYf/6mjPZgj2bEwYvcPRw",
            "$pbkdf2-sha256$i=1,l=32$MDEyMzQ1Njc4OWFiY2RlZg==$DW8aOT044bFhUzHyTD6yYSnYf/6mjPZgj2bEwYvcPRw",
            "$pbkdf2-sha256$i=1,l=32$salt$key$extra",
            "$pbkdf2-md5$i=1,l=32$MDEyMzQ1Njc4OWFiY2RlZg$DW8aOT044bFhUzHyTD6yYSnYf/6mjPZgj2bEwYvcPRw",
            "$pbkdf2-sha$i=1,l=32$MDEyMzQ1Njc4OWFiY2RlZg$DW8aOT044bFhUzHyTD6yYSnYf/6mjPZgj2bEwYvcPRw",
            "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert_eq!(parse_hash(bad), None, "{bad}");
        }
    }

    #[test]
    fn bcrypt_hashes_verify() {
        // The OpenBSD/John the Ripper test vector: "U*U" at cost 5.
        let p = FixedPlatform::new(0, 1);
        let stored = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        assert!(block_on(verify_secret(&p, stored, "U*U")));
        assert!(block_on(verify_secret(&p, &stored.replace("$2a$", "$2y$"), "U*U")));
        assert!(!block_on(verify_secret(&p, stored, "U*V")));
        // A secret over 72 bytes is refused, not truncated (as Hydra does).
        let long = "s".repeat(73);
        let h = bcrypt::hash_with_salt(&long[..72], 4, [7u8; 16]).unwrap().format_for_version(bcrypt::Version::TwoB);
        assert!(block_on(verify_secret(&p, &h, &long[..72])));
        assert!(!block_on(verify_secret(&p, &h, &long)));
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
