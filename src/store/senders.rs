//! What Maktab remembers of senders: language, pending dialogue, abuse-limit counters, and
//! the two writes a lookup makes ([`LookupAdmission`] before the voter is read,
//! [`FoundLookup`] after it was found), each taken as one write so that a lookup waits for
//! the database twice rather than four times.

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

/// The writes a lookup makes before the voter is read: one more lookup on the sender's hourly
/// counter and, only if that stays within `max_per_sender`, one attempt taken from the NIN's
/// daily failure budget. Both counters are `insert ... on conflict do update ... returning`,
/// so concurrent lookups never read a count another is about to change.
#[derive(Debug, Clone, Copy)]
pub struct LookupAdmission<'a> {
    /// The sender's counter key, and its window (the clock hour).
    pub sender_key: &'a str,
    pub hour: Timestamp,
    /// Lookups a sender may make per hour: beyond it the NIN's attempt is not taken.
    pub max_per_sender: u64,
    /// The NIN's failure counter key, and its window (the day).
    pub nin_key: &'a str,
    pub day: Timestamp,
}

/// The counts after [`SenderStore::admit_lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// The sender's lookups this hour, this one included.
    pub sender_count: u64,
    /// The NIN's attempts today, this one included; `None` when the sender was over its
    /// limit and no attempt was taken.
    pub nin_count: Option<u64>,
}

/// The writes of a lookup that found its voter: the NIN's attempt is given back (only
/// failures count against a NIN) and, on channels that subscribe on lookup, the sender is
/// subscribed to the voter's station.
#[derive(Debug, Clone, Copy)]
pub struct FoundLookup<'a> {
    /// The NIN's failure counter key and window, as in [`LookupAdmission`].
    pub nin_key: &'a str,
    pub day: Timestamp,
    /// The subscription to add, if any: channel, sender and the voter's NIN.
    pub subscription: Option<(Channel, &'a str, &'a NationalId)>,
    pub now: Timestamp,
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

    /// What is remembered of a sender, and whether they have a ticket open at the duty desk:
    /// the two things the conversation reads before every message, read in one statement
    /// (one trip to the database instead of two).
    async fn sender_state_and_open_ticket(
        &self,
        channel: Channel,
        sender: &str,
        now: Timestamp,
    ) -> Result<(SenderState, bool)>;

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

    /// Counts a lookup against its sender and takes an attempt of its NIN (see
    /// [`LookupAdmission`]). Backends do it as one write (SQLite: one job of the group commit;
    /// PostgreSQL: one statement); this default, built on the counters, is what they must
    /// behave like.
    async fn admit_lookup(&self, admission: &LookupAdmission<'_>) -> Result<Admitted> {
        let sender_count = self
            .increment_counter(admission.sender_key, admission.hour)
            .await?;
        if sender_count > admission.max_per_sender {
            return Ok(Admitted {
                sender_count,
                nin_count: None,
            });
        }
        let nin_count = self
            .increment_counter(admission.nin_key, admission.day)
            .await?;
        Ok(Admitted {
            sender_count,
            nin_count: Some(nin_count),
        })
    }

    /// Records a lookup that found its voter (see [`FoundLookup`]), as one write in the
    /// backends; this default is what they must behave like.
    async fn record_found(&self, found: &FoundLookup<'_>) -> Result<()> {
        self.release_counter(found.nin_key, found.day).await?;
        if let Some((channel, sender, nin)) = found.subscription {
            self.add_subscription(channel, sender, nin, found.now)
                .await?;
        }
        Ok(())
    }

    /// Removes counters of windows that started before `before`.
    async fn prune_counters(&self, before: Timestamp) -> Result<u64>;

    /// Erases dialogues that expired before `now`: an abandoned report draft holds a name and
    /// a birth date, which must not outlive the dialogue.
    async fn forget_expired_dialogues(&self, now: Timestamp) -> Result<u64>;
}
