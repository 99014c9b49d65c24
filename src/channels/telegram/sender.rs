//! Sending through teloxide's `Bot`: one reply is a `sendMessage` (text and buttons) followed by
//! a `sendVenue` when the centre has coordinates. Replies wait in the outbox as a
//! [`ChatMessage`] and are sent by the Telegram lane, as notices are. Telegram's limits are
//! honoured here, once for conversation replies and notices alike:
//!
//! - a 429 carries `retry_after`: wait that long and try again, a bounded number of times;
//! - a 403 "bot was blocked by the user" (or a deactivated user) is permanent: the chat is
//!   marked unreachable and nothing more is sent to it until it writes again;
//! - about one message per second per chat (twenty a minute in a group): a short burst of two
//!   lets a text and its map pin go together, then messages are spaced.

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use teloxide::payloads::{AnswerCallbackQuerySetters, SendMessageSetters};
use teloxide::prelude::Requester;
use teloxide::types::{CallbackQueryId, ChatId, InlineKeyboardMarkup};
use teloxide::{ApiError, Bot, RequestError};
use thiserror::Error;
use tokio::time::Instant;

use crate::conversation::Venue;
use crate::domain::mask_sender;
use crate::store::{Store, StoreError};

/// A reply as it waits in the outbox and goes to the Bot API: the text, its buttons and the
/// centre's map pin. Stored whole (as JSON) in the outbox row, so what the voter gets after a
/// restart is what the conversation answered, buttons included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyboard: Option<InlineKeyboardMarkup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<ChatVenue>,
}

/// A map pin under a reply (`sendVenue`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatVenue {
    pub title: String,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
}

impl From<&Venue> for ChatVenue {
    fn from(venue: &Venue) -> Self {
        Self {
            title: venue.title.clone(),
            address: venue.address.clone(),
            latitude: venue.coordinates.latitude,
            longitude: venue.coordinates.longitude,
        }
    }
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatDelivery {
    Sent,
    /// The chat blocked the bot (now or before): nothing was sent and nothing will be.
    Unreachable,
}

/// A message could not be delivered.
#[derive(Debug, Error)]
pub enum TelegramSendError {
    #[error("Telegram Bot API: {0}")]
    Request(#[from] RequestError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// When to try a failed request again.
#[derive(Debug, Clone)]
pub struct TelegramRetry {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// A longer `retry_after` is not waited for: the message is dropped and logged (a worker
    /// asleep for minutes would hold up every chat behind it).
    pub max_retry_after: Duration,
    /// First wait after a network error, doubled at each attempt.
    pub network_backoff: Duration,
}

impl Default for TelegramRetry {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_retry_after: Duration::from_secs(60),
            network_backoff: Duration::from_millis(500),
        }
    }
}

impl TelegramRetry {
    /// How long to wait before attempt `attempt + 1` after `error`, or `None` to give up.
    pub fn wait_after(&self, attempt: u32, error: &RequestError) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match error {
            RequestError::RetryAfter(seconds) => {
                // Telegram counts whole seconds; add a little so the retry lands after the
                // window rather than on its edge.
                let wait = seconds.duration() + Duration::from_millis(100);
                (seconds.duration() <= self.max_retry_after).then_some(wait)
            }
            RequestError::Network(_) => Some(self.network_backoff * 2u32.pow(attempt - 1)),
            // Bad requests, blocked chats and the like: trying again changes nothing.
            _ => None,
        }
    }
}

/// Runs a request, trying again as the policy says. `make` builds a fresh request per attempt.
pub async fn with_retries<T, F, Fut>(policy: &TelegramRetry, make: F) -> Result<T, RequestError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut attempt = 1;
    loop {
        match make().await {
            Ok(value) => return Ok(value),
            Err(error) => match policy.wait_after(attempt, &error) {
                Some(wait) => {
                    tracing::info!(%error, attempt, wait_ms = wait.as_millis() as u64, "telegram request will be retried");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => return Err(error),
            },
        }
    }
}

/// Errors that mean the chat cannot be written to any more.
fn is_unreachable(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::BotBlocked
            | ApiError::UserDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
    )
}

/// Per-chat spacing of messages (a generic cell rate algorithm): each message books the next
/// `interval` of the chat's time, and a message may go as soon as the chat's booked time is
/// less than `burst` intervals ahead. Pure arithmetic on the instants it is given, so it is
/// tested without sleeping.
#[derive(Debug)]
pub struct Pacer {
    burst: u32,
    next_free: HashMap<i64, Instant>,
}

/// Telegram's limits: about one message per second in a private chat, twenty per minute in a
/// group (negative chat ids).
fn interval_for(chat_id: i64) -> Duration {
    if chat_id < 0 {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(1)
    }
}

/// Above this many chats remembered, the idle ones are forgotten.
const PACER_MEMORY: usize = 4096;

impl Pacer {
    /// A pacer allowing `burst` messages at once per chat before spacing them.
    pub fn new(burst: u32) -> Self {
        Self {
            burst: burst.max(1),
            next_free: HashMap::new(),
        }
    }

    /// Books a message to `chat_id` at `now` and returns how long to wait before sending it.
    pub fn reserve(&mut self, chat_id: i64, now: Instant) -> Duration {
        if self.next_free.len() > PACER_MEMORY {
            self.next_free.retain(|_, next| *next > now);
        }
        let interval = interval_for(chat_id);
        let booked = self
            .next_free
            .get(&chat_id)
            .copied()
            .filter(|next| *next > now)
            .unwrap_or(now);
        let tolerance = interval * (self.burst - 1);
        let earliest = booked.checked_sub(tolerance).unwrap_or(now);
        self.next_free.insert(chat_id, booked + interval);
        earliest.saturating_duration_since(now)
    }
}

/// Sends messages to chats, within Telegram's limits.
pub struct TelegramSender {
    bot: Bot,
    store: Arc<dyn Store>,
    pacer: Mutex<Pacer>,
    policy: TelegramRetry,
}

impl TelegramSender {
    pub fn new(bot: Bot, store: Arc<dyn Store>) -> Self {
        Self {
            bot,
            store,
            pacer: Mutex::new(Pacer::new(2)),
            policy: TelegramRetry::default(),
        }
    }

    /// Sends a conversation reply: its text with the keyboard, then its venue if it has one.
    pub async fn send_reply(
        &self,
        chat_id: i64,
        reply: &ChatMessage,
    ) -> Result<ChatDelivery, TelegramSendError> {
        let delivery = self
            .deliver(chat_id, || {
                let mut request = self.bot.send_message(ChatId(chat_id), reply.text.clone());
                if let Some(keyboard) = &reply.keyboard {
                    request = request.reply_markup(keyboard.clone());
                }
                request.into_future()
            })
            .await?;
        let Some(venue) = &reply.venue else {
            return Ok(delivery);
        };
        if delivery == ChatDelivery::Unreachable {
            return Ok(delivery);
        }
        self.deliver(chat_id, || {
            self.bot
                .send_venue(
                    ChatId(chat_id),
                    venue.latitude,
                    venue.longitude,
                    venue.title.clone(),
                    venue.address.clone(),
                )
                .into_future()
        })
        .await
    }

    /// Sends a plain text message (a notice), unless the chat blocked the bot.
    pub async fn send_text(
        &self,
        chat_id: i64,
        text: &str,
    ) -> Result<ChatDelivery, TelegramSendError> {
        self.deliver(chat_id, || {
            self.bot
                .send_message(ChatId(chat_id), text.to_owned())
                .into_future()
        })
        .await
    }

    /// Answers a button press so the client stops its spinner, with an optional toast.
    pub async fn answer_callback(
        &self,
        query_id: &CallbackQueryId,
        toast: Option<&str>,
    ) -> Result<(), TelegramSendError> {
        with_retries(&self.policy, || {
            let mut request = self.bot.answer_callback_query(query_id.clone());
            if let Some(text) = toast {
                request = request.text(text);
            }
            request.into_future()
        })
        .await?;
        Ok(())
    }

    /// Removes the buttons under a message, best effort: a message too old to edit, or
    /// already without buttons, keeps what it has.
    pub async fn remove_buttons(&self, chat_id: i64, message_id: i32) {
        let removed = self
            .bot
            .edit_message_reply_markup(ChatId(chat_id), teloxide::types::MessageId(message_id))
            .await;
        if let Err(error) = removed {
            tracing::debug!(%error, chat = %mask_sender(&chat_id.to_string()), "buttons not removed");
        }
    }

    async fn deliver<T, F, Fut>(
        &self,
        chat_id: i64,
        make: F,
    ) -> Result<ChatDelivery, TelegramSendError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        if self.store.chat_blocked(chat_id).await? {
            return Ok(ChatDelivery::Unreachable);
        }
        let wait = match self.pacer.lock() {
            Ok(mut pacer) => pacer.reserve(chat_id, Instant::now()),
            // A panic elsewhere while holding the lock: pacing is best effort, send anyway.
            Err(_) => Duration::ZERO,
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        match with_retries(&self.policy, make).await {
            Ok(_) => Ok(ChatDelivery::Sent),
            Err(RequestError::Api(error)) if is_unreachable(&error) => {
                tracing::info!(chat = %mask_sender(&chat_id.to_string()), %error, "chat unreachable: no more messages to it");
                self.store
                    .set_chat_blocked(chat_id, true, crate::domain::now())
                    .await?;
                Ok(ChatDelivery::Unreachable)
            }
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(seconds: u32) -> RequestError {
        RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(seconds))
    }

    #[test]
    fn a_text_and_its_map_pin_go_together_then_messages_are_a_second_apart() {
        let mut pacer = Pacer::new(2);
        let t0 = Instant::now();
        assert_eq!(pacer.reserve(7, t0), Duration::ZERO);
        assert_eq!(pacer.reserve(7, t0), Duration::ZERO);
        assert_eq!(pacer.reserve(7, t0), Duration::from_secs(1));
        assert_eq!(pacer.reserve(7, t0), Duration::from_secs(2));
        // Another chat is not held up.
        assert_eq!(pacer.reserve(8, t0), Duration::ZERO);
        // After a quiet spell the burst is available again.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(pacer.reserve(7, later), Duration::ZERO);
        assert_eq!(pacer.reserve(7, later), Duration::ZERO);
        assert_eq!(pacer.reserve(7, later), Duration::from_secs(1));
    }

    #[test]
    fn groups_get_twenty_messages_a_minute() {
        let mut pacer = Pacer::new(1);
        let t0 = Instant::now();
        assert_eq!(pacer.reserve(-100, t0), Duration::ZERO);
        assert_eq!(pacer.reserve(-100, t0), Duration::from_secs(3));
    }

    #[test]
    fn retry_after_is_honoured_a_bounded_number_of_times() {
        let policy = TelegramRetry::default();
        let wait = policy.wait_after(1, &retry_after(3)).unwrap();
        assert!(wait >= Duration::from_secs(3) && wait < Duration::from_secs(4));
        assert_eq!(
            policy.wait_after(policy.max_attempts, &retry_after(1)),
            None
        );
        assert_eq!(
            policy.wait_after(1, &retry_after(3600)),
            None,
            "too long to hold a worker"
        );
        assert_eq!(
            policy.wait_after(1, &RequestError::Api(ApiError::BotBlocked)),
            None,
            "a blocked bot is permanent"
        );
    }

    #[test]
    fn blocked_and_deactivated_users_are_unreachable_but_bad_requests_are_not() {
        assert!(is_unreachable(&ApiError::BotBlocked));
        assert!(is_unreachable(&ApiError::UserDeactivated));
        assert!(!is_unreachable(&ApiError::MessageTextIsEmpty));
    }

    #[tokio::test]
    async fn with_retries_tries_again_after_retry_after_then_succeeds() {
        let policy = TelegramRetry {
            max_retry_after: Duration::from_secs(60),
            ..TelegramRetry::default()
        };
        let calls = std::sync::atomic::AtomicU32::new(0);
        let result = with_retries(&policy, || {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { if n == 0 { Err(retry_after(0)) } else { Ok(n) } }
        })
        .await;
        assert_eq!(result.unwrap(), 1);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
