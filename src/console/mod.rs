//! The web console under `/console/`: server-rendered HTML pages in Arabic (right to left)
//! and French for commune election offices and the national authority, over the
//! [`office`](crate::office) and nothing else: every page reads and every form acts through
//! an [`Office`] method with the signed-in user's [`Principal`](crate::office::Principal), so
//! what a user may see and change is decided where the API and the command line have it
//! decided.
//!
//! # Layout
//!
//! - [`session`]: the session cookie, the signed-in user of a request, the language cookie.
//! - [`text`]: the console's Fluent catalogues.
//! - [`chart`]: bar charts as inline SVG, drawn on the server.
//! - [`pages`]: every page and form handler with its template (`templates/console/`).
//!
//! # Safety
//!
//! Sessions live in the database (see [`crate::office::users`]); the cookie is `HttpOnly`,
//! `SameSite=Strict`, and `Secure` when the console's public URL is HTTPS. Every POST carries
//! the session's CSRF token, checked here by [`guard`] before any handler runs (the sign-in
//! form, which has no session yet, carries a token doubled in a cookie instead). Every answer
//! has a strict `Content-Security-Policy` (no inline script, nothing from elsewhere),
//! `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`. The style sheet and script are
//! compiled into the binary.

pub mod chart;
pub mod pages;
pub mod plan;
pub mod qr;
pub mod session;
pub mod text;
pub mod uploads;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

use crate::office::Office;
use crate::office::users::SessionPolicy;

pub use text::Texts;

/// Largest form body (all forms but uploads).
const FORM_MAX_BYTES: usize = 64 * 1024;
/// Pages must answer within this; uploads get [`IMPORT_TIMEOUT`].
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);
const IMPORT_TIMEOUT: Duration = Duration::from_secs(2 * 3600);

/// The console's configuration.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    pub policy: SessionPolicy,
    /// Mark cookies `Secure` (the public URL is HTTPS).
    pub secure_cookies: bool,
    /// The largest import upload, in bytes.
    pub import_max_bytes: u64,
    /// The Telegram bot's username, for the deep link shown with a clerk's invitation.
    pub bot_username: Option<String>,
    /// The legal limit of voters per station: the plan page's default.
    pub max_voters_per_station: u32,
}

/// What the console's handlers need.
#[derive(Clone)]
pub struct ConsoleState {
    pub office: Office,
    pub texts: Arc<Texts>,
    pub settings: Arc<ConsoleSettings>,
}

const CSS: &str = include_str!("../../templates/console/static/console.css");
const JS: &str = include_str!("../../templates/console/static/console.js");

/// The `/console/` routes over their state.
pub fn router(state: ConsoleState) -> Router {
    let uploads = Router::new()
        .route("/console/imports", post(uploads::upload))
        .route("/console/imports/errors", post(uploads::errors))
        .route("/console/plan", post(plan::run))
        // The handler streams the upload to disk within its own, configured limit.
        .layer(DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            IMPORT_TIMEOUT,
        ));
    let pages = Router::new()
        .route("/console", get(pages::entry))
        .route("/console/", get(pages::entry))
        .route("/console/login", post(pages::login))
        .route("/console/logout", post(pages::logout))
        .route(
            "/console/second-factor",
            get(pages::second_factor).post(pages::give_second_factor),
        )
        .route("/console/lang/{lang}", get(pages::switch_language))
        .route("/console/static/console.css", get(css))
        .route("/console/static/console.js", get(js))
        .route("/console/dashboard", get(pages::dashboard))
        .route("/console/changes", get(pages::changes))
        .route("/console/changes/{id}", get(pages::change))
        .route("/console/changes/{id}/{decision}", post(pages::decide))
        .route("/console/imports", get(pages::imports))
        .route("/console/plan", get(plan::form))
        .route("/console/audit", get(pages::audit))
        .route("/console/notices", get(pages::notices).post(pages::draft))
        .route("/console/notices/{id}/confirm", post(pages::confirm))
        .route("/console/campaigns/{id}/{action}", post(pages::control))
        .route("/console/reports", get(pages::reports))
        .route("/console/reports/export", get(pages::export))
        .route("/console/reports/handle", post(pages::handle))
        .route("/console/clerks", get(pages::clerks).post(pages::invite))
        .route("/console/clerks/{id}/revoke", post(pages::revoke))
        .route("/console/users", get(pages::users).post(pages::create_user))
        .route("/console/tickets", get(pages::duty::tickets))
        .route("/console/tickets/{id}", get(pages::duty::ticket))
        .route("/console/tickets/{id}/{action}", post(pages::duty::act))
        .route(
            "/console/duty",
            get(pages::duty::duty).post(pages::duty::add_shift),
        )
        .route("/console/duty/{id}/remove", post(pages::duty::remove_shift))
        .route("/console/users/{login}/{action}", post(pages::change_user))
        .layer(DefaultBodyLimit::max(FORM_MAX_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            PAGE_TIMEOUT,
        ));
    Router::new()
        .merge(uploads)
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Assets change only with the binary; a day is short enough for an upgrade.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// The content security policy of every page: only this origin, no inline script, no
/// framing, forms only to this origin. Inline SVG is markup, not script or style, and passes.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Checks the CSRF token of every POST (except the sign-in, which checks its own) before the
/// handler runs, and puts the security headers on every answer.
async fn guard(State(state): State<ConsoleState>, request: Request, next: Next) -> Response {
    let request = if request.method() == Method::POST && request.uri().path() != "/console/login" {
        session::check_csrf(&state, request).await
    } else {
        Ok(request)
    };
    let mut response = match request {
        Ok(request) => next.run(request).await,
        Err(response) => response,
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show personal and office data: never kept by a shared or browser cache.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A plain refusal before any page is involved (a CSRF failure, an unreadable form).
fn refused(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from(text),
    )
        .into_response()
}
