//! The SMS gateways' configuration: one section per provider, under `[sms]`.

use serde::{Deserialize, Serialize};

use super::Secret;

/// The SMS gateways. A provider whose inbound secret is not set is not configured: its webhooks
/// answer 404.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
