//! RFC 9449 (DPoP): proofs checked as §4.3 lists, tokens bound to the proof's key
//! (`token_type: DPoP`, `cnf.jkt` in introspection and JWTs), codes bound by `dpop_jkt`
//! (§10) and through PAR (§10.1), public clients' refresh tokens bound (§5), server
//! nonces (§8), and userinfo as a protected resource (§7).

mod support;

use base64::Engine as _;
use futures_executor::block_on;
use latch_core::dpop::thumbprint;
use latch_core::http::{Method, Request, Response};
use latch_core::keys::{Alg, SigningKey};
use latch_core::platform::{FixedPlatform, Platform as _};
use latch_core::Port;
use serde_json::{json, Map, Value};
use std::cell::Cell;
use support::*;

thread_local! {
    static JTI: Cell<u32> = const { Cell::new(0) };
}

/// A client's key; distinct seeds give distinct keys (the platform's stream is `seed | 1`).
fn key(alg: Alg, seed: u64) -> SigningKey {
    SigningKey::generate(&FixedPlatform::new(0, seed * 2), alg, "dpop-key").unwrap()
}

fn jkt(k: &SigningKey) -> String {
    thumbprint(&k.public_jwk()).unwrap()
}

/// The claims of a proof for `method` `url` at `iat`, with a fresh `jti`.
fn claims(method: &str, url: &str, iat: i64) -> Map<String, Value> {
    let jti = JTI.with(|j| {
        j.set(j.get() + 1);
        format!("jti-{}", j.get())
    });
    json!({"jti": jti, "htm": method, "htu": url, "iat": iat}).as_object().unwrap().clone()
}

fn sign(k: &SigningKey, header: Value, claims: &Map<String, Value>) -> String {
    block_on(k.sign_with_header(&FixedPlatform::new(0, 9), &header, claims)).unwrap()
}

fn header_of(k: &SigningKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": k.alg.as_str(), "jwk": k.public_jwk()})
}

/// A proof of `k` for `method` `path` now.
fn proof(k: &SigningKey, method: &str, path: &str) -> String {
    sign(k, header_of(k), &claims(method, &format!("{ISSUER}{path}"), NOW))
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

/// A token request with these DPoP headers.
fn token_request(l: &L, auth: Option<(&str, &str)>, pairs: &[(&str, &str)], proofs: &[&str]) -> Response {
    let mut req = Request::new(Method::Post, "/oauth2/token").form(pairs);
    if let Some((id, s)) = auth {
        req = req.header("authorization", &basic(id, s));
    }
    for p in proofs {
        req = req.header("dpop", p);
    }
    support::handle(l, Port::Public, req)
}

fn service(l: &L) {
    create_client(
        l,
        json!({"client_id": "svc", "client_secret": "secret", "grant_types": ["client_credentials"], "scope": "read"}),
    );
}

fn cc(l: &L, proofs: &[&str]) -> Response {
    token_request(l, Some(("svc", "secret")), &[("grant_type", "client_credentials"), ("scope", "read")], proofs)
}

fn error_of(r: &Response) -> (u16, String) {
    (r.status, r.json_body()["error"].as_str().unwrap_or_default().to_string())
}

#[test]
fn a_proof_binds_the_access_token_to_its_key() {
    for (i, alg) in [Alg::Es256, Alg::EdDsa, Alg::Rs256, Alg::Ps256].into_iter().enumerate() {
        let l = latch(1);
        service(&l);
        let k = key(alg, 10 + i as u64);
        let r = cc(&l, &[&proof(&k, "POST", "/oauth2/token")]);
        assert_eq!(r.status, 200, "{alg:?}: {:?}", r.json_body());
        // §5.1: token_type DPoP; §6.2: introspection names the key.
        assert_eq!(r.json_body()["token_type"], "DPoP", "{alg:?}");
        let i = introspect(&l, r.json_body()["access_token"].as_str().unwrap());
        assert_eq!((i["active"].clone(), i["token_type"].clone()), (json!(true), json!("DPoP")));
        assert_eq!(i["cnf"], json!({"jkt": jkt(&k)}), "{alg:?}");
    }
    // RFC 9864's name of the same algorithm, as openid-client sends it.
    let l = latch(1);
    service(&l);
    let k = key(Alg::EdDsa, 30);
    let mut header = header_of(&k);
    header["alg"] = json!("Ed25519");
    let r = cc(&l, &[&sign(&k, header, &claims("POST", &format!("{ISSUER}/oauth2/token"), NOW))]);
    assert_eq!((r.status, r.json_body()["token_type"].clone()), (200, json!("DPoP")), "{:?}", r.json_body());
    // Without a proof, a bearer token as before.
    let l = latch(2);
    service(&l);
    let r = cc(&l, &[]);
    assert_eq!(r.json_body()["token_type"], "bearer");
    let i = introspect(&l, r.json_body()["access_token"].as_str().unwrap());
    assert!(i.get("cnf").is_none() && i["token_type"] == "Bearer", "{i}");
}

#[test]
fn a_jwt_access_token_carries_cnf() {
    let l = latch(3);
    block_on(l.ensure_key(latch_core::keys::ACCESS_TOKEN_SET, Alg::Es256)).unwrap();
    create_client(
        &l,
        json!({"client_id": "svc", "client_secret": "secret", "grant_types": ["client_credentials"], "scope": "read",
               "access_token_strategy": "jwt"}),
    );
    let k = key(Alg::Es256, 11);
    let r = cc(&l, &[&proof(&k, "POST", "/oauth2/token")]);
    let jwt = r.json_body()["access_token"].as_str().unwrap().to_string();
    let jwks = support::handle(&l, Port::Public, Request::new(Method::Get, "/.well-known/jwks.json")).json_body();
    let c = jwks["keys"].as_array().unwrap().iter().find_map(|j| latch_core::keys::verify_jws(j, &jwt)).unwrap();
    assert_eq!(Value::Object(c)["cnf"], json!({"jkt": jkt(&k)}));
}

#[test]
fn every_check_of_section_4_3_refuses() {
    let l = latch(4);
    service(&l);
    let k = key(Alg::Es256, 12);
    let other = key(Alg::Es256, 13);
    let url = format!("{ISSUER}/oauth2/token");
    let without = |name: &str| {
        let mut c = claims("POST", &url, NOW);
        c.remove(name);
        c
    };
    let with = |name: &str, v: Value| {
        let mut c = claims("POST", &url, NOW);
        c.insert(name.into(), v);
        c
    };
    let mut private = header_of(&k);
    private["jwk"] = k.private_jwk();
    let mut hmac = header_of(&k);
    hmac["alg"] = json!("HS256");
    let mut no_typ = header_of(&k);
    no_typ["typ"] = json!("JWT");
    let mut no_jwk = header_of(&k);
    no_jwk.as_object_mut().unwrap().remove("jwk");
    let cases: Vec<(&str, String)> = vec![
        ("typ is not dpop+jwt", sign(&k, no_typ, &claims("POST", &url, NOW))),
        ("a symmetric alg", sign(&k, hmac, &claims("POST", &url, NOW))),
        ("no jwk", sign(&k, no_jwk, &claims("POST", &url, NOW))),
        ("a private jwk", sign(&k, private, &claims("POST", &url, NOW))),
        ("signed by another key than its jwk", sign(&other, header_of(&k), &claims("POST", &url, NOW))),
        ("htm of another method", sign(&k, header_of(&k), &claims("GET", &url, NOW))),
        ("htu of another endpoint", sign(&k, header_of(&k), &claims("POST", &format!("{ISSUER}/userinfo"), NOW))),
        ("htu of another server", sign(&k, header_of(&k), &claims("POST", "https://evil.example/oauth2/token", NOW))),
        ("iat too old", sign(&k, header_of(&k), &claims("POST", &url, NOW - 301))),
        ("iat in the future", sign(&k, header_of(&k), &claims("POST", &url, NOW + 61))),
        ("no jti", sign(&k, header_of(&k), &without("jti"))),
        ("no iat", sign(&k, header_of(&k), &without("iat"))),
        ("an empty jti", sign(&k, header_of(&k), &with("jti", json!("")))),
        ("not a JWT", "not-a-jwt".to_string()),
    ];
    for (what, p) in &cases {
        assert_eq!(error_of(&cc(&l, &[p])), (400, "invalid_dpop_proof".into()), "{what}");
    }
    // §4.3 item 1: one header only.
    let (a, b) = (proof(&k, "POST", "/oauth2/token"), proof(&k, "POST", "/oauth2/token"));
    assert_eq!(error_of(&cc(&l, &[&a, &b])), (400, "invalid_dpop_proof".into()), "two DPoP headers");
    // The htu may carry a query, a default port and another case (§4.3 item 9).
    let fine = sign(&k, header_of(&k), &claims("POST", "HTTPS://Auth.Example:443/oauth2/token?x=1", NOW));
    assert_eq!(cc(&l, &[&fine]).status, 200);
}

#[test]
fn a_proof_is_used_once() {
    let l = latch(5);
    service(&l);
    let k = key(Alg::Es256, 14);
    let p = proof(&k, "POST", "/oauth2/token");
    assert_eq!(cc(&l, &[&p]).status, 200);
    // §11.1: the replay is refused, even after a while (until the proof is too old anyway).
    l.platform.advance(200);
    assert_eq!(error_of(&cc(&l, &[&p])), (400, "invalid_dpop_proof".into()));
}

#[test]
fn nonces_are_required_when_configured() {
    let l = latch_with(6, |c| c.dpop.require_nonce = true);
    service(&l);
    let k = key(Alg::Es256, 15);
    // §8: refused with a nonce to use...
    let r = cc(&l, &[&proof(&k, "POST", "/oauth2/token")]);
    assert_eq!(error_of(&r), (400, "use_dpop_nonce".into()));
    let nonce = r.headers.iter().find(|(n, _)| n == "dpop-nonce").map(|(_, v)| v.clone()).expect("a DPoP-Nonce");
    // ... and a code is not used up by it (the proof is checked before the grant).
    let with_nonce = |n: &str| {
        let mut c = claims("POST", &format!("{ISSUER}/oauth2/token"), l.platform.now());
        c.insert("nonce".into(), json!(n));
        sign(&k, header_of(&k), &c)
    };
    let r = cc(&l, &[&with_nonce(&nonce)]);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert!(r.headers.iter().any(|(n, _)| n == "dpop-nonce"), "a fresh nonce with the answer");
    assert_eq!(error_of(&cc(&l, &[&with_nonce("made-up")])).1, "use_dpop_nonce");
    // The previous period's nonce still holds; an older one does not.
    l.platform.advance(latch_core::dpop::NONCE_PERIOD);
    assert_eq!(cc(&l, &[&with_nonce(&nonce)]).status, 200);
    l.platform.advance(latch_core::dpop::NONCE_PERIOD);
    assert_eq!(error_of(&cc(&l, &[&with_nonce(&nonce)])).1, "use_dpop_nonce");
}

#[test]
fn a_dpop_bound_client_needs_a_proof() {
    let l = latch(7);
    create_client(
        &l,
        json!({"client_id": "svc", "client_secret": "secret", "grant_types": ["client_credentials"], "scope": "read",
               "dpop_bound_access_tokens": true}),
    );
    assert_eq!(error_of(&cc(&l, &[])), (400, "invalid_dpop_proof".into()));
    assert_eq!(cc(&l, &[&proof(&key(Alg::Es256, 16), "POST", "/oauth2/token")]).status, 200);
}

fn code_of(l: &L, extra: &str) -> String {
    let b = Browser::default();
    let to = authorize(l, &b, &auth_url(extra)).accept_subject("alice", false).grant_requested();
    query_of(&to)["code"].clone()
}

fn redeem_with(l: &L, code: &str, proofs: &[&str]) -> Response {
    token_request(
        l,
        Some(("app", "app-secret")),
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
        proofs,
    )
}

#[test]
fn dpop_jkt_binds_the_code() {
    let l = latch(8);
    app_client(&l);
    let (k, other) = (key(Alg::Es256, 17), key(Alg::Es256, 18));
    let code = code_of(&l, &format!("&dpop_jkt={}", jkt(&k)));
    // §10: the code is redeemed only with a proof of that key; refusals leave it unused.
    assert_eq!(error_of(&redeem_with(&l, &code, &[])), (400, "invalid_dpop_proof".into()));
    assert_eq!(error_of(&redeem_with(&l, &code, &[&proof(&other, "POST", "/oauth2/token")])).1, "invalid_dpop_proof");
    let r = redeem_with(&l, &code, &[&proof(&k, "POST", "/oauth2/token")]);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert_eq!(r.json_body()["token_type"], "DPoP");
    // A malformed dpop_jkt goes back to the client.
    let to = location(&Browser::default().get(&l, &auth_url("&dpop_jkt=abc")));
    assert_eq!(query_of(&to)["error"], "invalid_request");
}

#[test]
fn a_push_with_a_proof_binds_the_code() {
    let l = latch(9);
    app_client(&l);
    let (k, other) = (key(Alg::Es256, 19), key(Alg::Es256, 20));
    let push = |proofs: &[&str], extra: &[(&str, &str)]| {
        let challenge = latch_core::pkce::s256(VERIFIER);
        let mut pairs = vec![
            ("response_type", "code"),
            ("scope", "openid offline email"),
            ("redirect_uri", CB),
            ("state", "state-12345"),
            ("nonce", "nonce-12345"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        pairs.extend_from_slice(extra);
        let mut req =
            Request::new(Method::Post, "/oauth2/par").form(&pairs).header("authorization", &basic("app", "app-secret"));
        for p in proofs {
            req = req.header("dpop", p);
        }
        support::handle(&l, Port::Public, req)
    };
    // §10.1: a dpop_jkt that is not the proof's key is refused.
    let r = push(&[&proof(&k, "POST", "/oauth2/par")], &[("dpop_jkt", &jkt(&other))]);
    assert_eq!(error_of(&r), (400, "invalid_dpop_proof".into()));
    let r = push(&[&proof(&k, "POST", "/oauth2/par")], &[]);
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let uri: String =
        form_urlencoded::byte_serialize(r.json_body()["request_uri"].as_str().unwrap().as_bytes()).collect();
    let b = Browser::default();
    let to = authorize(&l, &b, &format!("{ISSUER}/oauth2/auth?client_id=app&request_uri={uri}"))
        .accept_subject("alice", false)
        .grant_requested();
    let code = query_of(&to)["code"].clone();
    assert_eq!(error_of(&redeem_with(&l, &code, &[&proof(&other, "POST", "/oauth2/token")])).1, "invalid_dpop_proof");
    assert_eq!(redeem_with(&l, &code, &[&proof(&k, "POST", "/oauth2/token")]).status, 200);
}

#[test]
fn a_public_clients_refresh_token_is_bound() {
    let l = latch(10);
    create_client(
        &l,
        json!({"client_id": "app", "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
               "response_types": ["code"], "scope": "openid offline email", "redirect_uris": [CB]}),
    );
    let k = key(Alg::Es256, 21);
    let code = code_of(&l, "");
    let r = token_request(
        &l,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
            ("client_id", "app"),
        ],
        &[&proof(&k, "POST", "/oauth2/token")],
    );
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let rt = r.json_body()["refresh_token"].as_str().unwrap().to_string();
    let refresh = |proofs: &[&str]| {
        token_request(
            &l,
            None,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt), ("client_id", "app")],
            proofs,
        )
    };
    // §5: without the key, or with another, the refresh token is refused (and not used up).
    assert_eq!(error_of(&refresh(&[])), (400, "invalid_dpop_proof".into()));
    assert_eq!(error_of(&refresh(&[&proof(&key(Alg::Es256, 22), "POST", "/oauth2/token")])).1, "invalid_dpop_proof");
    let r = refresh(&[&proof(&k, "POST", "/oauth2/token")]);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert_eq!(r.json_body()["token_type"], "DPoP");
}

#[test]
fn a_confidential_clients_refresh_token_is_not_bound() {
    let l = latch(11);
    app_client(&l);
    let code = code_of(&l, "");
    let r = redeem_with(&l, &code, &[&proof(&key(Alg::Es256, 23), "POST", "/oauth2/token")]);
    let rt = r.json_body()["refresh_token"].as_str().unwrap().to_string();
    let r =
        token_request(&l, Some(("app", "app-secret")), &[("grant_type", "refresh_token"), ("refresh_token", &rt)], &[]);
    assert_eq!((r.status, r.json_body()["token_type"].clone()), (200, json!("bearer")));
}

fn userinfo(l: &L, scheme: &str, token: &str, proofs: &[String]) -> Response {
    let mut req = Request::new(Method::Get, "/userinfo").header("authorization", &format!("{scheme} {token}"));
    for p in proofs {
        req = req.header("dpop", p);
    }
    support::handle(l, Port::Public, req)
}

fn challenge_of(r: &Response) -> String {
    r.headers.iter().find(|(n, _)| n == "www-authenticate").map(|(_, v)| v.clone()).unwrap_or_default()
}

#[test]
fn userinfo_takes_a_bound_token_only_with_its_proof() {
    let l = latch(12);
    app_client(&l);
    let k = key(Alg::Es256, 24);
    let code = code_of(&l, "");
    let at = redeem_with(&l, &code, &[&proof(&k, "POST", "/oauth2/token")]).json_body()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let with_ath = |signer: &SigningKey, token: &str| {
        let mut c = claims("GET", &format!("{ISSUER}/userinfo"), NOW);
        c.insert(
            "ath".into(),
            json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token.as_bytes()))),
        );
        sign(signer, header_of(signer), &c)
    };
    use sha2::Digest as _;
    let r = userinfo(&l, "DPoP", &at, &[with_ath(&k, &at)]);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert_eq!(r.json_body()["sub"], "alice");
    // §7.1: as a bearer token, refused with a DPoP challenge.
    let r = userinfo(&l, "Bearer", &at, &[]);
    assert_eq!(r.status, 401);
    assert!(challenge_of(&r).starts_with("DPoP error=\"invalid_token\""), "{}", challenge_of(&r));
    // Without a proof, with another key's, with a proof of no ath or another token's.
    for (what, proofs) in [
        ("no proof", vec![]),
        ("another key", vec![with_ath(&key(Alg::Es256, 25), &at)]),
        ("no ath", vec![proof(&k, "GET", "/userinfo")]),
        ("another token's ath", vec![with_ath(&k, "another-token")]),
    ] {
        let r = userinfo(&l, "DPoP", &at, &proofs);
        assert_eq!(r.status, 401, "{what}");
        assert!(challenge_of(&r).starts_with("DPoP error=\"invalid_dpop_proof\""), "{what}: {}", challenge_of(&r));
        assert_eq!(r.json_body()["status_code"], 401, "{what}");
    }
    // An unbound token does not pass as a DPoP one.
    let bearer = redeem(&l, &code_of(&l, "")).json_body()["access_token"].as_str().unwrap().to_string();
    let r = userinfo(&l, "DPoP", &bearer, &[with_ath(&k, &bearer)]);
    assert_eq!(r.status, 401);
    assert_eq!(userinfo(&l, "Bearer", &bearer, &[]).status, 200);
}

#[test]
fn discovery_names_the_algorithms() {
    let l = latch(13);
    let d =
        support::handle(&l, Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration")).json_body();
    assert_eq!(d["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA", "Ed25519", "RS256", "PS256"]));
}
