//! Sending SMS: one [`SmsSender`] per provider speaks its API; [`Outbound`] wraps a sender
//! with what every provider needs: a throttle in segments per second (operators count and
//! limit segments, not messages), retries with exponential backoff on timeouts, 5xx and 429,
//! and a record of every message and its outcome in the store.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Provider;
use crate::domain::PhoneNumber;
use crate::i18n::sms::count_segments;
use crate::store::{DeliveryStatus, NewOutboundSms, Store, StoreError};

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

/// How often and how patiently to try.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// Wait before the second try; doubled before each further one.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed try number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Spaces sends so that a provider gets at most `segments_per_second`, counting each message
/// by its segments. Callers reserve their slot under a short lock and sleep outside it, so
/// concurrent senders queue fairly without holding the lock while they wait.
#[derive(Debug)]
pub struct Throttle {
    per_segment: Duration,
    next_free: Mutex<Option<Instant>>,
}

impl Throttle {
    pub fn new(segments_per_second: f64) -> Self {
        let rate = if segments_per_second.is_finite() && segments_per_second > 0.0 {
            segments_per_second
        } else {
            1.0
        };
        Self {
            per_segment: Duration::from_secs_f64(1.0 / rate),
            next_free: Mutex::new(None),
        }
    }

    /// Waits until `segments` more segments may be sent.
    pub async fn acquire(&self, segments: u32) {
        let start = {
            let mut next_free = self.next_free.lock().await;
            let now = Instant::now();
            let start = next_free.map_or(now, |free| free.max(now));
            *next_free = Some(start + self.per_segment.saturating_mul(segments.max(1)));
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

/// The sending path of one provider.
pub struct Outbound {
    sender: Arc<dyn SmsSender>,
    throttle: Throttle,
    retry: RetryPolicy,
    store: Arc<dyn Store>,
}

/// What became of one outbound SMS.
#[derive(Debug, Clone, PartialEq)]
pub struct SendOutcome {
    /// The id of its record in the store.
    pub id: i64,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub provider_message_id: Option<String>,
    pub reason: Option<String>,
}

/// The outcome of [`Outbound::deliver`]: the provider's acceptance or why it failed for good.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub result: Result<Accepted, String>,
    pub attempts: u32,
}

/// Sending could not even be recorded.
#[derive(Debug, Error)]
pub enum OutboundError {
    #[error("cannot record the outbound SMS: {0}")]
    Store(#[from] StoreError),
}

impl Outbound {
    pub fn new(
        sender: Arc<dyn SmsSender>,
        segments_per_second: f64,
        retry: RetryPolicy,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            sender,
            throttle: Throttle::new(segments_per_second),
            retry,
            store,
        }
    }

    pub fn provider(&self) -> Provider {
        self.sender.provider()
    }

    /// The provider's API itself, for callers that keep their own record and retries (the
    /// notice dispatcher has its outbox).
    pub fn sender(&self) -> Arc<dyn SmsSender> {
        Arc::clone(&self.sender)
    }

    /// Hands a message to the provider within the throttle, retrying temporary failures
    /// with backoff (or after the provider's `Retry-After`) up to the policy's attempts.
    pub async fn deliver(&self, sms: &OutgoingSms, segments: u32) -> Delivery {
        let provider = self.provider();
        let to = &sms.to;
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.throttle.acquire(segments).await;
            match self.sender.send(sms).await {
                Ok(accepted) => {
                    return Delivery {
                        result: Ok(accepted),
                        attempts,
                    };
                }
                Err(SendError::Temporary {
                    reason,
                    retry_after,
                }) if attempts < self.retry.max_attempts => {
                    let wait = retry_after
                        .unwrap_or_else(|| self.retry.backoff(attempts))
                        .min(self.retry.max_backoff);
                    tracing::warn!(%provider, %to, attempts, %reason, ?wait, "sms send failed, retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(error) => {
                    tracing::warn!(%provider, %to, attempts, %error, "sms not sent");
                    let reason = match error {
                        SendError::Temporary { reason, .. } => {
                            format!("gave up after {attempts} attempts: {reason}")
                        }
                        SendError::Permanent(reason) => reason,
                    };
                    return Delivery {
                        result: Err(reason),
                        attempts,
                    };
                }
            }
        }
    }

    /// Records the message, sends it within the throttle, retries temporary failures with
    /// backoff, and records the outcome: accepted with the provider's id, or failed with the
    /// reason. `message` names what is sent (a catalogue id), the text itself is not stored.
    pub async fn send(
        &self,
        to: &PhoneNumber,
        text: &str,
        message: &str,
    ) -> Result<SendOutcome, OutboundError> {
        let provider = self.provider();
        let segments = u32::try_from(count_segments(text).segments).unwrap_or(u32::MAX);
        let id = self
            .store
            .record_outbound(
                &NewOutboundSms {
                    provider: provider.as_str(),
                    recipient: to.as_str(),
                    message,
                    segments,
                },
                crate::domain::now(),
            )
            .await?;
        let sms = OutgoingSms {
            reference: id,
            to: to.clone(),
            text: text.to_owned(),
        };
        let delivery = self.deliver(&sms, segments).await;
        let (status, provider_message_id, reason) = match delivery.result {
            Ok(accepted) => (
                DeliveryStatus::Accepted,
                Some(accepted.provider_message_id),
                None,
            ),
            Err(reason) => (DeliveryStatus::Failed, None, Some(reason)),
        };
        let attempts = delivery.attempts;
        self.store
            .record_send_result(
                id,
                status,
                provider_message_id.as_deref(),
                reason.as_deref(),
                attempts,
                crate::domain::now(),
            )
            .await?;
        if status == DeliveryStatus::Accepted {
            tracing::debug!(%provider, %to, segments, attempts, "sms accepted");
        }
        Ok(SendOutcome {
            id,
            status,
            attempts,
            provider_message_id,
            reason,
        })
    }
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
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
        };
        let waits: Vec<u64> = (1..=6).map(|a| policy.backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(policy.backoff(100), Duration::from_secs(10));
    }

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

    #[tokio::test(start_paused = true)]
    async fn the_throttle_spaces_sends_by_their_segments() {
        let throttle = Throttle::new(2.0);
        let start = Instant::now();
        throttle.acquire(1).await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the first send goes at once"
        );
        throttle.acquire(2).await;
        assert_eq!(start.elapsed(), Duration::from_millis(500));
        throttle.acquire(1).await;
        // The two-segment message used a second of the budget.
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
        tokio::time::sleep(Duration::from_secs(10)).await;
        let later = Instant::now();
        throttle.acquire(1).await;
        assert!(
            later.elapsed() < Duration::from_millis(1),
            "idle time is not banked against"
        );
    }
}
