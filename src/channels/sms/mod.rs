//! SMS: one module per provider translates its webhooks and API to the conversation core.
//!
//! Every inbound webhook does the same four things in the same order: authenticate the caller
//! (nothing is parsed into the store or the core before that), parse the provider's format
//! into a sender ([`PhoneNumber`], E.164) and a text, drop a message id already seen (providers
//! retry webhooks), then hand the text to the core and send its replies back as one SMS: in
//! the HTTP response where the provider allows it (Kannel's body, Twilio's TwiML, the generic
//! webhook without a `send_url`), otherwise through [`outbound`].
//!
//! A provider whose inbound secret is not configured answers 404 on its routes: an unused
//! gateway is not there, rather than broken (503) or failing (500).

pub mod generic;
pub mod infobip;
pub mod kannel;
pub mod lane;
pub mod outbound;
pub mod twilio;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fluent_bundle::FluentArgs;
use serde_json::json;
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::config::SmsConfig;
use crate::conversation::{Conversation, Inbound, LookupOutcome, Reply};
use crate::domain::{Channel, Locale, PhoneNumber};
use crate::i18n::MessageId;
use crate::i18n::sms::{SegmentCount, count_segments};
use crate::notices::OutboxBell;
use crate::store::NewReply;
use crate::store::{DeliveryStatus, Store};
use outbound::SmsSender;

/// Webhook bodies larger than this are refused (413) before they are read in full: a real
/// inbound SMS is a few hundred bytes, an Infobip batch a few kilobytes.
pub const MAX_WEBHOOK_BODY: usize = 64 * 1024;

/// Replies on SMS are budgeted to this many segments (the catalogue test checks every
/// message); a longer reply is still sent, as one concatenated message, and logged.
pub const MAX_REPLY_SEGMENTS: usize = 2;

/// An SMS provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Kannel,
    Twilio,
    Infobip,
    Generic,
}

impl Provider {
    pub const ALL: [Provider; 4] = [
        Provider::Kannel,
        Provider::Twilio,
        Provider::Infobip,
        Provider::Generic,
    ];

    /// The name in routes, configuration and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kannel => "kannel",
            Self::Twilio => "twilio",
            Self::Infobip => "infobip",
            Self::Generic => "generic",
        }
    }

    /// The idempotency source of its inbound message ids.
    pub fn source(self) -> &'static str {
        match self {
            Self::Kannel => "sms:kannel",
            Self::Twilio => "sms:twilio",
            Self::Infobip => "sms:infobip",
            Self::Generic => "sms:generic",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a webhook request was refused. Every variant is a 4xx or a 503: a malformed or forged
/// request never turns into a 500.
#[derive(Debug, Error)]
pub enum WebhookError {
    #[error("the {0} gateway is not configured")]
    NotConfigured(Provider),
    #[error("credentials are missing")]
    Unauthenticated,
    #[error("credentials are wrong")]
    Forbidden,
    #[error("the caller's address is not allowed")]
    AddressNotAllowed,
    #[error("expected content type {0}")]
    UnsupportedMediaType(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("storage is unavailable")]
    Unavailable,
}

impl WebhookError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotConfigured(_) => StatusCode::NOT_FOUND,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::AddressNotAllowed => StatusCode::FORBIDDEN,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured(_) => "not_configured",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::AddressNotAllowed => "address_not_allowed",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::BadRequest(_) => "bad_request",
            Self::Unavailable => "unavailable",
        }
    }

    /// A malformed body.
    pub fn bad(message: impl fmt::Display) -> Self {
        Self::BadRequest(message.to_string())
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Json(json!({ "code": self.code(), "message": self.to_string() }));
        let mut response = (status, body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"maktab\""),
            );
        }
        response
    }
}

/// `Result` with [`WebhookError`].
pub type WebhookResult<T> = Result<T, WebhookError>;

/// The gateway's configuration could not be used.
#[derive(Debug, Error)]
pub enum SmsSetupError {
    #[error("sms.kannel.allow_from: {0:?} is not an address or a network (10.0.0.0/24)")]
    AllowList(String),
    #[error("{0}: required for {1}")]
    Missing(&'static str, &'static str),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The configured providers: how to authenticate their webhooks and how to send through them.
pub struct SmsGateway {
    pub(crate) kannel: Option<kannel::KannelInbound>,
    pub(crate) twilio: Option<twilio::TwilioInbound>,
    pub(crate) infobip: Option<infobip::InfobipInbound>,
    pub(crate) generic: Option<generic::GenericInbound>,
    /// Each provider's sending API and its rate in segments per second.
    senders: HashMap<Provider, (Arc<dyn SmsSender>, f64)>,
}

impl SmsGateway {
    /// No provider configured: every SMS webhook answers 404.
    pub fn disabled() -> Self {
        Self {
            kannel: None,
            twilio: None,
            infobip: None,
            generic: None,
            senders: HashMap::new(),
        }
    }

    /// Builds the providers that `config` configures.
    pub fn from_config(config: &SmsConfig) -> Result<Self, SmsSetupError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.send_timeout_seconds))
            .connect_timeout(Duration::from_secs(config.send_timeout_seconds.min(5)))
            .build()?;
        let public_url = config
            .public_url
            .as_deref()
            .map(|url| url.trim_end_matches('/').to_owned());
        let mut gateway = Self::disabled();
        let senders: Vec<(Arc<dyn SmsSender>, f64)> = [
            kannel::sender(&config.kannel, public_url.as_deref(), &client).map(|s| {
                (
                    Arc::new(s) as Arc<dyn SmsSender>,
                    config.kannel.segments_per_second,
                )
            }),
            twilio::sender(&config.twilio, public_url.as_deref(), &client).map(|s| {
                (
                    Arc::new(s) as Arc<dyn SmsSender>,
                    config.twilio.segments_per_second,
                )
            }),
            infobip::sender(&config.infobip, public_url.as_deref(), &client).map(|s| {
                (
                    Arc::new(s) as Arc<dyn SmsSender>,
                    config.infobip.segments_per_second,
                )
            }),
            generic::sender(&config.generic, &client).map(|s| {
                (
                    Arc::new(s) as Arc<dyn SmsSender>,
                    config.generic.segments_per_second,
                )
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        for (sender, rate) in senders {
            gateway.set_sender(sender, rate);
        }
        gateway.kannel = kannel::KannelInbound::from_config(&config.kannel)?;
        gateway.twilio = twilio::TwilioInbound::from_config(&config.twilio, public_url.as_deref())?;
        gateway.infobip = infobip::InfobipInbound::from_config(&config.infobip);
        gateway.generic = generic::GenericInbound::from_config(&config.generic);
        if gateway.infobip.is_some() && !gateway.senders.contains_key(&Provider::Infobip) {
            return Err(SmsSetupError::Missing(
                "sms.infobip.api_url and sms.infobip.api_key",
                "answering Infobip messages (replies go out through its API)",
            ));
        }
        Ok(gateway)
    }

    /// Replaces (or adds) the sending API of a provider and its rate in segments per second.
    pub fn set_sender(&mut self, sender: Arc<dyn SmsSender>, segments_per_second: f64) {
        self.senders
            .insert(sender.provider(), (sender, segments_per_second));
    }

    /// The sending API of a provider and its rate, if configured.
    pub fn sender(&self, provider: Provider) -> Option<(Arc<dyn SmsSender>, f64)> {
        self.senders.get(&provider).cloned()
    }

    /// The providers that can send, each one lane of the outbox.
    pub fn sending(&self) -> Vec<Provider> {
        Provider::ALL
            .into_iter()
            .filter(|p| self.senders.contains_key(p))
            .collect()
    }

    /// The provider that carries notices: the first configured of Kannel (an operator
    /// connection), Infobip, Twilio, then the generic aggregator.
    pub fn notice_provider(&self) -> Option<Provider> {
        [
            Provider::Kannel,
            Provider::Infobip,
            Provider::Twilio,
            Provider::Generic,
        ]
        .into_iter()
        .find(|p| self.senders.contains_key(p))
    }

    /// Which providers answer their webhooks.
    pub fn configured(&self) -> Vec<Provider> {
        Provider::ALL
            .into_iter()
            .filter(|p| match p {
                Provider::Kannel => self.kannel.is_some(),
                Provider::Twilio => self.twilio.is_some(),
                Provider::Infobip => self.infobip.is_some(),
                Provider::Generic => self.generic.is_some(),
            })
            .collect()
    }
}

/// What the SMS webhooks reach: the store, the conversation core, the providers, and the
/// outbox's bell to ring when a reply is enqueued.
#[derive(Clone)]
pub struct SmsState {
    pub store: Arc<dyn Store>,
    pub conversation: Conversation,
    pub sms: Arc<SmsGateway>,
    pub bell: OutboxBell,
}

/// The SMS routes, under `/webhooks/sms`, with their state.
pub fn routes(state: SmsState) -> axum::Router {
    axum::Router::new()
        .route(
            "/webhooks/sms/kannel",
            get(kannel::inbound).post(kannel::inbound),
        )
        .route(
            "/webhooks/sms/kannel/status",
            get(kannel::status).post(kannel::status),
        )
        .route("/webhooks/sms/twilio", post(twilio::inbound))
        .route("/webhooks/sms/twilio/status", post(twilio::status))
        .route("/webhooks/sms/infobip", post(infobip::inbound))
        .route("/webhooks/sms/infobip/status", post(infobip::status))
        .route("/webhooks/sms/generic", post(generic::inbound))
        .route("/webhooks/sms/generic/status", post(generic::status))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
        .with_state(state)
}

/// An inbound SMS, parsed and authenticated.
#[derive(Debug, Clone)]
pub struct InboundSms {
    /// The provider's id for the message, for idempotency.
    pub id: String,
    pub from: PhoneNumber,
    pub text: String,
}

/// What goes back to the sender: the core's replies as one SMS.
#[derive(Debug, Clone, PartialEq)]
pub struct SmsReply {
    pub to: PhoneNumber,
    pub text: String,
    pub locale: Locale,
    /// The catalogue ids of the replies, joined with `+`, for the outbound record.
    pub message: String,
    pub segments: SegmentCount,
}

/// Drops a retried message, runs a new one through the conversation core, and returns the
/// reply to send (`None` for a retry).
pub(crate) async fn converse(
    app: &SmsState,
    provider: Provider,
    sms: InboundSms,
) -> WebhookResult<Option<SmsReply>> {
    let inbound = Inbound {
        channel: Channel::Sms,
        sender: sms.from.as_str().to_owned(),
        text: sms.text,
    };
    let handled = app
        .conversation
        .handle_delivery(&inbound, provider.source(), &sms.id)
        .await
        .map_err(|error| {
            tracing::error!(%error, %provider, "cannot record an inbound message id");
            WebhookError::Unavailable
        })?;
    let Some(handled) = handled else {
        tracing::info!(%provider, from = %sms.from, "retried message dropped");
        return Ok(None);
    };
    tracing::info!(
        %provider,
        from = %sms.from,
        outcome = ?handled.outcome.map(outcome_name),
        "sms handled"
    );
    Ok(one_sms(sms.from, &handled.replies))
}

fn outcome_name(outcome: LookupOutcome) -> &'static str {
    match outcome {
        LookupOutcome::Found => "found",
        LookupOutcome::NotFound => "not_found",
        LookupOutcome::VerificationFailed => "verification_failed",
        LookupOutcome::RateLimitedSender => "rate_limited_sender",
        LookupOutcome::RateLimitedNin => "rate_limited_nin",
    }
}

/// The core's replies as one SMS: SMS has no map pins (the address is in the text) and several
/// replies go out as one concatenated message rather than several that may arrive out of order.
pub fn one_sms(to: PhoneNumber, replies: &[Reply]) -> Option<SmsReply> {
    let first = replies.first()?;
    let text = replies
        .iter()
        .map(|r| r.text.trim())
        .collect::<Vec<_>>()
        .join("\n");
    let message = replies
        .iter()
        .map(|r| r.message.as_str())
        .collect::<Vec<_>>()
        .join("+");
    let segments = count_segments(&text);
    if segments.segments > MAX_REPLY_SEGMENTS {
        tracing::warn!(
            %message,
            segments = segments.segments,
            "reply is longer than the SMS budget; sent as one concatenated message"
        );
    }
    Some(SmsReply {
        to,
        text,
        locale: first.locale,
        message,
        segments,
    })
}

/// Puts a reply that goes out through a provider's API in the outbox, and wakes the
/// provider's lane. The webhook answers only once this returned: from then on the reply
/// survives a stop or a crash, and the provider does not wait on Maktab's rate or retries.
pub(crate) async fn enqueue_reply(
    app: &SmsState,
    provider: Provider,
    reply: &SmsReply,
) -> WebhookResult<()> {
    if app.sms.sender(provider).is_none() {
        tracing::error!(%provider, to = %reply.to, "no outbound configured: reply dropped");
        return Ok(());
    }
    let segments = u32::try_from(reply.segments.segments).unwrap_or(u32::MAX);
    app.store
        .enqueue_reply(
            &NewReply {
                channel: Channel::Sms,
                provider: Some(provider.as_str()),
                recipient: reply.to.as_str(),
                locale: reply.locale,
                body: &reply.text,
                message: &reply.message,
                segments,
            },
            crate::domain::now(),
        )
        .await
        .map_err(|error| {
            tracing::error!(%error, %provider, to = %reply.to, "cannot put a reply in the outbox");
            WebhookError::Unavailable
        })?;
    app.bell.ring();
    Ok(())
}

/// A reply of the SMS channel itself (not of the core), in the sender's language: their
/// explicit choice, else the script of their message, else their last language, else Arabic.
pub(crate) async fn catalogue_reply(app: &SmsState, sms: &InboundSms, id: MessageId) -> SmsReply {
    let state = app
        .store
        .sender_state(Channel::Sms, sms.from.as_str(), crate::domain::now())
        .await
        .unwrap_or_default();
    let locale = match (
        state.locale_explicit,
        state.locale,
        Locale::detect(&sms.text),
    ) {
        (true, Some(locale), _) => locale,
        (_, _, Some(detected)) => detected,
        (_, stored, None) => stored.unwrap_or(Locale::Ar),
    };
    let text = app
        .conversation
        .catalog()
        .render(locale, id, &FluentArgs::new());
    SmsReply {
        to: sms.from.clone(),
        segments: count_segments(&text),
        text,
        locale,
        message: id.as_str().to_owned(),
    }
}

/// Applies a delivery report. An unknown message id is answered 200 all the same: the
/// provider would otherwise retry a report Maktab can never match.
pub(crate) async fn record_report(
    app: &SmsState,
    provider: Provider,
    provider_message_id: &str,
    status: DeliveryStatus,
    reason: Option<&str>,
) -> WebhookResult<Response> {
    let matched = app
        .store
        .record_delivery_report(
            provider.as_str(),
            provider_message_id,
            status,
            reason,
            crate::domain::now(),
        )
        .await
        .map_err(|error| {
            tracing::error!(%error, %provider, "cannot record a delivery report");
            WebhookError::Unavailable
        })?;
    if !matched {
        tracing::info!(%provider, "delivery report for an unknown message");
    }
    let answer = if matched {
        "recorded"
    } else {
        "unknown_message"
    };
    Ok(Json(json!({ "status": answer })).into_response())
}

/// Parses the sender of an inbound SMS.
pub(crate) fn parse_sender(from: &str) -> WebhookResult<PhoneNumber> {
    PhoneNumber::parse(from).map_err(|e| WebhookError::bad(format!("from: {e}")))
}

/// Constant-time equality of two secrets. The lengths may leak, the contents do not.
pub(crate) fn secrets_match(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

/// The user and password of a Basic `Authorization` header.
pub(crate) fn basic_auth(headers: &HeaderMap) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8_lossy(&decoded[..colon]).into_owned();
    Some((user, decoded[colon + 1..].to_vec()))
}

/// Checks that the request's media type is `expected` (parameters such as `charset` aside).
pub(crate) fn require_content_type(
    headers: &HeaderMap,
    expected: &'static str,
) -> WebhookResult<()> {
    let matches = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(expected));
    if matches {
        Ok(())
    } else {
        Err(WebhookError::UnsupportedMediaType(expected))
    }
}

/// The address of the peer that opened the connection, when the server knows it.
pub(crate) struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| *address),
        ))
    }
}

/// Hex digits of bytes, lowercase.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of lowercase or uppercase hex digits.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str, message: MessageId) -> Reply {
        Reply {
            locale: Locale::Fr,
            message,
            text: text.to_owned(),
            venue: None,
            buttons: Vec::new(),
        }
    }

    #[test]
    fn several_replies_become_one_sms() {
        let to = PhoneNumber::parse("0550123456").unwrap();
        let sms = one_sms(
            to,
            &[
                reply("Centre : X", MessageId::LookupFound),
                reply("Merci.", MessageId::Help),
            ],
        )
        .unwrap();
        assert_eq!(sms.text, "Centre : X\nMerci.");
        assert_eq!(sms.message, "lookup-found+help");
        assert_eq!(sms.segments.segments, 1);
        assert!(one_sms(PhoneNumber::parse("0550123456").unwrap(), &[]).is_none());
    }

    #[test]
    fn basic_auth_and_hex_round_trip() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "Basic a2FubmVsOnMzY3I6ZXQ=".parse().unwrap(),
        );
        assert_eq!(
            basic_auth(&headers),
            Some(("kannel".to_owned(), b"s3cr:et".to_vec()))
        );
        assert_eq!(unhex(&hex(&[0, 15, 255])), Some(vec![0, 15, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert!(secrets_match(b"same", b"same"));
        assert!(!secrets_match(b"same", b"sane"));
        assert!(!secrets_match(b"same", b"same-longer"));
    }
}
