//! Import benchmark: peak memory (`VmHWM`) and rows per second of a roll import through the
//! one reader (CSV), and of an `.xlsx` roll (written here with `rust_xlsxwriter`).
//!
//! Run with `cargo bench --bench import` (release build). `MAKTAB_BENCH_VOTERS` sets the CSV
//! roll's size (default 1,000,000; the national figure is 24,000,000: it needs some 4 GB of
//! disk and several minutes, so run it once); `MAKTAB_BENCH_XLSX_ROWS` the workbook's
//! (default 100,000). The peak is the whole process's, read after the CSV import, before the
//! workbook is built.

use std::io::BufRead as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use maktab::roll::reader::ReadOptions;
use maktab::roll::{self, ImportOptions};
use maktab::store;

mod common;
use common::{env_number, peak_rss, write_files};

fn per_second(rows: u64, elapsed: Duration) -> f64 {
    rows as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn options(read: ReadOptions) -> ImportOptions {
    ImportOptions {
        allowed_communes: None,
        dry_run: false,
        max_voters_per_station: 500,
        source: "bench".to_owned(),
        actor: "bench".to_owned(),
        read,
        keep_every_error: false,
    }
}

/// Writes the roll CSV as a workbook: text cells for codes and NINs, numbers for stations.
fn workbook(roll: &std::path::Path) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let file = std::io::BufReader::new(std::fs::File::open(roll).expect("open roll"));
    for (row, line) in file.lines().enumerate() {
        let line = line.expect("read roll");
        for (col, cell) in line.split(',').enumerate() {
            let (row, col) = (row as u32, col as u16);
            match cell.parse::<f64>() {
                Ok(number) if col == 5 => sheet.write_number(row, col, number),
                _ => sheet.write_string(row, col, cell),
            }
            .expect("write cell");
        }
    }
    workbook.save_to_buffer().expect("save workbook")
}

#[tokio::main]
async fn main() {
    let voters = env_number("MAKTAB_BENCH_VOTERS", 1_000_000);
    let xlsx_rows = env_number("MAKTAB_BENCH_XLSX_ROWS", 100_000);
    println!("# Maktab import benchmark: {voters} voters as CSV, {xlsx_rows} as XLSX");

    let dir = tempfile::tempdir().expect("temporary directory");
    let (map_path, roll_path) = write_files(dir.path(), voters);
    let bytes = std::fs::metadata(&roll_path).map(|m| m.len()).unwrap_or(0);
    println!("roll.csv: {:.1} MiB", bytes as f64 / 1_048_576.0);
    let url = format!("sqlite://{}", dir.path().join("maktab.db").display());
    let store = store::connect(&url).await.expect("open database");
    let csv = options(ReadOptions::default());
    roll::import_map(
        store.as_ref(),
        std::fs::File::open(&map_path).expect("map"),
        &csv,
    )
    .await
    .expect("map imports");
    let before = peak_rss("self");
    let started = Instant::now();
    let outcome = roll::import_roll(
        Arc::clone(&store),
        std::fs::File::open(&roll_path).expect("roll"),
        &csv,
    )
    .await
    .expect("roll imports");
    let elapsed = started.elapsed();
    assert_eq!(outcome.report.counts.voters, voters);
    println!(
        "CSV roll import: {:.2} s, {:.0} rows/s; peak resident memory (VmHWM) {} (before the roll: {before})",
        elapsed.as_secs_f64(),
        per_second(voters, elapsed),
        peak_rss("self")
    );
    drop(store);
    drop(dir);

    let dir = tempfile::tempdir().expect("temporary directory");
    let (map_path, roll_path) = write_files(dir.path(), xlsx_rows);
    let book = workbook(&roll_path);
    println!("roll.xlsx: {:.1} MiB", book.len() as f64 / 1_048_576.0);
    let url = format!("sqlite://{}", dir.path().join("maktab.db").display());
    let store = store::connect(&url).await.expect("open database");
    roll::import_map(
        store.as_ref(),
        std::fs::File::open(&map_path).expect("map"),
        &csv,
    )
    .await
    .expect("map imports");
    let xlsx = options(ReadOptions {
        file_name: Some("roll.xlsx".to_owned()),
        ..ReadOptions::default()
    });
    let started = Instant::now();
    let outcome = roll::import_roll(Arc::clone(&store), std::io::Cursor::new(book), &xlsx)
        .await
        .expect("workbook imports");
    let elapsed = started.elapsed();
    assert_eq!(outcome.report.counts.voters, xlsx_rows);
    println!(
        "XLSX roll import: {:.2} s, {:.0} rows/s",
        elapsed.as_secs_f64(),
        per_second(xlsx_rows, elapsed)
    );
}
