//! The integration scenarios that matter most, on PostgreSQL: lookups, the all-or-nothing
//! roll import through `COPY`, the carry-over of communes a file does not cover, and the
//! abuse limits, dialogues and idempotency holding across two instances (two stores with
//! their own pools) on one database. Ignored unless asked for (`cargo test --
//! --include-ignored`, as CI does), and then `MAKTAB_TEST_POSTGRES_URL` must name a server;
//! SQLite runs the same scenarios in `import.rs` and `conversation.rs`.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use maktab::conversation::{ConversationSettings, LookupOutcome};
use maktab::i18n::MessageId;
use maktab::roll::{ImportError, ImportOptions};
use maktab::store::{ImportKind, RollBatch};
use sqlx::Row;

fn roll(rows: &[&str]) -> String {
    let mut csv = String::from("nin,birth_date,sex,commune_code,centre_code,station\n");
    for row in rows {
        csv.push_str(row);
        csv.push('\n');
    }
    csv
}

async fn raw_count(db: &TestDb, sql: &'static str) -> i64 {
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let count = sqlx::query(sql)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get::<i64, _>(0);
    pool.close().await;
    count
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn a_voter_is_found_in_both_languages_and_a_wrong_birth_date_is_not_found() {
    let (db, _pg) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let talk = db.talk();
    let french = talk
        .text(
            "+213550000001",
            &format!("mon NIN {NIN_MIXED} né le {BIRTH_MIXED}"),
        )
        .await;
    assert!(
        french.contains("Ecole Emir Abdelkader") && french.contains("Bureau de vote 1"),
        "{french}"
    );
    let arabic = talk
        .text(
            "+213550000002",
            &format!("رقمي {NIN_WOMEN} وتاريخ ميلادي {BIRTH_WOMEN}"),
        )
        .await;
    assert!(arabic.contains("مدرسة الأمير عبد القادر"), "{arabic}");
    let wrong = talk
        .sms("+213550000003", &format!("{NIN_MIXED} 16/03/1990"))
        .await;
    assert_eq!(wrong.outcome, Some(LookupOutcome::VerificationFailed));
    let unknown = talk
        .sms("+213550000004", &format!("{NIN_UNKNOWN} 16/03/1990"))
        .await;
    assert_eq!(unknown.outcome, Some(LookupOutcome::NotFound));
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn a_rejected_import_leaves_the_previous_roll_answerable_and_the_database_unchanged() {
    let (db, _pg) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let before_versions = db.store.imports(10).await.unwrap();
    let before_rows = raw_count(&db, "select count(*) from roll_voters").await;
    let before_imports = raw_count(&db, "select count(*) from imports").await;
    // Several batches are copied into the open transaction before the error at the end.
    let mut rows: Vec<String> = (0..30_000u64)
        .map(|i| {
            format!(
                "{:018},1980-01-01,F,1601,C02,{}",
                400_000_000_000_000_000u64 + i,
                1 + i % 2
            )
        })
        .collect();
    rows.push("not-a-nin,1980-01-01,F,1601,C02,1".to_owned());
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let options = ImportOptions {
        max_voters_per_station: 100_000,
        ..options(false)
    };
    let outcome = db.import_roll_with(&roll(&rows), &options).await;
    let Err(ImportError::Rejected(report)) = outcome else {
        panic!("expected a rejection, got {outcome:?}");
    };
    assert_eq!(report.errors[0].line, Some(30_002));

    assert_eq!(db.store.imports(10).await.unwrap(), before_versions);
    assert_eq!(
        raw_count(&db, "select count(*) from roll_voters").await,
        before_rows
    );
    assert_eq!(
        raw_count(&db, "select count(*) from imports").await,
        before_imports,
        "the rolled-back transaction left no staging import behind"
    );
    let handled = db
        .talk()
        .sms("+213550000001", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert_eq!(handled.outcome, Some(LookupOutcome::Found));
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn a_large_valid_roll_is_copied_and_only_the_rows_answered_from_are_kept() {
    let (db, _pg) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let mut rows: Vec<String> = (0..25_000u64)
        .map(|i| {
            format!(
                "{:018},1980-01-01,F,1601,C02,{}",
                400_000_000_000_000_000u64 + i,
                1 + i % 2
            )
        })
        .collect();
    rows.push(ROLL_CSV.lines().nth(1).unwrap().to_owned());
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let options = ImportOptions {
        max_voters_per_station: 100_000,
        ..options(false)
    };
    let record = db
        .import_roll_with(&roll(&rows), &options)
        .await
        .unwrap()
        .record
        .unwrap();
    assert_eq!(record.counts.voters, 25_001);
    // A roll replacing another waits for its change set to be approved.
    assert!(record.pending);
    assert_eq!(db.approve_pending().await.len(), 1);
    let found = db
        .store
        .find_voter(&maktab::domain::NationalId::parse("400000000000024999").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.birth_date.to_iso(), "1980-01-01");
    db.import_roll(ROLL_CSV).await.unwrap();
    db.approve_pending().await;
    // The commune answers from the last import; no slice reads the earlier ones' rows.
    assert_eq!(
        raw_count(&db, "select count(distinct roll_version) from roll_voters").await,
        1
    );
    assert_eq!(raw_count(&db, "select count(*) from roll_voters").await, 3);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn an_import_replaces_only_the_communes_in_the_file_and_keeps_the_others() {
    let (db, _pg) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let oran = "3101,وهران,Oran,C01,ثانوية الحياة,Lycée El Hayat,7 شارع العربي بن مهيدي,7 Rue Larbi Ben M'hidi,35.6971,-0.6308,1,mixed";
    db.import_map(&format!("{MAP_CSV}{oran}\n")).await.unwrap();
    db.import_roll(&format!(
        "{ROLL_CSV}333333333333333333,1999-09-09,F,3101,C01,1\n"
    ))
    .await
    .unwrap();
    let oran_only = roll(&["109870123456789012,1990-03-15,M,3101,C01,1"]);
    let record = db.import_roll(&oran_only).await.unwrap().record.unwrap();
    assert_eq!(
        record.counts.voters, 1,
        "the file's voter: nothing is carried"
    );
    db.approve_pending().await;
    let talk = db.talk();
    let moved = talk
        .text("+213550000001", &format!("NIN {NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert!(moved.contains("Lycée El Hayat"), "{moved}");
    let kept = talk
        .text("+213550000002", &format!("NIN {NIN_WOMEN} {BIRTH_WOMEN}"))
        .await;
    assert!(kept.contains("Ecole Emir Abdelkader"), "{kept}");
    let gone = talk
        .sms("+213550000003", "333333333333333333 09/09/1999")
        .await;
    assert_eq!(gone.outcome, Some(LookupOutcome::NotFound));
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn lookups_answer_from_the_current_roll_while_a_new_one_is_being_copied() {
    let (db, _pg) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let current = db
        .store
        .current_import(ImportKind::Roll)
        .await
        .unwrap()
        .unwrap();
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    let importing = {
        let store = Arc::clone(&db.store);
        let import = maktab::store::NewImport {
            source: "slow.csv".to_owned(),
            actor: "test".to_owned(),
            at: START,
            communes: Vec::new(),
        };
        tokio::spawn(async move { store.import_roll(import, receiver).await })
    };
    sender.send(RollBatch::Voters(Vec::new())).await.unwrap();
    // The import's transaction is open; lookups still see the current roll, at once.
    let handled = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        db.talk()
            .sms("+213550000001", &format!("{NIN_MIXED} {BIRTH_MIXED}")),
    )
    .await
    .expect("a lookup is not blocked by an import");
    assert_eq!(handled.outcome, Some(LookupOutcome::Found));
    drop(sender);
    assert!(importing.await.unwrap().is_err());
    assert_eq!(
        db.store.current_import(ImportKind::Roll).await.unwrap(),
        Some(current)
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn the_sender_limit_holds_across_two_instances_on_one_database() {
    let (db, _pg) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let first = db.talk();
    let second = Talk::new(db.reopen().await, ConversationSettings::default());
    let sender = "+213550000001";
    let ask = format!("{NIN_MIXED} {BIRTH_MIXED}");
    for i in 0..10 {
        let instance = if i % 2 == 0 { &first } else { &second };
        assert_eq!(
            instance.sms(sender, &ask).await.outcome,
            Some(LookupOutcome::Found)
        );
    }
    assert_eq!(
        first.sms(sender, &ask).await.outcome,
        Some(LookupOutcome::RateLimitedSender)
    );
    assert_eq!(
        second.sms(sender, &ask).await.outcome,
        Some(LookupOutcome::RateLimitedSender)
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn a_nin_locked_on_one_instance_is_locked_on_the_other() {
    let (db, _pg) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let first = db.talk();
    let second = Talk::new(db.reopen().await, ConversationSettings::default());
    for day in 1..=5 {
        let instance = if day % 2 == 0 { &first } else { &second };
        let handled = instance
            .sms(
                &format!("+21355000010{day}"),
                &format!("{NIN_MIXED} {day:02}/01/1990"),
            )
            .await;
        assert_eq!(handled.outcome, Some(LookupOutcome::VerificationFailed));
    }
    for instance in [&first, &second] {
        assert_eq!(
            instance
                .sms("+213550000200", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
                .await
                .outcome,
            Some(LookupOutcome::RateLimitedNin)
        );
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn a_dialogue_started_on_one_instance_finishes_on_another() {
    let (db, _pg) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let first = db.talk();
    let asked = first
        .sms("+213550000001", &format!("رقمي {NIN_MIXED}"))
        .await;
    assert_eq!(asked.replies[0].message, MessageId::AskBirthDate);
    let second = Talk::new(db.reopen().await, ConversationSettings::default());
    let answered = second.sms("+213550000001", BIRTH_MIXED).await;
    assert_eq!(answered.outcome, Some(LookupOutcome::Found));
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn a_retried_webhook_is_processed_by_only_one_instance() {
    let (db, _pg) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let other = db.reopen().await;
    let (a, b) = tokio::join!(
        db.store.first_delivery("sms:twilio", "SM123", START),
        other.first_delivery("sms:twilio", "SM123", START),
    );
    assert!(a.unwrap() ^ b.unwrap(), "exactly one instance processes it");
}

/// A channel shared by both dispatchers that counts what each recipient receives, and which
/// dispatcher sent it.
struct CountingChannel {
    instance: usize,
    received: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<usize>>>>,
}

#[async_trait::async_trait]
impl maktab::notices::NoticeSender for CountingChannel {
    async fn send(&self, message: &maktab::store::Notice) -> maktab::notices::SendOutcome {
        let recipient = &message.recipient;
        // A real provider takes a moment: the other dispatcher tries to claim meanwhile.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        self.received
            .lock()
            .unwrap()
            .entry(recipient.clone())
            .or_default()
            .push(self.instance);
        maktab::notices::SendOutcome::Sent { provider_id: None }
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn two_dispatchers_on_two_instances_drain_one_campaign_and_each_recipient_gets_one_message() {
    use maktab::domain::{Channel, Locale};
    use maktab::notices::{ChannelLimits, Dispatcher};
    use maktab::store::{Audience, CampaignStatus, NewAuditEntry, NewNotice};

    let (db, _pg) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    const NOTICES: usize = 500;
    let store = &db.store;
    let audit = NewAuditEntry {
        at: START,
        actor: "officer".to_owned(),
        action: "broadcast.create".to_owned(),
        communes: Vec::new(),
        details: serde_json::json!({}),
    };
    let audience = Audience {
        commune: maktab::domain::CommuneCode::parse("1601").unwrap(),
        centre: None,
        station: None,
        reporters: false,
    };
    let campaign = store
        .create_broadcast(&audience, "نص", "texte", "officer", START, audit)
        .await
        .unwrap();
    let notices: Vec<NewNotice> = (0..NOTICES)
        .map(|i| NewNotice {
            channel: Channel::Sms,
            recipient: format!("+2135{i:08}"),
            locale: Locale::Fr,
            body: "texte".to_owned(),
        })
        .collect();
    store
        .fill_campaign(campaign, &notices, CampaignStatus::Sending, START)
        .await
        .unwrap();

    let received = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let catalog = Arc::new(maktab::i18n::Catalog::load().unwrap());
    let mut instances = Vec::new();
    for instance in 0..2 {
        // Each dispatcher on its own store, i.e. its own pool, as on two machines.
        let store = maktab::store::connect(&db.url).await.unwrap();
        let channel = Arc::new(CountingChannel {
            instance,
            received: Arc::clone(&received),
        });
        let dispatcher = Dispatcher::new(store, Arc::clone(&catalog))
            .with_channel(
                Channel::Sms,
                channel,
                ChannelLimits {
                    per_second: 100_000.0,
                    per_recipient: None,
                },
            )
            .with_batch(20, 8)
            .with_clock(Arc::new(|| START + 10));
        instances.push(tokio::spawn(async move {
            let mut handled = 0;
            loop {
                let round = dispatcher.dispatch_once().await.unwrap();
                if round == 0 {
                    break handled;
                }
                handled += round;
            }
        }));
    }
    let mut handled = Vec::new();
    for instance in instances {
        handled.push(instance.await.unwrap());
    }

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), NOTICES, "every recipient reached");
    let twice: Vec<_> = received.iter().filter(|(_, by)| by.len() != 1).collect();
    assert!(twice.is_empty(), "received more than once: {twice:?}");
    assert_eq!(handled.iter().sum::<usize>(), NOTICES, "{handled:?}");
    // One dispatcher per channel for the whole deployment: whichever took the channel's lock
    // first sent everything, and the other stood by.
    assert_eq!(
        handled.iter().filter(|&&n| n > 0).count(),
        1,
        "one dispatcher holds the channel: {handled:?}"
    );
    assert_eq!(
        store.campaign_progress(campaign).await.unwrap(),
        [("sent".to_owned(), NOTICES as u64)].into()
    );
    assert_eq!(
        store.campaign(campaign).await.unwrap().unwrap().status,
        CampaignStatus::Done
    );
}
