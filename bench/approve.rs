//! Commune revisions at national scale (issue 14): one commune's office imports its revised
//! roll and a second officer approves it, over a national roll, commune after commune, as the
//! 1,541 offices do in the weeks before an election.
//!
//! Run with `cargo bench --bench approve` (release build). `MAKTAB_BENCH_VOTERS` sets the
//! national roll (default 1,000,000; 24,000,000 is the national figure), and
//! `MAKTAB_BENCH_COMMUNES` how many communes revise (default 5). With
//! `MAKTAB_BENCH_POSTGRES_URL` the same runs on PostgreSQL too, in a database it creates and
//! drops.
//!
//! Each revision moves 50 voters of one station to the next station and drops 10 voters. Beside
//! the revisions, in the same run, the bench times one copy of the whole roll
//! (`create table … as select * from roll_voters`): what an approval cost while the roll was
//! kept as whole versions (each approval or commune import copied it), so the printed ratio
//! is what a slice saves.

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use maktab::domain::{CommuneCode, NationalId};
use maktab::store::{self, ChangeSetStatus, NewAuditEntry, Store};

mod common;
use common::{env_number, import_generated, pg_admin, with_database, write_files_in_communes};

/// The commune's rows of the generated roll, revised: the first 50 voters of its first
/// station move to station 2, the next 10 are dropped. Returns the file and one moved NIN.
fn revised_commune(roll: &Path, commune: &str, out: &Path) -> String {
    let file = std::io::BufReader::new(std::fs::File::open(roll).expect("open roll"));
    let mut writer = std::io::BufWriter::new(std::fs::File::create(out).expect("create"));
    let mut lines = file.lines();
    let header = lines.next().expect("header").expect("read");
    writeln!(writer, "{header}").expect("write");
    let (mut taken, mut moved) = (0u64, String::new());
    for line in lines {
        let line = line.expect("read roll");
        let fields: Vec<&str> = line.split(',').collect();
        if fields[3] != commune {
            continue;
        }
        taken += 1;
        match taken {
            1..=50 if fields[5] == "1" => {
                moved = fields[0].to_owned();
                writeln!(
                    writer,
                    "{},{},{},{},{},2",
                    fields[0], fields[1], fields[2], fields[3], fields[4]
                )
                .expect("write");
            }
            51..=60 => {}
            _ => writeln!(writer, "{line}").expect("write"),
        }
    }
    writer.flush().expect("flush");
    assert!(!moved.is_empty(), "commune {commune} has a first station");
    moved
}

/// Seconds to copy every row of `roll_voters` once, through a connection of its own.
async fn whole_roll_copy(url: &str) -> f64 {
    let statements = [
        "create table bench_roll_copy as select * from roll_voters",
        "drop table bench_roll_copy",
    ];
    let started = Instant::now();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        sqlx::query(statements[0])
            .execute(&pool)
            .await
            .expect("copy");
        let elapsed = started.elapsed().as_secs_f64();
        sqlx::query(statements[1])
            .execute(&pool)
            .await
            .expect("drop");
        pool.close().await;
        elapsed
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query(statements[0])
            .execute(&pool)
            .await
            .expect("copy");
        let elapsed = started.elapsed().as_secs_f64();
        sqlx::query(statements[1])
            .execute(&pool)
            .await
            .expect("drop");
        pool.close().await;
        elapsed
    }
}

async fn run(name: &str, url: &str, dir: &Path, voters: u64, communes: u64) {
    let (map, roll) = (dir.join("map.csv"), dir.join("roll.csv"));
    let store: Arc<dyn Store> = store::connect(url).await.expect("open database");
    import_generated(&store, &map, &roll, voters).await;
    let copy = whole_roll_copy(url).await;
    println!("{name}: one copy of the whole roll ({voters} rows): {copy:.2} s");
    let (mut imports, mut approvals) = (Vec::new(), Vec::new());
    for c in 0..communes {
        let code = format!("{c:04}");
        let file = dir.join(format!("commune-{code}.csv"));
        let moved = revised_commune(&roll, &code, &file);
        let options = maktab::roll::ImportOptions {
            allowed_communes: Some(vec![CommuneCode::parse(&code).expect("code")]),
            dry_run: false,
            max_voters_per_station: 500,
            source: file.display().to_string(),
            actor: format!("office {code}"),
            read: Default::default(),
            keep_every_error: false,
        };
        let started = Instant::now();
        let input = std::fs::File::open(&file).expect("open commune file");
        maktab::roll::import_roll(Arc::clone(&store), input, &options)
            .await
            .expect("commune roll imports");
        let imported = started.elapsed().as_secs_f64();
        let pending = store
            .change_sets(Some(ChangeSetStatus::Pending), 10)
            .await
            .expect("change sets");
        let [change_set] = pending.as_slice() else {
            panic!("one pending change set expected, got {pending:?}");
        };
        let started = Instant::now();
        store
            .approve_change_set(
                change_set.id,
                "second officer",
                1_800_000_000,
                NewAuditEntry {
                    at: 1_800_000_000,
                    actor: "second officer".to_owned(),
                    action: "changes.roll.approve".to_owned(),
                    communes: vec![CommuneCode::parse(&code).expect("code")],
                    details: serde_json::json!({ "change_set": change_set.id }),
                },
            )
            .await
            .expect("approve");
        let approved = started.elapsed().as_secs_f64();
        let found = store
            .find_voter(&NationalId::parse(&moved).expect("nin"))
            .await
            .expect("find")
            .expect("the moved voter is on the roll");
        assert_eq!(
            found.place.station.get(),
            2,
            "the approval applies the move"
        );
        println!(
            "{name}: commune {code}: import {imported:.2} s, approval {:.1} ms",
            approved * 1000.0
        );
        imports.push(imported);
        approvals.push(approved);
    }
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    println!(
        "{name}: {communes} revisions over {voters} voters: import mean {:.2} s, approval mean {:.1} ms; \
         ratio approval / whole-roll copy: {:.4}",
        mean(&imports),
        mean(&approvals) * 1000.0,
        mean(&approvals) / copy.max(1e-9)
    );
}

#[tokio::main]
async fn main() {
    let voters = env_number("MAKTAB_BENCH_VOTERS", 1_000_000);
    let communes = env_number("MAKTAB_BENCH_COMMUNES", 5);
    println!("# Maktab commune revisions: {voters} voters, {communes} communes revise");
    let dir = tempfile::tempdir().expect("temporary directory");
    // Communes of 16,000 voters, the national mean (24,000,000 voters in 1,541 communes).
    write_files_in_communes(dir.path(), voters, 4);
    let sqlite = format!("sqlite://{}", dir.path().join("maktab.db").display());
    run("sqlite", &sqlite, dir.path(), voters, communes).await;
    if let Ok(server) = std::env::var("MAKTAB_BENCH_POSTGRES_URL") {
        let database = "maktab_bench_approve";
        pg_admin(&server, format!("drop database if exists {database}")).await;
        pg_admin(&server, format!("create database {database}")).await;
        run(
            "postgres",
            &with_database(&server, database),
            dir.path(),
            voters,
            communes,
        )
        .await;
        pg_admin(&server, format!("drop database {database} with (force)")).await;
    }
}
