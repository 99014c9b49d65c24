//! Outbound SMS and their delivery status: what was handed to which provider, whether the
//! provider accepted it, and what its delivery report said. These are the SMS rows of the
//! outbox ([`NoticeStore`](super::NoticeStore)), seen as a provider's record.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use super::Result;
use crate::domain::Timestamp;

/// Where an outbound SMS stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Recorded, not yet accepted by the provider (being sent or retried).
    Pending,
    /// The provider took it.
    Accepted,
    /// The phone received it (delivery report).
    Delivered,
    /// The provider refused it, every retry failed, or the delivery report says so.
    Failed,
}

impl DeliveryStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Delivered and failed are final: a late "accepted" report does not undo them.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed)
    }
}

impl DeliveryStatus {
    /// The status of an outbox row as a provider's record: waiting or being sent is pending,
    /// sent is accepted; skipped and cancelled rows were never sent.
    pub fn from_outbox(status: &str) -> Result<Self, UnknownDeliveryStatus> {
        match status {
            "pending" | "sending" => Ok(Self::Pending),
            "sent" => Ok(Self::Accepted),
            "delivered" => Ok(Self::Delivered),
            "failed" | "skipped" | "cancelled" => Ok(Self::Failed),
            other => Err(UnknownDeliveryStatus(other.to_owned())),
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a delivery status.
#[derive(Debug, thiserror::Error)]
#[error("unknown delivery status {0:?}")]
pub struct UnknownDeliveryStatus(String);

impl FromStr for DeliveryStatus {
    type Err = UnknownDeliveryStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "accepted" => Ok(Self::Accepted),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(UnknownDeliveryStatus(other.to_owned())),
        }
    }
}

/// A stored outbound SMS.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundSms {
    pub id: i64,
    pub provider: String,
    pub recipient: String,
    pub message: String,
    pub segments: u32,
    pub status: DeliveryStatus,
    /// Why it failed, in the provider's words.
    pub reason: Option<String>,
    pub provider_message_id: Option<String>,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Storage of outbound SMS.
#[async_trait]
pub trait SmsStore: Send + Sync {
    /// Applies a delivery report to the message a provider knows by `provider_message_id`.
    /// A final status is not overwritten by a non-final one (reports arrive out of order).
    /// Returns whether a message matched.
    async fn record_delivery_report(
        &self,
        provider: &str,
        provider_message_id: &str,
        status: DeliveryStatus,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<bool>;

    /// One outbound SMS.
    async fn outbound_sms(&self, id: i64) -> Result<Option<OutboundSms>>;

    /// The most recent outbound SMS to a recipient, newest first.
    async fn outbound_sms_to(&self, recipient: &str, limit: u32) -> Result<Vec<OutboundSms>>;
}
