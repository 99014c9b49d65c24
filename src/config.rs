//! Configuration: built-in defaults, then `maktab.toml` (or the file named by `--config` /
//! `MAKTAB_CONFIG`), then `MAKTAB_*` environment variables. Every variable can instead be given
//! as `MAKTAB_*_FILE` naming a file that holds the value, for secrets mounted as files.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::conversation::{ConversationSettings, Verification};
use crate::domain::DEFAULT_MAX_VOTERS_PER_STATION;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH` (created if missing).
    pub database_url: String,
    /// Address of the HTTP listener.
    pub listen: String,
    /// Log filter in `tracing` syntax, for `serve`.
    pub log: String,
    /// A separate listen address for `GET /metrics`; when set, `/metrics` is not served on
    /// `listen` (so it is not exposed with the webhooks).
    pub metrics_listen: Option<String>,
    pub api: ApiConfig,
    pub lookup: LookupConfig,
    pub import: ImportConfig,
    pub sms: SmsConfig,
    pub changes: ChangesConfig,
    pub telegram: TelegramConfig,
    pub notices: NoticesConfig,
    pub console: ConsoleConfig,
}

/// The web console under `/console/`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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

/// The notice dispatcher.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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

/// The Telegram bot. Telegram is enabled when `bot_token` is set (`webhook_secret` is then
/// required); without it the webhook route answers 404.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ChangesConfig {
    /// The approver of a change set must be another token than its importer.
    pub two_person_rule: bool,
}

/// How lookups are verified and limited.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// The legal limit is 500; a stricter local rule may lower it.
    pub max_voters_per_station: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://maktab.db".to_owned(),
            listen: "127.0.0.1:8080".to_owned(),
            log: "info,sqlx=warn".to_owned(),
            metrics_listen: None,
            api: ApiConfig::default(),
            lookup: LookupConfig::default(),
            import: ImportConfig::default(),
            changes: ChangesConfig::default(),
            telegram: TelegramConfig::default(),
            sms: SmsConfig::default(),
            notices: NoticesConfig::default(),
            console: ConsoleConfig::default(),
        }
    }
}

/// A secret (token, password, key): compared and sent, never printed.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for comparing and sending.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The SMS gateways. A provider whose inbound secret is not set is not configured: its webhooks
/// answer 404.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// The externally visible base URL of this service (`https://maktab.example.dz`): Twilio
    /// signs the URL it calls, which a proxy in front of Maktab changes; delivery-report URLs
    /// given to providers are built from it.
    pub public_url: Option<String>,
    /// Seconds to wait for a provider's API before retrying.
    pub send_timeout_seconds: u64,
    /// Tries of one outbound SMS (timeouts, 5xx, 429) before it is recorded as failed.
    pub send_max_attempts: u32,
    pub kannel: KannelConfig,
    pub twilio: TwilioConfig,
    pub infobip: InfobipConfig,
    pub generic: GenericConfig,
}

/// Kannel: `sms-service` calls our webhook; `sendsms` sends.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KannelConfig {
    /// Shared secret Kannel sends as the `secret` query parameter or the Basic auth password.
    pub secret: Option<Secret>,
    /// Addresses (`10.0.0.5`) or networks (`10.0.0.0/24`) Kannel calls from; empty: any.
    pub allow_from: Vec<String>,
    /// `http://kannel:13013/cgi-bin/sendsms`.
    pub sendsms_url: Option<String>,
    pub sendsms_user: Option<String>,
    pub sendsms_password: Option<Secret>,
    /// The sender address of outbound SMS (short code or number).
    pub from: Option<String>,
    /// Route outbound SMS to this `smsc-id`.
    pub smsc: Option<String>,
    pub segments_per_second: f64,
}

/// Twilio Programmable Messaging.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioConfig {
    pub account_sid: Option<String>,
    /// Signs webhooks (`X-Twilio-Signature`) and authenticates API calls.
    pub auth_token: Option<Secret>,
    /// The Twilio number outbound SMS come from, or:
    pub from: Option<String>,
    /// A Messaging Service to send through instead of `from`.
    pub messaging_service_sid: Option<String>,
    pub api_url: String,
    pub segments_per_second: f64,
}

/// Infobip: it signs nothing, so its webhooks are configured with Basic auth.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct InfobipConfig {
    pub webhook_user: String,
    pub webhook_password: Option<Secret>,
    /// The account's base URL, `https://XXXXX.api.infobip.com`.
    pub api_url: Option<String>,
    pub api_key: Option<Secret>,
    pub from: Option<String>,
    pub segments_per_second: f64,
}

/// Any other aggregator: JSON signed with HMAC-SHA256 in `X-Maktab-Signature`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GenericConfig {
    /// Signs webhooks both ways.
    pub secret: Option<Secret>,
    /// Where replies are POSTed; without it, replies come back in the webhook's response.
    pub send_url: Option<String>,
    pub from: Option<String>,
    pub segments_per_second: f64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            send_timeout_seconds: 10,
            send_max_attempts: 5,
            kannel: KannelConfig::default(),
            twilio: TwilioConfig::default(),
            infobip: InfobipConfig::default(),
            generic: GenericConfig::default(),
        }
    }
}

impl Default for KannelConfig {
    fn default() -> Self {
        Self {
            secret: None,
            allow_from: Vec::new(),
            sendsms_url: None,
            sendsms_user: None,
            sendsms_password: None,
            from: None,
            smsc: None,
            segments_per_second: 10.0,
        }
    }
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            account_sid: None,
            auth_token: None,
            from: None,
            messaging_service_sid: None,
            api_url: "https://api.twilio.com".to_owned(),
            // A Twilio long code sends one segment per second.
            segments_per_second: 1.0,
        }
    }
}

impl Default for InfobipConfig {
    fn default() -> Self {
        Self {
            webhook_user: "infobip".to_owned(),
            webhook_password: None,
            api_url: None,
            api_key: None,
            from: None,
            segments_per_second: 10.0,
        }
    }
}

impl Default for GenericConfig {
    fn default() -> Self {
        Self {
            secret: None,
            send_url: None,
            from: None,
            segments_per_second: 10.0,
        }
    }
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

/// The configuration could not be read.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{variable}: {message}")]
    Variable { variable: String, message: String },
}

type Setter = fn(&mut Config, &str) -> Result<(), String>;

fn parsed<T: std::str::FromStr>(value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| e.to_string())
}

/// An optional setting: blank means unset.
fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn secret(value: &str) -> Option<Secret> {
    optional(value).map(Secret)
}

fn rate(value: &str) -> Result<f64, String> {
    let rate: f64 = parsed(value)?;
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(format!(
            "{rate}: expected a positive number of segments per second"
        ))
    }
}

/// Every environment variable Maktab reads, with what it sets.
pub const VARIABLES: &[(&str, Setter)] = &[
    ("MAKTAB_CONSOLE_PUBLIC_URL", |c, v| {
        c.console.public_url = optional(v);
        Ok(())
    }),
    ("MAKTAB_CONSOLE_SESSION_IDLE_MINUTES", |c, v| {
        c.console.session_idle_minutes = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_CONSOLE_SESSION_ABSOLUTE_HOURS", |c, v| {
        c.console.session_absolute_hours = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_CONSOLE_ATTEMPTS_PER_LOGIN", |c, v| {
        c.console.attempts_per_login = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_CONSOLE_ATTEMPTS_PER_ADDRESS", |c, v| {
        c.console.attempts_per_address = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_CONSOLE_NATIONAL_TOTP", |c, v| {
        c.console.national_totp = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_DATABASE_URL", |c, v| {
        c.database_url = v.trim().to_owned();
        Ok(())
    }),
    ("MAKTAB_LISTEN", |c, v| {
        c.listen = v.trim().to_owned();
        Ok(())
    }),
    ("MAKTAB_LOG", |c, v| {
        c.log = v.trim().to_owned();
        Ok(())
    }),
    ("MAKTAB_METRICS_LISTEN", |c, v| {
        c.metrics_listen = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        Ok(())
    }),
    ("MAKTAB_API_IMPORT_MAX_BYTES", |c, v| {
        c.api.import_max_bytes = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_LOOKUP_VERIFY", |c, v| {
        c.lookup.verify = match v.trim() {
            "birth_date" => Verification::BirthDate,
            "birth_year" => Verification::BirthYear,
            "none" => Verification::None,
            other => {
                return Err(format!(
                    "{other:?}: expected birth_date, birth_year or none"
                ));
            }
        };
        Ok(())
    }),
    ("MAKTAB_LOOKUP_MAX_PER_SENDER_PER_HOUR", |c, v| {
        c.lookup.max_per_sender_per_hour = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_LOOKUP_MAX_FAILED_PER_NIN_PER_DAY", |c, v| {
        c.lookup.max_failed_per_nin_per_day = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_LOOKUP_DIALOGUE_MINUTES", |c, v| {
        c.lookup.dialogue_minutes = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_LOOKUP_MAX_CLERK_CHECKS_PER_HOUR", |c, v| {
        c.lookup.max_clerk_checks_per_hour = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_NOTICES_BATCH", |c, v| {
        c.notices.batch = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_NOTICES_LEASE_SECONDS", |c, v| {
        c.notices.lease_seconds = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_NOTICES_DRAIN_SECONDS", |c, v| {
        c.notices.drain_seconds = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_CHANGES_TWO_PERSON_RULE", |c, v| {
        c.changes.two_person_rule = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_TELEGRAM_BOT_TOKEN", |c, v| {
        c.telegram.bot_token = Some(Secret::new(v.trim()));
        Ok(())
    }),
    ("MAKTAB_TELEGRAM_WEBHOOK_SECRET", |c, v| {
        c.telegram.webhook_secret = Some(Secret::new(v.trim()));
        Ok(())
    }),
    ("MAKTAB_TELEGRAM_PUBLIC_URL", |c, v| {
        c.telegram.public_url = Some(v.trim().to_owned());
        Ok(())
    }),
    ("MAKTAB_TELEGRAM_API_URL", |c, v| {
        c.telegram.api_url = v.trim().to_owned();
        Ok(())
    }),
    ("MAKTAB_TELEGRAM_QUEUE_CAPACITY", |c, v| {
        c.telegram.queue_capacity = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_TELEGRAM_MAX_CONNECTIONS", |c, v| {
        c.telegram.max_connections = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_TELEGRAM_BOT_USERNAME", |c, v| {
        c.telegram.bot_username = Some(v.trim().to_owned());
        Ok(())
    }),
    ("MAKTAB_IMPORT_MAX_VOTERS_PER_STATION", |c, v| {
        c.import.max_voters_per_station = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_SMS_PUBLIC_URL", |c, v| {
        c.sms.public_url = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_SEND_TIMEOUT_SECONDS", |c, v| {
        c.sms.send_timeout_seconds = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_SMS_SEND_MAX_ATTEMPTS", |c, v| {
        c.sms.send_max_attempts = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_SMS_KANNEL_SECRET", |c, v| {
        c.sms.kannel.secret = secret(v);
        Ok(())
    }),
    ("MAKTAB_SMS_KANNEL_ALLOW_FROM", |c, v| {
        c.sms.kannel.allow_from = v.split(',').filter_map(optional).collect();
        Ok(())
    }),
    ("MAKTAB_SMS_KANNEL_SENDSMS_URL", |c, v| {
        c.sms.kannel.sendsms_url = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_KANNEL_SENDSMS_USER", |c, v| {
        c.sms.kannel.sendsms_user = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_KANNEL_SENDSMS_PASSWORD", |c, v| {
        c.sms.kannel.sendsms_password = secret(v);
        Ok(())
    }),
    ("MAKTAB_SMS_KANNEL_FROM", |c, v| {
        c.sms.kannel.from = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_KANNEL_SMSC", |c, v| {
        c.sms.kannel.smsc = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_KANNEL_SEGMENTS_PER_SECOND", |c, v| {
        c.sms.kannel.segments_per_second = rate(v)?;
        Ok(())
    }),
    ("MAKTAB_SMS_TWILIO_ACCOUNT_SID", |c, v| {
        c.sms.twilio.account_sid = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_TWILIO_AUTH_TOKEN", |c, v| {
        c.sms.twilio.auth_token = secret(v);
        Ok(())
    }),
    ("MAKTAB_SMS_TWILIO_FROM", |c, v| {
        c.sms.twilio.from = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_TWILIO_MESSAGING_SERVICE_SID", |c, v| {
        c.sms.twilio.messaging_service_sid = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_TWILIO_API_URL", |c, v| {
        c.sms.twilio.api_url = v.trim().to_owned();
        Ok(())
    }),
    ("MAKTAB_SMS_TWILIO_SEGMENTS_PER_SECOND", |c, v| {
        c.sms.twilio.segments_per_second = rate(v)?;
        Ok(())
    }),
    ("MAKTAB_SMS_INFOBIP_WEBHOOK_USER", |c, v| {
        c.sms.infobip.webhook_user = v.trim().to_owned();
        Ok(())
    }),
    ("MAKTAB_SMS_INFOBIP_WEBHOOK_PASSWORD", |c, v| {
        c.sms.infobip.webhook_password = secret(v);
        Ok(())
    }),
    ("MAKTAB_SMS_INFOBIP_API_URL", |c, v| {
        c.sms.infobip.api_url = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_INFOBIP_API_KEY", |c, v| {
        c.sms.infobip.api_key = secret(v);
        Ok(())
    }),
    ("MAKTAB_SMS_INFOBIP_FROM", |c, v| {
        c.sms.infobip.from = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_INFOBIP_SEGMENTS_PER_SECOND", |c, v| {
        c.sms.infobip.segments_per_second = rate(v)?;
        Ok(())
    }),
    ("MAKTAB_SMS_GENERIC_SECRET", |c, v| {
        c.sms.generic.secret = secret(v);
        Ok(())
    }),
    ("MAKTAB_SMS_GENERIC_SEND_URL", |c, v| {
        c.sms.generic.send_url = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_GENERIC_FROM", |c, v| {
        c.sms.generic.from = optional(v);
        Ok(())
    }),
    ("MAKTAB_SMS_GENERIC_SEGMENTS_PER_SECOND", |c, v| {
        c.sms.generic.segments_per_second = rate(v)?;
        Ok(())
    }),
];

impl Config {
    /// Loads the configuration. `file` is an explicit path (which must exist); without it,
    /// `maktab.toml` in the working directory is read if present. `env` looks up variables.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let default_file = Path::new("maktab.toml");
        let path = match file {
            Some(path) => Some(path),
            None if default_file.exists() => Some(default_file),
            None => None,
        };
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        for (variable, set) in VARIABLES {
            let file_variable = format!("{variable}_FILE");
            let value = match (env(variable), env(&file_variable)) {
                (Some(value), _) => value,
                (None, Some(path)) => {
                    std::fs::read_to_string(path.trim()).map_err(|e| ConfigError::Variable {
                        variable: file_variable.clone(),
                        message: e.to_string(),
                    })?
                }
                (None, None) => continue,
            };
            set(&mut config, &value).map_err(|message| ConfigError::Variable {
                variable: (*variable).to_owned(),
                message,
            })?;
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |variable: &str, message: &str| {
            Err(ConfigError::Variable {
                variable: variable.to_owned(),
                message: message.to_owned(),
            })
        };
        if self.import.max_voters_per_station == 0 {
            return invalid("import.max_voters_per_station", "must be at least 1");
        }
        if self.lookup.dialogue_minutes <= 0 {
            return invalid("lookup.dialogue_minutes", "must be at least 1");
        }
        let sms = &self.sms;
        for (name, rate) in [
            (
                "sms.kannel.segments_per_second",
                sms.kannel.segments_per_second,
            ),
            (
                "sms.twilio.segments_per_second",
                sms.twilio.segments_per_second,
            ),
            (
                "sms.infobip.segments_per_second",
                sms.infobip.segments_per_second,
            ),
            (
                "sms.generic.segments_per_second",
                sms.generic.segments_per_second,
            ),
        ] {
            if !(rate.is_finite() && rate > 0.0) {
                return invalid(name, "must be a positive number");
            }
        }
        if sms.send_max_attempts == 0 {
            return invalid("sms.send_max_attempts", "must be at least 1");
        }
        if sms.send_timeout_seconds == 0 {
            return invalid("sms.send_timeout_seconds", "must be at least 1");
        }
        if sms.twilio.auth_token.is_some() {
            if sms.public_url.is_none() {
                return invalid(
                    "sms.public_url",
                    "required with Twilio: its signature covers the URL it calls",
                );
            }
            if sms.twilio.account_sid.is_none() {
                return invalid(
                    "sms.twilio.account_sid",
                    "required with sms.twilio.auth_token",
                );
            }
        }
        self.validate_telegram()
    }

    fn validate_telegram(&self) -> Result<(), ConfigError> {
        let invalid = |variable: &str, message: &str| {
            Err(ConfigError::Variable {
                variable: variable.to_owned(),
                message: message.to_owned(),
            })
        };
        let telegram = &self.telegram;
        match (&telegram.bot_token, &telegram.webhook_secret) {
            (Some(_), None) => {
                return invalid(
                    "telegram.webhook_secret (MAKTAB_TELEGRAM_WEBHOOK_SECRET)",
                    "required when a bot token is set: the webhook refuses updates without it",
                );
            }
            (None, Some(_)) => {
                return invalid(
                    "telegram.bot_token (MAKTAB_TELEGRAM_BOT_TOKEN)",
                    "required when a webhook secret is set",
                );
            }
            _ => {}
        }
        if let Some(token) = &telegram.bot_token
            && token.expose().is_empty()
        {
            return invalid("telegram.bot_token (MAKTAB_TELEGRAM_BOT_TOKEN)", "is empty");
        }
        if let Some(secret) = &telegram.webhook_secret
            && !is_valid_webhook_secret(secret.expose())
        {
            return invalid(
                "telegram.webhook_secret (MAKTAB_TELEGRAM_WEBHOOK_SECRET)",
                "must be 1 to 256 characters among A-Z, a-z, 0-9, _ and -",
            );
        }
        for (name, value) in [
            (
                "telegram.api_url (MAKTAB_TELEGRAM_API_URL)",
                Some(&telegram.api_url),
            ),
            (
                "telegram.public_url (MAKTAB_TELEGRAM_PUBLIC_URL)",
                telegram.public_url.as_ref(),
            ),
        ] {
            if let Some(value) = value
                && !url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            {
                return invalid(name, "must be an http:// or https:// URL");
            }
        }
        if telegram.queue_capacity == 0 {
            return invalid(
                "telegram.queue_capacity (MAKTAB_TELEGRAM_QUEUE_CAPACITY)",
                "must be at least 1",
            );
        }
        if !(1..=100).contains(&telegram.max_connections) {
            return invalid(
                "telegram.max_connections (MAKTAB_TELEGRAM_MAX_CONNECTIONS)",
                "must be between 1 and 100",
            );
        }
        Ok(())
    }

    /// The conversation rules this configuration sets.
    pub fn conversation(&self) -> ConversationSettings {
        ConversationSettings {
            verification: self.lookup.verify,
            max_lookups_per_sender_per_hour: self.lookup.max_per_sender_per_hour,
            max_failures_per_nin_per_day: self.lookup.max_failed_per_nin_per_day,
            dialogue_ttl_seconds: self.lookup.dialogue_minutes * 60,
            max_clerk_checks_per_hour: self.lookup.max_clerk_checks_per_hour,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn file_then_environment_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maktab.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\n[lookup]\nverify = \"birth_year\"\nmax_per_sender_per_hour = 3\n").unwrap();
        let config = Config::load(
            Some(&path),
            env(&[("MAKTAB_LOOKUP_MAX_PER_SENDER_PER_HOUR", "7")]),
        )
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.lookup.verify, Verification::BirthYear);
        assert_eq!(config.lookup.max_per_sender_per_hour, 7);
        assert_eq!(config.database_url, "sqlite://maktab.db");
    }

    #[test]
    fn values_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("db-url");
        std::fs::write(&secret, "sqlite:///var/lib/maktab/maktab.db\n").unwrap();
        let config = Config::load(
            Some(&write_empty(&dir)),
            env(&[("MAKTAB_DATABASE_URL_FILE", secret.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(config.database_url, "sqlite:///var/lib/maktab/maktab.db");
    }

    fn write_empty(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("empty.toml");
        std::fs::write(&path, "").unwrap();
        path
    }

    #[test]
    fn sms_settings_come_from_the_file_and_the_environment_and_secrets_do_not_print() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maktab.toml");
        std::fs::write(
            &path,
            "[sms]\npublic_url = \"https://maktab.example.dz\"\n[sms.kannel]\nsecret = \"k-secret\"\nallow_from = [\"10.0.0.0/24\"]\n[sms.twilio]\naccount_sid = \"AC1\"\n",
        )
        .unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "t-secret\n").unwrap();
        let config = Config::load(
            Some(&path),
            env(&[
                ("MAKTAB_SMS_TWILIO_AUTH_TOKEN_FILE", token.to_str().unwrap()),
                ("MAKTAB_SMS_KANNEL_SEGMENTS_PER_SECOND", "2.5"),
                ("MAKTAB_SMS_KANNEL_ALLOW_FROM", "127.0.0.1, ::1"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.sms.kannel.secret.as_ref().map(Secret::expose),
            Some("k-secret")
        );
        assert_eq!(config.sms.kannel.allow_from, ["127.0.0.1", "::1"]);
        assert_eq!(config.sms.kannel.segments_per_second, 2.5);
        assert_eq!(
            config.sms.twilio.auth_token.as_ref().map(Secret::expose),
            Some("t-secret")
        );
        let printed = format!("{config:?}");
        assert!(!printed.contains("k-secret") && !printed.contains("t-secret"));
    }

    #[test]
    fn twilio_needs_the_public_url_and_rates_must_be_positive() {
        let dir = tempfile::tempdir().unwrap();
        let error = Config::load(
            Some(&write_empty(&dir)),
            env(&[
                ("MAKTAB_SMS_TWILIO_AUTH_TOKEN", "token"),
                ("MAKTAB_SMS_TWILIO_ACCOUNT_SID", "AC1"),
            ]),
        )
        .unwrap_err();
        assert!(error.to_string().starts_with("sms.public_url"), "{error}");
        let error = Config::load(
            Some(&write_empty(&dir)),
            env(&[("MAKTAB_SMS_GENERIC_SEGMENTS_PER_SECOND", "0")]),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("MAKTAB_SMS_GENERIC_SEGMENTS_PER_SECOND"),
            "{error}"
        );
    }

    #[test]
    fn bad_values_name_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let error = Config::load(
            Some(&write_empty(&dir)),
            env(&[("MAKTAB_LOOKUP_VERIFY", "sometimes")]),
        )
        .unwrap_err();
        assert!(
            error.to_string().starts_with("MAKTAB_LOOKUP_VERIFY"),
            "{error}"
        );
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "unknown_key = 1\n").unwrap();
        assert!(matches!(
            Config::load(Some(&path), env(&[])),
            Err(ConfigError::Parse { .. })
        ));
    }
    #[test]
    fn telegram_is_off_by_default_and_configured_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(Some(&write_empty(&dir)), env(&[])).unwrap();
        assert!(!config.telegram.enabled());
        assert_eq!(config.telegram.api_url, "https://api.telegram.org");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "123:ABC\n").unwrap();
        let config = Config::load(
            Some(&write_empty(&dir)),
            env(&[
                (
                    "MAKTAB_TELEGRAM_BOT_TOKEN_FILE",
                    token_file.to_str().unwrap(),
                ),
                ("MAKTAB_TELEGRAM_WEBHOOK_SECRET", "s3cret_-X"),
                ("MAKTAB_TELEGRAM_QUEUE_CAPACITY", "8"),
                ("MAKTAB_TELEGRAM_BOT_USERNAME", "MaktabBot"),
            ]),
        )
        .unwrap();
        assert!(config.telegram.enabled());
        assert_eq!(
            config.telegram.bot_token.as_ref().unwrap().expose(),
            "123:ABC"
        );
        assert_eq!(config.telegram.queue_capacity, 8);
        assert!(
            !format!("{config:?}").contains("123:ABC"),
            "the token never prints"
        );
    }

    #[test]
    fn telegram_secrets_follow_telegrams_rules() {
        let dir = tempfile::tempdir().unwrap();
        let load = |pairs: &[(&str, &str)]| Config::load(Some(&write_empty(&dir)), env(pairs));
        let long = "a".repeat(257);
        for bad in ["", "has space", "é", "semi;colon", long.as_str()] {
            let error = load(&[
                ("MAKTAB_TELEGRAM_BOT_TOKEN", "123:ABC"),
                ("MAKTAB_TELEGRAM_WEBHOOK_SECRET", bad),
            ])
            .unwrap_err();
            assert!(
                error.to_string().contains("webhook_secret"),
                "{bad:?}: {error}"
            );
        }
        let error = load(&[("MAKTAB_TELEGRAM_BOT_TOKEN", "123:ABC")]).unwrap_err();
        assert!(error.to_string().contains("required"), "{error}");
        let error = load(&[
            ("MAKTAB_TELEGRAM_BOT_TOKEN", "123:ABC"),
            ("MAKTAB_TELEGRAM_WEBHOOK_SECRET", "ok"),
            ("MAKTAB_TELEGRAM_MAX_CONNECTIONS", "0"),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("max_connections"), "{error}");
        let error = load(&[("MAKTAB_TELEGRAM_API_URL", "not a url")]).unwrap_err();
        assert!(error.to_string().contains("api_url"), "{error}");
        assert!(is_valid_webhook_secret(&"Az09_-".repeat(42)));
    }
}
