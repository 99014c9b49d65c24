//! Core benchmark: roll import throughput beside the sqlite3 command line's `.import` of the
//! same CSV into an equivalent indexed table, and lookups per second of the conversation core
//! against the imported roll.
//!
//! Run with `cargo bench --bench core` (release build). `MAKTAB_BENCH_VOTERS` sets the roll
//! size (default 1,000,000); `MAKTAB_BENCH_LOOKUPS` the number of lookups (default 20,000).
//! The reference needs the `sqlite3` command (`apt-get install sqlite3`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use maktab::conversation::stats::LookupRecorder;
use maktab::conversation::{Conversation, ConversationSettings, Inbound, LookupOutcome};
use maktab::domain::Channel;
use maktab::i18n::Catalog;
use maktab::roll;
use maktab::store;

mod common;
use common::{
    birth_date, env_number, import_options, nin, per_second, sqlite3_import, write_files,
};

#[tokio::main]
async fn main() {
    let voters = env_number("MAKTAB_BENCH_VOTERS", 1_000_000);
    let lookups = env_number("MAKTAB_BENCH_LOOKUPS", 20_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    println!("# Maktab core benchmark: {voters} voters, {lookups} lookups");
    let (map_path, roll_path) = write_files(dir.path(), voters);
    let roll_bytes = std::fs::metadata(&roll_path).map(|m| m.len()).unwrap_or(0);
    println!("roll.csv: {:.1} MiB", roll_bytes as f64 / 1_048_576.0);

    let url = format!("sqlite://{}", dir.path().join("maktab.db").display());
    let store = store::connect(&url).await.expect("open database");
    let options = import_options(Default::default());
    let map = std::fs::File::open(&map_path).expect("open map");
    roll::import_map(store.as_ref(), map, &options)
        .await
        .expect("map imports");

    let file = std::fs::File::open(&roll_path).expect("open roll");
    let started = Instant::now();
    let outcome = roll::import_roll(Arc::clone(&store), file, &options)
        .await
        .expect("roll imports");
    let import = started.elapsed();
    assert_eq!(outcome.report.counts.voters, voters);
    let import_rate = per_second(voters, import);
    println!(
        "maktab import roll: {:.2} s, {:.0} rows/s",
        import.as_secs_f64(),
        import_rate
    );
    match sqlite3_import(&dir.path().join("reference.db"), &roll_path) {
        Ok(reference) => {
            let reference_rate = per_second(voters, reference);
            println!(
                "sqlite3 .import (same CSV, equivalent indexed table): {:.2} s, {:.0} rows/s",
                reference.as_secs_f64(),
                reference_rate
            );
            println!(
                "ratio maktab / sqlite3: {:.2}",
                import_rate / reference_rate
            );
        }
        Err(why) => println!("sqlite3 .import: skipped ({why}; apt-get install sqlite3)"),
    }

    let catalog = Arc::new(Catalog::load().expect("catalogues"));
    let settings = ConversationSettings {
        max_lookups_per_sender_per_hour: u64::MAX,
        ..ConversationSettings::default()
    };
    let plain = Conversation::new(Arc::clone(&store), Arc::clone(&catalog), settings.clone());
    let recorder = Arc::new(LookupRecorder::new());
    let recording = Conversation::new(Arc::clone(&store), catalog, settings)
        .with_recorder(Arc::clone(&recorder));
    // Statistics are flushed every second during the run, as the server does every five.
    let flusher = {
        let (recorder, store) = (Arc::clone(&recorder), Arc::clone(&store));
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let _ = recorder.flush(store.as_ref()).await;
            }
        })
    };
    let mut rates = Vec::new();
    // Runs alternate (off, on, off, on) so that drift of the machine affects both alike.
    for (round, (label, conversation)) in [
        ("off", &plain),
        ("on", &recording),
        ("off", &plain),
        ("on", &recording),
    ]
    .into_iter()
    .enumerate()
    {
        let concurrency = 8u64;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..concurrency {
            let conversation = conversation.clone();
            tasks.push(tokio::spawn(async move {
                for k in (worker..lookups).step_by(concurrency as usize) {
                    let i = k.wrapping_mul(104_729).wrapping_add(round as u64) % voters;
                    let (y, m, d) = birth_date(i);
                    let inbound = Inbound {
                        channel: Channel::Sms,
                        sender: format!("+2136{:08}", k % 100_000),
                        text: format!("{} {d:02}/{m:02}/{y}", nin(i)),
                    };
                    conversation.handle(&inbound).await;
                }
            }));
        }
        for task in tasks {
            task.await.expect("lookup task");
        }
        let rate = per_second(lookups, started.elapsed());
        println!("statistics recording {label}, 8 concurrent: {rate:.0} lookups/s");
        rates.push((label, rate));
    }
    flusher.abort();
    let mean = |wanted: &str| {
        let picked: Vec<f64> = rates
            .iter()
            .filter(|(l, _)| *l == wanted)
            .map(|(_, r)| *r)
            .collect();
        picked.iter().sum::<f64>() / picked.len() as f64
    };
    println!(
        "statistics recording cost: on/off throughput ratio {:.3} ({:.1}% slower)",
        mean("on") / mean("off"),
        (1.0 - mean("on") / mean("off")) * 100.0
    );
    let conversation = plain;
    for concurrency in [1u64, 8] {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..concurrency {
            let conversation = conversation.clone();
            tasks.push(tokio::spawn(async move {
                let mut found = 0u64;
                for k in (worker..lookups).step_by(concurrency as usize) {
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
        let elapsed = started.elapsed();
        assert_eq!(found, lookups, "every lookup finds its voter");
        println!(
            "conversation core lookups, {concurrency} concurrent: {:.0} lookups/s ({:.3} ms each on average per task)",
            per_second(lookups, elapsed),
            elapsed.as_secs_f64() * 1000.0 * concurrency as f64 / lookups as f64
        );
    }
}
