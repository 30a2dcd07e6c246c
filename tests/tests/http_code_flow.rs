//! The authorization-code flow over HTTP on every backend: a scripted browser (cookie
//! jar, no JavaScript) and a scripted login & consent app driving Hydra's admin API,
//! then the token endpoint, refresh, userinfo, introspection, and the races the issue
//! names (20 parallel redemptions of one code; 20 parallel uses of one refresh token).
//! The same suite runs against the Cloudflare Worker under `wrangler dev`
//! (`code_flow_worker`, run by `scripts/edge-test`, which starts the Worker with the
//! login and consent URLs below); every case applies there.

use latch_tests::http::{location, params_of, Browser, Harness};
use reqwest::Method;
use serde_json::{json, Value};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CB: &str = "http://127.0.0.1:5555/callback";

/// The settings every server of this suite runs with (`scripts/edge-test` gives the
/// Worker the same ones).
const SETTINGS: [(&str, &str); 4] = [
    ("URLS_LOGIN", "http://login.test/login"),
    ("URLS_CONSENT", "http://login.test/consent"),
    ("TTL_ACCESS_TOKEN", "1h"),
    ("OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL", "2s"),
];

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start(dsn: &str) -> Harness {
    let h = Harness::start(dsn, &SETTINGS).await;
    create_clients(&h).await;
    h
}

/// The relying parties (ids unique to the harness on a Worker).
async fn create_clients(h: &Harness) {
    h.create_client(json!({
        "client_id": h.id("auth-code-client"), "client_secret": "secret",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code", "id_token"],
        "scope": "openid offline", "redirect_uris": [CB]
    }))
    .await;
    h.create_client(json!({
        "client_id": h.id("public-app"), "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"], "scope": "openid offline", "redirect_uris": [CB]
    }))
    .await;
    h.create_client(json!({
        "client_id": h.id("exchanger"), "client_secret": "secret",
        "grant_types": ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
        "scope": "read", "audience": ["https://downstream.example"]
    }))
    .await;
    h.create_client(json!({
        "client_id": h.id("tv"), "token_endpoint_auth_method": "none",
        "grant_types": [DEVICE_GRANT, "refresh_token"], "scope": "openid offline"
    }))
    .await;
}

/// The end user the login app signs in (unique to the harness on a Worker).
fn subject(h: &Harness) -> String {
    h.id("foo@bar.com")
}

fn auth_url(h: &Harness, client: &str, extra: &str) -> String {
    format!(
        "{}/oauth2/auth?client_id={client}&response_type=code&scope=openid+offline&redirect_uri={}&state=state-123456&nonce=nonce-123456&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        h.public,
        url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    )
}

/// The login & consent app's part, through the admin API only; returns the client's callback URL.
async fn login_and_consent(h: &Harness, b: &Browser, url: &str, remember: bool) -> String {
    let to_login = location(&b.get(h, url).await);
    assert!(to_login.starts_with("http://login.test/login?login_challenge="), "{to_login}");
    let challenge = params_of(&to_login)["login_challenge"].clone();
    let lr = h.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={challenge}")).await.json();
    assert_eq!(lr["client"]["client_id"], url.split("client_id=").nth(1).unwrap().split('&').next().unwrap());
    let sub = if lr["skip"] == true { lr["subject"].clone() } else { json!(subject(h)) };
    let accept = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            &json!({"subject": sub, "remember": remember, "remember_for": 3600, "acr": "0"}),
        )
        .await;
    assert_eq!(accept.status, 200, "{}", accept.text);
    let to_consent = location(&b.get(h, accept.json()["redirect_to"].as_str().unwrap()).await);
    let cc = params_of(&to_consent)["consent_challenge"].clone();
    let cr = h.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={cc}")).await.json();
    let accept = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={cc}"),
            &json!({"grant_scope": cr["requested_scope"], "remember": remember, "session": {"id_token": {"email": "foo@bar.com"}}}),
        )
        .await;
    assert_eq!(accept.status, 200, "{}", accept.text);
    location(&b.get(h, accept.json()["redirect_to"].as_str().unwrap()).await)
}

async fn redeem(h: &Harness, code: &str) -> latch_tests::http::Reply {
    h.public_form(
        "/oauth2/token",
        Some((&h.id("auth-code-client"), "secret")),
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
    )
    .await
}

async fn code_flow(h: &Harness) {
    let b = Browser::default();
    let back = login_and_consent(h, &b, &auth_url(h, &h.id("auth-code-client"), ""), true).await;
    assert!(back.starts_with(CB), "{back}");
    let p = params_of(&back);
    assert_eq!(p["state"], "state-123456");
    // RFC 9207 §2: the response names the issuer discovery gives.
    let issuer = h.public_get("/.well-known/openid-configuration").await.json()["issuer"].clone();
    assert_eq!(json!(p["iss"]), issuer, "{back}");
    let t = redeem(h, &p["code"]).await;
    assert_eq!(t.status, 200, "{}", t.text);
    let t = t.json();
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["scope"], "openid offline");
    let at = t["access_token"].as_str().unwrap();
    let jwks = h.public_get("/.well-known/jwks.json").await.json();
    let claims = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|k| latch_core::keys::verify_jws(k, t["id_token"].as_str().unwrap()))
        .expect("the ID token verifies against the JWKS");
    assert_eq!(claims["nonce"], "nonce-123456");
    assert_eq!(claims["aud"], json!([h.id("auth-code-client")]));
    assert_eq!(claims["email"], "foo@bar.com");
    let i = h.introspect(at).await;
    assert_eq!((i["active"].clone(), i["sub"].clone()), (json!(true), json!(subject(h))));
    let u = h.send(h.http.get(format!("{}/userinfo", h.public)).bearer_auth(at)).await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.json()["sub"], subject(h));
    // Hydra's userinfo claims: the ID token's, without the per-token ones. (`iat` is the
    // access token's issue time, read in the same request as the ID token's.)
    let info = u.json();
    let (iat, id_iat) = (info["iat"].as_i64().unwrap(), claims["iat"].as_i64().unwrap());
    assert!((iat - id_iat).abs() <= 1, "{info}");
    assert_eq!(info["auth_time"], claims["auth_time"], "{info}");
    assert_eq!(info["rat"], claims["rat"], "{info}");
    assert!(info.get("nonce").is_none() && info.get("at_hash").is_none() && info.get("exp").is_none(), "{info}");
    let u = h.send(h.http.post(format!("{}/userinfo", h.public)).form(&[("access_token", at)])).await;
    assert_eq!(u.json()["email"], "foo@bar.com");
    let bad = h.send(h.http.get(format!("{}/userinfo", h.public)).bearer_auth("latch_at_x.y")).await;
    assert_eq!(bad.status, 401);
    assert!(bad.headers["www-authenticate"].starts_with("Bearer"));

    // Refresh rotates.
    let rt = t["refresh_token"].as_str().unwrap();
    let r = h
        .public_form(
            "/oauth2/token",
            Some((&h.id("auth-code-client"), "secret")),
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(r.json()["refresh_token"], t["refresh_token"]);

    // The second redemption of the code fails and revokes what it issued.
    let again = redeem(h, &p["code"]).await;
    assert_eq!(again.json()["error"], "invalid_grant");
    assert_eq!(h.introspect(at).await, json!({"active": false}));

    // The remembered login and consent make the next authorization skip both UIs' work.
    let back = login_and_consent(h, &b, &auth_url(h, &h.id("auth-code-client"), ""), true).await;
    assert!(params_of(&back).contains_key("code"));
    let sub = subject(h);
    let sessions = h.admin_get(&format!("/admin/oauth2/auth/sessions/consent?subject={sub}")).await.json();
    assert_eq!(sessions.as_array().unwrap().len(), 2, "{sessions}");
    // One consent by its id (Hydra v2's consent_request_id): only that one goes.
    let (gone, kept) = (sessions[0]["consent_request_id"].clone(), sessions[1]["consent_request_id"].clone());
    let one = format!("/admin/oauth2/auth/sessions/consent?consent_request_id={}", gone.as_str().unwrap());
    assert_eq!(h.admin_delete(&one).await.status, 204);
    let left = h.admin_get(&format!("/admin/oauth2/auth/sessions/consent?subject={sub}")).await.json();
    assert_eq!(left.as_array().unwrap().iter().map(|c| c["consent_request_id"].clone()).collect::<Vec<_>>(), [kept]);
    assert_eq!(h.admin_delete(&one).await.status, 204, "deleting it again is no error");
    let all = format!("/admin/oauth2/auth/sessions/consent?subject={sub}&all=true");
    assert_eq!(h.admin_delete(&all).await.status, 204);
    assert_eq!(h.admin_delete(&format!("/admin/oauth2/auth/sessions/login?subject={sub}")).await.status, 204);
    // With the login session gone, prompt=none is login_required.
    let r = location(&b.get(h, &auth_url(h, &h.id("auth-code-client"), "&prompt=none")).await);
    assert_eq!(params_of(&r)["error"], "login_required");
}

async fn public_client_needs_pkce(h: &Harness) {
    let b = Browser::default();
    let no_pkce = format!(
        "{}/oauth2/auth?client_id={}&response_type=code&scope=openid&redirect_uri={}&state=state-123456",
        h.public,
        h.id("public-app"),
        url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    );
    let r = location(&b.get(h, &no_pkce).await);
    assert!(r.starts_with(CB));
    assert_eq!(params_of(&r)["error"], "invalid_request");
    let back = login_and_consent(h, &b, &auth_url(h, &h.id("public-app"), ""), false).await;
    let code = params_of(&back)["code"].clone();
    let t = h
        .public_form(
            "/oauth2/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &h.id("public-app")),
                ("code", &code),
                ("redirect_uri", CB),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
}

async fn races(h: &Harness) {
    // 20 parallel redemptions of one code: exactly one set of tokens.
    let b = Browser::default();
    let back = login_and_consent(h, &b, &auth_url(h, &h.id("auth-code-client"), ""), false).await;
    let code = params_of(&back)["code"].clone();
    let replies = futures::future::join_all((0..20).map(|_| redeem(h, &code))).await;
    let winners: Vec<&latch_tests::http::Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", replies.iter().map(|r| (r.status, r.text.clone())).collect::<Vec<_>>());
    assert!(replies.iter().filter(|r| r.status != 200).all(|r| r.json()["error"] == "invalid_grant"));
    // A loser's redemption revoked the grant, winner's tokens included (RFC 6749 §4.1.2).
    let t = winners[0].json();
    assert_eq!(h.introspect(t["access_token"].as_str().unwrap()).await["active"], false);

    // 20 parallel uses of one refresh token (no grace period): the grant ends revoked,
    // and at most one new pair was ever handed out.
    let back = login_and_consent(h, &b, &auth_url(h, &h.id("auth-code-client"), ""), false).await;
    let t = redeem(h, &params_of(&back)["code"]).await.json();
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
    let client = h.id("auth-code-client");
    let replies =
        futures::future::join_all((0..20).map(|_| h.public_form("/oauth2/token", Some((&client, "secret")), &form)))
            .await;
    let ok: Vec<Value> = replies.iter().filter(|r| r.status == 200).map(|r| r.json()).collect();
    assert!(ok.len() <= 1, "{} refreshes succeeded", ok.len());
    for pair in &ok {
        assert_eq!(h.introspect(pair["access_token"].as_str().unwrap()).await["active"], false);
        assert_eq!(h.introspect(pair["refresh_token"].as_str().unwrap()).await["active"], false);
    }
    assert_eq!(h.introspect(&rt).await["active"], false);
}

/// RP-initiated logout: the back-channel logout token really arrives at the client's
/// endpoint (sent by the native host), signed, with the session's `sid`.
async fn logout_reaches_the_backchannel(h: &Harness) {
    let received: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("lock").push(body);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let rp = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    h.create_client(json!({
        "client_id": h.id("rp"), "client_secret": "secret", "grant_types": ["authorization_code"], "scope": "openid offline",
        "redirect_uris": [CB], "post_logout_redirect_uris": ["http://127.0.0.1:5555/bye"],
        "backchannel_logout_uri": format!("{rp}/backchannel")
    }))
    .await;
    let b = Browser::default();
    let back = login_and_consent(h, &b, &auth_url(h, &h.id("rp"), ""), true).await;
    let t = h
        .public_form(
            "/oauth2/token",
            Some((&h.id("rp"), "secret")),
            &[
                ("grant_type", "authorization_code"),
                ("code", &params_of(&back)["code"]),
                ("redirect_uri", CB),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
        .json();
    let idt = t["id_token"].as_str().expect("id token");
    let to_ui = location(
        &b.get(h, &format!("{}/oauth2/sessions/logout?id_token_hint={idt}&post_logout_redirect_uri=http://127.0.0.1:5555/bye&state=state-xyz1", h.public))
            .await,
    );
    let challenge = params_of(&to_ui)["logout_challenge"].clone();
    let lr = h.admin_get(&format!("/admin/oauth2/auth/requests/logout?logout_challenge={challenge}")).await.json();
    let sid = lr["sid"].as_str().expect("sid").to_string();
    let accept = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
            &json!({}),
        )
        .await;
    let done = location(&b.get(h, accept.json()["redirect_to"].as_str().expect("redirect_to")).await);
    assert_eq!(done, "http://127.0.0.1:5555/bye?state=state-xyz1");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while received.lock().expect("lock").is_empty() {
        assert!(std::time::Instant::now() < deadline, "no back-channel logout arrived");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let body = received.lock().expect("lock")[0].clone();
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("logout_token");
    let jwks = h.public_get("/.well-known/jwks.json").await.json();
    let claims = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find_map(|k| latch_core::keys::verify_jws(k, &token))
        .expect("verifies");
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["aud"], json!([h.id("rp")]));
    server.abort();
}

/// Key rotation: adding an ES256 key to the ID-token set makes it sign new ID tokens,
/// while tokens signed by the older RS256 key still verify through the JWKS.
async fn id_token_key_rotation(h: &Harness) {
    let b = Browser::default();
    let back = login_and_consent(h, &b, &auth_url(h, &h.id("auth-code-client"), ""), false).await;
    let old = redeem(h, &params_of(&back)["code"]).await.json()["id_token"].as_str().expect("id token").to_string();
    if !h.is_worker() {
        // A fresh database: one RS256 key, as Hydra starts.
        let d = h.public_get("/.well-known/openid-configuration").await.json();
        assert_eq!(d["id_token_signed_response_alg"], json!(["RS256"]), "{d}");
        assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]), "{d}");
    }
    let r =
        h.admin_json(Method::POST, "/admin/keys/hydra.openid.id-token", &json!({"alg": "ES256", "use": "sig"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let kid = r.json()["keys"][0]["kid"].clone();
    let b = Browser::default();
    let back = login_and_consent(h, &b, &auth_url(h, &h.id("auth-code-client"), ""), false).await;
    let new = redeem(h, &params_of(&back)["code"]).await.json()["id_token"].as_str().expect("id token").to_string();
    let header = |t: &str| -> Value {
        use base64::Engine as _;
        let raw =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t.split('.').next().expect("header")).expect("b64");
        serde_json::from_slice(&raw).expect("json")
    };
    assert_ne!(header(&old)["kid"], kid);
    if !h.is_worker() {
        // A fresh database's first ID-token key (a Worker reused across runs may already
        // hold this suite's ES256 keys of earlier runs).
        assert_eq!(header(&old)["alg"], "RS256");
    }
    assert_eq!(
        (header(&new)["alg"].clone(), header(&new)["kid"].clone()),
        (json!("ES256"), kid),
        "the newest key signs"
    );
    // Discovery names the algorithm new ID tokens are signed with first, and still lists
    // the older key's.
    let d = h.public_get("/.well-known/openid-configuration").await.json();
    assert_eq!(d["id_token_signed_response_alg"], json!(["ES256"]), "{d}");
    let supported = d["id_token_signing_alg_values_supported"].as_array().expect("algs").clone();
    assert_eq!(supported.first(), Some(&json!("ES256")), "{d}");
    assert!(supported.contains(&header(&old)["alg"]), "{d}");
    let jwks = h.public_get("/.well-known/jwks.json").await.json();
    for t in [&old, &new] {
        assert!(jwks["keys"].as_array().expect("keys").iter().any(|k| latch_core::keys::verify_jws(k, t).is_some()));
    }
}

/// RFC 8628: a device asks, the user approves in a browser through the device UI (the
/// admin accept of the user code), login and consent; the device polls.
async fn device_flow(h: &Harness) {
    let tv = h.id("tv");
    let poll = |code: String| {
        let tv = tv.clone();
        async move {
            let form = [("grant_type", DEVICE_GRANT), ("device_code", code.as_str()), ("client_id", tv.as_str())];
            h.public_form("/oauth2/token", None, &form).await
        }
    };
    let ask = || async {
        h.public_form("/oauth2/device/auth", None, &[("client_id", tv.as_str()), ("scope", "openid offline")]).await
    };
    // The user approves `auth` in a fresh browser; returns where the browser ends.
    let approve = |auth: Value| async move {
        let b = Browser::default();
        let to_ui = location(&b.get(h, auth["verification_uri_complete"].as_str().unwrap()).await);
        assert!(to_ui.starts_with(&format!("{}/oauth2/fallbacks/device?", h.public)), "{to_ui}");
        let q = params_of(&to_ui);
        assert_eq!(q["user_code"], auth["user_code"].as_str().unwrap());
        let accept = h
            .admin_json(
                Method::PUT,
                &format!("/admin/oauth2/auth/requests/device/accept?device_challenge={}", q["device_challenge"]),
                &json!({"user_code": auth["user_code"]}),
            )
            .await;
        assert_eq!(accept.status, 200, "{}", accept.text);
        let next = accept.json()["redirect_to"].as_str().unwrap().to_string();
        assert!(next.starts_with(&format!("{}/oauth2/device/verify?", h.public)), "{next}");
        let to_login = location(&b.get(h, &next).await);
        assert!(to_login.starts_with("http://login.test/login?login_challenge="), "{to_login}");
        let challenge = params_of(&to_login)["login_challenge"].clone();
        let accept = h
            .admin_json(
                Method::PUT,
                &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
                &json!({"subject": subject(h)}),
            )
            .await;
        let to_consent = location(&b.get(h, accept.json()["redirect_to"].as_str().unwrap()).await);
        let cc = params_of(&to_consent)["consent_challenge"].clone();
        let cr = h.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={cc}")).await.json();
        assert_eq!(cr["skip"], false, "a public client's device never skips consent");
        let accept = h
            .admin_json(
                Method::PUT,
                &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={cc}"),
                &json!({"grant_scope": cr["requested_scope"]}),
            )
            .await;
        assert_eq!(accept.status, 200, "{}", accept.text);
        location(&b.get(h, accept.json()["redirect_to"].as_str().unwrap()).await)
    };
    let error = |r: &latch_tests::http::Reply| r.json()["error"].as_str().unwrap_or("").to_string();

    let r = ask().await;
    assert_eq!(r.status, 200, "{}", r.text);
    let auth = r.json();
    assert_eq!(auth["verification_uri"], format!("{}/oauth2/device/verify", h.public));
    assert_eq!(auth["interval"], 2);
    let code = auth["device_code"].as_str().unwrap().to_string();
    assert_eq!(error(&poll(code.clone()).await), "authorization_pending");
    assert_eq!(error(&poll(code.clone()).await), "slow_down", "polled again within the interval");
    let done = approve(auth).await;
    assert_eq!(done, format!("{}/oauth2/fallbacks/device/done?client_id={tv}", h.public));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = poll(code.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = r.json();
    assert!(t["refresh_token"].is_string() && t["id_token"].is_string(), "{t}");
    let at = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(h.introspect(&at).await["sub"], subject(h));

    // 20 parallel exchanges of one approved device code: exactly one gets tokens, and
    // the replays revoke them (as for a code).
    let auth = ask().await.json();
    let code = auth["device_code"].as_str().unwrap().to_string();
    approve(auth).await;
    let replies = futures::future::join_all((0..20).map(|_| poll(code.clone()))).await;
    let winners: Vec<&latch_tests::http::Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", replies.iter().map(|r| (r.status, r.text.clone())).collect::<Vec<_>>());
    assert!(replies.iter().filter(|r| r.status != 200).all(|r| error(r) == "invalid_grant"));
    assert_eq!(h.introspect(winners[0].json()["access_token"].as_str().unwrap()).await["active"], false);

    // Revocation is final: consent revoked after the approval, before the poll.
    let auth = ask().await.json();
    let code = auth["device_code"].as_str().unwrap().to_string();
    approve(auth).await;
    let r = h
        .admin_delete(&format!(
            "/admin/oauth2/auth/sessions/consent?subject={}&client={tv}",
            url::form_urlencoded::byte_serialize(subject(h).as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = poll(code).await;
    assert_eq!((r.status, error(&r).as_str()), (400, "invalid_grant"), "{}", r.text);
    assert_eq!(h.introspect(&at).await["active"], false, "the first device's tokens went with the consents");
}

/// RFC 9126: a pushed request runs the code flow; its `request_uri` is used once, even by
/// 10 browsers at the same moment (a compare-and-set on every backend and across the
/// Worker's isolates).
async fn pushed_authorization_requests(h: &Harness) {
    let client = h.id("auth-code-client");
    let pushed = |client_id: String, secret: Option<&'static str>| async move {
        let mut form = vec![
            ("response_type", "code".to_string()),
            ("scope", "openid offline".to_string()),
            ("redirect_uri", CB.to_string()),
            ("state", "pushed-state-1".to_string()),
            ("nonce", "nonce-123456".to_string()),
            ("code_challenge", CHALLENGE.to_string()),
            ("code_challenge_method", "S256".to_string()),
        ];
        if secret.is_none() {
            form.push(("client_id", client_id.clone()));
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = h.public_form("/oauth2/par", secret.map(|s| (client_id.as_str(), s)), &pairs).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let uri = r.json()["request_uri"].as_str().unwrap().to_string();
        assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"), "{uri}");
        format!(
            "{}/oauth2/auth?client_id={client_id}&request_uri={}",
            h.public,
            url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
        )
    };
    let d = h.public_get("/.well-known/openid-configuration").await.json();
    assert_eq!(d["pushed_authorization_request_endpoint"], format!("{}/oauth2/par", h.public));
    // A confidential client: the whole flow, then the replay.
    let url = pushed(client.clone(), Some("secret")).await;
    let back = login_and_consent(h, &Browser::default(), &url, false).await;
    let p = params_of(&back);
    assert_eq!(p["state"], "pushed-state-1", "{back}");
    let t = redeem(h, &p["code"]).await;
    assert_eq!(t.status, 200, "{}", t.text);
    let again = location(&Browser::default().get(h, &url).await);
    assert_eq!(params_of(&again)["error"], "invalid_request_uri", "{again}");
    // A push that fails its checks is answered, never redirected.
    let r = h
        .public_form(
            "/oauth2/par",
            Some((&client, "secret")),
            &[("response_type", "code"), ("scope", "openid"), ("redirect_uri", "https://evil.example/cb")],
        )
        .await;
    assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_request")), "{}", r.text);
    // A public client, its request_uri used by 10 browsers at once: one reaches the login UI.
    let url = pushed(h.id("public-app"), None).await;
    let replies = futures::future::join_all((0..10).map(|_| async {
        let b = Browser::default();
        location(&b.get(h, &url).await)
    }))
    .await;
    let at_login = replies.iter().filter(|to| to.starts_with("http://login.test/login?")).count();
    assert_eq!(at_login, 1, "{replies:?}");
    assert!(
        replies
            .iter()
            .filter(|to| !to.starts_with("http://login.test/login?"))
            .all(|to| params_of(to)["error"] == "invalid_request_uri"),
        "{replies:?}"
    );
}

/// A DPoP key of this run (its seed from the clock: a Worker's D1 outlives a run).
fn dpop_key() -> latch_core::keys::SigningKey {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    latch_core::keys::SigningKey::generate(
        &latch_core::platform::FixedPlatform::new(0, seed),
        latch_core::keys::Alg::Es256,
        "k",
    )
    .unwrap()
}

/// A DPoP proof of `key` for `method` `url` (RFC 9449 §4.2), with `ath` for `token`.
fn dpop_proof(key: &latch_core::keys::SigningKey, method: &str, url: &str, token: Option<&str>) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let jti = format!("{}-{}", now.as_nanos(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let mut claims = json!({"jti": jti, "htm": method, "htu": url, "iat": now.as_secs()});
    if let Some(t) = token {
        claims["ath"] =
            json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(t.as_bytes())));
    }
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk()});
    let platform = latch_core::platform::FixedPlatform::new(0, 1);
    futures::executor::block_on(key.sign_with_header(&platform, &header, claims.as_object().unwrap())).unwrap()
}

/// RFC 9449: a public client's code flow with DPoP: bound tokens, introspection's
/// `cnf`, userinfo with the DPoP scheme, a bound refresh, and one proof used once even
/// by 10 requests at the same moment (a compare-and-set on every backend, and across
/// the Worker's isolates).
async fn dpop(h: &Harness) {
    let key = dpop_key();
    let jkt = latch_core::dpop::thumbprint(&key.public_jwk()).unwrap();
    let token_url = format!("{}/oauth2/token", h.public);
    let userinfo_url = format!("{}/userinfo", h.public);
    let client = h.id("public-app");
    let back =
        login_and_consent(h, &Browser::default(), &auth_url(h, &client, &format!("&dpop_jkt={jkt}")), false).await;
    let code = params_of(&back)["code"].clone();
    let redeem = |proof: Option<String>| {
        let (client, code) = (client.clone(), code.clone());
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CB),
                ("code_verifier", VERIFIER),
                ("client_id", client.as_str()),
            ];
            let mut rb = h.http.post(format!("{}/oauth2/token", h.public)).form(&form);
            if let Some(p) = proof {
                rb = rb.header("DPoP", p);
            }
            h.send(rb).await
        }
    };
    // §10: the code is bound by dpop_jkt; refused without the proof, and not used up.
    let r = redeem(None).await;
    assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_dpop_proof")), "{}", r.text);
    let r = redeem(Some(dpop_proof(&key, "POST", &token_url, None))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = r.json();
    assert_eq!(t["token_type"], "DPoP");
    let at = t["access_token"].as_str().unwrap().to_string();
    let i = h.introspect(&at).await;
    assert_eq!((i["active"].clone(), i["cnf"].clone()), (json!(true), json!({"jkt": jkt})), "{i}");
    // §7.1: userinfo with the DPoP scheme and a proof; never as a bearer token.
    let userinfo = |proof: String| {
        let at = at.clone();
        let url = userinfo_url.clone();
        async move { h.send(h.http.get(url).header("Authorization", format!("DPoP {at}")).header("DPoP", proof)).await }
    };
    let u = userinfo(dpop_proof(&key, "GET", &userinfo_url, Some(&at))).await;
    assert_eq!((u.status, u.json()["sub"].clone()), (200, json!(subject(h))), "{}", u.text);
    let bearer = h.send(h.http.get(&userinfo_url).bearer_auth(&at)).await;
    assert_eq!(bearer.status, 401);
    assert!(bearer.headers["www-authenticate"].starts_with("DPoP "), "{:?}", bearer.headers);
    let one = dpop_proof(&key, "GET", &userinfo_url, Some(&at));
    let replies = futures::future::join_all((0..10).map(|_| userinfo(one.clone()))).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "{:?}", replies.iter().map(|r| (r.status, r.text.clone())).collect::<Vec<_>>());
    // §5: the public client's refresh token refreshes only with the key.
    let rt = t["refresh_token"].as_str().unwrap();
    let refresh = |proof: Option<String>| {
        let client = client.clone();
        async move {
            let form = [("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", client.as_str())];
            let mut rb = h.http.post(format!("{}/oauth2/token", h.public)).form(&form);
            if let Some(p) = proof {
                rb = rb.header("DPoP", p);
            }
            h.send(rb).await
        }
    };
    let r = refresh(Some(dpop_proof(&dpop_key(), "POST", &token_url, None))).await;
    assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_dpop_proof")), "{}", r.text);
    let r = refresh(Some(dpop_proof(&key, "POST", &token_url, None))).await;
    assert_eq!((r.status, r.json()["token_type"].clone()), (200, json!("DPoP")), "{}", r.text);
}

/// RFC 8693 on every store: an exchanged token joins its subject token's grant, so the
/// subject token's revocation reaches it, also when 10 exchanges race the revocation
/// (`insert_tokens_while_active`, a compare-and-set on every backend and on D1).
async fn token_exchange(h: &Harness) {
    let client = h.id("exchanger");
    let subject = h
        .public_form(
            "/oauth2/token",
            Some((&client, "secret")),
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let exchange = || {
        let (client, subject) = (client.clone(), subject.clone());
        async move {
            let form = [
                ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                ("subject_token", subject.as_str()),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
                ("resource", "https://downstream.example"),
            ];
            h.public_form("/oauth2/token", Some((&client, "secret")), &form).await
        }
    };
    let r = exchange().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    let exchanged = r.json()["access_token"].as_str().unwrap().to_string();
    let i = h.introspect(&exchanged).await;
    assert_eq!((i["active"].clone(), i["aud"].clone()), (json!(true), json!(["https://downstream.example"])), "{i}");
    let revoke_form = [("token", subject.as_str())];
    let revoke = h.public_form("/oauth2/revoke", Some((&client, "secret")), &revoke_form);
    let (replies, revoked) = futures::join!(futures::future::join_all((0..10).map(|_| exchange())), revoke);
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(h.introspect(&exchanged).await["active"], false, "revocation reaches the exchanged token");
    for r in replies {
        if r.status == 200 {
            let t = r.json()["access_token"].as_str().unwrap().to_string();
            assert_eq!(h.introspect(&t).await["active"], false, "an exchange racing the revocation stays revoked");
        } else {
            assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_request")), "{}", r.text);
        }
    }
}

async fn suite(dsn: &str) {
    run(&start(dsn).await).await;
}

async fn run(h: &Harness) {
    code_flow(h).await;
    public_client_needs_pkce(h).await;
    races(h).await;
    logout_reaches_the_backchannel(h).await;
    id_token_key_rotation(h).await;
    device_flow(h).await;
    pushed_authorization_requests(h).await;
    dpop(h).await;
    token_exchange(h).await;
}

/// The same suite against the Worker under `wrangler dev` (D1, the `/admin/` bearer
/// gate, back-channel logouts sent through `waitUntil`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running Worker: scripts/edge-test runs it"]
async fn code_flow_worker() {
    let h = Harness::worker();
    create_clients(&h).await;
    run(&h).await;
}

latch_tests::on_every_backend!(code_flow, suite);

/// The API key the hook server expects (`OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE`).
const HOOK_KEY: &str = "hook-key-0123456789";

/// The settings of a server calling the hook server on `port` (`scripts/edge-test`
/// gives its hooks Worker the same ones): the token hook as Hydra's object, field by
/// field with an API key header, and the refresh hook as a plain URL; dynamic client
/// registration is open.
fn hook_settings(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("URLS_LOGIN", "http://login.test/login".into()),
        ("URLS_CONSENT", "http://login.test/consent".into()),
        ("OAUTH2_TOKEN_HOOK_URL", format!("http://127.0.0.1:{port}/token-hook")),
        ("OAUTH2_TOKEN_HOOK_AUTH_TYPE", "api_key".into()),
        ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_IN", "header".into()),
        ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_NAME", "X-Hook-Key".into()),
        ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE", HOOK_KEY.into()),
        ("OAUTH2_REFRESH_TOKEN_HOOK", format!("http://127.0.0.1:{port}/refresh-hook")),
        ("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", "true".into()),
        ("URLS_IDENTITY_PROVIDER_URL", format!("http://127.0.0.1:{port}/kratos")),
        ("URLS_IDENTITY_PROVIDER_HEADERS", format!(r#"{{"Authorization": "Bearer {HOOK_KEY}"}}"#)),
    ]
}

/// What the hook server was sent: the path, the `X-Hook-Key` header and the body.
type Calls = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<String>, Value)>>>;

/// A token hook service as Hydra's contract has it, on loopback `port` (0: any): it
/// answers by the client's id, keeping the session's access-token claims and adding
/// its own: `…hook-deny` is refused (403), any other gets `hooked` (the grant type; the
/// token hook) or `refreshed` (the refresh hook) in its access-token claims and
/// `hooked_id` (with protocol claims it may not set) or `refreshed_id` as its ID-token
/// claims. A call without the API key is
/// answered 401. It is also an identity provider's admin API (Kratos'): a session
/// disabled at `DELETE /kratos/admin/sessions/{id}` is recorded as path `kratos`, the
/// `Authorization` header and the id.
async fn hook_server(port: u16) -> (u16, Calls) {
    use axum::{extract::State, http::HeaderMap, response::IntoResponse, routing::post, Json, Router};
    async fn kratos(calls: Calls, headers: HeaderMap, id: String) -> axum::http::StatusCode {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
        calls.lock().unwrap().push(("kratos".into(), auth, Value::String(id)));
        axum::http::StatusCode::NO_CONTENT
    }
    async fn hook(path: &'static str, calls: Calls, headers: HeaderMap, body: Value) -> axum::response::Response {
        let key = headers.get("x-hook-key").and_then(|v| v.to_str().ok()).map(str::to_string);
        calls.lock().unwrap().push((path.to_string(), key.clone(), body.clone()));
        if path == "token-hook" && key.as_deref() != Some(HOOK_KEY) {
            return axum::http::StatusCode::UNAUTHORIZED.into_response();
        }
        let client = body["request"]["client_id"].as_str().or(body["client_id"].as_str()).unwrap_or_default();
        if client.ends_with("hook-deny") {
            return axum::http::StatusCode::FORBIDDEN.into_response();
        }
        let mut at = body["session"]["extra"].as_object().cloned().unwrap_or_default();
        let id = if path == "token-hook" {
            let grant = body["request"]["grant_types"][0].clone();
            at.insert("hooked".into(), grant.clone());
            // Protocol claims a hook cannot override (OIDC Core §2: Latch sets them).
            json!({"hooked_id": grant, "sub": "someone-else", "iss": "https://evil.example", "aud": "evil"})
        } else {
            at.insert("refreshed".into(), json!(true));
            json!({"refreshed_id": true})
        };
        Json(json!({"session": {"access_token": at, "id_token": id}})).into_response()
    }
    let calls = Calls::default();
    let app = Router::new()
        .route(
            "/token-hook",
            post(|State(c): State<Calls>, h: HeaderMap, Json(b): Json<Value>| hook("token-hook", c, h, b)),
        )
        .route(
            "/refresh-hook",
            post(|State(c): State<Calls>, h: HeaderMap, Json(b): Json<Value>| hook("refresh-hook", c, h, b)),
        )
        .route(
            "/kratos/admin/sessions/{id}",
            axum::routing::delete(
                |State(c): State<Calls>, h: HeaderMap, axum::extract::Path(id): axum::extract::Path<String>| {
                    kratos(c, h, id)
                },
            ),
        )
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the hook server's port");
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, calls)
}

/// Hydra's token hooks through the code flow, a refresh, client credentials and a
/// denial, against a real hook server.
async fn token_hooks(h: &Harness, calls: &Calls) {
    h.create_client(json!({
        "client_id": h.id("hooked-app"), "client_secret": "secret",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "openid offline", "redirect_uris": [CB]
    }))
    .await;
    h.create_client(json!({
        "client_id": h.id("hook-deny"), "client_secret": "secret", "grant_types": ["client_credentials"]
    }))
    .await;
    let jwks = h.public_get("/.well-known/jwks.json").await.json();
    let id_claims = |t: &Value| {
        let idt = t["id_token"].as_str().unwrap_or_else(|| panic!("{t}")).to_string();
        jwks["keys"].as_array().unwrap().iter().find_map(|k| latch_core::keys::verify_jws(k, &idt)).expect("verifies")
    };
    let mine = |path: &str, client: &str| -> Vec<Value> {
        let c = calls.lock().unwrap();
        c.iter()
            .filter(|(p, _, b)| p == path && (b["request"]["client_id"] == client || b["client_id"] == client))
            .map(|(_, _, b)| b.clone())
            .collect()
    };
    let app = h.id("hooked-app");

    // The code exchange: the token hook's claims are in the access token and the ID token.
    let b = Browser::default();
    let back = login_and_consent(h, &b, &auth_url(h, &app, ""), false).await;
    let code = params_of(&back)["code"].clone();
    let t = h
        .public_form(
            "/oauth2/token",
            Some((&app, "secret")),
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let t = t.json();
    let i = h.introspect(t["access_token"].as_str().unwrap()).await;
    assert_eq!(i["ext"], json!({"hooked": "authorization_code"}), "{i}");
    let claims = id_claims(&t);
    assert_eq!(claims["hooked_id"], "authorization_code", "{claims:?}");
    assert_eq!((claims["sub"].clone(), claims["aud"].clone()), (json!(subject(h)), json!([app])), "{claims:?}");
    assert_ne!(claims["iss"], "https://evil.example");
    // The hook's ID-token claims replace the consent's (Hydra's wholesale replacement).
    assert!(claims.get("email").is_none(), "{claims:?}");
    let sent = mine("token-hook", &app);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["request"]["granted_scopes"], json!(["openid", "offline"]));
    assert_eq!(sent[0]["session"]["id_token"]["id_token_claims"]["ext"], json!({"email": "foo@bar.com"}));
    assert_eq!(sent[0]["session"]["id_token"]["id_token_claims"]["nonce"], "nonce-123456");
    assert_eq!(sent[0]["session"]["id_token"]["subject"], subject(h));
    assert!(!sent[0].to_string().contains(&code), "the code is not passed to the hook");
    assert!(mine("refresh-hook", &app).is_empty(), "the refresh hook is for refreshes only");

    // The refresh: the refresh hook first, then the token hook, which sees its claims.
    let r = h
        .public_form(
            "/oauth2/token",
            Some((&app, "secret")),
            &[("grant_type", "refresh_token"), ("refresh_token", t["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = r.json();
    let i = h.introspect(r["access_token"].as_str().unwrap()).await;
    assert_eq!(i["ext"], json!({"hooked": "refresh_token", "refreshed": true}), "{i}");
    assert_eq!(id_claims(&r)["hooked_id"], "refresh_token");
    let refresh = mine("refresh-hook", &app);
    assert_eq!(refresh.len(), 1);
    assert_eq!(
        (refresh[0]["subject"].clone(), refresh[0]["requester"]["client_id"].clone()),
        (json!(subject(h)), json!(app))
    );
    assert_eq!(refresh[0]["session"]["extra"], json!({"hooked": "authorization_code"}), "the stored claims");
    let token = mine("token-hook", &app);
    assert_eq!(token.len(), 2);
    assert_eq!(token[1]["session"]["extra"]["refreshed"], true, "the token hook runs after the refresh hook");
    assert!(calls.lock().unwrap().iter().all(|(p, key, _)| p != "token-hook" || key.as_deref() == Some(HOOK_KEY)));

    // A denial: 403 access_denied, no token.
    let deny = h.id("hook-deny");
    let d = h.public_form("/oauth2/token", Some((&deny, "secret")), &[("grant_type", "client_credentials")]).await;
    assert_eq!((d.status, d.json()["error"].clone()), (403, json!("access_denied")), "{}", d.text);
    assert_eq!(mine("token-hook", &deny).len(), 1);
}

/// Dynamic client registration (RFC 7591, RFC 7592) over HTTP.
async fn registration(h: &Harness) {
    let d = h.public_get("/.well-known/openid-configuration").await.json();
    assert_eq!(d["registration_endpoint"], format!("{}/oauth2/register", h.public));
    let body = json!({"client_name": "self-registered", "grant_types": ["authorization_code", "refresh_token"],
                      "response_types": ["code"], "scope": "openid offline", "redirect_uris": [CB]});
    let r = h.send(h.http.post(format!("{}/oauth2/register", h.public)).json(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = r.json();
    let (id, secret) = (c["client_id"].as_str().unwrap().to_string(), c["client_secret"].as_str().unwrap().to_string());
    let token = c["registration_access_token"].as_str().unwrap().to_string();
    let uri = c["registration_client_uri"].as_str().unwrap().to_string();
    assert_eq!(uri, format!("{}/oauth2/register/{id}", h.public));
    // The secret authenticates the client (revocation needs no token hook).
    let revoke = h.public_form("/oauth2/revoke", Some((&id, &secret)), &[("token", "latch_at_x.y")]).await;
    assert_eq!(revoke.status, 200, "{}", revoke.text);
    let got = h.send(h.http.get(&uri).bearer_auth(&token)).await;
    assert_eq!((got.status, got.json()["client_name"].clone()), (200, json!("self-registered")));
    assert!(got.json().get("client_secret").is_none());
    let bad = h.send(h.http.get(&uri).bearer_auth("latch_rat_x.y")).await;
    assert_eq!((bad.status, bad.json()["error"].clone()), (401, json!("invalid_token")));
    let skip = h.send(h.http.post(format!("{}/oauth2/register", h.public)).json(&json!({"skip_consent": true}))).await;
    assert_eq!(skip.status, 400, "{}", skip.text);
    // PUT rotates the registration token.
    let put = h
        .send(h.http.put(&uri).bearer_auth(&token).json(&json!({"client_name": "renamed", "redirect_uris": [CB]})))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let new_token = put.json()["registration_access_token"].as_str().unwrap().to_string();
    assert_eq!(h.send(h.http.get(&uri).bearer_auth(&token)).await.status, 401);
    assert_eq!(h.send(h.http.get(&uri).bearer_auth(&new_token)).await.json()["client_name"], "renamed");
    // 20 parallel PUTs with one token: one rotates it, the others are refused, so no
    // answer hands out a token that does not work.
    let puts = (0..20).map(|i| {
        h.send(
            h.http
                .put(&uri)
                .bearer_auth(&new_token)
                .json(&json!({"client_name": format!("racer {i}"), "redirect_uris": [CB]})),
        )
    });
    let answers = futures::future::join_all(puts).await;
    let won: Vec<_> = answers.iter().filter(|r| r.status == 200).collect();
    assert_eq!(won.len(), 1, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(answers.iter().all(|r| r.status == 200 || r.status == 401));
    let new_token = won[0].json()["registration_access_token"].as_str().unwrap().to_string();
    assert_eq!(h.send(h.http.get(&uri).bearer_auth(&new_token)).await.status, 200, "the winner's token works");
    // Registrations from one address are limited.
    let mut limited = false;
    for _ in 0..2 * latch_core::registration::REGISTRATIONS_PER_WINDOW {
        let r =
            h.send(h.http.post(format!("{}/oauth2/register", h.public)).json(&json!({"client_name": "flood"}))).await;
        if r.status == 429 {
            assert_eq!(r.json()["error"], "too_many_requests");
            limited = true;
            break;
        }
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert!(limited, "registrations from one address are limited");
    assert_eq!(h.send(h.http.delete(&uri).bearer_auth(&new_token)).await.status, 204);
    assert_eq!(h.send(h.http.get(&uri).bearer_auth(&new_token)).await.status, 401);
    let revoke = h.public_form("/oauth2/revoke", Some((&id, &secret)), &[("token", "latch_at_x.y")]).await;
    assert_eq!(revoke.status, 401, "the deleted client authenticates no more");
}

/// `urls.identity_provider.url`: a login accepted with `identity_provider_session_id`
/// and remembered, then ended by the admin API (by `sid`), disables the identity
/// provider's session once, with the configured header, after the answer.
async fn identity_provider_logout(h: &Harness, calls: &Calls) {
    h.create_client(json!({
        "client_id": h.id("kratos-app"), "client_secret": "secret", "grant_types": ["authorization_code"],
        "response_types": ["code"], "scope": "openid offline", "redirect_uris": [CB]
    }))
    .await;
    let b = Browser::default();
    let to_login = location(&b.get(h, &auth_url(h, &h.id("kratos-app"), "")).await);
    let challenge = params_of(&to_login)["login_challenge"].clone();
    let kratos_session = h.id("kratos-session/1");
    let accept = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            &json!({"subject": subject(h), "remember": true, "identity_provider_session_id": kratos_session}),
        )
        .await;
    assert_eq!(accept.status, 200, "{}", accept.text);
    let to_consent = location(&b.get(h, accept.json()["redirect_to"].as_str().unwrap()).await);
    let cc = params_of(&to_consent)["consent_challenge"].clone();
    let cr = h.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={cc}")).await.json();
    let sid = cr["login_session_id"].as_str().expect("a remembered login").to_string();
    let ended = |c: &Calls| -> Vec<(Option<String>, Value)> {
        let c = c.lock().unwrap();
        c.iter()
            .filter(|(p, _, id)| p == "kratos" && *id == kratos_session)
            .map(|(_, a, id)| (a.clone(), id.clone()))
            .collect()
    };
    assert!(ended(calls).is_empty(), "nothing ends before the logout");
    for _ in 0..2 {
        let r = h.admin_delete(&format!("/admin/oauth2/auth/sessions/login?sid={sid}")).await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = ended(calls);
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(ended(calls), [(Some(format!("Bearer {HOOK_KEY}")), Value::String(kratos_session.clone()))], "{seen:?}");
}

async fn hooks_suite(dsn: &str) {
    let (port, calls) = hook_server(0).await;
    let settings = hook_settings(port);
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let h = Harness::start(dsn, &env).await;
    token_hooks(&h, &calls).await;
    registration(&h).await;
    identity_provider_logout(&h, &calls).await;
}

latch_tests::on_every_backend!(token_hook, hooks_suite);

/// The same against the Worker `scripts/edge-test` starts with [`hook_settings`]
/// (`LATCH_TEST_WORKER_HOOKS_URL`), its hook server on `LATCH_TEST_HOOK_PORT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running Worker: scripts/edge-test runs it"]
async fn token_hook_worker() {
    let port = std::env::var("LATCH_TEST_HOOK_PORT").expect("LATCH_TEST_HOOK_PORT").parse().expect("a port");
    let (_, calls) = hook_server(port).await;
    let h = Harness::worker_at("LATCH_TEST_WORKER_HOOKS_URL");
    token_hooks(&h, &calls).await;
    registration(&h).await;
    identity_provider_logout(&h, &calls).await;
}
