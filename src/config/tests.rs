//! Loading the configuration: file, environment, files named by `*_FILE`, and errors.

use super::*;
use crate::conversation::Verification;
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

/// The dotted keys of every setting, from the defaults written out (`None` included).
fn keys(value: &serde_json::Value, prefix: &str, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            for (name, field) in fields {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                keys(field, &key, into);
            }
        }
        _ => into.push(prefix.to_owned()),
    }
}

#[test]
fn every_key_of_the_file_has_its_variable_named_after_it() {
    let mut all = Vec::new();
    keys(
        &serde_json::to_value(Config::default()).unwrap(),
        "",
        &mut all,
    );
    assert!(all.len() > 40, "{all:?}");
    let by_key: HashMap<&str, &str> = VARIABLES.iter().map(|v| (v.key, v.name)).collect();
    assert_eq!(by_key.len(), VARIABLES.len(), "one variable per key");
    for key in &all {
        let name = by_key
            .get(key.as_str())
            .unwrap_or_else(|| panic!("{key} has no MAKTAB_ variable"));
        assert_eq!(
            *name,
            format!("MAKTAB_{}", key.replace('.', "_").to_uppercase()),
            "the variable of {key} is named after it"
        );
    }
    for variable in VARIABLES {
        assert!(
            all.iter().any(|key| key == variable.key),
            "{} sets {}, which the file does not have",
            variable.name,
            variable.key
        );
    }
}

#[test]
fn every_variable_sets_what_its_key_reads() {
    // Each variable, given the value the file would give its key, loads the same setting.
    let defaults = serde_json::to_value(Config::default()).unwrap();
    for variable in VARIABLES {
        let mut config = Config::default();
        let value = variable
            .key
            .split('.')
            .fold(&defaults, |value, part| &value[part]);
        let text = match value {
            serde_json::Value::String(text) if text != "***" => text.clone(),
            serde_json::Value::Null | serde_json::Value::String(_) => continue,
            // A list is written comma-separated in a variable.
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        (variable.set)(&mut config, &text)
            .unwrap_or_else(|error| panic!("{} = {text:?}: {error}", variable.name));
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            defaults,
            "{} set from its own default changes nothing",
            variable.name
        );
    }
}
