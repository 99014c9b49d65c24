//! The dispatcher: claims due outbox rows per channel with a lease, sends them at the
//! channel's rate (units per second, plus a minimum spacing per recipient such as Telegram's
//! one message per second per chat), and records each outcome: sent, retry later with
//! backoff, failed, or skipped because the recipient opted out.
//!
//! A dispatcher killed mid-send leaves its rows `sending` with a lease; once the lease runs
//! out they are claimed again. So a row is sent at least once, and at most the rows in flight
//! at the moment of the kill are sent twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore, watch};
use tokio::time::Instant;

use super::backoff::{MAX_ATTEMPTS, jitter, retry_delay};
use super::rate::TokenBucket;
use super::{NoticeSender, SendOutcome};
use crate::domain::{Channel, Timestamp, mask_sender};
use crate::i18n::Catalog;
use crate::store::{Notice, NoticeResult, SenderState, Store, StoreError, holder_name};

/// How fast a channel may be used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelLimits {
    /// Units (messages or SMS segments) per second, for the whole channel.
    pub per_second: f64,
    /// Minimum time between two messages to the same recipient.
    pub per_recipient: Option<Duration>,
}

impl ChannelLimits {
    /// Telegram's documented limits: about 30 messages per second in bulk, 1 per second per
    /// chat.
    pub const TELEGRAM: ChannelLimits = ChannelLimits {
        per_second: 30.0,
        per_recipient: Some(Duration::from_secs(1)),
    };
}

struct Lane {
    channel: Channel,
    sender: Arc<dyn NoticeSender>,
    limits: ChannelLimits,
    bucket: Mutex<TokenBucket>,
    last_sent: Mutex<HashMap<String, Instant>>,
}

/// Seconds since the epoch, from a clock tests can control.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Sends the outbox.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    lanes: Vec<Lane>,
    clock: Clock,
    /// Rows claimed per round and channel.
    batch: u32,
    /// How long a claim protects a row from other dispatchers.
    lease_seconds: i64,
    /// Sends in flight per channel.
    in_flight: usize,
    /// This dispatcher's name in the channel locks.
    holder: String,
}

/// How long a channel lock lasts without renewal: a dead holder's channels are taken over
/// after this.
const LOCK_TTL_SECONDS: i64 = 15;

impl Dispatcher {
    pub fn new(store: Arc<dyn Store>, catalog: Arc<Catalog>) -> Self {
        Self {
            store,
            catalog,
            lanes: Vec::new(),
            clock: Arc::new(crate::domain::now),
            batch: 200,
            lease_seconds: 120,
            in_flight: 32,
            holder: holder_name(),
        }
    }

    /// Adds a channel with its sender and limits.
    pub fn with_channel(
        mut self,
        channel: Channel,
        sender: Arc<dyn NoticeSender>,
        limits: ChannelLimits,
    ) -> Self {
        // A burst of a fiftieth of a second's worth (at least one): enough that the timer's
        // millisecond granularity does not throw tokens away (with a burst of one, each wait
        // overshoots and 500/s came out as 320/s), small enough that no one-second window
        // exceeds the rate by more than 2%.
        let bucket = TokenBucket::new(limits.per_second, (limits.per_second / 50.0).max(1.0));
        self.lanes.push(Lane {
            channel,
            sender,
            limits,
            bucket: Mutex::new(bucket),
            last_sent: Mutex::new(HashMap::new()),
        });
        self
    }

    /// Replaces the wall clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets how long a claim protects its rows.
    pub fn with_lease(mut self, seconds: i64) -> Self {
        self.lease_seconds = seconds.max(1);
        self
    }

    /// Sets how many rows are claimed per round and how many sends run at once.
    pub fn with_batch(mut self, batch: u32, in_flight: usize) -> Self {
        self.batch = batch.max(1);
        self.in_flight = in_flight.max(1);
        self
    }

    /// One round: prepare campaigns left in `preparing`, then claim and send one batch per
    /// channel. Returns the rows handled. Public so tests can drain the outbox step by step.
    pub async fn dispatch_once(&self) -> Result<usize, StoreError> {
        super::prepare::prepare_pending_campaigns(self.store.as_ref(), &self.catalog).await?;
        let mut handled = 0;
        for lane in &self.lanes {
            // One dispatcher per channel across every instance, so the channel's rate limit
            // holds for the whole deployment.
            let now = (self.clock)();
            if !self
                .store
                .lock_channel(lane.channel, &self.holder, now, LOCK_TTL_SECONDS)
                .await?
            {
                continue;
            }
            handled += self.dispatch_lane(lane).await?;
        }
        self.store.complete_campaigns((self.clock)()).await?;
        Ok(handled)
    }

    async fn dispatch_lane(&self, lane: &Lane) -> Result<usize, StoreError> {
        let now = (self.clock)();
        let notices = self
            .store
            .claim_notices(lane.channel, now, self.lease_seconds, self.batch)
            .await?;
        let count = notices.len();
        let permits = Arc::new(Semaphore::new(self.in_flight));
        let mut sends = Vec::with_capacity(count);
        for notice in notices {
            if let Some(spacing) = lane.limits.per_recipient {
                let mut last_sent = lane.last_sent.lock().await;
                let instant = Instant::now();
                if let Some(last) = last_sent.get(&notice.recipient)
                    && instant.duration_since(*last) < spacing
                {
                    // Too soon for this chat: back in the queue, without counting an attempt
                    // against it beyond the claim itself.
                    let wait = spacing - instant.duration_since(*last);
                    let retry = NoticeResult::Retry {
                        at: now + wait.as_secs().max(1) as i64,
                        error: "spacing per recipient".to_owned(),
                    };
                    self.store.finish_notice(notice.id, &retry, now).await?;
                    continue;
                }
                last_sent.insert(notice.recipient.clone(), instant);
            }
            let cost = f64::from(lane.sender.cost(&notice.body).max(1));
            lane.bucket.lock().await.acquire(cost).await;
            let permit = Arc::clone(&permits).acquire_owned().await;
            let sender = Arc::clone(&lane.sender);
            let (store, clock) = (Arc::clone(&self.store), Arc::clone(&self.clock));
            // Each send records its own outcome, so the channel is never idle while a batch's
            // results are written.
            sends.push(tokio::spawn(async move {
                // The opt-out is checked here, concurrently with the other sends, rather than
                // one recipient after another before them.
                let state = store
                    .sender_state(notice.channel, &notice.recipient, clock())
                    .await?;
                if state.notices_opt_out {
                    let skipped = NoticeResult::Skipped {
                        reason: "the recipient opted out".to_owned(),
                    };
                    return store.finish_notice(notice.id, &skipped, clock()).await;
                }
                let outcome = sender
                    .send(&notice.recipient, notice.locale, &notice.body)
                    .await;
                drop(permit);
                record(store.as_ref(), &clock, &notice, outcome).await
            }));
        }
        for send in sends {
            match send.await {
                Ok(result) => result?,
                Err(error) => {
                    tracing::error!(%error, "a send task failed; its row is retried when its lease ends")
                }
            }
        }
        Ok(count)
    }
}

/// Records what became of a send: sent, retry later, failed (and unreachable), in the outbox.
async fn record(
    store: &dyn Store,
    clock: &Clock,
    notice: &Notice,
    outcome: SendOutcome,
) -> Result<(), StoreError> {
    let now = clock();
    let retry = |retry_after: Option<Duration>, error: String| {
        if notice.attempts >= MAX_ATTEMPTS {
            NoticeResult::Failed {
                error: format!("gave up after {} attempts: {error}", notice.attempts),
            }
        } else {
            let delay = retry_delay(notice.attempts, retry_after, jitter());
            NoticeResult::Retry {
                at: now
                    + i64::try_from(delay.as_secs())
                        .unwrap_or(i64::MAX / 2)
                        .max(1),
                error,
            }
        }
    };
    let result = match outcome {
        SendOutcome::Sent { provider_id } => NoticeResult::Sent { provider_id },
        SendOutcome::RetryAfter(after) => {
            retry(Some(after), format!("rate limited, retry after {after:?}"))
        }
        SendOutcome::Temporary(error) => retry(None, error),
        SendOutcome::Permanent { error, unreachable } => {
            if unreachable {
                mark_unreachable(store, notice, now).await?;
            }
            NoticeResult::Failed { error }
        }
    };
    if let NoticeResult::Failed { error } = &result {
        tracing::warn!(channel = %notice.channel, recipient = %mask_sender(&notice.recipient), %error, "notice failed");
    }
    store.finish_notice(notice.id, &result, now).await
}

/// Nothing more goes to a recipient the channel says cannot be reached (blocked bot, invalid
/// number): recorded as an opt-out, which every later send checks.
async fn mark_unreachable(
    store: &dyn Store,
    notice: &Notice,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut state: SenderState = store
        .sender_state(notice.channel, &notice.recipient, now)
        .await?;
    state.notices_opt_out = true;
    store
        .save_sender_state(notice.channel, &notice.recipient, &state, now)
        .await
}

impl Dispatcher {
    /// Runs rounds until `stopped` turns true, resting a second when there is nothing to do.
    pub async fn run(self, mut stopped: watch::Receiver<bool>) {
        loop {
            if *stopped.borrow() {
                break;
            }
            let rest = match self.dispatch_once().await {
                Ok(0) => Duration::from_secs(1),
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::warn!(%error, "dispatcher round failed");
                    Duration::from_secs(5)
                }
            };
            if !rest.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(rest) => {}
                    _ = stopped.wait_for(|stop| *stop) => break,
                }
            }
        }
        for lane in &self.lanes {
            if let Err(error) = self.store.unlock_channel(lane.channel, &self.holder).await {
                tracing::warn!(%error, channel = %lane.channel, "could not release the channel lock");
            }
        }
    }
}
