//! RFC 7523: JWTs as authorization grants (§2.1, with Hydra's trust relationships) and
//! as client authentication (§2.2, `private_key_jwt`), over the in-memory store with a
//! fixed clock and a host that serves `jwks_uri` from a table (and counts its fetches).

use base64::Engine as _;
use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request, Response};
use latch_core::keys::{Alg, SigningKey};
use latch_core::memory::MemoryStore;
use latch_core::platform::{FixedPlatform, Platform};
use latch_core::{Latch, Port};
use serde_json::{json, Map, Value};

const TOKEN_URL: &str = "https://auth.example/oauth2/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

mod support;

use support::{Served, ISSUER, NOW};

type L = Latch<MemoryStore, Served>;

fn latch_with(change: impl FnOnce(&mut Config)) -> L {
    let mut c = Config::new(ISSUER, b"0123456789abcdef-system-secret");
    c.pbkdf2_iterations = 10;
    change(&mut c);
    Latch::new(MemoryStore::new(), Served::new(9), c)
}

fn latch() -> L {
    latch_with(|_| {})
}

fn admin(l: &L, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut req = Request::new(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    block_on(l.handle(Port::Admin, req)).1
}

fn token(l: &L, basic: Option<(&str, &str)>, pairs: &[(&str, &str)]) -> Response {
    let mut req = Request::new(Method::Post, "/oauth2/token").form(pairs);
    if let Some((id, s)) = basic {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{s}"));
        req = req.header("authorization", &format!("Basic {b}"));
    }
    block_on(l.handle(Port::Public, req)).1
}

fn key(alg: Alg, kid: &str, seed: u64) -> SigningKey {
    SigningKey::generate(&FixedPlatform::new(0, seed), alg, kid).unwrap()
}

fn sign(k: &SigningKey, claims: Value) -> String {
    let claims: Map<String, Value> = claims.as_object().cloned().unwrap();
    block_on(k.sign(&FixedPlatform::new(0, 1), "JWT", &claims)).unwrap()
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn error_of(r: &Response) -> (u16, String, String) {
    let b = r.json_body();
    (r.status, b["error"].as_str().unwrap_or("").into(), b["error_description"].as_str().unwrap_or("").into())
}

/// A confidential client allowed the JWT-bearer grant with scopes `a b c`.
fn bearer_client(l: &L) {
    let r = admin(
        l,
        Method::Post,
        "/admin/clients",
        Some(json!({"client_id": "svc", "client_secret": "secret", "grant_types": [JWT_BEARER],
                    "scope": "a b c", "audience": ["https://api.example"]})),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
}

fn trust(l: &L, body: Value) -> Response {
    admin(l, Method::Post, "/admin/trust/grants/jwt-bearer/issuers", Some(body))
}

fn trust_body(k: &SigningKey, subject: Option<&str>, scope: &[&str], expires: &str) -> Value {
    let mut b = json!({"issuer": "https://idp.example", "scope": scope, "jwk": k.public_jwk(), "expires_at": expires});
    match subject {
        Some(s) => b["subject"] = json!(s),
        None => b["allow_any_subject"] = json!(true),
    }
    b
}

fn assertion_claims(jti: &str) -> Value {
    json!({"iss": "https://idp.example", "sub": "alice", "aud": TOKEN_URL, "exp": NOW + 300, "iat": NOW, "jti": jti})
}

fn patched(mut v: Value, patch: Value) -> Value {
    for (k, x) in patch.as_object().unwrap() {
        if x.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = x.clone();
        }
    }
    v
}

fn bearer(l: &L, assertion: &str, scope: &str) -> Response {
    token(l, Some(("svc", "secret")), &[("grant_type", JWT_BEARER), ("assertion", assertion), ("scope", scope)])
}

fn introspect(l: &L, t: &str) -> Value {
    let req = Request::new(Method::Post, "/admin/oauth2/introspect").form(&[("token", t)]);
    block_on(l.handle(Port::Admin, req)).1.json_body()
}

/// The trust API answers Hydra's shapes: 201 with `public_key` and a `Location` without
/// `/admin`, a 409 for the same issuer, subject and key, Hydra's
/// `missing_required_parameter` for each missing part, a private key stored public.
#[test]
fn trust_relationships_are_created_listed_and_deleted() {
    let l = latch();
    let k = key(Alg::Es256, "idp-1", 3);
    let r = trust(&l, trust_body(&k, Some("alice"), &["a", "b"], "2030-01-01T00:00:00Z"));
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let g = r.json_body();
    let id = g["id"].as_str().unwrap().to_string();
    assert_eq!(header(&r, "location"), Some(format!("/trust/grants/jwt-bearer/issuers/{id}").as_str()));
    assert_eq!(g["public_key"], json!({"set": "https://idp.example", "kid": "idp-1"}));
    assert_eq!((g["subject"].as_str(), g["allow_any_subject"].as_bool()), (Some("alice"), Some(false)));
    assert_eq!(g["expires_at"], "2030-01-01T00:00:00Z");
    assert_eq!(g["created_at"], "2023-11-14T22:13:20Z");
    assert_eq!(g["scope"], json!(["a", "b"]));

    let again = trust(&l, trust_body(&k, Some("alice"), &["a"], "2031-01-01T00:00:00Z"));
    assert_eq!(again.status, 409);
    // Another subject with the same key is another relationship.
    assert_eq!(trust(&l, trust_body(&k, None, &["c"], "2031-01-01T00:00:00Z")).status, 201);

    let base = trust_body(&k, Some("bob"), &["a"], "2030-01-01T00:00:00Z");
    for (change, want) in [
        (json!({"issuer": null}), "missing_required_parameter"),
        (json!({"subject": null}), "missing_required_parameter"),
        (json!({"allow_any_subject": true}), "missing_required_parameter"),
        (json!({"expires_at": null}), "missing_required_parameter"),
        (json!({"jwk": null}), "missing_required_parameter"),
        (json!({"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": ""}}), "missing_required_parameter"),
        (json!({"jwk": {"kty": "oct", "k": "c2VjcmV0", "kid": "h"}}), "invalid_request"),
        (json!({"jwk": {"kty": "RSA", "n": "AQAB", "kid": "r"}}), "invalid_request"),
        (json!({"expires_at": "2020-01-01T00:00:00Z"}), "invalid_request"),
        (json!({"expires_at": "tomorrow"}), "invalid_request"),
        (json!({"scope": "a b"}), "invalid_request"),
    ] {
        let r = trust(&l, patched(base.clone(), change.clone()));
        assert_eq!((r.status, r.json_body()["error"].as_str()), (400, Some(want)), "{change}: {:?}", r.json_body());
    }
    // A private JWK is kept public.
    let mut private = trust_body(&key(Alg::Es256, "idp-2", 4), Some("carol"), &[], "2030-01-01T00:00:00Z");
    private["jwk"] = key(Alg::Es256, "idp-2", 4).private_jwk();
    let r = trust(&l, private);
    assert_eq!(r.status, 201);
    let stored = block_on(latch_core::store::TrustStore::get_trust(&l.store, r.json_body()["id"].as_str().unwrap()));
    assert!(stored.unwrap().unwrap().jwk.get("d").is_none(), "the private member is dropped");

    let list = admin(&l, Method::Get, "/admin/trust/grants/jwt-bearer/issuers?page_size=2", None);
    assert_eq!(list.json_body().as_array().unwrap().len(), 2);
    assert!(header(&list, "link").unwrap().contains("rel=\"next\""));
    let none = admin(&l, Method::Get, "/admin/trust/grants/jwt-bearer/issuers?issuer=https://other.example", None);
    assert_eq!(none.json_body(), json!([]));

    let path = format!("/admin/trust/grants/jwt-bearer/issuers/{id}");
    assert_eq!(admin(&l, Method::Get, &path, None).json_body()["id"], id.as_str());
    assert_eq!(admin(&l, Method::Get, "/admin/trust/grants/jwt-bearer/issuers/not-a-uuid", None).status, 400);
    assert_eq!(admin(&l, Method::Delete, &path, None).status, 204);
    assert_eq!(admin(&l, Method::Get, &path, None).status, 404);
    assert_eq!(admin(&l, Method::Delete, &path, None).status, 404);
}

/// §2.1 and §3: a trusted issuer's assertion about a subject becomes that subject's
/// access token, with the requested scope; no refresh token, no ID token.
#[test]
fn a_trusted_assertion_is_exchanged_for_an_access_token() {
    let l = latch();
    bearer_client(&l);
    let k = key(Alg::Es256, "idp-1", 3);
    assert_eq!(trust(&l, trust_body(&k, Some("alice"), &["a", "b"], "2030-01-01T00:00:00Z")).status, 201);
    let r = bearer(&l, &sign(&k, assertion_claims("j-1")), "a b");
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let t = r.json_body();
    assert_eq!((t["token_type"].as_str(), t["scope"].as_str()), (Some("bearer"), Some("a b")));
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let i = introspect(&l, t["access_token"].as_str().unwrap());
    assert_eq!(
        (i["active"].as_bool(), i["sub"].as_str(), i["client_id"].as_str()),
        (Some(true), Some("alice"), Some("svc"))
    );
    // The same jti again is a replay (§3 item 7).
    let replay = bearer(&l, &sign(&k, assertion_claims("j-1")), "a");
    assert_eq!(error_of(&replay).1, "invalid_grant");
    assert!(error_of(&replay).2.contains("jti"), "{:?}", replay.json_body());
    // The issuer itself is an accepted audience, as is the token URL.
    let r = bearer(&l, &sign(&k, patched(assertion_claims("j-2"), json!({"aud": [ISSUER]}))), "");
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    // A requested audience the client allows is granted; the assertion's is not.
    let r = token(
        &l,
        Some(("svc", "secret")),
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &sign(&k, assertion_claims("j-3"))),
            ("audience", "https://api.example"),
        ],
    );
    let i = introspect(&l, r.json_body()["access_token"].as_str().unwrap());
    assert_eq!(i["aud"], json!(["https://api.example"]));
}

/// Every rule of §3 and of the trust relationship refuses with `invalid_grant` (or
/// `invalid_scope`), and a refused assertion does not use up its `jti`.
#[test]
fn every_broken_rule_refuses_the_assertion() {
    let l = latch();
    bearer_client(&l);
    let k = key(Alg::Es256, "idp-1", 3);
    let other = key(Alg::Es256, "idp-1", 5);
    assert_eq!(trust(&l, trust_body(&k, Some("alice"), &["a"], "2030-01-01T00:00:00Z")).status, 201);
    let cases: Vec<(String, &str, &str)> = vec![
        ("not a jwt".into(), "", "invalid_grant"),
        (sign(&other, assertion_claims("x")), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"sub": "bob"}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"iss": "https://evil.example"}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"iss": null}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"aud": "https://other.example/token"}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"aud": null}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"exp": NOW - 1}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"exp": null}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"nbf": NOW + 60}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"iat": null}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"jti": null}))), "", "invalid_grant"),
        (sign(&k, patched(assertion_claims("x"), json!({"exp": NOW + 721 * 3600}))), "", "invalid_grant"),
        (sign(&k, assertion_claims("x")), "b", "invalid_scope"),
        (sign(&k, assertion_claims("x")), "z", "invalid_scope"),
    ];
    for (assertion, scope, want) in cases {
        let r = bearer(&l, &assertion, scope);
        assert_eq!((r.status, error_of(&r).1.as_str()), (400, want), "{assertion} {scope}: {:?}", r.json_body());
    }
    // None of those used up "x".
    assert_eq!(bearer(&l, &sign(&k, assertion_claims("x")), "a").status, 200);
    // A missing assertion, and a client not allowed the grant.
    let r = token(&l, Some(("svc", "secret")), &[("grant_type", JWT_BEARER)]);
    assert_eq!(error_of(&r).1, "invalid_request");
    admin(
        &l,
        Method::Post,
        "/admin/clients",
        Some(json!({"client_id": "cc", "client_secret": "secret", "grant_types": ["client_credentials"]})),
    );
    let r = token(
        &l,
        Some(("cc", "secret")),
        &[("grant_type", JWT_BEARER), ("assertion", &sign(&k, assertion_claims("y")))],
    );
    assert_eq!(error_of(&r).1, "unauthorized_client");
}

/// An expired or deleted relationship trusts nothing; `allow_any_subject` trusts every
/// subject; the settings relax `iat` and `jti` and bound the lifetime.
#[test]
fn relationships_end_and_settings_relax_the_rules() {
    let l = latch_with(|c| {
        c.jwt_grant.iat_optional = true;
        c.jwt_grant.jti_optional = true;
        c.jwt_grant.max_ttl = 600;
    });
    bearer_client(&l);
    let k = key(Alg::Rs256, "idp-rsa", 6);
    let r = trust(&l, trust_body(&k, None, &["a"], "2023-11-14T22:30:00Z"));
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let id = r.json_body()["id"].as_str().unwrap().to_string();
    let lax = json!({"iss": "https://idp.example", "sub": "anyone", "aud": TOKEN_URL, "exp": NOW + 300});
    assert_eq!(bearer(&l, &sign(&k, lax.clone()), "a").status, 200, "no iat, no jti");
    assert_eq!(bearer(&l, &sign(&k, lax.clone()), "a").status, 200, "without a jti nothing is remembered");
    assert_eq!(
        error_of(&bearer(&l, &sign(&k, patched(lax.clone(), json!({"exp": NOW + 601}))), "a")).1,
        "invalid_grant"
    );
    l.platform.fixed.advance(1000);
    let later = patched(lax.clone(), json!({"exp": NOW + 1300}));
    assert_eq!(error_of(&bearer(&l, &sign(&k, later.clone()), "a")).1, "invalid_grant", "the relationship expired");
    assert_eq!(admin(&l, Method::Delete, &format!("/admin/trust/grants/jwt-bearer/issuers/{id}"), None).status, 204);
}

/// `private_key_jwt` with inline keys (RFC 7523 §2.2, §3; OIDC Core §9): the assertion
/// authenticates the client at the token and revocation endpoints once; every broken
/// rule is `invalid_client`.
#[test]
fn private_key_jwt_authenticates_with_the_clients_keys() {
    let l = latch();
    let k = key(Alg::Es256, "c-1", 7);
    let r = admin(
        &l,
        Method::Post,
        "/admin/clients",
        Some(json!({"client_id": "pk", "grant_types": ["client_credentials"], "scope": "a",
                    "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256",
                    "jwks": {"keys": [k.public_jwk()]}})),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let claims = |jti: &str| json!({"iss": "pk", "sub": "pk", "aud": TOKEN_URL, "exp": NOW + 60, "jti": jti});
    let cc = |assertion: &str| {
        token(
            &l,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion),
                ("scope", "a"),
            ],
        )
    };
    let ok = cc(&sign(&k, claims("p-1")));
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
    assert_eq!(introspect(&l, ok.json_body()["access_token"].as_str().unwrap())["client_id"], "pk");
    let replay = cc(&sign(&k, claims("p-1")));
    assert_eq!(error_of(&replay).1, "invalid_client");
    assert_eq!(cc(&sign(&k, patched(claims("p-2"), json!({"aud": ISSUER})))).status, 200, "the issuer as aud");
    let other = key(Alg::Es256, "c-1", 8);
    let rsa = key(Alg::Rs256, "c-1", 9);
    for (assertion, why) in [
        (sign(&other, claims("q-1")), "another key"),
        (sign(&rsa, claims("q-2")), "another algorithm than registered"),
        (sign(&k, patched(claims("q-3"), json!({"iss": "someone"}))), "iss is not the client"),
        (sign(&k, patched(claims("q-4"), json!({"aud": "https://elsewhere.example"}))), "aud"),
        (sign(&k, patched(claims("q-5"), json!({"exp": NOW}))), "expired"),
        (sign(&k, patched(claims("q-6"), json!({"jti": null}))), "no jti"),
        ("x.y.z".into(), "not a JWT"),
    ] {
        let r = cc(&assertion);
        assert_eq!((r.status, error_of(&r).1.as_str()), (401, "invalid_client"), "{why}: {:?}", r.json_body());
    }
    // A wrong assertion type, and an assertion with a secret, are malformed requests.
    let r = token(
        &l,
        None,
        &[("grant_type", "client_credentials"), ("client_assertion_type", "urn:x"), ("client_assertion", "a.b.c")],
    );
    assert_eq!(error_of(&r).1, "invalid_request");
    let r = token(
        &l,
        Some(("pk", "secret")),
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &sign(&k, claims("q-7"))),
        ],
    );
    assert_eq!(error_of(&r).1, "invalid_request", "two methods at once");
    // The revocation endpoint takes the same authentication.
    let at = ok.json_body()["access_token"].as_str().unwrap().to_string();
    let revoke = Request::new(Method::Post, "/oauth2/revoke").form(&[
        ("token", at.as_str()),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", &sign(&k, claims("r-1"))),
    ]);
    assert_eq!(block_on(l.handle(Port::Public, revoke)).1.status, 200);
    assert_eq!(introspect(&l, &at)["active"], false);
    // A client of another method cannot be reached by an assertion.
    admin(
        &l,
        Method::Post,
        "/admin/clients",
        Some(
            json!({"client_id": "sec", "client_secret": "s", "grant_types": ["client_credentials"], "jwks": {"keys": [k.public_jwk()]}}),
        ),
    );
    let r = cc(&sign(&k, json!({"iss": "sec", "sub": "sec", "aud": TOKEN_URL, "exp": NOW + 60, "jti": "s-1"})));
    assert_eq!(error_of(&r).1, "invalid_client");
    // Registration refuses symmetric and unknown algorithms.
    for alg in ["HS256", "none", "XX"] {
        let r = admin(
            &l,
            Method::Post,
            "/admin/clients",
            Some(
                json!({"client_id": format!("bad-{alg}"), "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": alg, "jwks": {"keys": [k.public_jwk()]}}),
            ),
        );
        assert_eq!(r.status, 400, "{alg}");
    }
}

/// RFC 7518 §3.3 and §3.5: a client may sign its assertions with each RSA algorithm,
/// PS384 and PS512 included; the signature must be of the algorithm registered.
#[test]
fn private_key_jwt_takes_every_rsa_algorithm() {
    let l = latch();
    let rsa = key(Alg::Rs256, "c-rsa", 12).private_jwk();
    let as_alg = |alg: &str| SigningKey::from_jwk(&patched(rsa.clone(), json!({"alg": alg}))).unwrap();
    for alg in ["RS384", "RS512", "PS256", "PS384", "PS512"] {
        let k = as_alg(alg);
        let id = format!("rsa-{alg}");
        let r = admin(
            &l,
            Method::Post,
            "/admin/clients",
            Some(json!({"client_id": id, "grant_types": ["client_credentials"], "scope": "a",
                        "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": alg,
                        "jwks": {"keys": [k.public_jwk()]}})),
        );
        assert_eq!(r.status, 201, "{alg}: {:?}", r.json_body());
        let claims = json!({"iss": id, "sub": id, "aud": TOKEN_URL, "exp": NOW + 60, "jti": format!("{alg}-1")});
        let pairs = |a: &str| {
            token(
                &l,
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", a),
                ],
            )
        };
        let r = pairs(&sign(&k, claims.clone()));
        assert_eq!(r.status, 200, "{alg}: {:?}", r.json_body());
        // The same key under another PSS algorithm than registered.
        let other = as_alg(if alg == "PS512" { "PS384" } else { "PS512" });
        let r = pairs(&sign(&other, patched(claims, json!({"jti": format!("{alg}-2")}))));
        assert_eq!(error_of(&r).1, "invalid_client", "{alg}");
    }
    let d = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration"))).1;
    let advertised = &d.json_body()["token_endpoint_auth_signing_alg_values_supported"];
    assert!(["PS384", "PS512"].iter().all(|a| advertised.as_array().unwrap().contains(&json!(a))), "{advertised}");
}

/// `jwks_uri` keys are fetched through the host and kept: a second assertion costs no
/// fetch, an unknown `kid` fetches again at most once a minute, and a rotated key is
/// found after that minute.
#[test]
fn jwks_uri_keys_are_fetched_cached_and_refreshed() {
    let l = latch();
    let uri = "https://rp.example/jwks.json";
    let k1 = key(Alg::Rs256, "r-1", 10);
    l.platform.served.borrow_mut().insert(uri.into(), json!({"keys": [k1.public_jwk()]}).to_string());
    let r = admin(
        &l,
        Method::Post,
        "/admin/clients",
        Some(json!({"client_id": "remote", "grant_types": ["client_credentials"],
                    "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": uri})),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let mut n = 0;
    let mut cc = |k: &SigningKey| {
        n += 1;
        let a = sign(
            k,
            json!({"iss": "remote", "sub": "remote", "aud": TOKEN_URL, "exp": l.platform.now() + 60, "jti": format!("u-{n}")}),
        );
        token(
            &l,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &a),
            ],
        )
        .status
    };
    assert_eq!(cc(&k1), 200);
    assert_eq!(cc(&k1), 200);
    assert_eq!(l.platform.fetches.get(), 1, "the set is cached");
    let k2 = key(Alg::Rs256, "r-2", 11);
    l.platform.served.borrow_mut().insert(uri.into(), json!({"keys": [k1.public_jwk(), k2.public_jwk()]}).to_string());
    assert_eq!(cc(&k2), 401, "within the minute the cached set answers");
    assert_eq!(cc(&k2), 401);
    assert_eq!(l.platform.fetches.get(), 1, "an unknown kid does not fetch again within a minute");
    l.platform.fixed.advance(61);
    assert_eq!(cc(&k2), 200, "after a minute the missing key is fetched");
    assert_eq!(l.platform.fetches.get(), 2);
    l.platform.served.borrow_mut().clear();
    l.platform.fixed.advance(3600);
    assert_eq!(cc(&k1), 401, "an unreachable jwks_uri authenticates nobody");
}

/// A compact JWS with HMAC (RFC 7515 §3.1, RFC 7518 §3.2) under `secret`.
fn hmac_jws(alg: &str, secret: &str, claims: Value) -> String {
    use hmac::Mac as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signed =
        format!("{}.{}", b64.encode(json!({"alg": alg, "typ": "JWT"}).to_string()), b64.encode(claims.to_string()));
    let mac = match alg {
        "HS256" => {
            let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            m.update(signed.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        "HS512" => {
            let mut m = hmac::Hmac::<sha2::Sha512>::new_from_slice(secret.as_bytes()).unwrap();
            m.update(signed.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        _ => vec![],
    };
    format!("{signed}.{}", b64.encode(mac))
}

fn secret_jwt_claims(client: &str, jti: &str) -> Value {
    json!({"iss": client, "sub": client, "aud": TOKEN_URL, "exp": NOW + 300, "iat": NOW, "jti": jti})
}

fn with_assertion(l: &L, assertion: &str) -> Response {
    token(
        l,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
    )
}

#[test]
fn client_secret_jwt_authenticates_with_an_hmac_under_the_secret() {
    let l = latch();
    const SECRET: &str = "a-client-secret-of-forty-characters-0123";
    let r = admin(
        &l,
        Method::Post,
        "/admin/clients",
        Some(json!({"client_id": "hs", "client_secret": SECRET, "token_endpoint_auth_method": "client_secret_jwt",
                    "grant_types": ["client_credentials"]})),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let created = r.json_body();
    assert_eq!(created["token_endpoint_auth_signing_alg"], "HS256");
    let shown = admin(&l, Method::Get, "/admin/clients/hs", None).json_body().to_string();
    assert!(!shown.contains("sealed") && !created.to_string().contains("sealed"), "{shown}");

    let ok = with_assertion(&l, &hmac_jws("HS256", SECRET, secret_jwt_claims("hs", "j-1")));
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
    for (what, assertion) in [
        ("replayed", hmac_jws("HS256", SECRET, secret_jwt_claims("hs", "j-1"))),
        (
            "another secret",
            hmac_jws("HS256", "another-secret-of-forty-characters-01234", secret_jwt_claims("hs", "j-2")),
        ),
        ("another algorithm", hmac_jws("HS512", SECRET, secret_jwt_claims("hs", "j-3"))),
        ("no MAC", hmac_jws("none", SECRET, secret_jwt_claims("hs", "j-4"))),
        ("expired", hmac_jws("HS256", SECRET, patched(secret_jwt_claims("hs", "j-5"), json!({"exp": NOW - 1})))),
        (
            "another audience",
            hmac_jws("HS256", SECRET, patched(secret_jwt_claims("hs", "j-6"), json!({"aud": "https://x"}))),
        ),
        ("another issuer", hmac_jws("HS256", SECRET, patched(secret_jwt_claims("hs", "j-7"), json!({"iss": "svc"})))),
    ] {
        let r = with_assertion(&l, &assertion);
        assert_eq!(error_of(&r).1, "invalid_client", "{what}: {:?}", r.json_body());
    }
    // The secret itself is not accepted as a password by this client.
    assert_eq!(error_of(&token(&l, Some(("hs", SECRET)), &[("grant_type", "client_credentials")])).1, "invalid_client");

    // A new secret replaces the sealed one.
    const NEW: &str = "the-new-client-secret-of-forty-chars-0123";
    let r = admin(
        &l,
        Method::Put,
        "/admin/clients/hs",
        Some(json!({"client_id": "hs", "client_secret": NEW, "token_endpoint_auth_method": "client_secret_jwt",
                    "grant_types": ["client_credentials"]})),
    );
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert_eq!(with_assertion(&l, &hmac_jws("HS256", SECRET, secret_jwt_claims("hs", "j-8"))).status, 401);
    assert_eq!(with_assertion(&l, &hmac_jws("HS256", NEW, secret_jwt_claims("hs", "j-9"))).status, 200);
    // An update without a secret keeps it.
    let r = admin(
        &l,
        Method::Put,
        "/admin/clients/hs",
        Some(json!({"client_id": "hs", "client_name": "renamed", "token_endpoint_auth_method": "client_secret_jwt",
                    "grant_types": ["client_credentials"]})),
    );
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert_eq!(with_assertion(&l, &hmac_jws("HS256", NEW, secret_jwt_claims("hs", "j-10"))).status, 200);
}

#[test]
fn client_secret_jwt_needs_a_secret_as_long_as_its_hash() {
    let l = latch();
    let create = |body: Value| admin(&l, Method::Post, "/admin/clients", Some(body));
    let short = create(json!({"client_id": "short", "client_secret": "only-twenty-chars-01",
                              "token_endpoint_auth_method": "client_secret_jwt"}));
    assert_eq!(short.status, 400, "{:?}", short.json_body());
    let short512 = create(json!({"client_id": "s512", "client_secret": "a-client-secret-of-forty-characters-0123",
                                 "token_endpoint_auth_method": "client_secret_jwt", "token_endpoint_auth_signing_alg": "HS512"}));
    assert_eq!(short512.status, 400, "HS512 needs 64 bytes: {:?}", short512.json_body());
    // A generated secret is long enough for every HMAC algorithm.
    let generated = create(json!({"client_id": "gen", "token_endpoint_auth_method": "client_secret_jwt",
                                  "token_endpoint_auth_signing_alg": "HS512", "grant_types": ["client_credentials"]}));
    assert_eq!(generated.status, 201, "{:?}", generated.json_body());
    let secret = generated.json_body()["client_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert_eq!(with_assertion(&l, &hmac_jws("HS512", &secret, secret_jwt_claims("gen", "g-1"))).status, 200);
    // A client whose secret Latch only has hashed cannot switch without a new one.
    assert_eq!(create(json!({"client_id": "basic", "client_secret": "secret"})).status, 201);
    let switch = admin(
        &l,
        Method::Put,
        "/admin/clients/basic",
        Some(json!({"client_id": "basic", "token_endpoint_auth_method": "client_secret_jwt"})),
    );
    assert_eq!(switch.status, 400, "{:?}", switch.json_body());
    // A client of another method (`svc`, client_secret_basic) is not authenticated by an
    // HMAC assertion, whatever key made it.
    bearer_client(&l);
    assert_eq!(with_assertion(&l, &hmac_jws("HS256", "secret", secret_jwt_claims("svc", "p-1"))).status, 401);
}
