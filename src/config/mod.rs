//! Configuration: built-in defaults, then `maktab.toml` (or the file named by `--config` /
//! `MAKTAB_CONFIG`), then `MAKTAB_*` environment variables. Every variable can instead be given
//! as `MAKTAB_*_FILE` naming a file that holds the value, for secrets mounted as files.
//!
//! # Layout
//!
//! - this file: [`Config`], loading, validation, [`Secret`];
//! - [`sections`]: the sections of the file (`lookup`, `import`, `notices`, `telegram`...);
//! - [`sms`]: the SMS gateways, one section per provider;
//! - [`variables`]: the table of environment variables and the file keys they set, as data.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::conversation::ConversationSettings;

mod sections;
mod sms;
mod variables;

pub use sections::*;
pub use sms::*;
pub use variables::{VARIABLES, Variable};

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
    pub duty: DutyConfig,
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
            duty: DutyConfig::default(),
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

/// Written as `***`, so that no dump of the configuration shows a secret.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
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
        for Variable {
            name: variable,
            set,
            ..
        } in VARIABLES
        {
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
mod tests;
