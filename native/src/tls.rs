//! TLS on the listeners, as Hydra configures it: `serve.tls.*` for both ports, and
//! `serve.public.tls.*` / `serve.admin.tls.*`, each sub-key falling back on its own to
//! the shared one; a certificate and key given as PEM files (`cert.path`, `key.path`) or
//! as the base64 of PEM (`cert.base64`, `key.base64`, which win over paths). rustls
//! terminates TLS (1.2 and 1.3, ring's cipher suites); HTTP/1.1 is served over it.
//!
//! What Hydra does and Latch does not (yet): a self-signed certificate when TLS is
//! enabled with none configured (Latch refuses to start instead: a certificate nobody
//! can verify is no protection), and re-reading certificate files when they change
//! (restart Latch after renewing).

use crate::Error;
use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// A listener's certificate chain and key, as PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain (PEM), leaf first.
    pub cert_pem: Vec<u8>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_pem: Vec<u8>,
    /// Where they came from, for messages (never the key itself).
    pub source: String,
}

impl std::fmt::Debug for TlsFiles {
    // The key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles").field("source", &self.source).finish_non_exhaustive()
    }
}

/// Reads the TLS settings of `port` (`PUBLIC` or `ADMIN`): `None` when TLS is off. TLS
/// is on when `SERVE_<PORT>_TLS_ENABLED` (or `SERVE_TLS_ENABLED`) says so, or, when
/// neither is set, when a certificate or key is configured. The certificate and key
/// are loaded and checked here, so a bad one fails start-up naming its key.
pub fn read(var: &dyn Fn(&str) -> Option<String>, port: &str) -> Result<Option<TlsFiles>, Error> {
    let key_of = |sub: &str| {
        let own = format!("SERVE_{port}_TLS_{sub}");
        if var(&own).is_some() {
            own
        } else {
            format!("SERVE_TLS_{sub}")
        }
    };
    let get = |sub: &str| var(&key_of(sub)).filter(|v| !v.trim().is_empty());
    let bad = |sub: &str, why: String| Error::Config(format!("{}: {why}", key_of(sub)));
    let material = ["CERT_BASE64", "KEY_BASE64", "CERT_PATH", "KEY_PATH"].iter().any(|s| get(s).is_some());
    let enabled = match get("ENABLED").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => material,
        Some("true" | "1" | "yes" | "on") => true,
        Some("false" | "0" | "no" | "off") => false,
        Some(v) => return Err(bad("ENABLED", format!("'{v}' must be true or false"))),
    };
    if !enabled {
        return Ok(None);
    }
    let b64 = |sub: &str| -> Result<Option<Vec<u8>>, Error> {
        get(sub)
            .map(|v| {
                base64::engine::general_purpose::STANDARD
                    .decode(v.split_whitespace().collect::<String>())
                    .map_err(|e| bad(sub, format!("is not base64: {e}")))
            })
            .transpose()
    };
    let file = |sub: &str| -> Result<Option<Vec<u8>>, Error> {
        get(sub).map(|p| std::fs::read(&p).map_err(|e| bad(sub, format!("cannot read '{p}': {e}")))).transpose()
    };
    let files = match (b64("CERT_BASE64")?, b64("KEY_BASE64")?) {
        (Some(cert_pem), Some(key_pem)) => TlsFiles { cert_pem, key_pem, source: key_of("CERT_BASE64") },
        _ => match (file("CERT_PATH")?, file("KEY_PATH")?) {
            (Some(cert_pem), Some(key_pem)) => {
                TlsFiles { cert_pem, key_pem, source: get("CERT_PATH").unwrap_or_default() }
            }
            _ => {
                return Err(Error::Config(format!(
                    "SERVE_{port}_TLS: TLS is enabled but no certificate and key are configured: set serve.tls.cert.path and serve.tls.key.path (or their .base64), or serve.{}.tls.*",
                    port.to_ascii_lowercase()
                )))
            }
        },
    };
    server_config(&files)?;
    Ok(Some(files))
}

/// The rustls configuration of a listener: HTTP/1.1 by ALPN, no client certificates.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, Error> {
    let bad = |why: String| Error::Config(format!("TLS certificate from {}: {why}", files.source));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&files.cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("the certificate is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no certificate in the PEM".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&files.key_pem)
        .map_err(|e| bad(format!("the private key is not a PEM key (PKCS#8, PKCS#1 or SEC1): {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(format!("the key does not fit the certificate or is unsupported: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
