//! Sealed blobs: XChaCha20-Poly1305 under a key derived from the system secret, bound
//! to a purpose through the associated data, so a blob sealed for one use (a stored
//! private key, a login challenge) cannot be replayed as another.

use crate::platform::Platform;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// What a sealed blob is for; part of the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A private JWK at rest.
    PrivateKey,
    /// A login challenge handed to the login UI.
    LoginChallenge,
    /// A login verifier handed back to the authorization endpoint.
    LoginVerifier,
    /// A consent challenge.
    ConsentChallenge,
    /// A consent verifier.
    ConsentVerifier,
    /// A logout challenge.
    LogoutChallenge,
    /// A logout verifier.
    LogoutVerifier,
    /// The remembered-login cookie (the login session id, readable by nobody but Latch).
    LoginSessionCookie,
    /// A device challenge handed to the device verification UI (RFC 8628 §3.3).
    DeviceChallenge,
    /// A device verifier handed back to `/oauth2/device/verify`.
    DeviceVerifier,
    /// A `client_secret_jwt` client's secret at rest (the HMAC key of its assertions).
    ClientSecret,
    /// A pushed authorization request (RFC 9126), its `request_uri`.
    PushedRequest,
}

impl Purpose {
    fn ad(self) -> &'static [u8] {
        match self {
            Purpose::PrivateKey => b"latch/private-key",
            Purpose::LoginChallenge => b"latch/login-challenge",
            Purpose::LoginVerifier => b"latch/login-verifier",
            Purpose::ConsentChallenge => b"latch/consent-challenge",
            Purpose::ConsentVerifier => b"latch/consent-verifier",
            Purpose::LogoutChallenge => b"latch/logout-challenge",
            Purpose::LogoutVerifier => b"latch/logout-verifier",
            Purpose::LoginSessionCookie => b"latch/login-session-cookie",
            Purpose::DeviceChallenge => b"latch/device-challenge",
            Purpose::DeviceVerifier => b"latch/device-verifier",
            Purpose::ClientSecret => b"latch/client-secret",
            Purpose::PushedRequest => b"latch/pushed-request",
        }
    }
}

fn cipher(secret: &[u8]) -> XChaCha20Poly1305 {
    let mut h = Sha256::new();
    h.update(b"latch seal v1\0");
    h.update(secret);
    XChaCha20Poly1305::new(&h.finalize())
}

/// Seals `plaintext` for `purpose` under the first system secret; base64url output.
pub fn seal<P: Platform + ?Sized>(platform: &P, secrets: &[Vec<u8>], purpose: Purpose, plaintext: &[u8]) -> String {
    let nonce_bytes = platform.random_bytes(24);
    let nonce = XNonce::from_slice(&nonce_bytes);
    let ct = cipher(&secrets[0])
        .encrypt(nonce, Payload { msg: plaintext, aad: purpose.ad() })
        .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
    let mut out = nonce_bytes;
    out.extend_from_slice(&ct);
    B64.encode(out)
}

/// Opens a blob sealed for `purpose` with any of the system secrets.
pub fn open(secrets: &[Vec<u8>], purpose: Purpose, sealed: &str) -> Option<Vec<u8>> {
    open_indexed(secrets, purpose, sealed).map(|(_, plaintext)| plaintext)
}

/// [`open`], also saying which of the secrets opened the blob (0 is the first, the one
/// [`seal`] uses): a blob opened by a later one is due for re-sealing before that
/// secret is retired.
pub fn open_indexed(secrets: &[Vec<u8>], purpose: Purpose, sealed: &str) -> Option<(usize, Vec<u8>)> {
    let raw = B64.decode(sealed).ok()?;
    if raw.len() < 24 + 16 {
        return None;
    }
    let (nonce, ct) = raw.split_at(24);
    secrets.iter().enumerate().find_map(|(i, s)| {
        cipher(s).decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: purpose.ad() }).ok().map(|p| (i, p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::FixedPlatform;

    #[test]
    fn seal_round_trips_and_binds_purpose_and_secret() {
        let p = FixedPlatform::new(0, 5);
        let s = vec![b"0123456789abcdef0123".to_vec()];
        let blob = seal(&p, &s, Purpose::PrivateKey, b"hello");
        assert_eq!(open(&s, Purpose::PrivateKey, &blob).as_deref(), Some(&b"hello"[..]));
        assert_eq!(open(&s, Purpose::LoginChallenge, &blob), None);
        assert_eq!(open(&[b"another-secret-xxxxxx".to_vec()], Purpose::PrivateKey, &blob), None);
        let rotated = vec![b"new-secret-0123456789".to_vec(), s[0].clone()];
        assert!(open(&rotated, Purpose::PrivateKey, &blob).is_some());
        assert_eq!(open_indexed(&rotated, Purpose::PrivateKey, &blob).map(|(i, _)| i), Some(1), "opened by the older");
        assert_eq!(open_indexed(&s, Purpose::PrivateKey, &blob).map(|(i, _)| i), Some(0));
        assert_eq!(open(&s, Purpose::PrivateKey, "AAAA"), None);
    }
}
