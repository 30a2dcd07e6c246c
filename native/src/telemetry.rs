//! Logs and distributed tracing: one `tracing` subscriber with a log layer (text or
//! JSON on stderr) and, when `TRACING_PROVIDER=otel`, an OpenTelemetry layer whose
//! spans go out as OTLP over HTTP (protobuf) in batches, from the SDK's own thread.
//!
//! Every HTTP request is one server span (see [`crate::app`]), named `METHOD route`
//! after the core's route pattern, never the raw path's values or the query (they can
//! carry tokens). A W3C `traceparent` header on the request makes the span a child of
//! the caller's trace.

use crate::config::TracingSettings;
use crate::Error;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Keeps the span exporter alive; [`Telemetry::shutdown`] flushes the spans still queued.
#[must_use = "dropping it without shutdown loses the spans still queued"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Whether spans are exported (an OpenTelemetry layer is installed). Lets the request
/// path skip the work only an exporter needs.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process exports spans.
pub fn exporting() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

type BoxedLayer = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;

/// Installs the process's subscriber. A second call (tests start many servers in one
/// process) keeps the first subscriber and exports nothing new.
pub fn init(level: &str, format: &str, tracing: Option<&TracingSettings>) -> Result<Telemetry, Error> {
    let level = match level {
        "warning" => "warn",
        "fatal" | "panic" => "error",
        l => l,
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},sqlx=warn")));
    let log: BoxedLayer = if format.starts_with("json") {
        tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr).boxed()
    } else {
        tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed()
    };
    let mut layers = vec![log];
    let provider = match tracing {
        Some(t) => {
            let provider = otlp_provider(t)?;
            layers.push(tracing_opentelemetry::layer().with_tracer(provider.tracer("latch")).boxed());
            opentelemetry::global::set_text_map_propagator(
                opentelemetry_sdk::propagation::TraceContextPropagator::new(),
            );
            Some(provider)
        }
        None => None,
    };
    let installed = tracing_subscriber::registry().with(layers).with(filter).try_init().is_ok();
    if let (true, Some(t)) = (installed, tracing) {
        EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(endpoint = %t.endpoint, ratio = t.sampling_ratio, "exporting spans with OTLP");
    }
    Ok(Telemetry { provider: provider.filter(|_| installed) })
}

fn otlp_provider(t: &TracingSettings) -> Result<SdkTracerProvider, Error> {
    let endpoint = t.endpoint.clone();
    // The blocking HTTP client must not be built on a Tokio worker thread (it owns a
    // runtime of its own), so the exporter is built on a plain thread.
    let exporter = std::thread::spawn(move || {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build()
    })
    .join()
    .map_err(|_| Error::Config("TRACING_PROVIDERS_OTLP_SERVER_URL: the exporter could not start".into()))?
    .map_err(|e| Error::Config(format!("TRACING_PROVIDERS_OTLP_SERVER_URL: {e}")))?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(t.service_name.clone()).build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(t.sampling_ratio))))
        .with_resource(resource)
        .build())
}

impl Telemetry {
    /// Exports what is still queued and stops the exporter (at graceful shutdown).
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            // The SDK's shutdown blocks until the exporter's thread has sent its batch.
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }
}

/// Reads the W3C trace context of an incoming request.
pub fn parent_context(headers: &axum::http::HeaderMap) -> opentelemetry::Context {
    struct Extract<'a>(&'a axum::http::HeaderMap);
    impl opentelemetry::propagation::Extractor for Extract<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&Extract(headers)))
}
