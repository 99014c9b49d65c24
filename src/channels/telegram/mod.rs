//! The Telegram bot: the same conversation core as SMS, with what Telegram does better (buttons,
//! a map pin of the polling centre, free messages for notices).
//!
//! - [`webhook`]: our own axum route for `POST /webhooks/telegram` (not teloxide's handler, which
//!   compares the secret in non-constant time and queues without bound): the secret check, the
//!   durable inbox of accepted updates and the per-chat workers that process them.
//! - [`updates`]: what an `Update` means (a message for the core, `/start`, a button, a blocked
//!   bot...) and how it is answered.
//! - [`sender`]: sending through teloxide's `Bot`, paced per chat, honouring `retry_after`, and
//!   marking chats that blocked the bot as unreachable.
//! - [`duty`]: the duty desk's messages to Telegram chats (tickets pushed to agents).
//! - [`setup`]: the operator commands (`setWebhook`, `setMyCommands`, `getWebhookInfo`).
//!
//! Dialogue state lives in Maktab's own store (the core's per-sender state), not in teloxide's
//! storage, whose SQLite feature pulls a second `libsqlite3-sys` that conflicts with sqlx 0.9.

pub mod duty;
pub mod lane;
pub mod sender;
pub mod setup;
pub mod updates;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use teloxide::{Bot, RequestError};
use thiserror::Error;
use url::Url;

use crate::config::{Secret, TelegramConfig};
use crate::conversation::Conversation;
use crate::store::{Store, StoreError};

/// Everything needed to run the bot, from the configuration.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub bot_token: Secret,
    /// Expected in `X-Telegram-Bot-Api-Secret-Token` on every webhook request.
    pub webhook_secret: Secret,
    /// The Bot API server (`{api_url}/bot{token}/{method}`).
    pub api_url: Url,
    /// The service's public base URL, for `setWebhook`.
    pub public_url: Option<Url>,
    /// Accepted updates waiting or in progress before the webhook answers 503.
    pub queue_capacity: usize,
    /// `max_connections` given to `setWebhook`.
    pub max_connections: u8,
    /// The bot's username (without `@`); asked of `getMe` when `None`.
    pub bot_username: Option<String>,
    /// How long the workers may take, at shutdown, to finish the updates already queued. What
    /// they do not finish stays in the inbox and is resumed at the next start.
    pub shutdown_grace: Duration,
    /// How long a "notify me" button keeps working.
    pub offer_ttl: Duration,
    /// How long this instance's hold on an inbox row lasts without renewal (renewed every
    /// third of it): after a crash, another instance (or this one restarted) resumes the
    /// update once it runs out.
    pub inbox_lease: Duration,
}

impl TelegramSettings {
    /// The settings of a configured bot with defaults for the rest; for tests and tools.
    pub fn new(bot_token: &str, webhook_secret: &str, api_url: Url) -> Self {
        let defaults = TelegramConfig::default();
        Self {
            bot_token: Secret::new(bot_token),
            webhook_secret: Secret::new(webhook_secret),
            api_url,
            public_url: None,
            queue_capacity: defaults.queue_capacity,
            max_connections: defaults.max_connections,
            bot_username: None,
            shutdown_grace: Duration::from_secs(10),
            offer_ttl: Duration::from_secs(7 * 24 * 3600),
            inbox_lease: Duration::from_secs(30),
        }
    }

    /// The settings the configuration asks for, or `None` when Telegram is not configured.
    /// The configuration was validated when it was loaded; this only converts it.
    pub fn from_config(config: &TelegramConfig) -> Result<Option<Self>, TelegramError> {
        let (Some(token), Some(secret)) = (&config.bot_token, &config.webhook_secret) else {
            return Ok(None);
        };
        let parse = |name: &'static str, value: &str| {
            Url::parse(value).map_err(|error| TelegramError::Url {
                name,
                message: error.to_string(),
            })
        };
        let mut settings = Self::new(
            token.expose(),
            secret.expose(),
            parse("api_url", &config.api_url)?,
        );
        settings.public_url = config
            .public_url
            .as_deref()
            .map(|url| parse("public_url", url))
            .transpose()?;
        settings.queue_capacity = config.queue_capacity;
        settings.max_connections = config.max_connections;
        settings.bot_username = config
            .bot_username
            .as_deref()
            .map(|name| name.trim_start_matches('@').to_owned())
            .filter(|name| !name.is_empty());
        Ok(Some(settings))
    }
}

/// A failure of the Telegram channel outside the handling of one update.
#[derive(Debug, Error)]
pub enum TelegramError {
    #[error("telegram.{name}: {message}")]
    Url { name: &'static str, message: String },
    #[error("telegram.{0} is not configured")]
    Missing(&'static str),
    #[error("cannot create the HTTP client: {0}")]
    Client(String),
    #[error("Telegram Bot API: {0}")]
    Request(#[from] RequestError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// A configured bot: its settings and teloxide's `Bot` (cheap to clone).
#[derive(Clone)]
pub struct Telegram {
    settings: Arc<TelegramSettings>,
    bot: Bot,
}

impl Telegram {
    /// Prepares the bot. Nothing is sent to Telegram yet.
    /// The bot the configuration describes, or `None` when Telegram is not configured.
    pub fn from_config(config: &TelegramConfig) -> Result<Option<Self>, TelegramError> {
        TelegramSettings::from_config(config)?
            .map(Self::new)
            .transpose()
    }

    pub fn new(settings: TelegramSettings) -> Result<Self, TelegramError> {
        // teloxide's `Bot::new` panics if the client cannot be built; build it here instead,
        // with teloxide's recommended timeouts.
        let client = teloxide::net::default_reqwest_settings()
            .build()
            .map_err(|error| TelegramError::Client(error.to_string()))?;
        let bot = Bot::with_client(settings.bot_token.expose(), client)
            .set_api_url(settings.api_url.clone());
        Ok(Self {
            settings: Arc::new(settings),
            bot,
        })
    }

    pub fn settings(&self) -> &TelegramSettings {
        &self.settings
    }

    /// teloxide's client for the Bot API.
    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    /// A sender for messages outside a conversation (notices). It honours `retry_after` and
    /// blocked chats like the workers' sender, and paces its own messages per chat.
    pub fn sender(&self, store: Arc<dyn Store>) -> sender::TelegramSender {
        sender::TelegramSender::new(self.bot.clone(), store)
    }

    /// Starts the workers (resuming updates accepted before a restart) and returns the webhook
    /// route to serve and the handle that stops them. Replies go to the outbox; `bell` wakes
    /// the Telegram lane that sends them.
    pub fn start(
        &self,
        store: Arc<dyn Store>,
        conversation: Conversation,
        bell: crate::notices::OutboxBell,
    ) -> (axum::Router, webhook::Workers) {
        webhook::start(self, store, conversation, bell)
    }
}
