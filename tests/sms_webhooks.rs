//! The SMS webhooks over the real server on port 0: each provider's wire format, its
//! authentication, idempotency of retried deliveries, phone number normalisation, keywords,
//! delivery reports, and 4xx (never 5xx) for whatever malformed input a caller sends.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use common::*;
use maktab::channels::sms::{generic, twilio};
use maktab::config::{Secret, SmsConfig};
use maktab::domain::Channel;
use maktab::domain::Locale;
use maktab::store::{DeliveryStatus, NewReply, NoticeResult, OutboxLane};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::json;

const KANNEL_SECRET: &str = "kannel-secret";
const TWILIO_TOKEN: &str = "twilio-token";
const INFOBIP_PASSWORD: &str = "infobip-pass";
const GENERIC_SECRET: &str = "generic-secret";

/// Every provider's webhook on; Infobip's replies go to `infobip_api`.
fn all_providers(infobip_api: &str) -> impl FnOnce(&mut SmsConfig) {
    let infobip_api = infobip_api.to_owned();
    move |sms| {
        sms.kannel.secret = Some(Secret::new(KANNEL_SECRET));
        sms.twilio.account_sid = Some("AC0123".to_owned());
        sms.twilio.auth_token = Some(Secret::new(TWILIO_TOKEN));
        sms.infobip.webhook_password = Some(Secret::new(INFOBIP_PASSWORD));
        sms.infobip.api_url = Some(infobip_api);
        sms.infobip.api_key = Some(Secret::new("infobip-key"));
        sms.generic.secret = Some(Secret::new(GENERIC_SECRET));
    }
}

async fn app_with_all_providers() -> (TestApp, FakeProvider) {
    let infobip = FakeProvider::start(
        200,
        r#"{"bulkId":"b1","messages":[{"to":"213550123456","status":{"groupId":1,"groupName":"PENDING","id":26,"name":"PENDING_ACCEPTED"},"messageId":"ib-1"}]}"#,
    )
    .await;
    let app = spawn_app(all_providers(&infobip.base)).await;
    (app, infobip)
}

fn lookup_fr() -> String {
    format!("mon NIN {NIN_MIXED} né le {BIRTH_MIXED}")
}

fn lookup_ar() -> String {
    arabic_indic(&format!("رقمي {NIN_MIXED} تاريخ ميلادي {BIRTH_MIXED}"))
}

// ---- Twilio ----

fn twilio_form(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", "AC0123"),
        ("From", from),
        ("To", "+15005550006"),
        ("Body", body),
        ("NumMedia", "0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

async fn post_twilio(
    app: &TestApp,
    path: &str,
    form: &[(String, String)],
    signature: Option<String>,
) -> (u16, String) {
    let mut request = app
        .client
        .post(app.url(path))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap());
    if let Some(signature) = signature {
        request = request.header("X-Twilio-Signature", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn signed_for(app: &TestApp, path: &str, form: &[(String, String)]) -> Option<String> {
    Some(twilio::signature(TWILIO_TOKEN, &app.url(path), form))
}

#[tokio::test]
async fn twilio_with_a_correct_signature_gets_the_answer_as_twiml() {
    let (app, _) = app_with_all_providers().await;
    let form = twilio_form("SM0001", "+213550123456", &lookup_fr());
    let (status, body) = post_twilio(
        &app,
        "/webhooks/sms/twilio",
        &form,
        signed_for(&app, "/webhooks/sms/twilio", &form),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(
        body.contains("<Message>Centre : Ecole Emir Abdelkader\n12 Rue de l&apos;Indépendance\nBureau de vote 1</Message>"),
        "{body}"
    );
}

#[tokio::test]
async fn twilio_refuses_tampered_parameters_tampered_urls_and_missing_signatures() {
    let (app, _) = app_with_all_providers().await;
    let path = "/webhooks/sms/twilio";
    let form = twilio_form("SM0002", "+213550123456", &lookup_fr());
    let signature = signed_for(&app, path, &form);

    let mut tampered = form.clone();
    tampered[5].1 = format!("mon NIN {NIN_WOMEN} né le {BIRTH_WOMEN}");
    let (status, body) = post_twilio(&app, path, &tampered, signature.clone()).await;
    assert_eq!(status, 403, "tampered parameter: {body}");
    assert!(body.contains(r#""code":"forbidden""#), "{body}");

    let other_url = Some(twilio::signature(
        TWILIO_TOKEN,
        "https://attacker.example/webhooks/sms/twilio",
        &form,
    ));
    assert_eq!(post_twilio(&app, path, &form, other_url).await.0, 403);
    let query_added = post_twilio(&app, "/webhooks/sms/twilio?x=1", &form, signature.clone()).await;
    assert_eq!(query_added.0, 403, "the query is part of the signed URL");

    let (status, body) = post_twilio(&app, path, &form, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        post_twilio(&app, path, &form, Some("not base64!".to_owned()))
            .await
            .0,
        403
    );

    // None of the refused requests touched anything: the message id is still new and the
    // sender has no state.
    let state = app
        .store()
        .sender_state(Channel::Sms, "+213550123456", maktab::domain::now())
        .await
        .unwrap();
    assert_eq!(state, Default::default());
    let (status, body) = post_twilio(&app, path, &form, signature).await;
    assert_eq!(status, 200);
    assert!(body.contains("<Message>Centre"), "{body}");
}

#[tokio::test]
async fn twilio_answers_a_photo_without_digits_with_a_text_only_hint() {
    let (app, _) = app_with_all_providers().await;
    let mut form = twilio_form("SM0003", "+213550123456", "");
    form[6].1 = "1".to_owned();
    let path = "/webhooks/sms/twilio";
    let (status, body) = post_twilio(&app, path, &form, signed_for(&app, path, &form)).await;
    assert_eq!(status, 200);
    assert!(body.contains("لا نقرأ الصور"), "{body}");
}

/// A reply the provider accepted under the id `provider_id` gives it. It is due far in the
/// future, so the running server's own lane leaves it alone.
async fn sent_reply(
    store: &dyn maktab::store::Store,
    provider: &'static str,
    provider_id: impl Fn(i64) -> String,
) -> i64 {
    let later = maktab::domain::now() + 1_000_000;
    let id = store
        .enqueue_reply(
            &NewReply {
                channel: Channel::Sms,
                provider: Some(provider),
                recipient: "+213550123456",
                locale: Locale::Fr,
                body: "Bureau 1",
                message: "lookup-found",
                segments: 1,
            },
            later,
        )
        .await
        .unwrap();
    let lane = OutboxLane {
        channel: Channel::Sms,
        provider: Some(provider),
        notices: false,
    };
    let claimed = store.claim_outbox(&lane, later, 60, 1).await.unwrap();
    assert_eq!(claimed[0].id, id);
    let sent = NoticeResult::Sent {
        provider_id: Some(provider_id(id)),
    };
    store.finish_notice(id, &sent, later).await.unwrap();
    id
}

#[tokio::test]
async fn twilio_status_callbacks_update_the_outbound_record() {
    let (app, _) = app_with_all_providers().await;
    let store = app.store();
    let id = sent_reply(store.as_ref(), "twilio", |_| "SMabc".to_owned()).await;
    let path = "/webhooks/sms/twilio/status";
    let form: Vec<(String, String)> = [
        ("MessageSid", "SMabc"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let (status, body) = post_twilio(&app, path, &form, signed_for(&app, path, &form)).await;
    assert_eq!(status, 200, "{body}");
    let sms = store.outbound_sms(id).await.unwrap().unwrap();
    assert_eq!(sms.status, DeliveryStatus::Failed);
    assert_eq!(sms.reason.as_deref(), Some("undelivered: error 30003"));
    assert_eq!(post_twilio(&app, path, &form, None).await.0, 401);
}

// ---- Kannel ----

fn utf16_percent(text: &str) -> String {
    text.encode_utf16()
        .flat_map(u16::to_be_bytes)
        .map(|b| format!("%{b:02X}"))
        .collect()
}

fn query_escape(text: &str) -> String {
    serde_urlencoded::to_string([("t", text)]).unwrap()[2..].to_owned()
}

async fn kannel_get(app: &TestApp, query: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/webhooks/sms/kannel?{query}")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn kannel_ucs2_arabic_with_arabic_indic_digits_is_answered_in_arabic_as_ucs2() {
    let (app, _) = app_with_all_providers().await;
    let query = format!(
        "secret={KANNEL_SECRET}&id=k-1&from=%2B213550123456&to=3030&coding=2&text={}",
        utf16_percent(&lookup_ar())
    );
    let response = kannel_get(&app, &query).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-kannel-coding"], "2");
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("charset=utf-8")
    );
    let body = response.text().await.unwrap();
    assert!(body.starts_with("مركزك: مدرسة الأمير عبد القادر"), "{body}");
    assert!(body.contains("المكتب رقم 1"), "{body}");
}

#[tokio::test]
async fn kannel_recoded_utf8_and_post_url_bodies_are_read_too() {
    let (app, _) = app_with_all_providers().await;
    let query = format!(
        "secret={KANNEL_SECRET}&id=k-2&from=0550123456&coding=0&charset=UTF-8&text={}",
        query_escape(&lookup_fr())
    );
    let response = kannel_get(&app, &query).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-kannel-coding"],
        "0",
        "plain French stays GSM-7"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .starts_with("Centre : Ecole Emir Abdelkader")
    );

    let utf16: Vec<u8> = lookup_ar()
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let response = app
        .client
        .post(app.url("/webhooks/sms/kannel?id=k-3&from=0661000000&coding=2"))
        .basic_auth("kannel", Some(KANNEL_SECRET))
        .header(CONTENT_TYPE, "text/plain; charset=UTF-16BE")
        .body(utf16)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().starts_with("مركزك"));
}

#[tokio::test]
async fn kannel_without_or_with_a_wrong_secret_is_refused() {
    let (app, _) = app_with_all_providers().await;
    let message = format!("id=k-4&from=0550123456&text={}", query_escape(&lookup_fr()));
    assert_eq!(kannel_get(&app, &message).await.status(), 401);
    assert_eq!(
        kannel_get(&app, &format!("secret=wrong&{message}"))
            .await
            .status(),
        403
    );
    let response = app
        .client
        .get(app.url(&format!("/webhooks/sms/kannel?{message}")))
        .basic_auth("kannel", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // The refused message id was not consumed.
    let response = kannel_get(&app, &format!("secret={KANNEL_SECRET}&{message}")).await;
    assert!(response.text().await.unwrap().starts_with("Centre"));
}

#[tokio::test]
async fn kannel_allow_list_refuses_other_addresses() {
    let app = spawn_app(|sms| {
        sms.kannel.secret = Some(Secret::new(KANNEL_SECRET));
        sms.kannel.allow_from = vec!["10.0.0.0/8".to_owned()];
    })
    .await;
    let query = format!("secret={KANNEL_SECRET}&id=k-5&from=0550123456&text=AIDE");
    let response = kannel_get(&app, &query).await;
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("address_not_allowed")
    );

    let app = spawn_app(|sms| {
        sms.kannel.secret = Some(Secret::new(KANNEL_SECRET));
        sms.kannel.allow_from = vec!["127.0.0.1".to_owned()];
    })
    .await;
    assert_eq!(kannel_get(&app, &query).await.status(), 200);
}

#[tokio::test]
async fn kannel_delivery_reports_update_the_outbound_record() {
    let (app, _) = app_with_all_providers().await;
    let store = app.store();
    let id = sent_reply(store.as_ref(), "kannel", |id| id.to_string()).await;
    let report = |status: u32| {
        app.client
            .get(app.url(&format!(
                "/webhooks/sms/kannel/status?secret={KANNEL_SECRET}&ref={id}&status={status}&reason=ACK"
            )))
            .send()
    };
    assert_eq!(report(1).await.unwrap().status(), 200);
    assert_eq!(
        store.outbound_sms(id).await.unwrap().unwrap().status,
        DeliveryStatus::Delivered
    );
    // A late "accepted by the SMSC" does not undo "delivered".
    assert_eq!(report(8).await.unwrap().status(), 200);
    assert_eq!(
        store.outbound_sms(id).await.unwrap().unwrap().status,
        DeliveryStatus::Delivered
    );
    let unauthenticated = app
        .client
        .get(app.url(&format!("/webhooks/sms/kannel/status?ref={id}&status=2")))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

// ---- Infobip ----

fn infobip_body(id: &str, from: &str, text: &str) -> String {
    json!({
        "results": [{
            "messageId": id, "from": from, "to": "213661000000", "text": text,
            "cleanText": text, "keyword": "", "receivedAt": "2026-11-03T10:00:00.000+0000",
            "smsCount": 1, "price": {"pricePerMessage": 0, "currency": "EUR"}
        }],
        "messageCount": 1, "pendingMessageCount": 0
    })
    .to_string()
}

async fn post_infobip(app: &TestApp, password: Option<&str>, body: String) -> u16 {
    let mut request = app
        .client
        .post(app.url("/webhooks/sms/infobip"))
        .header(CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(password) = password {
        request = request.basic_auth("infobip", Some(password));
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn infobip_messages_are_answered_through_its_api() {
    let (app, infobip) = app_with_all_providers().await;
    let status = post_infobip(
        &app,
        Some(INFOBIP_PASSWORD),
        infobip_body("ib-in-1", "213550123456", &lookup_ar()),
    )
    .await;
    assert_eq!(status, 200);
    let sent = infobip.wait_for(1).await;
    assert_eq!(sent[0].path, "/sms/2/text/advanced");
    assert_eq!(
        sent[0].header("authorization").as_deref(),
        Some("App infobip-key")
    );
    let message = &sent[0].json()["messages"][0];
    assert_eq!(message["destinations"][0]["to"], "213550123456");
    assert!(message["text"].as_str().unwrap().starts_with("مركزك"));
    assert_eq!(
        message["notifyUrl"],
        app.url("/webhooks/sms/infobip/status")
    );
    // The reply is recorded with Infobip's id, ready for its delivery report.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let recorded = app
        .store()
        .outbound_sms_to("+213550123456", 5)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].provider_message_id.as_deref(), Some("ib-1"));
    assert_eq!(recorded[0].status, DeliveryStatus::Accepted);

    let report = json!({"results": [{
        "bulkId": "b1", "messageId": "ib-1", "to": "213550123456",
        "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET"},
        "error": {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR", "permanent": false}
    }]});
    let response = app
        .client
        .post(app.url("/webhooks/sms/infobip/status"))
        .basic_auth("infobip", Some(INFOBIP_PASSWORD))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sms = app
        .store()
        .outbound_sms(recorded[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sms.status, DeliveryStatus::Delivered);
}

#[tokio::test]
async fn infobip_without_or_with_wrong_credentials_is_refused() {
    let (app, infobip) = app_with_all_providers().await;
    let body = || infobip_body("ib-in-2", "213550123456", "AIDE");
    assert_eq!(post_infobip(&app, None, body()).await, 401);
    assert_eq!(post_infobip(&app, Some("wrong"), body()).await, 403);
    let wrong_user = app
        .client
        .post(app.url("/webhooks/sms/infobip"))
        .basic_auth("someone", Some(INFOBIP_PASSWORD))
        .header(CONTENT_TYPE, "application/json")
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_user.status(), 403);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(infobip.received().is_empty(), "nothing was answered");
    assert_eq!(
        post_infobip(&app, Some(INFOBIP_PASSWORD), body()).await,
        200
    );
    infobip.wait_for(1).await;
}

// ---- Generic ----

async fn post_generic(app: &TestApp, body: &str, secret: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = app
        .client
        .post(app.url("/webhooks/sms/generic"))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    if let Some(secret) = secret {
        request = request.header(
            generic::SIGNATURE_HEADER,
            generic::sign(secret, body.as_bytes()),
        );
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(json!({ "raw": text })),
    )
}

fn generic_body(id: &str, from: &str, text: &str) -> String {
    json!({ "id": id, "from": from, "to": "3030", "text": text }).to_string()
}

#[tokio::test]
async fn generic_signed_messages_get_their_reply_in_the_response() {
    let (app, _) = app_with_all_providers().await;
    let (status, answer) = post_generic(
        &app,
        &generic_body("g-1", "0550123456", &lookup_fr()),
        Some(GENERIC_SECRET),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "accepted");
    let reply = &answer["replies"][0];
    assert_eq!(reply["to"], "+213550123456");
    assert_eq!(reply["encoding"], "gsm7");
    assert_eq!(reply["segments"], 1);
    assert!(reply["text"].as_str().unwrap().contains("Bureau de vote 1"));

    let body = generic_body("g-2", "0550123456", "AIDE");
    assert_eq!(post_generic(&app, &body, None).await.0, 401);
    assert_eq!(post_generic(&app, &body, Some("wrong")).await.0, 403);
}

#[tokio::test]
async fn generic_replies_go_to_the_send_url_when_one_is_configured() {
    let aggregator = FakeProvider::start(200, r#"{"ok":true}"#).await;
    let send_url = format!("{}/send", aggregator.base);
    let app = spawn_app(move |sms| {
        sms.generic.secret = Some(Secret::new(GENERIC_SECRET));
        sms.generic.send_url = Some(send_url);
        sms.generic.from = Some("3030".to_owned());
    })
    .await;
    let (status, answer) = post_generic(
        &app,
        &generic_body("g-3", "+213 550 12 34 56", &lookup_ar()),
        Some(GENERIC_SECRET),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["replies"], json!([]));
    let sent = aggregator.wait_for(1).await;
    let signature = sent[0].header(generic::SIGNATURE_HEADER).unwrap();
    assert_eq!(signature, generic::sign(GENERIC_SECRET, &sent[0].body));
    let body = sent[0].json();
    assert_eq!(body["to"], "+213550123456");
    assert_eq!(body["from"], "3030");
    assert!(body["text"].as_str().unwrap().starts_with("مركزك"));

    // Its delivery report names the id Maktab sent.
    let id = body["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let report = json!({ "id": id, "status": "failed", "reason": "absent subscriber" }).to_string();
    let response = app
        .client
        .post(app.url("/webhooks/sms/generic/status"))
        .header(CONTENT_TYPE, "application/json")
        .header(
            generic::SIGNATURE_HEADER,
            generic::sign(GENERIC_SECRET, report.as_bytes()),
        )
        .body(report)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sms = app
        .store()
        .outbound_sms(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sms.status, DeliveryStatus::Failed);
    assert_eq!(sms.reason.as_deref(), Some("absent subscriber"));
}

// ---- Across providers ----

#[tokio::test]
async fn the_same_message_delivered_twice_is_answered_once_on_every_provider() {
    let (app, infobip) = app_with_all_providers().await;

    let form = twilio_form("SM-dup", "+213550000001", &lookup_fr());
    let path = "/webhooks/sms/twilio";
    let first = post_twilio(&app, path, &form, signed_for(&app, path, &form)).await;
    let second = post_twilio(&app, path, &form, signed_for(&app, path, &form)).await;
    assert!(first.1.contains("<Message>"), "{first:?}");
    assert_eq!(second.0, 200);
    assert!(!second.1.contains("<Message>"), "{second:?}");

    let query = format!(
        "secret={KANNEL_SECRET}&id=k-dup&from=0550000002&text={}",
        query_escape(&lookup_fr())
    );
    let first = kannel_get(&app, &query).await.text().await.unwrap();
    let second = kannel_get(&app, &query).await;
    assert_eq!(second.status(), 200);
    assert!(first.starts_with("Centre"));
    assert_eq!(second.text().await.unwrap(), "");

    let body = generic_body("g-dup", "0550000003", &lookup_fr());
    let first = post_generic(&app, &body, Some(GENERIC_SECRET)).await.1;
    let second = post_generic(&app, &body, Some(GENERIC_SECRET)).await.1;
    assert_eq!(first["replies"].as_array().unwrap().len(), 1);
    assert_eq!(second, json!({ "status": "duplicate", "replies": [] }));

    let body = infobip_body("ib-dup", "213550000004", &lookup_fr());
    assert_eq!(
        post_infobip(&app, Some(INFOBIP_PASSWORD), body.clone()).await,
        200
    );
    assert_eq!(post_infobip(&app, Some(INFOBIP_PASSWORD), body).await, 200);
    infobip.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(infobip.received().len(), 1, "one reply for two deliveries");

    // Only the first deliveries were looked up: one lookup per sender in the hour's counter.
    let answers = app
        .store()
        .outbound_sms_to("+213550000004", 10)
        .await
        .unwrap();
    assert_eq!(answers.len(), 1);
}

#[tokio::test]
async fn a_national_and_an_international_number_are_the_same_sender() {
    let (app, _) = app_with_all_providers().await;
    let (_, first) = post_generic(
        &app,
        &generic_body("g-10", "0550 12 34 56", NIN_MIXED),
        Some(GENERIC_SECRET),
    )
    .await;
    assert!(
        first["replies"][0]["text"]
            .as_str()
            .unwrap()
            .contains("15/03/1990"),
        "asks for the birth date: {first}"
    );
    // The dialogue continues from the same phone written another way, on another provider.
    let form = twilio_form("SM0010", "+213 550-12-34-56", BIRTH_MIXED);
    let path = "/webhooks/sms/twilio";
    let (_, body) = post_twilio(&app, path, &form, signed_for(&app, path, &form)).await;
    assert!(body.contains("مركزك"), "{body}");
}

#[tokio::test]
async fn stop_and_start_keywords_work_over_sms_in_both_languages() {
    let (app, _) = app_with_all_providers().await;
    let (_, answer) = post_generic(
        &app,
        &generic_body("g-20", "0550123456", "STOP"),
        Some(GENERIC_SECRET),
    )
    .await;
    assert!(
        answer["replies"][0]["text"]
            .as_str()
            .unwrap()
            .contains("START"),
        "{answer}"
    );
    let state = app
        .store()
        .sender_state(Channel::Sms, "+213550123456", maktab::domain::now())
        .await
        .unwrap();
    assert!(state.notices_opt_out);
    let query = format!(
        "secret={KANNEL_SECRET}&id=k-20&from=0550123456&coding=2&text={}",
        utf16_percent("توقف")
    );
    let body = kannel_get(&app, &query).await.text().await.unwrap();
    assert!(body.starts_with("لن تصلك إشعارات"), "{body}");
    let query = format!(
        "secret={KANNEL_SECRET}&id=k-21&from=0550123456&coding=2&text={}",
        utf16_percent("ابدأ")
    );
    let body = kannel_get(&app, &query).await.text().await.unwrap();
    assert!(body.starts_with("ستصلك من جديد"), "{body}");
    let state = app
        .store()
        .sender_state(Channel::Sms, "+213550123456", maktab::domain::now())
        .await
        .unwrap();
    assert!(!state.notices_opt_out);
}

#[tokio::test]
async fn providers_that_are_not_configured_answer_404() {
    let app = spawn_app(|_| {}).await;
    for path in [
        "/webhooks/sms/kannel",
        "/webhooks/sms/twilio",
        "/webhooks/sms/infobip",
        "/webhooks/sms/generic",
        "/webhooks/sms/generic/status",
    ] {
        let response = app
            .client
            .post(app.url(path))
            .header(CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_configured", "{path}");
    }
}

#[tokio::test]
async fn malformed_bodies_get_4xx_never_5xx() {
    let (app, _) = app_with_all_providers().await;
    let huge = "x".repeat(1024 * 1024);
    let invalid_utf8: &[u8] = b"\xff\xfe\xfd";
    let mut checked = 0;
    let mut check = |what: String, status: u16| {
        assert!((400..500).contains(&status), "{what}: {status}");
        checked += 1;
    };

    // Generic: signed, so that the body itself is what is judged.
    for (what, body, content_type) in [
        ("empty", Vec::new(), "application/json"),
        ("1 MiB", huge.clone().into_bytes(), "application/json"),
        ("invalid UTF-8", invalid_utf8.to_vec(), "application/json"),
        (
            "missing fields",
            br#"{"id":"1"}"#.to_vec(),
            "application/json",
        ),
        (
            "wrong types",
            br#"{"id":1,"from":2,"text":3}"#.to_vec(),
            "application/json",
        ),
        (
            "wrong content type",
            generic_body("g-x", "0550123456", "AIDE").into_bytes(),
            "text/plain",
        ),
    ] {
        let response = app
            .client
            .post(app.url("/webhooks/sms/generic"))
            .header(CONTENT_TYPE, content_type)
            .header(
                generic::SIGNATURE_HEADER,
                generic::sign(GENERIC_SECRET, &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        check(format!("generic {what}"), response.status().as_u16());
    }

    // Infobip.
    for (what, body, content_type) in [
        ("empty", Vec::new(), "application/json"),
        ("1 MiB", huge.clone().into_bytes(), "application/json"),
        ("invalid UTF-8", invalid_utf8.to_vec(), "application/json"),
        (
            "missing fields",
            br#"{"results":[{"messageId":"1"}]}"#.to_vec(),
            "application/json",
        ),
        (
            "no results",
            br#"{"results":[]}"#.to_vec(),
            "application/json",
        ),
        (
            "wrong content type",
            infobip_body("ib-x", "213550123456", "AIDE").into_bytes(),
            "text/xml",
        ),
    ] {
        let response = app
            .client
            .post(app.url("/webhooks/sms/infobip"))
            .basic_auth("infobip", Some(INFOBIP_PASSWORD))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        check(format!("infobip {what}"), response.status().as_u16());
    }

    // Twilio: signed over whatever parameters the body holds.
    let path = "/webhooks/sms/twilio";
    let missing_from: Vec<(String, String)> = twilio_form("SM-x", "+213550123456", "AIDE")
        .into_iter()
        .filter(|(k, _)| k != "From")
        .collect();
    let (status, _) = post_twilio(
        &app,
        path,
        &missing_from,
        signed_for(&app, path, &missing_from),
    )
    .await;
    check("twilio missing From".to_owned(), status);
    let empty: Vec<(String, String)> = vec![];
    let (status, _) = post_twilio(&app, path, &empty, signed_for(&app, path, &empty)).await;
    check("twilio empty".to_owned(), status);
    for (what, body, content_type) in [
        (
            "1 MiB",
            huge.clone().into_bytes(),
            "application/x-www-form-urlencoded",
        ),
        (
            "invalid UTF-8",
            b"Body=%FF%FE&From=1".to_vec(),
            "application/x-www-form-urlencoded",
        ),
        ("wrong content type", b"{}".to_vec(), "application/json"),
    ] {
        let response = app
            .client
            .post(app.url(path))
            .header(CONTENT_TYPE, content_type)
            .header(
                "X-Twilio-Signature",
                signed_for(&app, path, &empty).unwrap(),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        check(format!("twilio {what}"), response.status().as_u16());
    }

    // Kannel.
    for (what, query) in [
        ("no parameters", format!("secret={KANNEL_SECRET}")),
        (
            "missing id",
            format!("secret={KANNEL_SECRET}&from=0550123456&text=AIDE"),
        ),
        (
            "missing from",
            format!("secret={KANNEL_SECRET}&id=1&text=AIDE"),
        ),
        (
            "invalid UTF-8",
            format!("secret={KANNEL_SECRET}&id=1&from=0550123456&text=%FF%FE%FD"),
        ),
        (
            "odd UTF-16",
            format!("secret={KANNEL_SECRET}&id=1&from=0550123456&coding=2&text=%06"),
        ),
        (
            "unpaired surrogate",
            format!("secret={KANNEL_SECRET}&id=1&from=0550123456&coding=2&text=%D8%00%00A"),
        ),
        (
            "binary",
            format!("secret={KANNEL_SECRET}&id=1&from=0550123456&coding=1&text=%00"),
        ),
    ] {
        check(
            format!("kannel {what}"),
            kannel_get(&app, &query).await.status().as_u16(),
        );
    }
    let response = app
        .client
        .post(app.url(&format!(
            "/webhooks/sms/kannel?secret={KANNEL_SECRET}&id=1&from=0550123456"
        )))
        .header(CONTENT_TYPE, "text/plain")
        .body(huge.clone())
        .send()
        .await
        .unwrap();
    check("kannel 1 MiB".to_owned(), response.status().as_u16());
    assert_eq!(checked, 25);

    // Nothing above was processed: the ids used are still new.
    let (_, answer) = post_generic(
        &app,
        &generic_body("g-x", "0550123456", "AIDE"),
        Some(GENERIC_SECRET),
    )
    .await;
    assert_eq!(answer["status"], "accepted");
}

#[tokio::test]
async fn unauthenticated_basic_auth_challenges_name_the_scheme() {
    let (app, _) = app_with_all_providers().await;
    let response = app
        .client
        .post(app.url("/webhooks/sms/infobip"))
        .header(CONTENT_TYPE, "application/json")
        .header(
            AUTHORIZATION,
            format!(
                "Bearer {}",
                base64::engine::general_purpose::STANDARD.encode("x")
            ),
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
}
