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
    pub changes: ChangesConfig,
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

/// Every environment variable Maktab reads, with what it sets.
pub const VARIABLES: &[(&str, Setter)] = &[
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
    ("MAKTAB_CHANGES_TWO_PERSON_RULE", |c, v| {
        c.changes.two_person_rule = parsed(v)?;
        Ok(())
    }),
    ("MAKTAB_IMPORT_MAX_VOTERS_PER_STATION", |c, v| {
        c.import.max_voters_per_station = parsed(v)?;
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
        Ok(())
    }

    /// The conversation rules this configuration sets.
    pub fn conversation(&self) -> ConversationSettings {
        ConversationSettings {
            verification: self.lookup.verify,
            max_lookups_per_sender_per_hour: self.lookup.max_per_sender_per_hour,
            max_failures_per_nin_per_day: self.lookup.max_failed_per_nin_per_day,
            dialogue_ttl_seconds: self.lookup.dialogue_minutes * 60,
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
}
