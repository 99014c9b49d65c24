//! Prometheus metrics at `GET /metrics`: HTTP requests and latency per route, lookups by outcome,
//! database pool use. A small registry of our own, held in the application state rather than
//! in a global recorder, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::conversation::stats::LookupRecorder;
use crate::store::{PoolStats, Store};

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    /// Cumulative counts per bucket, as Prometheus expects.
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, bucket) in BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

#[derive(Default)]
struct Http {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// The HTTP metrics registry.
#[derive(Default)]
pub struct Metrics {
    http: Mutex<Http>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        *http
            .requests
            .entry((route.to_owned(), method.to_owned(), status))
            .or_insert(0) += 1;
        http.latency
            .entry(route.to_owned())
            .or_default()
            .observe(seconds);
    }

    /// The Prometheus text exposition of everything measured.
    pub fn render(&self, lookups: &LookupRecorder, pool: PoolStats) -> String {
        let mut out = String::new();
        let http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str(
            "# HELP maktab_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE maktab_http_requests_total counter\n");
        for ((route, method, status), count) in &http.requests {
            let _ = writeln!(
                out,
                "maktab_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP maktab_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE maktab_http_request_duration_seconds histogram\n");
        for (route, histogram) in &http.latency {
            for (bound, count) in BUCKETS.iter().zip(histogram.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "maktab_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "maktab_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
                 maktab_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 maktab_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count, histogram.sum, histogram.count
            );
        }
        drop(http);
        out.push_str("# HELP maktab_lookups_total Voter lookups by channel and outcome.\n");
        out.push_str("# TYPE maktab_lookups_total counter\n");
        for (channel, outcome, count) in lookups.totals() {
            let _ = writeln!(
                out,
                "maktab_lookups_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str("# HELP maktab_db_pool_connections Database pool connections by state.\n");
        out.push_str("# TYPE maktab_db_pool_connections gauge\n");
        let _ = writeln!(
            out,
            "maktab_db_pool_connections{{state=\"idle\"}} {}",
            pool.idle
        );
        let _ = writeln!(
            out,
            "maktab_db_pool_connections{{state=\"in_use\"}} {}",
            pool.size.saturating_sub(pool.idle)
        );
        let _ = writeln!(out, "maktab_db_pool_max_connections {}", pool.max);
        out
    }
}

/// Middleware: counts and times every request under its route pattern (not the raw path, so
/// NINs or ids in paths never become labels).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// What `GET /metrics` needs.
#[derive(Clone)]
pub struct MetricsState {
    pub metrics: Arc<Metrics>,
    pub recorder: Arc<LookupRecorder>,
    pub store: Arc<dyn Store>,
}

/// `GET /metrics`.
pub async fn render(State(state): State<MetricsState>) -> impl IntoResponse {
    let body = state
        .metrics
        .render(&state.recorder, state.store.pool_stats());
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
