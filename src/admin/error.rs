//! The one error type of the HTTP API. Every failure becomes a JSON body `{code, message}`
//! (plus the validation report for rejected imports); internal errors are logged and shown to
//! the caller only as "internal error". Office errors become API errors in one place, the
//! `From<OfficeError>` below.
//!
//! The same body is given to the errors no handler wrote: axum's own rejections (plain text),
//! its empty 405s, the bare statuses of the webhooks. [`json_errors`] rewrites those for the
//! whole service, so that a client never has to parse anything but this one shape.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::office::OfficeError;
use crate::roll::ValidationReport;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    /// No route matches the path: told apart from a missing object by its message.
    #[error("no such route: {0}")]
    NoRoute(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(u64),
    #[error("the file was rejected with {} error(s); nothing was changed", .0.error_count)]
    ImportRejected(ValidationReport),
    #[error("the file has rows of communes this token may not change; nothing was changed")]
    ImportOutOfScope(ValidationReport),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal(String),
    /// A request axum could not take apart (body, query), with axum's status and sentence.
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
}

/// `Result` with [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code (`unauthorized`, `forbidden`, `import_rejected`, ...).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// For rejected imports: the errors with their line numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub report: Option<ValidationReport>,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::NotFound | Self::NoRoute(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::ImportRejected(_) => (StatusCode::UNPROCESSABLE_ENTITY, "import_rejected"),
            Self::ImportOutOfScope(_) => (StatusCode::FORBIDDEN, "out_of_scope"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Self::Rejected { status, .. } => (*status, status_code(*status)),
        }
    }

    /// An axum rejection (of a JSON body, a query string, a path), keeping its status: an
    /// over-long body stays 413, a wrong content type 415, a body of the wrong shape 422.
    /// A 5xx rejection is a fault of ours, not of the request: logged, and shown as internal.
    pub fn rejection(status: StatusCode, message: String) -> Self {
        if status.is_server_error() {
            Self::Internal(message)
        } else {
            Self::Rejected { status, message }
        }
    }
}

/// The stable code of a status, for errors that have nothing more precise to say.
fn status_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => "timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable_entity",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::INTERNAL_SERVER_ERROR => "internal",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_client_error() => "client_error",
        _ => "server_error",
    }
}

/// The longest plain-text error body kept as the message; a longer one is not a sentence
/// meant for the caller.
const PLAIN_MESSAGE_MAX: usize = 1024;

/// Gives every error response without a body of its own kind the one JSON error body: axum's
/// plain-text rejections (a bad path parameter, a body over its limit) and its empty answers
/// (405, the fallback of a method router), and bare statuses such as the Telegram webhook's.
/// Status and headers (`Allow`, `WWW-Authenticate`, `Retry-After`) are kept. Bodies that are
/// already JSON, or HTML pages for people, are left alone. A 5xx never echoes its text: it
/// could name internals.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let plain = match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(kind) => kind
            .to_str()
            .is_ok_and(|kind| kind.trim_start().starts_with("text/plain")),
    };
    if !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = if status.is_server_error() {
        None
    } else {
        axum::body::to_bytes(body, PLAIN_MESSAGE_MAX)
            .await
            .ok()
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    let message = text.unwrap_or_else(|| {
        let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
        match parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
        {
            Some(allowed) if status == StatusCode::METHOD_NOT_ALLOWED => {
                format!("{reason}; allowed: {allowed}")
            }
            _ => reason,
        }
    });
    let body = ErrorBody {
        code: status_code(status),
        message,
        report: None,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    match serde_json::to_vec(&body) {
        Ok(bytes) => Response::from_parts(parts, axum::body::Body::from(bytes)),
        // An `ErrorBody` always serialises; were it not to, the status alone still answers.
        Err(_) => Response::from_parts(parts, axum::body::Body::empty()),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "admin API internal error");
        }
        let message = self.to_string();
        let report = match self {
            Self::ImportRejected(report) | Self::ImportOutOfScope(report) => Some(report),
            _ => None,
        };
        let mut response = (
            status,
            Json(ErrorBody {
                code,
                message,
                report,
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Marks an I/O error raised because a request body exceeded its limit.
#[derive(Debug, thiserror::Error)]
#[error("request body over {0} bytes")]
pub struct BodyTooLarge(pub u64);

/// The one mapping from office errors to HTTP answers.
impl From<OfficeError> for ApiError {
    fn from(error: OfficeError) -> Self {
        match error {
            OfficeError::Forbidden(message) => Self::Forbidden(message),
            OfficeError::NotFound(_) => Self::NotFound,
            OfficeError::Conflict(message) => Self::Conflict(message),
            OfficeError::Rejected(message) => Self::BadRequest(message),
            OfficeError::ImportRejected(report) if report.out_of_scope > 0 => {
                Self::ImportOutOfScope(report)
            }
            OfficeError::ImportRejected(report) => Self::ImportRejected(report),
            OfficeError::Unreadable(io) => {
                match io.get_ref().and_then(|e| e.downcast_ref::<BodyTooLarge>()) {
                    Some(BodyTooLarge(limit)) => Self::PayloadTooLarge(*limit),
                    None if io.kind() == std::io::ErrorKind::InvalidData => {
                        Self::BadRequest(io.to_string())
                    }
                    None => Self::BadRequest(format!("the upload could not be read: {io}")),
                }
            }
            error @ (OfficeError::Store(_) | OfficeError::Internal(_)) => {
                Self::Internal(crate::office::error::with_causes(&error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn rewritten(status: StatusCode, kind: Option<&'static str>, body: &str) -> Response {
        let mut response = Response::new(axum::body::Body::from(body.to_owned()));
        *response.status_mut() = status;
        if let Some(kind) = kind {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        }
        json_errors(response).await
    }

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_plain_server_error_does_not_echo_its_text() {
        let response = rewritten(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("text/plain; charset=utf-8"),
            "connection to postgres://admin:secret@db failed",
        )
        .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(response).await;
        assert_eq!(body["code"], "internal");
        assert_eq!(body["message"], "internal server error");
    }

    #[tokio::test]
    async fn html_pages_and_successes_are_left_alone() {
        let page = rewritten(StatusCode::FORBIDDEN, Some("text/html"), "<p>no</p>").await;
        assert_eq!(
            page.headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(&b"text/html"[..])
        );
        let ok = rewritten(StatusCode::OK, Some("text/plain"), "fine").await;
        assert_eq!(
            ok.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"text/plain"[..])
        );
    }

    #[tokio::test]
    async fn a_client_error_keeps_axums_sentence() {
        let response = rewritten(
            StatusCode::BAD_REQUEST,
            Some("text/plain; charset=utf-8"),
            "Invalid URL: Cannot parse `abc` to a `i64`",
        )
        .await;
        let body = body_of(response).await;
        assert_eq!(body["code"], "bad_request");
        assert_eq!(
            body["message"],
            "Invalid URL: Cannot parse `abc` to a `i64`"
        );
    }
}
