//! Notices: telling voters who asked about every change put into effect. Approving a change
//! set or confirming a broadcast fills a campaign's outbox (one durable row per recipient);
//! the [`Dispatcher`] claims due rows with a lease, sends them through each channel's
//! [`NoticeSender`] at that channel's rate, and retries with backoff.

pub mod backoff;
pub mod channels;
pub mod dispatcher;
pub mod prepare;
pub mod rate;

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::Locale;

pub use dispatcher::{ChannelLimits, Dispatcher};

/// What a channel did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted by the channel.
    Sent { provider_id: Option<String> },
    /// The channel asked to slow down (HTTP 429 / `retry_after`).
    RetryAfter(Duration),
    /// A failure worth retrying (timeout, 5xx).
    Temporary(String),
    /// Never retry. `unreachable`: the recipient cannot be reached at all (bot blocked,
    /// invalid number), so nothing more is sent to them.
    Permanent { error: String, unreachable: bool },
}

/// Sends notices on one channel.
#[async_trait]
pub trait NoticeSender: Send + Sync {
    /// Sends one message.
    async fn send(&self, recipient: &str, locale: Locale, body: &str) -> SendOutcome;

    /// What one message costs against the channel's rate: segments for SMS, 1 for Telegram.
    fn cost(&self, body: &str) -> u32 {
        let _ = body;
        1
    }
}
