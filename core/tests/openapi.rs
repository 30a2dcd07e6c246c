//! The OpenAPI document is served through `Latch::handle` on both ports: at
//! `/openapi.json` on each, and at `/admin/openapi.json` on the admin port.

use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request};
use latch_core::memory::MemoryStore;
use latch_core::platform::FixedPlatform;
use latch_core::{Endpoint, Latch, Port};

#[test]
fn openapi_json_is_served_on_both_ports() {
    let l = Latch::new(
        MemoryStore::new(),
        FixedPlatform::new(1_700_000_000, 1),
        Config::new("https://auth.example", b"0123456789abcdef-system-secret"),
    );
    for (port, path) in
        [(Port::Public, "/openapi.json"), (Port::Admin, "/openapi.json"), (Port::Admin, "/admin/openapi.json")]
    {
        let (endpoint, r) = block_on(l.handle(port, Request::new(Method::Get, path)));
        assert_eq!(endpoint, Some(Endpoint::OpenApi), "{port:?} {path}");
        assert_eq!(r.status, 200, "{port:?} {path}");
        let ct = r.headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v.as_str());
        assert!(ct.is_some_and(|v| v.starts_with("application/json")), "{port:?} {path}: {ct:?}");
        let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("the body is JSON");
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"), "info.version follows the crate version");
        assert!(doc["paths"]["/admin/clients"]["post"].is_object());
    }
    // Only GET (and HEAD): the document is read-only.
    let (_, r) = block_on(l.handle(Port::Public, Request::new(Method::Post, "/openapi.json")));
    assert_eq!(r.status, 405);
    // The public port has no admin paths, the document included.
    let (_, r) = block_on(l.handle(Port::Public, Request::new(Method::Get, "/admin/openapi.json")));
    assert_eq!(r.status, 404);
}

/// The property names a component schema of the served document declares.
fn properties(doc: &serde_json::Value, schema: &str) -> Vec<String> {
    doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {schema} has properties"))
        .keys()
        .cloned()
        .collect()
}

/// Every top-level field of `body` is declared by `schema`.
fn assert_declared(doc: &serde_json::Value, schema: &str, body: &serde_json::Value) {
    let declared = properties(doc, schema);
    let fields = body.as_object().unwrap_or_else(|| panic!("{schema}: the response is an object: {body}"));
    for k in fields.keys() {
        assert!(declared.contains(k), "field '{k}' of a {schema} response is not in the document");
    }
}

#[test]
fn documented_schemas_cover_real_responses() {
    let mut c = Config::new("https://auth.example", b"0123456789abcdef-system-secret");
    c.pbkdf2_iterations = 10;
    let l = Latch::new(MemoryStore::new(), FixedPlatform::new(1_700_000_000, 2), c);
    let call = |port, req| block_on(l.handle(port, req)).1;
    let doc: serde_json::Value = serde_json::from_str(latch_core::openapi::DOCUMENT).expect("the document is JSON");

    let r = call(
        Port::Admin,
        Request::new(Method::Post, "/admin/clients").json(&serde_json::json!({
            "client_id": "svc", "grant_types": ["client_credentials"], "scope": "a",
            "client_credentials_grant_access_token_lifespan": "1h", "metadata": {"k": 1}
        })),
    );
    assert_eq!(r.status, 201);
    assert_declared(&doc, "oAuth2Client", &r.json_body());
    let secret = r.json_body()["client_secret"].as_str().expect("a generated secret").to_string();

    let r = call(Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration"));
    assert_declared(&doc, "oidcConfiguration", &r.json_body());

    let r = call(
        Port::Public,
        Request::new(Method::Post, "/oauth2/token").form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", &secret),
        ]),
    );
    // The client registered client_secret_basic, so the body credentials are refused.
    assert_eq!(r.status, 401);
    assert_declared(&doc, "errorOAuth2", &r.json_body());

    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("svc:{secret}"));
    let r = call(
        Port::Public,
        Request::new(Method::Post, "/oauth2/token")
            .header("authorization", &format!("Basic {basic}"))
            .form(&[("grant_type", "client_credentials"), ("scope", "a")]),
    );
    assert_eq!(r.status, 200);
    assert_declared(&doc, "oAuth2TokenExchange", &r.json_body());
    let at = r.json_body()["access_token"].as_str().expect("an access token").to_string();

    let r = call(Port::Admin, Request::new(Method::Post, "/admin/oauth2/introspect").form(&[("token", &at)]));
    assert_eq!(r.json_body()["active"], true);
    assert_declared(&doc, "introspectedOAuth2Token", &r.json_body());

    let r = call(
        Port::Admin,
        Request::new(Method::Post, "/admin/keys/s").json(&serde_json::json!({"alg": "ES256", "use": "sig"})),
    );
    assert_eq!(r.status, 201);
    for key in r.json_body()["keys"].as_array().expect("keys") {
        assert_declared(&doc, "jsonWebKey", key);
    }
    let r = call(Port::Admin, Request::new(Method::Get, "/admin/version"));
    assert_declared(&doc, "version", &r.json_body());
}

/// The document's enumerations of grants, lifespan fields and client authentication
/// methods are the core's tables (`grants::GrantType`, `client_auth::AuthMethod`), in
/// table order: a row added to a table without the document fails here.
#[test]
fn the_document_enumerates_the_grant_and_auth_method_tables() {
    use latch_core::client_auth::AuthMethod;
    use latch_core::grants::{GrantType, IssuedBy};
    let doc: serde_json::Value = serde_json::from_str(latch_core::openapi::DOCUMENT).expect("the document is JSON");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("an enum: {v}"))
            .iter()
            .map(|s| s.as_str().expect("a string").to_string())
            .collect()
    };
    let token_form = &doc["paths"]["/oauth2/token"]["post"]["requestBody"]["content"]
        ["application/x-www-form-urlencoded"]["schema"]["properties"];
    let at_token_endpoint: Vec<&str> =
        GrantType::ALL.iter().filter(|g| g.issued_by() == IssuedBy::TokenEndpoint).map(|g| g.as_str()).collect();
    assert_eq!(strings(&token_form["grant_type"]["enum"]), at_token_endpoint);
    let client = &doc["components"]["schemas"]["oAuth2Client"]["properties"];
    let all: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
    assert_eq!(strings(&client["grant_types"]["items"]["enum"]), all);
    let methods: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    assert_eq!(strings(&client["token_endpoint_auth_method"]["enum"]), methods);
    let mut documented: Vec<String> =
        properties(&doc, "oAuth2Client").into_iter().filter(|k| k.ends_with("_lifespan")).collect();
    let mut fields: Vec<String> = latch_core::client::lifespan_fields().map(|f| f.name.to_string()).collect();
    documented.sort();
    fields.sort();
    assert_eq!(documented, fields);
}
