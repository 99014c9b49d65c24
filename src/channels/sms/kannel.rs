//! Kannel: the SMS gateway operators' connections usually go through in Algeria.
//!
//! **Inbound.** An `sms-service` calls `/webhooks/sms/kannel` with `get-url` (GET, text in the
//! query) or `post-url` (POST, text as the body), and these parameters:
//!
//! | parameter | Kannel escape | meaning |
//! |---|---|---|
//! | `id` | `%I` | Kannel's message id (idempotency) |
//! | `from` | `%p` | the sender's number |
//! | `to` | `%P` | the number the SMS was sent to |
//! | `text` | `%a` or `%b` | the text (`%b`: the raw bytes, url-encoded); absent with `post-url` |
//! | `coding` | `%c` | 0 (7-bit), 1 (8-bit binary), 2 (UCS-2) |
//! | `charset` | `%C` | the text's character set, e.g. `UTF-8`, `UTF-16BE` |
//! | `secret` | | the shared secret, unless Basic auth carries it |
//!
//! Arabic arrives intact whatever Kannel did with it: with `mo-recode = true` it comes as
//! UTF-8; without, a coding-2 message comes as UTF-16BE bytes (`%b`, or the POST body), and a
//! charset or coding says so. The reply is the response body (`text/plain; charset=utf-8`),
//! with `X-Kannel-Coding: 2` when it needs UCS-2 (all Arabic): Kannel sends it to the phone.
//!
//! **Outbound.** `/cgi-bin/sendsms` with `coding=2` and `charset=UTF-8` for UCS-2 text, and a
//! `dlr-url` back to `/webhooks/sms/kannel/status` carrying Maktab's id of the message.

use std::net::IpAddr;

use async_trait::async_trait;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};
use serde_json::json;

use super::outbound::{Accepted, OutgoingSms, SendError, SmsSender, exchange};
use super::{
    InboundSms, PeerAddr, Provider, SmsSetupError, SmsState, WebhookError, WebhookResult,
    basic_auth, converse, parse_sender, secrets_match,
};
use crate::config::{KannelConfig, Secret};
use crate::i18n::sms::{SmsEncoding, count_segments};
use crate::store::DeliveryStatus;

/// How Kannel's calls are authenticated.
pub struct KannelInbound {
    secret: Secret,
    allow: Vec<Network>,
}

impl KannelInbound {
    /// `None` when no secret is configured: the webhook is then off.
    pub fn from_config(config: &KannelConfig) -> Result<Option<Self>, SmsSetupError> {
        let Some(secret) = config.secret.clone() else {
            return Ok(None);
        };
        let allow = config
            .allow_from
            .iter()
            .map(|entry| {
                Network::parse(entry).ok_or_else(|| SmsSetupError::AllowList(entry.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Self { secret, allow }))
    }

    /// The allow-list first (cheapest, and it hides whether the secret was right), then the
    /// secret from the query or the Basic auth password.
    fn authenticate(
        &self,
        peer: Option<std::net::SocketAddr>,
        params: &Params,
        headers: &HeaderMap,
    ) -> WebhookResult<()> {
        if !self.allow.is_empty() {
            let allowed = peer.is_some_and(|p| self.allow.iter().any(|n| n.contains(p.ip())));
            if !allowed {
                return Err(WebhookError::AddressNotAllowed);
            }
        }
        let given = match (params.get("secret"), basic_auth(headers)) {
            (Some(secret), _) => secret.to_vec(),
            (None, Some((_, password))) => password,
            (None, None) => return Err(WebhookError::Unauthenticated),
        };
        if secrets_match(&given, self.secret.expose().as_bytes()) {
            Ok(())
        } else {
            Err(WebhookError::Forbidden)
        }
    }
}

/// An address or a network of the allow-list.
#[derive(Debug, Clone, PartialEq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address.parse().ok()?, Some(prefix.parse().ok()?)),
            None => (text.trim().parse().ok()?, None),
        };
        let bits = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Self { address, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (a, b, bits) = match (self.address, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u128::from(a.to_bits()), u128::from(b.to_bits()), 32)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (a >> shift) == (b >> shift)
    }
}

/// Query parameters with their values as raw bytes: `%b` carries bytes that are not UTF-8.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, Vec<u8>)>);

impl Params {
    pub fn parse(query: &str) -> Self {
        let decode = |part: &str| -> Vec<u8> {
            let spaced = part.replace('+', " ");
            percent_decode(spaced.as_bytes()).collect()
        };
        Self(
            query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (
                        String::from_utf8_lossy(&decode(key)).into_owned(),
                        decode(value),
                    )
                })
                .collect(),
        )
    }

    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_slice())
    }

    fn text(&self, name: &str) -> WebhookResult<Option<String>> {
        self.get(name)
            .map(|bytes| {
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| WebhookError::bad(format!("{name}: not UTF-8")))
            })
            .transpose()
    }
}

/// Reads an inbound SMS from Kannel's query parameters, headers and body.
pub fn parse_inbound(
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> WebhookResult<InboundSms> {
    let required = |name: &str| -> WebhookResult<String> {
        params
            .text(name)?
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| WebhookError::bad(format!("missing parameter {name}")))
    };
    let id = required("id")?;
    let from = match params.text("from")? {
        Some(from) => from,
        None => header_text(headers, "x-kannel-from")
            .ok_or_else(|| WebhookError::bad("missing parameter from"))?,
    };
    let from = parse_sender(&from)?;
    let coding = match params.text("coding")? {
        Some(coding) => Some(coding),
        None => header_text(headers, "x-kannel-coding"),
    };
    let (bytes, charset) = match params.get("text") {
        Some(text) => (text, params.text("charset")?),
        // post-url: the text is the body, its charset in the Content-Type.
        None => {
            let charset = params.text("charset")?.or_else(|| content_charset(headers));
            (body, charset)
        }
    };
    let text = decode_text(bytes, coding.as_deref(), charset.as_deref())?;
    Ok(InboundSms { id, from, text })
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

fn content_charset(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    value.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Decodes a Kannel text. The charset, when Kannel gives one, says how the bytes are encoded
/// (with `mo-recode` a UCS-2 SMS arrives as `UTF-8` with coding 0); without one, coding 2
/// means UTF-16BE and anything else UTF-8. Invalid bytes are refused, not replaced: a NIN with
/// a replacement character in it would be misread.
pub fn decode_text(
    bytes: &[u8],
    coding: Option<&str>,
    charset: Option<&str>,
) -> WebhookResult<String> {
    let coding = coding.map(str::trim).filter(|c| !c.is_empty());
    if coding == Some("1") {
        return Err(WebhookError::bad("8-bit binary messages are not text"));
    }
    let charset = charset
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty());
    match (charset.as_deref(), coding) {
        (Some("utf-16be" | "utf-16" | "ucs-2" | "ucs2" | "unicodebig"), _) | (None, Some("2")) => {
            utf16be(bytes)
        }
        (Some("utf-8" | "utf8"), _) | (None, _) => {
            String::from_utf8(bytes.to_vec()).map_err(|_| WebhookError::bad("text: invalid UTF-8"))
        }
        // Latin-1 maps each byte to the code point of the same value. Windows-1252 differs only
        // in 0x80-0x9F, which GSM-7 text from a phone never produces.
        (Some("iso-8859-1" | "latin1" | "iso_8859-1" | "windows-1252" | "cp1252"), _) => {
            Ok(bytes.iter().map(|&b| char::from(b)).collect())
        }
        (Some(other), _) => Err(WebhookError::bad(format!("unsupported charset {other:?}"))),
    }
}

fn utf16be(bytes: &[u8]) -> WebhookResult<String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(WebhookError::bad(
            "text: UTF-16 with an odd number of bytes",
        ));
    }
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| WebhookError::bad("text: invalid UTF-16 (unpaired surrogate)"))
}

/// `GET|POST /webhooks/sms/kannel`: the reply goes back as the response body.
pub(crate) async fn inbound(
    State(app): State<SmsState>,
    PeerAddr(peer): PeerAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let kannel = app
        .sms
        .kannel
        .as_ref()
        .ok_or(WebhookError::NotConfigured(Provider::Kannel))?;
    let params = Params::parse(query.as_deref().unwrap_or_default());
    kannel.authenticate(peer, &params, &headers)?;
    let sms = parse_inbound(&params, &headers, &body)?;
    let reply = converse(&app, Provider::Kannel, sms).await?;
    Ok(match reply {
        Some(reply) => {
            let coding = match reply.segments.encoding {
                SmsEncoding::Ucs2 => "2",
                SmsEncoding::Gsm7 => "0",
            };
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    ),
                    (
                        header::HeaderName::from_static("x-kannel-coding"),
                        HeaderValue::from_static(coding),
                    ),
                ],
                reply.text,
            )
                .into_response()
        }
        // A retry: an empty body, which the `sms-service` drops with `omit-empty = true`.
        None => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            "",
        )
            .into_response(),
    })
}

/// `GET|POST /webhooks/sms/kannel/status?ref=ID&status=%d&reason=%A`: Kannel's delivery
/// report (it calls the `dlr-url` with GET).
pub(crate) async fn status(
    State(app): State<SmsState>,
    PeerAddr(peer): PeerAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebhookError> {
    let kannel = app
        .sms
        .kannel
        .as_ref()
        .ok_or(WebhookError::NotConfigured(Provider::Kannel))?;
    let params = Params::parse(query.as_deref().unwrap_or_default());
    kannel.authenticate(peer, &params, &headers)?;
    let reference = params
        .text("ref")?
        .filter(|r| !r.is_empty())
        .ok_or_else(|| WebhookError::bad("missing parameter ref"))?;
    let code: u32 = params
        .text("status")?
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| WebhookError::bad("status: expected Kannel's %d"))?;
    let reason = params.get("reason").map(|r| {
        String::from_utf8_lossy(r)
            .chars()
            .take(200)
            .collect::<String>()
    });
    let Some(status) = dlr_status(code) else {
        return Ok(Json(json!({ "status": "ignored" })).into_response());
    };
    let reason = (status == DeliveryStatus::Failed)
        .then(|| reason.unwrap_or_else(|| format!("kannel dlr {code}")));
    super::record_report(
        &app,
        Provider::Kannel,
        &reference,
        status,
        reason.as_deref(),
    )
    .await
}

/// Kannel's delivery report types: 1 delivered, 2 failed, 4 buffered, 8 accepted by the
/// SMSC, 16 rejected by the SMSC.
fn dlr_status(code: u32) -> Option<DeliveryStatus> {
    if code & 1 != 0 {
        Some(DeliveryStatus::Delivered)
    } else if code & (2 | 16) != 0 {
        Some(DeliveryStatus::Failed)
    } else if code & (4 | 8) != 0 {
        Some(DeliveryStatus::Accepted)
    } else {
        None
    }
}

/// Sends through Kannel's `/cgi-bin/sendsms`.
pub struct KannelSender {
    client: reqwest::Client,
    sendsms_url: String,
    user: String,
    password: Secret,
    from: Option<String>,
    smsc: Option<String>,
    /// `{public_url}/webhooks/sms/kannel/status?secret=...`; Maktab adds `ref`.
    dlr_url: Option<String>,
}

/// The Kannel sender, if `sendsms_url`, user and password are configured.
pub fn sender(
    config: &KannelConfig,
    public_url: Option<&str>,
    client: &reqwest::Client,
) -> Option<KannelSender> {
    let dlr_url = match (public_url, &config.secret) {
        (Some(base), Some(secret)) => Some(format!(
            "{base}/webhooks/sms/kannel/status?secret={}",
            utf8_percent_encode(secret.expose(), NON_ALPHANUMERIC)
        )),
        _ => None,
    };
    Some(KannelSender {
        client: client.clone(),
        sendsms_url: config.sendsms_url.clone()?,
        user: config.sendsms_user.clone()?,
        password: config.sendsms_password.clone()?,
        from: config.from.clone(),
        smsc: config.smsc.clone(),
        dlr_url,
    })
}

#[async_trait]
impl SmsSender for KannelSender {
    fn provider(&self) -> Provider {
        Provider::Kannel
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        let reference = sms.reference.to_string();
        let mut query: Vec<(&str, String)> = vec![
            ("username", self.user.clone()),
            ("password", self.password.expose().to_owned()),
            ("to", sms.to.as_str().to_owned()),
            ("text", sms.text.clone()),
            ("charset", "UTF-8".to_owned()),
        ];
        if count_segments(&sms.text).encoding == SmsEncoding::Ucs2 {
            query.push(("coding", "2".to_owned()));
        }
        if let Some(from) = &self.from {
            query.push(("from", from.clone()));
        }
        if let Some(smsc) = &self.smsc {
            query.push(("smsc", smsc.clone()));
        }
        if let Some(dlr_url) = &self.dlr_url {
            // Kannel fills in %d (the report type) and %A (the SMSC's words) when it calls back.
            query.push(("dlr-mask", "31".to_owned()));
            query.push((
                "dlr-url",
                format!("{dlr_url}&ref={reference}&status=%d&reason=%A"),
            ));
        }
        let (_, body) = exchange(self.client.get(&self.sendsms_url).query(&query)).await?;
        // "0: Accepted for delivery" or "3: Queued for later delivery"; Kannel gives no id of
        // its own, its delivery reports carry ours.
        tracing::debug!(answer = %body.trim(), "kannel sendsms");
        Ok(Accepted {
            provider_message_id: reference,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn arabic_arrives_intact_in_every_coding() {
        let text = "رقمي ١٠٩٨٧٠";
        assert_eq!(
            decode_text(text.as_bytes(), Some("0"), Some("UTF-8")).unwrap(),
            text
        );
        assert_eq!(decode_text(&utf16(text), Some("2"), None).unwrap(), text);
        assert_eq!(
            decode_text(&utf16(text), Some("2"), Some("UTF-16BE")).unwrap(),
            text
        );
        assert_eq!(
            decode_text(&utf16(text), None, Some("UCS-2")).unwrap(),
            text
        );
        assert_eq!(
            decode_text(b"Bonjour \xe9t\xe9", Some("0"), Some("ISO-8859-1")).unwrap(),
            "Bonjour été"
        );
    }

    #[test]
    fn invalid_bytes_are_refused_not_replaced() {
        assert!(decode_text(b"\xff\xfe", Some("0"), Some("UTF-8")).is_err());
        assert!(decode_text(b"\x06", Some("2"), None).is_err());
        assert!(decode_text(&[0xD8, 0x00, 0x00, 0x41], Some("2"), None).is_err());
        assert!(decode_text(b"data", Some("1"), None).is_err());
        assert!(decode_text(b"x", None, Some("EBCDIC")).is_err());
    }

    #[test]
    fn percent_b_bytes_survive_the_query() {
        let params = Params::parse("id=1&from=%2B213550123456&text=%06%31%06%42&coding=2&empty");
        assert_eq!(params.get("text"), Some(&[0x06, 0x31, 0x06, 0x42][..]));
        assert_eq!(params.get("from"), Some(&b"+213550123456"[..]));
        assert_eq!(params.get("empty"), Some(&b""[..]));
        let sms = parse_inbound(&params, &HeaderMap::new(), b"").unwrap();
        assert_eq!(sms.text, "رق");
        assert_eq!(sms.from.as_str(), "+213550123456");
    }

    #[test]
    fn post_url_bodies_use_the_content_type_charset() {
        let params = Params::parse("id=7&from=0550123456&coding=2");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "text/plain; charset=UTF-16BE".parse().unwrap(),
        );
        let sms = parse_inbound(&params, &headers, &utf16("ابدأ")).unwrap();
        assert_eq!(sms.text, "ابدأ");
        assert_eq!(sms.id, "7");
    }

    #[test]
    fn missing_fields_are_named() {
        let error = parse_inbound(
            &Params::parse("from=0550123456&text=x"),
            &HeaderMap::new(),
            b"",
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "missing parameter id");
        let error =
            parse_inbound(&Params::parse("id=1&text=x"), &HeaderMap::new(), b"").unwrap_err();
        assert_eq!(error.to_string(), "missing parameter from");
        let error = parse_inbound(
            &Params::parse("id=1&from=abc&text=x"),
            &HeaderMap::new(),
            b"",
        )
        .unwrap_err();
        assert!(error.to_string().starts_with("from:"), "{error}");
    }

    #[test]
    fn allow_list_matches_addresses_and_networks() {
        let net = Network::parse("10.1.2.0/24").unwrap();
        assert!(net.contains("10.1.2.200".parse().unwrap()));
        assert!(!net.contains("10.1.3.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        let one = Network::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(
            Network::parse("::1")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(
            Network::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Network::parse("10.0.0.0/33").is_none());
        assert!(Network::parse("kannel.local").is_none());
    }

    #[test]
    fn delivery_report_types() {
        assert_eq!(dlr_status(1), Some(DeliveryStatus::Delivered));
        assert_eq!(dlr_status(2), Some(DeliveryStatus::Failed));
        assert_eq!(dlr_status(16), Some(DeliveryStatus::Failed));
        assert_eq!(dlr_status(8), Some(DeliveryStatus::Accepted));
        assert_eq!(dlr_status(0), None);
    }

    proptest! {
        #[test]
        fn the_parser_never_panics(query in "\\PC{0,200}", body in prop::collection::vec(any::<u8>(), 0..200), coding in prop::option::of("[0-3]"), charset in prop::option::of("(UTF-8|UTF-16BE|ISO-8859-1|x)")) {
            let params = Params::parse(&query);
            let _ = parse_inbound(&params, &HeaderMap::new(), &body);
            let _ = decode_text(&body, coding.as_deref(), charset.as_deref());
        }

        #[test]
        fn any_text_survives_utf16_and_utf8(text in "\\PC{0,100}") {
            prop_assert_eq!(decode_text(&utf16(&text), Some("2"), None).unwrap(), text.clone());
            prop_assert_eq!(decode_text(text.as_bytes(), Some("0"), Some("UTF-8")).unwrap(), text);
        }
    }
}
