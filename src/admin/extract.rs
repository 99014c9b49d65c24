//! Request parts shared by the handlers, answering the one JSON error body instead of axum's
//! plain-text rejections, with axum's status: 400 for a query or path that does not parse,
//! 413 for a body over its limit, 415 for a body that is not JSON, 422 for JSON of the wrong
//! shape.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::{ApiError, ApiResult};
use crate::domain::CommuneCode;

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::rejection(rejection.status(), rejection.body_text()))
    }
}

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| Self(value))
            .map_err(|rejection: JsonRejection| {
                ApiError::rejection(rejection.status(), rejection.body_text())
            })
    }
}

/// An optional `commune` parameter.
pub fn commune_param(value: Option<&str>) -> ApiResult<Option<CommuneCode>> {
    value
        .map(|code| {
            CommuneCode::parse(code).map_err(|e| ApiError::BadRequest(format!("commune: {e}")))
        })
        .transpose()
}
