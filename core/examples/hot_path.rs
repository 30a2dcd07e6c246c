//! Times the core's hot paths over the in-memory store, with no HTTP and no database:
//! `cargo run --release -p latch-core --example hot_path`. Used by `bench/` to tell
//! protocol cost from transport and storage cost.

use base64::Engine as _;
use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request};
use latch_core::memory::MemoryStore;
use latch_core::platform::FixedPlatform;
use latch_core::{Latch, Port};
use std::time::Instant;

fn main() {
    let config = Config::new("https://auth.example", b"0123456789abcdef-system-secret");
    let l = Latch::new(MemoryStore::new(), FixedPlatform::new(1_700_000_000, 1), config);
    let create = Request::new(Method::Post, "/admin/clients").json(&serde_json::json!({
        "client_id": "b", "client_secret": "bench-secret", "grant_types": ["client_credentials"], "scope": "read"
    }));
    assert_eq!(block_on(l.handle(Port::Admin, create)).1.status, 201);
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("b:bench-secret"));
    let token_req = Request::new(Method::Post, "/oauth2/token")
        .header("authorization", &auth)
        .form(&[("grant_type", "client_credentials"), ("scope", "read")]);
    let n = 20_000;
    let start = Instant::now();
    let mut last = String::new();
    for _ in 0..n {
        let r = block_on(l.handle(Port::Public, token_req.clone())).1;
        last = r.json_body()["access_token"].as_str().unwrap_or_default().to_string();
    }
    let el = start.elapsed();
    println!(
        "client_credentials: {:.0} tokens/s ({:.1} µs each)",
        n as f64 / el.as_secs_f64(),
        el.as_micros() as f64 / n as f64
    );
    let intro = Request::new(Method::Post, "/admin/oauth2/introspect").form(&[("token", &last)]);
    let start = Instant::now();
    for _ in 0..n {
        let r = block_on(l.handle(Port::Admin, intro.clone())).1;
        assert_eq!(r.status, 200);
    }
    let el = start.elapsed();
    println!("introspection: {:.0} /s ({:.1} µs each)", n as f64 / el.as_secs_f64(), el.as_micros() as f64 / n as f64);
}
