//! The tutorial's CLI commands against the Cloudflare Worker: the same `latch` commands
//! as against the native server, with the Worker's origin as both endpoints and the admin
//! credential from `--admin-token` or `LATCH_ADMIN_TOKEN`.
//!
//! Ignored in a plain `cargo test`: it needs a Worker running under `wrangler dev`, which
//! `scripts/edge-test` starts (it sets `LATCH_TEST_WORKER_URL` and
//! `LATCH_TEST_WORKER_ADMIN_TOKEN` and runs this with `--ignored`).

use serde_json::Value;
use std::process::{Command, Output};

const LATCH: &str = env!("CARGO_BIN_EXE_latch");

fn worker() -> (String, String) {
    let need = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run scripts/edge-test, which starts the Worker"))
    };
    (format!("{}/", need("LATCH_TEST_WORKER_URL").trim_end_matches('/')), need("LATCH_TEST_WORKER_ADMIN_TOKEN"))
}

/// `latch <args>` with the admin credential in the environment (or not).
fn latch(args: &[&str], admin_token: Option<&str>) -> Output {
    let mut cmd = Command::new(LATCH);
    cmd.args(args).env_remove("LATCH_ADMIN_URL").env_remove("LATCH_URL").env_remove("ORY_SDK_URL");
    match admin_token {
        Some(t) => cmd.env("LATCH_ADMIN_TOKEN", t),
        None => cmd.env_remove("LATCH_ADMIN_TOKEN"),
    };
    cmd.output().expect("latch runs")
}

fn ok(args: &[&str], admin_token: Option<&str>) -> String {
    let o = latch(args, admin_token);
    assert!(o.status.success(), "latch {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
#[ignore = "needs a running Worker: scripts/edge-test runs it"]
fn tutorial_cli_against_the_worker() {
    let (url, token) = worker();
    let url = url.as_str();
    // Unique per run: the Worker's D1 database outlives one test binary.
    let id = format!("cli-{}", std::process::id());

    // Without the admin credential the Worker refuses, and the CLI says so.
    let o = latch(
        &["clients", "create", "--endpoint", url, "--id", &id, "--secret", "secret", "-g", "client_credentials"],
        None,
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("401") || err.to_lowercase().contains("unauthorized"), "{err}");

    // Hydra v1's tutorial, credential from the environment.
    let out = ok(
        &["clients", "create", "--endpoint", url, "--id", &id, "--secret", "secret", "-g", "client_credentials"],
        Some(&token),
    );
    assert!(out.contains(&format!("OAuth 2.0 Client ID: {id}")), "{out}");
    let out = ok(&["token", "client", "--endpoint", url, "--client-id", &id, "--client-secret", "secret"], None);
    assert_eq!(out.lines().count(), 1, "the token and nothing else: {out:?}");
    let access = out.trim();
    assert!(access.starts_with("latch_at_"), "{out}");
    // The credential as a flag this time.
    let v: Value =
        serde_json::from_str(&ok(&["token", "introspect", "--endpoint", url, "--admin-token", &token, access], None))
            .expect("JSON");
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["client_id"], id.as_str());
    // The tutorial's exact form, with the client's credentials: the admin credential
    // still goes (it used to be replaced by them, a 401).
    let v: Value = serde_json::from_str(&ok(
        &["token", "introspect", "--endpoint", url, "--client-id", &id, "--client-secret", "secret", access],
        Some(&token),
    ))
    .expect("JSON");
    assert_eq!(v["active"], true, "{v}");

    // Hydra v2's forms.
    let created: Value = serde_json::from_str(&ok(
        &[
            "create",
            "client",
            "--endpoint",
            url,
            "--format",
            "json",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
        ],
        Some(&token),
    ))
    .expect("JSON");
    let (v2_id, v2_secret) =
        (created["client_id"].as_str().expect("id"), created["client_secret"].as_str().expect("secret"));
    let tok: Value = serde_json::from_str(&ok(
        &[
            "perform",
            "client-credentials",
            "--endpoint",
            url,
            "--client-id",
            v2_id,
            "--client-secret",
            v2_secret,
            "--scope",
            "read",
            "--format",
            "json",
        ],
        None,
    ))
    .expect("JSON");
    let t2 = tok["access_token"].as_str().expect("token");
    let introspect = |t: &str| -> Value {
        serde_json::from_str(&ok(&["introspect", "token", "--endpoint", url, "--format", "json", t], Some(&token)))
            .expect("JSON")
    };
    assert_eq!(introspect(t2)["scope"], "read");
    ok(&["revoke", "token", "--endpoint", url, "--client-id", v2_id, "--client-secret", v2_secret, t2], None);
    assert_eq!(introspect(t2)["active"], false, "revoked at once");
    let got: Value =
        serde_json::from_str(&ok(&["get", "client", "--endpoint", url, "--format", "json", v2_id], Some(&token)))
            .expect("JSON");
    assert_eq!(got["client_id"], v2_id);
    ok(&["delete", "client", "--endpoint", url, v2_id, &id], Some(&token));
    let o = latch(&["get", "client", "--endpoint", url, v2_id], Some(&token));
    assert!(!o.status.success(), "deleted");
}
