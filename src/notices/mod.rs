//! Notices and the outbox: every message that leaves Maktab. Approving a change set or
//! confirming a broadcast fills a campaign's outbox (one durable row per recipient); a reply
//! to a voter is a row too, written before the webhook answers. The [`Dispatcher`] claims due
//! rows with a lease, replies first, sends them through each lane's one [`NoticeSender`] (one
//! per SMS provider, one for Telegram) at that lane's one rate, and retries with the one
//! [`backoff`] policy.

pub mod backoff;
pub mod dispatcher;
pub mod prepare;
pub mod rate;

use std::time::Duration;

use async_trait::async_trait;

use crate::store::Notice;

pub use backoff::RetryPolicy;
pub use dispatcher::{ChannelLimits, Dispatcher, OutboxBell};

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

/// Sends the outbox rows of one lane: replies and notices alike.
#[async_trait]
pub trait NoticeSender: Send + Sync {
    /// Sends one outbox row once. Its id is unique across instances: SMS providers that echo a
    /// reference in delivery reports (Kannel, the generic webhook) get it as theirs.
    async fn send(&self, message: &Notice) -> SendOutcome;

    /// What one message costs against the channel's rate: segments for SMS, 1 for Telegram.
    fn cost(&self, body: &str) -> u32 {
        let _ = body;
        1
    }
}
