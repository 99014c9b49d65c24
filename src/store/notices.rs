//! Campaigns and the outbox: one durable row per message that leaves Maktab, a reply to a
//! voter or a campaign's notice, claimed by dispatchers with a lease so that a dispatcher that
//! dies only delays the rows it held.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{NewAuditEntry, Result};
use crate::domain::{CentreCode, Channel, CommuneCode, Locale, Timestamp};

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Recipients are being written to the outbox (resumed after a crash).
    Preparing,
    /// A broadcast waiting for its explicit confirmation.
    Draft,
    Sending,
    Paused,
    Cancelled,
    /// Nothing left to send.
    Done,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preparing => "preparing",
            Self::Draft => "draft",
            Self::Sending => "sending",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
            Self::Done => "done",
        }
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CampaignStatus {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        [
            Self::Preparing,
            Self::Draft,
            Self::Sending,
            Self::Paused,
            Self::Cancelled,
            Self::Done,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
        .ok_or_else(|| format!("unknown campaign status {s:?}"))
    }
}

/// Who a broadcast reaches: the subscribers of the voters of a commune, a centre or a station;
/// or, with `reporters`, whoever reported a citizen of the commune missing from the roll and is
/// still waiting (for example when the revision period opens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Audience {
    #[schema(value_type = String)]
    pub commune: CommuneCode,
    #[schema(value_type = Option<String>)]
    pub centre: Option<CentreCode>,
    /// Needs `centre`.
    pub station: Option<u16>,
    /// The commune's open reports' contacts instead of subscribers (no centre or station).
    #[serde(default)]
    pub reporters: bool,
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: i64,
    /// `change` or `broadcast`.
    pub kind: String,
    pub status: CampaignStatus,
    pub change_set_id: Option<i64>,
    #[schema(value_type = Object)]
    pub audience: serde_json::Value,
    pub text_ar: Option<String>,
    pub text_fr: Option<String>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub confirmed_at: Option<Timestamp>,
    pub confirmed_by: Option<String>,
}

/// Someone a broadcast can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceMember {
    pub channel: Channel,
    pub recipient: String,
    pub locale: Locale,
}

/// A message to put in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub channel: Channel,
    pub recipient: String,
    pub locale: Locale,
    pub body: String,
}

/// A reply to put in the outbox: the answer to an inbound message, sent before any waiting
/// notice of the same lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReply<'a> {
    pub channel: Channel,
    /// The SMS provider the message came in through, which the reply goes back through.
    pub provider: Option<&'a str>,
    pub recipient: &'a str,
    pub locale: Locale,
    pub body: &'a str,
    /// What is sent, without the text: the catalogue ids of the replies.
    pub message: &'a str,
    /// What it costs against the lane's rate (SMS segments; 1 elsewhere).
    pub segments: u32,
}

/// Which outbox rows one sender takes: the replies of its channel and provider, and, for the
/// lane that carries them, the notices of the channel's sending campaigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLane<'a> {
    pub channel: Channel,
    /// `None` for a channel with one way out (Telegram).
    pub provider: Option<&'a str>,
    /// Whether this lane also sends the channel's notices.
    pub notices: bool,
}

impl OutboxLane<'_> {
    /// Every row of a channel with one way out.
    pub fn channel(channel: Channel) -> OutboxLane<'static> {
        OutboxLane {
            channel,
            provider: None,
            notices: true,
        }
    }

    /// The name of the lane's dispatch lock: one sender per lane for the whole deployment.
    pub fn key(&self) -> String {
        match self.provider {
            Some(provider) => format!("{}:{provider}", self.channel),
            None => self.channel.as_str().to_owned(),
        }
    }
}

/// A claimed outbox row: a reply (no campaign) or a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: i64,
    /// `None` for a reply.
    pub campaign_id: Option<i64>,
    pub channel: Channel,
    pub recipient: String,
    pub locale: Locale,
    pub body: String,
    /// Including this one.
    pub attempts: u32,
}

/// What became of a send attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeResult {
    /// Handed to the channel; delivery reports may follow.
    Sent { provider_id: Option<String> },
    /// Try again at `at`.
    Retry { at: Timestamp, error: String },
    /// Never again (blocked bot, invalid number, too many attempts).
    Failed { error: String },
    /// Not sent on purpose (the recipient opted out).
    Skipped { reason: String },
}

/// Storage of campaigns and the outbox.
#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Campaigns, newest first.
    async fn campaigns(&self, status: Option<CampaignStatus>, limit: u32) -> Result<Vec<Campaign>>;

    /// One campaign.
    async fn campaign(&self, id: i64) -> Result<Option<Campaign>>;

    /// Creates a broadcast in `draft`, with its audit entry.
    async fn create_broadcast(
        &self,
        audience: &Audience,
        text_ar: &str,
        text_fr: &str,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<i64>;

    /// The distinct recipients subscribed to voters of the audience, not opted out.
    async fn audience_members(&self, audience: &Audience) -> Result<Vec<AudienceMember>>;

    /// Replaces a campaign's outbox rows with `notices` (so it can be repeated after a crash)
    /// and moves the campaign to `status`, atomically. Returns the rows written.
    async fn fill_campaign(
        &self,
        id: i64,
        notices: &[NewNotice],
        status: CampaignStatus,
        at: Timestamp,
    ) -> Result<u64>;

    /// Moves a campaign from one of `from` to `to` (pause, resume, cancel, confirm), with an
    /// optional audit entry, atomically. `false` if it was in none of `from`.
    async fn set_campaign_status(
        &self,
        id: i64,
        from: &[CampaignStatus],
        to: CampaignStatus,
        audit: Option<NewAuditEntry>,
    ) -> Result<bool>;

    /// Outbox rows of a campaign by status.
    async fn campaign_progress(&self, id: i64) -> Result<BTreeMap<String, u64>>;

    /// Marks `done` the sending campaigns with nothing left to send. Returns how many.
    async fn complete_campaigns(&self, now: Timestamp) -> Result<u64>;
}

/// Storage of the outbox itself: every message that leaves Maktab, a reply or a notice, as a
/// row claimed by one lane of the dispatcher at a time. Written once for both backends (in
/// `store/shared/outbox.rs`); only the claim's locking differs.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Puts a reply in the outbox, due at once, and returns its id. Once this returns the
    /// reply survives a crash: a dispatcher sends it.
    async fn enqueue_reply(&self, reply: &NewReply<'_>, now: Timestamp) -> Result<i64>;

    /// Claims up to `limit` due rows of a lane, replies first, leasing them until
    /// `now + lease_seconds`; a notice takes the lane's provider. Rows whose lease ran out
    /// (their dispatcher died) are due again.
    async fn claim_outbox(
        &self,
        lane: &OutboxLane<'_>,
        now: Timestamp,
        lease_seconds: i64,
        limit: u32,
    ) -> Result<Vec<Notice>>;

    /// Claims the due rows of a channel with one way out ([`claim_outbox`] for
    /// [`OutboxLane::channel`]).
    ///
    /// [`claim_outbox`]: OutboxStore::claim_outbox
    async fn claim_notices(
        &self,
        channel: Channel,
        now: Timestamp,
        lease_seconds: i64,
        limit: u32,
    ) -> Result<Vec<Notice>> {
        self.claim_outbox(&OutboxLane::channel(channel), now, lease_seconds, limit)
            .await
    }

    /// Records what became of a claimed row. A reply's text is erased once it is final.
    async fn finish_notice(&self, id: i64, result: &NoticeResult, now: Timestamp) -> Result<()>;

    /// Outbox rows waiting to be sent (pending or being sent), per lane key: what a shutdown
    /// leaves for the next start.
    async fn outbox_waiting(&self) -> Result<BTreeMap<String, u64>>;

    /// Takes or renews the lock on a lane's dispatching (named by [`OutboxLane::key`]) for
    /// `ttl_seconds`: `true` if `holder` has it (it already had it, nobody had it, or the
    /// previous holder's lock expired).
    async fn lock_lane(
        &self,
        lane: &str,
        holder: &str,
        now: Timestamp,
        ttl_seconds: i64,
    ) -> Result<bool>;

    /// Releases a lane's lock if `holder` has it (a clean shutdown hands over at once).
    async fn unlock_lane(&self, lane: &str, holder: &str) -> Result<()>;
}
