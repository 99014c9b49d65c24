//! The one error type of the HTTP API. Every failure becomes a JSON body `{code, message}`
//! (plus the validation report for rejected imports); internal errors are logged and shown to
//! the caller only as "internal error". Office errors become API errors in one place, the
//! `From<OfficeError>` below.

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
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::ImportRejected(_) => (StatusCode::UNPROCESSABLE_ENTITY, "import_rejected"),
            Self::ImportOutOfScope(_) => (StatusCode::FORBIDDEN, "out_of_scope"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
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
