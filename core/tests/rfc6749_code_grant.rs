//! RFC 6749 §4.1 (the authorization code grant) and §6 (refreshing), with OpenID
//! Connect's ID token (OIDC Core §3.1.3) and userinfo (§5.3), through `Latch::handle`.

mod support;

use futures_executor::block_on;
use latch_core::http::{Method, Request};
use latch_core::Port;
use serde_json::json;
use support::*;

/// A complete flow of `app` in a fresh browser (login remembered or not); the redirect
/// back to the client.
fn code_flow(l: &L, b: &Browser, remember: bool) -> String {
    let login =
        json!({"subject": "foo@bar.com", "remember": remember, "remember_for": 3600, "acr": "0", "amr": ["pwd"]});
    let consent = authorize(l, b, &auth_url("")).accept(login);
    assert_eq!(consent.request["subject"], "foo@bar.com");
    let scope = consent.request["requested_scope"].clone();
    consent.accept(json!({"grant_scope": scope, "remember": remember, "remember_for": 0,
                          "session": {"id_token": {"email": "foo@bar.com"}, "access_token": {"tier": "gold"}}}))
}

fn refresh(l: &L, rt: &str, scope: Option<&str>) -> serde_json::Value {
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    pairs.extend(scope.map(|s| ("scope", s)));
    form(l, "/oauth2/token", Some(("app", "app-secret")), &pairs).json_body()
}

/// §4.1.2–§4.1.4 with PKCE: the code, then access, refresh and ID token; the ID token
/// verifies against the JWKS with the flow's claims; §4.1.2: a second redemption fails
/// and revokes what the first one issued.
#[test]
fn the_code_gives_access_refresh_and_id_tokens_once() {
    let l = latch(99);
    app_client(&l);
    let b = Browser::default();
    let back = code_flow(&l, &b, true);
    assert!(back.starts_with(CB));
    let q = query_of(&back);
    assert_eq!(q["state"], "state-12345");
    assert_eq!(q["scope"], "openid offline email");
    let r = redeem(&l, &q["code"]);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let t = r.json_body();
    assert!(t["refresh_token"].as_str().unwrap().starts_with("latch_rt_"));
    let c = claims(&l, t["id_token"].as_str().unwrap());
    assert_eq!(c["sub"], "foo@bar.com");
    assert_eq!(c["aud"], json!(["app"]));
    assert_eq!(c["nonce"], "nonce-12345");
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["email"], "foo@bar.com");
    assert_eq!(c["acr"], "0");
    assert_eq!(c["amr"], json!(["pwd"]));
    assert_eq!(c["auth_time"], NOW);
    assert!(c["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        c["at_hash"],
        latch_core::oidc::half_hash(latch_core::keys::Alg::Es256, t["access_token"].as_str().unwrap())
    );
    // Introspection shows the consent's access-token session as ext.
    let i = introspect(&l, t["access_token"].as_str().unwrap());
    assert_eq!(i["sub"], "foo@bar.com");
    assert_eq!(i["ext"], json!({"tier": "gold"}));
    // OIDC Core §5.3: userinfo.
    let req = Request::new(Method::Get, "/userinfo")
        .header("authorization", &format!("Bearer {}", t["access_token"].as_str().unwrap()));
    let u = block_on(l.handle(Port::Public, req)).1;
    assert_eq!(u.status, 200);
    assert_eq!(u.json_body()["sub"], "foo@bar.com");
    assert_eq!(u.json_body()["email"], "foo@bar.com");

    let again = redeem(&l, &q["code"]);
    assert_eq!(again.json_body()["error"], "invalid_grant");
    assert_eq!(introspect(&l, t["access_token"].as_str().unwrap()), json!({"active": false}));
}

/// §4.1.3: the token request repeats the authorization request's redirect URI.
#[test]
fn the_token_request_must_repeat_the_redirect_uri() {
    let l = latch(99);
    app_client(&l);
    let code = query_of(&code_flow(&l, &Browser::default(), false))["code"].clone();
    let without = [("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER)];
    let r = form(&l, "/oauth2/token", Some(("app", "app-secret")), &without).json_body();
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let other = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", VERIFIER),
        ("redirect_uri", "https://app.example/other"),
    ];
    let r = form(&l, "/oauth2/token", Some(("app", "app-secret")), &other).json_body();
    assert_eq!(r["error"], "invalid_grant", "{r}");
    // Neither attempt consumed the code.
    assert_eq!(redeem(&l, &code).status, 200);
}

/// §4.1.2: a code lives briefly (`ttl.auth_code`, 10 minutes by default).
#[test]
fn an_expired_code_is_refused() {
    let l = latch(99);
    app_client(&l);
    let back = code_flow(&l, &Browser::default(), false);
    l.platform.advance(601);
    assert_eq!(redeem(&l, &query_of(&back)["code"]).json_body()["error"], "invalid_grant");
}

/// §6 and §10.4: a refresh rotates the refresh token, may narrow the scope, and reusing
/// a rotated refresh token revokes the whole grant.
#[test]
fn refresh_rotates_and_reuse_revokes_the_grant() {
    let l = latch(99);
    app_client(&l);
    let back = code_flow(&l, &Browser::default(), false);
    let t = redeem(&l, &query_of(&back)["code"]).json_body();
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let t2 = refresh(&l, &rt1, None);
    let rt2 = t2["refresh_token"].as_str().unwrap_or_else(|| panic!("{t2}")).to_string();
    assert_ne!(rt1, rt2);
    assert!(t2["id_token"].is_string());
    assert_eq!(introspect(&l, &rt1)["active"], false, "rotated away");
    assert_eq!(introspect(&l, &rt2)["active"], true);
    let t3 = refresh(&l, &rt2, Some("openid"));
    assert_eq!(t3["scope"], "openid");
    let rt3 = t3["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(refresh(&l, &rt1, None)["error"], "invalid_grant");
    assert_eq!(introspect(&l, &rt3)["active"], false);
    assert_eq!(refresh(&l, &rt3, None)["error"], "invalid_grant");
}

/// RFC 7518 §3.1: every algorithm Latch offers signs ID tokens once its key is the
/// newest of the ID-token set; relying parties verify them with the published JWKS, and
/// `at_hash` uses the algorithm's hash (OIDC Core §3.1.3.6: its left half).
#[test]
fn id_tokens_are_signed_with_every_offered_algorithm() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for (alg, hash_len) in
        [("RS384", 48), ("RS512", 64), ("PS256", 32), ("PS384", 48), ("PS512", 64), ("ES384", 48), ("ES512", 64)]
    {
        let l = latch(40);
        app_client(&l);
        let r = admin(&l, Method::Post, "/admin/keys/hydra.openid.id-token", Some(json!({"alg": alg, "kid": alg})));
        assert_eq!(r.status, 201, "{alg}: {:?}", r.json_body());
        let back = code_flow(&l, &Browser::default(), false);
        let t = redeem(&l, &query_of(&back)["code"]).json_body();
        let idt = t["id_token"].as_str().unwrap_or_else(|| panic!("{alg}: {t}"));
        let header: serde_json::Value =
            serde_json::from_slice(&b64.decode(idt.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some(alg), Some(alg)));
        let c = claims(&l, idt);
        assert_eq!(c["sub"], "foo@bar.com", "{alg}");
        assert_eq!(b64.decode(c["at_hash"].as_str().unwrap()).unwrap().len(), hash_len / 2, "{alg}");
        let d = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration"))).1;
        assert_eq!(d.json_body()["id_token_signing_alg_values_supported"][0], alg);
    }
}
