//! RFC 9068: JWT access tokens. Their header's `typ` is `at+jwt` (§2.1), their claims
//! `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti` (§2.2) and the scope as
//! `scope` (§2.2.3), Hydra's `scp` list, or both (`strategies.jwt.scope_claim`).

mod support;

use base64::Engine as _;
use futures_executor::block_on;
use latch_core::config::{Config, ScopeClaim};
use latch_core::keys::{Alg, ACCESS_TOKEN_SET};
use serde_json::{json, Value};
use support::*;

fn jwt_latch(seed: u64, scope_claim: ScopeClaim) -> L {
    let l = latch_with(seed, |c| c.jwt_scope_claim = scope_claim);
    block_on(l.ensure_key(ACCESS_TOKEN_SET, Alg::Es256)).expect("a key");
    create_client(
        &l,
        json!({"client_id": "svc", "client_secret": "secret", "grant_types": ["client_credentials"],
               "scope": "read write", "audience": ["https://api.example"], "access_token_strategy": "jwt"}),
    );
    l
}

/// A client-credentials token's header and verified claims.
fn token(l: &L) -> (Value, Value) {
    let r = form(
        l,
        "/oauth2/token",
        Some(("svc", "secret")),
        &[("grant_type", "client_credentials"), ("scope", "read write"), ("audience", "https://api.example")],
    );
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let jwt = r.json_body()["access_token"].as_str().unwrap().to_string();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap();
    (serde_json::from_slice(&header).unwrap(), claims(l, &jwt))
}

#[test]
fn the_header_and_claims_are_rfc_9068s() {
    let l = jwt_latch(1, ScopeClaim::Both);
    let (header, c) = token(&l);
    // §2.1: "at+jwt"; §2.2: the required claims.
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["sub"], "svc");
    assert_eq!(c["client_id"], "svc");
    assert_eq!(c["aud"], json!(["https://api.example"]));
    assert_eq!(c["iat"], NOW);
    assert_eq!(c["exp"], NOW + 3600);
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 16), "{c}");
    let (_, again) = token(&l);
    assert_ne!(c["jti"], again["jti"], "jti is unique per token");
}

#[test]
fn the_scope_claim_is_chosen_by_the_setting() {
    for (setting, scope, scp) in [
        (ScopeClaim::Both, json!("read write"), json!(["read", "write"])),
        (ScopeClaim::String, json!("read write"), Value::Null),
        (ScopeClaim::List, Value::Null, json!(["read", "write"])),
    ] {
        let (_, c) = token(&jwt_latch(2, setting));
        assert_eq!((&c["scope"], &c["scp"]), (&scope, &scp), "{setting:?}");
    }
}

#[test]
fn hydras_setting_names_the_scope_claim() {
    for (value, want) in [
        ("list", Some(ScopeClaim::List)),
        ("string", Some(ScopeClaim::String)),
        ("both", Some(ScopeClaim::Both)),
        ("scp", None),
    ] {
        let mut c = Config::new(ISSUER, b"0123456789abcdef-system-secret");
        let got = c
            .apply_settings(&|k| (k == "STRATEGIES_JWT_SCOPE_CLAIM").then(|| value.to_string()))
            .map(|()| c.jwt_scope_claim);
        assert_eq!(got.ok(), want, "{value}");
    }
    assert_eq!(Config::new(ISSUER, b"0123456789abcdef-system-secret").jwt_scope_claim, ScopeClaim::Both);
}
