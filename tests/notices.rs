//! Change sets and notices end to end on the real SQLite store: a re-import yields exactly the
//! voters it moves; approval tells exactly their subscribers, through the dispatcher, at the
//! channel's rate, with retries, opt-outs, unreachable recipients and crash recovery.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use maktab::domain::{Channel, Locale, NationalId};
use maktab::i18n::Catalog;
use maktab::notices::{ChannelLimits, Dispatcher, NoticeSender, SendOutcome};
use maktab::store::{CampaignStatus, ChangeSetStatus, SenderState, VoterChangeKind};

/// A channel that records what it is asked to send and answers as scripted.
#[derive(Default)]
struct FakeChannel {
    sent: Mutex<Vec<(String, String, tokio::time::Instant)>>,
    script: Mutex<HashMap<String, VecDeque<SendOutcome>>>,
}

impl FakeChannel {
    fn answer(&self, recipient: &str, outcomes: Vec<SendOutcome>) {
        self.script
            .lock()
            .unwrap()
            .insert(recipient.to_owned(), outcomes.into());
    }

    fn recipients(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|(r, _, _)| r.clone())
            .collect()
    }
}

#[async_trait]
impl NoticeSender for FakeChannel {
    async fn send(&self, message: &maktab::store::Notice) -> SendOutcome {
        let (recipient, body) = (&message.recipient, &message.body);
        let scripted = self
            .script
            .lock()
            .unwrap()
            .get_mut(recipient.as_str())
            .and_then(VecDeque::pop_front);
        let outcome = scripted.unwrap_or(SendOutcome::Sent { provider_id: None });
        if matches!(outcome, SendOutcome::Sent { .. }) {
            self.sent.lock().unwrap().push((
                recipient.clone(),
                body.clone(),
                tokio::time::Instant::now(),
            ));
        }
        outcome
    }
}

const STATIONS: u64 = 130;
const VOTERS: u64 = 50_000;

fn nin(i: u64) -> String {
    format!("{:018}", 700_000_000_000_000_000 + i * 7919)
}

fn big_map() -> String {
    let mut csv = String::from(
        "commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,station\n",
    );
    for station in 0..STATIONS {
        let centre = station / 10;
        let _ = writeln!(
            csv,
            "1601,الجزائر الوسطى,Alger Centre,C{centre:02},مدرسة {centre},Ecole {centre},شارع {centre},Rue {centre},{}",
            station % 10 + 1
        );
    }
    csv
}

/// Voter `i` sits in station `i % STATIONS`; `moved` voters sit 100 stations further on.
fn big_roll(moved: &HashSet<u64>) -> String {
    let mut csv = String::from("nin,birth_date,commune_code,centre_code,station\n");
    for i in 0..VOTERS {
        let station = if moved.contains(&i) {
            (i + 100) % STATIONS
        } else {
            i % STATIONS
        };
        let _ = writeln!(
            csv,
            "{},1980-01-01,1601,C{:02},{}",
            nin(i),
            station / 10,
            station % 10 + 1
        );
    }
    csv
}

async fn drain(dispatcher: &Dispatcher) {
    for _ in 0..1000 {
        if dispatcher.dispatch_once().await.unwrap() == 0 {
            return;
        }
    }
    panic!("the outbox did not drain");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reimport_moving_1000_of_50000_voters_yields_exactly_them_and_only_their_subscribers_are_told()
 {
    let db = TestDb::empty().await;
    db.import_map(&big_map()).await.unwrap();
    db.import_roll(&big_roll(&HashSet::new())).await.unwrap();
    // Voters in stations 0..10 move: every 13th voter from the first 13,000.
    let moved: HashSet<u64> = (0..13_000).filter(|i| i % 13 == 0).take(1000).collect();
    assert_eq!(moved.len(), 1000);
    // Subscribers: 300 moved voters over SMS (one opted out), 50 over Telegram, and 200
    // voters who do not move.
    let store = &db.store;
    let moved_list: Vec<u64> = {
        let mut v: Vec<u64> = moved.iter().copied().collect();
        v.sort();
        v
    };
    for (k, i) in moved_list.iter().take(300).enumerate() {
        store
            .add_subscription(
                Channel::Sms,
                &format!("+2135500{k:05}"),
                &NationalId::parse(&nin(*i)).unwrap(),
                START,
            )
            .await
            .unwrap();
    }
    for (k, i) in moved_list.iter().skip(300).take(50).enumerate() {
        store
            .add_subscription(
                Channel::Telegram,
                &format!("{}", 9000 + k),
                &NationalId::parse(&nin(*i)).unwrap(),
                START,
            )
            .await
            .unwrap();
    }
    for k in 0..200u64 {
        let i = 20_000 + k;
        assert!(!moved.contains(&i));
        store
            .add_subscription(
                Channel::Sms,
                &format!("+2136600{k:05}"),
                &NationalId::parse(&nin(i)).unwrap(),
                START,
            )
            .await
            .unwrap();
    }
    let opted_out = "+213550000007";
    store
        .save_sender_state(
            Channel::Sms,
            opted_out,
            &SenderState {
                notices_opt_out: true,
                locale: Some(Locale::Fr),
                ..SenderState::default()
            },
            START,
        )
        .await
        .unwrap();

    let outcome = db.import_roll(&big_roll(&moved)).await.unwrap();
    let record = outcome.record.unwrap();
    assert!(record.pending);
    let change_set = store
        .change_set(record.change_set.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(change_set.status, ChangeSetStatus::Pending);
    assert_eq!(change_set.summary["voters_moved"], 1000);
    assert_eq!(change_set.summary["voters_added"], 0);
    assert_eq!(change_set.summary["voters_removed"], 0);
    let changes = store.voter_changes(change_set.id, 5000, 0).await.unwrap();
    assert_eq!(changes.len(), 1000);
    let changed: HashSet<String> = changes.iter().map(|c| c.nin.as_str().to_owned()).collect();
    let expected: HashSet<String> = moved.iter().map(|i| nin(*i)).collect();
    assert_eq!(changed, expected, "exactly the moved voters");
    assert!(
        changes
            .iter()
            .all(|c| c.change == VoterChangeKind::Moved && c.old.is_some() && c.new.is_some())
    );

    let (campaign, notices) = db.approve_pending().await[0];
    assert_eq!(
        notices,
        299 + 50,
        "subscribers of moved voters, minus the one who opted out"
    );
    let sms = Arc::new(FakeChannel::default());
    let telegram = Arc::new(FakeChannel::default());
    let catalog = Arc::new(Catalog::load().unwrap());
    let dispatcher = Dispatcher::new(Arc::clone(&db.store), catalog)
        .with_channel(
            Channel::Sms,
            sms.clone(),
            ChannelLimits {
                per_second: 10_000.0,
                per_recipient: None,
            },
        )
        .with_channel(
            Channel::Telegram,
            telegram.clone(),
            ChannelLimits {
                per_second: 10_000.0,
                per_recipient: Some(Duration::from_secs(1)),
            },
        );
    drain(&dispatcher).await;
    let sms_recipients = sms.recipients();
    let unique: HashSet<&String> = sms_recipients.iter().collect();
    assert_eq!(sms_recipients.len(), 299, "each SMS subscriber once");
    assert_eq!(unique.len(), 299);
    assert!(!unique.contains(&opted_out.to_owned()));
    assert!(
        sms_recipients.iter().all(|r| r.starts_with("+2135500")),
        "no subscriber of an unmoved voter"
    );
    assert_eq!(telegram.recipients().len(), 50);
    let body = sms.sent.lock().unwrap()[0].1.clone();
    assert!(body.starts_with("تغيير مكتبك: مدرسة "), "{body}");
    let progress = store.campaign_progress(campaign).await.unwrap();
    assert_eq!(progress, BTreeMap::from([("sent".to_owned(), 349)]));
    assert_eq!(
        store.campaign(campaign).await.unwrap().unwrap().status,
        CampaignStatus::Done
    );
    // And the lookups now answer from the new version.
    let talk = db.talk();
    let first_moved = moved_list[0];
    let text = talk
        .text("+213770000001", &format!("{} 01/01/1980", nin(first_moved)))
        .await;
    let station = (first_moved + 100) % STATIONS;
    assert!(
        text.contains(&format!("المكتب رقم {}", station % 10 + 1)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rejecting_a_change_set_discards_it_and_a_stale_one_cannot_be_approved() {
    let db = TestDb::with_roll().await;
    let moved = ROLL_CSV.replace("1601,C01,1", "1601,C02,2");
    let record = db.import_roll(&moved).await.unwrap().record.unwrap();
    let id = record.change_set.unwrap();
    let operator = maktab::office::Principal::command_line();
    office(&db.store).reject(&operator, id).await.unwrap();
    assert_eq!(
        db.store.change_set(id).await.unwrap().unwrap().status,
        ChangeSetStatus::Rejected
    );
    let text = db
        .talk()
        .text("+213550000001", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert!(text.contains("المكتب رقم 1"), "unchanged: {text}");
    let second = db.import_roll(&moved).await.unwrap().record.unwrap();
    assert!(second.pending, "a new import is possible again");
    let again = office(&db.store).approve(&operator, id).await;
    assert!(again.is_err(), "a rejected change set stays rejected");
    // Two-person rule: the importer cannot approve its own change set.
    let two_persons = office_with(&db.store, true);
    let own = two_persons
        .approve(
            &maktab::office::Principal {
                name: "test".to_owned(),
                ..operator.clone()
            },
            second.change_set.unwrap(),
        )
        .await;
    assert!(
        matches!(own, Err(maktab::office::OfficeError::Forbidden(_))),
        "{own:?}"
    );
    two_persons
        .approve(&operator, second.change_set.unwrap())
        .await
        .unwrap();
}

async fn one_notice_campaign(db: &TestDb, recipients: &[(Channel, &str)]) -> i64 {
    db.import_roll(&ROLL_CSV.replace("1601,C01,1", "1601,C02,2"))
        .await
        .unwrap();
    for (channel, recipient) in recipients {
        db.store
            .add_subscription(
                *channel,
                recipient,
                &NationalId::parse(NIN_MIXED).unwrap(),
                START,
            )
            .await
            .unwrap();
    }
    db.approve_pending().await[0].0
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dispatcher_retries_after_a_429_and_stops_for_an_unreachable_recipient() {
    let db = TestDb::with_roll().await;
    let campaign = one_notice_campaign(
        &db,
        &[
            (Channel::Telegram, "111"),
            (Channel::Telegram, "222"),
            (Channel::Telegram, "333"),
        ],
    )
    .await;
    let telegram = Arc::new(FakeChannel::default());
    telegram.answer("111", vec![SendOutcome::RetryAfter(Duration::from_secs(3))]);
    telegram.answer(
        "222",
        vec![SendOutcome::Permanent {
            error: "Forbidden: bot was blocked by the user".into(),
            unreachable: true,
        }],
    );
    telegram.answer(
        "333",
        vec![
            SendOutcome::Temporary("timeout".into()),
            SendOutcome::Temporary("502".into()),
        ],
    );
    let clock = Arc::new(Mutex::new(maktab::domain::now() + 10));
    let now = {
        let clock = Arc::clone(&clock);
        Arc::new(move || *clock.lock().unwrap())
    };
    let dispatcher = Dispatcher::new(Arc::clone(&db.store), Arc::new(Catalog::load().unwrap()))
        .with_channel(Channel::Telegram, telegram.clone(), ChannelLimits::TELEGRAM)
        .with_clock(now);
    dispatcher.dispatch_once().await.unwrap();
    assert!(telegram.recipients().is_empty());
    let progress = db.store.campaign_progress(campaign).await.unwrap();
    assert_eq!(progress.get("failed"), Some(&1), "{progress:?}");
    assert_eq!(progress.get("pending"), Some(&2));
    // Real pauses clear Telegram's one-second spacing per chat; the test clock moves the
    // outbox's schedule.
    let advance = |seconds: i64| {
        let clock = Arc::clone(&clock);
        async move {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            *clock.lock().unwrap() += seconds;
        }
    };
    advance(1).await;
    dispatcher.dispatch_once().await.unwrap();
    assert!(
        !telegram.recipients().contains(&"111".to_owned()),
        "not before retry_after"
    );
    advance(3).await;
    dispatcher.dispatch_once().await.unwrap();
    assert!(
        telegram.recipients().contains(&"111".to_owned()),
        "retried after 3 s"
    );
    advance(60).await;
    dispatcher.dispatch_once().await.unwrap();
    let mut recipients = telegram.recipients();
    recipients.sort();
    assert_eq!(
        recipients,
        ["111", "333"],
        "333 after two temporary failures"
    );
    let state = db
        .store
        .sender_state(Channel::Telegram, "222", START)
        .await
        .unwrap();
    assert!(state.notices_opt_out, "the blocked chat gets nothing more");
    assert_eq!(
        db.store.campaign(campaign).await.unwrap().unwrap().status,
        CampaignStatus::Done
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_held_by_a_dead_dispatcher_are_sent_by_another_once_the_lease_ends() {
    let db = TestDb::with_roll().await;
    let campaign = one_notice_campaign(
        &db,
        &[
            (Channel::Sms, "+213550000001"),
            (Channel::Sms, "+213550000002"),
        ],
    )
    .await;
    // A dispatcher claims both rows and dies before sending.
    let now = maktab::domain::now();
    let held = db
        .store
        .claim_notices(Channel::Sms, now, 120, 10)
        .await
        .unwrap();
    assert_eq!(held.len(), 2);
    let sms = Arc::new(FakeChannel::default());
    let survivor = |at: i64| {
        Dispatcher::new(Arc::clone(&db.store), Arc::new(Catalog::load().unwrap()))
            .with_channel(
                Channel::Sms,
                sms.clone(),
                ChannelLimits {
                    per_second: 100.0,
                    per_recipient: None,
                },
            )
            .with_clock(Arc::new(move || at))
    };
    assert_eq!(
        survivor(now + 60).dispatch_once().await.unwrap(),
        0,
        "the lease still holds"
    );
    assert_eq!(survivor(now + 121).dispatch_once().await.unwrap(), 2);
    let mut recipients = sms.recipients();
    recipients.sort();
    assert_eq!(recipients, ["+213550000001", "+213550000002"]);
    assert_eq!(
        db.store.campaign_progress(campaign).await.unwrap(),
        BTreeMap::from([("sent".to_owned(), 2)])
    );
}

/// Real time, kept short: the token bucket itself is tested under a paused clock in
/// `notices::rate`; this checks the dispatcher feeds it.
#[tokio::test(flavor = "multi_thread")]
async fn the_dispatcher_holds_telegrams_thirty_per_second() {
    let db = TestDb::with_roll().await;
    let chats: Vec<String> = (0..75).map(|k| format!("{}", 5000 + k)).collect();
    let recipients: Vec<(Channel, &str)> = chats
        .iter()
        .map(|c| (Channel::Telegram, c.as_str()))
        .collect();
    one_notice_campaign(&db, &recipients).await;
    let telegram = Arc::new(FakeChannel::default());
    let dispatcher = Dispatcher::new(Arc::clone(&db.store), Arc::new(Catalog::load().unwrap()))
        .with_channel(Channel::Telegram, telegram.clone(), ChannelLimits::TELEGRAM);
    drain(&dispatcher).await;
    let sent = telegram.sent.lock().unwrap();
    assert_eq!(sent.len(), 75);
    let start = sent[0].2;
    let mut per_second: BTreeMap<u64, u32> = BTreeMap::new();
    for (_, _, at) in sent.iter() {
        *per_second
            .entry(at.duration_since(start).as_secs())
            .or_insert(0) += 1;
    }
    assert!(per_second.values().all(|n| *n <= 31), "{per_second:?}");
    let elapsed = sent.last().unwrap().2.duration_since(start).as_secs_f64();
    assert!(
        elapsed >= 2.4,
        "75 messages at 30/s need about 2.5 s, took {elapsed}"
    );
}

/// A provider on loopback that enforces a rate like a real aggregator: more than `limit`
/// requests within one second get 429 with `Retry-After: 1`.
struct RateLimitedProvider {
    base: String,
    accepted: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
    refused: Arc<Mutex<Vec<std::time::Instant>>>,
}

impl RateLimitedProvider {
    async fn start(limit: usize) -> Self {
        let accepted: Arc<Mutex<Vec<(String, std::time::Instant)>>> = Arc::default();
        let refused: Arc<Mutex<Vec<std::time::Instant>>> = Arc::default();
        let window: Arc<Mutex<VecDeque<std::time::Instant>>> = Arc::default();
        let (a, r) = (Arc::clone(&accepted), Arc::clone(&refused));
        let app = axum::Router::new().route(
            "/sms/send",
            axum::routing::post(move |body: axum::body::Bytes| {
                let (accepted, refused, window) =
                    (Arc::clone(&a), Arc::clone(&r), Arc::clone(&window));
                async move {
                    let now = std::time::Instant::now();
                    let mut window = window.lock().unwrap();
                    while window
                        .front()
                        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
                    {
                        window.pop_front();
                    }
                    if window.len() >= limit {
                        refused.lock().unwrap().push(now);
                        return (
                            axum::http::StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", "1")],
                            String::new(),
                        );
                    }
                    window.push_back(now);
                    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    accepted
                        .lock()
                        .unwrap()
                        .push((json["to"].as_str().unwrap().to_owned(), now));
                    (
                        axum::http::StatusCode::ACCEPTED,
                        [("retry-after", "0")],
                        String::new(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base,
            accepted,
            refused,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_10000_recipient_sms_broadcast_reaches_everyone_once_without_429_at_steady_state() {
    const RECIPIENTS: usize = 10_000;
    let db = TestDb::with_roll().await;
    let nin = NationalId::parse(NIN_MIXED).unwrap();
    for k in 0..RECIPIENTS {
        db.store
            .add_subscription(Channel::Sms, &format!("+2135{k:08}"), &nin, START)
            .await
            .unwrap();
    }
    let provider = RateLimitedProvider::start(1000).await;
    let sms = maktab::config::SmsConfig {
        generic: maktab::config::GenericConfig {
            secret: Some(maktab::config::Secret::new("s3cret")),
            send_url: Some(format!("{}/sms/send", provider.base)),
            // Configured a little under the provider's limit, as an operator would.
            segments_per_second: 900.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let gateway = maktab::channels::sms::SmsGateway::from_config(&sms).unwrap();
    let (notices, limits) =
        maktab::channels::sms::lane::SmsNotices::from_gateway(&gateway).unwrap();
    assert_eq!(limits.per_second, 900.0);
    let operator = maktab::office::Principal::command_line();
    let audience = maktab::store::Audience {
        commune: maktab::domain::CommuneCode::parse("1601").unwrap(),
        centre: None,
        station: None,
        reporters: false,
    };
    let draft = office(&db.store)
        .create_broadcast(
            &operator,
            &audience,
            "تذكير: الاقتراع يوم الخميس",
            "Rappel : le vote a lieu jeudi",
        )
        .await
        .unwrap();
    let (campaign, preview) = (draft.campaign, draft.preview);
    assert_eq!(preview.recipients.get("sms"), Some(&(RECIPIENTS as u64)));
    assert_eq!(preview.sms_segments, RECIPIENTS as u64);
    assert_eq!(
        office(&db.store)
            .confirm_broadcast(&operator, campaign)
            .await
            .unwrap(),
        RECIPIENTS as u64
    );

    let dispatcher = Dispatcher::new(Arc::clone(&db.store), Arc::new(Catalog::load().unwrap()))
        .with_channel(Channel::Sms, Arc::new(notices), limits)
        .with_batch(500, 64);
    let started = std::time::Instant::now();
    while db.store.campaign(campaign).await.unwrap().unwrap().status != CampaignStatus::Done {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the campaign did not finish"
        );
        if dispatcher.dispatch_once().await.unwrap() == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let accepted = provider.accepted.lock().unwrap().clone();
    let mut per_recipient: HashMap<&str, u32> = HashMap::new();
    for (to, _) in &accepted {
        *per_recipient.entry(to.as_str()).or_insert(0) += 1;
    }
    assert_eq!(per_recipient.len(), RECIPIENTS, "everyone reached");
    assert!(per_recipient.values().all(|n| *n == 1), "nobody twice");
    let first = accepted.iter().map(|(_, t)| *t).min().unwrap();
    let steady_refusals = provider
        .refused
        .lock()
        .unwrap()
        .iter()
        .filter(|t| t.duration_since(first) > Duration::from_secs(1))
        .count();
    assert_eq!(steady_refusals, 0, "no 429 once sending is under way");
    let elapsed = accepted
        .iter()
        .map(|(_, t)| t.duration_since(first))
        .max()
        .unwrap()
        .as_secs_f64();
    println!(
        "10,000 SMS in {elapsed:.1} s: {:.0}/s for 900 configured",
        RECIPIENTS as f64 / elapsed
    );
    assert_eq!(
        db.store.campaign_progress(campaign).await.unwrap(),
        BTreeMap::from([("sent".to_owned(), RECIPIENTS as u64)])
    );
    // A delivery report for one of them shows in the campaign's progress.
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let provider_id: String =
        sqlx::query_scalar("select provider_message_id from outbox where campaign_id = ? limit 1")
            .bind(campaign)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        db.store
            .record_delivery_report(
                "generic",
                &provider_id,
                maktab::store::DeliveryStatus::Delivered,
                None,
                maktab::domain::now()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        db.store.campaign_progress(campaign).await.unwrap(),
        BTreeMap::from([
            ("delivered".to_owned(), 1),
            ("sent".to_owned(), RECIPIENTS as u64 - 1)
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_dispatcher_per_channel_holds_the_lock_and_another_takes_over_when_it_expires() {
    let db = TestDb::with_roll().await;
    let chats: Vec<String> = (0..20).map(|k| format!("{}", 7000 + k)).collect();
    let recipients: Vec<(Channel, &str)> =
        chats.iter().map(|c| (Channel::Sms, c.as_str())).collect();
    let campaign = one_notice_campaign(&db, &recipients).await;
    let now = maktab::domain::now();
    let (a, b) = (
        Arc::new(FakeChannel::default()),
        Arc::new(FakeChannel::default()),
    );
    let dispatcher = |channel: Arc<FakeChannel>, at: i64| {
        Dispatcher::new(Arc::clone(&db.store), Arc::new(Catalog::load().unwrap()))
            .with_channel(
                Channel::Sms,
                channel,
                ChannelLimits {
                    per_second: 1000.0,
                    per_recipient: None,
                },
            )
            .with_batch(5, 5)
            .with_clock(Arc::new(move || at))
    };
    let first = dispatcher(a.clone(), now);
    assert_eq!(first.dispatch_once().await.unwrap(), 5);
    let second = dispatcher(b.clone(), now + 5);
    assert_eq!(
        second.dispatch_once().await.unwrap(),
        0,
        "the channel is locked by the first"
    );
    // The first dies; once its lock expires the second takes the channel over.
    let second_later = dispatcher(b.clone(), now + 16);
    drain(&second_later).await;
    assert_eq!(a.recipients().len(), 5);
    assert_eq!(b.recipients().len(), 15);
    assert_eq!(
        db.store.campaign(campaign).await.unwrap().unwrap().status,
        CampaignStatus::Done
    );
}
