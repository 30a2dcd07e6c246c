//! Hydra's token hooks (`oauth2.token_hook`, `oauth2.refresh_token_hook`) at the token
//! endpoint, over the in-memory store with a fixed clock and a host whose `POST`s are
//! answered from a script (`support::Served`): what the hook is sent, how each answer
//! changes the tokens, and that a failing or denying hook issues nothing. The code and
//! refresh grants with a real hook server are `tests/tests/http_code_flow.rs`'s
//! `token_hooks` cases, on every backend and the Worker.

use base64::Engine as _;
use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request, Response};
use latch_core::memory::MemoryStore;
use latch_core::platform::Platform;
use latch_core::token_hook::{ApiKey, KeyPlace, Webhook};
use latch_core::{Latch, Port};
use serde_json::{json, Value};

mod support;

use support::{Served, ISSUER};

type L = Latch<MemoryStore, Served>;

const HOOK: &str = "http://10.0.0.7:8080/token-hook";

fn latch(change: impl FnOnce(&mut Config)) -> L {
    let mut c = Config::new(ISSUER, b"0123456789abcdef-system-secret");
    c.pbkdf2_iterations = 10;
    c.disallow_private_ip_ranges = true;
    c.token_hook = Some(Webhook {
        url: HOOK.into(),
        api_key: Some(ApiKey { place: KeyPlace::Header, name: "X-Hook-Key".into(), value: "hook-key".into() }),
    });
    change(&mut c);
    let l = Latch::new(MemoryStore::new(), Served::new(7), c);
    block_on(l.ensure_key(latch_core::keys::ACCESS_TOKEN_SET, latch_core::keys::Alg::Es256)).expect("a key");
    let req = Request::new(Method::Post, "/admin/clients").json(&json!({
        "client_id": "svc", "client_secret": "secret", "grant_types": ["client_credentials"],
        "scope": "a b", "audience": ["https://api.example"]
    }));
    assert_eq!(block_on(l.handle(Port::Admin, req)).1.status, 201);
    l
}

fn token(l: &L, pairs: &[(&str, &str)]) -> Response {
    let b = base64::engine::general_purpose::STANDARD.encode("svc:secret");
    let req = Request::new(Method::Post, "/oauth2/token").form(pairs).header("authorization", &format!("Basic {b}"));
    block_on(l.handle(Port::Public, req)).1
}

fn client_credentials(l: &L) -> Response {
    token(l, &[("grant_type", "client_credentials"), ("scope", "a"), ("audience", "https://api.example")])
}

fn introspect(l: &L, t: &str) -> Value {
    let req = Request::new(Method::Post, "/admin/oauth2/introspect").form(&[("token", t)]);
    block_on(l.handle(Port::Admin, req)).1.json_body()
}

fn answer(l: &L, a: Result<(u16, &str), &str>) {
    l.platform.answers.borrow_mut().push_back(a.map(|(s, b)| (s, b.to_string())).map_err(str::to_string));
}

fn posted(l: &L) -> Vec<Value> {
    l.platform.posted.borrow().iter().map(|r| serde_json::from_slice(&r.body).expect("JSON")).collect()
}

#[test]
fn the_hook_is_sent_hydras_request_with_its_key_and_nothing_secret() {
    let l = latch(|_| {});
    let r = client_credentials(&l);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let sent = l.platform.posted.borrow()[0].clone();
    assert_eq!((sent.method, sent.url.as_str()), ("POST", HOOK));
    // The operator's own URL: the private-address rule for clients' URLs does not apply.
    assert!(!sent.public_only);
    let header = |n: &str| sent.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
    assert_eq!(header("x-hook-key"), Some("hook-key"));
    assert_eq!(header("content-type"), Some("application/json; charset=UTF-8"));
    let body = &posted(&l)[0];
    let req = &body["request"];
    assert_eq!(req["client_id"], "svc");
    assert_eq!(req["granted_scopes"], json!(["a"]));
    assert_eq!(req["requested_scopes"], json!(["a"]));
    assert_eq!(req["granted_audience"], json!(["https://api.example"]));
    assert_eq!(req["grant_types"], json!(["client_credentials"]));
    // fosite's allow-list: `audience` (and any secret) is not passed on.
    assert_eq!(req["payload"], json!({"grant_type": ["client_credentials"], "scope": ["a"]}));
    assert_eq!(body["session"]["client_id"], "svc");
    assert_eq!(body["session"]["extra"], json!({}));
    assert_eq!(body["session"]["id_token"]["id_token_claims"]["auth_time"], "0001-01-01T00:00:00Z");
    assert!(!String::from_utf8_lossy(&sent.body).contains("secret"), "no client secret in the hook's request");
}

#[test]
fn a_200_replaces_the_access_tokens_claims_and_a_204_keeps_them() {
    for strategy in ["opaque", "jwt"] {
        let l = latch(|c| {
            if strategy == "jwt" {
                c.access_token_strategy = latch_core::config::AccessTokenStrategy::Jwt;
            }
        });
        answer(&l, Ok((200, r#"{"session": {"access_token": {"tenant": "t-1"}, "id_token": {"x": 1}}}"#)));
        let t = client_credentials(&l).json_body();
        let at = t["access_token"].as_str().unwrap();
        let i = introspect(&l, at);
        assert_eq!((i["active"].clone(), i["ext"].clone()), (json!(true), json!({"tenant": "t-1"})), "{strategy}");
        if strategy == "jwt" {
            let payload = at.split('.').nth(1).unwrap();
            let claims: Value =
                serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
                    .unwrap();
            assert_eq!(claims["ext"], json!({"tenant": "t-1"}));
        }
        answer(&l, Ok((204, "")));
        let t = client_credentials(&l).json_body();
        assert!(introspect(&l, t["access_token"].as_str().unwrap()).get("ext").is_none_or(Value::is_null));
    }
}

#[test]
fn a_denying_or_failing_hook_issues_nothing() {
    let l = latch(|_| {});
    answer(&l, Ok((403, "")));
    let r = client_credentials(&l);
    assert_eq!((r.status, r.json_body()["error"].clone()), (403, json!("access_denied")));
    for bad in [Ok((400, "{}")), Ok((200, "not json")), Ok((200, r#"{"session": {"access_token": "x"}}"#))] {
        answer(&l, bad);
        let r = client_credentials(&l);
        assert_eq!((r.status, r.json_body()["error"].clone()), (500, json!("server_error")), "{bad:?}");
    }
    // Retried after a 5xx or a transport error (1 s, then 2 s later); the third failure
    // ends it.
    let before = l.platform.posted.borrow().len();
    let clock = l.platform.fixed.now();
    answer(&l, Ok((503, "")));
    answer(&l, Err("connection refused"));
    answer(&l, Ok((500, "")));
    let r = client_credentials(&l);
    assert_eq!((r.status, r.json_body()["error"].clone()), (500, json!("server_error")));
    assert_eq!(l.platform.posted.borrow().len() - before, 3);
    assert_eq!(l.platform.fixed.now() - clock, 3, "paused 1 s and 2 s");
    // A retry that succeeds issues the tokens.
    answer(&l, Err("reset"));
    answer(&l, Ok((200, r#"{"session": {"access_token": {"second": true}}}"#)));
    let t = client_credentials(&l).json_body();
    assert_eq!(introspect(&l, t["access_token"].as_str().unwrap())["ext"], json!({"second": true}));
    // 501 is final (go-retryablehttp's policy).
    let before = l.platform.posted.borrow().len();
    answer(&l, Ok((501, "")));
    assert_eq!(client_credentials(&l).status, 500);
    assert_eq!(l.platform.posted.borrow().len() - before, 1);
}

#[test]
fn without_a_hook_nothing_is_called_and_the_refresh_hook_is_for_refreshes_only() {
    let l = latch(|c| c.token_hook = None);
    assert_eq!(client_credentials(&l).status, 200);
    assert_eq!(l.platform.fetches.get(), 0);
    let l = latch(|c| {
        c.refresh_token_hook = c.token_hook.take();
    });
    assert_eq!(client_credentials(&l).status, 200);
    assert_eq!(l.platform.fetches.get(), 0, "the refresh hook is not called for client credentials");
}
