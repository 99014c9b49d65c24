//! The admin API under `/api/v1`, for municipal election offices and the national authority:
//! scoped bearer tokens, imports over HTTP, the append-only audit log, lookup and roll
//! statistics, reports of citizens missing from the roll and their clerks, Prometheus metrics
//! and the OpenAPI document.

pub mod auth;
pub mod changes;
pub mod error;
pub mod imports;
pub mod metrics;
pub mod notice_routes;
pub mod openapi;
pub mod reports;
pub mod routes;
pub mod stats;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

use crate::server::App;

/// Requests other than imports must finish within this.
const API_TIMEOUT: Duration = Duration::from_secs(30);
/// A national roll upload can take many minutes.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(2 * 3600);

/// The `/api/v1` routes.
pub fn router() -> Router<App> {
    let imports = Router::new()
        .route("/api/v1/imports/{kind}", post(routes::import))
        // The import handler enforces its own, configurable limit while streaming.
        .layer(DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            IMPORT_TIMEOUT,
        ));
    let rest = Router::new()
        .route("/api/v1/whoami", get(routes::whoami))
        .route("/api/v1/imports", get(routes::list_imports))
        .route("/api/v1/audit", get(routes::audit))
        .route("/api/v1/stats/lookups", get(routes::lookup_stats))
        .route("/api/v1/stats/roll", get(routes::roll_stats))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/changes", get(notice_routes::list_changes))
        .route("/api/v1/changes/{id}", get(notice_routes::show_change))
        .route(
            "/api/v1/changes/{id}/approve",
            post(notice_routes::approve_change),
        )
        .route(
            "/api/v1/changes/{id}/reject",
            post(notice_routes::reject_change),
        )
        .route(
            "/api/v1/campaigns",
            get(notice_routes::list_campaigns).post(notice_routes::create_broadcast),
        )
        .route("/api/v1/campaigns/{id}", get(notice_routes::show_campaign))
        .route("/api/v1/reports", get(reports::list_reports))
        .route("/api/v1/reports/export", get(reports::export_reports_route))
        .route("/api/v1/reports/handled", post(reports::handled_route))
        .route("/api/v1/stats/reports", get(reports::report_stats))
        .route(
            "/api/v1/clerks",
            get(reports::list_clerks).post(reports::invite_route),
        )
        .route("/api/v1/clerks/{id}/revoke", post(reports::revoke_route))
        .route(
            "/api/v1/campaigns/{id}/{action}",
            post(notice_routes::campaign_action),
        )
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            API_TIMEOUT,
        ));
    imports.merge(rest)
}
