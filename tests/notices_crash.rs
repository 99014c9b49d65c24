//! The real binary killed with SIGKILL in the middle of a campaign, then restarted: every
//! recipient gets the notice, and duplicates stay within the rows one dispatcher round holds
//! (`notices.batch`).

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

const RECIPIENTS: usize = 2000;
const BATCH: usize = 50;

fn maktab(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maktab"));
    command
        .env("MAKTAB_DATABASE_URL", url)
        .env_remove("MAKTAB_LOG")
        .env_remove("RUST_LOG")
        .env_remove("MAKTAB_CONFIG");
    command
}

fn serve(url: &str, provider: &str) -> Child {
    maktab(url)
        .arg("serve")
        .env("MAKTAB_LISTEN", "127.0.0.1:0")
        .env("MAKTAB_SMS_GENERIC_SECRET", "s3cret")
        .env(
            "MAKTAB_SMS_GENERIC_SEND_URL",
            format!("{provider}/sms/send"),
        )
        .env("MAKTAB_SMS_GENERIC_SEGMENTS_PER_SECOND", "300")
        .env("MAKTAB_NOTICES_BATCH", BATCH.to_string())
        .env("MAKTAB_NOTICES_LEASE_SECONDS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_campaign_survives_sigkill_and_finishes_after_restart_with_bounded_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let (map, roll) = (dir.path().join("map.csv"), dir.path().join("roll.csv"));
    std::fs::write(&map, MAP_CSV).unwrap();
    std::fs::write(&roll, ROLL_CSV).unwrap();
    assert!(
        maktab(&url)
            .args(["import", "map"])
            .arg(&map)
            .status()
            .unwrap()
            .success()
    );
    assert!(
        maktab(&url)
            .args(["import", "roll"])
            .arg(&roll)
            .status()
            .unwrap()
            .success()
    );
    {
        let store = maktab::store::connect(&url).await.unwrap();
        let nin = NationalId::parse(NIN_MIXED).unwrap();
        for k in 0..RECIPIENTS {
            store
                .add_subscription(Channel::Sms, &format!("+2135{k:08}"), &nin, START)
                .await
                .unwrap();
        }
    }
    let drafted = maktab(&url)
        .args([
            "campaigns",
            "broadcast",
            "--commune",
            "1601",
            "--ar",
            "تذكير: الاقتراع يوم الخميس",
            "--fr",
            "Rappel : vote jeudi",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8(drafted.stdout).unwrap();
    let id: i64 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        maktab(&url)
            .args(["campaigns", "confirm", &id.to_string()])
            .status()
            .unwrap()
            .success()
    );

    // The provider: records every message it accepts.
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/sms/send",
        axum::routing::post(move |body: axum::body::Bytes| {
            let log = Arc::clone(&log);
            async move {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                log.lock()
                    .unwrap()
                    .push(json["to"].as_str().unwrap().to_owned());
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let count = || received.lock().unwrap().len();

    let mut first = serve(&url, &provider);
    let started = Instant::now();
    while count() < RECIPIENTS / 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first instance sent too little"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let at_kill = count();
    assert!(at_kill < RECIPIENTS, "killed mid-campaign");

    let mut second = serve(&url, &provider);
    let store = maktab::store::connect(&url).await.unwrap();
    let restarted = Instant::now();
    while store.campaign(id).await.unwrap().unwrap().status != CampaignStatus::Done {
        assert!(
            restarted.elapsed() < Duration::from_secs(90),
            "the campaign did not finish after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status();
    second.wait().unwrap();

    let received = received.lock().unwrap().clone();
    let mut per_recipient: HashMap<&str, usize> = HashMap::new();
    for to in &received {
        *per_recipient.entry(to.as_str()).or_insert(0) += 1;
    }
    assert_eq!(per_recipient.len(), RECIPIENTS, "nobody missing");
    let duplicates = received.len() - RECIPIENTS;
    println!("killed after {at_kill} sends; {duplicates} duplicates (bound: {BATCH})");
    assert!(
        duplicates <= BATCH,
        "{duplicates} duplicates, more than one round's {BATCH} rows"
    );
    let progress = store.campaign_progress(id).await.unwrap();
    assert_eq!(
        progress.get("sent"),
        Some(&(RECIPIENTS as u64)),
        "{progress:?}"
    );
}
