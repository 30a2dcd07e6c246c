//! Prometheus metrics with Hydra's names and labels (`oryx/prometheusx/metrics.go`):
//! `http_requests_total{code,method,endpoint}`,
//! `http_requests_duration_seconds{code,method,endpoint}`,
//! `http_response_time_seconds{endpoint}` and
//! `http_requests_statuses_total{method,status_bucket}`, registered in the default
//! registry beside the process collector.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use std::sync::OnceLock;

/// The HTTP metrics.
pub struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    response_time: HistogramVec,
    statuses: IntCounterVec,
}

impl HttpMetrics {
    /// The process-wide metrics, registered once.
    pub fn global() -> &'static HttpMetrics {
        static M: OnceLock<HttpMetrics> = OnceLock::new();
        M.get_or_init(|| {
            // Registration fails only for duplicate names, which the OnceLock rules out.
            let reg = prometheus::default_registry();
            let m = HttpMetrics {
                requests: IntCounterVec::new(
                    Opts::new("http_requests_total", "Counts the HTTP requests by status code, method and endpoint."),
                    &["code", "method", "endpoint"],
                )
                .expect("valid metric"),
                duration: HistogramVec::new(
                    HistogramOpts::new("http_requests_duration_seconds", "Time spent serving HTTP requests."),
                    &["code", "method", "endpoint"],
                )
                .expect("valid metric"),
                response_time: HistogramVec::new(
                    HistogramOpts::new("http_response_time_seconds", "Response time by endpoint."),
                    &["endpoint"],
                )
                .expect("valid metric"),
                statuses: IntCounterVec::new(
                    Opts::new("http_requests_statuses_total", "Counts the HTTP responses by status class."),
                    &["method", "status_bucket"],
                )
                .expect("valid metric"),
            };
            let _ = reg.register(Box::new(m.requests.clone()));
            let _ = reg.register(Box::new(m.duration.clone()));
            let _ = reg.register(Box::new(m.response_time.clone()));
            let _ = reg.register(Box::new(m.statuses.clone()));
            m
        })
    }

    /// Records one served request.
    pub fn observe(&self, method: &str, endpoint: &str, status: u16, seconds: f64) {
        let code = status.to_string();
        self.requests.with_label_values(&[&code, method, endpoint]).inc();
        self.duration.with_label_values(&[&code, method, endpoint]).observe(seconds);
        self.response_time.with_label_values(&[endpoint]).observe(seconds);
        let bucket = format!("{}xx", status / 100);
        self.statuses.with_label_values(&[method, &bucket]).inc();
    }
}

/// The default registry in the Prometheus text format.
pub fn render() -> String {
    use prometheus::Encoder;
    let mut buf = Vec::new();
    let encoder = prometheus::TextEncoder::new();
    if encoder.encode(&prometheus::gather(), &mut buf).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}
