//! The admin API under `/api/v1`, for municipal election offices and the national authority:
//! imports over HTTP, change sets and campaigns, the audit log, lookup and roll statistics,
//! reports of citizens missing from the roll and their clerks, the duty desk's tickets and
//! roster, and the OpenAPI document.
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
pub mod tickets;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, get, post};
use tower_http::timeout::TimeoutLayer;

use crate::office::Office;

/// Requests other than imports must finish within this.
const API_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest body of a request other than an import.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// A national roll upload can take many minutes.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(2 * 3600);

/// What the admin handlers need.
#[derive(Clone)]
pub struct AdminState {
    pub office: Office,
    /// The largest import upload, in bytes.
    pub import_max_bytes: u64,
}

/// A route of the admin API: its method and its path, spelled as in the OpenAPI document.
pub type Endpoint = (Method, &'static str);

/// Routes being registered, with the list of what was registered: the one place that names
/// the routes, so that a test can hold the OpenAPI document to them.
struct Routes {
    router: Router<AdminState>,
    endpoints: Vec<Endpoint>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            endpoints: Vec::new(),
        }
    }

    fn get<H: Handler<T, AdminState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::GET, path, get(handler))
    }

    fn post<H: Handler<T, AdminState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::POST, path, post(handler))
    }

    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<AdminState>) -> Self {
        self.endpoints.push((method, path));
        // Two methods on one path are merged by axum into one method router.
        self.router = self.router.route(path, route);
        self
    }

    /// Both groups' routes (imports, and the rest), and their endpoints.
    fn all() -> (Self, Self) {
        let imports = Self::new()
            .post("/api/v1/imports/{kind}", imports::import)
            .post("/api/v1/imports/{kind}/errors", imports::import_errors);
        let rest = Self::new()
            .get("/api/v1/whoami", auth::whoami)
            .get("/api/v1/imports", imports::list_imports)
            .get("/api/v1/audit", audit::audit)
            .get("/api/v1/audit/verify", audit::verify_audit)
            .get("/api/v1/stats/lookups", stats::lookup_stats)
            .get("/api/v1/stats/roll", stats::roll_stats)
            .get("/api/v1/openapi.json", openapi::openapi_json)
            .get("/api/v1/changes", changes::list_changes)
            .get("/api/v1/changes/{id}", changes::show_change)
            .post("/api/v1/changes/{id}/approve", changes::approve_change)
            .post("/api/v1/changes/{id}/reject", changes::reject_change)
            .get("/api/v1/campaigns", campaigns::list_campaigns)
            .post("/api/v1/campaigns", campaigns::create_broadcast)
            .get("/api/v1/campaigns/{id}", campaigns::show_campaign)
            .post(
                "/api/v1/campaigns/{id}/{action}",
                campaigns::campaign_action,
            )
            .get("/api/v1/reports", reports::list_reports)
            .get("/api/v1/reports/export", reports::export_reports)
            .post("/api/v1/reports/handled", reports::mark_handled)
            .get("/api/v1/stats/reports", reports::report_stats)
            .get("/api/v1/clerks", clerks::list_clerks)
            .post("/api/v1/clerks", clerks::invite_clerk)
            .post("/api/v1/clerks/{id}/revoke", clerks::revoke_clerk)
            .get("/api/v1/tickets", tickets::list_tickets)
            .get("/api/v1/tickets/{id}", tickets::show_ticket)
            .post("/api/v1/tickets/{id}/take", tickets::take_ticket)
            .post("/api/v1/tickets/{id}/reply", tickets::reply_ticket)
            .post("/api/v1/tickets/{id}/note", tickets::note_ticket)
            .post("/api/v1/tickets/{id}/close", tickets::close_ticket)
            .get("/api/v1/duty/shifts", tickets::list_shifts)
            .post("/api/v1/duty/shifts", tickets::add_shift)
            .post("/api/v1/duty/shifts/{id}/remove", tickets::remove_shift)
            .get("/api/v1/duty/now", tickets::on_duty)
            .get("/api/v1/duty/stats", tickets::duty_stats);
        (imports, rest)
    }
}

/// Every route of the admin API, as [`router`] registers them.
pub fn endpoints() -> Vec<Endpoint> {
    let (imports, rest) = Routes::all();
    imports
        .endpoints
        .into_iter()
        .chain(rest.endpoints)
        .collect()
}

/// The `/api/v1` routes over their state.
pub fn router(state: AdminState) -> Router {
    let (imports, rest) = Routes::all();
    let imports = imports
        .router
        // The import handler enforces its own, configurable limit while streaming.
        .layer(DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            IMPORT_TIMEOUT,
        ));
    let rest = rest
        .router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            API_TIMEOUT,
        ));
    imports.merge(rest).with_state(state)
}
