//! The black-box HTTP suite of the foundation: the first half of Hydra's 5-minute
//! tutorial and the admin/public API around it, run against every backend (memory,
//! SQLite, PostgreSQL, MySQL) through the real axum app, and against the Cloudflare
//! Worker under `wrangler dev` (`http_suite_worker`, run by `scripts/edge-test`).
//!
//! On the Worker a few checks do not apply, each marked where it is skipped: Hydra
//! v1's un-prefixed admin paths (`/clients/…`, `/oauth2/introspect`, `/keys/…`,
//! `/health/…` and `/metrics/…` on the admin port), which the Worker does not serve
//! because its one origin would put them beside the public API; Prometheus metrics
//! (served by the native host, not the core); and exact counts over a database the
//! Worker shares with the other suites.

use latch_core::Port;
use latch_tests::http::Harness;
use reqwest::Method;
use serde_json::{json, Value};

/// Client CRUD (Hydra v2 shapes, v1 paths too), pagination, PUT/PATCH/DELETE.
async fn clients_api(h: &Harness) {
    let mine = h.id("my-client");
    let c = h
        .create_client(json!({"client_id": mine, "client_secret": "secret", "grant_types": ["client_credentials"], "client_name": "Mine"}))
        .await;
    assert_eq!(c["client_id"], mine.as_str());
    assert_eq!(c["client_secret"], "secret");
    assert_eq!(c["token_endpoint_auth_method"], "client_secret_basic");
    assert!(c["created_at"].as_str().unwrap().ends_with('Z'));

    // A second create with the same id conflicts.
    let dup = h.admin_json(Method::POST, "/admin/clients", &json!({"client_id": mine})).await;
    assert_eq!(dup.status, 409, "{}", dup.text);
    assert_eq!(dup.json()["error"], "conflict");

    // GET never shows the secret; the v1 path answers the same (natively: the Worker
    // serves the admin API only under /admin/).
    let mut paths = vec![format!("/admin/clients/{mine}")];
    if !h.is_worker() {
        paths.push(format!("/clients/{mine}"));
    }
    for path in paths {
        let g = h.admin_get(&path).await;
        assert_eq!(g.status, 200);
        assert_eq!(g.json()["client_name"], "Mine");
        assert!(g.json().get("client_secret").is_none(), "{path} leaks the secret");
    }
    assert_eq!(h.admin_get(&format!("/admin/clients/{}", h.id("nope"))).await.status, 404);

    // A generated id and secret when none are given.
    let gen = h.create_client(json!({"grant_types": ["client_credentials"]})).await;
    assert_eq!(gen["client_id"].as_str().unwrap().len(), 36);
    assert_eq!(gen["client_secret"].as_str().unwrap().len(), 26);

    // Pagination: page through everything with page_size=2 following Link rel="next".
    for i in 0..4 {
        h.create_client(json!({"client_id": h.id(&format!("page-{i}")), "owner": h.id("pager")})).await;
    }
    let mut seen = Vec::new();
    let mut path = "/admin/clients?page_size=2".to_string();
    loop {
        let r = h.admin_get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json();
        assert!(page.as_array().unwrap().len() <= 2);
        seen.extend(page.as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap().to_string()));
        let link = r.headers.get("link").cloned().unwrap_or_default();
        match link.split(',').find(|l| l.contains("rel=\"next\"")) {
            Some(next) => path = next.trim().trim_start_matches('<').split('>').next().unwrap().to_string(),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "pages come in id order, each client once");
    // This suite's six clients: all there are natively; on the Worker, other suites'
    // clients share the database, and ours are the prefixed ones and the generated one.
    let gen_id = gen["client_id"].as_str().unwrap();
    let ours = seen.iter().filter(|id| id.starts_with(&h.id("")) || id.as_str() == gen_id).count();
    assert_eq!(ours, 6, "{seen:?}");
    let owned = h.admin_get(&format!("/admin/clients?owner={}", h.id("pager"))).await.json();
    assert_eq!(owned.as_array().unwrap().len(), 4);
    assert_eq!(h.admin_get("/admin/clients?page_size=0").await.status, 400);
    assert_eq!(h.admin_get("/admin/clients?page_token=%%%").await.status, 400);

    // PUT replaces and keeps the secret when none is sent.
    let mut body = h.admin_get(&format!("/admin/clients/{mine}")).await.json();
    body["client_name"] = json!("Renamed");
    let put = h.admin_json(Method::PUT, &format!("/admin/clients/{mine}"), &body).await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json()["client_name"], "Renamed");
    h.cc_token(&mine, "secret", &[]).await;
    // As Hydra: the path names the client whatever the body's `client_id` says; JSON
    // null reads as absent and unknown members are ignored (Go's encoding/json).
    let mut elsewhere = body.clone();
    elsewhere["client_id"] = json!(h.id("other"));
    elsewhere["client_uri"] = Value::Null;
    elsewhere["metadata"] = Value::Null;
    elsewhere["from_a_newer_hydra"] = json!({"x": 1});
    elsewhere["client_credentials_grant_access_token_lifespan"] = json!("90m");
    let put = h.admin_json(Method::PUT, &format!("/admin/clients/{mine}"), &elsewhere).await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json()["client_id"], mine.as_str());
    assert_eq!(put.json()["client_credentials_grant_access_token_lifespan"], "1h30m0s");
    assert!(put.json().get("from_a_newer_hydra").is_none());
    assert_eq!(h.admin_get(&format!("/admin/clients/{}", h.id("other"))).await.status, 404);
    h.cc_token(&mine, "secret", &[]).await;
    // A page larger than Hydra's largest is answered at the largest (500), not refused.
    let big = h.admin_get("/admin/clients?page_size=1000").await;
    assert_eq!(big.status, 200, "{}", big.text);
    let link = big.headers.get("link").cloned().unwrap_or_default();
    assert!(link.contains("page_size=500"), "{link}");
    // RFC 9110 §15.5.6: a method the resource lacks is 405 with `Allow`.
    let wrong = h.admin_json(Method::POST, &format!("/admin/clients/{mine}"), &json!({})).await;
    assert_eq!(wrong.status, 405, "{}", wrong.text);
    assert_eq!(wrong.headers.get("allow").map(String::as_str), Some("GET, HEAD, PUT, PATCH, DELETE"));

    // PATCH (RFC 6902), and client_id cannot be patched.
    let p = h
        .admin_json(
            Method::PATCH,
            &format!("/admin/clients/{mine}"),
            &json!([{"op": "replace", "path": "/client_name", "value": "Patched"}]),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.json()["client_name"], "Patched");
    let p = h
        .admin_json(
            Method::PATCH,
            &format!("/admin/clients/{mine}"),
            &json!([{"op": "replace", "path": "/client_id", "value": "x"}]),
        )
        .await;
    assert_eq!(p.status, 400);
    let p = h
        .admin_json(
            Method::PATCH,
            &format!("/admin/clients/{mine}"),
            &json!([{"op": "replace", "path": "/grant_types", "value": ["bogus"]}]),
        )
        .await;
    assert_eq!(p.status, 400);

    // DELETE: 204 then 404.
    let page0 = format!("/admin/clients/{}", h.id("page-0"));
    assert_eq!(h.admin_delete(&page0).await.status, 204);
    assert_eq!(h.admin_delete(&page0).await.status, 404);
}

/// The tutorial: client credentials, introspection, revocation.
async fn client_credentials_and_introspection(h: &Harness) {
    let ids = [h.id("cc"), h.id("other"), h.id("poster")];
    let [cc, other, poster] = [ids[0].as_str(), ids[1].as_str(), ids[2].as_str()];
    h.create_client(json!({"client_id": cc, "client_secret": "secret", "grant_types": ["client_credentials"], "scope": "read write photos.*", "audience": ["https://api.example/v1"]}))
        .await;
    let t =
        h.cc_token(cc, "secret", &[("scope", "read photos.view"), ("audience", "https://api.example/v1/users")]).await;
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["scope"], "read photos.view");
    assert_eq!(t["expires_in"], 3600);
    assert!(t.get("refresh_token").is_none());
    let token = t["access_token"].as_str().unwrap();
    assert!(token.starts_with("latch_at_"));

    let i = h.introspect(token).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], cc);
    assert_eq!(i["sub"], cc);
    assert_eq!(i["scope"], "read photos.view");
    assert_eq!(i["token_type"], "Bearer");
    assert_eq!(i["token_use"], "access_token");
    assert_eq!(i["iss"], h.public);
    assert_eq!(i["aud"], json!(["https://api.example/v1/users"]));
    assert!(i["exp"].as_i64().unwrap() > i["iat"].as_i64().unwrap());
    // The v1 path (not on the Worker: un-prefixed admin paths would share the public
    // API's origin), and a scope check the token does not cover.
    if !h.is_worker() {
        let v1 = h.admin_form("/oauth2/introspect", &[("token", token)]).await;
        assert_eq!(v1.json()["active"], true);
    }
    let narrower = h.admin_form("/admin/oauth2/introspect", &[("token", token), ("scope", "write")]).await;
    assert_eq!(narrower.json(), json!({"active": false}));

    // client_secret_post is refused for a client_secret_basic client.
    let post = h
        .public_form(
            "/oauth2/token",
            None,
            &[("grant_type", "client_credentials"), ("client_id", cc), ("client_secret", "secret")],
        )
        .await;
    assert_eq!(post.status, 401);
    assert_eq!(post.json()["error"], "invalid_client");

    // Forged and unknown tokens are inactive.
    let forged = format!("{}x", token);
    assert_eq!(h.introspect(&forged).await, json!({"active": false}));
    assert_eq!(h.introspect("latch_at_abc.def").await, json!({"active": false}));
    assert_eq!(h.introspect("not-a-token").await, json!({"active": false}));

    // Revocation (RFC 7009): another client may not revoke it; the owner may, once or twice.
    h.create_client(json!({"client_id": other, "client_secret": "secret2", "grant_types": ["client_credentials"]}))
        .await;
    let r = h.public_form("/oauth2/revoke", Some((other, "secret2")), &[("token", token)]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "unauthorized_client");
    assert_eq!(h.introspect(token).await["active"], true);
    let r = h.public_form("/oauth2/revoke", Some((cc, "secret")), &[("token", token)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(h.introspect(token).await, json!({"active": false}));
    let r = h.public_form("/oauth2/revoke", Some((cc, "secret")), &[("token", token)]).await;
    assert_eq!(r.status, 200);
    let r = h.public_form("/oauth2/revoke", Some((cc, "secret")), &[("token", "garbage")]).await;
    assert_eq!(r.status, 200, "unknown tokens are answered 200 (RFC 7009 §2.2)");

    // client_secret_post works for a client registered for it.
    h.create_client(json!({"client_id": poster, "client_secret": "secret3", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"})).await;
    let post = h
        .public_form(
            "/oauth2/token",
            None,
            &[("grant_type", "client_credentials"), ("client_id", poster), ("client_secret", "secret3")],
        )
        .await;
    assert_eq!(post.status, 200, "{}", post.text);

    // DELETE /admin/oauth2/tokens?client_id= kills every access token of a client.
    let t1 = h.cc_token(cc, "secret", &[]).await["access_token"].as_str().unwrap().to_string();
    let t2 = h.cc_token(cc, "secret", &[]).await["access_token"].as_str().unwrap().to_string();
    let keep = h.cc_token(other, "secret2", &[]).await["access_token"].as_str().unwrap().to_string();
    assert_eq!(h.admin_delete(&format!("/admin/oauth2/tokens?client_id={cc}")).await.status, 204);
    assert_eq!(h.introspect(&t1).await["active"], false);
    assert_eq!(h.introspect(&t2).await["active"], false);
    assert_eq!(h.introspect(&keep).await["active"], true);
}

/// (form, HTTP Basic credentials, status, error).
type TokenCase<'a> = (Vec<(&'a str, &'a str)>, Option<(&'a str, &'a str)>, u16, &'a str);

/// Every bad input gets a clear 4xx in RFC 6749 JSON.
async fn errors_are_clear(h: &Harness) {
    let ids = [h.id("e"), h.id("code-only")];
    let [e, code_only] = [ids[0].as_str(), ids[1].as_str()];
    h.create_client(
        json!({"client_id": e, "client_secret": "secret", "grant_types": ["client_credentials"], "scope": "read"}),
    )
    .await;
    let cases: Vec<TokenCase> = vec![
        (vec![], Some((e, "secret")), 400, "invalid_request"),
        (vec![("grant_type", "password")], Some((e, "secret")), 400, "unsupported_grant_type"),
        (vec![("grant_type", "client_credentials")], Some((e, "wrong")), 401, "invalid_client"),
        (vec![("grant_type", "client_credentials")], Some(("nobody", "secret")), 401, "invalid_client"),
        (vec![("grant_type", "client_credentials")], None, 401, "invalid_client"),
        (vec![("grant_type", "client_credentials"), ("scope", "admin")], Some((e, "secret")), 400, "invalid_scope"),
        (
            vec![("grant_type", "client_credentials"), ("audience", "https://elsewhere")],
            Some((e, "secret")),
            400,
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("client_secret", "secret")],
            Some((e, "secret")),
            400,
            "invalid_request",
        ),
    ];
    for (form, basic, status, error) in cases {
        let r = h.public_form("/oauth2/token", basic, &form).await;
        assert_eq!(r.status, status, "{form:?}: {}", r.text);
        assert_eq!(r.json()["error"], error, "{form:?}: {}", r.text);
        assert!(r.json()["error_description"].as_str().is_some_and(|d| !d.is_empty()));
        if status == 401 {
            assert!(r.headers.contains_key("www-authenticate"));
        }
    }
    // A client without the grant type.
    h.create_client(json!({"client_id": code_only, "client_secret": "secret"})).await;
    let r = h.public_form("/oauth2/token", Some((code_only, "secret")), &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.json()["error"], "unauthorized_client");

    // Duplicate parameters, wrong media type, oversized body, malformed JSON, unknown fields.
    let r = h
        .raw(
            Port::Public,
            Method::POST,
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&grant_type=client_credentials",
        )
        .await;
    assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_request")));
    let r = h
        .raw(Port::Public, Method::POST, "/oauth2/token", "application/json", r#"{"grant_type":"client_credentials"}"#)
        .await;
    assert_eq!(r.status, 415);
    let r = h
        .raw(
            Port::Public,
            Method::POST,
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            "a=".to_string() + &"x".repeat(200_000),
        )
        .await;
    assert_eq!(r.status, 413);
    let r = h.raw(Port::Admin, Method::POST, "/admin/clients", "application/json", "{not json").await;
    assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_request")));
    // An unknown member is ignored, as Hydra ignores it; a `jwks` that is no JWK Set is not.
    let r = h.admin_json(Method::POST, "/admin/clients", &json!({"client_id": h.id("u"), "no_such_field": true})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = h.admin_json(Method::POST, "/admin/clients", &json!({"jwks": [null, null]})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = h.admin_json(Method::POST, "/admin/clients", &json!({"redirect_uris": ["http://evil.example/cb#x"]})).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error_description"].as_str().unwrap().contains("redirect_uris"));
    let r = h.admin_json(Method::POST, "/admin/clients", &json!(["not", "an", "object"])).await;
    assert_eq!(r.status, 400);
    let r = h.admin_form("/admin/oauth2/introspect", &[]).await;
    assert_eq!(r.status, 400);
    // Unknown paths and wrong methods.
    let r = h.public_get("/nope").await;
    assert_eq!((r.status, r.json()["error"].clone()), (404, json!("not_found")));
    let r = h.public_get("/oauth2/token").await;
    assert_eq!(r.status, 405);
    if h.is_worker() {
        // One origin: the admin API is there, but refused without the bearer token.
        let r = h.public_get("/admin/clients").await;
        assert_eq!((r.status, r.json()["error"].clone()), (401, json!("unauthorized")), "{}", r.text);
        assert!(r.headers["www-authenticate"].starts_with("Bearer"));
    } else {
        assert_eq!(h.public_get("/admin/clients").await.status, 404, "the admin API is not on the public port");
    }
}

/// Keys, JWKS, JWT access tokens, discovery, health, version, metrics.
async fn keys_discovery_and_ops(h: &Harness) {
    // The default sets exist from start-up and are published.
    let jwks = h.public_get("/.well-known/jwks.json").await.json();
    let keys = jwks["keys"].as_array().unwrap();
    if h.is_worker() {
        // Other suites on the same Worker may have added keys to the well-known sets.
        assert!(keys.len() >= 2 && keys.iter().all(|k| k.get("d").is_none()), "{jwks}");
        assert!(keys.iter().filter(|k| k["kty"] == "RSA").count() >= 2, "{jwks}");
    } else {
        assert_eq!(keys.len(), 2, "{jwks}");
        assert!(keys.iter().all(|k| k.get("d").is_none() && k["kty"] == "RSA"));
    }

    // Generate keys; the set lists them; private parts only on the admin API.
    let set_path = format!("/admin/keys/{}", h.id("my-set"));
    for alg in ["ES256", "EdDSA"] {
        let r = h.admin_json(Method::POST, &set_path, &json!({"alg": alg, "use": "sig"})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json()["keys"][0]["alg"], alg);
        assert!(r.json()["keys"][0].get("d").is_some());
    }
    let set = h.admin_get(&set_path).await.json();
    assert_eq!(set["keys"].as_array().unwrap().len(), 2);
    let kid = set["keys"][0]["kid"].as_str().unwrap().to_string();
    assert_eq!(h.admin_get(&format!("{set_path}/{kid}")).await.status, 200);
    assert_eq!(h.admin_json(Method::POST, &set_path, &json!({"alg": "HS999"})).await.status, 400);
    assert_eq!(h.admin_json(Method::POST, &set_path, &json!({"alg": "ES256", "kid": kid})).await.status, 409);

    // PUT (Hydra's setJsonWebKeySet / setJsonWebKey): the generated set, sent back to
    // another set, is stored as sent, the first key signing; bad keys are refused whole.
    let copy_path = format!("/admin/keys/{}", h.id("copied-set"));
    let r = h.admin_json(Method::PUT, &copy_path, &set).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let copied = h.admin_get(&copy_path).await.json();
    let kids = |v: &Value| v["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect::<Vec<_>>();
    assert_eq!(kids(&copied), kids(&set), "the same keys, in the same order (newest first)");
    assert_eq!(copied["keys"][0]["d"], set["keys"][0]["d"], "private parts are kept");
    // Replacing with the second key alone drops the first.
    let second = set["keys"][1].clone();
    let r = h.admin_json(Method::PUT, &copy_path, &json!({"keys": [second.clone()]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(kids(&h.admin_get(&copy_path).await.json()), vec![second["kid"].clone()]);
    // One key by kid: it joins the set and becomes the newest.
    let first = set["keys"][0].clone();
    let r = h.admin_json(Method::PUT, &format!("{copy_path}/{kid}"), &first).await;
    assert_eq!((r.status, r.json()["kid"].clone()), (200, json!(kid)), "{}", r.text);
    assert_eq!(kids(&h.admin_get(&copy_path).await.json()), vec![first["kid"].clone(), second["kid"].clone()]);
    let mut public = first.clone();
    public.as_object_mut().unwrap().remove("d");
    let mut no_kid = first.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut bad_alg = first.clone();
    bad_alg["alg"] = json!("HS256");
    for (what, body) in [
        ("a public key", json!({"keys": [public.clone()]})),
        ("no kid", json!({"keys": [no_kid]})),
        ("an unsupported alg", json!({"keys": [bad_alg]})),
        ("the same kid twice", json!({"keys": [first.clone(), first.clone()]})),
        ("no keys", json!({"keys": []})),
        ("not a set", json!({"kid": "x"})),
    ] {
        let r = h.admin_json(Method::PUT, &copy_path, &body).await;
        assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_request")), "{what}: {}", r.text);
    }
    let r = h.admin_json(Method::PUT, &format!("{copy_path}/another-kid"), &first).await;
    assert_eq!(r.status, 400, "a kid differing from the path: {}", r.text);
    assert_eq!(kids(&h.admin_get(&copy_path).await.json()).len(), 2, "refused PUTs changed nothing");
    assert_eq!(h.admin_delete(&copy_path).await.status, 204);

    assert_eq!(h.admin_delete(&format!("{set_path}/{kid}")).await.status, 204);
    // The v1 path deletes the set (natively; the Worker serves admin paths only under /admin/).
    let v1_set = if h.is_worker() { set_path.clone() } else { format!("/keys/{}", h.id("my-set")) };
    assert_eq!(h.admin_delete(&v1_set).await.status, 204);
    assert_eq!(h.admin_get(&set_path).await.status, 404);

    // A JWT-strategy client gets a JWT that verifies against the published JWKS.
    let jwt_client = h.id("jwt");
    let jwt_client = jwt_client.as_str();
    h.create_client(json!({"client_id": jwt_client, "client_secret": "secret", "grant_types": ["client_credentials"], "access_token_strategy": "jwt", "scope": "read"})).await;
    let t = h.cc_token(jwt_client, "secret", &[("scope", "read")]).await;
    let jwt = t["access_token"].as_str().unwrap();
    assert_eq!(jwt.split('.').count(), 3);
    let verified = keys.iter().find_map(|k| latch_core::keys::verify_jws(k, jwt)).expect("verifies against JWKS");
    assert_eq!(verified["client_id"], jwt_client);
    assert_eq!(verified["scp"], json!(["read"]));
    assert_eq!(verified["iss"], h.public);
    let i = h.introspect(jwt).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], jwt_client);
    let r = h.public_form("/oauth2/revoke", Some((jwt_client, "secret")), &[("token", jwt)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(h.introspect(jwt).await["active"], false);

    // Discovery on both well-known paths.
    for p in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let d = h.public_get(p).await.json();
        assert_eq!(d["issuer"], h.public);
        assert_eq!(d["token_endpoint"], format!("{}/oauth2/token", h.public));
        assert_eq!(d["jwks_uri"], format!("{}/.well-known/jwks.json", h.public));
    }
    // Health, version, metrics.
    assert_eq!(h.public_get("/health/alive").await.json(), json!({"status": "ok"}));
    assert_eq!(h.public_get("/health/ready").await.json(), json!({"status": "ok"}));
    assert_eq!(h.admin_get("/admin/health/ready").await.status, 200);
    assert!(h.admin_get("/admin/version").await.json()["version"].is_string());
    if h.is_worker() {
        // Metrics are the host's (the native server's Prometheus registry); a Worker has
        // no process to count in, and Cloudflare's analytics take their place.
        let m = h.admin_get("/admin/metrics/prometheus").await;
        assert_eq!((m.status, m.json()["error"].clone()), (404, json!("not_found")), "{}", m.text);
        return;
    }
    // The admin port's un-prefixed paths (Hydra v1), natively only.
    assert_eq!(h.admin_get("/health/alive").await.status, 200);
    let m = h.admin_get("/admin/metrics/prometheus").await;
    assert_eq!(m.status, 200);
    assert!(
        m.text.contains("http_requests_total{code=\"200\",endpoint=\"/oauth2/token\",method=\"POST\"}"),
        "{}",
        m.text
    );
    assert!(m.text.contains("http_requests_duration_seconds_bucket"));
    assert_eq!(h.admin_get("/metrics/prometheus").await.status, 200);
}

/// Twenty parallel revocations of one token: all answered 200, token inactive after.
async fn parallel_revocations(h: &Harness) {
    let race = h.id("race");
    let race = race.as_str();
    h.create_client(json!({"client_id": race, "client_secret": "secret", "grant_types": ["client_credentials"]})).await;
    let token = h.cc_token(race, "secret", &[]).await["access_token"].as_str().unwrap().to_string();
    let form = [("token", token.as_str())];
    let replies =
        futures::future::join_all((0..20).map(|_| h.public_form("/oauth2/revoke", Some((race, "secret")), &form)))
            .await;
    assert!(replies.iter().all(|r| r.status == 200), "{replies:?}");
    assert_eq!(h.introspect(&token).await, json!({"active": false}));
    // And twenty parallel token requests each get a distinct, active token.
    let tokens: Vec<Value> = futures::future::join_all((0..20).map(|_| h.cc_token(race, "secret", &[]))).await;
    let mut set: Vec<&str> = tokens.iter().map(|t| t["access_token"].as_str().unwrap()).collect();
    set.sort();
    set.dedup();
    assert_eq!(set.len(), 20);
    assert_eq!(h.introspect(set[7]).await["active"], true);
}

/// Revocation takes effect at once, however warm the caches: a token introspected
/// (and so read through every cache there is: on the Worker, KV may hold read-mostly
/// data, never anything revocable) is inactive on the very next introspection after
/// `/oauth2/revoke`, for an opaque and a JWT access token alike. No sleep, no retry.
async fn revoked_token_is_inactive_at_once(h: &Harness) {
    for strategy in ["opaque", "jwt"] {
        let id = h.id(&format!("warm-{strategy}"));
        h.create_client(json!({"client_id": id, "client_secret": "secret", "grant_types": ["client_credentials"], "access_token_strategy": strategy}))
            .await;
        let token = h.cc_token(&id, "secret", &[]).await["access_token"].as_str().unwrap().to_string();
        // Warm: several introspections, every one active.
        for _ in 0..3 {
            let i = h.introspect(&token).await;
            assert_eq!((i["active"].clone(), i["client_id"].clone()), (json!(true), json!(id)), "{strategy}: {i}");
        }
        let r = h.public_form("/oauth2/revoke", Some((&id, "secret")), &[("token", &token)]).await;
        assert_eq!(r.status, 200, "{strategy}: {}", r.text);
        assert_eq!(h.introspect(&token).await, json!({"active": false}), "{strategy}: active right after revocation");
        // And it stays inactive (no cache brings it back).
        assert_eq!(h.introspect(&token).await, json!({"active": false}), "{strategy}");
    }
}

/// `PUT /admin/clients/{id}/lifespans` (Hydra's setOAuth2ClientLifespans): the lifespans
/// replace the client's and take effect on the next token.
async fn client_lifespans(h: &Harness) {
    let id = h.id("lifespans");
    h.create_client(json!({"client_id": id, "client_secret": "secret", "grant_types": ["client_credentials"]})).await;
    let path = format!("/admin/clients/{id}/lifespans");
    let r = h.admin_json(Method::PUT, &path, &json!({"client_credentials_grant_access_token_lifespan": "1m30s"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.json()["client_id"].clone(), r.json()["client_credentials_grant_access_token_lifespan"].clone()),
        (json!(id), json!("1m30s"))
    );
    assert_eq!(h.cc_token(&id, "secret", &[]).await["expires_in"], 90, "the client's lifespan applies at once");
    // Every lifespan is replaced: an empty body goes back to the server's default.
    let r = h.admin_json(Method::PUT, &path, &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json().get("client_credentials_grant_access_token_lifespan").is_none(), "{}", r.text);
    assert_eq!(h.cc_token(&id, "secret", &[]).await["expires_in"], 3600);
    for (what, body) in [
        ("not a duration", json!({"client_credentials_grant_access_token_lifespan": "soon"})),
        ("not a lifespan", json!({"client_secret": "x"})),
        ("not an object", json!(["1h"])),
    ] {
        let r = h.admin_json(Method::PUT, &path, &body).await;
        assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_request")), "{what}: {}", r.text);
    }
    let r = h.admin_json(Method::PUT, &format!("/admin/clients/{}/lifespans", h.id("nobody")), &json!({})).await;
    assert_eq!(r.status, 404, "{}", r.text);
    // A bad duration is refused at creation too (it used to fall back to the default silently).
    let r = h
        .admin_json(
            Method::POST,
            "/admin/clients",
            &json!({"client_id": h.id("bad-lifespan"), "refresh_token_grant_refresh_token_lifespan": "forever"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

/// The origin the suite's servers allow on the public port (`SERVE_PUBLIC_CORS_*`, set
/// by [`whole_suite`] and by `scripts/edge-test` for the Worker).
pub const CORS_ORIGIN: &str = "https://spa.cors.test";

/// CORS (Hydra's `serve.public.cors.*` and per-client `allowed_cors_origins`): the same
/// answers natively and on the Worker. The browser's side is `tests/browser/cors.mjs`.
async fn cors(h: &Harness) {
    let acao = |r: &latch_tests::http::Reply| r.headers.get("access-control-allow-origin").cloned();
    let preflight = |origin: &str| {
        h.http
            .request(Method::OPTIONS, format!("{}/oauth2/token", h.public))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization")
    };
    let r = h.send(preflight(CORS_ORIGIN)).await;
    assert_eq!((r.status, acao(&r).as_deref()), (204, Some(CORS_ORIGIN)), "{:?}", r.headers);
    let r = h.send(preflight("https://evil.cors.test")).await;
    assert_eq!((r.status, acao(&r)), (204, None), "{:?}", r.headers);
    let r = h.send(h.http.get(format!("{}/.well-known/jwks.json", h.public)).header("origin", CORS_ORIGIN)).await;
    assert_eq!(acao(&r).as_deref(), Some(CORS_ORIGIN));
    // A client's own origin opens the token endpoint's answers to requests naming it.
    let own = "https://own.cors.test";
    let id = h.id("cors-spa");
    h.create_client(json!({"client_id": id, "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
                           "redirect_uris": ["https://own.cors.test/cb"], "allowed_cors_origins": [own]}))
        .await;
    let token = |origin: &str| {
        h.http.post(format!("{}/oauth2/token", h.public)).header("origin", origin).form(&[
            ("grant_type", "refresh_token"),
            ("client_id", id.as_str()),
            ("refresh_token", "nope"),
        ])
    };
    let r = h.send(token(own)).await;
    assert_eq!((r.status, acao(&r).as_deref()), (400, Some(own)), "{}", r.text);
    let r = h.send(token("https://evil.cors.test")).await;
    assert_eq!(acao(&r), None);
    assert_eq!(h.admin_delete(&format!("/admin/clients/{id}")).await.status, 204);
    // Never on the authorization endpoint, whatever the origin.
    let r = h.send(h.http.get(format!("{}/oauth2/auth?client_id={id}", h.public)).header("origin", CORS_ORIGIN)).await;
    assert_eq!(acao(&r), None, "{:?}", r.headers);
}

/// A key of the test's own, signing JWTs (ES256; seeded, so each run signs alike).
fn test_key(kid: &str, seed: u64) -> latch_core::keys::SigningKey {
    latch_core::keys::SigningKey::generate(
        &latch_core::platform::FixedPlatform::new(0, seed),
        latch_core::keys::Alg::Es256,
        kid,
    )
    .expect("key")
}

fn signed(k: &latch_core::keys::SigningKey, claims: Value) -> String {
    let claims = claims.as_object().cloned().expect("claims");
    futures::executor::block_on(k.sign(&latch_core::platform::FixedPlatform::new(0, 1), "JWT", &claims)).expect("sign")
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// RFC 7523 on the wire: a trust relationship through the admin API, the JWT-bearer
/// grant (once per jti), and `private_key_jwt` client authentication at the token and
/// revocation endpoints (once per jti), with every backend's replay memory.
async fn jwt_assertions(h: &Harness) {
    const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    const ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    let discovery = h.public_get("/.well-known/openid-configuration").await.json();
    let token_url = discovery["token_endpoint"].as_str().expect("token_endpoint").to_string();
    assert!(discovery["grant_types_supported"].as_array().unwrap().iter().any(|g| g == JWT_BEARER));
    assert!(discovery["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "private_key_jwt"));

    // The issuer and its subject are this harness's own (the Worker's D1 is shared).
    let issuer = format!("https://{}idp.example", h.id(""));
    let idp = test_key(&h.id("idp-key"), 21);
    let trust = h
        .admin_json(
            Method::POST,
            "/admin/trust/grants/jwt-bearer/issuers",
            &json!({"issuer": issuer, "subject": "alice", "scope": ["read"], "jwk": idp.public_jwk(),
                    "expires_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(trust.status, 201, "{}", trust.text);
    let trust_id = trust.json()["id"].as_str().unwrap().to_string();
    let listed = h.admin_get(&format!("/admin/trust/grants/jwt-bearer/issuers?issuer={issuer}")).await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let svc = h.id("bearer-svc");
    h.create_client(
        json!({"client_id": svc, "client_secret": "secret", "grant_types": [JWT_BEARER], "scope": "read write"}),
    )
    .await;
    let now = unix_now();
    let jti = h.id("jti-1");
    let assertion = signed(
        &idp,
        json!({"iss": issuer, "sub": "alice", "aud": token_url, "iat": now, "exp": now + 300, "jti": jti}),
    );
    let form = [("grant_type", JWT_BEARER), ("assertion", assertion.as_str()), ("scope", "read")];
    let r = h.public_form("/oauth2/token", Some((&svc, "secret")), &form).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let at = r.json()["access_token"].as_str().unwrap().to_string();
    let i = h.introspect(&at).await;
    assert_eq!(
        (i["active"].as_bool(), i["sub"].as_str(), i["scope"].as_str()),
        (Some(true), Some("alice"), Some("read"))
    );
    let replay = h.public_form("/oauth2/token", Some((&svc, "secret")), &form).await;
    assert_eq!((replay.status, replay.json()["error"].as_str()), (400, Some("invalid_grant")), "{}", replay.text);
    let wider = signed(
        &idp,
        json!({"iss": issuer, "sub": "alice", "aud": token_url, "iat": now, "exp": now + 300, "jti": h.id("jti-2")}),
    );
    let r = h
        .public_form(
            "/oauth2/token",
            Some((&svc, "secret")),
            &[("grant_type", JWT_BEARER), ("assertion", &wider), ("scope", "write")],
        )
        .await;
    assert_eq!(r.json()["error"], "invalid_scope", "{}", r.text);
    assert_eq!(h.admin_delete(&format!("/admin/trust/grants/jwt-bearer/issuers/{trust_id}")).await.status, 204);
    let after = signed(
        &idp,
        json!({"iss": issuer, "sub": "alice", "aud": token_url, "iat": now, "exp": now + 300, "jti": h.id("jti-3")}),
    );
    let r = h
        .public_form("/oauth2/token", Some((&svc, "secret")), &[("grant_type", JWT_BEARER), ("assertion", &after)])
        .await;
    assert_eq!(r.json()["error"], "invalid_grant", "a deleted relationship trusts nothing: {}", r.text);

    // private_key_jwt with the client's inline keys.
    let pk = h.id("pk-client");
    let key = test_key("pk-1", 22);
    h.create_client(json!({"client_id": pk, "grant_types": ["client_credentials"], "scope": "read",
                           "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256",
                           "jwks": {"keys": [key.public_jwk()]}}))
        .await;
    let client_assertion =
        |jti: &str| signed(&key, json!({"iss": pk, "sub": pk, "aud": token_url, "exp": now + 120, "jti": h.id(jti)}));
    let a1 = client_assertion("pk-jti-1");
    let cc =
        [("grant_type", "client_credentials"), ("client_assertion_type", ASSERTION), ("client_assertion", a1.as_str())];
    let r = h.public_form("/oauth2/token", None, &cc).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let pk_token = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(h.introspect(&pk_token).await["client_id"], pk.as_str());
    let r = h.public_form("/oauth2/token", None, &cc).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("invalid_client")),
        "a replayed client assertion: {}",
        r.text
    );
    let a2 = client_assertion("pk-jti-2");
    let revoke =
        [("token", pk_token.as_str()), ("client_assertion_type", ASSERTION), ("client_assertion", a2.as_str())];
    assert_eq!(h.public_form("/oauth2/revoke", None, &revoke).await.status, 200);
    assert_eq!(h.introspect(&pk_token).await["active"], false);

    // client_secret_jwt: an HMAC under the client's secret (RFC 7523 §2.2, OIDC Core §9).
    const HS_SECRET: &str = "a-client-secret-of-forty-characters-0123";
    let hs = h.id("hs-client");
    h.create_client(
        json!({"client_id": hs, "client_secret": HS_SECRET, "token_endpoint_auth_method": "client_secret_jwt",
                           "grant_types": ["client_credentials"]}),
    )
    .await;
    let hs_assertion = |jti: &str| {
        use base64::Engine as _;
        use hmac::Mac as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims = json!({"iss": hs, "sub": hs, "aud": token_url, "exp": now + 300, "iat": now, "jti": h.id(jti)});
        let signed = format!("{}.{}", b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#), b64.encode(claims.to_string()));
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(HS_SECRET.as_bytes()).unwrap();
        mac.update(signed.as_bytes());
        format!("{signed}.{}", b64.encode(mac.finalize().into_bytes()))
    };
    let a = hs_assertion("hs-jti-1");
    let form =
        [("grant_type", "client_credentials"), ("client_assertion_type", ASSERTION), ("client_assertion", a.as_str())];
    let r = h.public_form("/oauth2/token", None, &form).await;
    assert_eq!(r.status, 200, "client_secret_jwt: {}", r.text);
    let again = h.public_form("/oauth2/token", None, &form).await;
    assert_eq!(
        (again.status, again.json()["error"].as_str()),
        (401, Some("invalid_client")),
        "replayed: {}",
        again.text
    );
    let shown = h.admin_get(&format!("/admin/clients/{hs}")).await;
    assert!(!shown.text.contains("sealed") && !shown.text.contains(HS_SECRET), "{}", shown.text);
}

async fn suite(h: &Harness) {
    cors(h).await;
    clients_api(h).await;
    client_lifespans(h).await;
    client_credentials_and_introspection(h).await;
    errors_are_clear(h).await;
    keys_discovery_and_ops(h).await;
    parallel_revocations(h).await;
    jwt_assertions(h).await;
}

async fn whole_suite(dsn: &str) {
    let h = Harness::start(
        dsn,
        &[("SERVE_PUBLIC_CORS_ENABLED", "true"), ("SERVE_PUBLIC_CORS_ALLOWED_ORIGINS", CORS_ORIGIN)],
    )
    .await;
    suite(&h).await;
    revoked_token_is_inactive_at_once(&h).await;
}

/// The same suite against the Worker under `wrangler dev` (D1, the `/admin/` bearer gate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running Worker: scripts/edge-test runs it"]
async fn http_suite_worker() {
    suite(&Harness::worker()).await;
}

/// Revoked means inactive on the very next request on the Worker, with its caches warm
/// (run beside the suite above, on its own clients).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running Worker: scripts/edge-test runs it"]
async fn worker_revoked_token_is_inactive_at_once() {
    revoked_token_is_inactive_at_once(&Harness::worker()).await;
}

latch_tests::on_every_backend!(http_suite, whole_suite);

/// On a server with a global JWT strategy and a 1-second access-token lifetime.
async fn expiry_and_global_jwt(h: &Harness) {
    let short = h.id("short");
    h.create_client(json!({"client_id": short, "client_secret": "secret", "grant_types": ["client_credentials"]}))
        .await;
    let t = h.cc_token(&short, "secret", &[]).await;
    assert_eq!(t["expires_in"], 1);
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "global jwt strategy");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(h.introspect(token).await, json!({"active": false}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_inactive_and_jwt_strategy_is_global() {
    let h = Harness::start("memory", &[("STRATEGIES_ACCESS_TOKEN", "jwt"), ("TTL_ACCESS_TOKEN", "1s")]).await;
    expiry_and_global_jwt(&h).await;
}

/// On a second Worker started with `STRATEGIES_ACCESS_TOKEN=jwt` and `TTL_ACCESS_TOKEN=1s`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running Worker: scripts/edge-test runs it"]
async fn expired_tokens_are_inactive_and_jwt_strategy_is_global_worker() {
    let h = Harness::worker_at("LATCH_TEST_WORKER_JWT_1S_URL");
    expiry_and_global_jwt(&h).await;
}
