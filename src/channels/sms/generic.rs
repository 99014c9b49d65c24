//! A generic signed webhook, for any aggregator that can post JSON.
//!
//! **Inbound.** `POST /webhooks/sms/generic` with `Content-Type: application/json`, body
//! `{"id": "...", "from": "+213...", "to": "...", "text": "..."}` and the header
//! `X-Maktab-Signature: sha256=HEX`, HEX being HMAC-SHA256 of the exact body bytes with the
//! shared secret. Without a `send_url` the reply comes back in the response:
//! `{"status": "accepted", "replies": [{"to", "text", "segments", "encoding"}]}` (an empty
//! list for a retried id). With a `send_url`, the response lists no replies and the reply is
//! POSTed there.
//!
//! **Outbound.** `POST {send_url}` with `{"id", "to", "from", "text"}`, signed the same way;
//! any 2xx accepts it. Delivery reports come to `/webhooks/sms/generic/status`, signed, as
//! `{"id": "<the id Maktab sent>", "status": "accepted|delivered|failed", "reason": "..."}`.

use async_trait::async_trait;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use super::outbound::{Accepted, OutgoingSms, SendError, SmsSender, exchange};
use super::{
    InboundSms, Provider, SmsState, WebhookError, WebhookResult, converse, enqueue_reply, hex,
    parse_sender, record_report, require_content_type, unhex,
};
use crate::config::{GenericConfig, Secret};
use crate::i18n::sms::SmsEncoding;
use crate::store::DeliveryStatus;

/// The header that carries the signature, both ways.
pub const SIGNATURE_HEADER: &str = "x-maktab-signature";

const JSON: &str = "application/json";

/// How the aggregator's calls are authenticated, and where replies go.
pub struct GenericInbound {
    secret: Secret,
    replies_in_response: bool,
}

impl GenericInbound {
    /// `None` when no secret is configured: the webhook is then off.
    pub fn from_config(config: &GenericConfig) -> Option<Self> {
        Some(Self {
            secret: config.secret.clone()?,
            replies_in_response: config.send_url.is_none(),
        })
    }
}

fn mac(secret: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(body);
    Some(mac)
}

/// The `X-Maktab-Signature` value of a body: `sha256=` and the hex HMAC-SHA256.
pub fn sign(secret: &str, body: &[u8]) -> String {
    mac(secret, body)
        .map(|mac| format!("sha256={}", hex(&mac.finalize().into_bytes())))
        .unwrap_or_default()
}

/// Checks the signature of a body in constant time.
pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> WebhookResult<()> {
    let given = headers
        .get(SIGNATURE_HEADER)
        .ok_or(WebhookError::Unauthenticated)?
        .to_str()
        .map_err(|_| WebhookError::Forbidden)?
        .trim();
    let given = given.strip_prefix("sha256=").unwrap_or(given);
    let given = unhex(given).ok_or(WebhookError::Forbidden)?;
    mac(secret, body)
        .ok_or(WebhookError::Forbidden)?
        .verify_slice(&given)
        .map_err(|_| WebhookError::Forbidden)
}

#[derive(Debug, Deserialize)]
struct Message {
    id: String,
    from: String,
    text: String,
}

/// Reads the generic webhook's JSON.
pub fn parse_inbound(body: &[u8]) -> WebhookResult<InboundSms> {
    let message: Message =
        serde_json::from_slice(body).map_err(|e| WebhookError::bad(format!("json: {e}")))?;
    if message.id.trim().is_empty() || message.id.len() > 200 {
        return Err(WebhookError::bad("id: expected 1 to 200 characters"));
    }
    Ok(InboundSms {
        id: message.id,
        from: parse_sender(&message.from)?,
        text: message.text,
    })
}

/// `POST /webhooks/sms/generic`.
pub(crate) async fn inbound(
    State(app): State<SmsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let generic = app
        .sms
        .generic
        .as_ref()
        .ok_or(WebhookError::NotConfigured(Provider::Generic))?;
    verify(generic.secret.expose(), &headers, &body)?;
    require_content_type(&headers, JSON)?;
    let sms = parse_inbound(&body)?;
    let reply = converse(&app, Provider::Generic, sms).await?;
    let (status, replies) = match reply {
        None => ("duplicate", vec![]),
        Some(reply) if generic.replies_in_response => {
            let encoding = match reply.segments.encoding {
                SmsEncoding::Gsm7 => "gsm7",
                SmsEncoding::Ucs2 => "ucs2",
            };
            (
                "accepted",
                vec![json!({
                    "to": reply.to.as_str(),
                    "text": reply.text,
                    "segments": reply.segments.segments,
                    "encoding": encoding,
                })],
            )
        }
        Some(reply) => {
            enqueue_reply(&app, Provider::Generic, &reply).await?;
            ("accepted", vec![])
        }
    };
    Ok(Json(json!({ "status": status, "replies": replies })).into_response())
}

#[derive(Debug, Deserialize)]
struct Report {
    id: String,
    status: String,
    reason: Option<String>,
}

/// `POST /webhooks/sms/generic/status`.
pub(crate) async fn status(
    State(app): State<SmsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let generic = app
        .sms
        .generic
        .as_ref()
        .ok_or(WebhookError::NotConfigured(Provider::Generic))?;
    verify(generic.secret.expose(), &headers, &body)?;
    require_content_type(&headers, JSON)?;
    let report: Report =
        serde_json::from_slice(&body).map_err(|e| WebhookError::bad(format!("json: {e}")))?;
    let status = match report.status.as_str() {
        "accepted" => DeliveryStatus::Accepted,
        "delivered" => DeliveryStatus::Delivered,
        "failed" => DeliveryStatus::Failed,
        other => {
            return Err(WebhookError::bad(format!(
                "status: {other:?}, expected accepted, delivered or failed"
            )));
        }
    };
    let reason = match status {
        DeliveryStatus::Failed => Some(report.reason.unwrap_or_else(|| "failed".to_owned())),
        _ => None,
    };
    record_report(
        &app,
        Provider::Generic,
        &report.id,
        status,
        reason.as_deref(),
    )
    .await
}

/// Sends by POSTing signed JSON to the aggregator.
pub struct GenericSender {
    client: reqwest::Client,
    send_url: String,
    secret: Secret,
    from: Option<String>,
}

/// The generic sender, if `send_url` and the secret are configured.
pub fn sender(config: &GenericConfig, client: &reqwest::Client) -> Option<GenericSender> {
    Some(GenericSender {
        client: client.clone(),
        send_url: config.send_url.clone()?,
        secret: config.secret.clone()?,
        from: config.from.clone(),
    })
}

#[async_trait]
impl SmsSender for GenericSender {
    fn provider(&self) -> Provider {
        Provider::Generic
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        let id = sms.reference.to_string();
        let body = json!({
            "id": id,
            "to": sms.to.as_str(),
            "from": self.from,
            "text": sms.text,
        })
        .to_string();
        let request = self
            .client
            .post(&self.send_url)
            .header(reqwest::header::CONTENT_TYPE, JSON)
            .header(
                SIGNATURE_HEADER,
                sign(self.secret.expose(), body.as_bytes()),
            )
            .body(body);
        exchange(request).await?;
        Ok(Accepted {
            provider_message_id: id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signed(secret: &str, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, sign(secret, body).parse().unwrap());
        headers
    }

    #[test]
    fn signature_is_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let body = br#"{"id":"1","from":"0550123456","to":"","text":"AIDE"}"#;
        assert!(verify("s", &signed("s", body), body).is_ok());
        assert!(matches!(
            verify("s", &signed("other", body), body),
            Err(WebhookError::Forbidden)
        ));
        assert!(matches!(
            verify("s", &HeaderMap::new(), body),
            Err(WebhookError::Unauthenticated)
        ));
        let mut bare = HeaderMap::new();
        bare.insert(SIGNATURE_HEADER, sign("s", body)[7..].parse().unwrap());
        assert!(
            verify("s", &bare, body).is_ok(),
            "the sha256= prefix is optional"
        );
    }

    #[test]
    fn malformed_bodies_are_named() {
        for (body, expected) in [
            (&b""[..], "json:"),
            (
                br#"{"from":"0550123456","text":"x"}"#,
                "json: missing field `id`",
            ),
            (br#"{"id":"","from":"0550123456","text":"x"}"#, "id:"),
            (
                br#"{"id":"1","from":"0550123456"}"#,
                "json: missing field `text`",
            ),
            (br#"{"id":"1","from":"x","text":"x"}"#, "from:"),
            (b"\xff\xfe", "json:"),
        ] {
            let error = parse_inbound(body).unwrap_err();
            assert!(error.to_string().starts_with(expected), "{error}");
        }
    }

    proptest! {
        #[test]
        fn the_parser_never_panics(body in prop::collection::vec(any::<u8>(), 0..300), text in "\\PC{0,80}") {
            let _ = parse_inbound(&body);
            let json = json!({"id": "1", "from": "+213550123456", "to": "x", "text": text});
            prop_assert_eq!(parse_inbound(json.to_string().as_bytes()).unwrap().text, text);
        }
    }
}
