//! RFC 7517 §4.7–§4.9: an imported key keeps its `x5c` certificate chain and its
//! `x5t`/`x5t#S256` thumbprints, in its private JWK (storage, the admin API) and its
//! public one (`/.well-known/jwks.json`), once they are shown to be the key's. The keys
//! and certificates are fixed test data made with OpenSSL (`tests/data/x5c`).

mod support;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use futures_executor::block_on;
use latch_core::http::{Method, Request};
use latch_core::keys::{verify_jws, Alg, SigningKey, ID_TOKEN_SET};
use latch_core::platform::FixedPlatform;
use latch_core::Port;
use serde_json::{json, Map, Value};
use sha2::Digest;
use support::{admin, latch};

macro_rules! data {
    ($name:literal) => {
        include_str!(concat!("data/x5c/", $name))
    };
}

/// Each key with its self-signed certificate, and an algorithm it signs with.
const KEYS: [(&str, &str, Alg); 6] = [
    (data!("rsa.key"), data!("rsa.crt"), Alg::Rs256),
    (data!("rsa.key"), data!("rsa.crt"), Alg::Ps384),
    (data!("p256.key"), data!("p256.crt"), Alg::Es256),
    (data!("p384.key"), data!("p384.crt"), Alg::Es384),
    (data!("p521.key"), data!("p521.crt"), Alg::Es512),
    (data!("ed25519.key"), data!("ed25519.crt"), Alg::EdDsa),
];

/// A certificate's `x5c` entry: the base64 of its DER, which is its PEM body.
fn x5c_entry(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn der(pem: &str) -> Vec<u8> {
    STANDARD.decode(x5c_entry(pem)).unwrap()
}

/// The private JWK of a PEM key, with `alg` and `kid`, and `extra` members.
fn jwk(key_pem: &str, alg: Alg, extra: Value) -> Value {
    let mut jwk = SigningKey::from_private_key(key_pem.as_bytes(), Some(alg), "k1").unwrap().private_jwk();
    for (name, value) in extra.as_object().unwrap() {
        jwk[name] = value.clone();
    }
    jwk
}

fn hint(e: latch_core::Error) -> String {
    e.hint.unwrap_or_default()
}

/// Every key type keeps its chain in both JWKs and through a round trip, and still
/// signs and verifies with the public JWK that carries it.
#[test]
fn an_imported_chain_is_kept_in_the_private_and_public_jwk() {
    let p = FixedPlatform::new(0, 1);
    for (key, crt, alg) in KEYS {
        let chain = json!([x5c_entry(crt)]);
        let k = SigningKey::from_jwk(&jwk(key, alg, json!({"x5c": chain}))).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        let (private, public) = (k.private_jwk(), k.public_jwk());
        assert_eq!(private["x5c"], chain, "{alg:?}");
        assert_eq!(public["x5c"], chain, "{alg:?}");
        assert!(public.get("d").is_none());
        let back = SigningKey::from_jwk(&private).unwrap();
        assert_eq!(back.private_jwk(), private, "{alg:?}: the round trip keeps it");
        let jws = block_on(k.sign(&p, "JWT", &Map::new())).unwrap();
        assert!(verify_jws(&public, &jws).is_some(), "{alg:?}");
    }
    // A generated key has none.
    let generated = SigningKey::generate(&p, Alg::Es256, "g").unwrap();
    assert!(generated.private_jwk().get("x5c").is_none() && generated.public_jwk().get("x5c").is_none());
}

/// A chain of two stays in its order, and the thumbprints are checked and kept.
#[test]
fn a_chain_and_its_thumbprints_are_kept_in_order() {
    let leaf = data!("p256-leaf.crt");
    let chain = json!([x5c_entry(leaf), x5c_entry(data!("ca.crt"))]);
    let x5t = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(der(leaf)));
    let x5t256 = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der(leaf)));
    let given = jwk(data!("p256.key"), Alg::Es256, json!({"x5c": chain, "x5t": x5t, "x5t#S256": x5t256}));
    let public = SigningKey::from_jwk(&given).unwrap().public_jwk();
    assert_eq!((&public["x5c"], &public["x5t"], &public["x5t#S256"]), (&chain, &json!(x5t), &json!(x5t256)));
    // A thumbprint of another certificate (the CA's) is refused.
    let wrong = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der(data!("ca.crt"))));
    let e = SigningKey::from_jwk(&jwk(data!("p256.key"), Alg::Es256, json!({"x5c": chain, "x5t#S256": wrong})));
    assert!(hint(e.unwrap_err()).contains("'x5t#S256' is not the SHA-256 thumbprint"));
}

/// A leaf for another key, garbage, base64url or a chain that is not an array are all
/// refused, with Hydra's error and a hint naming the fault.
#[test]
fn a_chain_that_is_not_the_keys_is_refused() {
    let p256 = data!("p256.key");
    for (key, alg, x5c, why) in [
        (p256, Alg::Es256, json!([x5c_entry(data!("ca.crt"))]), "another key"),
        (p256, Alg::Es256, json!([x5c_entry(data!("p384.crt"))]), "another key"),
        (data!("rsa.key"), Alg::Rs256, json!([x5c_entry(data!("ed25519.crt"))]), "another key"),
        (data!("ed25519.key"), Alg::EdDsa, json!([x5c_entry(data!("rsa.crt"))]), "another key"),
        (p256, Alg::Es256, json!([x5c_entry(data!("ca.crt")), x5c_entry(data!("p256.crt"))]), "another key"),
        (p256, Alg::Es256, json!(["%%% not base64 %%%"]), "not standard base64"),
        (p256, Alg::Es256, json!([URL_SAFE_NO_PAD.encode(der(data!("p256.crt")))]), "not standard base64"),
        (p256, Alg::Es256, json!([STANDARD.encode(b"not a certificate")]), "not a DER X.509 certificate"),
        (p256, Alg::Es256, json!([x5c_entry(data!("p256.crt")), "AAAA"]), "entry 2 is not a DER"),
        (p256, Alg::Es256, json!(x5c_entry(data!("p256.crt"))), "must be an array"),
    ] {
        let e = SigningKey::from_jwk(&jwk(key, alg, json!({ "x5c": x5c }))).expect_err(why);
        assert_eq!(e.code, latch_core::ErrorCode::InvalidRequest);
        let h = hint(e);
        assert!(h.starts_with("The JSON Web Key is not usable: ") && h.contains(why), "{why}: {h}");
    }
}

/// A PEM key followed by its certificates (`cat key.pem fullchain.pem`) imports with
/// them as its `x5c`; certificates of another key are refused.
#[test]
fn certificates_after_a_pem_key_become_its_chain() {
    let text = [data!("p256.key"), data!("p256-leaf.crt"), data!("ca.crt")].concat();
    let k = SigningKey::from_private_key(text.as_bytes(), None, "k").unwrap();
    assert_eq!(k.public_jwk()["x5c"], json!([x5c_entry(data!("p256-leaf.crt")), x5c_entry(data!("ca.crt"))]));
    let text = [data!("rsa.key"), data!("p256.crt")].concat();
    let e = SigningKey::from_private_key(text.as_bytes(), Some(Alg::Ps512), "k").unwrap_err();
    assert!(hint(e).contains("another key"));
    // Without certificates, nothing changes.
    let plain = SigningKey::from_private_key(data!("ed25519.key").as_bytes(), None, "k").unwrap();
    assert!(plain.public_jwk().get("x5c").is_none());
}

/// The admin API stores the chain with the key (sealed with its private JWK): a key set
/// PUT, read back and published keeps it; a bad chain is a 400 and stores nothing.
#[test]
fn the_admin_api_stores_and_publishes_the_chain() {
    let l = latch(3);
    let chain = json!([x5c_entry(data!("rsa.crt"))]);
    let mut key = jwk(data!("rsa.key"), Alg::Ps256, json!({"x5c": chain}));
    key["kid"] = "imported".into();
    let path = format!("/admin/keys/{ID_TOKEN_SET}");
    let r = admin(&l, Method::Put, &path, Some(json!({"keys": [key]})));
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert_eq!(r.json_body()["keys"][0]["x5c"], chain);
    let set = admin(&l, Method::Get, &path, None).json_body();
    assert_eq!(set["keys"][0]["x5c"], chain, "{set}");
    let one = admin(&l, Method::Get, &format!("{path}/imported"), None).json_body();
    assert_eq!(one["keys"][0]["x5c"], chain);
    let jwks = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/jwks.json"))).1.json_body();
    let published = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == "imported").cloned().unwrap();
    assert_eq!(published["x5c"], chain);
    assert!(published.get("d").is_none());
    // Another key's certificate: refused, and the key stored before is still the one.
    let mut bad = key.clone();
    bad["x5c"] = json!([x5c_entry(data!("p256.crt"))]);
    let r = admin(&l, Method::Put, &format!("{path}/imported"), Some(bad));
    assert_eq!((r.status, r.json_body()["error"].as_str()), (400, Some("invalid_request")), "{:?}", r.json_body());
    let one = admin(&l, Method::Get, &format!("{path}/imported"), None).json_body();
    assert_eq!(one["keys"][0]["x5c"], chain);
    // A generated key has no chain.
    let r = admin(&l, Method::Post, "/admin/keys/generated", Some(json!({"alg": "PS512", "kid": "g"})));
    assert_eq!(r.status, 201);
    assert!(r.json_body()["keys"][0].get("x5c").is_none());
}
