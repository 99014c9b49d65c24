//! Sending SMS: one [`SmsSender`] per provider speaks its API, one attempt per call. What
//! every provider needs besides (a durable record, the rate in segments per second that
//! operators count, retries with backoff on timeouts, 5xx and 429) is the outbox's, in
//! [`notices`](crate::notices): the provider's lane there sends replies and notices alike.

use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

use super::Provider;
use crate::domain::PhoneNumber;

/// One SMS to hand to a provider.
#[derive(Debug, Clone)]
pub struct OutgoingSms {
    /// Maktab's id of the message: Kannel and the generic webhook echo it in delivery reports.
    pub reference: i64,
    pub to: PhoneNumber,
    pub text: String,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The provider's id, which its delivery reports carry.
    pub provider_message_id: String,
}

/// The provider did not take the message.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SendError {
    /// Worth trying again: timeout, connection refused, 5xx, 429.
    #[error("temporary failure: {reason}")]
    Temporary {
        reason: String,
        /// The provider said when to come back (429 `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Trying again would fail the same way: bad number, bad credentials, refused content.
    #[error("refused: {0}")]
    Permanent(String),
}

/// A provider's sending API.
#[async_trait]
pub trait SmsSender: Send + Sync {
    fn provider(&self) -> Provider;

    /// Hands one message to the provider, once.
    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SendError>;
}

/// Classifies a provider's HTTP answer that is not a success: 5xx, 408 and 429 are worth
/// another try (429 after the `Retry-After` it gives); anything else will fail again.
pub(crate) fn http_failure(
    status: reqwest::StatusCode,
    retry_after: Option<&reqwest::header::HeaderValue>,
    body: &str,
) -> SendError {
    let excerpt: String = body.chars().take(300).collect();
    let reason = format!("HTTP {}: {}", status.as_u16(), excerpt.trim());
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        let retry_after = retry_after
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        SendError::Temporary {
            reason,
            retry_after,
        }
    } else {
        SendError::Permanent(reason)
    }
}

/// Classifies a failed HTTP exchange: timeouts and connection failures are temporary (the
/// message may or may not have arrived; providers de-duplicate nothing, so this is the one
/// place a duplicate SMS can happen), anything else is a bug or a misconfiguration.
pub(crate) fn transport_failure(error: &reqwest::Error) -> SendError {
    let reason = error.to_string();
    if error.is_timeout() || error.is_connect() || error.is_request() {
        SendError::Temporary {
            reason,
            retry_after: None,
        }
    } else {
        SendError::Permanent(reason)
    }
}

/// Sends a request and reads the whole answer, mapping failures to [`SendError`].
pub(crate) async fn exchange(
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, String), SendError> {
    let response = request.send().await.map_err(|e| transport_failure(&e))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .cloned();
    let body = response.text().await.map_err(|e| transport_failure(&e))?;
    if status.is_success() {
        Ok((status, body))
    } else {
        Err(http_failure(status, retry_after.as_ref(), &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_429_are_temporary_client_errors_permanent() {
        let retry = reqwest::header::HeaderValue::from_static("7");
        assert_eq!(
            http_failure(
                reqwest::StatusCode::TOO_MANY_REQUESTS,
                Some(&retry),
                "slow down"
            ),
            SendError::Temporary {
                reason: "HTTP 429: slow down".to_owned(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert!(matches!(
            http_failure(reqwest::StatusCode::BAD_GATEWAY, None, ""),
            SendError::Temporary { .. }
        ));
        assert!(matches!(
            http_failure(reqwest::StatusCode::BAD_REQUEST, None, "bad number"),
            SendError::Permanent(reason) if reason == "HTTP 400: bad number"
        ));
    }
}
