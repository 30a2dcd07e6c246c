//! The axum adapter: converts axum requests into core requests, calls
//! [`Latch::handle`], converts the answer back, and records metrics and a log line.

use crate::metrics::{self, HttpMetrics};
use crate::platform::NativePlatform;
use crate::store::SqlStore;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::Router;
use latch_core::http::{Method, Request, Response, MAX_BODY_BYTES};
use latch_core::{Endpoint, Error, ErrorCode, Latch, Port};
use opentelemetry::trace::TraceContextExt as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The server state every request shares.
pub type Server = Arc<Latch<SqlStore, NativePlatform>>;

/// The router of one port. Every path goes through the core's router. A request's body
/// must arrive within `limits.read_timeout` (the rest of the listener's limits are
/// [`crate::listener`]'s).
pub fn router(server: Server, port: Port, limits: &crate::config::ListenerSettings) -> Router {
    let body_timeout = limits.read_timeout;
    Router::new()
        .fallback(move |State(s): State<Server>, req: axum::extract::Request| handle(s, port, body_timeout, req))
        .with_state(server)
}

pub use latch_core::http::{acceptable_request_id, MAX_REQUEST_ID};

async fn handle(
    server: Server,
    port: Port,
    body_timeout: Duration,
    req: axum::extract::Request,
) -> axum::response::Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let method = Method::parse(parts.method.as_str());
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(acceptable_request_id)
        .map(str::to_string)
        .unwrap_or_else(|| server.new_uuid());
    // One server span per request, named after the route pattern once it is known (the
    // OpenTelemetry HTTP conventions); the query and body are never recorded.
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = method.as_str(),
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        latch.port = if port == Port::Public { "public" } else { "admin" },
        latch.request_id = %request_id,
    );
    if crate::telemetry::exporting() {
        let _ = span.set_parent(crate::telemetry::parent_context(&parts.headers));
    }
    let (endpoint, mut response) =
        handle_in_span(&server, port, method, parts, body, body_timeout).instrument(span.clone()).await;
    // The core does no IO: what the response leaves to do (back-channel logouts) is sent here.
    span.in_scope(|| {
        crate::platform::carry_out(std::mem::take(&mut response.effects), server.config.disallow_private_ip_ranges)
    });
    if response.status == 503 {
        // The database may be down: the store checks, and answers at once while it is.
        server.store.suspect_outage();
    }
    let label = endpoint.as_ref().map(Endpoint::pattern).unwrap_or("unmatched");
    if !span.is_disabled() {
        if crate::telemetry::exporting() {
            // The OpenTelemetry span has started by now (at the first enter), so its name
            // is set on it directly; recording `otel.name` only renames spans not yet started.
            span.context().span().update_name(format!("{} {label}", method.as_str()));
        }
        span.record("http.route", label);
        span.record("http.response.status_code", response.status);
        if response.status >= 500 {
            span.record("otel.status_code", "ERROR");
        }
    }
    let elapsed = started.elapsed();
    HttpMetrics::global().observe(method.as_str(), label, response.status, elapsed.as_secs_f64());
    // The path is logged, never the query or body: those can carry tokens and secrets.
    span.in_scope(|| {
        tracing::info!(
            request_id = %request_id,
            port = ?port,
            method = method.as_str(),
            endpoint = label,
            status = response.status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        )
    });
    to_axum(response, &request_id, method == Method::Head)
}

async fn handle_in_span(
    server: &Server,
    port: Port,
    method: Method,
    parts: axum::http::request::Parts,
    body: Body,
    body_timeout: Duration,
) -> (Option<Endpoint>, Response) {
    // The timer is armed only if the body is not in yet when first asked for.
    let read = tokio::time::timeout(body_timeout, axum::body::to_bytes(body, MAX_BODY_BYTES + 1)).await;
    let (endpoint, mut response) = match read {
        Err(_) => {
            let e = Error::new(ErrorCode::RequestTimeout)
                .with_hint(format!("The body must arrive within {} s of the header.", body_timeout.as_secs()));
            let mut r = server.error_response(&e);
            // The rest of the body may still come: the connection is not reused.
            r.headers.push(("connection".into(), "close".into()));
            (None, r)
        }
        Ok(Ok(bytes)) => {
            let core_req = Request {
                method,
                path: parts.uri.path().to_string(),
                query: parts.uri.query().map(str::to_string),
                headers: parts
                    .headers
                    .iter()
                    .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
                    .collect(),
                body: bytes.to_vec(),
                peer: parts.extensions.get::<crate::listener::Peer>().map(|p| p.0),
            };
            server.handle(port, core_req).await
        }
        Ok(Err(_)) => {
            let e = Error::new(ErrorCode::PayloadTooLarge)
                .with_hint(format!("The body may be at most {MAX_BODY_BYTES} bytes."));
            (None, server.error_response(&e))
        }
    };
    if endpoint == Some(Endpoint::Metrics) {
        response = Response {
            status: 200,
            headers: vec![("content-type".into(), "text/plain; version=0.0.4".into())],
            body: metrics::render().into_bytes(),
            effects: Vec::new(),
        };
    }
    (endpoint, response)
}

fn to_axum(r: Response, request_id: &str, head: bool) -> axum::response::Response {
    let mut headers = axum::http::HeaderMap::with_capacity(r.headers.len() + 1);
    for (n, v) in r.headers {
        match (HeaderName::try_from(n.as_str()), HeaderValue::try_from(v.as_str())) {
            (Ok(n), Ok(v)) => {
                headers.append(n, v);
            }
            // Never a response with a header quietly missing (a 302 without Location):
            // the core checks every header before this, so this is a bug, said loudly.
            _ => {
                tracing::error!(header = %n, "a response header cannot be encoded; answering 500");
                let e = Error::server(format!("the response header {n:?} cannot be encoded"));
                return to_axum(Response::error(&e, false), request_id, head);
            }
        }
    }
    let body = if head { Body::empty() } else { Body::from(r.body) };
    let mut out = axum::response::Response::new(body);
    *out.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::try_from(request_id) {
        headers.insert("x-request-id", v);
    }
    *out.headers_mut() = headers;
    out
}
