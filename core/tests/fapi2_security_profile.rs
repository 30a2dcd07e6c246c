//! The FAPI 2.0 Security Profile switch (`oauth2.profile: fapi2`): one test per server
//! rule of the profile (§5.3.2.1 general, §5.3.2.2 the authorization code flow, §5.4
//! algorithms), then the whole flow a FAPI client runs: a pushed request, PKCE,
//! `private_key_jwt` and DPoP.

mod support;

use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request, Response};
use latch_core::keys::{Alg, SigningKey};
use latch_core::platform::FixedPlatform;
use latch_core::Port;
use serde_json::{json, Map, Value};
use std::cell::Cell;
use support::*;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

thread_local! {
    static JTI: Cell<u32> = const { Cell::new(0) };
}

fn jti() -> String {
    JTI.with(|j| {
        j.set(j.get() + 1);
        format!("jti-{}", j.get())
    })
}

fn key(alg: Alg, seed: u64) -> SigningKey {
    SigningKey::generate(&FixedPlatform::new(0, seed * 2), alg, "k-1").unwrap()
}

fn signed(k: &SigningKey, header: Value, claims: Value) -> String {
    let claims: Map<String, Value> = claims.as_object().cloned().unwrap();
    block_on(k.sign_with_header(&FixedPlatform::new(0, 1), &header, &claims)).unwrap()
}

fn fapi(seed: u64) -> L {
    latch_with(seed, |c| {
        c.apply_settings(&|k| (k == "OAUTH2_PROFILE").then(|| "fapi2".to_string())).expect("the profile");
    })
}

/// A FAPI client: `private_key_jwt` with ES256 and its key inline.
fn fapi_client(l: &L, k: &SigningKey) {
    create_client(
        l,
        json!({"client_id": "bank-app", "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
               "response_types": ["code", "code id_token"], "scope": "openid offline accounts", "redirect_uris": [CB],
               "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": k.alg.as_str(),
               "jwks": {"keys": [k.public_jwk()]}}),
    );
}

fn client_assertion(k: &SigningKey) -> String {
    signed(
        k,
        json!({"alg": k.alg.as_str(), "kid": "k-1", "typ": "JWT"}),
        json!({"iss": "bank-app", "sub": "bank-app", "aud": ISSUER, "exp": NOW + 60, "iat": NOW, "jti": jti()}),
    )
}

fn dpop_proof(k: &SigningKey, path: &str) -> String {
    signed(
        k,
        json!({"typ": "dpop+jwt", "alg": k.alg.as_str(), "jwk": k.public_jwk()}),
        json!({"jti": jti(), "htm": "POST", "htu": format!("{ISSUER}{path}"), "iat": NOW}),
    )
}

/// A POST to the public port with the client's assertion (when given) and DPoP proof.
fn post(l: &L, path: &str, pairs: &[(&str, &str)], assertion: Option<&str>, proof: Option<&str>) -> Response {
    let mut pairs: Vec<(&str, &str)> = pairs.to_vec();
    if let Some(a) = assertion {
        pairs.push(("client_assertion_type", ASSERTION_TYPE));
        pairs.push(("client_assertion", a));
    }
    let mut req = Request::new(Method::Post, path).form(&pairs);
    if let Some(p) = proof {
        req = req.header("dpop", p);
    }
    support::handle(l, Port::Public, req)
}

fn error_of(r: &Response) -> (u16, String) {
    (r.status, r.json_body()["error"].as_str().unwrap_or_default().to_string())
}

fn challenge() -> String {
    latch_core::pkce::s256(VERIFIER)
}

/// An authorization request to push, with `change` replacing (or, with "", removing) parameters.
fn request<'a>(challenge: &'a str, change: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("scope", "openid offline accounts"),
        ("redirect_uri", CB),
        ("state", "state-12345"),
        ("nonce", "nonce-12345"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in change {
        pairs.retain(|(n, _)| n != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    pairs
}

#[test]
fn the_switch_sets_and_tightens_the_settings() {
    let mut c = Config::new(ISSUER, b"0123456789abcdef-system-secret");
    let settings = |k: &str| match k {
        "OAUTH2_PROFILE" => Some("fapi2".to_string()),
        "TTL_AUTH_CODE" => Some("10m".to_string()),
        _ => None,
    };
    c.apply_settings(&settings).unwrap();
    assert!(c.fapi2 && c.par.required && c.pkce_enforced, "PAR and PKCE required (§5.3.2.2)");
    assert_eq!(c.auth_code_ttl, 60, "codes live at most 60 s (§5.3.2.2), whatever ttl.auth_code says");
    assert_eq!(c.refresh_grace_period, 60, "a lost refresh answer can be retried (§5.3.2.1)");
    assert_eq!(c.id_token_alg, Alg::Es256, "ID tokens not RS256 (§5.4)");
    let mut c = Config::new(ISSUER, b"0123456789abcdef-system-secret");
    assert!(c.apply_settings(&|k| (k == "OAUTH2_PROFILE").then(|| "fapi1".to_string())).is_err());
}

#[test]
fn authorization_requests_must_be_pushed() {
    let l = fapi(1);
    fapi_client(&l, &key(Alg::Es256, 1));
    let to = location(&Browser::default().get(&l, &auth_url_of("bank-app", "openid", "")));
    assert_eq!(query_of(&to)["error"], "invalid_request", "§5.3.2.2: {to}");
}

#[test]
fn a_push_is_checked_against_the_profile() {
    let l = fapi(2);
    let k = key(Alg::Es256, 2);
    fapi_client(&l, &k);
    let ch = challenge();
    for (change, error, rule) in [
        (vec![("code_challenge", ""), ("code_challenge_method", "")], "invalid_request", "PKCE is required (§5.3.2.2)"),
        (vec![("code_challenge_method", "plain")], "invalid_request", "PKCE is S256 (§5.3.2.2)"),
        (vec![("response_type", "code id_token")], "unsupported_response_type", "response_type=code only (§5.3.2.2)"),
        (vec![("redirect_uri", "")], "invalid_request", "the push names the redirect URI (§5.3.2.2)"),
    ] {
        let r = post(&l, "/oauth2/par", &request(&ch, &change), Some(&client_assertion(&k)), None);
        assert_eq!(error_of(&r), (400, error.to_string()), "{rule}: {:?}", r.json_body());
    }
    let r = post(&l, "/oauth2/par", &request(&ch, &[]), Some(&client_assertion(&k)), None);
    assert_eq!(r.status, 201, "{:?}", r.json_body());
}

#[test]
fn only_private_key_jwt_with_the_profiles_algorithms_authenticates() {
    let l = fapi(3);
    create_client(
        &l,
        json!({"client_id": "secret-app", "client_secret": "secret", "grant_types": ["client_credentials"], "scope": "accounts"}),
    );
    create_client(
        &l,
        json!({"client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"],
               "response_types": ["code"], "scope": "openid", "redirect_uris": [CB]}),
    );
    let ch = challenge();
    // §5.3.2.1: confidential clients only, and no shared secrets.
    let r = form(&l, "/oauth2/token", Some(("secret-app", "secret")), &[("grant_type", "client_credentials")]);
    assert_eq!(error_of(&r), (401, "invalid_client".into()), "client_secret_basic");
    let mut public = request(&ch, &[]);
    public.push(("client_id", "spa"));
    assert_eq!(
        error_of(&post(&l, "/oauth2/par", &public, None, None)),
        (401, "invalid_client".into()),
        "a public client"
    );
    // §5.4: RS256 is not among the algorithms; PS256 is.
    for (alg, ok) in [(Alg::Rs256, false), (Alg::Ps256, true)] {
        let l = fapi(4);
        let k = key(alg, 4);
        fapi_client(&l, &k);
        let r = post(&l, "/oauth2/par", &request(&ch, &[]), Some(&client_assertion(&k)), None);
        assert_eq!(r.status == 201, ok, "{alg:?}: {:?}", r.json_body());
    }
}

#[test]
fn a_client_assertion_names_the_issuer_alone() {
    let l = fapi(13);
    let k = key(Alg::Es256, 13);
    fapi_client(&l, &k);
    let ch = challenge();
    let with_aud = |aud: Value| {
        signed(
            &k,
            json!({"alg": "ES256", "kid": "k-1", "typ": "JWT"}),
            json!({"iss": "bank-app", "sub": "bank-app", "aud": aud, "exp": NOW + 60, "iat": NOW, "jti": jti()}),
        )
    };
    // §5.3.2.1: the issuer, as a string; not an endpoint's URL, not in a list.
    for aud in [json!(format!("{ISSUER}/oauth2/token")), json!(format!("{ISSUER}/oauth2/par")), json!([ISSUER])] {
        let r = post(&l, "/oauth2/par", &request(&ch, &[]), Some(&with_aud(aud.clone())), None);
        assert_eq!(error_of(&r), (401, "invalid_client".into()), "aud {aud}");
    }
    let r = post(&l, "/oauth2/par", &request(&ch, &[]), Some(&with_aud(json!(ISSUER))), None);
    assert_eq!(r.status, 201, "{:?}", r.json_body());
}

#[test]
fn access_tokens_are_sender_constrained() {
    let l = fapi(5);
    let k = key(Alg::Es256, 5);
    fapi_client(&l, &k);
    let cc = [("grant_type", "client_credentials"), ("scope", "accounts")];
    // §5.3.2.1: only sender-constrained access tokens: without a DPoP proof, none.
    let r = post(&l, "/oauth2/token", &cc, Some(&client_assertion(&k)), None);
    assert_eq!(error_of(&r), (400, "invalid_dpop_proof".into()));
    // §5.4: a proof signed with RS256 is refused too.
    let rsa = key(Alg::Rs256, 6);
    let r = post(&l, "/oauth2/token", &cc, Some(&client_assertion(&k)), Some(&dpop_proof(&rsa, "/oauth2/token")));
    assert_eq!(error_of(&r), (400, "invalid_dpop_proof".into()));
    let dpop = key(Alg::Es256, 7);
    let r = post(&l, "/oauth2/token", &cc, Some(&client_assertion(&k)), Some(&dpop_proof(&dpop, "/oauth2/token")));
    assert_eq!((r.status, r.json_body()["token_type"].clone()), (200, json!("DPoP")), "{:?}", r.json_body());
}

#[test]
fn discovery_offers_only_what_the_profile_allows() {
    let l = fapi(8);
    let d =
        support::handle(&l, Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration")).json_body();
    assert_eq!(d["require_pushed_authorization_requests"], true);
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["token_endpoint_auth_methods_supported"], json!(["private_key_jwt"]));
    assert_eq!(d["token_endpoint_auth_signing_alg_values_supported"], json!(["PS256", "ES256", "EdDSA"]));
    assert_eq!(d["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA", "Ed25519", "PS256"]));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
}

#[test]
fn a_fapi_client_runs_the_whole_flow() {
    let l = fapi(9);
    let k = key(Alg::Es256, 9);
    let dpop = key(Alg::EdDsa, 10);
    fapi_client(&l, &k);
    let ch = challenge();
    let r = post(
        &l,
        "/oauth2/par",
        &request(&ch, &[]),
        Some(&client_assertion(&k)),
        Some(&dpop_proof(&dpop, "/oauth2/par")),
    );
    let q = query_of(&pushed_flow(&l, &r));
    assert_eq!(q["iss"], ISSUER, "§5.3.2.2: iss in the response (RFC 9207)");
    let redeem = |code: &str| {
        post(
            &l,
            "/oauth2/token",
            &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
            Some(&client_assertion(&k)),
            Some(&dpop_proof(&dpop, "/oauth2/token")),
        )
    };
    let t = redeem(&q["code"]);
    assert_eq!((t.status, t.json_body()["token_type"].clone()), (200, json!("DPoP")), "{:?}", t.json_body());
    let idt = claims(&l, t.json_body()["id_token"].as_str().unwrap());
    assert_eq!(idt["nonce"], "nonce-12345");
    // §5.4: the ID token is ES256.
    let header = t.json_body()["id_token"].as_str().unwrap().split('.').next().unwrap().to_string();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    // §5.3.2.1: a refresh whose answer was lost is retried with the same token.
    let rt = t.json_body()["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let r = post(
            &l,
            "/oauth2/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
            Some(&client_assertion(&k)),
            Some(&dpop_proof(&dpop, "/oauth2/token")),
        );
        assert_eq!(r.status, 200, "{:?}", r.json_body());
    }
}

#[test]
fn codes_expire_after_a_minute() {
    let l = latch_with(11, |c| {
        c.auth_code_ttl = 600;
        c.apply_settings(&|k| (k == "OAUTH2_PROFILE").then(|| "fapi2".to_string())).unwrap();
    });
    let k = key(Alg::Es256, 11);
    let dpop = key(Alg::Es256, 12);
    fapi_client(&l, &k);
    let ch = challenge();
    let r = post(&l, "/oauth2/par", &request(&ch, &[]), Some(&client_assertion(&k)), None);
    let to = pushed_flow(&l, &r);
    l.platform.advance(61);
    let r = post(
        &l,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &query_of(&to)["code"]),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
        ],
        Some(&client_assertion_at(&k, NOW + 61)),
        Some(&signed(
            &dpop,
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": dpop.public_jwk()}),
            json!({"jti": jti(), "htm": "POST", "htu": format!("{ISSUER}/oauth2/token"), "iat": NOW + 61}),
        )),
    );
    assert_eq!(error_of(&r), (400, "invalid_grant".into()), "{:?}", r.json_body());
}

/// The browser's flow through the login and consent UIs from a push's answer: where
/// it lands at the client.
fn pushed_flow(l: &L, pushed: &Response) -> String {
    assert_eq!(pushed.status, 201, "{:?}", pushed.json_body());
    let uri: String =
        form_urlencoded::byte_serialize(pushed.json_body()["request_uri"].as_str().unwrap().as_bytes()).collect();
    let b = Browser::default();
    authorize(l, &b, &format!("{ISSUER}/oauth2/auth?client_id=bank-app&request_uri={uri}"))
        .accept_subject("alice", false)
        .grant_requested()
}

fn client_assertion_at(k: &SigningKey, now: i64) -> String {
    signed(
        k,
        json!({"alg": k.alg.as_str(), "kid": "k-1", "typ": "JWT"}),
        json!({"iss": "bank-app", "sub": "bank-app", "aud": ISSUER, "exp": now + 60, "iat": now, "jti": jti()}),
    )
}
