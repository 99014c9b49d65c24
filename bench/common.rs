//! What the benchmarks share: their size from the environment and the generated map and roll
//! (stations of 400 voters, 10 stations per centre, 50 centres per commune, NINs spread over
//! the whole 18-digit space), so every benchmark measures the same data set.

// Each benchmark is its own crate and uses only part of this module.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const STATIONS_PER_CENTRE: u64 = 10;
pub const VOTERS_PER_STATION: u64 = 400;

/// A size from the environment (`1_000_000` accepted), or the default.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The peak resident memory (`VmHWM`) of a process (`"self"` or a process id), from
/// `/proc/PID/status`, as the kernel prints it ("161240 kB").
pub fn peak_rss(pid: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// One status line of a process (`"self"` or a process id) in kilobytes: `VmHWM` (peak
/// resident memory), `VmRSS` (resident now).
pub fn status_kb(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let value = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    value.trim().trim_end_matches("kB").trim().parse().ok()
}

/// Resets this process's `VmHWM` to its current resident size (Linux: `5` written to
/// `/proc/self/clear_refs`), so that the next reading is the peak of what runs in between
/// rather than of everything before. Returns whether the kernel accepted it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Samples this process's `RssAnon` (heap and stacks, what the process itself allocated) in a
/// thread of its own every 20 ms, until stopped; the peak is what `VmHWM` would say without
/// file pages mapped into memory (SQLite's `mmap_size` makes pages of the database file count
/// as resident, though the kernel may drop them at any time).
pub struct AnonSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Option<u64>>,
}

impl AnonSampler {
    pub fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut peak = None;
            loop {
                peak = peak.max(status_kb("self", "RssAnon"));
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    return peak;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self { stop, thread }
    }

    /// The peak `RssAnon` seen, in kB.
    pub fn stop(self) -> Option<u64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().ok().flatten()
    }
}

/// Rows per second.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The import options every benchmark uses: the whole country, the 500-per-station rule, read
/// as `read` says (CSV detected from the header by default).
pub fn import_options(read: maktab::roll::reader::ReadOptions) -> maktab::roll::ImportOptions {
    maktab::roll::ImportOptions {
        allowed_communes: None,
        dry_run: false,
        max_voters_per_station: 500,
        source: "bench".to_owned(),
        actor: "bench".to_owned(),
        read,
        keep_every_error: false,
    }
}

/// Runs a command with a script on its standard input and times it; `Err` says why there is
/// no figure (the command is missing, or it failed and what it printed).
pub fn timed_script(command: &mut Command, script: &str) -> Result<Duration, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("{program} not run ({error})"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|error| format!("{program}: {error}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("{program}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(started.elapsed())
}

/// The reference for SQLite: the sqlite3 command line's `.import` of the roll CSV into an
/// equivalent table (same columns, the NIN as `WITHOUT ROWID` primary key) in a new database
/// file `db`, which is removed afterwards. Needs the `sqlite3` command
/// (`apt-get install sqlite3`).
pub fn sqlite3_import(db: &Path, roll: &Path) -> Result<Duration, String> {
    let elapsed = timed_script(
        Command::new("sqlite3").arg(db),
        &format!(
            "pragma journal_mode = wal;\n\
             create table roll_voters (nin text not null primary key, birth_date text not null, sex text, \
             commune_code text not null, centre_code text not null, station integer not null) without rowid;\n\
             .import --csv --skip 1 {} roll_voters\n",
            roll.display()
        ),
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    elapsed
}

/// The reference for PostgreSQL: `psql \copy` of the roll CSV into an equivalent table of the
/// database `url` (the NIN as primary key, a date column), dropped afterwards. Needs `psql`.
pub fn psql_copy(url: &str, roll: &Path) -> Result<Duration, String> {
    let psql = || {
        let mut command = Command::new("psql");
        command.args(["-q", "-v", "ON_ERROR_STOP=1"]).arg(url);
        command
    };
    let elapsed = timed_script(
        &mut psql(),
        &format!(
            "create table reference_voters (nin text primary key, birth_date date not null, sex text, \
             commune_code text not null, centre_code text not null, station integer not null);\n\
             \\copy reference_voters from '{}' with (format csv, header true)\n",
            roll.display()
        ),
    );
    let _ = timed_script(&mut psql(), "drop table if exists reference_voters;\n");
    elapsed
}

/// The i-th voter's NIN: spread over the whole 18-digit space, as real NINs are not sequential.
pub fn nin(i: u64) -> String {
    format!(
        "{:018}",
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000_000_000_000_000
    )
}

/// The i-th voter's birth date as (year, month, day).
pub fn birth_date(i: u64) -> (u64, u64, u64) {
    (1940 + i % 68, 1 + i % 12, 1 + i % 28)
}

/// Writes `map.csv` and `roll.csv` for `voters` voters into `dir`, streaming both so that a
/// national-size roll never sits in memory.
pub fn write_files(dir: &Path, voters: u64) -> (PathBuf, PathBuf) {
    write_files_in_communes(dir, voters, 50)
}

/// As [`write_files`], with communes of `centres_per_commune` centres (4 make communes of
/// 16,000 voters, the national mean: 24,000,000 voters in 1,500 communes).
pub fn write_files_in_communes(
    dir: &Path,
    voters: u64,
    centres_per_commune: u64,
) -> (PathBuf, PathBuf) {
    let stations = voters.div_ceil(VOTERS_PER_STATION);
    let centres = stations.div_ceil(STATIONS_PER_CENTRE);
    let map_path = dir.join("map.csv");
    let mut map = std::io::BufWriter::new(std::fs::File::create(&map_path).expect("map.csv"));
    writeln!(map, "commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,latitude,longitude,station,kind").expect("write");
    for centre in 0..centres {
        // Communes of 50 centres (200,000 voters, the size of the largest) by default: 24
        // million voters make 120 communes.
        let commune = centre / centres_per_commune;
        for station in 1..=STATIONS_PER_CENTRE {
            writeln!(map, "{commune:04},بلدية {commune},Commune {commune},C{centre:05},مدرسة رقم {centre},Ecole {centre},شارع {centre},Rue {centre},36.7,3.05,{station},mixed").expect("write");
        }
    }
    map.flush().expect("flush map.csv");
    let roll_path = dir.join("roll.csv");
    let mut roll = std::io::BufWriter::new(std::fs::File::create(&roll_path).expect("roll.csv"));
    writeln!(roll, "nin,birth_date,sex,commune_code,centre_code,station").expect("write");
    for i in 0..voters {
        let station = i / VOTERS_PER_STATION;
        let centre = station / STATIONS_PER_CENTRE;
        let (y, m, d) = birth_date(i);
        let sex = if i % 2 == 0 { "F" } else { "M" };
        writeln!(
            roll,
            "{},{y}-{m:02}-{d:02},{sex},{:04},C{centre:05},{}",
            nin(i),
            centre / centres_per_commune,
            station % STATIONS_PER_CENTRE + 1
        )
        .expect("write");
    }
    roll.flush().expect("flush roll.csv");
    (map_path, roll_path)
}

/// The PostgreSQL server URL `server` naming another database, keeping any `?parameters`.
pub fn with_database(server: &str, database: &str) -> String {
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

/// A connection to the PostgreSQL server or database `url` names.
async fn pg_connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL")
}

/// Runs one administrative statement (`create database`, `drop database`) on `server`.
pub async fn pg_admin(server: &str, sql: String) {
    let mut connection = pg_connect(server).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut connection)
        .await
        .expect("administer the benchmark database");
    let _ = sqlx::Connection::close(connection).await;
}

/// Whether `server` has a database named `database`.
pub async fn pg_database_exists(server: &str, database: &str) -> bool {
    let mut connection = pg_connect(server).await;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(database)
            .fetch_one(&mut connection)
            .await
            .expect("look for the benchmark database");
    let _ = sqlx::Connection::close(connection).await;
    exists
}

/// The one number a `select count(*)` on `url` returns.
pub async fn pg_count(url: &str, sql: &'static str) -> u64 {
    let mut connection = pg_connect(url).await;
    let count: i64 = sqlx::query_scalar(sql)
        .fetch_one(&mut connection)
        .await
        .expect("count in the benchmark database");
    let _ = sqlx::Connection::close(connection).await;
    u64::try_from(count).expect("a count is not negative")
}

/// Imports the generated map and roll through Maktab's real import path (every validation
/// rule) and prints how long the roll took.
pub async fn import_generated(
    store: &std::sync::Arc<dyn maktab::store::Store>,
    map_path: &Path,
    roll_path: &Path,
    voters: u64,
) {
    let options = import_options(Default::default());
    let map = std::fs::File::open(map_path).expect("open map");
    maktab::roll::import_map(store.as_ref(), map, &options)
        .await
        .expect("map imports");
    let started = std::time::Instant::now();
    let file = std::fs::File::open(roll_path).expect("open roll");
    maktab::roll::import_roll(std::sync::Arc::clone(store), file, &options)
        .await
        .expect("roll imports");
    println!(
        "roll of {voters} voters imported in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
