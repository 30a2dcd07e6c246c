//! RFC 8693: token exchange. A confidential client trades a token meant for it (an
//! access token issued to it or naming it as audience, its own ID token, a trusted
//! issuer's JWT) for an access token of the same subject, for an audience it may have
//! (`audience`, RFC 8707 `resource`), no wider in scope; `act` names an actor; what is
//! exchanged from an access token dies with that token's grant.

mod support;

use futures_executor::block_on;
use latch_core::keys::{Alg, SigningKey};
use latch_core::platform::FixedPlatform;
use serde_json::{json, Map, Value};
use support::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const IDT: &str = "urn:ietf:params:oauth:token-type:id_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const DOWNSTREAM: &str = "https://downstream.example/v1";

/// `app` (the user's client, may ask for audience `api`) and `api` (a resource server
/// that exchanges what it receives for tokens to `DOWNSTREAM`).
fn setup(seed: u64) -> L {
    let l = latch(seed);
    create_client(
        &l,
        json!({"client_id": "app", "client_secret": "app-secret", "grant_types": ["authorization_code", "refresh_token"],
               "response_types": ["code"], "scope": "openid offline email read", "redirect_uris": [CB], "audience": ["api", "https://api.example"]}),
    );
    create_client(
        &l,
        json!({"client_id": "api", "client_secret": "api-secret", "grant_types": [GRANT, "client_credentials"],
               "scope": "openid read write", "audience": [DOWNSTREAM]}),
    );
    l
}

/// The user's tokens at `app`, the access token naming `api` as audience.
fn users_tokens(l: &L) -> Value {
    let b = Browser::default();
    let at_consent =
        authorize(l, &b, &auth_url_of("app", "openid+offline+read", "&audience=api")).accept_subject("alice", false);
    let granted = json!({"grant_scope": at_consent.request["requested_scope"], "grant_access_token_audience": ["api"]});
    let to = at_consent.accept(granted);
    let r = form(
        l,
        "/oauth2/token",
        Some(("app", "app-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &query_of(&to)["code"]),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    r.json_body()
}

fn exchange(l: &L, client: (&str, &str), pairs: &[(&str, &str)]) -> (u16, Value) {
    let mut all = vec![("grant_type", GRANT)];
    all.extend_from_slice(pairs);
    let r = form(l, "/oauth2/token", Some(client), &all);
    (r.status, r.json_body())
}

fn error(r: &(u16, Value)) -> (u16, &str) {
    (r.0, r.1["error"].as_str().unwrap_or_default())
}

#[test]
fn an_access_token_meant_for_the_client_is_exchanged() {
    let l = setup(1);
    let user = users_tokens(&l);
    let at = user["access_token"].as_str().unwrap();
    let (status, t) = exchange(
        &l,
        ("api", "api-secret"),
        &[("subject_token", at), ("subject_token_type", AT), ("resource", DOWNSTREAM), ("scope", "read")],
    );
    // §2.2.1: the token, its type, and what was issued.
    assert_eq!(status, 200, "{t}");
    assert_eq!((t["issued_token_type"].as_str(), t["token_type"].as_str()), (Some(AT), Some("bearer")));
    assert_eq!(t["scope"], "read");
    assert!(t.get("refresh_token").is_none(), "{t}");
    let i = introspect(&l, t["access_token"].as_str().unwrap());
    assert_eq!(
        (i["active"].clone(), i["sub"].clone(), i["client_id"].clone()),
        (json!(true), json!("alice"), json!("api"))
    );
    assert_eq!(i["aud"], json!([DOWNSTREAM]));
    // Without a scope, the subject token's (within the client's).
    let (_, t) = exchange(&l, ("api", "api-secret"), &[("subject_token", at), ("subject_token_type", AT)]);
    assert_eq!(t["scope"], "openid read", "{t}");
}

#[test]
fn what_is_exchanged_dies_with_the_subject_tokens_grant() {
    let l = setup(2);
    let user = users_tokens(&l);
    let at = user["access_token"].as_str().unwrap();
    let (_, t) = exchange(&l, ("api", "api-secret"), &[("subject_token", at), ("subject_token_type", AT)]);
    let exchanged = t["access_token"].as_str().unwrap().to_string();
    // RFC 7009: the user's client revokes its refresh token; the whole grant ends.
    let r =
        form(&l, "/oauth2/revoke", Some(("app", "app-secret")), &[("token", user["refresh_token"].as_str().unwrap())]);
    assert_eq!(r.status, 200);
    assert_eq!(introspect(&l, &exchanged)["active"], false, "revocation is final for exchanged tokens too");
    let again = exchange(&l, ("api", "api-secret"), &[("subject_token", at), ("subject_token_type", AT)]);
    assert_eq!(error(&again), (400, "invalid_request"));
}

/// Parameters added to an exchange.
type Extra<'a> = &'a [(&'a str, &'a str)];

#[test]
fn only_a_token_meant_for_the_client_is_taken() {
    let l = setup(3);
    create_client(
        &l,
        json!({"client_id": "other", "client_secret": "other-secret", "grant_types": [GRANT], "scope": "openid read"}),
    );
    let user = users_tokens(&l);
    let at = user["access_token"].as_str().unwrap();
    let base = [("subject_token", at), ("subject_token_type", AT)];
    assert_eq!(error(&exchange(&l, ("other", "other-secret"), &base)), (400, "invalid_request"), "not its token");
    let cases: &[(Extra, &str, &str)] = &[
        (&[("scope", "write")], "invalid_scope", "wider than the subject token"),
        (&[("audience", "https://elsewhere.example")], "invalid_request", "an audience the client may not have"),
        (&[("resource", "https://elsewhere.example")], "invalid_target", "a resource the client may not have"),
        (&[("resource", "not a uri")], "invalid_target", "a resource that is no absolute URI"),
        (
            &[("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")],
            "invalid_request",
            "a refresh token",
        ),
        (&[("actor_token", "x")], "invalid_request", "an actor token without its type"),
    ];
    for (extra, code, why) in cases {
        let mut pairs = base.to_vec();
        pairs.extend_from_slice(extra);
        assert_eq!(error(&exchange(&l, ("api", "api-secret"), &pairs)), (400, *code), "{why}");
    }
    for (token, kind, why) in
        [("latch_at_forged.x", AT, "a forged token"), (at, "urn:example:unknown", "an unknown type")]
    {
        let r = exchange(&l, ("api", "api-secret"), &[("subject_token", token), ("subject_token_type", kind)]);
        assert_eq!(error(&r), (400, "invalid_request"), "{why}");
    }
    // A public client may not exchange.
    create_client(
        &l,
        json!({"client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": [GRANT], "scope": "read"}),
    );
    let r = form(
        &l,
        "/oauth2/token",
        None,
        &[("grant_type", GRANT), ("client_id", "spa"), ("subject_token", at), ("subject_token_type", AT)],
    );
    assert_eq!(r.json_body()["error"], "unauthorized_client");
}

#[test]
fn an_actor_is_named_in_act() {
    let l = setup(4);
    let user = users_tokens(&l);
    let r = form(
        &l,
        "/oauth2/token",
        Some(("api", "api-secret")),
        &[("grant_type", "client_credentials"), ("scope", "read")],
    );
    let actor = r.json_body()["access_token"].as_str().unwrap().to_string();
    let (status, t) = exchange(
        &l,
        ("api", "api-secret"),
        &[
            ("subject_token", user["access_token"].as_str().unwrap()),
            ("subject_token_type", AT),
            ("actor_token", &actor),
            ("actor_token_type", AT),
        ],
    );
    assert_eq!(status, 200, "{t}");
    let first = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(introspect(&l, &first)["act"], json!({"sub": "api"}));
    // §4.1: exchanged again with another actor, the chain grows.
    let (_, t) = exchange(
        &l,
        ("api", "api-secret"),
        &[("subject_token", &first), ("subject_token_type", AT), ("actor_token", &actor), ("actor_token_type", AT)],
    );
    let i = introspect(&l, t["access_token"].as_str().unwrap());
    assert_eq!((i["sub"].clone(), i["act"].clone()), (json!("alice"), json!({"sub": "api", "act": {"sub": "api"}})));
}

#[test]
fn an_id_token_of_the_client_is_exchanged() {
    let l = setup(5);
    let user = users_tokens(&l);
    let idt = user["id_token"].as_str().unwrap();
    // The ID token was issued to `app`: `api` may not exchange it, `app` (given the grant) may.
    assert_eq!(
        error(&exchange(&l, ("api", "api-secret"), &[("subject_token", idt), ("subject_token_type", IDT)])),
        (400, "invalid_request")
    );
    let r = admin(&l, latch_core::http::Method::Get, "/admin/clients/app", None).json_body();
    let mut app = r.clone();
    app["grant_types"] = json!(["authorization_code", "refresh_token", GRANT]);
    app["client_secret"] = json!("app-secret");
    assert_eq!(admin(&l, latch_core::http::Method::Put, "/admin/clients/app", Some(app)).status, 200);
    let (status, t) =
        exchange(&l, ("app", "app-secret"), &[("subject_token", idt), ("subject_token_type", IDT), ("scope", "read")]);
    assert_eq!(status, 200, "{t}");
    assert_eq!(introspect(&l, t["access_token"].as_str().unwrap())["sub"], "alice");
}

#[test]
fn a_trusted_issuers_jwt_is_exchanged_once() {
    let l = setup(6);
    let k = SigningKey::generate(&FixedPlatform::new(0, 14), Alg::Es256, "idp-1").unwrap();
    let r = admin(
        &l,
        latch_core::http::Method::Post,
        "/admin/trust/grants/jwt-bearer/issuers",
        Some(
            json!({"issuer": "https://idp.example", "subject": "bob", "scope": ["read"], "jwk": k.public_jwk(), "expires_at": "2030-01-01T00:00:00Z"}),
        ),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let claims: Map<String, Value> =
        json!({"iss": "https://idp.example", "sub": "bob", "aud": format!("{ISSUER}/oauth2/token"),
        "exp": NOW + 300, "iat": NOW, "jti": "j-1"})
        .as_object()
        .unwrap()
        .clone();
    let jwt = block_on(k.sign(&FixedPlatform::new(0, 1), "JWT", &claims)).unwrap();
    let (status, t) = exchange(&l, ("api", "api-secret"), &[("subject_token", &jwt), ("subject_token_type", JWT)]);
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["scope"], "read", "the relationship's scope");
    assert_eq!(introspect(&l, t["access_token"].as_str().unwrap())["sub"], "bob");
    let again = exchange(&l, ("api", "api-secret"), &[("subject_token", &jwt), ("subject_token_type", JWT)]);
    assert_eq!(error(&again), (400, "invalid_request"), "its jti is used once");
}

#[test]
fn discovery_lists_the_grant() {
    let l = setup(7);
    let d = support::handle(
        &l,
        latch_core::Port::Public,
        latch_core::http::Request::new(latch_core::http::Method::Get, "/.well-known/openid-configuration"),
    )
    .json_body();
    assert!(d["grant_types_supported"].as_array().unwrap().iter().any(|g| g == GRANT), "{d}");
}

#[test]
fn resource_indicators_name_the_audience_everywhere() {
    let l = setup(8);
    // RFC 8707 §2.1 at the authorization endpoint: the consent UI sees it as audience.
    let b = Browser::default();
    let at_login = authorize(&l, &b, &auth_url_of("app", "openid", "&resource=https%3A%2F%2Fapi.example"));
    assert_eq!(at_login.request["requested_access_token_audience"], json!(["https://api.example"]));
    let to =
        location(&Browser::default().get(&l, &auth_url_of("app", "openid", "&resource=https%3A%2F%2Fevil.example")));
    assert_eq!(query_of(&to)["error"], "invalid_target", "{to}");
    // §2.2 at the token endpoint (client credentials).
    let r = form(
        &l,
        "/oauth2/token",
        Some(("api", "api-secret")),
        &[("grant_type", "client_credentials"), ("scope", "read"), ("resource", DOWNSTREAM)],
    );
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert_eq!(introspect(&l, r.json_body()["access_token"].as_str().unwrap())["aud"], json!([DOWNSTREAM]));
    // §2: repeated, each one is an audience.
    let users = format!("{DOWNSTREAM}/users");
    let r = form(
        &l,
        "/oauth2/token",
        Some(("api", "api-secret")),
        &[("grant_type", "client_credentials"), ("resource", DOWNSTREAM), ("resource", &users)],
    );
    assert_eq!(introspect(&l, r.json_body()["access_token"].as_str().unwrap())["aud"], json!([DOWNSTREAM, users]));
}
