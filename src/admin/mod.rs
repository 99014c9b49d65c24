//! The admin API under `/api/v1`, for municipal election offices and the national authority:
//! imports over HTTP, change sets and campaigns, the audit log, lookup and roll statistics,
//! reports of citizens missing from the roll and their clerks, and the OpenAPI document.
//!
//! Each handler is a thin caller of the [`office`](crate::office): it reads the bearer token
//! into a [`Principal`](crate::office::Principal), parses the request, calls the office and
//! answers JSON. Authorization is the office's; errors become HTTP answers in one place
//! ([`error::ApiError`]). The router owns its state, [`AdminState`].

pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod changes;
pub mod clerks;
pub mod error;
pub mod extract;
pub mod imports;
pub mod openapi;
pub mod reports;
pub mod stats;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

use crate::office::Office;

/// Requests other than imports must finish within this.
const API_TIMEOUT: Duration = Duration::from_secs(30);
/// A national roll upload can take many minutes.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(2 * 3600);

/// What the admin handlers need.
#[derive(Clone)]
pub struct AdminState {
    pub office: Office,
    /// The largest import upload, in bytes.
    pub import_max_bytes: u64,
}

/// The `/api/v1` routes over their state.
pub fn router(state: AdminState) -> Router {
    let imports = Router::new()
        .route("/api/v1/imports/{kind}", post(imports::import))
        .route(
            "/api/v1/imports/{kind}/errors",
            post(imports::import_errors),
        )
        // The import handler enforces its own, configurable limit while streaming.
        .layer(DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            IMPORT_TIMEOUT,
        ));
    let rest = Router::new()
        .route("/api/v1/whoami", get(auth::whoami))
        .route("/api/v1/imports", get(imports::list_imports))
        .route("/api/v1/audit", get(audit::audit))
        .route("/api/v1/stats/lookups", get(stats::lookup_stats))
        .route("/api/v1/stats/roll", get(stats::roll_stats))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/changes", get(changes::list_changes))
        .route("/api/v1/changes/{id}", get(changes::show_change))
        .route(
            "/api/v1/changes/{id}/approve",
            post(changes::approve_change),
        )
        .route("/api/v1/changes/{id}/reject", post(changes::reject_change))
        .route(
            "/api/v1/campaigns",
            get(campaigns::list_campaigns).post(campaigns::create_broadcast),
        )
        .route("/api/v1/campaigns/{id}", get(campaigns::show_campaign))
        .route(
            "/api/v1/campaigns/{id}/{action}",
            post(campaigns::campaign_action),
        )
        .route("/api/v1/reports", get(reports::list_reports))
        .route("/api/v1/reports/export", get(reports::export_reports))
        .route("/api/v1/reports/handled", post(reports::mark_handled))
        .route("/api/v1/stats/reports", get(reports::report_stats))
        .route(
            "/api/v1/clerks",
            get(clerks::list_clerks).post(clerks::invite_clerk),
        )
        .route("/api/v1/clerks/{id}/revoke", post(clerks::revoke_clerk))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            API_TIMEOUT,
        ));
    imports.merge(rest).with_state(state)
}
