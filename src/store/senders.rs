//! What Maktab remembers of senders: language, pending dialogue, abuse-limit counters.

use async_trait::async_trait;

use super::Result;
use crate::domain::{Channel, Locale, NationalId, Timestamp};

/// What Maktab remembers of one sender on one channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SenderState {
    /// The last language the sender wrote in, or chose.
    pub locale: Option<Locale>,
    /// Whether `locale` was an explicit choice (it then wins over detection).
    pub locale_explicit: bool,
    /// The pending dialogue, in the form the conversation stored it (opaque to the store),
    /// and when it expires; expired dialogues are not returned.
    pub dialogue: Option<(String, Timestamp)>,
    /// The sender said STOP: no notices of any kind until START.
    pub notices_opt_out: bool,
}

/// Storage of sender state and counters.
#[async_trait]
pub trait SenderStore: Send + Sync {
    /// What is remembered of a sender; an expired dialogue is left out.
    async fn sender_state(
        &self,
        channel: Channel,
        sender: &str,
        now: Timestamp,
    ) -> Result<SenderState>;

    /// Replaces what is remembered of a sender.
    async fn save_sender_state(
        &self,
        channel: Channel,
        sender: &str,
        state: &SenderState,
        now: Timestamp,
    ) -> Result<()>;

    /// Records that a sender wants to hear about changes to a voter's station (idempotent).
    async fn add_subscription(
        &self,
        channel: Channel,
        sender: &str,
        nin: &NationalId,
        now: Timestamp,
    ) -> Result<()>;

    /// The voters a sender is subscribed to, whatever their opt-out.
    async fn subscriptions(&self, channel: Channel, sender: &str) -> Result<Vec<NationalId>>;

    /// Records an inbound message id from a source (`sms:twilio`, `telegram`, ...). Returns
    /// `true` the first time, `false` for a retry that must not be processed again.
    async fn first_delivery(&self, source: &str, message_id: &str, now: Timestamp) -> Result<bool>;

    /// Forgets inbound message ids received before `before`.
    async fn prune_inbound_seen(&self, before: Timestamp) -> Result<u64>;

    /// Adds one to a fixed-window counter and returns the new count.
    async fn increment_counter(&self, key: &str, window_start: Timestamp) -> Result<u64>;

    /// Takes one back from a fixed-window counter (never below zero): an attempt reserved by
    /// [`increment_counter`](SenderStore::increment_counter) before the outcome was known,
    /// that turned out not to count.
    async fn release_counter(&self, key: &str, window_start: Timestamp) -> Result<()>;

    /// The current count of a fixed-window counter.
    async fn counter(&self, key: &str, window_start: Timestamp) -> Result<u64>;

    /// Removes counters of windows that started before `before`.
    async fn prune_counters(&self, before: Timestamp) -> Result<u64>;

    /// Erases dialogues that expired before `now`: an abandoned report draft holds a name and
    /// a birth date, which must not outlive the dialogue.
    async fn forget_expired_dialogues(&self, now: Timestamp) -> Result<u64>;
}
