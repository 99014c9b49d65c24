//! Infobip.
//!
//! **Inbound.** Infobip POSTs JSON `{"results": [{"messageId", "from", "to", "text",
//! "receivedAt", ...}], "messageCount", "pendingMessageCount"}`, possibly several messages at
//! once, and signs nothing: the forwarding URL is configured with Basic auth credentials that
//! Maktab checks. Infobip takes no reply in the response, so replies go out through its API.
//!
//! **Outbound.** `POST {api_url}/sms/2/text/advanced` with `Authorization: App {api_key}`;
//! Infobip concatenates long texts itself. Delivery reports come to
//! `/webhooks/sms/infobip/status` as JSON `results[]` with a `status.groupName` (PENDING,
//! DELIVERED, UNDELIVERABLE, EXPIRED, REJECTED).

use async_trait::async_trait;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::outbound::{Accepted, OutgoingSms, SendError, SmsSender, exchange};
use super::{
    InboundSms, Provider, SmsState, WebhookError, WebhookResult, basic_auth, converse,
    enqueue_reply, parse_sender, record_report, require_content_type, secrets_match,
};
use crate::config::{InfobipConfig, Secret};
use crate::store::DeliveryStatus;

const JSON: &str = "application/json";

/// How Infobip's calls are authenticated.
pub struct InfobipInbound {
    user: String,
    password: Secret,
}

impl InfobipInbound {
    /// `None` when no webhook password is configured: the webhook is then off.
    pub fn from_config(config: &InfobipConfig) -> Option<Self> {
        Some(Self {
            user: config.webhook_user.clone(),
            password: config.webhook_password.clone()?,
        })
    }

    fn authenticate(&self, headers: &HeaderMap) -> WebhookResult<()> {
        let (user, password) = basic_auth(headers).ok_or(WebhookError::Unauthenticated)?;
        // Both compared, always, so the time taken does not say which one was wrong.
        let user_ok = secrets_match(user.as_bytes(), self.user.as_bytes());
        let password_ok = secrets_match(&password, self.password.expose().as_bytes());
        if user_ok & password_ok {
            Ok(())
        } else {
            Err(WebhookError::Forbidden)
        }
    }
}

#[derive(Debug, Deserialize)]
struct Inbound {
    results: Vec<InboundResult>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InboundResult {
    message_id: String,
    from: String,
    text: Option<String>,
    /// The text without the keyword, when Infobip's keyword routing is used.
    clean_text: Option<String>,
}

/// Reads Infobip's inbound JSON. A malformed message in a batch is skipped (and logged) so
/// that it does not hold back the others, which Infobip would otherwise post again and again;
/// a batch with no usable message is refused with the first message's error.
pub fn parse_inbound(body: &[u8]) -> WebhookResult<Vec<InboundSms>> {
    let inbound: Inbound =
        serde_json::from_slice(body).map_err(|e| WebhookError::bad(format!("json: {e}")))?;
    let mut first_error = None;
    let mut messages = Vec::new();
    for result in inbound.results {
        match message(result) {
            Ok(sms) => messages.push(sms),
            Err(error) => {
                tracing::warn!(%error, "infobip message skipped");
                first_error.get_or_insert(error);
            }
        }
    }
    match (messages.is_empty(), first_error) {
        (false, _) => Ok(messages),
        (true, Some(error)) => Err(error),
        (true, None) => Err(WebhookError::bad("results: no message")),
    }
}

fn message(result: InboundResult) -> WebhookResult<InboundSms> {
    if result.message_id.trim().is_empty() {
        return Err(WebhookError::bad("results[].messageId: empty"));
    }
    // The full text: a keyword Infobip routes on may be the voter's own word (AIDE).
    let text = result
        .text
        .or(result.clean_text)
        .ok_or_else(|| WebhookError::bad("results[].text: missing"))?;
    Ok(InboundSms {
        id: result.message_id,
        from: parse_sender(&result.from)?,
        text,
    })
}

/// `POST /webhooks/sms/infobip`.
pub(crate) async fn inbound(
    State(app): State<SmsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let infobip = app
        .sms
        .infobip
        .as_ref()
        .ok_or(WebhookError::NotConfigured(Provider::Infobip))?;
    infobip.authenticate(&headers)?;
    require_content_type(&headers, JSON)?;
    let messages = parse_inbound(&body)?;
    let (mut answered, mut duplicates) = (0u32, 0u32);
    for sms in messages {
        match converse(&app, Provider::Infobip, sms).await? {
            Some(reply) => {
                answered += 1;
                enqueue_reply(&app, Provider::Infobip, &reply).await?;
            }
            None => duplicates += 1,
        }
    }
    Ok(Json(json!({ "answered": answered, "duplicates": duplicates })).into_response())
}

#[derive(Debug, Deserialize)]
struct Reports {
    results: Vec<Report>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    message_id: String,
    status: ReportStatus,
    error: Option<ReportError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportStatus {
    group_name: String,
    name: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportError {
    name: Option<String>,
    description: Option<String>,
}

/// `POST /webhooks/sms/infobip/status`.
pub(crate) async fn status(
    State(app): State<SmsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let infobip = app
        .sms
        .infobip
        .as_ref()
        .ok_or(WebhookError::NotConfigured(Provider::Infobip))?;
    infobip.authenticate(&headers)?;
    require_content_type(&headers, JSON)?;
    let reports: Reports =
        serde_json::from_slice(&body).map_err(|e| WebhookError::bad(format!("json: {e}")))?;
    let mut last = None;
    for report in reports.results {
        let status = match report.status.group_name.as_str() {
            "DELIVERED" => DeliveryStatus::Delivered,
            "PENDING" => DeliveryStatus::Accepted,
            "UNDELIVERABLE" | "EXPIRED" | "REJECTED" => DeliveryStatus::Failed,
            other => return Err(WebhookError::bad(format!("unknown status group {other:?}"))),
        };
        let reason = (status == DeliveryStatus::Failed).then(|| {
            let error = report.error.as_ref();
            let parts: Vec<&str> = [
                Some(report.status.group_name.as_str()),
                report.status.name.as_deref(),
                error
                    .and_then(|e| e.description.as_deref().or(e.name.as_deref()))
                    .or(report.status.description.as_deref()),
            ]
            .into_iter()
            .flatten()
            .collect();
            parts.join(": ")
        });
        last = Some(
            record_report(
                &app,
                Provider::Infobip,
                &report.message_id,
                status,
                reason.as_deref(),
            )
            .await?,
        );
    }
    last.ok_or_else(|| WebhookError::bad("results: no report"))
}

/// Sends through Infobip's SMS API.
pub struct InfobipSender {
    client: reqwest::Client,
    url: String,
    api_key: Secret,
    from: Option<String>,
    notify_url: Option<String>,
}

/// The Infobip sender, if its API URL and key are configured.
pub fn sender(
    config: &InfobipConfig,
    public_url: Option<&str>,
    client: &reqwest::Client,
) -> Option<InfobipSender> {
    Some(InfobipSender {
        client: client.clone(),
        url: format!(
            "{}/sms/2/text/advanced",
            config.api_url.as_deref()?.trim_end_matches('/')
        ),
        api_key: config.api_key.clone()?,
        from: config.from.clone(),
        notify_url: public_url.map(|base| format!("{base}/webhooks/sms/infobip/status")),
    })
}

#[derive(Deserialize)]
struct SendAnswer {
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SentMessage {
    message_id: String,
    status: ReportStatus,
}

#[async_trait]
impl SmsSender for InfobipSender {
    fn provider(&self) -> Provider {
        Provider::Infobip
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        let mut message = json!({
            "destinations": [{ "to": sms.to.digits(), "messageId": format!("maktab-{}", sms.reference) }],
            "text": sms.text,
        });
        if let Some(from) = &self.from {
            message["from"] = json!(from);
        }
        if let Some(notify_url) = &self.notify_url {
            message["notifyUrl"] = json!(notify_url);
            message["notifyContentType"] = json!("application/json");
        }
        let request = self
            .client
            .post(&self.url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("App {}", self.api_key.expose()),
            )
            .json(&json!({ "messages": [message] }));
        let (_, body) = exchange(request).await?;
        let answer: SendAnswer = serde_json::from_str(&body)
            .map_err(|e| SendError::Permanent(format!("unexpected answer from Infobip: {e}")))?;
        let sent =
            answer.messages.into_iter().next().ok_or_else(|| {
                SendError::Permanent("Infobip answered with no message".to_owned())
            })?;
        // A 200 can still carry a refusal for this destination.
        if sent.status.group_name == "REJECTED" {
            return Err(SendError::Permanent(format!(
                "REJECTED: {}",
                sent.status
                    .description
                    .or(sent.status.name)
                    .unwrap_or_default()
            )));
        }
        Ok(Accepted {
            provider_message_id: sent.message_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_infobips_documented_payload() {
        let body = br#"{"results":[{"messageId":"817790313235066447","from":"213550123456","to":"213661000000","text":"AIDE","cleanText":"","keyword":"AIDE","receivedAt":"2026-11-03T09:28:39.220+0000","smsCount":1,"price":{"pricePerMessage":0,"currency":"EUR"},"callbackData":"x"}],"messageCount":1,"pendingMessageCount":0}"#;
        let messages = parse_inbound(body).unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].id, "817790313235066447");
        assert_eq!(messages[0].from.as_str(), "+213550123456");
        assert_eq!(messages[0].text, "AIDE");
    }

    #[test]
    fn malformed_payloads_are_named() {
        for (body, expected) in [
            (&b""[..], "json:"),
            (b"{}", "json:"),
            (br#"{"results":[]}"#, "results: no message"),
            (
                br#"{"results":[{"messageId":"1","from":"213550123456"}]}"#,
                "results[].text",
            ),
            (
                br#"{"results":[{"messageId":"1","from":"nobody","text":"x"}]}"#,
                "from:",
            ),
        ] {
            let error = parse_inbound(body).unwrap_err();
            assert!(error.to_string().starts_with(expected), "{error}");
        }
    }

    #[test]
    fn a_bad_message_does_not_hold_back_the_batch() {
        let body = br#"{"results":[{"messageId":"1","from":"nobody","text":"x"},{"messageId":"2","from":"0550123456","text":"AIDE"}]}"#;
        let messages = parse_inbound(body).unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].id, "2");
    }

    proptest! {
        #[test]
        fn the_parser_never_panics(body in prop::collection::vec(any::<u8>(), 0..300), text in "\\PC{0,80}") {
            let _ = parse_inbound(&body);
            let json = serde_json::json!({"results": [{"messageId": "1", "from": "0550123456", "text": text}]});
            let parsed = parse_inbound(json.to_string().as_bytes()).unwrap();
            prop_assert_eq!(&parsed[0].text, &text);
        }
    }
}
