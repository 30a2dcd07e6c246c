//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), as
//! Hydra offers them, over the in-memory store with a fixed clock.

use latch_core::http::{Method, Request, Response};
use latch_core::Port;
use serde_json::{json, Value};

mod support;

use support::{admin, handle, latch, latch_with, ISSUER, L};

fn open() -> L {
    latch_with(3, |c| c.registration.enabled = true)
}

fn register(l: &L, body: Value) -> Response {
    handle(l, Port::Public, Request::new(Method::Post, "/oauth2/register").json(&body))
}

fn manage(l: &L, method: Method, id: &str, token: Option<&str>, body: Option<Value>) -> Response {
    let mut req = Request::new(method, &format!("/oauth2/register/{id}"));
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    handle(l, Port::Public, req)
}

fn error_of(r: &Response) -> (u16, String) {
    (r.status, r.json_body()["error"].as_str().unwrap_or_default().to_string())
}

fn cc_token(l: &L, id: &str, secret: &str) -> Response {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let req = Request::new(Method::Post, "/oauth2/token")
        .form(&[("grant_type", "client_credentials")])
        .header("authorization", &format!("Basic {basic}"));
    handle(l, Port::Public, req)
}

/// A service registering itself for the client credentials grant.
fn service() -> Value {
    json!({"client_id": "chosen-by-me", "client_name": "svc", "grant_types": ["client_credentials"], "scope": "offline"})
}

#[test]
fn registration_is_off_unless_enabled() {
    let l = latch(3);
    assert_eq!(register(&l, service()).status, 404);
    assert_eq!(manage(&l, Method::Get, "x", Some("latch_rat_x.y"), None).status, 404);
    let d = handle(&l, Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration")).json_body();
    assert!(d.get("registration_endpoint").is_none(), "{d}");
    let d = handle(&open(), Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration")).json_body();
    assert_eq!(d["registration_endpoint"], format!("{ISSUER}/oauth2/register"));
}

#[test]
fn a_registered_client_gets_a_server_chosen_id_secret_and_token() {
    let l = open();
    let r = register(&l, service());
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let c = r.json_body();
    let id = c["client_id"].as_str().unwrap();
    assert_ne!(id, "chosen-by-me", "RFC 7591 §3.2.1: the server issues the id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let secret = c["client_secret"].as_str().expect("a secret for a confidential client");
    let token = c["registration_access_token"].as_str().unwrap();
    assert!(token.starts_with("latch_rat_"), "{token}");
    assert_eq!(c["registration_client_uri"], format!("{ISSUER}/oauth2/register/{id}"));
    assert!(r.headers.iter().any(|(n, v)| n == "location" && v == &format!("{ISSUER}/oauth2/register/{id}")));
    assert!(c.get("registration_access_token_signature").is_none(), "{c}");
    // The secret works at the token endpoint.
    assert_eq!(cc_token(&l, id, secret).status, 200);
    // An empty scope becomes the default scope.
    let c = register(&l, json!({"redirect_uris": ["https://rp.example/cb"]})).json_body();
    assert_eq!(c["scope"], "offline_access offline openid");
    // A public client gets no secret.
    let c = register(&l, json!({"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none"}));
    assert_eq!(c.status, 201);
    assert!(c.json_body().get("client_secret").is_none());
}

#[test]
fn a_registrant_cannot_set_what_only_the_operator_may() {
    let l = open();
    for (extra, want) in [
        (json!({"client_secret": "my-own-secret"}), (400, "invalid_request")),
        (json!({"metadata": {"tier": "gold"}}), (400, "invalid_client_metadata")),
        (json!({"access_token_strategy": "jwt"}), (400, "invalid_request")),
        (json!({"skip_consent": true}), (400, "invalid_request")),
        (json!({"skip_logout_consent": true}), (400, "invalid_request")),
        // The client credentials grant asks no user: no self-chosen scope or audience.
        (json!({"scope": "admin"}), (400, "invalid_client_metadata")),
        (json!({"scope": "openid admin"}), (400, "invalid_client_metadata")),
        (json!({"audience": ["https://internal.example"]}), (400, "invalid_client_metadata")),
        // URLs Latch calls may not name internal addresses.
        (json!({"jwks_uri": "http://169.254.169.254/latest/meta-data"}), (400, "invalid_client_metadata")),
        (json!({"jwks_uri": "https://127.0.0.1:8443/jwks"}), (400, "invalid_client_metadata")),
        (json!({"backchannel_logout_uri": "http://10.0.0.5/logout"}), (400, "invalid_client_metadata")),
        (json!({"request_uris": ["https://[::1]/r.jwt"]}), (400, "invalid_client_metadata")),
        (json!({"sector_identifier_uri": "https://localhost/sector.json"}), (400, "invalid_client_metadata")),
        // The admin API's validation applies too: no script URLs.
        (
            json!({"redirect_uris": ["javascript:alert(1)"], "grant_types": ["authorization_code"]}),
            (400, "invalid_request"),
        ),
    ] {
        let mut body = service();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = register(&l, body.clone());
        assert_eq!(error_of(&r), (want.0, want.1.to_string()), "{body}: {:?}", r.json_body());
    }
    let listed = admin(&l, Method::Get, "/admin/clients", None).json_body();
    assert_eq!(listed, json!([]), "nothing refused was created");
    // A user-facing client may ask for any scope: the user and the consent app judge it.
    let r = register(&l, json!({"scope": "openid admin", "redirect_uris": ["https://rp.example/cb"]}));
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    // Nor can a PUT add a self-chosen scope to a client credentials client.
    let c = register(&l, service()).json_body();
    let r = manage(
        &l,
        Method::Put,
        c["client_id"].as_str().unwrap(),
        c["registration_access_token"].as_str(),
        Some(json!({"grant_types": ["client_credentials"], "scope": "admin"})),
    );
    assert_eq!(error_of(&r), (400, "invalid_client_metadata".into()), "{:?}", r.json_body());
}

#[test]
fn the_registration_token_manages_its_client_only() {
    let l = open();
    let first = register(&l, service()).json_body();
    let other = register(&l, service()).json_body();
    let (id, token) = (first["client_id"].as_str().unwrap(), first["registration_access_token"].as_str().unwrap());
    let secret = first["client_secret"].as_str().unwrap();
    let got = manage(&l, Method::Get, id, Some(token), None);
    assert_eq!(got.status, 200);
    let shown = got.json_body();
    assert_eq!(shown["client_name"], "svc");
    assert!(shown.get("client_secret").is_none() && shown.get("registration_access_token_signature").is_none());
    // Every failure is the same 401: unknown client, another client's token, a forged
    // or missing token.
    let other_token = other["registration_access_token"].as_str().unwrap();
    let forged = format!("{}x", &token[..token.len() - 1]);
    let failures = [
        manage(&l, Method::Get, "no-such-client", Some(token), None),
        manage(&l, Method::Get, id, Some(other_token), None),
        manage(&l, Method::Get, id, Some(&forged), None),
        manage(&l, Method::Get, id, None, None),
        manage(&l, Method::Delete, id, Some(other_token), None),
    ];
    let bodies: Vec<Value> = failures.iter().map(Response::json_body).collect();
    for (r, b) in failures.iter().zip(&bodies) {
        assert_eq!((r.status, b), (401, &bodies[0]), "{b}");
        assert!(r.headers.iter().any(|(n, v)| n == "www-authenticate" && v.starts_with("Bearer")));
    }
    // An access token of the client is no registration token.
    let at = cc_token(&l, id, secret).json_body()["access_token"].as_str().unwrap().to_string();
    assert_eq!(manage(&l, Method::Get, id, Some(&at), None).status, 401);
    assert_eq!(manage(&l, Method::Get, id, Some(&at.replacen("latch_at_", "latch_rat_", 1)), None).status, 401);

    // PUT replaces the metadata and the token; the secret and the operator's metadata stay.
    let patched = admin(
        &l,
        Method::Patch,
        &format!("/admin/clients/{id}"),
        Some(json!([
            {"op": "add", "path": "/metadata", "value": {"tier": "gold"}}
        ])),
    );
    assert_eq!(patched.status, 200, "{:?}", patched.json_body());
    let r = manage(
        &l,
        Method::Put,
        id,
        Some(token),
        Some(json!({"client_name": "renamed", "grant_types": ["client_credentials"], "scope": "offline"})),
    );
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let new_token = r.json_body()["registration_access_token"].as_str().unwrap().to_string();
    assert_ne!(new_token, token);
    assert_eq!(manage(&l, Method::Get, id, Some(token), None).status, 401, "the old token is replaced");
    assert_eq!(manage(&l, Method::Get, id, Some(&new_token), None).json_body()["client_name"], "renamed");
    assert_eq!(cc_token(&l, id, secret).status, 200, "the secret is kept");
    let stored = admin(&l, Method::Get, &format!("/admin/clients/{id}"), None).json_body();
    assert_eq!(stored["metadata"], json!({"tier": "gold"}));
    assert!(stored.get("registration_access_token_signature").is_none(), "{stored}");
    let r = manage(&l, Method::Put, id, Some(&new_token), Some(json!({"client_secret": "mine-now-1234"})));
    assert_eq!(error_of(&r), (403, "access_denied".into()));
    let r = manage(&l, Method::Put, id, Some(&new_token), Some(json!({"skip_consent": true})));
    assert_eq!(r.status, 400);

    // DELETE: the client and its tokens go.
    assert_eq!(manage(&l, Method::Delete, id, Some(&new_token), None).status, 204);
    assert_eq!(manage(&l, Method::Get, id, Some(&new_token), None).status, 401);
    assert_eq!(cc_token(&l, id, secret).status, 401);
}

#[test]
fn an_operator_cannot_plant_a_registration_token() {
    let l = open();
    let r = admin(
        &l,
        Method::Post,
        "/admin/clients",
        Some(json!({"client_id": "planted", "grant_types": ["client_credentials"],
                    "registration_access_token_signature": "chosen", "registration_access_token": "latch_rat_a.b"})),
    );
    assert_eq!(r.status, 201);
    let c = r.json_body();
    assert!(c.get("registration_access_token_signature").is_none());
    // The admin API issues the client's own token (as Hydra), which manages it.
    let token = c["registration_access_token"].as_str().unwrap();
    assert_ne!(token, "latch_rat_a.b");
    assert_eq!(manage(&l, Method::Get, "planted", Some(token), None).status, 200);
    assert_eq!(manage(&l, Method::Get, "planted", Some("latch_rat_a.b"), None).status, 401);
}

#[test]
fn registrations_are_limited_per_address() {
    let l = open();
    let from = |ip: &str| {
        let mut req = Request::new(Method::Post, "/oauth2/register").json(&service());
        req.peer = Some(ip.parse().unwrap());
        handle(&l, Port::Public, req)
    };
    for _ in 0..latch_core::registration::REGISTRATIONS_PER_WINDOW {
        assert_eq!(from("198.51.100.7").status, 201);
    }
    let r = from("198.51.100.7");
    assert_eq!(error_of(&r), (429, "too_many_requests".into()));
    assert_eq!(from("198.51.100.8").status, 201, "another address is not held back");
    l.platform.advance(latch_core::registration::WINDOW_SECONDS);
    assert_eq!(from("198.51.100.7").status, 201, "a new window");
}
