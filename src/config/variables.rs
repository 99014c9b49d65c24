//! Every `MAKTAB_*` environment variable, as data: its name and what it sets. A test checks
//! that every key of the file has its variable.

use super::{Config, Secret};
use crate::conversation::Verification;

type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// One environment variable: its name, the key of the file it stands for, and how it sets it.
pub struct Variable {
    pub name: &'static str,
    /// The dotted key in `maktab.toml`, e.g. `lookup.verify`.
    pub key: &'static str,
    pub set: Setter,
}

impl Variable {
    const fn new(name: &'static str, key: &'static str, set: Setter) -> Self {
        Self { name, key, set }
    }
}

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
pub const VARIABLES: &[Variable] = &[
    Variable::new("MAKTAB_CONSOLE_PUBLIC_URL", "console.public_url", |c, v| {
        c.console.public_url = optional(v);
        Ok(())
    }),
    Variable::new(
        "MAKTAB_CONSOLE_SESSION_IDLE_MINUTES",
        "console.session_idle_minutes",
        |c, v| {
            c.console.session_idle_minutes = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_CONSOLE_SESSION_ABSOLUTE_HOURS",
        "console.session_absolute_hours",
        |c, v| {
            c.console.session_absolute_hours = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_CONSOLE_ATTEMPTS_PER_LOGIN",
        "console.attempts_per_login",
        |c, v| {
            c.console.attempts_per_login = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_CONSOLE_ATTEMPTS_PER_ADDRESS",
        "console.attempts_per_address",
        |c, v| {
            c.console.attempts_per_address = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_CONSOLE_NATIONAL_TOTP",
        "console.national_totp",
        |c, v| {
            c.console.national_totp = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new("MAKTAB_DATABASE_URL", "database_url", |c, v| {
        c.database_url = v.trim().to_owned();
        Ok(())
    }),
    Variable::new("MAKTAB_LISTEN", "listen", |c, v| {
        c.listen = v.trim().to_owned();
        Ok(())
    }),
    Variable::new("MAKTAB_LOG", "log", |c, v| {
        c.log = v.trim().to_owned();
        Ok(())
    }),
    Variable::new("MAKTAB_METRICS_LISTEN", "metrics_listen", |c, v| {
        c.metrics_listen = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        Ok(())
    }),
    Variable::new(
        "MAKTAB_API_IMPORT_MAX_BYTES",
        "api.import_max_bytes",
        |c, v| {
            c.api.import_max_bytes = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new("MAKTAB_LOOKUP_VERIFY", "lookup.verify", |c, v| {
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
    Variable::new(
        "MAKTAB_LOOKUP_MAX_PER_SENDER_PER_HOUR",
        "lookup.max_per_sender_per_hour",
        |c, v| {
            c.lookup.max_per_sender_per_hour = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_LOOKUP_MAX_FAILED_PER_NIN_PER_DAY",
        "lookup.max_failed_per_nin_per_day",
        |c, v| {
            c.lookup.max_failed_per_nin_per_day = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_LOOKUP_DIALOGUE_MINUTES",
        "lookup.dialogue_minutes",
        |c, v| {
            c.lookup.dialogue_minutes = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_LOOKUP_MAX_CLERK_CHECKS_PER_HOUR",
        "lookup.max_clerk_checks_per_hour",
        |c, v| {
            c.lookup.max_clerk_checks_per_hour = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new("MAKTAB_NOTICES_BATCH", "notices.batch", |c, v| {
        c.notices.batch = parsed(v)?;
        Ok(())
    }),
    Variable::new(
        "MAKTAB_NOTICES_LEASE_SECONDS",
        "notices.lease_seconds",
        |c, v| {
            c.notices.lease_seconds = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_NOTICES_DRAIN_SECONDS",
        "notices.drain_seconds",
        |c, v| {
            c.notices.drain_seconds = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_DUTY_ESCALATE_MINUTES",
        "duty.escalate_minutes",
        |c, v| {
            c.duty.escalate_minutes = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_DUTY_INCIDENT_ESCALATE_MINUTES",
        "duty.incident_escalate_minutes",
        |c, v| {
            c.duty.incident_escalate_minutes = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_DUTY_ESCALATE_CHECK_SECONDS",
        "duty.escalate_check_seconds",
        |c, v| {
            c.duty.escalate_check_seconds = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_CHANGES_TWO_PERSON_RULE",
        "changes.two_person_rule",
        |c, v| {
            c.changes.two_person_rule = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new("MAKTAB_TELEGRAM_BOT_TOKEN", "telegram.bot_token", |c, v| {
        c.telegram.bot_token = Some(Secret::new(v.trim()));
        Ok(())
    }),
    Variable::new(
        "MAKTAB_TELEGRAM_WEBHOOK_SECRET",
        "telegram.webhook_secret",
        |c, v| {
            c.telegram.webhook_secret = Some(Secret::new(v.trim()));
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_TELEGRAM_PUBLIC_URL",
        "telegram.public_url",
        |c, v| {
            c.telegram.public_url = Some(v.trim().to_owned());
            Ok(())
        },
    ),
    Variable::new("MAKTAB_TELEGRAM_API_URL", "telegram.api_url", |c, v| {
        c.telegram.api_url = v.trim().to_owned();
        Ok(())
    }),
    Variable::new(
        "MAKTAB_TELEGRAM_QUEUE_CAPACITY",
        "telegram.queue_capacity",
        |c, v| {
            c.telegram.queue_capacity = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_TELEGRAM_MAX_CONNECTIONS",
        "telegram.max_connections",
        |c, v| {
            c.telegram.max_connections = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_TELEGRAM_BOT_USERNAME",
        "telegram.bot_username",
        |c, v| {
            c.telegram.bot_username = Some(v.trim().to_owned());
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_IMPORT_MAX_VOTERS_PER_STATION",
        "import.max_voters_per_station",
        |c, v| {
            c.import.max_voters_per_station = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new("MAKTAB_SMS_PUBLIC_URL", "sms.public_url", |c, v| {
        c.sms.public_url = optional(v);
        Ok(())
    }),
    Variable::new(
        "MAKTAB_SMS_SEND_TIMEOUT_SECONDS",
        "sms.send_timeout_seconds",
        |c, v| {
            c.sms.send_timeout_seconds = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_SEND_MAX_ATTEMPTS",
        "sms.send_max_attempts",
        |c, v| {
            c.sms.send_max_attempts = parsed(v)?;
            Ok(())
        },
    ),
    Variable::new("MAKTAB_SMS_KANNEL_SECRET", "sms.kannel.secret", |c, v| {
        c.sms.kannel.secret = secret(v);
        Ok(())
    }),
    Variable::new(
        "MAKTAB_SMS_KANNEL_ALLOW_FROM",
        "sms.kannel.allow_from",
        |c, v| {
            c.sms.kannel.allow_from = v.split(',').filter_map(optional).collect();
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_KANNEL_SENDSMS_URL",
        "sms.kannel.sendsms_url",
        |c, v| {
            c.sms.kannel.sendsms_url = optional(v);
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_KANNEL_SENDSMS_USER",
        "sms.kannel.sendsms_user",
        |c, v| {
            c.sms.kannel.sendsms_user = optional(v);
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_KANNEL_SENDSMS_PASSWORD",
        "sms.kannel.sendsms_password",
        |c, v| {
            c.sms.kannel.sendsms_password = secret(v);
            Ok(())
        },
    ),
    Variable::new("MAKTAB_SMS_KANNEL_FROM", "sms.kannel.from", |c, v| {
        c.sms.kannel.from = optional(v);
        Ok(())
    }),
    Variable::new("MAKTAB_SMS_KANNEL_SMSC", "sms.kannel.smsc", |c, v| {
        c.sms.kannel.smsc = optional(v);
        Ok(())
    }),
    Variable::new(
        "MAKTAB_SMS_KANNEL_SEGMENTS_PER_SECOND",
        "sms.kannel.segments_per_second",
        |c, v| {
            c.sms.kannel.segments_per_second = rate(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_TWILIO_ACCOUNT_SID",
        "sms.twilio.account_sid",
        |c, v| {
            c.sms.twilio.account_sid = optional(v);
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_TWILIO_AUTH_TOKEN",
        "sms.twilio.auth_token",
        |c, v| {
            c.sms.twilio.auth_token = secret(v);
            Ok(())
        },
    ),
    Variable::new("MAKTAB_SMS_TWILIO_FROM", "sms.twilio.from", |c, v| {
        c.sms.twilio.from = optional(v);
        Ok(())
    }),
    Variable::new(
        "MAKTAB_SMS_TWILIO_MESSAGING_SERVICE_SID",
        "sms.twilio.messaging_service_sid",
        |c, v| {
            c.sms.twilio.messaging_service_sid = optional(v);
            Ok(())
        },
    ),
    Variable::new("MAKTAB_SMS_TWILIO_API_URL", "sms.twilio.api_url", |c, v| {
        c.sms.twilio.api_url = v.trim().to_owned();
        Ok(())
    }),
    Variable::new(
        "MAKTAB_SMS_TWILIO_SEGMENTS_PER_SECOND",
        "sms.twilio.segments_per_second",
        |c, v| {
            c.sms.twilio.segments_per_second = rate(v)?;
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_INFOBIP_WEBHOOK_USER",
        "sms.infobip.webhook_user",
        |c, v| {
            c.sms.infobip.webhook_user = v.trim().to_owned();
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_INFOBIP_WEBHOOK_PASSWORD",
        "sms.infobip.webhook_password",
        |c, v| {
            c.sms.infobip.webhook_password = secret(v);
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_INFOBIP_API_URL",
        "sms.infobip.api_url",
        |c, v| {
            c.sms.infobip.api_url = optional(v);
            Ok(())
        },
    ),
    Variable::new(
        "MAKTAB_SMS_INFOBIP_API_KEY",
        "sms.infobip.api_key",
        |c, v| {
            c.sms.infobip.api_key = secret(v);
            Ok(())
        },
    ),
    Variable::new("MAKTAB_SMS_INFOBIP_FROM", "sms.infobip.from", |c, v| {
        c.sms.infobip.from = optional(v);
        Ok(())
    }),
    Variable::new(
        "MAKTAB_SMS_INFOBIP_SEGMENTS_PER_SECOND",
        "sms.infobip.segments_per_second",
        |c, v| {
            c.sms.infobip.segments_per_second = rate(v)?;
            Ok(())
        },
    ),
    Variable::new("MAKTAB_SMS_GENERIC_SECRET", "sms.generic.secret", |c, v| {
        c.sms.generic.secret = secret(v);
        Ok(())
    }),
    Variable::new(
        "MAKTAB_SMS_GENERIC_SEND_URL",
        "sms.generic.send_url",
        |c, v| {
            c.sms.generic.send_url = optional(v);
            Ok(())
        },
    ),
    Variable::new("MAKTAB_SMS_GENERIC_FROM", "sms.generic.from", |c, v| {
        c.sms.generic.from = optional(v);
        Ok(())
    }),
    Variable::new(
        "MAKTAB_SMS_GENERIC_SEGMENTS_PER_SECOND",
        "sms.generic.segments_per_second",
        |c, v| {
            c.sms.generic.segments_per_second = rate(v)?;
            Ok(())
        },
    ),
];
