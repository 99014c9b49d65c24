//! The per-NIN lock under concurrency (issue 13, point 2): 40 wrong-date lookups of one NIN
//! at once, each from its own number, let exactly the daily budget through as counted
//! attempts, on SQLite and on PostgreSQL; the attempt is taken in one statement before the
//! voter is read, and a lookup that succeeds gives it back.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use maktab::conversation::{ConversationSettings, LookupOutcome};

const PARALLEL: usize = 40;

async fn race(db: TestDb) -> (usize, usize) {
    let settings = ConversationSettings::default();
    let budget = usize::try_from(settings.max_failures_per_nin_per_day).unwrap();
    let talk = Arc::new(db.talk_with(settings));
    let mut tasks = Vec::new();
    for k in 0..PARALLEL {
        let talk = Arc::clone(&talk);
        tasks.push(tokio::spawn(async move {
            talk.sms(
                &format!("+2135500{k:05}"),
                &format!("{NIN_MIXED} 01/01/1901"),
            )
            .await
            .outcome
        }));
    }
    let mut counted = 0;
    let mut locked = 0;
    for task in tasks {
        match task.await.unwrap() {
            Some(LookupOutcome::VerificationFailed) => counted += 1,
            Some(LookupOutcome::RateLimitedNin) => locked += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    println!(
        "{PARALLEL} parallel wrong dates: {counted} let through (budget {budget}), {locked} locked"
    );
    assert_eq!(counted, budget, "exactly the budget is let through");
    assert_eq!(locked, PARALLEL - budget);
    // The right date is refused too now: the NIN is locked for the day.
    let right = talk
        .sms("+213551000000", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert_eq!(right.outcome, Some(LookupOutcome::RateLimitedNin));
    (counted, locked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_dates_let_exactly_the_budget_through_on_sqlite() {
    race(TestDb::with_roll().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn parallel_wrong_dates_let_exactly_the_budget_through_on_postgres() {
    let (db, _database) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    race(db).await;
}

#[tokio::test]
async fn a_successful_lookup_does_not_count_against_the_nin() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    // More right lookups than the failure budget, from several numbers: none is refused.
    for k in 0..8 {
        let found = talk
            .sms(
                &format!("+21355100{k:04}"),
                &format!("{NIN_MIXED} {BIRTH_MIXED}"),
            )
            .await;
        assert_eq!(found.outcome, Some(LookupOutcome::Found), "lookup {k}");
    }
}
