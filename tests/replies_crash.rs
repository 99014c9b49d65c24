//! The real binary stopped while lookup replies wait to go out through a provider's API (the
//! generic aggregator on loopback, slower than the lookups come in): on SIGTERM it drains
//! within its grace period and leaves the rest unleased, which the next start sends at once;
//! after kill -9 the restarted process sends every reply the webhooks acknowledged, each in
//! the rows one round held at most twice.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use maktab::channels::sms::generic;

const REPLIES: usize = 2000;
/// Slower than the webhooks take lookups in, so replies pile up in the outbox.
const RATE: usize = 150;
const SECRET: &str = "s3cret";
const LEASE_SECONDS: u64 = 3;
const DRAIN_SECONDS: u64 = 2;

fn maktab(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maktab"));
    command
        .env("MAKTAB_DATABASE_URL", url)
        .env_remove("MAKTAB_LOG")
        .env_remove("RUST_LOG")
        .env_remove("MAKTAB_CONFIG");
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(url: &str, port: u16, provider: &str) -> Child {
    maktab(url)
        .arg("serve")
        .env("MAKTAB_LISTEN", format!("127.0.0.1:{port}"))
        .env("MAKTAB_SMS_GENERIC_SECRET", SECRET)
        .env(
            "MAKTAB_SMS_GENERIC_SEND_URL",
            format!("{provider}/sms/send"),
        )
        .env("MAKTAB_SMS_GENERIC_SEGMENTS_PER_SECOND", RATE.to_string())
        .env("MAKTAB_NOTICES_LEASE_SECONDS", LEASE_SECONDS.to_string())
        .env("MAKTAB_NOTICES_DRAIN_SECONDS", DRAIN_SECONDS.to_string())
        // Every lookup of this test is a distinct sender asking once.
        .env("MAKTAB_LOOKUP_MAX_PER_SENDER_PER_HOUR", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(port: u16) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && response.status() == 200
        {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A provider on loopback: records who each accepted message went to.
async fn provider() -> (String, Arc<Mutex<Vec<String>>>) {
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
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

async fn database(dir: &std::path::Path) -> String {
    let url = format!("sqlite://{}", dir.join("replies.db").display());
    let (map, roll) = (dir.join("map.csv"), dir.join("roll.csv"));
    std::fs::write(&map, MAP_CSV).unwrap();
    std::fs::write(&roll, ROLL_CSV).unwrap();
    for (kind, file) in [("map", &map), ("roll", &roll)] {
        assert!(
            maktab(&url)
                .args(["import", kind])
                .arg(file)
                .status()
                .unwrap()
                .success()
        );
    }
    url
}

fn sender(k: usize) -> String {
    format!("+2135{k:08}")
}

/// One signed lookup through the generic webhook from the `k`th number; the webhook must
/// answer 200 (the reply is then in the outbox).
async fn post_lookup(client: &reqwest::Client, port: u16, id: &str, k: usize) {
    let body = serde_json::json!({
        "id": id,
        "from": sender(k),
        "to": "3030",
        "text": format!("{NIN_MIXED} {BIRTH_MIXED}"),
    })
    .to_string();
    let response = client
        .post(format!("http://127.0.0.1:{port}/webhooks/sms/generic"))
        .header("content-type", "application/json")
        .header(
            generic::SIGNATURE_HEADER,
            generic::sign(SECRET, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Sends the lookups, 16 at a time, each from its own number; every webhook must answer
/// 200 (the reply is then in the outbox).
async fn look_up(port: u16) {
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for k in (worker..REPLIES).step_by(16) {
                post_lookup(&client, port, &format!("m{k}"), k).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Rows of the outbox by status.
async fn outbox(url: &str) -> HashMap<String, i64> {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let rows: Vec<(String, i64)> =
        sqlx::query_as("select status, count(*) from outbox group by status")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    rows.into_iter().collect()
}

async fn wait_for_all(received: &Mutex<Vec<String>>, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let distinct = {
            let received = received.lock().unwrap();
            received
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        if distinct == REPLIES {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{distinct} of {REPLIES} replies arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn terminate(child: &mut Child) -> Duration {
    let started = Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_waiting_at_sigterm_are_drained_or_left_unleased_and_all_arrive_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(dir.path()).await;
    let (provider, received) = provider().await;
    let port = free_port();
    let mut first = serve(&url, port, &provider);
    wait_ready(port).await;
    look_up(port).await;
    let before = received.lock().unwrap().len();
    let stopping = terminate(&mut first);
    let at_exit = received.lock().unwrap().len();
    let left = outbox(&url).await;
    println!(
        "SIGTERM with {} of {REPLIES} sent: {} more drained, exit after {stopping:?}; left {left:?}",
        before,
        at_exit - before
    );
    assert!(
        at_exit < REPLIES,
        "the test stops the server with replies waiting"
    );
    assert!(at_exit > before, "the grace period sends what it can");
    assert!(
        stopping < Duration::from_secs(DRAIN_SECONDS + 5),
        "the drain is bounded: {stopping:?}"
    );
    assert_eq!(
        left.get("sending"),
        None,
        "nothing stays leased past the grace period"
    );
    assert_eq!(
        left.get("pending").copied().unwrap_or(0) + left.get("sent").copied().unwrap_or(0),
        REPLIES as i64,
        "{left:?}"
    );

    // The next start sends what was left at once: no lease to wait out.
    let mut second = serve(&url, port, &provider);
    let remaining = REPLIES - at_exit;
    let took = wait_for_all(&received, Duration::from_secs(120)).await;
    println!("restart sent the {remaining} left in {took:?}");
    terminate(&mut second);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), REPLIES, "each reply exactly once");
    assert_eq!(
        outbox(&url).await.get("sent").copied(),
        Some(REPLIES as i64)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_in_flight_at_sigkill_all_arrive_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(dir.path()).await;
    let (provider, received) = provider().await;
    let port = free_port();
    let mut first = serve(&url, port, &provider);
    wait_ready(port).await;
    look_up(port).await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let at_kill = received.lock().unwrap().len();
    let left = outbox(&url).await;
    println!("SIGKILL with {at_kill} of {REPLIES} sent; left {left:?}");
    assert!(at_kill < REPLIES, "killed with replies waiting");

    let mut second = serve(&url, port, &provider);
    let took = wait_for_all(&received, Duration::from_secs(120)).await;
    terminate(&mut second);
    let received = received.lock().unwrap().clone();
    let duplicates = received.len() - REPLIES;
    println!("restart sent the rest in {took:?}; {duplicates} duplicates");
    // Only rows claimed by the killed process's last round can go twice: about a second's
    // worth of the provider's rate.
    assert!(
        duplicates <= RATE,
        "{duplicates} duplicates, more than one round's {RATE} rows"
    );
    assert_eq!(
        outbox(&url).await.get("sent").copied(),
        Some(REPLIES as i64)
    );
}

/// A provider on loopback that notes when each message came and what it cost in segments.
async fn timed_provider() -> (String, Arc<Mutex<Vec<(Instant, usize, String)>>>) {
    let received: Arc<Mutex<Vec<(Instant, usize, String)>>> = Arc::default();
    let log = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/sms/send",
        axum::routing::post(move |body: axum::body::Bytes| {
            let log = Arc::clone(&log);
            async move {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let text = json["text"].as_str().unwrap();
                let segments = maktab::i18n::sms::count_segments(text).segments;
                log.lock().unwrap().push((
                    Instant::now(),
                    segments,
                    json["to"].as_str().unwrap().to_owned(),
                ));
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_campaign_and_lookups_together_stay_within_the_providers_rate_and_replies_go_first() {
    const SUBSCRIBERS: usize = 600;
    const LOOKUPS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let url = database(dir.path()).await;
    {
        let store = maktab::store::connect(&url).await.unwrap();
        let nin = maktab::domain::NationalId::parse(NIN_MIXED).unwrap();
        for k in 0..SUBSCRIBERS {
            store
                .add_subscription(
                    maktab::domain::Channel::Sms,
                    &format!("+2136{k:08}"),
                    &nin,
                    START,
                )
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
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    assert!(
        maktab(&url)
            .args(["campaigns", "confirm", &id])
            .status()
            .unwrap()
            .success()
    );

    let (provider, received) = timed_provider().await;
    let port = free_port();
    let mut server = serve(&url, port, &provider);
    wait_ready(port).await;
    // Lookups arrive while the campaign is sending: replies are in the outbox behind hundreds
    // of notices, and go first.
    while received.lock().unwrap().len() < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let client = reqwest::Client::new();
    let mut asked = HashMap::new();
    for k in 0..LOOKUPS {
        asked.insert(sender(k), Instant::now());
        post_lookup(&client, port, &format!("r{k}"), k).await;
        // A steady stream, about 40 a second.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let started = Instant::now();
    while received.lock().unwrap().len() < SUBSCRIBERS + LOOKUPS {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not everything was sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    terminate(&mut server);
    let received = received.lock().unwrap().clone();
    let busiest = received
        .iter()
        .map(|(start, _, _)| {
            received
                .iter()
                .filter(|(t, _, _)| {
                    *t >= *start && t.duration_since(*start) < Duration::from_secs(1)
                })
                .map(|(_, segments, _)| segments)
                .sum::<usize>()
        })
        .max()
        .unwrap();
    let mut waits: Vec<Duration> = received
        .iter()
        .filter_map(|(t, _, to)| asked.get(to).map(|asked| t.duration_since(*asked)))
        .collect();
    waits.sort();
    let (median, slowest) = (waits[waits.len() / 2], waits[waits.len() - 1]);
    println!(
        "busiest second: {busiest} segments for a limit of {RATE}; replies during the campaign: median {median:?}, slowest {slowest:?}"
    );
    // The bucket's burst is a fiftieth of a second's worth (3 segments here).
    assert!(
        busiest <= RATE + RATE / 50,
        "busiest second {busiest} above {RATE}/s"
    );
    assert_eq!(waits.len(), LOOKUPS, "every lookup answered once");
    assert!(
        slowest < Duration::from_secs(3),
        "a reply waited {slowest:?} behind the campaign"
    );
}
