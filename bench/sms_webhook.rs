//! SMS webhook benchmark: requests per second and p50/p99 latency of `POST
//! /webhooks/sms/generic` answering lookups against a 1,000,000-voter roll, beside `GET
//! /healthz` (a constant answer) of the same server in the same run, so that the ratio shows
//! what the webhook path (signature check, JSON, idempotency record, lookup, reply) costs on
//! top of HTTP itself.
//!
//! Run with `cargo bench --bench sms_webhook` (release build). `MAKTAB_BENCH_VOTERS` sets the
//! roll size (default 1,000,000), `MAKTAB_BENCH_SECONDS` the measuring time per route
//! (default 10), `MAKTAB_BENCH_CONCURRENCY` the connections (default 16),
//! `MAKTAB_BENCH_MAX_REQUESTS` a cap per route (default 1,000,000). Loopback only; the load
//! generator runs in the same process on its own runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use maktab::channels::sms::{SmsGateway, generic};
use maktab::config::{Secret, SmsConfig};
use maktab::roll::{self, ImportOptions};
use maktab::server::{self, App};
use maktab::store;

mod common;
use common::{birth_date, env_number, nin, write_files};

const SECRET: &str = "bench-secret";

/// What one route measured.
struct Figures {
    requests: u64,
    failures: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Figures {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A request and the check its answer must pass.
type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;
type Check = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// Drives `concurrency` keep-alive connections for `duration` (or `max` requests) and
/// records every latency. Request numbers start at `first` so ids never repeat across runs.
async fn load(
    make: MakeRequest,
    check: Check,
    first: u64,
    concurrency: u64,
    duration: Duration,
    max: u64,
) -> Figures {
    let next = Arc::new(std::sync::atomic::AtomicU64::new(first));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (make, check, next) = (Arc::clone(&make), Arc::clone(&check), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("http client");
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            while Instant::now() < deadline {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= first + max {
                    break;
                }
                let sent = Instant::now();
                let ok = match make(&client, n).send().await {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(body) => status.is_success() && check(&body),
                            Err(_) => false,
                        }
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed());
                if !ok {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (mut l, f) = task.await.expect("load task");
        latencies.append(&mut l);
        failures += f;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Figures {
        requests: latencies.len() as u64,
        failures,
        elapsed,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}

fn print(name: &str, figures: &Figures) {
    println!(
        "{name}: {} requests in {:.1} s, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} failed",
        figures.requests,
        figures.elapsed.as_secs_f64(),
        figures.rps(),
        figures.p50.as_secs_f64() * 1000.0,
        figures.p99.as_secs_f64() * 1000.0,
        figures.failures
    );
}

fn main() {
    let voters = env_number("MAKTAB_BENCH_VOTERS", 1_000_000);
    let seconds = env_number("MAKTAB_BENCH_SECONDS", 10);
    let concurrency = env_number("MAKTAB_BENCH_CONCURRENCY", 16);
    let max = env_number("MAKTAB_BENCH_MAX_REQUESTS", 1_000_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    println!(
        "# Maktab SMS webhook benchmark: {voters} voters, {concurrency} connections, {seconds} s per route"
    );

    // The server gets its own runtime, as in `maktab serve`; the load generator another.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    let (address, _stop) = server_runtime.block_on(async {
        let (map_path, roll_path) = write_files(dir.path(), voters);
        let url = format!("sqlite://{}", dir.path().join("maktab.db").display());
        let store = store::connect(&url).await.expect("open database");
        let options = ImportOptions {
            allowed_communes: None,
            dry_run: false,
            max_voters_per_station: 500,
            source: "bench".to_owned(),
            actor: "bench".to_owned(),
        };
        let map = std::fs::File::open(&map_path).expect("open map");
        roll::import_map(store.as_ref(), map, &options)
            .await
            .expect("map imports");
        let started = Instant::now();
        let file = std::fs::File::open(&roll_path).expect("open roll");
        roll::import_roll(Arc::clone(&store), file, &options)
            .await
            .expect("roll imports");
        println!(
            "roll of {voters} voters imported in {:.1} s",
            started.elapsed().as_secs_f64()
        );

        let sms = SmsConfig {
            generic: maktab::config::GenericConfig {
                secret: Some(Secret::new(SECRET)),
                ..Default::default()
            },
            ..SmsConfig::default()
        };
        let gateway = SmsGateway::from_config(&sms, Arc::clone(&store)).expect("sms config");
        // The abuse limits would refuse a load generator; they are not what is measured.
        let mut config = maktab::config::Config::default();
        config.lookup.max_per_sender_per_hour = u64::MAX;
        config.lookup.max_failed_per_nin_per_day = u64::MAX;
        let app = App::new(store, &config)
            .expect("catalogues")
            .with_sms(gateway);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server::serve(listener, None, app, async {
            let _ = stopped.await;
        }));
        (address, stop)
    });

    let loader = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("load runtime");
    let webhook = format!("http://{address}/webhooks/sms/generic");
    let healthz = format!("http://{address}/healthz");
    let lookup: MakeRequest = Arc::new(move |client, n| {
        let i = n.wrapping_mul(7919) % voters;
        let (y, m, d) = birth_date(i);
        let body = serde_json::json!({
            "id": format!("bench-{n}"),
            "from": format!("+2135{:08}", n % 100_000),
            "to": "3030",
            "text": format!("{} {d:02}/{m:02}/{y}", nin(i)),
        })
        .to_string();
        client
            .post(&webhook)
            .header("content-type", "application/json")
            .header(
                generic::SIGNATURE_HEADER,
                generic::sign(SECRET, body.as_bytes()),
            )
            .body(body)
    });
    // Digits only: answered in Arabic, the found answer starts with "مركزك".
    let found: Check = Arc::new(|body| {
        let needle = "مركزك".as_bytes();
        body.windows(needle.len()).any(|w| w == needle)
    });
    let constant: MakeRequest = Arc::new(move |client, _| client.get(&healthz));
    let any: Check = Arc::new(|_| true);
    let duration = Duration::from_secs(seconds);

    let (sms, health) = loader.block_on(async {
        // Warm up both paths (connections, page cache) before measuring.
        load(
            Arc::clone(&lookup),
            Arc::clone(&found),
            0,
            concurrency,
            Duration::from_secs(1),
            max,
        )
        .await;
        load(
            Arc::clone(&constant),
            Arc::clone(&any),
            0,
            concurrency,
            Duration::from_secs(1),
            max,
        )
        .await;
        let health = load(constant, any, 0, concurrency, duration, max).await;
        let sms = load(lookup, found, 10_000_000, concurrency, duration, max).await;
        (sms, health)
    });
    print("GET /healthz (constant answer)", &health);
    print("POST /webhooks/sms/generic (signed lookup, found)", &sms);
    println!(
        "ratio webhook / constant: {:.3} of the requests per second, p50 x{:.1}, p99 x{:.1}",
        sms.rps() / health.rps(),
        sms.p50.as_secs_f64() / health.p50.as_secs_f64().max(1e-9),
        sms.p99.as_secs_f64() / health.p99.as_secs_f64().max(1e-9)
    );
    assert_eq!(sms.failures, 0, "every lookup must find its voter");
    drop(loader);
    drop(server_runtime);
}
