//! RFC 9101 / OIDC Core §6: request objects, by value (`request`) and by reference
//! (`request_uri`, only from the client's registered `request_uris`), signed with the
//! client's keys; their parameters win over the query's.

mod support;

use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request, Response};
use latch_core::keys::{Alg, SigningKey};
use latch_core::memory::MemoryStore;
use latch_core::platform::FixedPlatform;
use latch_core::{Latch, Port};
use serde_json::{json, Map, Value};
use support::{query_of, Served, CB, ISSUER, NOW};

type L = Latch<MemoryStore, Served>;

const REQUEST_URI: &str = "https://rp.example/requests/1.jwt";

fn key(seed: u64) -> SigningKey {
    SigningKey::generate(&FixedPlatform::new(0, seed), Alg::Es256, "rp-1").unwrap()
}

fn sign(k: &SigningKey, claims: Value) -> String {
    let claims: Map<String, Value> = claims.as_object().cloned().unwrap();
    block_on(k.sign(&FixedPlatform::new(0, 1), "oauth-authz-req+jwt", &claims)).unwrap()
}

/// A Latch with a login UI and the client `rp` (ES256 request objects, key `rp-1`, one
/// registered request_uri).
fn latch(k: &SigningKey) -> L {
    let mut c = Config::new(ISSUER, b"0123456789abcdef-system-secret");
    c.pbkdf2_iterations = 10;
    c.login_url = "https://login.example/login".into();
    c.consent_url = "https://login.example/consent".into();
    let l = Latch::new(MemoryStore::new(), Served::new(4), c);
    let r = admin(
        &l,
        Method::Post,
        "/admin/clients",
        json!({"client_id": "rp", "client_secret": "secret", "grant_types": ["authorization_code"],
               "response_types": ["code"], "scope": "openid a b", "redirect_uris": [CB, "https://app.example/other"],
               "request_object_signing_alg": "ES256", "request_uris": [REQUEST_URI], "jwks": {"keys": [k.public_jwk()]}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    l
}

fn admin(l: &L, method: Method, path: &str, body: Value) -> Response {
    block_on(l.handle(Port::Admin, Request::new(method, path).json(&body))).1
}

fn authorize(l: &L, query: &str) -> Response {
    block_on(l.handle(Port::Public, Request::new(Method::Get, &format!("/oauth2/auth?{query}")))).1
}

fn location(r: &Response) -> String {
    r.headers.iter().find(|(n, _)| n == "location").map(|(_, v)| v.clone()).unwrap_or_default()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The object a well-behaved client signs.
fn object() -> Value {
    json!({"iss": "rp", "aud": ISSUER, "client_id": "rp", "response_type": "code", "redirect_uri": CB,
           "scope": "openid b", "state": "state-from-object", "nonce": "nonce-from-object", "exp": NOW + 300})
}

/// The login request the authorization request led to.
fn login_request(l: &L, r: &Response) -> Value {
    let to = location(r);
    assert!(to.starts_with("https://login.example/login?"), "not sent to login: {to} {:?}", r.json_body());
    let challenge = query_of(&to)["login_challenge"].clone();
    let path = format!("/admin/oauth2/auth/requests/login?login_challenge={}", enc(&challenge));
    block_on(l.handle(Port::Admin, Request::new(Method::Get, &path))).1.json_body()
}

/// The error a request was answered with at the client's redirect URI.
fn client_error(r: &Response) -> String {
    let to = location(r);
    assert!(to.starts_with(CB), "the error goes to the client: {to} {:?}", r.json_body());
    query_of(&to).get("error").cloned().unwrap_or_default()
}

/// By value: the object's scope and state win over the query's.
#[test]
fn a_signed_request_object_carries_the_request() {
    let k = key(1);
    let l = latch(&k);
    let r = authorize(&l, &format!("client_id=rp&response_type=code&scope=openid&request={}", sign(&k, object())));
    let login = login_request(&l, &r);
    assert_eq!(login["requested_scope"], json!(["openid", "b"]), "{login}");
    assert_eq!(login["client"]["client_id"], "rp");
    // A request object alone (with client_id) is a whole request.
    let r = authorize(&l, &format!("client_id=rp&request={}", sign(&k, object())));
    assert_eq!(login_request(&l, &r)["requested_scope"], json!(["openid", "b"]));
}

/// RFC 7518 §3.5: a client registered for PS512 request objects has them read; one
/// signed PS384 with the same key is refused, and discovery lists both.
#[test]
fn pss_request_objects_are_verified_by_their_algorithm() {
    let l = latch(&key(1));
    let p = FixedPlatform::new(0, 5);
    let rsa = SigningKey::generate(&p, Alg::Ps512, "rp-ps").unwrap();
    let mut ps384 = rsa.private_jwk();
    ps384["alg"] = "PS384".into();
    let ps384 = SigningKey::from_jwk(&ps384).unwrap();
    let r = admin(
        &l,
        Method::Post,
        "/admin/clients",
        json!({"client_id": "ps", "grant_types": ["authorization_code"], "response_types": ["code"],
               "scope": "openid b", "redirect_uris": [CB], "client_secret": "secret",
               "request_object_signing_alg": "PS512", "jwks": {"keys": [rsa.public_jwk()]}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let object = || {
        let mut o = object();
        o["iss"] = "ps".into();
        o["client_id"] = "ps".into();
        o
    };
    let r = authorize(&l, &format!("client_id=ps&request={}", sign(&rsa, object())));
    assert_eq!(login_request(&l, &r)["client"]["client_id"], "ps");
    let r = authorize(
        &l,
        &format!("client_id=ps&response_type=code&redirect_uri={}&request={}", enc(CB), sign(&ps384, object())),
    );
    assert_eq!(client_error(&r), "invalid_request_object");
    let d = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration"))).1;
    let algs = d.json_body()["request_object_signing_alg_values_supported"].clone();
    assert!(algs.as_array().unwrap().contains(&json!("PS384")) && algs.as_array().unwrap().contains(&json!("PS512")));
}

/// Everything that makes an object untrustworthy is `invalid_request_object`, sent to
/// the client's (query's, trusted) redirect URI.
#[test]
fn untrustworthy_objects_are_refused() {
    let k = key(1);
    let l = latch(&k);
    let patched = |patch: Value| {
        let mut o = object();
        for (n, v) in patch.as_object().unwrap() {
            if v.is_null() {
                o.as_object_mut().unwrap().remove(n);
            } else {
                o[n] = v.clone();
            }
        }
        o
    };
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let unsigned = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&object()));
    let other_alg = SigningKey::generate(&FixedPlatform::new(0, 3), Alg::Rs256, "rp-1").unwrap();
    for (jwt, why) in [
        (unsigned, "unsigned"),
        (sign(&key(2), object()), "another key"),
        (sign(&other_alg, object()), "another algorithm"),
        (sign(&k, patched(json!({"client_id": "someone"}))), "another client_id"),
        (sign(&k, patched(json!({"iss": "someone"}))), "another issuer"),
        (sign(&k, patched(json!({"aud": "https://elsewhere.example"}))), "another audience"),
        (sign(&k, patched(json!({"exp": NOW}))), "expired"),
        (sign(&k, patched(json!({"nbf": NOW + 60}))), "not yet valid"),
        (sign(&k, patched(json!({"response_type": "token"}))), "another response_type"),
        (sign(&k, patched(json!({"request_uri": REQUEST_URI}))), "a request_uri inside (RFC 9101 §4)"),
        (sign(&k, patched(json!({"request": "x.y.z"}))), "a request inside (RFC 9101 §4)"),
        ("not-a-jwt".into(), "not a JWT"),
    ] {
        let r =
            authorize(&l, &format!("client_id=rp&response_type=code&redirect_uri={}&request={}", enc(CB), enc(&jwt)));
        assert_eq!(client_error(&r), "invalid_request_object", "{why}");
    }
    // Both ways at once is a malformed request.
    let r = authorize(
        &l,
        &format!(
            "client_id=rp&redirect_uri={}&request={}&request_uri={}",
            enc(CB),
            sign(&k, object()),
            enc(REQUEST_URI)
        ),
    );
    assert_eq!(client_error(&r), "invalid_request");
    // The object's redirect_uri is checked like the query's: an unregistered one is the
    // error page, never a redirect.
    let r = authorize(
        &l,
        &format!("client_id=rp&request={}", sign(&k, patched(json!({"redirect_uri": "https://evil.example/cb"})))),
    );
    let to = location(&r);
    assert!(to.starts_with(&format!("{ISSUER}/oauth2/fallbacks/error?error=invalid_request")), "{to}");
    // Registration refuses unsigned request objects.
    let r = admin(
        &l,
        Method::Post,
        "/admin/clients",
        json!({"client_id": "lax", "redirect_uris": [CB], "request_object_signing_alg": "none"}),
    );
    assert_eq!(r.status, 400);
}

/// By reference: only a registered `request_uri` is fetched; what it serves must verify.
#[test]
fn request_uris_are_fetched_only_when_registered() {
    let k = key(1);
    let l = latch(&k);
    let r = authorize(
        &l,
        &format!("client_id=rp&redirect_uri={}&request_uri={}", enc(CB), enc("https://attacker.example/x")),
    );
    assert_eq!(client_error(&r), "invalid_request_uri");
    assert_eq!(l.platform.fetches.get(), 0, "an unregistered URI is never fetched");
    let r = authorize(&l, &format!("client_id=rp&redirect_uri={}&request_uri={}", enc(CB), enc(REQUEST_URI)));
    assert_eq!(client_error(&r), "invalid_request_uri", "a 404 is no request object");
    l.platform.served.borrow_mut().insert(REQUEST_URI.into(), sign(&k, object()));
    let r = authorize(&l, &format!("client_id=rp&request_uri={}", enc(&format!("{REQUEST_URI}#v2"))));
    assert_eq!(login_request(&l, &r)["requested_scope"], json!(["openid", "b"]));
    l.platform.served.borrow_mut().insert(REQUEST_URI.into(), sign(&key(2), object()));
    let r = authorize(&l, &format!("client_id=rp&redirect_uri={}&request_uri={}", enc(CB), enc(REQUEST_URI)));
    assert_eq!(client_error(&r), "invalid_request_object");
}
