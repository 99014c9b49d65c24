//! Who is signed in, and in which language they read: the session cookie and the office's
//! check of it, the CSRF check of every POST, the language cookie.

// Handlers answer `Result<Response, Response>`: the error is the page sent back, built once
// per request; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::{ConsoleState, FORM_MAX_BYTES, refused};
use crate::domain::Locale;
use crate::office::users::{ConsoleSession, SecondFactor};

/// The session cookie: the secret whose hash is the session's id.
pub const SESSION_COOKIE: &str = "maktab_session";
/// The language cookie: `ar` or `fr`.
pub const LANG_COOKIE: &str = "maktab_lang";
/// The sign-in form's CSRF token, doubled in this cookie (there is no session yet).
pub const LOGIN_COOKIE: &str = "maktab_login";

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// A `Set-Cookie` value for the console's path, `HttpOnly` and `SameSite=Strict`, `Secure`
/// when asked. `max_age` 0 removes the cookie; `None` keeps it for the browser session.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> String {
    let mut cookie = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    cookie
}

/// The language of a request: its cookie, else Arabic.
pub fn locale(headers: &HeaderMap) -> Locale {
    match cookie(headers, LANG_COOKIE).as_deref() {
        Some("fr") => Locale::Fr,
        _ => Locale::Ar,
    }
}

/// The peer's address, for the per-address sign-in limit.
pub fn peer(parts_extensions: &axum::http::Extensions) -> String {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(a)| a.ip().to_string())
}

/// The live session of the request's cookie, if any.
pub async fn current(
    state: &ConsoleState,
    headers: &HeaderMap,
) -> Result<Option<ConsoleSession>, crate::office::OfficeError> {
    match cookie(headers, SESSION_COOKIE) {
        Some(secret) => state.office.session(&state.settings.policy, &secret).await,
        None => Ok(None),
    }
}

/// Checks the CSRF token of a POST against its session: in the query string (`?csrf=`, for
/// uploads, whose multipart body is streamed to disk) or as the `csrf` field of a urlencoded
/// form. The session is left in the request's extensions for the handler.
pub async fn check_csrf(state: &ConsoleState, request: Request) -> Result<Request, Response> {
    let session = match current(state, request.headers()).await {
        Ok(Some(session)) => session,
        Ok(None) => return Err(refused(StatusCode::FORBIDDEN, "no session: sign in again")),
        Err(error) => {
            tracing::error!(error = %crate::office::error::with_causes(&error), "session check failed");
            return Err(refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "try again later",
            ));
        }
    };
    let from_query = request
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
    let (request, presented) = match from_query {
        Some(token) => (request, Some(token)),
        None => {
            let urlencoded = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            if urlencoded {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, FORM_MAX_BYTES)
                    .await
                    .map_err(|_| refused(StatusCode::PAYLOAD_TOO_LARGE, "form too large"))?;
                let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                    .ok()
                    .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
                (Request::from_parts(parts, Body::from(bytes)), token)
            } else {
                (request, None)
            }
        }
    };
    if !presented.is_some_and(|token| session.csrf_matches(&token)) {
        tracing::warn!(user = %session.principal.actor(), "console POST without a valid CSRF token");
        return Err(refused(
            StatusCode::FORBIDDEN,
            "invalid or missing CSRF token",
        ));
    }
    let mut request = request;
    request.extensions_mut().insert(session);
    Ok(request)
}

/// The signed-in user of a page, and the language it is shown in. Without a live session the
/// request is sent to the sign-in page; with the second factor still due, to its page.
#[derive(Debug, Clone)]
pub struct Signed {
    pub session: ConsoleSession,
    pub locale: Locale,
}

/// Where a request without a usable session goes.
pub enum NotSigned {
    SignIn,
    SecondFactor,
    Failed,
}

impl IntoResponse for NotSigned {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn => Redirect::to("/console/").into_response(),
            Self::SecondFactor => Redirect::to("/console/second-factor").into_response(),
            Self::Failed => refused(StatusCode::INTERNAL_SERVER_ERROR, "try again later"),
        }
    }
}

/// The session of a request, whatever its second factor's state (for the second-factor page).
pub struct AnySession(pub Signed);

impl FromRequestParts<ConsoleState> for AnySession {
    type Rejection = NotSigned;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let locale = locale(&parts.headers);
        if let Some(session) = parts.extensions.get::<ConsoleSession>() {
            return Ok(Self(Signed {
                session: session.clone(),
                locale,
            }));
        }
        match current(state, &parts.headers).await {
            Ok(Some(session)) => Ok(Self(Signed { session, locale })),
            Ok(None) => Err(NotSigned::SignIn),
            Err(error) => {
                tracing::error!(error = %crate::office::error::with_causes(&error), "session check failed");
                Err(NotSigned::Failed)
            }
        }
    }
}

impl FromRequestParts<ConsoleState> for Signed {
    type Rejection = NotSigned;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let AnySession(signed) = AnySession::from_request_parts(parts, state).await?;
        if signed.session.second_factor != SecondFactor::None {
            return Err(NotSigned::SecondFactor);
        }
        Ok(signed)
    }
}
