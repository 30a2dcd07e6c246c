//! DPoP proofs (RFC 9449 §4.2) for the token requests of the DPoP flows: ES256 over
//! P-256 (RustCrypto's p256, which Latch's core also signs with), a JWS whose protected
//! header is `{"typ":"dpop+jwt","alg":"ES256","jwk":<public key>}` and whose claims are a
//! fresh `jti`, `htm`, `htu` and the current `iat`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;

use crate::flow::random_b64;

/// A client's key (one per worker), with its proofs' header (the same for every proof of
/// the key).
pub struct DpopKey {
    key: SigningKey,
    /// The protected header, base64url-encoded.
    header: String,
}

impl DpopKey {
    /// A new random key (the thread's CSPRNG).
    pub fn generate() -> Self {
        let key = SigningKey::random(&mut rand::thread_rng());
        let point = key.verifying_key().to_encoded_point(false);
        // An uncompressed point of a real key has both coordinates.
        let (x, y) = (point.x().expect("an uncompressed point"), point.y().expect("an uncompressed point"));
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64.encode(x), "y": B64.encode(y)});
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
        DpopKey { key, header: B64.encode(header.to_string()) }
    }

    /// A proof for a request `htm` `htu` (the URL without query or fragment), now: a
    /// new `jti` (128 random bits) and `iat` this machine's clock.
    pub fn proof(&self, htm: &str, htu: &str) -> String {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claims = json!({"jti": random_b64::<16>(), "htm": htm, "htu": htu, "iat": iat});
        let mut jws = String::with_capacity(self.header.len() + 300);
        jws.push_str(&self.header);
        jws.push('.');
        jws.push_str(&B64.encode(claims.to_string()));
        // RFC 7518 §3.4: SHA-256, R and S of 32 bytes each (RFC 6979 nonces).
        let signature: Signature = self.key.sign(jws.as_bytes());
        jws.push('.');
        jws.push_str(&B64.encode(signature.to_bytes()));
        jws
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;
    use serde_json::Value;

    fn part(jws: &str, i: usize) -> Vec<u8> {
        B64.decode(jws.split('.').nth(i).unwrap()).unwrap()
    }

    #[test]
    fn a_proof_verifies_under_its_header_key() {
        let key = DpopKey::generate();
        let jws = key.proof("POST", "http://127.0.0.1:4444/oauth2/token");
        assert_eq!(jws.split('.').count(), 3);
        let header: Value = serde_json::from_slice(&part(&jws, 0)).unwrap();
        assert_eq!((header["typ"].as_str(), header["alg"].as_str()), (Some("dpop+jwt"), Some("ES256")));
        let jwk = &header["jwk"];
        assert_eq!((jwk["kty"].as_str(), jwk["crv"].as_str()), (Some("EC"), Some("P-256")));
        assert!(jwk.get("d").is_none(), "no private member");
        // The key the header names verifies the signature over header.claims.
        let coord = |c: &str| B64.decode(jwk[c].as_str().unwrap()).unwrap();
        let point = p256::EncodedPoint::from_affine_coordinates(
            coord("x").as_slice().into(),
            coord("y").as_slice().into(),
            false,
        );
        let verifying = VerifyingKey::from_encoded_point(&point).unwrap();
        let (input, _) = jws.rsplit_once('.').unwrap();
        let signature = Signature::from_slice(&part(&jws, 2)).unwrap();
        verifying.verify(input.as_bytes(), &signature).unwrap();
        let claims: Value = serde_json::from_slice(&part(&jws, 1)).unwrap();
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], "http://127.0.0.1:4444/oauth2/token");
        assert!(claims["iat"].as_u64().unwrap() > 1_700_000_000);
        // Every proof its own jti.
        let again: Value = serde_json::from_slice(&part(&key.proof("POST", "x"), 1)).unwrap();
        assert_ne!(claims["jti"], again["jti"]);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
    }
}
