//! The dispatcher: the one road out of Maktab. Each lane (an SMS provider, the Telegram bot)
//! claims due outbox rows with a lease, replies before notices, sends them through its one
//! sender at its one rate (units per second, plus a minimum spacing per recipient such as
//! Telegram's one message per second per chat), and records each outcome: sent, retry later
//! with backoff, failed, or skipped because the recipient opted out of notices.
//!
//! Lanes run side by side, each in rounds of about a second's worth of its rate, so a reply
//! that arrives during a campaign waits at most one round. An idle lane sleeps until the
//! [`OutboxBell`] rings (a reply was just enqueued on this instance) or a short poll (work
//! left by another instance, or a lease that ran out).
//!
//! A dispatcher killed mid-send leaves its rows `sending` with a lease; once the lease runs
//! out they are claimed again. So a row is sent at least once, and at most the rows in flight
//! at the moment of the kill are sent twice. On a clean stop each lane drains what it can
//! within a grace period and leaves the rest, unleased, for the next start or another
//! instance.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore, watch};
use tokio::time::Instant;

use super::backoff::{RetryPolicy, jitter};
use super::rate::TokenBucket;
use super::{NoticeSender, SendOutcome};
use crate::domain::{Channel, Timestamp, mask_sender};
use crate::i18n::Catalog;
use crate::store::{Notice, NoticeResult, OutboxLane, SenderState, Store, StoreError, holder_name};

/// How fast a channel may be used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelLimits {
    /// Units (messages or SMS segments) per second, for the whole lane.
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

/// How long a round that started before the end of the grace period may run past it: a round
/// is about a second's worth of sends; one still running after this is waiting on a provider
/// that hangs.
const ROUND_OVERRUN: Duration = Duration::from_secs(3);

/// Rung when a row is put in the outbox, so an idle lane of this instance sends it at once
/// instead of at its next poll. Cloning gives another handle to the same bell.
#[derive(Debug, Clone)]
pub struct OutboxBell(Arc<watch::Sender<u64>>);

impl Default for OutboxBell {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl OutboxBell {
    /// Wakes every idle lane.
    pub fn ring(&self) {
        self.0.send_modify(|rung| *rung = rung.wrapping_add(1));
    }

    fn listen(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

struct Lane {
    channel: Channel,
    provider: Option<&'static str>,
    notices: bool,
    sender: Arc<dyn NoticeSender>,
    limits: ChannelLimits,
    retry: RetryPolicy,
    bucket: Mutex<TokenBucket>,
    last_sent: Mutex<HashMap<String, Instant>>,
}

impl Lane {
    fn outbox(&self) -> OutboxLane<'static> {
        OutboxLane {
            channel: self.channel,
            provider: self.provider,
            notices: self.notices,
        }
    }
}

/// Seconds since the epoch, from a clock tests can control.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Sends the outbox.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    lanes: Vec<Lane>,
    clock: Clock,
    /// At most this many rows claimed per round and lane.
    batch: u32,
    /// How long a claim protects a row from other dispatchers.
    lease_seconds: i64,
    /// Sends in flight per lane.
    in_flight: usize,
    retry: RetryPolicy,
    bell: OutboxBell,
    /// This dispatcher's name in the lane locks.
    holder: String,
}

/// How long a lane lock lasts without renewal: a dead holder's lanes are taken over after
/// this.
const LOCK_TTL_SECONDS: i64 = 15;
/// How often an idle lane looks for work the bell did not announce.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// How often campaigns are prepared and completed.
const HOUSEKEEPING: Duration = Duration::from_secs(1);

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
            retry: RetryPolicy::default(),
            bell: OutboxBell::default(),
            holder: holder_name(),
        }
    }

    /// Adds a channel with one way out (Telegram, or a test's channel): every reply and
    /// notice of the channel goes through `sender`.
    pub fn with_channel(
        self,
        channel: Channel,
        sender: Arc<dyn NoticeSender>,
        limits: ChannelLimits,
    ) -> Self {
        self.with_lane(channel, None, true, sender, limits)
    }

    /// Adds a lane: the replies of `channel` and `provider` and, with `notices`, the channel's
    /// notices, through `sender` within `limits`. Give each provider one lane, so replies and
    /// notices share its rate.
    pub fn with_lane(
        mut self,
        channel: Channel,
        provider: Option<&'static str>,
        notices: bool,
        sender: Arc<dyn NoticeSender>,
        limits: ChannelLimits,
    ) -> Self {
        // A burst of a fiftieth of a second's worth (at least one): enough that the timer's
        // millisecond granularity does not throw tokens away (with a burst of one, each wait
        // overshoots and 500/s came out as 320/s). The bucket refills at the rate less that
        // burst, so that no one-second window (burst plus a second's refill) exceeds the rate
        // the provider set.
        let burst = (limits.per_second / 50.0).max(1.0);
        let refill = (limits.per_second - burst).max(limits.per_second / 2.0);
        let bucket = TokenBucket::new(refill, burst);
        self.lanes.push(Lane {
            channel,
            provider,
            notices,
            sender,
            limits,
            retry: self.retry,
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

    /// Sets how many rows are claimed per round at most and how many sends run at once.
    pub fn with_batch(mut self, batch: u32, in_flight: usize) -> Self {
        self.batch = batch.max(1);
        self.in_flight = in_flight.max(1);
        self
    }

    /// Sets the retry policy of the lanes added after this call.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Listens to this bell: ringing it wakes the idle lanes.
    pub fn with_bell(mut self, bell: OutboxBell) -> Self {
        self.bell = bell;
        self
    }

    /// One round: prepare campaigns left in `preparing`, then claim and send one batch per
    /// lane. Returns the rows handled. Public so tests can drain the outbox step by step.
    pub async fn dispatch_once(&self) -> Result<usize, StoreError> {
        super::prepare::prepare_pending_campaigns(self.store.as_ref(), &self.catalog).await?;
        let mut handled = 0;
        for lane in &self.lanes {
            handled += self.lane_round(lane).await?;
        }
        self.store.complete_campaigns((self.clock)()).await?;
        Ok(handled)
    }

    /// Rows claimed in one round of a lane: about a second's worth of its rate, so a reply
    /// enqueued during a campaign waits for at most that.
    fn round_size(&self, lane: &Lane) -> u32 {
        // Truncation is intended: a whole number of rows, at least one.
        let per_second = lane.limits.per_second.clamp(1.0, f64::from(self.batch)) as u32;
        per_second.clamp(1, self.batch)
    }

    async fn lane_round(&self, lane: &Lane) -> Result<usize, StoreError> {
        let outbox = lane.outbox();
        // One sender per lane across every instance, so the lane's rate limit holds for the
        // whole deployment.
        let now = (self.clock)();
        if !self
            .store
            .lock_lane(&outbox.key(), &self.holder, now, LOCK_TTL_SECONDS)
            .await?
        {
            return Ok(0);
        }
        let notices = self
            .store
            .claim_outbox(&outbox, now, self.lease_seconds, self.round_size(lane))
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
            let (store, clock, retry) =
                (Arc::clone(&self.store), Arc::clone(&self.clock), lane.retry);
            // Each send records its own outcome, so the lane is never idle while a round's
            // results are written.
            sends.push(tokio::spawn(async move {
                // A notice is not sent to who opted out; a reply always is (it answers what
                // they just sent, STOP included). The opt-out is checked here, concurrently
                // with the other sends, rather than one recipient after another before them.
                if notice.campaign_id.is_some() {
                    let state = store
                        .sender_state(notice.channel, &notice.recipient, clock())
                        .await?;
                    if state.notices_opt_out {
                        let skipped = NoticeResult::Skipped {
                            reason: "the recipient opted out".to_owned(),
                        };
                        return store.finish_notice(notice.id, &skipped, clock()).await;
                    }
                }
                let outcome = sender.send(&notice).await;
                drop(permit);
                record(store.as_ref(), &clock, &retry, &notice, outcome).await
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
    policy: &RetryPolicy,
    notice: &Notice,
    outcome: SendOutcome,
) -> Result<(), StoreError> {
    let now = clock();
    let retry = |retry_after: Option<Duration>, error: String| {
        if notice.attempts >= policy.max_attempts {
            NoticeResult::Failed {
                error: format!("gave up after {} attempts: {error}", notice.attempts),
            }
        } else {
            let delay = policy.delay(notice.attempts, retry_after, jitter());
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
        tracing::warn!(channel = %notice.channel, recipient = %mask_sender(&notice.recipient), %error, "message failed");
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
    /// Runs every lane until `stopped` turns true, then lets each drain for at most `drain`
    /// (what is left stays in the outbox, unleased) and hands its lock over.
    pub async fn run(self, stopped: watch::Receiver<bool>, drain: Duration) {
        let this = Arc::new(self);
        let mut tasks = Vec::new();
        {
            let this = Arc::clone(&this);
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    if let Err(error) = this.housekeeping().await {
                        tracing::warn!(%error, "campaign housekeeping failed");
                    }
                    tokio::select! {
                        () = tokio::time::sleep(HOUSEKEEPING) => {}
                        _ = stopped.wait_for(|stop| *stop) => break,
                    }
                }
            }));
        }
        for index in 0..this.lanes.len() {
            let this = Arc::clone(&this);
            let stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                this.run_lane(index, stopped, drain).await;
            }));
        }
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a dispatcher task failed");
            }
        }
    }

    async fn housekeeping(&self) -> Result<(), StoreError> {
        super::prepare::prepare_pending_campaigns(self.store.as_ref(), &self.catalog).await?;
        self.store.complete_campaigns((self.clock)()).await?;
        Ok(())
    }

    async fn run_lane(&self, index: usize, mut stopped: watch::Receiver<bool>, drain: Duration) {
        let lane = &self.lanes[index];
        let key = lane.outbox().key();
        let mut bell = self.bell.listen();
        let mut deadline = None;
        while deadline.is_none() {
            let round = self.lane_round(lane);
            tokio::pin!(round);
            let result = tokio::select! {
                result = &mut round => Some(result),
                _ = stopped.wait_for(|stop| *stop) => None,
            };
            // Stopped in the middle of a round: it may finish within the grace period (and a
            // little more: a round is about a second's worth, and cutting a working round
            // would leave its rows leased). A provider that hangs past that does not hold the
            // shutdown: the rows of that round stay claimed and go out when their lease runs
            // out, here or elsewhere.
            let result = match result {
                Some(result) => result,
                None => {
                    let end = Instant::now() + drain;
                    deadline = Some(end);
                    match tokio::time::timeout_at(end + ROUND_OVERRUN, &mut round).await {
                        Ok(result) => result,
                        Err(_) => {
                            tracing::warn!(lane = %key, "a round outlived the grace period; its rows wait for their lease");
                            break;
                        }
                    }
                }
            };
            let rest = match result {
                Ok(0) => IDLE_POLL,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::warn!(%error, lane = %key, "dispatcher round failed");
                    Duration::from_secs(5)
                }
            };
            if deadline.is_none() && !rest.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(rest) => {}
                    _ = bell.changed() => {}
                    _ = stopped.wait_for(|stop| *stop) => {}
                }
            }
            if deadline.is_none() && *stopped.borrow() {
                deadline = Some(Instant::now() + drain);
            }
        }
        // Draining: what is due now goes out while the grace period lasts; each round is
        // about a second's worth, so the last one ends soon after the deadline, and one that
        // hangs is cut a little after it.
        let deadline = deadline.unwrap_or_else(Instant::now);
        let mut drained = 0;
        while Instant::now() < deadline {
            match tokio::time::timeout_at(deadline + ROUND_OVERRUN, self.lane_round(lane)).await {
                Ok(Ok(0)) => break,
                Ok(Ok(handled)) => drained += handled,
                Ok(Err(error)) => {
                    tracing::warn!(%error, lane = %key, "dispatcher round failed while draining");
                    break;
                }
                Err(_) => {
                    tracing::warn!(lane = %key, "a round outlived the grace period; its rows wait for their lease");
                    break;
                }
            }
        }
        if drained > 0 {
            tracing::info!(lane = %key, drained, "outbox drained at shutdown");
        }
        if let Err(error) = self.store.unlock_lane(&key, &self.holder).await {
            tracing::warn!(%error, lane = %key, "could not release the lane lock");
        }
    }
}
