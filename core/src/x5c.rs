//! The X.509 members of a JSON Web Key (RFC 7517 §4.7–§4.9): an imported key's
//! certificate chain (`x5c`) and its thumbprints (`x5t`, `x5t#S256`), kept so that the
//! key is stored and published with them, as Hydra (go-jose) keeps them.
//!
//! They are checked as go-jose checks them: each `x5c` entry is standard base64 (not
//! base64url) of one DER certificate; the first, the leaf, holds the JWK's own public
//! key; a thumbprint, when the chain is there, is the leaf's. The chain itself is not
//! validated (signatures, dates, trust anchors): Latch carries it, and a relying party
//! that uses it validates it (RFC 7517 §4.7, RFC 5280).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::Digest;
use x509_cert::der::{Decode, DecodePem, Encode};
use x509_cert::Certificate;

/// A key's `x5c`, `x5t` and `x5t#S256`, each when given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct X509Members {
    /// The certificates, DER, leaf first.
    chain: Vec<Vec<u8>>,
    /// `x5t`: SHA-1 of the leaf's DER.
    sha1: Option<[u8; 20]>,
    /// `x5t#S256`: SHA-256 of the leaf's DER.
    sha256: Option<[u8; 32]>,
}

impl X509Members {
    /// Reads the members of `jwk`. `spki` gives the DER SubjectPublicKeyInfo of the
    /// JWK's key (asked for only when there is a chain). `Err` says what is wrong.
    pub fn read(jwk: &Value, spki: impl FnOnce() -> Result<Vec<u8>, String>) -> Result<X509Members, String> {
        let chain = match jwk.get("x5c") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(entries)) => entries.iter().enumerate().map(certificate).collect::<Result<_, _>>()?,
            Some(_) => return Err("'x5c' must be an array of base64 certificates (RFC 7517 §4.7)".into()),
        };
        X509Members::new(chain, thumbprint(jwk, "x5t")?, thumbprint(jwk, "x5t#S256")?, spki)
    }

    /// A chain read from PEM `CERTIFICATE` blocks (leaf first), for a key imported from
    /// PEM; `Err` when a block is no certificate or the leaf is for another key.
    pub fn from_pem_blocks(blocks: &[&str], spki: impl FnOnce() -> Result<Vec<u8>, String>) -> Result<Self, String> {
        let chain = blocks
            .iter()
            .enumerate()
            .map(|(i, pem)| match Certificate::from_pem(pem.as_bytes()) {
                Ok(c) => c.to_der().map_err(|e| format!("certificate {} cannot be encoded: {e}", i + 1)),
                Err(e) => Err(format!("certificate {} is not a PEM X.509 certificate ({e})", i + 1)),
            })
            .collect::<Result<_, _>>()?;
        X509Members::new(chain, None, None, spki)
    }

    fn new(
        chain: Vec<Vec<u8>>,
        sha1: Option<[u8; 20]>,
        sha256: Option<[u8; 32]>,
        spki: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<X509Members, String> {
        if let Some(leaf) = chain.first() {
            leaf_holds_the_key(leaf, &spki()?)?;
            // RFC 7517 §4.8, §4.9: the thumbprints are of the leaf's DER encoding.
            if sha1.is_some_and(|t| t[..] != sha1::Sha1::digest(leaf)[..]) {
                return Err("'x5t' is not the SHA-1 thumbprint of the first 'x5c' certificate (RFC 7517 §4.8)".into());
            }
            if sha256.is_some_and(|t| t[..] != sha2::Sha256::digest(leaf)[..]) {
                return Err(
                    "'x5t#S256' is not the SHA-256 thumbprint of the first 'x5c' certificate (RFC 7517 §4.9)".into()
                );
            }
        }
        Ok(X509Members { chain, sha1, sha256 })
    }

    /// The certificates, DER, leaf first (empty when the key has none).
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// Adds the members that were given to a JWK (`x5c` in standard base64, RFC 7517
    /// §4.7; the thumbprints in base64url, §4.8, §4.9).
    pub fn write(&self, jwk: &mut Map<String, Value>) {
        if !self.chain.is_empty() {
            let x5c: Vec<Value> = self.chain.iter().map(|der| STANDARD.encode(der).into()).collect();
            jwk.insert("x5c".into(), x5c.into());
        }
        if let Some(t) = &self.sha1 {
            jwk.insert("x5t".into(), URL_SAFE_NO_PAD.encode(t).into());
        }
        if let Some(t) = &self.sha256 {
            jwk.insert("x5t#S256".into(), URL_SAFE_NO_PAD.encode(t).into());
        }
    }
}

/// Entry `i` of `x5c`: RFC 7517 §4.7, "a base64-encoded (Section 4 of [RFC4648] -- not
/// base64url-encoded) DER [ITU.X690.2008] PKIX certificate value".
fn certificate((i, entry): (usize, &Value)) -> Result<Vec<u8>, String> {
    let n = i + 1;
    let text = entry.as_str().ok_or_else(|| format!("'x5c' entry {n} is not a string"))?;
    let der = STANDARD
        .decode(text)
        .map_err(|_| format!("'x5c' entry {n} is not standard base64 (RFC 7517 §4.7: not base64url)"))?;
    // `from_der` takes exactly one certificate, with nothing after it.
    Certificate::from_der(&der).map_err(|e| format!("'x5c' entry {n} is not a DER X.509 certificate ({e})"))?;
    Ok(der)
}

/// RFC 7517 §4.7: "The key in the first certificate MUST match the public key
/// represented by other members of the JWK." Compared as DER SubjectPublicKeyInfo.
fn leaf_holds_the_key(leaf: &[u8], spki: &[u8]) -> Result<(), String> {
    let cert = Certificate::from_der(leaf).map_err(|e| format!("the first 'x5c' certificate does not parse ({e})"))?;
    let held = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("the first 'x5c' certificate's public key cannot be encoded ({e})"))?;
    if held != spki {
        return Err("the first 'x5c' certificate is for another key than the JWK's (RFC 7517 §4.7)".into());
    }
    Ok(())
}

/// A thumbprint member (`x5t`: SHA-1, `x5t#S256`: SHA-256), base64url (RFC 7517 §4.8,
/// §4.9). As go-jose reads it: padding is tolerated, and a value that decodes to twice
/// the digest's length is taken as the digest in hex (some issuers write it so). Empty
/// or absent is none.
fn thumbprint<const N: usize>(jwk: &Value, member: &str) -> Result<Option<[u8; N]>, String> {
    let text = match jwk.get(member) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim_end_matches('='),
        Some(_) => return Err(format!("'{member}' must be a base64url string")),
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| format!("'{member}' is not base64url"))?;
    if bytes.len() == 2 * N {
        bytes = hex::decode(&bytes).map_err(|_| format!("'{member}' is neither a digest nor its hex"))?;
    }
    let digest: [u8; N] =
        bytes.try_into().map_err(|_| format!("'{member}' must be a digest of {N} octets (RFC 7517 §4.8, §4.9)"))?;
    Ok(Some(digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P256_CRT: &str = include_str!("../tests/data/x5c/p256.crt");
    const CA_CRT: &str = include_str!("../tests/data/x5c/ca.crt");

    fn der(pem: &str) -> Vec<u8> {
        Certificate::from_pem(pem.as_bytes()).unwrap().to_der().unwrap()
    }

    fn spki_of(pem: &str) -> Vec<u8> {
        Certificate::from_pem(pem.as_bytes()).unwrap().tbs_certificate.subject_public_key_info.to_der().unwrap()
    }

    /// Each member is checked as go-jose checks it, and written back canonically.
    #[test]
    fn members_are_checked_and_written_back() {
        let leaf = der(P256_CRT);
        let sha1 = sha1::Sha1::digest(&leaf);
        let sha256 = sha2::Sha256::digest(&leaf);
        let good = json!({"x5c": [STANDARD.encode(&leaf), STANDARD.encode(der(CA_CRT))],
                          "x5t": URL_SAFE_NO_PAD.encode(sha1), "x5t#S256": URL_SAFE_NO_PAD.encode(sha256)});
        let spki = || Ok(spki_of(P256_CRT));
        let m = X509Members::read(&good, spki).unwrap();
        assert_eq!(m.chain().len(), 2);
        let mut out = Map::new();
        m.write(&mut out);
        assert_eq!(Value::Object(out), good);
        // Hex thumbprints and padding are read, and written back as base64url digests.
        let hexed = json!({"x5c": [STANDARD.encode(&leaf)], "x5t": URL_SAFE_NO_PAD.encode(hex::encode(sha1)),
                           "x5t#S256": format!("{}=", URL_SAFE_NO_PAD.encode(sha256))});
        let mut out = Map::new();
        X509Members::read(&hexed, spki).unwrap().write(&mut out);
        assert_eq!(out["x5t"], good["x5t"]);
        assert_eq!(out["x5t#S256"], good["x5t#S256"]);
        for (bad, why) in [
            (json!({"x5c": "MII"}), "array"),
            (json!({"x5c": [5]}), "not a string"),
            (json!({"x5c": ["not base64!"]}), "not standard base64"),
            (json!({"x5c": [URL_SAFE_NO_PAD.encode(&leaf)]}), "not standard base64"),
            (json!({"x5c": [STANDARD.encode(b"garbage")]}), "not a DER X.509 certificate"),
            (json!({"x5c": [STANDARD.encode([leaf.clone(), vec![0]].concat())]}), "not a DER X.509 certificate"),
            (json!({"x5c": [STANDARD.encode(der(CA_CRT))]}), "another key"),
            (json!({"x5c": [STANDARD.encode(&leaf)], "x5t": URL_SAFE_NO_PAD.encode([0u8; 20])}), "SHA-1 thumbprint"),
            (json!({"x5c": [STANDARD.encode(&leaf)], "x5t#S256": URL_SAFE_NO_PAD.encode([0u8; 32])}), "SHA-256"),
            (json!({"x5t": URL_SAFE_NO_PAD.encode([0u8; 19])}), "20 octets"),
            (json!({"x5t": "*"}), "not base64url"),
        ] {
            let e = X509Members::read(&bad, spki).expect_err(&bad.to_string());
            assert!(e.contains(why), "{bad}: {e}");
        }
        // None given: nothing written, and the key's SPKI is not even asked for.
        let none = X509Members::read(&json!({"x5c": [], "x5t": ""}), || Err("asked".into())).unwrap();
        assert_eq!(none, X509Members::default());
    }
}
