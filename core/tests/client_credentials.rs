//! RFC 6749 §4.4 (client credentials), RFC 7662 (introspection) and RFC 7009
//! (revocation), driven through `Latch::handle` over the in-memory store with a fixed
//! clock and seeded randomness: no IO, no runtime.

use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request, Response};
use latch_core::memory::MemoryStore;
use latch_core::platform::FixedPlatform;
use latch_core::{Latch, Port};
use serde_json::{json, Value};

const NOW: i64 = 1_700_000_000;

fn latch(seed: u64) -> Latch<MemoryStore, FixedPlatform> {
    let mut c = Config::new("https://auth.example", b"0123456789abcdef-system-secret");
    c.pbkdf2_iterations = 10;
    Latch::new(MemoryStore::new(), FixedPlatform::new(NOW, seed), c)
}

fn call(l: &Latch<MemoryStore, FixedPlatform>, port: Port, req: Request) -> Response {
    block_on(l.handle(port, req)).1
}

fn setup(l: &Latch<MemoryStore, FixedPlatform>) {
    let r = call(
        l,
        Port::Admin,
        Request::new(Method::Post, "/admin/clients").json(&json!({
            "client_id": "svc", "client_secret": "secret", "grant_types": ["client_credentials"], "scope": "a b"
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

fn token(l: &Latch<MemoryStore, FixedPlatform>, form: &[(&str, &str)]) -> Response {
    call(
        l,
        Port::Public,
        Request::new(Method::Post, "/oauth2/token").header("authorization", &basic("svc", "secret")).form(form),
    )
}

fn introspect(l: &Latch<MemoryStore, FixedPlatform>, t: &str) -> Value {
    call(l, Port::Admin, Request::new(Method::Post, "/admin/oauth2/introspect").form(&[("token", t)])).json_body()
}

#[test]
fn token_introspect_revoke_expire() {
    let l = latch(1);
    setup(&l);
    let r = token(&l, &[("grant_type", "client_credentials"), ("scope", "a")]);
    assert_eq!(r.status, 200);
    assert!(r.headers.contains(&("cache-control".into(), "no-store".into())), "RFC 6749 §5.1 no-store");
    let t = r.json_body()["access_token"].as_str().unwrap().to_string();
    let i = introspect(&l, &t);
    assert_eq!(i["active"], true);
    assert_eq!(i["exp"], NOW + 3600);
    assert_eq!(i["iat"], NOW);
    assert_eq!(i["iss"], "https://auth.example");

    // Expiry: one second before, active; at exp, inactive.
    l.platform.advance(3599);
    assert_eq!(introspect(&l, &t)["active"], true);
    l.platform.advance(1);
    assert_eq!(introspect(&l, &t), json!({"active": false}));

    // Revocation of a fresh token.
    let t2 =
        token(&l, &[("grant_type", "client_credentials")]).json_body()["access_token"].as_str().unwrap().to_string();
    let r = call(
        &l,
        Port::Public,
        Request::new(Method::Post, "/oauth2/revoke")
            .header("authorization", &basic("svc", "secret"))
            .form(&[("token", &t2)]),
    );
    assert_eq!(r.status, 200);
    assert_eq!(introspect(&l, &t2), json!({"active": false}));
}

#[test]
fn same_seed_same_tokens() {
    let (a, b) = (latch(7), latch(7));
    setup(&a);
    setup(&b);
    let ta = token(&a, &[("grant_type", "client_credentials")]).json_body();
    let tb = token(&b, &[("grant_type", "client_credentials")]).json_body();
    assert_eq!(ta["access_token"], tb["access_token"], "a fixed platform makes every byte reproducible");
    let c = latch(8);
    setup(&c);
    assert_ne!(ta["access_token"], token(&c, &[("grant_type", "client_credentials")]).json_body()["access_token"]);
}

/// (form, `id:secret` for HTTP Basic, status, error).
type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, u16, &'a str);

#[test]
fn token_endpoint_errors_table() {
    let l = latch(3);
    setup(&l);
    // (form, authorization header, status, error)
    let cases: &[Case] = &[
        (&[("grant_type", "client_credentials")], None, 401, "invalid_client"),
        (&[("grant_type", "client_credentials"), ("scope", "c")], Some("svc:secret"), 400, "invalid_scope"),
        (&[("grant_type", "password")], Some("svc:secret"), 400, "unsupported_grant_type"),
        (&[("grant_type", "authorization_code")], Some("svc:secret"), 400, "unauthorized_client"),
        (&[("grant_type", "client_credentials")], Some("svc:wrong"), 401, "invalid_client"),
        (&[("scope", "a")], Some("svc:secret"), 400, "invalid_request"),
    ];
    for (form, auth, status, error) in cases {
        let mut req = Request::new(Method::Post, "/oauth2/token").form(form);
        if let Some(a) = auth {
            let (id, s) = a.split_once(':').unwrap();
            req = req.header("authorization", &basic(id, s));
        }
        let r = call(&l, Port::Public, req);
        assert_eq!((r.status, r.json_body()["error"].as_str().unwrap()), (*status, *error), "{form:?}");
    }
}

/// Every lifespan field of Hydra's client model is accepted and returned, including those
/// of grants Latch does not offer (an SDK or a client copied from Hydra sends them),
/// answered as Go writes durations; an unknown field is ignored, as Hydra ignores it.
#[test]
fn hydra_lifespan_fields_round_trip() {
    let l = latch(3);
    let fields = [
        "client_credentials_grant_access_token_lifespan",
        "implicit_grant_access_token_lifespan",
        "implicit_grant_id_token_lifespan",
        "jwt_bearer_grant_access_token_lifespan",
        "device_authorization_grant_access_token_lifespan",
        "device_authorization_grant_id_token_lifespan",
        "device_authorization_grant_refresh_token_lifespan",
    ];
    let mut body = json!({"client_id": "copied", "client_secret": "secret", "grant_types": ["client_credentials"]});
    for (i, f) in fields.iter().enumerate() {
        body[*f] = json!(format!("{}m", i + 1));
    }
    let r = call(&l, Port::Admin, Request::new(Method::Post, "/admin/clients").json(&body));
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let got = call(&l, Port::Admin, Request::new(Method::Get, "/admin/clients/copied")).json_body();
    for (i, f) in fields.iter().enumerate() {
        assert_eq!(got[*f], json!(format!("{}m0s", i + 1)), "{f}");
    }
    body["client_id"] = json!("typo");
    body["implicit_grant_acess_token_lifespan"] = json!("1h");
    let r = call(&l, Port::Admin, Request::new(Method::Post, "/admin/clients").json(&body));
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    assert!(r.json_body().get("implicit_grant_acess_token_lifespan").is_none());
}

/// The token endpoint's allow-list and its dispatch agree with the grant table: a grant
/// issued by the token endpoint reaches its handler (which asks for its own parameter,
/// or answers), every other grant is `unsupported_grant_type`, before and after client
/// authentication, even for a client that registered it.
#[test]
fn the_token_endpoint_serves_exactly_the_token_endpoint_rows() {
    use latch_core::grants::{self, GrantType, IssuedBy};
    let l = latch(9);
    let all: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
    let r = call(
        &l,
        Port::Admin,
        Request::new(Method::Post, "/admin/clients").json(&json!({
            "client_id": "all", "client_secret": "secret", "grant_types": all, "scope": "a",
            "response_types": ["code", "token"], "redirect_uris": ["https://rp.example/cb"]
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let client: latch_core::client::Client = serde_json::from_value(r.json_body()).expect("a client");
    for g in GrantType::ALL.iter().copied() {
        let req = Request::new(Method::Post, "/oauth2/token")
            .header("authorization", &basic("all", "secret"))
            .form(&[("grant_type", g.as_str())]);
        let params = req.form_params().expect("a form");
        let direct = block_on(grants::handle(g, &l, &client, &params, None));
        let r = call(&l, Port::Public, req);
        let error = r.json_body()["error"].as_str().map(str::to_string);
        if g.issued_by() == IssuedBy::TokenEndpoint {
            assert_ne!(error.as_deref(), Some("unsupported_grant_type"), "{g:?}");
            assert!(
                direct.as_ref().err().map(|e| e.code) != Some(latch_core::ErrorCode::UnsupportedGrantType),
                "{g:?}"
            );
        } else {
            assert_eq!(error.as_deref(), Some("unsupported_grant_type"), "{g:?}: {:?}", r.json_body());
            assert_eq!(direct.err().map(|e| e.code), Some(latch_core::ErrorCode::UnsupportedGrantType), "{g:?}");
        }
    }
    let r = call(&l, Port::Public, Request::new(Method::Post, "/oauth2/token").form(&[("grant_type", "password")]));
    assert_eq!(r.json_body()["error"], "unsupported_grant_type");
}
