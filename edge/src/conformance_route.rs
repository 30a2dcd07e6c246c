//! Test only (cargo feature `conformance`): `POST /admin/test/conformance` runs the
//! storage conformance suite of `tests/src/conformance.rs`, unchanged, against the
//! Worker's D1 database, inside workerd. The database must be empty. A failing case
//! panics (the Worker's log shows which assertion); a passing run answers 200.

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
