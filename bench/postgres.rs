//! PostgreSQL beside SQLite: roll import through Maktab's import path into each database,
//! beside the databases' own bulk loaders on the same file (`psql \copy` into an equivalent
//! indexed table, sqlite3 `.import`), then conversation-core lookups per second on each, and
//! the peak resident memory of this process (which holds the service's store and core).
//!
//! Run with `cargo bench --bench postgres`. Needs `MAKTAB_BENCH_POSTGRES_URL` (or
//! `MAKTAB_TEST_POSTGRES_URL`), a server where it may create and drop a database, plus the
//! `psql` and `sqlite3` commands. `MAKTAB_BENCH_VOTERS` sets the roll size (default
//! 24,000,000; the roll is written to a temporary file, never held in memory) and
//! `MAKTAB_BENCH_LOOKUPS` the lookups per database (default 20,000).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use maktab::conversation::{Conversation, ConversationSettings, Inbound, LookupOutcome};
use maktab::domain::Channel;
use maktab::i18n::Catalog;
use maktab::roll::{self, ImportOptions};
use maktab::store::{self, Store};
use sqlx::Connection;

mod common;
use common::{birth_date, env_number, nin, write_files};

const CONCURRENCY: u64 = 8;

/// Runs a command with a script on its standard input; `None` if it is missing or fails.
fn timed_script(command: &mut Command, script: &str) -> Option<Duration> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(script.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        eprintln!(
            "reference failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    Some(started.elapsed())
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// This process's peak resident memory, from `/proc/self/status`.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn with_database(server: &str, database: &str) -> String {
    let (base, query) = server.split_once('?').unwrap_or((server, ""));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{database}{query}", &base[..path])
}

async fn admin(server: &str, sql: String) {
    let mut connection = sqlx::PgConnection::connect(server)
        .await
        .expect("connect to PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut connection)
        .await
        .expect("administer the benchmark database");
    let _ = connection.close().await;
}

async fn import(
    store: &Arc<dyn Store>,
    map: &Path,
    roll_file: &Path,
    voters: u64,
    label: &str,
) -> f64 {
    let options = ImportOptions {
        allowed_communes: None,
        dry_run: false,
        max_voters_per_station: 500,
        source: "bench".to_owned(),
        actor: "bench".to_owned(),
    };
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
    admin(&server, format!("create database {name}")).await;
    let url = with_database(&server, &name);

    let postgres = store::connect(&url).await.expect("open PostgreSQL");
    let pg_rate = import(&postgres, &map_path, &roll_path, voters, "postgresql").await;
    let reference = timed_script(
        Command::new("psql")
            .arg("-q")
            .arg("-v")
            .arg("ON_ERROR_STOP=1")
            .arg(&url),
        &format!(
            "create table reference_voters (nin text primary key, birth_date date not null, sex text, \
             commune_code text not null, centre_code text not null, station integer not null);\n\
             \\copy reference_voters from '{}' with (format csv, header true)\n",
            roll_path.display()
        ),
    );
    match reference {
        Some(elapsed) => {
            let rate = per_second(voters, elapsed);
            println!(
                "postgresql: psql \\copy (same CSV, indexed table) {:.1} s, {rate:.0} rows/s; maktab / copy {:.2}",
                elapsed.as_secs_f64(),
                pg_rate / rate
            );
        }
        None => println!("postgresql: psql \\copy skipped (psql missing or failed)"),
    }
    lookups(&postgres, voters, count, "postgresql").await;

    let sqlite_url = format!("sqlite://{}", dir.path().join("maktab.db").display());
    let sqlite = store::connect(&sqlite_url).await.expect("open SQLite");
    let sqlite_rate = import(&sqlite, &map_path, &roll_path, voters, "sqlite").await;
    let reference = timed_script(
        Command::new("sqlite3").arg(dir.path().join("reference.db")),
        &format!(
            "pragma journal_mode = wal;\n\
             create table roll_voters (nin text not null primary key, birth_date text not null, sex text, \
             commune_code text not null, centre_code text not null, station integer not null) without rowid;\n\
             .import --csv --skip 1 {} roll_voters\n",
            roll_path.display()
        ),
    );
    match reference {
        Some(elapsed) => {
            let rate = per_second(voters, elapsed);
            println!(
                "sqlite: sqlite3 .import (same CSV, indexed table) {:.1} s, {rate:.0} rows/s; maktab / .import {:.2}",
                elapsed.as_secs_f64(),
                sqlite_rate / rate
            );
        }
        None => println!("sqlite: sqlite3 .import skipped (sqlite3 missing or failed)"),
    }
    lookups(&sqlite, voters, count, "sqlite").await;
    println!(
        "peak resident memory of the process (VmHWM): {}",
        peak_rss()
    );

    drop(postgres);
    admin(
        &server,
        format!("drop database if exists {name} with (force)"),
    )
    .await;
}
