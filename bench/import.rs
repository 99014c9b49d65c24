//! Import benchmark, one run on one generated roll CSV: Maktab's roll import into SQLite
//! through the one reader (time, rows per second, peak resident memory), the sqlite3 command
//! line's `.import` of the same file, and, when `MAKTAB_BENCH_POSTGRES_URL` names a server,
//! Maktab's import into PostgreSQL and `psql \copy` of the same file, each with the ratio
//! Maktab / reference; then an `.xlsx` roll (written here with `rust_xlsxwriter`).
//!
//! Run with `cargo bench --bench import` (release build). `MAKTAB_BENCH_VOTERS` sets the CSV
//! roll's size (default 1,000,000; the national figure is 24,000,000: some 1 GiB of CSV, a few
//! GiB of databases and half an hour), `MAKTAB_BENCH_XLSX_ROWS` the workbook's (default
//! 100,000). The references need the `sqlite3` and `psql` commands; a missing one is reported
//! and its line skipped.
//!
//! Peak memory: each of Maktab's imports runs in a process of its own (this benchmark run
//! again, told what to import by `MAKTAB_BENCH_CHILD_*`), as the references do: in one
//! process, memory an earlier import freed but the allocator kept counted in the next one's
//! peak (227 MiB of PostgreSQL's 432 MiB at 24,000,000 voters came from the SQLite import
//! before it). There, after the map is imported, `VmHWM` is reset to the resident size (`5`
//! into `/proc/self/clear_refs`), so each figure is the peak of the roll import alone (it
//! cannot fall below what the process held when the import began, which is printed beside
//! it). `VmHWM` counts pages of files mapped into memory: SQLite maps up to
//! 1 GiB of its database (`mmap_size`), pages the kernel can drop at any time, so the peak of
//! anonymous memory (`RssAnon`, what the importer itself allocated, sampled every 20 ms) is
//! printed beside it. The references run in their own processes and do not count here.

use std::io::BufRead as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use maktab::roll::reader::ReadOptions;
use maktab::roll::{self, ImportOptions};
use maktab::store::{self, Store};

mod common;
use common::{
    AnonSampler, env_number, import_options, per_second, pg_admin, psql_copy, reset_peak_rss,
    sqlite3_import, status_kb, with_database, write_files,
};

/// One line of the closing table.
struct Figure {
    what: String,
    rows: u64,
    elapsed: Duration,
    /// Peak resident memory of the import (`VmHWM`) and peak anonymous memory (`RssAnon`,
    /// sampled), in kB.
    memory: Option<(Option<u64>, Option<u64>)>,
    note: String,
}

impl Figure {
    fn rate(&self) -> f64 {
        per_second(self.rows, self.elapsed)
    }
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or_else(
        || "unknown".to_owned(),
        |kb| format!("{:.1} MiB", kb as f64 / 1024.0),
    )
}

/// Imports the map (CSV) untimed, then the roll, read as `options` says, timed, with its own
/// peak resident memory.
async fn maktab_import(
    store: &Arc<dyn Store>,
    map: &Path,
    roll_file: &Path,
    rows: u64,
    options: &ImportOptions,
    what: &str,
) -> Figure {
    roll::import_map(
        store.as_ref(),
        std::fs::File::open(map).expect("open map"),
        &import_options(ReadOptions::default()),
    )
    .await
    .expect("map imports");
    let reset = reset_peak_rss();
    let resident = status_kb("self", "VmRSS");
    let sampler = AnonSampler::start();
    let started = Instant::now();
    let outcome = roll::import_roll(
        Arc::clone(store),
        std::fs::File::open(roll_file).expect("open roll"),
        options,
    )
    .await
    .expect("roll imports");
    let elapsed = started.elapsed();
    let peak = status_kb("self", "VmHWM");
    let anon = sampler.stop();
    assert_eq!(outcome.report.counts.voters, rows);
    let note = if reset {
        format!(
            "peak of this import alone, in its own process (resident at its start: {})",
            mib(resident)
        )
    } else {
        "VmHWM could not be reset: peak of the process so far".to_owned()
    };
    let figure = Figure {
        what: what.to_owned(),
        rows,
        elapsed,
        memory: Some((peak, anon)),
        note,
    };
    println!(
        "{what}: {:.2} s, {:.0} rows/s, peak resident memory (VmHWM) {}, of which anonymous (RssAnon, sampled) {}",
        elapsed.as_secs_f64(),
        figure.rate(),
        mib(peak),
        mib(anon)
    );
    figure
}

/// What a child process is told to import (see the module's doc).
const CHILD_URL: &str = "MAKTAB_BENCH_CHILD_URL";
const CHILD_MAP: &str = "MAKTAB_BENCH_CHILD_MAP";
const CHILD_ROLL: &str = "MAKTAB_BENCH_CHILD_ROLL";
const CHILD_ROWS: &str = "MAKTAB_BENCH_CHILD_ROWS";
const CHILD_FILE_NAME: &str = "MAKTAB_BENCH_CHILD_FILE_NAME";
const CHILD_WHAT: &str = "MAKTAB_BENCH_CHILD_WHAT";
/// The child's last line starts with this, then the figure's fields, tab-separated.
const FIGURE_LINE: &str = "figure\t";

fn kb_field(kb: Option<u64>) -> String {
    kb.map_or_else(|| "-".to_owned(), |kb| kb.to_string())
}

/// Runs [`maktab_import`] in a new process of this benchmark into the store at `url`, and
/// reads its figure back.
fn import_in_own_process(
    url: &str,
    map: &Path,
    roll_file: &Path,
    rows: u64,
    file_name: Option<&str>,
    what: &str,
) -> Figure {
    let mut command =
        std::process::Command::new(std::env::current_exe().expect("this benchmark's path"));
    command
        .env(CHILD_URL, url)
        .env(CHILD_MAP, map)
        .env(CHILD_ROLL, roll_file)
        .env(CHILD_ROWS, rows.to_string())
        .env(CHILD_WHAT, what)
        .stderr(std::process::Stdio::inherit());
    if let Some(name) = file_name {
        command.env(CHILD_FILE_NAME, name);
    }
    let output = command.output().expect("run the import's process");
    assert!(output.status.success(), "{what}: {}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut figure = None;
    for line in stdout.lines() {
        match line.strip_prefix(FIGURE_LINE) {
            Some(fields) => {
                let fields: Vec<&str> = fields.splitn(4, '\t').collect();
                let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
                let seconds: f64 = fields[0].parse().expect("elapsed seconds");
                figure = Some(Figure {
                    what: what.to_owned(),
                    rows,
                    elapsed: Duration::from_secs_f64(seconds),
                    memory: Some((number(1), number(2))),
                    note: fields.get(3).copied().unwrap_or_default().to_owned(),
                });
            }
            None => println!("{line}"),
        }
    }
    figure.unwrap_or_else(|| panic!("{what}: no figure from its process"))
}

/// The child's side: one import, its figure as the last line.
async fn run_child(url: &str) {
    let path = |name: &str| std::path::PathBuf::from(std::env::var(name).expect(name));
    let rows: u64 = std::env::var(CHILD_ROWS)
        .expect(CHILD_ROWS)
        .parse()
        .expect("rows");
    let what = std::env::var(CHILD_WHAT).expect(CHILD_WHAT);
    let options = import_options(ReadOptions {
        file_name: std::env::var(CHILD_FILE_NAME).ok(),
        ..ReadOptions::default()
    });
    let store = store::connect(url).await.expect("open the store");
    let figure = maktab_import(
        &store,
        &path(CHILD_MAP),
        &path(CHILD_ROLL),
        rows,
        &options,
        &what,
    )
    .await;
    drop(store);
    let (peak, anon) = figure.memory.unwrap_or_default();
    println!(
        "{FIGURE_LINE}{}\t{}\t{}\t{}",
        figure.elapsed.as_secs_f64(),
        kb_field(peak),
        kb_field(anon),
        figure.note
    );
}

/// A reference loader's line, or why it is skipped.
fn reference(
    what: &str,
    rows: u64,
    timed: Result<Duration, String>,
    maktab: &Figure,
) -> Option<Figure> {
    match timed {
        Ok(elapsed) => {
            let rate = per_second(rows, elapsed);
            let ratio = maktab.rate() / rate;
            println!(
                "{what}: {:.2} s, {rate:.0} rows/s; ratio {} / reference {ratio:.2}",
                elapsed.as_secs_f64(),
                maktab.what
            );
            Some(Figure {
                what: what.to_owned(),
                rows,
                elapsed,
                memory: None,
                note: format!("ratio Maktab / this: **{ratio:.2}**"),
            })
        }
        Err(why) => {
            println!("{what}: skipped ({why})");
            None
        }
    }
}

/// Writes the roll CSV as a workbook: text cells for codes and NINs, numbers for stations.
fn workbook(roll: &Path) -> Vec<u8> {
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
    if let Ok(url) = std::env::var(CHILD_URL) {
        run_child(&url).await;
        return;
    }
    let voters = env_number("MAKTAB_BENCH_VOTERS", 1_000_000);
    let xlsx_rows = env_number("MAKTAB_BENCH_XLSX_ROWS", 100_000);
    let postgres = std::env::var("MAKTAB_BENCH_POSTGRES_URL").ok();
    println!("# Maktab import benchmark: {voters} voters as CSV, {xlsx_rows} as XLSX");
    let run_started = Instant::now();
    let mut figures = Vec::new();

    let dir = tempfile::tempdir().expect("temporary directory");
    let (map_path, roll_path) = write_files(dir.path(), voters);
    let bytes = std::fs::metadata(&roll_path).map(|m| m.len()).unwrap_or(0);
    println!("roll.csv: {:.1} MiB", bytes as f64 / 1_048_576.0);

    // (a) and (b): SQLite, then the sqlite3 command line on the same file.
    let db = dir.path().join("maktab.db");
    let sqlite = import_in_own_process(
        &format!("sqlite://{}", db.display()),
        &map_path,
        &roll_path,
        voters,
        None,
        "Maktab CSV import into SQLite",
    );
    // The database is not needed any more: at 24 million voters it holds gigabytes.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let dot_import = reference(
        "sqlite3 .import, same file, NIN primary key",
        voters,
        sqlite3_import(&dir.path().join("reference.db"), &roll_path),
        &sqlite,
    );
    figures.push(sqlite);
    figures.extend(dot_import);

    // (c) and (d): PostgreSQL, in a database of its own, dropped at the end.
    match &postgres {
        Some(server) => {
            let name = format!("maktab_bench_import_{}", std::process::id());
            pg_admin(server, format!("create database {name}")).await;
            let url = with_database(server, &name);
            let maktab = import_in_own_process(
                &url,
                &map_path,
                &roll_path,
                voters,
                None,
                "Maktab CSV import into PostgreSQL",
            );
            let copy = reference(
                "psql \\copy, same file, NIN primary key",
                voters,
                psql_copy(&url, &roll_path),
                &maktab,
            );
            pg_admin(
                server,
                format!("drop database if exists {name} with (force)"),
            )
            .await;
            figures.push(maktab);
            figures.extend(copy);
        }
        None => println!("PostgreSQL: skipped (set MAKTAB_BENCH_POSTGRES_URL)"),
    }
    drop(dir);

    // (e) XLSX: the first rows of the same data set as a workbook.
    let dir = tempfile::tempdir().expect("temporary directory");
    let (map_path, roll_path) = write_files(dir.path(), xlsx_rows);
    let book = workbook(&roll_path);
    let book_path = dir.path().join("roll.xlsx");
    std::fs::write(&book_path, &book).expect("write roll.xlsx");
    println!("roll.xlsx: {:.1} MiB", book.len() as f64 / 1_048_576.0);
    drop(book);
    figures.push(import_in_own_process(
        &format!("sqlite://{}", dir.path().join("maktab.db").display()),
        &map_path,
        &book_path,
        xlsx_rows,
        Some("roll.xlsx"),
        "Maktab XLSX import into SQLite",
    ));

    println!();
    println!(
        "| {voters} voters ({:.1} MiB CSV), {xlsx_rows} XLSX rows | rows | time | rows/s | peak resident (VmHWM) | peak anonymous (RssAnon) | note |",
        bytes as f64 / 1_048_576.0
    );
    println!("|---|---|---|---|---|---|---|");
    for figure in &figures {
        let (peak, anon) = figure.memory.map_or_else(
            || ("(own process)".to_owned(), String::new()),
            |(peak, anon)| (mib(peak), mib(anon)),
        );
        println!(
            "| {} | {} | {:.1} s | {:.0} | {peak} | {anon} | {} |",
            figure.what,
            figure.rows,
            figure.elapsed.as_secs_f64(),
            figure.rate(),
            figure.note
        );
    }
    println!("whole run: {:.0} s", run_started.elapsed().as_secs_f64());
}
