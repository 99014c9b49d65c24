//! PostgreSQL beside SQLite: roll import through Maktab's import path into each database,
//! beside the databases' own bulk loaders on the same file (`psql \copy` into an equivalent
//! indexed table, sqlite3 `.import`), then on each database conversation-core lookups per
//! second in this process, and lookups per second over HTTP through a real `maktab serve`
//! process (the release binary, configured by `MAKTAB_*` variables, pointed at the database
//! just imported) with its peak resident memory.
//!
//! Run with `cargo bench --bench postgres`. Needs `MAKTAB_BENCH_POSTGRES_URL` (or
//! `MAKTAB_TEST_POSTGRES_URL`), a server where it may create and drop a database, plus the
//! `psql` and `sqlite3` commands. `MAKTAB_BENCH_VOTERS` sets the roll size (default
//! 24,000,000; the roll is written to a temporary file, never held in memory),
//! `MAKTAB_BENCH_LOOKUPS` the conversation-core lookups per database (default 20,000),
//! `MAKTAB_BENCH_SECONDS` the HTTP measuring time per database (default 10) and
//! `MAKTAB_BENCH_CONCURRENCY` its connections (default 16).
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use maktab::conversation::{Conversation, ConversationSettings, Inbound, LookupOutcome};
use maktab::domain::Channel;
use maktab::i18n::Catalog;
use maktab::roll;
use maktab::store::{self, Store};

mod common;
mod load;
use common::{
    birth_date, env_number, import_options, nin, peak_rss, per_second, pg_admin, psql_copy,
    sqlite3_import, with_database, write_files,
};
use load::{found_reply, load, sms_lookup};

/// Conversation-core lookups in flight at once.
const CONCURRENCY: u64 = 8;

/// The generic SMS provider's webhook secret given to the served instance.
const SECRET: &str = "bench-secret";

async fn import(
    store: &Arc<dyn Store>,
    map: &Path,
    roll_file: &Path,
    voters: u64,
    label: &str,
) -> f64 {
    let options = import_options(Default::default());
    roll::import_map(
        store.as_ref(),
        std::fs::File::open(map).expect("map"),
        &options,
    )
    .await
    .expect("map imports");
    let started = Instant::now();
    let outcome = roll::import_roll(
        Arc::clone(store),
        std::fs::File::open(roll_file).expect("roll"),
        &options,
    )
    .await
    .expect("roll imports");
    let elapsed = started.elapsed();
    assert_eq!(outcome.report.counts.voters, voters);
    let rate = per_second(voters, elapsed);
    println!(
        "{label}: maktab import roll {:.1} s, {rate:.0} rows/s",
        elapsed.as_secs_f64()
    );
    rate
}

async fn lookups(store: &Arc<dyn Store>, voters: u64, count: u64, label: &str) {
    let catalog = Arc::new(Catalog::load().expect("catalogues"));
    let settings = ConversationSettings {
        max_lookups_per_sender_per_hour: u64::MAX,
        ..ConversationSettings::default()
    };
    let conversation = Conversation::new(Arc::clone(store), catalog, settings);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let conversation = conversation.clone();
        tasks.push(tokio::spawn(async move {
            let mut found = 0u64;
            for k in (worker..count).step_by(CONCURRENCY as usize) {
                let i = k.wrapping_mul(7919) % voters;
                let (y, m, d) = birth_date(i);
                let inbound = Inbound {
                    channel: Channel::Sms,
                    sender: format!("+2135{:08}", k % 100_000),
                    text: format!("{} {d:02}/{m:02}/{y}", nin(i)),
                };
                if conversation.handle(&inbound).await.outcome == Some(LookupOutcome::Found) {
                    found += 1;
                }
            }
            found
        }));
    }
    let mut found = 0;
    for task in tasks {
        found += task.await.expect("lookup task");
    }
    assert_eq!(found, count, "every lookup finds its voter");
    println!(
        "{label}: conversation-core lookups, {CONCURRENCY} concurrent: {:.0} lookups/s",
        per_second(count, started.elapsed())
    );
}

/// A real `maktab serve` process on a free loopback port, configured only by environment
/// variables, with the generic SMS webhook enabled and the default abuse limits.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    async fn start(database_url: &str, dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_maktab"))
            .arg("serve")
            // No maktab.toml there: the variables below are the whole configuration.
            .current_dir(dir)
            .env_remove("MAKTAB_CONFIG")
            .env("MAKTAB_DATABASE_URL", database_url)
            .env("MAKTAB_LISTEN", format!("127.0.0.1:{port}"))
            .env("MAKTAB_LOG", "warn")
            .env("MAKTAB_SMS_GENERIC_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start maktab serve");
        let served = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ready = client
                .get(format!("{}/readyz", served.base))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if ready {
                return served;
            }
            assert!(Instant::now() < deadline, "maktab serve did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the process as an operator would (SIGTERM) and waits for it.
    fn stop(mut self) {
        let stopped = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .is_ok_and(|status| status.success());
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Lookups over HTTP: signed "NIN DD/MM/YYYY" messages to the generic SMS webhook of a served
/// instance, each from a sender never seen before (so the per-sender limit of 10 an hour never
/// applies), every answer checked to be the found-voter reply. Then the served process's peak
/// resident memory.
async fn http_lookups(database_url: &str, dir: &Path, voters: u64, label: &str) {
    let seconds = env_number("MAKTAB_BENCH_SECONDS", 10);
    let concurrency = env_number("MAKTAB_BENCH_CONCURRENCY", 16);
    let served = Served::start(database_url, dir).await;
    let lookup = sms_lookup(&served.base, SECRET, voters, u64::MAX);
    // Warm-up (connections, caches) from senders 0..; the measured run from 10,000,000 on.
    let warm_up = load(
        std::sync::Arc::clone(&lookup),
        found_reply(),
        0,
        concurrency,
        Duration::from_secs(1),
        1_000_000,
    )
    .await;
    assert_eq!(warm_up.failures, 0, "every warm-up lookup finds its voter");
    let figures = load(
        lookup,
        found_reply(),
        10_000_000,
        concurrency,
        Duration::from_secs(seconds),
        10_000_000,
    )
    .await;
    figures.print(&format!(
        "{label}: POST /webhooks/sms/generic, maktab serve, {concurrency} connections, a new sender each"
    ));
    assert_eq!(figures.failures, 0, "every lookup finds its voter");
    println!(
        "{label}: found replies {} of {}; peak resident memory of maktab serve (VmHWM): {}",
        figures.requests - figures.failures,
        figures.requests,
        peak_rss(&served.child.id().to_string())
    );
    served.stop();
}

#[tokio::main]
async fn main() {
    let voters = env_number("MAKTAB_BENCH_VOTERS", 24_000_000);
    let count = env_number("MAKTAB_BENCH_LOOKUPS", 20_000);
    let Some(server) = std::env::var("MAKTAB_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("MAKTAB_TEST_POSTGRES_URL"))
        .ok()
    else {
        println!("skipped: set MAKTAB_BENCH_POSTGRES_URL to a PostgreSQL server");
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    println!("# PostgreSQL and SQLite: {voters} voters, {count} lookups per database");
    let started = Instant::now();
    let (map_path, roll_path) = write_files(dir.path(), voters);
    let bytes = std::fs::metadata(&roll_path).map(|m| m.len()).unwrap_or(0);
    println!(
        "roll.csv: {:.0} MiB, written in {:.1} s",
        bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64()
    );

    let name = format!("maktab_bench_{}", std::process::id());
    pg_admin(&server, format!("create database {name}")).await;
    let url = with_database(&server, &name);

    let postgres = store::connect(&url).await.expect("open PostgreSQL");
    let pg_rate = import(&postgres, &map_path, &roll_path, voters, "postgresql").await;
    let reference = psql_copy(&url, &roll_path);
    match reference {
        Ok(elapsed) => {
            let rate = per_second(voters, elapsed);
            println!(
                "postgresql: psql \\copy (same CSV, indexed table) {:.1} s, {rate:.0} rows/s; maktab / copy {:.2}",
                elapsed.as_secs_f64(),
                pg_rate / rate
            );
        }
        Err(why) => println!("postgresql: psql \\copy skipped ({why})"),
    }
    lookups(&postgres, voters, count, "postgresql").await;
    http_lookups(&url, dir.path(), voters, "postgresql").await;
    drop(postgres);
    pg_admin(
        &server,
        format!("drop database if exists {name} with (force)"),
    )
    .await;

    let sqlite_url = format!("sqlite://{}", dir.path().join("maktab.db").display());
    let sqlite = store::connect(&sqlite_url).await.expect("open SQLite");
    let sqlite_rate = import(&sqlite, &map_path, &roll_path, voters, "sqlite").await;
    let reference = sqlite3_import(&dir.path().join("reference.db"), &roll_path);
    match reference {
        Ok(elapsed) => {
            let rate = per_second(voters, elapsed);
            println!(
                "sqlite: sqlite3 .import (same CSV, indexed table) {:.1} s, {rate:.0} rows/s; maktab / .import {:.2}",
                elapsed.as_secs_f64(),
                sqlite_rate / rate
            );
        }
        Err(why) => println!("sqlite: sqlite3 .import skipped ({why})"),
    }
    lookups(&sqlite, voters, count, "sqlite").await;
    http_lookups(&sqlite_url, dir.path(), voters, "sqlite").await;
    drop(sqlite);
    println!(
        "peak resident memory of this bench process (VmHWM; both stores, the importer, 8 core lookup tasks, the HTTP load generator): {}",
        peak_rss("self")
    );
    println!("total {:.0} s", started.elapsed().as_secs_f64());
}
