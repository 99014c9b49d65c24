//! Outbound SMS through each provider's API, served by fake providers on loopback that speak
//! the real wire format (success and error answers), sent as they are in service: a reply is
//! an outbox row, and the provider's lane of the dispatcher sends it within the provider's
//! rate and retries it with the outbox's backoff.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use maktab::channels::sms::lane::SmsNotices;
use maktab::channels::sms::outbound::{Accepted, OutgoingSms, SendError, SmsSender};
use maktab::channels::sms::{Provider, generic, infobip, kannel, twilio};
use maktab::config::{GenericConfig, InfobipConfig, KannelConfig, Secret, TwilioConfig};
use maktab::domain::{Channel, Locale, PhoneNumber};
use maktab::i18n::Catalog;
use maktab::i18n::sms::count_segments;
use maktab::notices::{ChannelLimits, Dispatcher, RetryPolicy};
use maktab::store::{DeliveryStatus, NewReply, OutboundSms, Store, StoreError};
use tokio::time::Instant;

const ARABIC_REPLY: &str = "مركزك: مدرسة الأمير عبد القادر\n12 شارع الاستقلال\nالمكتب رقم 1";
/// Two UCS-2 segments.
const LONG_ARABIC_REPLY: &str = "مركزك: متوسطة الشهيد العربي بن مهيدي - حي النصر\nشارع العقيد عميروش، حي الإخوة بوعزة، قرب مقر البلدية الجديدة\nالمكتب رقم 12";

fn voter() -> PhoneNumber {
    PhoneNumber::parse("0550123456").unwrap()
}

/// At most `max_attempts` tries; the test's clock jumps past each wait.
fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        ..RetryPolicy::default()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// One provider's lane of the outbox on a clock the test moves.
struct Lane {
    store: Arc<dyn Store>,
    dispatcher: Dispatcher,
    clock: Arc<AtomicI64>,
    provider: Provider,
}

impl Lane {
    fn new(
        store: Arc<dyn Store>,
        sender: Arc<dyn SmsSender>,
        segments_per_second: f64,
        retry: RetryPolicy,
    ) -> Self {
        let clock = Arc::new(AtomicI64::new(maktab::domain::now()));
        let now = Arc::clone(&clock);
        let provider = sender.provider();
        let dispatcher = Dispatcher::new(Arc::clone(&store), Arc::new(Catalog::load().unwrap()))
            .with_clock(Arc::new(move || now.load(Ordering::SeqCst)))
            .with_retry(retry)
            .with_lane(
                Channel::Sms,
                Some(provider.as_str()),
                true,
                Arc::new(SmsNotices::new(sender)),
                ChannelLimits {
                    per_second: segments_per_second,
                    per_recipient: None,
                },
            );
        Self {
            store,
            dispatcher,
            clock,
            provider,
        }
    }

    /// Puts a reply in the outbox, as a webhook does.
    async fn enqueue(&self, to: &PhoneNumber, text: &str, message: &str) -> i64 {
        let segments = u32::try_from(count_segments(text).segments).unwrap();
        self.store
            .enqueue_reply(
                &NewReply {
                    channel: Channel::Sms,
                    provider: Some(self.provider.as_str()),
                    recipient: to.as_str(),
                    locale: Locale::Ar,
                    body: text,
                    message,
                    segments,
                },
                self.clock.load(Ordering::SeqCst),
            )
            .await
            .unwrap()
    }

    /// Sends one reply through the lane: rounds run, the clock jumping past each retry's
    /// wait, until its record is final.
    async fn send(
        &self,
        to: &PhoneNumber,
        text: &str,
        message: &str,
    ) -> Result<OutboundSms, StoreError> {
        let id = self.enqueue(to, text, message).await;
        for _ in 0..20 {
            self.dispatcher.dispatch_once().await?;
            let record = self.store.outbound_sms(id).await?.unwrap();
            if record.status != DeliveryStatus::Pending {
                return Ok(record);
            }
            self.clock.fetch_add(3600, Ordering::SeqCst);
        }
        panic!("reply {id} still pending after 20 rounds");
    }
}

fn outbound(db: &TestDb, sender: Arc<dyn SmsSender>, retry: RetryPolicy) -> Lane {
    Lane::new(Arc::clone(&db.store), sender, 1000.0, retry)
}

fn twilio_sender(api: &FakeProvider) -> twilio::TwilioSender {
    let config = TwilioConfig {
        account_sid: Some("AC0123".to_owned()),
        auth_token: Some(Secret::new("token")),
        from: Some("+15005550006".to_owned()),
        api_url: api.base.clone(),
        ..TwilioConfig::default()
    };
    twilio::sender(&config, Some("https://maktab.example.dz"), &client()).unwrap()
}

#[tokio::test]
async fn twilio_accepts_and_its_sid_is_recorded() {
    let db = TestDb::empty().await;
    let api = FakeProvider::start(
        201,
        r#"{"sid":"SM9f0","status":"queued","num_segments":"2","error_code":null}"#,
    )
    .await;
    let outbound = outbound(&db, Arc::new(twilio_sender(&api)), quick_retries(3));
    let outcome = outbound
        .send(&voter(), LONG_ARABIC_REPLY, "lookup-found")
        .await
        .unwrap();
    assert_eq!(outcome.status, DeliveryStatus::Accepted);
    assert_eq!(outcome.provider_message_id.as_deref(), Some("SM9f0"));
    let request = &api.received()[0];
    assert_eq!(request.path, "/2010-04-01/Accounts/AC0123/Messages.json");
    assert_eq!(
        request.header("authorization").as_deref(),
        Some("Basic QUMwMTIzOnRva2Vu")
    );
    let form = request.form();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("To"), Some("+213550123456"));
    assert_eq!(get("From"), Some("+15005550006"));
    assert_eq!(
        get("Body"),
        Some(LONG_ARABIC_REPLY),
        "one message, Twilio concatenates"
    );
    assert_eq!(
        get("StatusCallback"),
        Some("https://maktab.example.dz/webhooks/sms/twilio/status")
    );
    let stored = db.store.outbound_sms(outcome.id).await.unwrap().unwrap();
    assert_eq!(stored.status, DeliveryStatus::Accepted);
    assert_eq!(stored.segments, 2);
    assert_eq!(stored.recipient, "+213550123456");
    assert_eq!(stored.message, "lookup-found");
    assert_eq!(stored.attempts, 1);
}

#[tokio::test]
async fn twilio_refusing_a_number_is_a_permanent_failure_recorded_with_its_reason() {
    let db = TestDb::empty().await;
    let api = FakeProvider::start(
        400,
        r#"{"code":21211,"message":"The 'To' number +213550123456 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#,
    )
    .await;
    let outbound = outbound(&db, Arc::new(twilio_sender(&api)), quick_retries(5));
    let outcome = outbound.send(&voter(), "Bureau 1", "notice").await.unwrap();
    assert_eq!(outcome.status, DeliveryStatus::Failed);
    assert_eq!(outcome.attempts, 1, "a 400 is not retried");
    let stored = db.store.outbound_sms(outcome.id).await.unwrap().unwrap();
    assert_eq!(stored.status, DeliveryStatus::Failed);
    assert!(stored.reason.unwrap().contains("21211"));
    assert_eq!(api.received().len(), 1);
}

#[tokio::test]
async fn twilio_rate_limit_and_server_errors_are_retried_until_accepted() {
    let db = TestDb::empty().await;
    let api = FakeProvider::start(201, r#"{"sid":"SM1","status":"queued"}"#).await;
    api.then(
        429,
        r#"{"code":20429,"message":"Too Many Requests","status":429}"#,
    )
    .then(503, "Service Unavailable");
    let outbound = outbound(&db, Arc::new(twilio_sender(&api)), quick_retries(5));
    let outcome = outbound.send(&voter(), "Bureau 1", "notice").await.unwrap();
    assert_eq!(outcome.status, DeliveryStatus::Accepted);
    assert_eq!(outcome.attempts, 3);
    assert_eq!(api.received().len(), 3);
}

fn infobip_sender(api: &FakeProvider) -> infobip::InfobipSender {
    let config = InfobipConfig {
        api_url: Some(api.base.clone()),
        api_key: Some(Secret::new("key")),
        from: Some("Maktab".to_owned()),
        ..InfobipConfig::default()
    };
    infobip::sender(&config, None, &client()).unwrap()
}

#[tokio::test]
async fn infobip_accepts_in_one_request_with_the_app_key() {
    let db = TestDb::empty().await;
    let api = FakeProvider::start(
        200,
        r#"{"bulkId":"2034072219640523072","messages":[{"to":"213550123456","status":{"groupId":1,"groupName":"PENDING","id":26,"name":"PENDING_ACCEPTED","description":"Message sent to next instance"},"messageId":"2250be2d4219-3af1-78856-aabe-1362af1edfd2"}]}"#,
    )
    .await;
    let outbound = outbound(&db, Arc::new(infobip_sender(&api)), quick_retries(3));
    let outcome = outbound
        .send(&voter(), ARABIC_REPLY, "lookup-found")
        .await
        .unwrap();
    assert_eq!(outcome.status, DeliveryStatus::Accepted);
    assert_eq!(
        outcome.provider_message_id.as_deref(),
        Some("2250be2d4219-3af1-78856-aabe-1362af1edfd2")
    );
    let request = &api.received()[0];
    assert_eq!(request.path, "/sms/2/text/advanced");
    assert_eq!(request.header("authorization").as_deref(), Some("App key"));
    let body = request.json();
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(body["messages"][0]["text"], ARABIC_REPLY);
    assert_eq!(body["messages"][0]["from"], "Maktab");
}

#[tokio::test]
async fn infobip_errors_are_told_apart() {
    let db = TestDb::empty().await;
    // 401 with Infobip's error body: permanent.
    let api = FakeProvider::start(
        401,
        r#"{"requestError":{"serviceException":{"messageId":"UNAUTHORIZED","text":"Invalid login details"}}}"#,
    )
    .await;
    let outbound_401 = outbound(&db, Arc::new(infobip_sender(&api)), quick_retries(4));
    let outcome = outbound_401.send(&voter(), "x", "notice").await.unwrap();
    assert_eq!(
        (outcome.status, outcome.attempts),
        (DeliveryStatus::Failed, 1)
    );
    assert!(outcome.reason.unwrap().contains("Invalid login details"));

    // 200 that rejects the destination: permanent.
    let api = FakeProvider::start(
        200,
        r#"{"messages":[{"to":"213550123456","status":{"groupId":5,"groupName":"REJECTED","id":52,"name":"REJECTED_DESTINATION","description":"Request rejected due to invalid destination address"},"messageId":"m1"}]}"#,
    )
    .await;
    let rejected = outbound(&db, Arc::new(infobip_sender(&api)), quick_retries(4));
    let outcome = rejected.send(&voter(), "x", "notice").await.unwrap();
    assert_eq!(outcome.status, DeliveryStatus::Failed);
    assert!(outcome.reason.unwrap().contains("invalid destination"));

    // 500 every time: retried, then recorded as failed.
    let api = FakeProvider::start(500, r#"{"requestError":{"serviceException":{"messageId":"GENERAL_ERROR","text":"Something went wrong"}}}"#).await;
    let down = outbound(&db, Arc::new(infobip_sender(&api)), quick_retries(3));
    let outcome = down.send(&voter(), "x", "notice").await.unwrap();
    assert_eq!(
        (outcome.status, outcome.attempts),
        (DeliveryStatus::Failed, 3)
    );
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .starts_with("gave up after 3 attempts")
    );
    assert_eq!(api.received().len(), 3);
    let stored = db.store.outbound_sms(outcome.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.attempts),
        (DeliveryStatus::Failed, 3)
    );
}

#[tokio::test]
async fn generic_requests_are_signed_and_its_errors_retried() {
    let db = TestDb::empty().await;
    let api = FakeProvider::start(202, "").await;
    api.then(502, "bad gateway");
    let config = GenericConfig {
        secret: Some(Secret::new("s3cret")),
        send_url: Some(format!("{}/sms/send", api.base)),
        from: Some("3030".to_owned()),
        ..GenericConfig::default()
    };
    let sender = generic::sender(&config, &client()).unwrap();
    let outbound = outbound(&db, Arc::new(sender), quick_retries(3));
    let outcome = outbound
        .send(&voter(), ARABIC_REPLY, "lookup-found")
        .await
        .unwrap();
    assert_eq!(
        (outcome.status, outcome.attempts),
        (DeliveryStatus::Accepted, 2)
    );
    assert_eq!(outcome.provider_message_id, Some(outcome.id.to_string()));
    let request = &api.received()[1];
    assert_eq!(request.path, "/sms/send");
    assert_eq!(
        request.header(generic::SIGNATURE_HEADER).unwrap(),
        generic::sign("s3cret", &request.body)
    );
    let body = request.json();
    assert_eq!(body["to"], "+213550123456");
    assert_eq!(body["text"], ARABIC_REPLY);
    assert_eq!(body["id"], outcome.id.to_string());

    let refusing = FakeProvider::start(422, r#"{"error":"blocked number"}"#).await;
    let config = GenericConfig {
        send_url: Some(refusing.base.clone()),
        ..config
    };
    let outbound_422 = self::outbound(
        &db,
        Arc::new(generic::sender(&config, &client()).unwrap()),
        quick_retries(3),
    );
    let outcome = outbound_422.send(&voter(), "x", "notice").await.unwrap();
    assert_eq!(
        (outcome.status, outcome.attempts),
        (DeliveryStatus::Failed, 1)
    );
    assert!(outcome.reason.unwrap().contains("blocked number"));
}

#[tokio::test]
async fn an_unreachable_provider_is_retried_then_recorded_as_failed() {
    let db = TestDb::empty().await;
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = GenericConfig {
        secret: Some(Secret::new("s")),
        send_url: Some(closed),
        ..GenericConfig::default()
    };
    let outbound = outbound(
        &db,
        Arc::new(generic::sender(&config, &client()).unwrap()),
        quick_retries(2),
    );
    let outcome = outbound.send(&voter(), "x", "notice").await.unwrap();
    assert_eq!(
        (outcome.status, outcome.attempts),
        (DeliveryStatus::Failed, 2)
    );
}

#[tokio::test]
async fn kannel_sendsms_gets_ucs2_for_arabic_and_a_delivery_report_url() {
    let db = TestDb::empty().await;
    let api = FakeProvider::start(202, "0: Accepted for delivery").await;
    let config = KannelConfig {
        secret: Some(Secret::new("dlr secret")),
        sendsms_url: Some(format!("{}/cgi-bin/sendsms", api.base)),
        sendsms_user: Some("maktab".to_owned()),
        sendsms_password: Some(Secret::new("pw")),
        from: Some("3030".to_owned()),
        ..KannelConfig::default()
    };
    let sender = kannel::sender(&config, Some("https://maktab.example.dz"), &client()).unwrap();
    let outbound = outbound(&db, Arc::new(sender), quick_retries(3));
    let outcome = outbound
        .send(&voter(), ARABIC_REPLY, "lookup-found")
        .await
        .unwrap();
    assert_eq!(outcome.status, DeliveryStatus::Accepted);
    assert_eq!(outcome.provider_message_id, Some(outcome.id.to_string()));
    let request = &api.received()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/cgi-bin/sendsms")
    );
    let query = request.query_pairs();
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("text").as_deref(), Some(ARABIC_REPLY));
    assert_eq!(get("coding").as_deref(), Some("2"));
    assert_eq!(get("charset").as_deref(), Some("UTF-8"));
    assert_eq!(get("to").as_deref(), Some("+213550123456"));
    assert_eq!(get("username").as_deref(), Some("maktab"));
    assert_eq!(get("dlr-mask").as_deref(), Some("31"));
    assert_eq!(
        get("dlr-url"),
        Some(format!(
            "https://maktab.example.dz/webhooks/sms/kannel/status?secret=dlr%20secret&ref={}&status=%d&reason=%A",
            outcome.id
        ))
    );

    // Plain French goes as GSM-7; a refusal ("Authorization failed") is permanent.
    api.then(403, "Authorization failed for sendsms");
    let outcome = outbound.send(&voter(), "Bureau 1", "notice").await.unwrap();
    assert_eq!(outcome.status, DeliveryStatus::Failed);
    let request = &api.received()[1];
    assert!(!request.query_pairs().iter().any(|(k, _)| k == "coding"));
}

/// A provider in memory: answers from a script and notes when it was called.
struct ScriptedSender {
    answers: Mutex<Vec<Result<Accepted, SendError>>>,
    calls: Mutex<Vec<Instant>>,
}

impl ScriptedSender {
    fn new(mut answers: Vec<Result<Accepted, SendError>>) -> Arc<Self> {
        answers.reverse();
        Arc::new(Self {
            answers: Mutex::new(answers),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> Vec<Instant> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl SmsSender for ScriptedSender {
    fn provider(&self) -> Provider {
        Provider::Generic
    }

    async fn send(&self, _sms: &OutgoingSms) -> Result<Accepted, SendError> {
        self.calls.lock().unwrap().push(Instant::now());
        self.answers.lock().unwrap().pop().unwrap_or_else(|| {
            Ok(Accepted {
                provider_message_id: "ok".to_owned(),
            })
        })
    }
}

fn temporary(retry_after: Option<u64>) -> Result<Accepted, SendError> {
    Err(SendError::Temporary {
        reason: "HTTP 503".to_owned(),
        retry_after: retry_after.map(Duration::from_secs),
    })
}

/// Seconds from the last try to the next one the outbox planned for a row.
async fn planned_wait(db: &TestDb, id: i64, now: i64) -> i64 {
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let next: i64 = sqlx::query_scalar("select next_attempt_at from outbox where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    next - now
}

#[tokio::test]
async fn backoff_doubles_between_tries_and_a_retry_after_is_honoured() {
    let db = TestDb::empty().await;
    let sender = ScriptedSender::new(vec![temporary(None), temporary(None), temporary(Some(70))]);
    let policy = RetryPolicy {
        max_attempts: 5,
        base: Duration::from_secs(10),
        cap: Duration::from_secs(600),
    };
    let lane = Lane::new(Arc::clone(&db.store), sender.clone(), 1000.0, policy);
    let id = lane.enqueue(&voter(), "x", "notice").await;
    let mut waits = Vec::new();
    for _ in 0..3 {
        let now = lane.clock.load(Ordering::SeqCst);
        lane.dispatcher.dispatch_once().await.unwrap();
        let wait = planned_wait(&db, id, now).await;
        waits.push(wait);
        // Not due before its time...
        lane.clock.store(now + wait - 1, Ordering::SeqCst);
        assert_eq!(lane.dispatcher.dispatch_once().await.unwrap(), 0);
        lane.clock.store(now + wait, Ordering::SeqCst);
    }
    lane.dispatcher.dispatch_once().await.unwrap();
    let record = db.store.outbound_sms(id).await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.attempts),
        (DeliveryStatus::Accepted, 4)
    );
    assert_eq!(sender.calls().len(), 4);
    // 10 s, then 20 s (each within the ±20% jitter), then the 70 s the provider asked for.
    assert!((8..=12).contains(&waits[0]), "{waits:?}");
    assert!((16..=24).contains(&waits[1]), "{waits:?}");
    assert_eq!(waits[2], 70, "{waits:?}");
}

#[tokio::test]
async fn a_permanent_failure_stops_at_once_and_temporary_ones_give_up_at_the_limit() {
    let db = TestDb::empty().await;
    let sender = ScriptedSender::new(vec![Err(SendError::Permanent("HTTP 400".to_owned()))]);
    let lane = Lane::new(
        Arc::clone(&db.store),
        sender.clone(),
        1000.0,
        quick_retries(3),
    );
    let record = lane.send(&voter(), "x", "notice").await.unwrap();
    assert_eq!(record.attempts, 1);
    assert_eq!(
        (record.status, record.reason.as_deref()),
        (DeliveryStatus::Failed, Some("HTTP 400"))
    );

    let sender = ScriptedSender::new(vec![temporary(None); 5]);
    let lane = Lane::new(
        Arc::clone(&db.store),
        sender.clone(),
        1000.0,
        quick_retries(3),
    );
    let record = lane.send(&voter(), "x", "notice").await.unwrap();
    assert_eq!(record.attempts, 3);
    assert_eq!(sender.calls().len(), 3);
    assert!(
        record
            .reason
            .unwrap()
            .starts_with("gave up after 3 attempts")
    );
}

#[tokio::test]
async fn the_lane_counts_segments_against_the_providers_rate() {
    let db = TestDb::empty().await;
    let sender = ScriptedSender::new(vec![]);
    // 4 segments per second, of which one is the burst: the bucket refills 3 a second. Each
    // message is 2 segments, so one message every two thirds of a second, and no second holds
    // more than 4 segments.
    let lane = Lane::new(Arc::clone(&db.store), sender.clone(), 4.0, quick_retries(3));
    let two_segments = "م".repeat(100);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(lane.enqueue(&voter(), &two_segments, "lookup-found").await);
    }
    while lane.dispatcher.dispatch_once().await.unwrap() > 0 {}
    for id in ids {
        let record = db.store.outbound_sms(id).await.unwrap().unwrap();
        assert_eq!(
            (record.status, record.segments),
            (DeliveryStatus::Accepted, 2)
        );
    }
    let calls = sender.calls();
    let offsets: Vec<u128> = calls
        .iter()
        .map(|t| ((*t - calls[0]).as_millis() + 50) / 100 * 100)
        .collect();
    // On the real clock: each within a tenth of a second of its slot.
    assert_eq!(offsets, [0, 700, 1300, 2000, 2700], "{offsets:?}");
}
