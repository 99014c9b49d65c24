//! Twilio Programmable Messaging.
//!
//! **Inbound.** Twilio POSTs a form (`MessageSid`, `From`, `To`, `Body`, `NumMedia`, ...) and
//! signs it: `X-Twilio-Signature` is base64(HMAC-SHA1(auth token, URL + every POST parameter
//! sorted by name, each name followed by its value)). The URL is the one Twilio called, which
//! a reverse proxy hides from Maktab, so it is rebuilt from the configured `public_url` and
//! the request's path and query. The reply goes back as TwiML in the response.
//!
//! **Outbound.** `POST /2010-04-01/Accounts/{sid}/Messages.json` with Basic auth; Twilio
//! concatenates long texts itself. Status callbacks come to `/webhooks/sms/twilio/status`,
//! signed the same way.

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha1::Sha1;

use super::outbound::{Accepted, OutgoingSms, SendError, SmsSender, exchange};
use super::{
    InboundSms, Provider, SmsReply, SmsSetupError, SmsState, WebhookError, WebhookResult, converse,
    parse_sender, record_report, require_content_type,
};
use crate::config::{Secret, TwilioConfig};
use crate::i18n::MessageId;
use crate::store::DeliveryStatus;

const FORM: &str = "application/x-www-form-urlencoded";

/// How Twilio's calls are authenticated.
pub struct TwilioInbound {
    auth_token: Secret,
    /// The externally visible base URL, without a trailing slash.
    public_url: String,
}

impl TwilioInbound {
    /// `None` when no auth token is configured: the webhook is then off.
    pub fn from_config(
        config: &TwilioConfig,
        public_url: Option<&str>,
    ) -> Result<Option<Self>, SmsSetupError> {
        let Some(auth_token) = config.auth_token.clone() else {
            return Ok(None);
        };
        let public_url = public_url.ok_or(SmsSetupError::Missing(
            "sms.public_url",
            "checking Twilio's signatures",
        ))?;
        Ok(Some(Self {
            auth_token,
            public_url: public_url.to_owned(),
        }))
    }
}

/// Twilio's signature of a POST to `url` with these form parameters.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    signature_mac(auth_token, url, params)
        .map(|mac| base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

/// `None` only if HMAC refused the key, which it does for no length.
fn signature_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Option<Hmac<Sha1>> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(auth_token.as_bytes()).ok()?;
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    Some(mac)
}

/// Checks `X-Twilio-Signature` in constant time.
pub fn verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> WebhookResult<()> {
    let given = headers
        .get("x-twilio-signature")
        .ok_or(WebhookError::Unauthenticated)?;
    let given = base64::engine::general_purpose::STANDARD
        .decode(given.as_bytes())
        .map_err(|_| WebhookError::Forbidden)?;
    signature_mac(auth_token, url, params)
        .ok_or(WebhookError::Forbidden)?
        .verify_slice(&given)
        .map_err(|_| WebhookError::Forbidden)
}

/// Reads and authenticates a Twilio form POST: content type, form syntax, signature.
fn authenticated_form(
    twilio: &TwilioInbound,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> WebhookResult<Vec<(String, String)>> {
    require_content_type(headers, FORM)?;
    let params: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| WebhookError::bad(format!("form: {e}")))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", twilio.public_url);
    verify(twilio.auth_token.expose(), &url, &params, headers)?;
    Ok(params)
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Reads an inbound message from Twilio's (already authenticated) form.
pub fn parse_inbound(params: &[(String, String)]) -> WebhookResult<(InboundSms, u32)> {
    let required = |name: &str| {
        field(params, name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| WebhookError::bad(format!("missing parameter {name}")))
    };
    let id = required("MessageSid")?.to_owned();
    let from = parse_sender(required("From")?)?;
    let text = field(params, "Body")
        .ok_or_else(|| WebhookError::bad("missing parameter Body"))?
        .to_owned();
    let media = field(params, "NumMedia")
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Ok((InboundSms { id, from, text }, media))
}

/// TwiML that sends `reply` (or nothing) back to the sender.
pub fn twiml(reply: Option<&str>) -> String {
    match reply {
        Some(text) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
            xml_escape(text)
        ),
        None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_owned(),
    }
}

fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => escaped.push(c),
        }
    }
    escaped
}

fn twiml_response(reply: Option<&SmsReply>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        )],
        twiml(reply.map(|r| r.text.as_str())),
    )
        .into_response()
}

/// `POST /webhooks/sms/twilio`.
pub(crate) async fn inbound(
    State(app): State<SmsState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let twilio = app
        .sms
        .twilio
        .as_ref()
        .ok_or(WebhookError::NotConfigured(Provider::Twilio))?;
    let params = authenticated_form(twilio, &uri, &headers, &body)?;
    let (mut sms, media) = parse_inbound(&params)?;
    let photo_only = media > 0
        && !sms
            .text
            .chars()
            .any(|c| crate::domain::ascii_digit(c).is_some());
    if photo_only {
        // Voters photograph their ID card; the core reads text only. The message still counts
        // as seen, so a retry is not answered twice.
        let first = app
            .store
            .first_delivery(Provider::Twilio.source(), &sms.id, crate::domain::now())
            .await
            .map_err(|_| WebhookError::Unavailable)?;
        if !first {
            return Ok(twiml_response(None));
        }
        let reply = super::catalogue_reply(&app, &sms, MessageId::SmsMediaUnsupported).await;
        return Ok(twiml_response(Some(&reply)));
    }
    sms.text = sms.text.trim().to_owned();
    let reply = converse(&app, Provider::Twilio, sms).await?;
    Ok(twiml_response(reply.as_ref()))
}

/// `POST /webhooks/sms/twilio/status`: `MessageSid` and `MessageStatus` (queued, sent,
/// delivered, undelivered, failed, ...), with `ErrorCode` on failures.
pub(crate) async fn status(
    State(app): State<SmsState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let twilio = app
        .sms
        .twilio
        .as_ref()
        .ok_or(WebhookError::NotConfigured(Provider::Twilio))?;
    let params = authenticated_form(twilio, &uri, &headers, &body)?;
    let sid = field(&params, "MessageSid")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WebhookError::bad("missing parameter MessageSid"))?;
    let state = field(&params, "MessageStatus")
        .ok_or_else(|| WebhookError::bad("missing parameter MessageStatus"))?;
    let status = match state {
        "delivered" | "read" => DeliveryStatus::Delivered,
        "failed" | "undelivered" | "canceled" => DeliveryStatus::Failed,
        "accepted" | "queued" | "sending" | "sent" | "scheduled" => DeliveryStatus::Accepted,
        other => {
            return Err(WebhookError::bad(format!(
                "unknown MessageStatus {other:?}"
            )));
        }
    };
    let reason = (status == DeliveryStatus::Failed).then(|| {
        match (field(&params, "ErrorCode"), field(&params, "ErrorMessage")) {
            (Some(code), Some(message)) => format!("{state}: error {code}: {message}"),
            (Some(code), None) => format!("{state}: error {code}"),
            _ => state.to_owned(),
        }
    });
    record_report(&app, Provider::Twilio, sid, status, reason.as_deref()).await
}

/// Sends through Twilio's Messages API.
pub struct TwilioSender {
    client: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: Secret,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    status_callback: Option<String>,
}

/// The Twilio sender, if the account, token and a sender (`from` or a Messaging Service) are
/// configured.
pub fn sender(
    config: &TwilioConfig,
    public_url: Option<&str>,
    client: &reqwest::Client,
) -> Option<TwilioSender> {
    let account_sid = config.account_sid.clone()?;
    if config.from.is_none() && config.messaging_service_sid.is_none() {
        return None;
    }
    Some(TwilioSender {
        client: client.clone(),
        messages_url: format!(
            "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
            config.api_url.trim_end_matches('/')
        ),
        account_sid,
        auth_token: config.auth_token.clone()?,
        from: config.from.clone(),
        messaging_service_sid: config.messaging_service_sid.clone(),
        status_callback: public_url.map(|base| format!("{base}/webhooks/sms/twilio/status")),
    })
}

/// The parts of Twilio's answers Maktab reads.
#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[async_trait]
impl SmsSender for TwilioSender {
    fn provider(&self) -> Provider {
        Provider::Twilio
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        let mut form: Vec<(&str, &str)> = vec![("To", sms.to.as_str()), ("Body", &sms.text)];
        match (&self.messaging_service_sid, &self.from) {
            (Some(service), _) => form.push(("MessagingServiceSid", service)),
            (None, Some(from)) => form.push(("From", from)),
            (None, None) => {}
        }
        if let Some(callback) = &self.status_callback {
            form.push(("StatusCallback", callback));
        }
        let request = self
            .client
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form);
        let (_, body) = exchange(request).await?;
        let created: Created = serde_json::from_str(&body)
            .map_err(|e| SendError::Permanent(format!("unexpected answer from Twilio: {e}")))?;
        Ok(Accepted {
            provider_message_id: created.sid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn matches_twilios_documented_example() {
        // The example of Twilio's security documentation.
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn twiml_escapes_the_text() {
        assert_eq!(
            twiml(Some("a < b & \"c\"\u{1}")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>a &lt; b &amp; &quot;c&quot;</Message></Response>"
        );
        assert!(twiml(None).ends_with("<Response/>"));
    }

    #[test]
    fn missing_fields_are_named() {
        let error = parse_inbound(&pairs(&[("From", "+213550123456"), ("Body", "x")])).unwrap_err();
        assert_eq!(error.to_string(), "missing parameter MessageSid");
        let (sms, media) = parse_inbound(&pairs(&[
            ("MessageSid", "SM1"),
            ("From", "+213550123456"),
            ("Body", ""),
            ("NumMedia", "1"),
        ]))
        .unwrap();
        assert_eq!((sms.text.as_str(), media), ("", 1));
    }

    proptest! {
        #[test]
        fn any_change_to_a_parameter_breaks_the_signature(body in "\\PC{0,60}", other in "\\PC{0,60}") {
            prop_assume!(body != other);
            let url = "https://maktab.example.dz/webhooks/sms/twilio";
            let params = pairs(&[("MessageSid", "SM1"), ("Body", &body)]);
            let mut headers = HeaderMap::new();
            headers.insert("x-twilio-signature", signature("token", url, &params).parse().unwrap());
            prop_assert!(verify("token", url, &params, &headers).is_ok());
            let tampered = pairs(&[("MessageSid", "SM1"), ("Body", &other)]);
            prop_assert!(verify("token", url, &tampered, &headers).is_err());
        }

        #[test]
        fn the_parser_never_panics(body in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(params) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
                let _ = parse_inbound(&params);
            }
        }
    }
}
