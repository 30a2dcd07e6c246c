//! RFC 9207: every authorization response, success or error, in every response mode,
//! names the issuer (`iss`), and discovery says so.

use latch_core::http::{Method, Request};
use latch_core::Port;

mod support;

use support::{
    app_client, auth_url_of, handle, latch, location, query_of, remember_login_and_consent, Browser, ISSUER,
};

#[test]
fn every_authorization_response_names_the_issuer() {
    let l = latch(9);
    app_client(&l);
    let d = handle(&l, Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration")).json_body();
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    // A code, in the query.
    let back = remember_login_and_consent(&l, &Browser::default());
    let q = query_of(&back);
    assert!(q.contains_key("code"), "{back}");
    assert_eq!(q["iss"], ISSUER, "{back}");
    // An error at the start of a flow (a scope the client may not ask for).
    let b = Browser::default();
    let r = b.get(&l, &auth_url_of("app", "openid+admin", ""));
    let q = query_of(&location(&r));
    assert_eq!((q["error"].as_str(), q["iss"].as_str()), ("invalid_scope", ISSUER), "{q:?}");
    // In the fragment (an error of the implicit flow's mode) and in a form post.
    let r = b.get(&l, &auth_url_of("app", "openid+admin", "&response_mode=fragment"));
    let at = location(&r);
    assert!(at.contains('#') && query_of(&at)["iss"] == ISSUER, "{at}");
    let r = b.get(&l, &auth_url_of("app", "openid+admin", "&response_mode=form_post"));
    let page = String::from_utf8_lossy(&r.body).to_string();
    assert!(page.contains(&format!("name=\"iss\" value=\"{ISSUER}\"")), "{page}");
}
