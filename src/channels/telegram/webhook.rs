//! `POST /webhooks/telegram`: our own axum route, the durable inbox and the per-chat workers.
//!
//! A request is checked in this order, each step before any work is done for the next:
//!
//! 1. the `X-Telegram-Bot-Api-Secret-Token` header, compared in constant time: 401 if missing
//!    or wrong, and nothing is read or stored;
//! 2. the body, at most [`MAX_BODY_BYTES`]: 413 beyond;
//! 3. the JSON, as teloxide's `Update`: 400 if it is not an update at all; an update of a kind
//!    Maktab does not act on (or one teloxide cannot read) is answered 200 and dropped, so
//!    Telegram does not retry it forever;
//! 4. room in the queue: at most `queue_capacity` accepted updates wait or are in progress;
//!    beyond that 503 with `Retry-After`, and Telegram retries later;
//! 5. the inbox: the raw update is written to the `telegram_updates` table, with its
//!    `update_id` marked seen in the same transaction, and only then answered 200.
//!
//! Why an inbox table rather than only an in-memory queue: Telegram forgets an update once it
//! got a 2xx, so an update held only in memory would be lost if the process died before
//! answering it. Written first, it is resumed at the next start; the seen-mark makes Telegram's
//! retries of an update already accepted harmless. The price is one small write per update.
//! Processing is at least once: a crash in the middle of an update means it is handled again
//! after the restart, so the voter may get the same answer twice, never none.
//!
//! Accepted updates are queued per chat: one chat's updates are handled in order, one at a
//! time, while different chats are handled side by side (up to [`CONCURRENT_CHATS`]). A chat
//! whose replies are being spaced out, or that waits out a `retry_after`, holds up no one else.
//!
//! Several instances may share one inbox (PostgreSQL). Each row is leased to the instance that
//! accepted it, and each instance renews the leases of all its rows while they wait or are
//! handled, so an update in progress on one instance is never picked up by another. Every
//! instance also claims, at start-up and then as often as it renews, the rows nobody holds
//! (released at a clean shutdown) or whose lease ran out (their holder died), as room in its
//! queue allows: a crashed instance's updates are resumed by whoever looks first once its
//! leases expire.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sha2::{Digest, Sha256};
use teloxide::types::Update;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::Telegram;
use super::sender::TelegramSender;
use super::updates::{self, Processor};
use crate::conversation::Conversation;
use crate::domain::mask_sender;
use crate::notices::OutboxBell;
use crate::store::{Acceptance, Store, holder_name};

/// The route.
pub const PATH: &str = "/webhooks/telegram";

/// The header Telegram sends the secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Larger than any update Telegram sends (a 4096-character message with its entities and the
/// message it replies to is a few tens of kilobytes).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Chats handled at the same time. Each holds a database connection now and then and waits
/// on Telegram most of the time; the pool has 8 connections and Telegram takes about 30
/// messages a second in all.
pub const CONCURRENT_CHATS: usize = 16;

/// How often expired button offers are removed.
const UPKEEP_EVERY: Duration = Duration::from_secs(3600);

/// An accepted update on its way to a worker; the permit is its place in the queue, given
/// back when the worker is done with it.
struct Job {
    update_id: i64,
    _permit: OwnedSemaphorePermit,
}

/// This instance's hold on the inbox rows it accepted or claimed.
#[derive(Clone)]
struct Lease {
    holder: Arc<str>,
    seconds: i64,
    renew_every: Duration,
}

impl Lease {
    fn new(length: Duration) -> Self {
        let seconds = i64::try_from(length.as_secs()).unwrap_or(i64::MAX).max(1);
        Self {
            holder: holder_name().into(),
            seconds,
            // A third: a renewal may fail once and the next still comes in time.
            renew_every: Duration::from_secs(1).max(length / 3),
        }
    }
}

/// The route's state.
#[derive(Clone)]
struct Webhook {
    secret_digest: [u8; 32],
    store: Arc<dyn Store>,
    lease: Lease,
    /// Room in the queue: one permit per accepted update not yet finished.
    permits: Arc<Semaphore>,
    chats: Arc<ChatQueues>,
}

/// Chats with updates waiting, each with one task draining its queue in order.
struct ChatQueues {
    processor: Arc<Processor>,
    queues: Mutex<HashMap<Option<i64>, VecDeque<Job>>>,
    slots: Semaphore,
    tasks: Mutex<JoinSet<()>>,
}

/// A poisoned lock only means another task panicked while holding it; the queues themselves
/// are always left consistent (every change is a single push, pop or remove).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ChatQueues {
    /// Queues a job behind its chat's earlier ones; never waits.
    fn dispatch(self: &Arc<Self>, chat: Option<i64>, job: Job) {
        {
            let mut queues = lock(&self.queues);
            if let Some(queue) = queues.get_mut(&chat) {
                // The chat's task is running and will get to it.
                queue.push_back(job);
                return;
            }
            queues.insert(chat, VecDeque::from([job]));
        }
        let this = Arc::clone(self);
        let mut tasks = lock(&self.tasks);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move { this.drain(chat).await });
    }

    /// Handles a chat's updates until its queue is empty.
    async fn drain(&self, chat: Option<i64>) {
        let Ok(_slot) = self.slots.acquire().await else {
            return;
        };
        loop {
            let job = {
                let mut queues = lock(&self.queues);
                match queues.get_mut(&chat).and_then(VecDeque::pop_front) {
                    Some(job) => job,
                    None => {
                        // Removed under the same lock `dispatch` looks under: a job arriving
                        // from now on starts a new task.
                        queues.remove(&chat);
                        return;
                    }
                }
            };
            run(&self.processor, job.update_id).await;
            drop(job);
        }
    }
}

/// The running workers; [`Workers::shutdown`] stops them.
pub struct Workers {
    chats: Arc<ChatQueues>,
    background: Vec<JoinHandle<()>>,
    grace: Duration,
    store: Arc<dyn Store>,
    lease: Lease,
}

impl Workers {
    /// Lets the workers finish what is queued, for at most the grace period, then stops them.
    /// Call it once the HTTP server has stopped, so that nothing new arrives; whatever is left
    /// stays in the inbox, released for the next instance that looks (this one restarted, or
    /// another).
    pub async fn shutdown(self) {
        for task in &self.background {
            task.abort();
        }
        let mut tasks = std::mem::take(&mut *lock(&self.chats.tasks));
        let drained = tokio::time::timeout(self.grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "telegram workers stopped before the queue drained; the rest resumes at the next start"
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        match self.store.release_updates(&self.lease.holder).await {
            Ok(0) => {}
            Ok(left) => tracing::info!(
                left,
                "telegram updates left in the inbox for the next start"
            ),
            Err(error) => tracing::warn!(
                %error,
                "cannot release the telegram inbox; what is left resumes once its lease runs out"
            ),
        }
    }
}

/// Starts the workers, resumes the inbox and returns the route.
pub(super) fn start(
    telegram: &Telegram,
    store: Arc<dyn Store>,
    conversation: Conversation,
    bell: OutboxBell,
) -> (Router, Workers) {
    let settings = telegram.settings();
    let sender = Arc::new(TelegramSender::new(
        telegram.bot().clone(),
        Arc::clone(&store),
    ));
    let processor = Arc::new(Processor::new(
        conversation,
        Arc::clone(&store),
        sender,
        bell,
        telegram.bot().clone(),
        settings.bot_username.clone(),
        i64::try_from(settings.offer_ttl.as_secs()).unwrap_or(i64::MAX),
    ));
    let permits = Arc::new(Semaphore::new(settings.queue_capacity.max(1)));
    let chats = Arc::new(ChatQueues {
        processor,
        queues: Mutex::new(HashMap::new()),
        slots: Semaphore::new(CONCURRENT_CHATS),
        tasks: Mutex::new(JoinSet::new()),
    });
    let lease = Lease::new(settings.inbox_lease);
    let background = vec![
        tokio::spawn(claim_leftovers(
            Arc::clone(&store),
            lease.clone(),
            Arc::clone(&permits),
            Arc::clone(&chats),
        )),
        tokio::spawn(renew_leases(Arc::clone(&store), lease.clone())),
        tokio::spawn(upkeep(Arc::clone(&store))),
    ];
    let webhook = Webhook {
        secret_digest: Sha256::digest(settings.webhook_secret.expose().as_bytes()).into(),
        store: Arc::clone(&store),
        lease: lease.clone(),
        permits,
        chats: Arc::clone(&chats),
    };
    let router = Router::new().route(PATH, post(receive)).with_state(webhook);
    (
        router,
        Workers {
            chats,
            background,
            grace: settings.shutdown_grace,
            store,
            lease,
        },
    )
}

/// Compares the header with the secret in time independent of where they differ (and of
/// their lengths): both are hashed, and the digests compared without early exit.
fn secret_matches(expected_digest: &[u8; 32], given: Option<&[u8]>) -> bool {
    let Some(given) = given else {
        return false;
    };
    let digest: [u8; 32] = Sha256::digest(given).into();
    digest
        .iter()
        .zip(expected_digest)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

fn status(code: StatusCode) -> Response {
    code.into_response()
}

async fn receive(State(webhook): State<Webhook>, headers: HeaderMap, body: Body) -> Response {
    let given = headers.get(SECRET_HEADER).map(|value| value.as_bytes());
    if !secret_matches(&webhook.secret_digest, given) {
        return status(StatusCode::UNAUTHORIZED);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return status(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return status(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let update: Update = match serde_json::from_slice(&bytes) {
        Ok(update) => update,
        Err(error) => {
            tracing::debug!(%error, "telegram webhook: not an update");
            return status(StatusCode::BAD_REQUEST);
        }
    };
    if !updates::is_actionable(&update.kind) {
        // Unknown kinds (teloxide reads them as `UpdateKind::Error`) and kinds Maktab does not
        // use: acknowledged so that Telegram does not retry them. A kind Maktab uses that
        // teloxide could not read means the Bot API changed under us: worth a warning.
        if updates::is_unreadable_actionable(&update.kind, &bytes) {
            tracing::warn!(
                update_id = update.id.0,
                "telegram update of a handled kind could not be read; ignored"
            );
        } else {
            tracing::debug!(update_id = update.id.0, "telegram update ignored");
        }
        return status(StatusCode::OK);
    }
    let Ok(raw) = std::str::from_utf8(&bytes) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let Ok(permit) = Arc::clone(&webhook.permits).try_acquire_owned() else {
        tracing::warn!("telegram queue full: update refused, Telegram will retry");
        return busy();
    };
    let update_id = i64::from(update.id.0);
    let chat_id = updates::chat_of(&update);
    match webhook
        .store
        .accept_update(
            update_id,
            chat_id,
            raw,
            crate::domain::now(),
            &webhook.lease.holder,
            webhook.lease.seconds,
        )
        .await
    {
        Ok(Acceptance::Accepted) => {}
        Ok(Acceptance::Duplicate) => return status(StatusCode::OK),
        Err(error) => {
            tracing::error!(%error, "telegram update not stored: Telegram will retry");
            return busy();
        }
    }
    let job = Job {
        update_id,
        _permit: permit,
    };
    webhook.chats.dispatch(chat_id, job);
    status(StatusCode::OK)
}

/// Refusal that makes Telegram deliver the update again later.
fn busy() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
    )
        .into_response()
}

/// Handles one update in a task of its own: a bug that panics loses that update, not the
/// chat's queue. The guard aborts the task if the caller is stopped (shutdown past its grace
/// period), so that no update is half-handled by a task nobody waits for.
async fn run(processor: &Arc<Processor>, update_id: i64) {
    let processor = Arc::clone(processor);
    let mut task = tokio::spawn(async move { handle(&processor, update_id).await });
    let _abort = AbortOnDrop(task.abort_handle());
    if (&mut task).await.is_err() {
        tracing::error!(
            update_id,
            "telegram update handling panicked; update dropped"
        );
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Store failures while loading or finishing an update are retried this many times.
const STORE_ATTEMPTS: u32 = 3;

async fn handle(processor: &Processor, update_id: i64) {
    let store = processor.store();
    let mut attempt = 0;
    let raw = loop {
        attempt += 1;
        match store.pending_update(update_id).await {
            Ok(Some(raw)) => break raw,
            // Finished already (a resumed update that was also queued by the webhook).
            Ok(None) => return,
            Err(error) if attempt < STORE_ATTEMPTS => {
                tracing::warn!(%error, update_id, "cannot load telegram update, retrying");
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
            Err(error) => {
                tracing::error!(%error, update_id, "cannot load telegram update; left for the next start");
                return;
            }
        }
    };
    match serde_json::from_str::<Update>(&raw) {
        Ok(update) => {
            if let Err(error) = processor.process(&update, crate::domain::now()).await {
                let chat = updates::chat_of(&update).map(|chat| mask_sender(&chat.to_string()));
                tracing::error!(%error, update_id, chat = chat.as_deref().unwrap_or("-"), "telegram update not answered");
            }
        }
        Err(error) => {
            tracing::error!(%error, update_id, "stored telegram update unreadable; dropped")
        }
    }
    // Done, answered or not: an update that failed once would most likely fail again, and
    // must not block its chat at every start.
    if let Err(error) = store.finish_update(update_id).await {
        tracing::error!(%error, update_id, "cannot remove telegram update from the inbox; it will be handled again at the next start");
    }
}

/// Claims the inbox rows nobody holds or whose lease ran out (left by a clean shutdown, or by
/// an instance that died), at start-up and then every renewal period, as room in the queue
/// allows, and queues them.
async fn claim_leftovers(
    store: Arc<dyn Store>,
    lease: Lease,
    permits: Arc<Semaphore>,
    chats: Arc<ChatQueues>,
) {
    let mut every = tokio::time::interval(lease.renew_every);
    loop {
        every.tick().await;
        let room = u32::try_from(permits.available_permits()).unwrap_or(u32::MAX);
        if room == 0 {
            continue;
        }
        let claimed = match store
            .claim_updates(&lease.holder, crate::domain::now(), lease.seconds, room)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "cannot claim from the telegram inbox; trying again later");
                continue;
            }
        };
        if !claimed.is_empty() {
            tracing::info!(
                count = claimed.len(),
                "resuming telegram updates left by a restart or another instance"
            );
        }
        for update in claimed {
            // Held while waiting: `renew_leases` keeps the claim alive.
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let job = Job {
                update_id: update.update_id,
                _permit: permit,
            };
            chats.dispatch(update.chat_id, job);
        }
    }
}

/// Keeps this instance's hold on every inbox row it accepted or claimed and has not finished.
async fn renew_leases(store: Arc<dyn Store>, lease: Lease) {
    let mut every = tokio::time::interval(lease.renew_every);
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(error) = store
            .renew_updates(&lease.holder, crate::domain::now(), lease.seconds)
            .await
        {
            tracing::warn!(%error, "cannot renew the telegram inbox leases");
        }
    }
}

async fn upkeep(store: Arc<dyn Store>) {
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    loop {
        every.tick().await;
        match store.prune_offers(crate::domain::now()).await {
            Ok(removed) => tracing::debug!(removed, "pruned expired telegram button offers"),
            Err(error) => tracing::warn!(%error, "could not prune telegram button offers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_must_match_exactly() {
        let expected: [u8; 32] = Sha256::digest(b"s3cret").into();
        assert!(secret_matches(&expected, Some(b"s3cret")));
        assert!(!secret_matches(&expected, Some(b"s3cre")));
        assert!(!secret_matches(&expected, Some(b"s3cret ")));
        assert!(!secret_matches(&expected, Some(b"")));
        assert!(!secret_matches(&expected, None));
    }
}
