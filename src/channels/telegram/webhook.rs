//! `POST /webhooks/telegram`: our own axum route, the durable inbox and the worker lanes.
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
//! Accepted updates are spread over a few worker lanes by chat id: one chat's updates are
//! handled in order, one at a time, while a slow chat (waiting out a `retry_after`) holds up
//! only its lane.
//!
//! Resuming at start-up takes every row of the inbox: right for SQLite, where one process owns
//! the database file. Several processes sharing one PostgreSQL would each need to claim rows
//! (a lease column) before resuming them.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sha2::{Digest, Sha256};
use teloxide::types::Update;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::Telegram;
use super::sender::TelegramSender;
use super::updates::{self, Processor};
use crate::conversation::Conversation;
use crate::domain::mask_sender;
use crate::store::{Acceptance, Store};

/// The route.
pub const PATH: &str = "/webhooks/telegram";

/// The header Telegram sends the secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Larger than any update Telegram sends (a 4096-character message with its entities and the
/// message it replies to is a few tens of kilobytes).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Worker lanes. Two cores serve this process; more lanes would only add waiting.
const LANES: usize = 4;

/// How often expired button offers are removed.
const UPKEEP_EVERY: Duration = Duration::from_secs(3600);

/// An accepted update on its way to a worker; the permit is its place in the queue, given
/// back when the worker is done with it.
struct Job {
    update_id: i64,
    _permit: OwnedSemaphorePermit,
}

#[derive(Clone)]
struct Webhook {
    secret_digest: [u8; 32],
    store: Arc<dyn Store>,
    permits: Arc<Semaphore>,
    lanes: Arc<[mpsc::Sender<Job>]>,
}

/// The running workers; [`Workers::shutdown`] stops them.
pub struct Workers {
    lanes: Vec<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
    grace: Duration,
}

impl Workers {
    /// Lets the workers finish what is queued, for at most the grace period, then stops them.
    /// Call it once the HTTP server has stopped (the route holds the other ends of the lanes);
    /// whatever is left stays in the inbox for the next start.
    pub async fn shutdown(self) {
        for task in &self.background {
            task.abort();
        }
        let aborts: Vec<_> = self.lanes.iter().map(JoinHandle::abort_handle).collect();
        let drained = tokio::time::timeout(self.grace, async {
            for lane in self.lanes {
                let _ = lane.await;
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "telegram workers stopped before the queue drained; the rest resumes at the next start"
            );
            for abort in aborts {
                abort.abort();
            }
        }
    }
}

/// Spawns the lanes, resumes the inbox and returns the route.
pub(super) fn start(
    telegram: &Telegram,
    store: Arc<dyn Store>,
    conversation: Conversation,
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
        telegram.bot().clone(),
        settings.bot_username.clone(),
        i64::try_from(settings.offer_ttl.as_secs()).unwrap_or(i64::MAX),
    ));
    let capacity = settings.queue_capacity.max(1);
    let permits = Arc::new(Semaphore::new(capacity));
    let mut senders = Vec::with_capacity(LANES);
    let mut lanes = Vec::with_capacity(LANES);
    for _ in 0..LANES {
        // Each lane can hold every permit, so sending to a lane never finds it full: the
        // semaphore alone bounds the queue.
        let (tx, rx) = mpsc::channel(capacity);
        senders.push(tx);
        lanes.push(tokio::spawn(lane(rx, Arc::clone(&processor))));
    }
    let senders: Arc<[mpsc::Sender<Job>]> = senders.into();
    let background = vec![
        tokio::spawn(resume(
            Arc::clone(&store),
            Arc::clone(&permits),
            Arc::clone(&senders),
        )),
        tokio::spawn(upkeep(Arc::clone(&store))),
    ];
    let webhook = Webhook {
        secret_digest: Sha256::digest(settings.webhook_secret.expose().as_bytes()).into(),
        store,
        permits,
        lanes: senders,
    };
    let router = Router::new().route(PATH, post(receive)).with_state(webhook);
    (
        router,
        Workers {
            lanes,
            background,
            grace: settings.shutdown_grace,
        },
    )
}

fn lane_of(chat_id: Option<i64>) -> usize {
    chat_id.map_or(0, |chat| {
        usize::try_from(chat.rem_euclid(LANES as i64)).unwrap_or(0)
    })
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
        .accept_update(update_id, chat_id, raw, crate::domain::now())
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
    if webhook.lanes[lane_of(chat_id)].try_send(job).is_err() {
        // Only while shutting down: the update is in the inbox and resumes at the next start.
        tracing::warn!(
            update_id,
            "telegram worker gone: update left for the next start"
        );
    }
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

/// One lane: its updates, one at a time, in order.
async fn lane(mut jobs: mpsc::Receiver<Job>, processor: Arc<Processor>) {
    while let Some(job) = jobs.recv().await {
        let processor = Arc::clone(&processor);
        let update_id = job.update_id;
        // A task per update: a bug that panics loses that update, not the lane. The guard
        // aborts the task if the lane itself is stopped (shutdown past its grace period), so
        // that an update is never half-handled by a task nobody waits for.
        let mut run = tokio::spawn(async move { handle(&processor, update_id).await });
        let _abort = AbortOnDrop(run.abort_handle());
        if (&mut run).await.is_err() {
            tracing::error!(
                update_id,
                "telegram update handling panicked; update dropped"
            );
        }
        drop(job);
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
    // must not block its lane at every start.
    if let Err(error) = store.finish_update(update_id).await {
        tracing::error!(%error, update_id, "cannot remove telegram update from the inbox; it will be handled again at the next start");
    }
}

/// Feeds the lanes with updates accepted before a restart, as room in the queue allows.
async fn resume(store: Arc<dyn Store>, permits: Arc<Semaphore>, lanes: Arc<[mpsc::Sender<Job>]>) {
    let pending = match store.pending_updates().await {
        Ok(pending) => pending,
        Err(error) => {
            tracing::error!(%error, "cannot read the telegram inbox; pending updates wait for the next start");
            return;
        }
    };
    if pending.is_empty() {
        return;
    }
    tracing::info!(
        count = pending.len(),
        "resuming telegram updates accepted before the restart"
    );
    for update in pending {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let job = Job {
            update_id: update.update_id,
            _permit: permit,
        };
        if lanes[lane_of(update.chat_id)].send(job).await.is_err() {
            return;
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

    #[test]
    fn one_chat_always_lands_on_the_same_lane() {
        assert_eq!(lane_of(Some(42)), lane_of(Some(42)));
        assert!(lane_of(Some(-1_001_234_567_890)) < LANES);
        assert_eq!(lane_of(None), 0);
    }
}
