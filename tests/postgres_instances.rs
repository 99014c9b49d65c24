//! Two real `maktab serve` processes on one PostgreSQL database and a rate-limited provider on
//! loopback: a campaign is delivered once per recipient, the channel's rate holds for the
//! whole deployment (one dispatcher per channel holds the channel's lock), and killing the
//! instance that holds it lets the other take over and finish. Ignored unless asked for
//! (`cargo test -- --include-ignored`, as CI does), and then `MAKTAB_TEST_POSTGRES_URL` must
//! name a server.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use maktab::domain::{Channel, NationalId};
use maktab::store::CampaignStatus;

const RECIPIENTS: usize = 600;
const RATE: usize = 60;
const BATCH: usize = 20;

fn serve(url: &str, provider: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_maktab"))
        .arg("serve")
        .env("MAKTAB_DATABASE_URL", url)
        .env("MAKTAB_LISTEN", "127.0.0.1:0")
        .env("MAKTAB_SMS_GENERIC_SECRET", "s3cret")
        .env(
            "MAKTAB_SMS_GENERIC_SEND_URL",
            format!("{provider}/sms/send"),
        )
        .env("MAKTAB_SMS_GENERIC_SEGMENTS_PER_SECOND", RATE.to_string())
        .env("MAKTAB_NOTICES_BATCH", BATCH.to_string())
        .env("MAKTAB_NOTICES_LEASE_SECONDS", "2")
        .env_remove("MAKTAB_LOG")
        .env_remove("MAKTAB_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn two_instances_deliver_a_campaign_once_within_one_rate_and_the_survivor_finishes() {
    let (db, database) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let nin = NationalId::parse(NIN_MIXED).unwrap();
    for k in 0..RECIPIENTS {
        db.store
            .add_subscription(Channel::Sms, &format!("+2135{k:08}"), &nin, START)
            .await
            .unwrap();
    }
    let operator = maktab::office::Principal::command_line();
    let audience = maktab::store::Audience {
        commune: maktab::domain::CommuneCode::parse("1601").unwrap(),
        centre: None,
        station: None,
        reporters: false,
    };
    let campaign = office(&db.store)
        .create_broadcast(&operator, &audience, "تذكير", "Rappel : vote jeudi")
        .await
        .unwrap()
        .campaign;

    let accepted: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let log = Arc::clone(&accepted);
    let app = axum::Router::new().route(
        "/sms/send",
        axum::routing::post(move |body: axum::body::Bytes| {
            let log = Arc::clone(&log);
            async move {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                log.lock()
                    .unwrap()
                    .push((json["to"].as_str().unwrap().to_owned(), Instant::now()));
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut instances = [
        serve(&database.url, &provider),
        serve(&database.url, &provider),
    ];
    // Both instances are up before the campaign starts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    office(&db.store)
        .confirm_broadcast(&operator, campaign)
        .await
        .unwrap();

    let count = || accepted.lock().unwrap().len();
    let started = Instant::now();
    while count() < RECIPIENTS / 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing was sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Kill whichever instance holds the generic provider's lane.
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let holder: String =
        sqlx::query_scalar("select holder from dispatch_locks where channel = 'sms:generic'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    let pid: u32 = holder.split(':').nth(1).unwrap().parse().unwrap();
    let (killed, survivor): (usize, usize) = if instances[0].id() == pid {
        (0, 1)
    } else {
        (1, 0)
    };
    assert_eq!(
        instances[killed].id(),
        pid,
        "the lock holder is one of the two instances"
    );
    instances[killed].kill().unwrap(); // SIGKILL
    instances[killed].wait().unwrap();

    let restarted = Instant::now();
    while db.store.campaign(campaign).await.unwrap().unwrap().status != CampaignStatus::Done {
        assert!(
            restarted.elapsed() < Duration::from_secs(90),
            "the survivor did not finish the campaign"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &instances[survivor].id().to_string()])
        .status();
    instances[survivor].wait().unwrap();

    let accepted = accepted.lock().unwrap().clone();
    let mut per_recipient: HashMap<&str, usize> = HashMap::new();
    for (to, _) in &accepted {
        *per_recipient.entry(to.as_str()).or_insert(0) += 1;
    }
    assert_eq!(per_recipient.len(), RECIPIENTS, "everyone reached");
    let duplicates = accepted.len() - RECIPIENTS;
    assert!(
        duplicates <= BATCH,
        "{duplicates} duplicates, more than the killed instance's {BATCH} claimed rows"
    );
    // The rate held for both instances together: no one-second window above the limit.
    let times: Vec<Instant> = accepted.iter().map(|(_, t)| *t).collect();
    let busiest = times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && t.duration_since(*start) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    println!("{duplicates} duplicates; busiest second: {busiest} messages for a limit of {RATE}");
    assert!(
        busiest <= RATE + 2,
        "busiest second {busiest} above the deployment's {RATE}/s"
    );
}
