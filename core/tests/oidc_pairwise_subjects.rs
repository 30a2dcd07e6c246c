//! OIDC Core §8: subject identifier types. A pairwise client knows each user by
//! `hex(SHA-256(sector || subject || salt))` (§8.1, Hydra's algorithm) in its ID tokens,
//! at userinfo and in its logout tokens; access tokens and introspection keep the real
//! subject (introspection adds `obfuscated_subject`), as Hydra. Without pairwise
//! configured, a pairwise client is refused where it is written.

mod support;

use futures_executor::block_on;
use latch_core::http::{Method, Request};
use latch_core::Port;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::*;

const SALT: &str = "pairwise-salt-of-the-test";

fn pairwise_latch(seed: u64) -> L {
    latch_with(seed, |c| {
        c.subject_types = vec!["public".into(), "pairwise".into()];
        c.pairwise_salt = SALT.into();
    })
}

fn pairwise_client(l: &L, id: &str, sector: Option<&str>) {
    let mut body = json!({
        "client_id": id, "client_secret": "secret", "subject_type": "pairwise",
        "grant_types": ["authorization_code"], "scope": "openid", "redirect_uris": [CB]
    });
    if let Some(s) = sector {
        body["sector_identifier_uri"] = json!(s);
    }
    create_client(l, body);
}

fn expected(sector: &str, subject: &str) -> String {
    hex::encode(Sha256::new().chain_update(sector).chain_update(subject).chain_update(SALT).finalize())
}

fn tokens(l: &L, b: &Browser, client: &str, login: Value) -> Value {
    let url = format!(
        "{ISSUER}/oauth2/auth?client_id={client}&response_type=code&scope=openid&redirect_uri={}&state=state-12345&nonce=nonce-12345",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    );
    let back = authorize(l, b, &url).accept(login).grant_requested();
    let code = query_of(&back)["code"].clone();
    form(
        l,
        "/oauth2/token",
        Some((client, "secret")),
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB)],
    )
    .json_body()
}

fn userinfo(l: &L, at: &str) -> Value {
    let req = Request::new(Method::Get, "/userinfo").header("authorization", &format!("Bearer {at}"));
    block_on(l.handle(Port::Public, req)).1.json_body()
}

#[test]
fn pairwise_clients_see_a_sector_subject_and_the_admin_the_real_one() {
    let l = pairwise_latch(1);
    pairwise_client(&l, "rp-a", None);
    l.platform.serve("https://sector.example/ids.json", &json!([CB, "https://other.example/cb"]).to_string());
    pairwise_client(&l, "rp-b", Some("https://sector.example/ids.json"));
    let discovery = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration")));
    assert_eq!(discovery.1.json_body()["subject_types_supported"], json!(["public", "pairwise"]));

    let b = Browser::default();
    let a = tokens(&l, &b, "rp-a", json!({"subject": "alice", "remember": true}));
    let id_a = claims(&l, a["id_token"].as_str().unwrap());
    // §8.1: the sector is the host of the one redirect URI when no sector_identifier_uri is set.
    assert_eq!(id_a["sub"], expected("app.example", "alice"));
    let at = a["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&l, at)["sub"], expected("app.example", "alice"));
    let i = introspect(&l, at);
    assert_eq!(i["sub"], "alice");
    assert_eq!(i["obfuscated_subject"], expected("app.example", "alice"));

    // Another sector: another identifier for the same user, so the two RPs cannot join.
    let bb = tokens(&l, &b, "rp-b", json!({"subject": "alice"}));
    let id_b = claims(&l, bb["id_token"].as_str().unwrap());
    assert_eq!(id_b["sub"], expected("https://sector.example/ids.json", "alice"));
    assert_ne!(id_a["sub"], id_b["sub"]);

    // The login UI may choose the identifier itself (Hydra's force_subject_identifier).
    let forced =
        tokens(&l, &Browser::default(), "rp-a", json!({"subject": "bob", "force_subject_identifier": "bob-at-a"}));
    assert_eq!(claims(&l, forced["id_token"].as_str().unwrap())["sub"], "bob-at-a");
    assert_eq!(introspect(&l, forced["access_token"].as_str().unwrap())["sub"], "bob");
}

/// A public client's subject is the subject, and `force_subject_identifier` does not
/// apply to it (Hydra: it is for pairwise clients only); introspection has no
/// `obfuscated_subject`.
#[test]
fn public_clients_see_the_subject() {
    let l = pairwise_latch(2);
    create_client(
        &l,
        json!({"client_id": "pub", "client_secret": "secret", "grant_types": ["authorization_code"], "scope": "openid", "redirect_uris": [CB]}),
    );
    let t = tokens(&l, &Browser::default(), "pub", json!({"subject": "alice", "force_subject_identifier": "nope"}));
    assert_eq!(claims(&l, t["id_token"].as_str().unwrap())["sub"], "alice");
    assert!(introspect(&l, t["access_token"].as_str().unwrap()).get("obfuscated_subject").is_none());
}

/// A pairwise subject is refused where it cannot be computed: the server does not offer
/// pairwise, the client has several redirect URIs and no sector, or it wants JWT
/// access tokens (which would show it the real subject).
#[test]
fn pairwise_clients_are_refused_where_they_cannot_work() {
    let plain = latch(3);
    let r = admin(
        &plain,
        Method::Post,
        "/admin/clients",
        Some(json!({"client_id": "x", "subject_type": "pairwise", "redirect_uris": [CB]})),
    );
    assert_eq!((r.status, r.json_body()["error"].clone()), (400, json!("invalid_request")), "{:?}", r.json_body());
    let l = pairwise_latch(4);
    for body in [
        json!({"client_id": "y", "subject_type": "pairwise", "redirect_uris": [CB, "https://app.example/cb2"]}),
        json!({"client_id": "z", "subject_type": "pairwise", "redirect_uris": [CB], "access_token_strategy": "jwt"}),
        json!({"client_id": "w", "subject_type": "pairwise"}),
    ] {
        let r = admin(&l, Method::Post, "/admin/clients", Some(body.clone()));
        assert_eq!(r.status, 400, "{body}: {:?}", r.json_body());
    }
}

/// RP-initiated logout with a pairwise client's ID token as hint ends the browser's
/// session: the hint's `sub` is the pairwise one.
#[test]
fn a_pairwise_id_token_hint_logs_out() {
    let l = pairwise_latch(5);
    pairwise_client(&l, "rp-a", None);
    let b = Browser::default();
    let t = tokens(&l, &b, "rp-a", json!({"subject": "alice", "remember": true}));
    let hint = t["id_token"].as_str().unwrap();
    let r = b.get(&l, &format!("{ISSUER}/oauth2/sessions/logout?id_token_hint={hint}"));
    let to = location(&r);
    assert!(to.starts_with("https://login.example/logout?logout_challenge="), "{to}");
    let challenge = query_of(&to)["logout_challenge"].clone();
    let req = admin(&l, Method::Get, &format!("/admin/oauth2/auth/requests/logout?logout_challenge={challenge}"), None);
    assert_eq!(req.json_body()["subject"], "alice", "{:?}", req.json_body());
}

/// OIDC Core §8.1, Registration §5: a `sector_identifier_uri` is fetched when the client
/// is written, and must be an https URL whose JSON array lists every redirect URI of the
/// client; an unchanged one is not fetched again.
#[test]
fn the_sector_identifier_uri_must_list_the_redirect_uris() {
    let l = pairwise_latch(4);
    let body = |id: &str, sector: &str, redirects: Value| {
        json!({
            "client_id": id, "client_secret": "secret", "subject_type": "pairwise", "grant_types": ["authorization_code"],
            "scope": "openid", "redirect_uris": redirects, "sector_identifier_uri": sector
        })
    };
    l.platform.serve("https://sector.example/ok.json", &json!([CB, "https://app.example/cb2"]).to_string());
    l.platform.serve("https://sector.example/other.json", &json!(["https://app.example/cb2"]).to_string());
    l.platform.serve("https://sector.example/object.json", r#"{"redirect_uris": []}"#);
    for (sector, redirects, hint) in [
        ("http://sector.example/ok.json", json!([CB]), "must be an HTTPS URL"),
        ("https://sector.example/other.json", json!([CB]), "does not match values from sector_identifier_uri"),
        ("https://sector.example/object.json", json!([CB]), "Unable to decode values"),
        ("https://sector.example/missing.json", json!([CB]), "Unable to fetch"),
        (
            "https://sector.example/ok.json",
            json!([CB, "https://app.example/cb3"]),
            "\"https://app.example/cb3\" does not match",
        ),
    ] {
        let r = admin(&l, Method::Post, "/admin/clients", Some(body("bad", sector, redirects)));
        let e = r.json_body();
        assert_eq!((r.status, e["error"].as_str()), (400, Some("invalid_client_metadata")), "{sector}: {e}");
        assert!(
            e["error_description"].as_str().unwrap_or_default().contains(hint) || e.to_string().contains(hint),
            "{sector}: {e}"
        );
    }
    let ok = body("good", "https://sector.example/ok.json", json!([CB, "https://app.example/cb2"]));
    assert_eq!(admin(&l, Method::Post, "/admin/clients", Some(ok.clone())).status, 201);
    // The document changes; the client is updated without a change to its sector or
    // redirect URIs: not fetched again. A new redirect URI is checked against it.
    l.platform.serve("https://sector.example/ok.json", "[]");
    let mut renamed = ok.clone();
    renamed["client_name"] = json!("Good");
    assert_eq!(admin(&l, Method::Put, "/admin/clients/good", Some(renamed.clone())).status, 200);
    renamed["redirect_uris"] = json!([CB]);
    assert_eq!(admin(&l, Method::Put, "/admin/clients/good", Some(renamed)).status, 400);
}
