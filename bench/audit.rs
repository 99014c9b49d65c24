//! Audit chain benchmark (SQLite): how long `audit verify` takes to walk 1,000,000 entries,
//! and what the chain costs an append.
//!
//! Run with `cargo bench --bench audit` (release build). `MAKTAB_BENCH_AUDIT_ENTRIES` sets the
//! chain length (default 1,000,000); `MAKTAB_BENCH_AUDIT_APPENDS` the appends timed through
//! the store (default 5,000). The long chain is written straight into the file in one
//! transaction, with the hashes Maktab computes, because a million single-entry
//! transactions would measure the disk's fsync rather than the chain; entries then look as
//! the service writes them (actor, action, commune, JSON details with a few keys).

use std::process::Command;
use std::time::Instant;

use maktab::domain::CommuneCode;
use maktab::store::{self, ChainedAuditEntry, GENESIS_HASH, NewAuditEntry};
use sqlx::Connection;

mod common;
use common::env_number;

const ACTIONS: [&str; 4] = [
    "import.roll",
    "changes.approve",
    "token.create",
    "reports.export",
];
const COMMUNES: [&str; 4] = ["1601", "3101", "2501", "1501"];

fn entry(i: u64) -> ChainedAuditEntry {
    let n = i as usize;
    ChainedAuditEntry {
        id: i as i64 + 1,
        at: 1_793_700_000 + i as i64,
        actor: format!("Alger Centre office #{}", n % 17),
        action: ACTIONS[n % ACTIONS.len()].to_owned(),
        communes: vec![COMMUNES[n % COMMUNES.len()].to_owned()],
        details: serde_json::json!({
            "source": "roll.csv",
            "rows": i * 3,
            "counts": { "voters": i, "stations": n % 500 },
            "dry_run": false,
        })
        .to_string(),
        prev_hash: None,
        hash: None,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let entries = env_number("MAKTAB_BENCH_AUDIT_ENTRIES", 1_000_000);
    let appends = env_number("MAKTAB_BENCH_AUDIT_APPENDS", 5_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    drop(store::connect(&url).await?);

    let started = Instant::now();
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let mut tx = conn.begin().await?;
    let mut prev = GENESIS_HASH.to_owned();
    for i in 0..entries {
        let mut entry = entry(i);
        let hash = entry
            .computed_hash(&prev)
            .ok_or_else(|| anyhow::anyhow!("details are JSON"))?;
        entry.prev_hash = Some(std::mem::replace(&mut prev, hash.clone()));
        entry.hash = Some(hash);
        sqlx::query(
            "insert into audit_log (id, at, actor, action, communes, details, prev_hash, hash)
             values (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(entry.id)
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(entry.communes.join(","))
        .bind(&entry.details)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    conn.close().await?;
    println!(
        "wrote {entries} chained entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let store = store::connect(&url).await?;
    let started = Instant::now();
    let verification = store.verify_audit_chain().await?;
    let walked = started.elapsed();
    anyhow::ensure!(
        verification.broken.is_none() && verification.checked == entries,
        "the chain does not hold: {verification:?}"
    );
    println!(
        "verify_audit_chain: {entries} entries in {:.2} s ({:.0} entries/s)",
        walked.as_secs_f64(),
        entries as f64 / walked.as_secs_f64()
    );

    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_maktab"))
        .env("MAKTAB_DATABASE_URL", &url)
        .env_remove("MAKTAB_CONFIG")
        .args(["audit", "verify"])
        .output()?;
    anyhow::ensure!(output.status.success(), "maktab audit verify failed");
    println!(
        "maktab audit verify (the binary, start-up included): {:.2} s: {}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
    );

    let commune = CommuneCode::parse("1601")?;
    let started = Instant::now();
    for i in 0..appends {
        store
            .append_audit(NewAuditEntry {
                at: 1_793_800_000 + i as i64,
                actor: "bench".to_owned(),
                action: "token.create".to_owned(),
                communes: vec![commune.clone()],
                details: serde_json::json!({ "i": i }),
            })
            .await?;
    }
    let appended = started.elapsed();
    println!(
        "append_audit through the store, one transaction each: {appends} in {:.2} s ({:.0}/s)",
        appended.as_secs_f64(),
        appends as f64 / appended.as_secs_f64()
    );
    Ok(())
}
