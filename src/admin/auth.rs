//! Authentication of every `/api/v1` request: the [`Principal`] extractor reads the bearer
//! token and has the office check it. What the principal may then do is the office's to
//! decide.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AdminState;
use super::error::ApiError;
use crate::office::Principal;

impl FromRequestParts<AdminState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized(
                "an Authorization: Bearer token is required",
            ))?;
        match state.office.authenticate(presented).await? {
            Ok(principal) => Ok(principal),
            Err(rejection) => {
                tracing::info!(?rejection, "admin token refused");
                Err(ApiError::Unauthorized("invalid, revoked or expired token"))
            }
        }
    }
}

/// `GET /api/v1/whoami`: the token's name, role and communes.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "admin",
    responses((status = 200, body = Principal), (status = 401, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn whoami(principal: Principal) -> axum::Json<Principal> {
    axum::Json(principal)
}
