//! Lookups under concurrency (issue 18): 64 requests at once through the real generic SMS
//! webhook, on SQLite (whose writes go through the group commit, many requests to one
//! transaction) and on PostgreSQL (a message id and its lookup in one transaction). Each
//! message is a plain lookup, done in the same write as its id. The per-sender hourly limit lets
//! exactly the limit through, the per-NIN failure lock exactly its budget, a message id
//! delivered 64 times at once is answered once with one outbox row, and every found answer
//! is the found-voter reply.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use maktab::channels::sms::{SmsGateway, generic};
use maktab::config::{Config, Secret};
use maktab::conversation::{ConversationSettings, LookupOutcome};
use serde_json::json;

const PARALLEL: usize = 64;
const SECRET: &str = "concurrency-secret";

/// The real server over `db` with the generic webhook; its replies go to a fake
/// aggregator (through the outbox) when `send_url` is given, else in the response.
struct Server {
    base: String,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(db: &TestDb, send_url: Option<String>) -> Server {
    let mut config = Config::default();
    config.sms.generic.secret = Some(Secret::new(SECRET));
    config.sms.generic.from = Some("3030".to_owned());
    config.sms.generic.send_url = send_url;
    let gateway = SmsGateway::from_config(&config.sms).unwrap();
    let app = maktab::server::App::new(Arc::clone(&db.store), &config)
        .unwrap()
        .with_sms(gateway);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(maktab::server::serve(listener, None, app, async {
        let _ = stopped.await;
    }));
    Server {
        base,
        client: reqwest::Client::new(),
        stop: Some(stop),
    }
}

impl Server {
    /// Posts `(id, from, text)` messages all at once and returns each JSON answer.
    async fn post_all(&self, messages: Vec<(String, String, String)>) -> Vec<serde_json::Value> {
        let mut tasks = Vec::new();
        for (id, from, text) in messages {
            let body = json!({ "id": id, "from": from, "to": "3030", "text": text }).to_string();
            let request = self
                .client
                .post(format!("{}/webhooks/sms/generic", self.base))
                .header("content-type", "application/json")
                .header(
                    generic::SIGNATURE_HEADER,
                    generic::sign(SECRET, body.as_bytes()),
                )
                .body(body);
            tasks.push(tokio::spawn(async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.json::<serde_json::Value>().await.unwrap()
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }
}

/// The reply text of an answer given in the response.
fn reply_text(answer: &serde_json::Value) -> String {
    assert_eq!(answer["status"], "accepted", "{answer}");
    answer["replies"][0]["text"].as_str().unwrap().to_owned()
}

/// What the conversation core answers a fresh sender for `text` (digits only: in Arabic, as
/// the webhook's senders are), with its outcome: the reference the webhook's answers are
/// compared with.
async fn reference(db: &TestDb, sender: &str, text: &str) -> (Option<LookupOutcome>, String) {
    let handled = talk_now(db).sms(sender, text).await;
    (handled.outcome, handled.replies[0].text.clone())
}

/// The conversation core at the server's clock (the webhook's counters are in real time).
fn talk_now(db: &TestDb) -> Talk {
    let mut talk = db.talk();
    talk.now = maktab::domain::now();
    talk
}

fn right_date() -> String {
    format!("{NIN_MIXED} {BIRTH_MIXED}")
}

async fn sender_limit_is_exact(db: TestDb) {
    let limit =
        usize::try_from(ConversationSettings::default().max_lookups_per_sender_per_hour).unwrap();
    // Each request looks up a voter of its own, so that only the sender's limit is at play
    // (not the per-NIN reservation, which the NIN test measures).
    import_many_voters(&db).await;
    let server = serve(&db, None).await;
    let sender = "+213550100000";
    let answers = server
        .post_all(
            (0..PARALLEL)
                .map(|k| {
                    (
                        format!("limit-{k}"),
                        sender.to_owned(),
                        many_voters_lookup(k),
                    )
                })
                .collect(),
        )
        .await;
    let (outcome, found) = reference(&db, "+213550199999", &many_voters_lookup(0)).await;
    assert_eq!(outcome, Some(LookupOutcome::Found));
    assert!(found.starts_with("مركزك"), "{found}");
    let texts: Vec<String> = answers.iter().map(reply_text).collect();
    let let_through = texts.iter().filter(|t| **t == found).count();
    println!("{PARALLEL} lookups from one sender at once: {let_through} found (limit {limit})");
    assert_eq!(
        let_through, limit,
        "exactly the hourly limit is let through"
    );
    assert!(texts.iter().all(|t| !t.is_empty()));
    // The counter holds all 64: the sender is still refused now.
    let (outcome, _) = reference(&db, sender, &many_voters_lookup(1)).await;
    assert_eq!(outcome, Some(LookupOutcome::RateLimitedSender));
}

async fn nin_budget_is_exact(db: TestDb) {
    let budget =
        usize::try_from(ConversationSettings::default().max_failures_per_nin_per_day).unwrap();
    let server = serve(&db, None).await;
    let wrong = format!("{NIN_MIXED} 01/01/1901");
    let answers = server
        .post_all(
            (0..PARALLEL)
                .map(|k| {
                    (
                        format!("nin-{k}"),
                        format!("+21355020{k:04}"),
                        wrong.clone(),
                    )
                })
                .collect(),
        )
        .await;
    // The references, after the race: an unknown NIN's answer (what a wrong date gets too)
    // and a locked NIN's answer (the NIN is locked for the day now, even with its right date).
    let (outcome, not_found) = reference(
        &db,
        "+213550299998",
        &format!("{NIN_UNKNOWN} {BIRTH_MIXED}"),
    )
    .await;
    assert_eq!(outcome, Some(LookupOutcome::NotFound));
    let (outcome, locked) = reference(&db, "+213550299999", &right_date()).await;
    assert_eq!(outcome, Some(LookupOutcome::RateLimitedNin));
    assert_ne!(not_found, locked);
    let texts: Vec<String> = answers.iter().map(reply_text).collect();
    let counted = texts.iter().filter(|t| **t == not_found).count();
    let refused = texts.iter().filter(|t| **t == locked).count();
    println!(
        "{PARALLEL} wrong dates of one NIN at once: {counted} counted (budget {budget}), {refused} locked"
    );
    assert_eq!(counted, budget, "exactly the budget is let through");
    assert_eq!(refused, PARALLEL - budget);
}

async fn a_retried_message_is_answered_once(db: TestDb) {
    let aggregator = FakeProvider::start(200, r#"{"ok":true}"#).await;
    let server = serve(&db, Some(format!("{}/send", aggregator.base))).await;
    let sender = "+213550300000";
    let answers = server
        .post_all(
            (0..PARALLEL)
                .map(|_| ("same-id".to_owned(), sender.to_owned(), right_date()))
                .collect(),
        )
        .await;
    let accepted = answers.iter().filter(|a| a["status"] == "accepted").count();
    let duplicates = answers
        .iter()
        .filter(|a| **a == json!({ "status": "duplicate", "replies": [] }))
        .count();
    assert_eq!((accepted, duplicates), (1, PARALLEL - 1), "{answers:?}");
    let rows = db.store.outbound_sms_to(sender, 100).await.unwrap();
    assert_eq!(rows.len(), 1, "exactly one outbox row");
    // And it is the found-voter reply, sent once.
    let sent = aggregator.wait_for(1).await;
    assert!(
        sent[0].json()["text"]
            .as_str()
            .unwrap()
            .starts_with("مركزك")
    );
    // The one lookup counted once against its sender: nine more are let through this hour.
    let talk = talk_now(&db);
    for _ in 0..9 {
        let handled = talk.sms(sender, &right_date()).await;
        assert_eq!(handled.outcome, Some(LookupOutcome::Found));
    }
    let handled = talk.sms(sender, &right_date()).await;
    assert_eq!(handled.outcome, Some(LookupOutcome::RateLimitedSender));
}

/// A roll of [`PARALLEL`] voters in one station (on top of the fixture map): each request
/// of the found test looks up its own voter, as on election day. (Lookups of one NIN at once
/// each reserve an attempt of its failure budget before the voter is read, so that many at
/// once are refused until the found ones give theirs back: that is the lock doing its work.)
fn many_voters_nin(k: usize) -> String {
    format!("3000000000000000{k:02}")
}

/// Imports the fixture map and a roll of [`PARALLEL`] voters in its first station.
async fn import_many_voters(db: &TestDb) {
    db.import_map(MAP_CSV).await.unwrap();
    let mut roll = String::from("nin,birth_date,sex,commune_code,centre_code,station\n");
    for k in 0..PARALLEL {
        roll.push_str(&format!("{},1990-03-15,M,1601,C01,1\n", many_voters_nin(k)));
    }
    db.import_roll(&roll).await.unwrap();
}

/// Voter `k`'s lookup message.
fn many_voters_lookup(k: usize) -> String {
    format!("{} {BIRTH_MIXED}", many_voters_nin(k))
}

async fn every_found_answer_is_the_found_reply(db: TestDb) {
    import_many_voters(&db).await;
    let server = serve(&db, None).await;
    let answers = server
        .post_all(
            (0..PARALLEL)
                .map(|k| {
                    (
                        format!("found-{k}"),
                        format!("+21355040{k:04}"),
                        many_voters_lookup(k),
                    )
                })
                .collect(),
        )
        .await;
    let (outcome, found) = reference(&db, "+213550499999", &many_voters_lookup(0)).await;
    assert_eq!(outcome, Some(LookupOutcome::Found));
    assert!(found.starts_with("مركزك"), "{found}");
    for answer in &answers {
        assert_eq!(reply_text(answer), found);
    }
    // Each phone number is subscribed to its voter's station, once.
    for k in [0, 7, PARALLEL - 1] {
        let subscribed = db
            .store
            .subscriptions(maktab::domain::Channel::Sms, &format!("+21355040{k:04}"))
            .await
            .unwrap();
        assert_eq!(subscribed.len(), 1);
        assert_eq!(subscribed[0].as_str(), many_voters_nin(k));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_lookups_of_one_sender_let_exactly_the_hourly_limit_through_on_sqlite() {
    sender_limit_is_exact(TestDb::empty().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_wrong_dates_of_one_nin_let_exactly_the_budget_through_on_sqlite() {
    nin_budget_is_exact(TestDb::with_roll().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_message_delivered_sixty_four_times_at_once_is_answered_once_on_sqlite() {
    a_retried_message_is_answered_once(TestDb::with_roll().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_lookups_at_once_all_get_the_found_voter_reply_on_sqlite() {
    every_found_answer_is_the_found_reply(TestDb::empty().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn sixty_four_lookups_of_one_sender_let_exactly_the_hourly_limit_through_on_postgres() {
    let (db, _database) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    sender_limit_is_exact(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn sixty_four_wrong_dates_of_one_nin_let_exactly_the_budget_through_on_postgres() {
    let (db, _database) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    nin_budget_is_exact(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn one_message_delivered_sixty_four_times_at_once_is_answered_once_on_postgres() {
    let (db, _database) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    a_retried_message_is_answered_once(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn sixty_four_lookups_at_once_all_get_the_found_voter_reply_on_postgres() {
    let (db, _database) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    every_found_answer_is_the_found_reply(db).await;
}
