//! What the Telegram channel stores: the inbox of accepted webhook updates, chats that blocked
//! the bot, and the subscription offers behind "notify me" buttons.

use async_trait::async_trait;

use super::Result;
use crate::domain::{NationalId, Timestamp};

/// An update accepted by the webhook and not yet fully processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpdate {
    /// Telegram's `update_id`.
    pub update_id: i64,
    /// The chat the update belongs to, when it has one; the worker lane is chosen from it.
    pub chat_id: Option<i64>,
}

/// Whether the webhook took an update in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// First time seen: stored in the inbox, to be processed.
    Accepted,
    /// Telegram retried an update already accepted: nothing to do.
    Duplicate,
}

/// Storage for the Telegram channel. Chat ids are Telegram's (negative for groups).
#[async_trait]
pub trait TelegramStore: Send + Sync {
    /// Stores a webhook update in the inbox and records its id as seen (source `telegram`), in
    /// one transaction, so an update is either durably accepted once or not at all. The
    /// accepting instance (`holder`) holds the new row's lease until `now + lease_seconds`.
    async fn accept_update(
        &self,
        update_id: i64,
        chat_id: Option<i64>,
        body: &str,
        now: Timestamp,
        holder: &str,
        lease_seconds: i64,
    ) -> Result<Acceptance>;

    /// Every update in the inbox, claimed or not, oldest first (for inspection).
    async fn pending_updates(&self) -> Result<Vec<PendingUpdate>>;

    /// Claims for `holder`, until `now + lease_seconds`, at most `limit` updates that nobody
    /// holds or whose lease ran out before `now`, oldest first. Two holders claiming at the
    /// same time never get the same row.
    async fn claim_updates(
        &self,
        holder: &str,
        now: Timestamp,
        lease_seconds: i64,
        limit: u32,
    ) -> Result<Vec<PendingUpdate>>;

    /// Extends to `now + lease_seconds` the lease of every update `holder` holds; returns how
    /// many it holds.
    async fn renew_updates(&self, holder: &str, now: Timestamp, lease_seconds: i64) -> Result<u64>;

    /// Gives up every update `holder` holds, so that another instance may take them at once
    /// (a clean shutdown with updates left).
    async fn release_updates(&self, holder: &str) -> Result<u64>;

    /// The raw JSON of an accepted update, or `None` once it is finished.
    async fn pending_update(&self, update_id: i64) -> Result<Option<String>>;

    /// Removes a processed update from the inbox.
    async fn finish_update(&self, update_id: i64) -> Result<()>;

    /// Records that a chat blocked the bot (`true`) or can be written to again (`false`).
    async fn set_chat_blocked(&self, chat_id: i64, blocked: bool, now: Timestamp) -> Result<()>;

    /// Whether a chat blocked the bot.
    async fn chat_blocked(&self, chat_id: i64) -> Result<bool>;

    /// Remembers the voter a "notify me" button offered to a chat refers to, and returns the
    /// offer's id for the button. Offering the same voter again to the same chat reuses the id
    /// and extends the expiry.
    async fn save_offer(
        &self,
        chat_id: i64,
        nin: &NationalId,
        expires_at: Timestamp,
    ) -> Result<i64>;

    /// The voter behind an offer made to this chat, if it has not expired.
    async fn offer(
        &self,
        chat_id: i64,
        offer_id: i64,
        now: Timestamp,
    ) -> Result<Option<NationalId>>;

    /// Removes offers that expired before `now`.
    async fn prune_offers(&self, now: Timestamp) -> Result<u64>;
}
