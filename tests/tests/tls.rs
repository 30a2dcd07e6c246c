//! TLS on the listeners (Hydra's `serve.tls.*` and `serve.<port>.tls.*`): rustls serves
//! the API with the configured certificate, by base64 or by path, per port with the
//! shared keys as fallback; plain HTTP to a TLS port gets no answer; a bad certificate
//! or an enabled TLS without one fails start-up naming the key.

use base64::Engine as _;
use latch_tests::http::Harness;

fn certificate() -> (String, String) {
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).expect("a certificate");
    (c.cert.pem(), c.key_pair.serialize_pem())
}

fn trusting(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("PEM"))
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_ports_serve_tls_with_the_shared_certificate() {
    let (cert, key) = certificate();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (cert64, key64) = (b64(&cert), b64(&key));
    let h = Harness::start("memory", &[("SERVE_TLS_CERT_BASE64", &cert64), ("SERVE_TLS_KEY_BASE64", &key64)]).await;
    let client = trusting(&cert);
    for base in [&h.public, &h.admin] {
        let https = base.replacen("http://", "https://", 1);
        let r = client.get(format!("{https}/health/alive")).send().await.expect("an https answer");
        assert_eq!(r.status(), 200, "{https}");
        // Plain HTTP to a TLS port is no HTTP exchange.
        assert!(reqwest::get(format!("{base}/health/alive")).await.is_err(), "{base} answered plain HTTP");
    }
    // A client that does not trust the certificate refuses it.
    let https = h.public.replacen("http://", "https://", 1);
    assert!(reqwest::get(format!("{https}/health/alive")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_of_its_own_by_path_and_the_other_in_clear() {
    let (cert, key) = certificate();
    let dir = std::env::temp_dir().join(format!("latch-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert).expect("write");
    std::fs::write(&key_path, &key).expect("write");
    let h = Harness::start(
        "memory",
        &[
            ("SERVE_PUBLIC_TLS_CERT_PATH", cert_path.to_str().expect("path")),
            ("SERVE_PUBLIC_TLS_KEY_PATH", key_path.to_str().expect("path")),
        ],
    )
    .await;
    let https = h.public.replacen("http://", "https://", 1);
    let r = trusting(&cert).get(format!("{https}/.well-known/openid-configuration")).send().await.expect("https");
    assert_eq!(r.status(), 200);
    assert_eq!(reqwest::get(format!("{}/health/alive", h.admin)).await.expect("http").status(), 200);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn bad_or_missing_certificates_fail_start_up_by_name() {
    let (cert, key) = certificate();
    let (_, other_key) = certificate();
    let load = |vars: &[(&str, &str)]| {
        let m: std::collections::HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        latch_native::config::from_env(&|k| m.get(k).cloned(), true, None).map(drop).unwrap_err().to_string()
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let e = load(&[("SERVE_TLS_ENABLED", "true")]);
    assert!(e.contains("no certificate and key are configured"), "{e}");
    let e =
        load(&[("SERVE_ADMIN_TLS_CERT_PATH", "/nonexistent/cert.pem"), ("SERVE_ADMIN_TLS_KEY_PATH", "/nonexistent/k")]);
    assert!(e.contains("SERVE_ADMIN_TLS_CERT_PATH") && e.contains("cannot read"), "{e}");
    let e = load(&[("SERVE_TLS_CERT_BASE64", "%%%"), ("SERVE_TLS_KEY_BASE64", "%%%")]);
    assert!(e.contains("SERVE_TLS_CERT_BASE64") && e.contains("not base64"), "{e}");
    let e = load(&[("SERVE_TLS_CERT_BASE64", &b64(&cert)), ("SERVE_TLS_KEY_BASE64", &b64(&other_key))]);
    assert!(e.contains("does not fit"), "{e}");
    // The key never appears in a message.
    assert!(!e.contains(&b64(&other_key)) && !e.contains("PRIVATE KEY"), "{e}");
    let _ = key;
}
