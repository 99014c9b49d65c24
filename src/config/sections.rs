//! The sections of the configuration other than the SMS gateways, with their defaults.

use serde::{Deserialize, Serialize};

use super::Secret;
use crate::conversation::{ConversationSettings, Verification};
use crate::domain::DEFAULT_MAX_VOTERS_PER_STATION;

/// The notice dispatcher.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NoticesConfig {
    /// Outbox rows claimed per round and channel. A dispatcher killed mid-round can send at
    /// most this many messages twice.
    pub batch: u32,
    /// Seconds a claim protects its rows; after that another dispatcher takes them over.
    pub lease_seconds: i64,
    /// Seconds a stopping instance keeps sending what is due (replies first) after its
    /// listener closed; what is left stays in the outbox for the next start or another
    /// instance. Keep it below the orchestrator's kill timeout.
    pub drain_seconds: u64,
}

impl Default for NoticesConfig {
    fn default() -> Self {
        Self {
            batch: 100,
            lease_seconds: 120,
            drain_seconds: 10,
        }
    }
}

/// The duty desk (المداومة): voters and clerks reach a person on duty.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DutyConfig {
    /// Minutes a voter's ticket may wait for its first answer before it goes to the wilaya's
    /// and the national duty cells.
    pub escalate_minutes: i64,
    /// The same for an incident a clerk reported from a centre.
    pub incident_escalate_minutes: i64,
    /// Seconds between two looks for tickets to escalate.
    pub escalate_check_seconds: u64,
}

impl Default for DutyConfig {
    fn default() -> Self {
        Self {
            escalate_minutes: 15,
            incident_escalate_minutes: 5,
            escalate_check_seconds: 30,
        }
    }
}

/// The Telegram bot. Telegram is enabled when `bot_token` is set (`webhook_secret` is then
/// required); without it the webhook route answers 404.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// The token @BotFather gave.
    pub bot_token: Option<Secret>,
    /// What Telegram sends in `X-Telegram-Bot-Api-Secret-Token`: 1 to 256 of `A-Z a-z 0-9 _ -`.
    pub webhook_secret: Option<Secret>,
    /// The service's public base URL; the webhook is `{public_url}/webhooks/telegram`. Needed
    /// by `maktab telegram setup` only.
    pub public_url: Option<String>,
    /// The Bot API server: Telegram's, or a local `telegram-bot-api` server.
    pub api_url: String,
    /// Accepted updates waiting or in progress; beyond this the webhook answers 503 and
    /// Telegram retries later.
    pub queue_capacity: usize,
    /// Simultaneous webhook connections Telegram may open (1 to 100), set by `setup`.
    pub max_connections: u8,
    /// The bot's username, to recognise `/command@username` in groups; asked of Telegram
    /// (`getMe`) when not set.
    pub bot_username: Option<String>,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            bot_token: None,
            webhook_secret: None,
            public_url: None,
            api_url: "https://api.telegram.org".to_owned(),
            queue_capacity: 256,
            max_connections: 40,
            bot_username: None,
        }
    }
}

impl TelegramConfig {
    /// Whether the Telegram channel is configured.
    pub fn enabled(&self) -> bool {
        self.bot_token.is_some()
    }
}

/// Telegram's rule for a webhook secret token: 1 to 256 characters `A-Z a-z 0-9 _ -`.
pub fn is_valid_webhook_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Reviewing change sets.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ChangesConfig {
    /// The approver of a change set must be another token than its importer.
    pub two_person_rule: bool,
}

/// How lookups are verified and limited.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LookupConfig {
    /// `birth_date`, `birth_year` or `none`.
    pub verify: Verification,
    pub max_per_sender_per_hour: u64,
    pub max_failed_per_nin_per_day: u64,
    /// How long a half-finished dialogue is remembered.
    pub dialogue_minutes: i64,
    /// How many citizens a field clerk may check against the roll in an hour.
    pub max_clerk_checks_per_hour: u64,
}

/// Admin API limits.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Largest import upload, in bytes.
    pub import_max_bytes: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            import_max_bytes: 1 << 30,
        }
    }
}

/// Import rules.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// The legal limit is 500; a stricter local rule may lower it.
    pub max_voters_per_station: u32,
}

impl Default for LookupConfig {
    fn default() -> Self {
        let defaults = ConversationSettings::default();
        Self {
            verify: defaults.verification,
            max_per_sender_per_hour: defaults.max_lookups_per_sender_per_hour,
            max_failed_per_nin_per_day: defaults.max_failures_per_nin_per_day,
            dialogue_minutes: defaults.dialogue_ttl_seconds / 60,
            max_clerk_checks_per_hour: defaults.max_clerk_checks_per_hour,
        }
    }
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            max_voters_per_station: DEFAULT_MAX_VOTERS_PER_STATION,
        }
    }
}

/// The web console under `/console/`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The console's public base URL; when it is `https://`, cookies are marked `Secure`.
    /// Unset: the SMS or Telegram public URL is used.
    pub public_url: Option<String>,
    /// A session unused this long ends.
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, however used.
    pub session_absolute_hours: i64,
    /// Sign-in attempts allowed per login, and per address, in 15 minutes.
    pub attempts_per_login: u64,
    pub attempts_per_address: u64,
    /// National users must give a TOTP code (and enrol at their first sign-in).
    pub national_totp: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            attempts_per_login: 5,
            attempts_per_address: 30,
            national_totp: true,
        }
    }
}
