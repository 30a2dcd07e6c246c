//! A client registration body as the admin API reads it: JSON into Hydra's client
//! model, then validation. Either a clear error or a client whose every URL a browser
//! may be sent to is http(s) or a native-app scheme, never script.
#![no_main]

use latch_core::client::Client;
use latch_core::http::{Method, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut req = Request::new(Method::Post, "/admin/clients").header("content-type", "application/json");
    req.body = data.to_vec();
    let Ok(mut client) = req.json_body::<Client>() else { return };
    if client.validate(false).is_err() {
        return;
    }
    for uri in client.redirect_uris.iter().chain(&client.post_logout_redirect_uris) {
        let scheme = uri.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        assert!(
            !matches!(scheme.as_str(), "javascript" | "data" | "vbscript" | "file"),
            "a dangerous redirect URI was accepted: {uri:?}"
        );
    }
});
