//! What Maktab remembers of senders: language, pending dialogue, abuse-limit counters, and
//! a lookup's work ([`Lookup`]: the counters taken before the voter is read, the voter, and
//! what a found lookup writes after), one write so that a lookup waits for one commit.

use async_trait::async_trait;

use super::Result;
use crate::domain::{BirthDate, Channel, Locale, NationalId, Timestamp};
use crate::store::RegisteredVoter;

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
/// so concurrent lookups never read a count another is about to change. (SQLite, whose one
/// writer runs lookups one after another, reads the NIN's count instead and writes the
/// attempt only if it fails: `sqlite/senders.rs`. The counts a lookup sees are the same.)
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

/// The counts after a lookup's admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// The sender's lookups this hour, this one included.
    pub sender_count: u64,
    /// The NIN's attempts today, this one included; `None` when the sender was over its
    /// limit and no attempt was taken.
    pub nin_count: Option<u64>,
}

/// What a voter's birth date must be for a lookup to find them: the conversation's
/// verification setting applied to what the sender wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthCheck {
    /// No verification: the NIN alone finds the voter.
    Any,
    /// The whole date.
    Date(BirthDate),
    /// The year of birth.
    Year(i32),
    /// Verification asks for a birth date and none was given: no voter passes.
    Missing,
}

impl BirthCheck {
    /// Whether a voter born on `birth_date` is the one asked for.
    pub fn accepts(self, birth_date: BirthDate) -> bool {
        match self {
            Self::Any => true,
            Self::Date(date) => birth_date == date,
            Self::Year(year) => birth_date.year() == year,
            Self::Missing => false,
        }
    }

    /// The same check as an SQL `like` pattern over the ISO date (`YYYY-MM-DD`), for a
    /// backend that checks the birth inside its statement (PostgreSQL's lookup, one round
    /// trip); `None` when no date passes (`like null` is never true).
    pub fn iso_pattern(self) -> Option<String> {
        match self {
            Self::Any => Some("%".to_owned()),
            Self::Date(date) => Some(date.to_iso()),
            Self::Year(year) => Some(format!("{year:04}-%")),
            Self::Missing => None,
        }
    }
}

/// A lookup's database work: the admission ([`LookupAdmission`]); then, if the sender is
/// within `max_per_sender` and the NIN within `max_failures_per_nin`, the voter; then, if
/// the voter passes `check`, the found lookup's writes: the NIN's attempt is not counted
/// (only failures count against a NIN) and, on channels that subscribe on lookup, the
/// sender (`subscription`) is subscribed to this NIN's station.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    pub admission: LookupAdmission<'a>,
    /// Attempts a NIN may take per day: beyond it the voter is not read (the NIN is locked).
    pub max_failures_per_nin: u64,
    pub nin: &'a NationalId,
    pub check: BirthCheck,
    /// Whom to subscribe to the voter's station when found: channel and sender.
    pub subscription: Option<(Channel, &'a str)>,
    pub now: Timestamp,
}

impl Admitted {
    /// Whether these counts let a lookup read the voter: the sender within its hourly
    /// limit, and an attempt of the NIN taken within its daily budget.
    pub fn within(&self, max_per_sender: u64, max_failures_per_nin: u64) -> bool {
        self.sender_count <= max_per_sender
            && self
                .nin_count
                .is_some_and(|attempts| attempts <= max_failures_per_nin)
    }
}

impl Lookup<'_> {
    /// Whether the admission lets this lookup read the voter.
    pub fn admits(&self, admitted: &Admitted) -> bool {
        admitted.within(self.admission.max_per_sender, self.max_failures_per_nin)
    }
}

/// A message delivered by a provider: its id (`source` names the provider, as in
/// [`SenderStore::first_delivery`]), its sender, and the lookup it asks for, if any.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub source: &'a str,
    pub message_id: &'a str,
    pub channel: Channel,
    pub sender: &'a str,
    pub now: Timestamp,
    /// The lookup the message's text asks for, done in the same write as the message id
    /// when the sender's state lets it (so a plain lookup waits for one commit, not two).
    pub lookup: Option<LookupAhead<'a>>,
}

/// A lookup a message asks for, to be done before the conversation has seen the sender's
/// state: `applies` says, from that state and whether a ticket is open, whether the
/// conversation will do exactly this lookup (the conversation's rule, which the store only
/// runs).
#[derive(Debug, Clone, Copy)]
pub struct LookupAhead<'a> {
    pub lookup: Lookup<'a>,
    pub applies: fn(&SenderState, bool) -> bool,
}

/// What [`SenderStore::first_delivery_with_state`] read and did for a first delivery.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub state: SenderState,
    /// Whether a person on duty has a ticket open with the sender.
    pub open_ticket: bool,
    /// The [`Delivery::lookup`], if its `applies` held.
    pub lookup: Option<LookupDone>,
}

/// What a [`Lookup`] did.
#[derive(Debug, Clone)]
pub struct LookupDone {
    pub admitted: Admitted,
    /// The voter, if the lookup was admitted and the NIN is on the roll.
    pub voter: Option<RegisteredVoter>,
    /// Whether the voter passed the check (the found lookup's writes were made).
    pub found: bool,
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

    /// Records an inbound message id as [`first_delivery`](SenderStore::first_delivery) and,
    /// the first time, reads what the conversation reads before every message
    /// ([`sender_state_and_open_ticket`](SenderStore::sender_state_and_open_ticket)) and
    /// does the lookup the message asks for if the state lets it ([`Delivery::lookup`]):
    /// `None` for a retry. Backends do it all as one write (SQLite: one job of the group
    /// commit; PostgreSQL: one statement, or one transaction with the lookup), so that the id
    /// is not recorded for a message whose sender could not be read or whose lookup failed,
    /// and a lookup waits for one commit; this default takes the steps one after the other.
    async fn first_delivery_with_state(
        &self,
        delivery: &Delivery<'_>,
    ) -> Result<Option<Delivered>> {
        if !self
            .first_delivery(delivery.source, delivery.message_id, delivery.now)
            .await?
        {
            return Ok(None);
        }
        let (state, open_ticket) = self
            .sender_state_and_open_ticket(delivery.channel, delivery.sender, delivery.now)
            .await?;
        let lookup = match &delivery.lookup {
            Some(ahead) if (ahead.applies)(&state, open_ticket) => {
                Some(self.lookup(&ahead.lookup).await?)
            }
            _ => None,
        };
        Ok(Some(Delivered {
            state,
            open_ticket,
            lookup,
        }))
    }

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

    /// A lookup's work (see [`Lookup`]), as one write: SQLite one job of the group commit,
    /// PostgreSQL one transaction. The counters are exact however many lookups run at once
    /// (`tests/lookup_concurrency.rs` checks both backends).
    async fn lookup(&self, lookup: &Lookup<'_>) -> Result<LookupDone>;

    /// Removes counters of windows that started before `before`.
    async fn prune_counters(&self, before: Timestamp) -> Result<u64>;

    /// Erases dialogues that expired before `now`: an abandoned report draft holds a name and
    /// a birth date, which must not outlive the dialogue.
    async fn forget_expired_dialogues(&self, now: Timestamp) -> Result<u64>;
}
