//! Test only (cargo feature `conformance`): `POST /admin/test/conformance` runs the
//! storage conformance suite of `tests/src/conformance.rs`, unchanged, against the
//! Worker's D1 database, inside workerd. The database must be empty. A failing case
//! panics (the Worker's log shows which assertion); a passing run answers 200.
//! `GET /admin/test/ops` answers the store's D1/KV operation counters.

#[path = "../../tests/src/conformance.rs"]
#[allow(dead_code, clippy::all)]
mod suite;

use crate::store::D1Store;
use latch_core::http::Response;

/// Where the route is (behind the admin token like every admin path).
pub const PATH: &str = "/admin/test/conformance";

/// Runs every case.
pub async fn run(store: &D1Store) -> Response {
    let started = worker::js_sys::Date::now();
    suite::run(store).await;
    let ms = worker::js_sys::Date::now() - started;
    Response::json(200, &serde_json::json!({"conformance": "passed", "ms": ms}))
}

/// `GET` this path: the D1 and KV operations the store has counted since the isolate
/// started ([`crate::store::Ops`]); `bench/worker-ops.mjs` reads it before and after
/// each request it measures.
pub const OPS_PATH: &str = "/admin/test/ops";

/// The counters as JSON.
pub fn ops(store: &D1Store) -> Response {
    let o = store.ops();
    Response::json(
        200,
        &serde_json::json!({
            "d1_calls": o.d1_calls, "d1_statements": o.d1_statements, "kv_reads": o.kv_reads, "kv_writes": o.kv_writes,
        }),
    )
}
