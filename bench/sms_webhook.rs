//! SMS webhook benchmark: requests per second and p50/p99 latency of `POST
//! /webhooks/sms/generic` answering lookups against a 1,000,000-voter roll, beside `GET
//! /healthz` (a constant answer) of the same server in the same run, so that the ratio shows
//! what the webhook path (signature check, JSON, idempotency record, lookup, reply) costs on
//! top of HTTP itself.
//!
//! Run with `cargo bench --bench sms_webhook` (release build). `MAKTAB_BENCH_VOTERS` sets the
//! roll size (default 1,000,000), `MAKTAB_BENCH_SECONDS` the measuring time per route
//! (default 10), `MAKTAB_BENCH_CONCURRENCY` the connections (default 16),
//! `MAKTAB_BENCH_MAX_REQUESTS` a cap per route (default 1,000,000). With
//! `MAKTAB_BENCH_POSTGRES_URL` set (a server, e.g.
//! `postgres://postgres:postgres@127.0.0.1:5432/postgres`), the same run goes against a
//! database `maktab_bench_webhook_<pid>` created there and dropped at the end, instead of a
//! temporary SQLite file. With `MAKTAB_BENCH_POSTGRES_KEEP` set to a database name as well,
//! that database is used and kept: the roll is imported into it only if it does not exist
//! yet, so that a second run against the same national roll measures the lookups without
//! the six minutes of its import. Loopback only; the load generator runs in the same
//! process on its own runtime.

use std::sync::Arc;
use std::time::Duration;

use maktab::config::{Secret, SmsConfig};
use maktab::server::{self, App};
use maktab::store;

mod common;
mod load;
use common::{
    env_number, import_generated, pg_admin, pg_count, pg_database_exists, with_database,
    write_files,
};
use load::{Check, MakeRequest, found_reply, load, sms_lookup};

const SECRET: &str = "bench-secret";
const TELEGRAM_SECRET: &str = "bench-telegram-secret";

fn main() {
    let voters = env_number("MAKTAB_BENCH_VOTERS", 1_000_000);
    let seconds = env_number("MAKTAB_BENCH_SECONDS", 10);
    let concurrency = env_number("MAKTAB_BENCH_CONCURRENCY", 16);
    let max = env_number("MAKTAB_BENCH_MAX_REQUESTS", 1_000_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let postgres = std::env::var("MAKTAB_BENCH_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty());
    let keep = std::env::var("MAKTAB_BENCH_POSTGRES_KEEP")
        .ok()
        .filter(|name| !name.trim().is_empty() && postgres.is_some());
    let database = keep
        .clone()
        .unwrap_or_else(|| format!("maktab_bench_webhook_{}", std::process::id()));
    println!(
        "# Maktab SMS webhook benchmark: {voters} voters, {concurrency} connections, {seconds} s per route, on {}",
        if postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    // The server gets its own runtime, as in `maktab serve`; the load generator another.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    let (address, _stop) = server_runtime.block_on(async {
        let kept = match (&postgres, &keep) {
            (Some(server), Some(_)) => pg_database_exists(server, &database).await,
            _ => false,
        };
        let url = match &postgres {
            Some(server) => {
                if !kept {
                    pg_admin(server, format!("create database {database}")).await;
                }
                with_database(server, &database)
            }
            None => format!("sqlite://{}", dir.path().join("maktab.db").display()),
        };
        let store = store::connect(&url).await.expect("open database");
        if kept {
            let found = pg_count(&url, "select count(*) from roll_voters").await;
            assert_eq!(
                found, voters,
                "{database} holds another roll: drop it or set MAKTAB_BENCH_VOTERS={found}"
            );
            println!("roll of {voters} voters kept in {database} from an earlier run");
        } else {
            let (map_path, roll_path) = write_files(dir.path(), voters);
            import_generated(&store, &map_path, &roll_path, voters).await;
        }
        if postgres.is_some() && !kept {
            // The roll is imported days before the voters ask. Right after the import the
            // server is still writing its pages out (its checkpoint) and gathering the new
            // table's statistics, and every commit's WAL flush queues behind those writes:
            // lookups measured then ran at a tenth of their speed. Both are done first.
            for statement in ["vacuum (analyze) roll_voters", "checkpoint"] {
                pg_admin(&url, statement.to_owned()).await;
            }
        }

        // The abuse limits would refuse a load generator; they are not what is measured.
        let mut config = maktab::config::Config::default();
        config.lookup.max_per_sender_per_hour = u64::MAX;
        config.lookup.max_failed_per_nin_per_day = u64::MAX;
        config.sms = SmsConfig {
            generic: maktab::config::GenericConfig {
                secret: Some(Secret::new(SECRET)),
                ..Default::default()
            },
            ..SmsConfig::default()
        };
        // Telegram's webhook: updates are accepted into the inbox and answered 200, then
        // handled by the chats' queues; replies wait in the outbox for a Bot API that is a
        // closed loopback port here (the lane's 30 messages/s and its retries stay small).
        config.telegram.bot_token = Some(Secret::new("123456:bench"));
        config.telegram.webhook_secret = Some(Secret::new(TELEGRAM_SECRET));
        config.telegram.bot_username = Some("MaktabBenchBot".to_owned());
        config.telegram.api_url = "http://127.0.0.1:9".to_owned();
        config.telegram.queue_capacity = 4096;
        let app = App::from_config(store, &config).expect("configuration");
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
    let healthz = format!("http://{address}/healthz");
    // 100,000 senders, the limits raised above: senders come back, as they would.
    let lookup = sms_lookup(&format!("http://{address}"), SECRET, voters, 100_000);
    let found = found_reply();
    let constant: MakeRequest = Arc::new(move |client, _| client.get(&healthz));
    let any: Check = Arc::new(|_| true);
    let telegram = telegram_update(&format!("http://{address}"), voters, 100_000);
    let duration = Duration::from_secs(seconds);

    let (sms, health, telegram) = loader.block_on(async {
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
        let health = load(constant, Arc::clone(&any), 0, concurrency, duration, max).await;
        let sms = load(lookup, found, 10_000_000, concurrency, duration, max).await;
        let telegram = load(
            telegram,
            Arc::clone(&any),
            20_000_000,
            concurrency,
            duration,
            max,
        )
        .await;
        (sms, health, telegram)
    });
    health.print("GET /healthz (constant answer)");
    sms.print("POST /webhooks/sms/generic (signed lookup, found)");
    telegram.print("POST /webhooks/telegram (lookup update; failed = refused, queue full)");
    println!(
        "telegram updates accepted: {:.0} per second",
        (telegram.requests - telegram.failures) as f64 / telegram.elapsed.as_secs_f64()
    );
    // The figure the target is set on, as the last line.
    println!(
        "ratio webhook / constant: {:.3} of the requests per second, p50 x{:.1}, p99 x{:.1}",
        sms.rps() / health.rps(),
        sms.p50.as_secs_f64() / health.p50.as_secs_f64().max(1e-9),
        sms.p99.as_secs_f64() / health.p99.as_secs_f64().max(1e-9)
    );
    assert_eq!(sms.failures, 0, "every lookup must find its voter");
    drop(loader);
    drop(server_runtime);
    if let Some(server) = postgres.filter(|_| keep.is_none()) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("clean-up runtime")
            .block_on(pg_admin(
                &server,
                format!("drop database if exists {database} with (force)"),
            ));
    }
}

/// Update `n` to `POST /webhooks/telegram`: a private chat (one of `chats`) sends "NIN
/// DD/MM/YYYY" of a voter spread over the roll, as the SMS lookups do.
fn telegram_update(base: &str, voters: u64, chats: u64) -> MakeRequest {
    let webhook = format!("{base}/webhooks/telegram");
    Arc::new(move |client, n| {
        let i = n.wrapping_mul(7919) % voters;
        let (y, m, d) = common::birth_date(i);
        let chat = 1_000_000 + n % chats;
        let body = serde_json::json!({
            "update_id": n,
            "message": {
                "message_id": n,
                "date": 1_790_000_000,
                "chat": { "id": chat, "type": "private", "first_name": "B" },
                "from": { "id": chat, "is_bot": false, "first_name": "B" },
                "text": format!("{} {d:02}/{m:02}/{y}", common::nin(i)),
            }
        })
        .to_string();
        client
            .post(&webhook)
            .header("content-type", "application/json")
            .header("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET)
            .body(body)
    })
}
