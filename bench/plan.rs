//! Station planning benchmark: `maktab plan` over a national-size roll (time and peak memory),
//! beside GNU `sort` ordering the same file by name, in one run.
//!
//! Run with `cargo bench --bench plan` (release build). `MAKTAB_BENCH_PLAN_VOTERS` sets the
//! roll's size (default 24,000,000). The generated roll has Arabic family and given names
//! (with "بن", "بو" and "آل" forms, hamza and ta marbuta spellings), centres of 8 stations
//! (one a women's station) with 1 station in 8 overfull, and new voters without a station,
//! so the planner splits, places and writes every file. Each side runs as a child process
//! measured by GNU time (`/usr/bin/time`, from Debian's `time` package): wall time and
//! maximum resident set size, the kernel's `VmHWM` at exit.
//!
//! `sort` orders the roll by family then given name (`-t, -k7,7 -k8,8`) in the C.UTF-8
//! locale (the machine has no Arabic locale): byte order, which is cheaper than the CLDR
//! collation the planner computes, and without any of the planning or the output files.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod common;
use common::{env_number, nin, peak_rss};

const STATIONS_PER_CENTRE: u64 = 8;
/// Voters per centre: 8 stations of about 420, one station in 8 holding 1,300.
const VOTERS_PER_CENTRE: u64 = 7 * 380 + 1_300;

const PREFIXES: [&str; 5] = ["", "بن ", "بو", "آل ", "ال"];
const ROOTS: [&str; 24] = [
    "علي",
    "زيد",
    "أحمد",
    "إبراهيم",
    "قاسم",
    "حداد",
    "زروق",
    "شريف",
    "عمران",
    "مسعود",
    "عيسى",
    "يحيى",
    "طالب",
    "خليفة",
    "جلول",
    "بلعيد",
    "مختار",
    "سليمان",
    "رحمون",
    "عبد الله",
    "منصور",
    "عثمان",
    "حمزة",
    "صالح",
];
const SUFFIXES: [&str; 4] = ["", "ي", "ة", "اوي"];
const GIVEN: [&str; 20] = [
    "فاطمة",
    "محمد",
    "أمينة",
    "يوسف",
    "خديجة",
    "عبد القادر",
    "سعاد",
    "كريم",
    "مريم",
    "إسماعيل",
    "نادية",
    "رشيد",
    "آمال",
    "مصطفى",
    "ليلى",
    "عمر",
    "حورية",
    "ياسين",
    "سارة",
    "نور الدين",
];

fn write_files(dir: &Path, voters: u64) -> (PathBuf, PathBuf) {
    let centres = voters.div_ceil(VOTERS_PER_CENTRE);
    let map_path = dir.join("map.csv");
    let mut map = std::io::BufWriter::new(std::fs::File::create(&map_path).expect("map.csv"));
    writeln!(map, "commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,latitude,longitude,station,kind,rooms").expect("write");
    for centre in 0..centres {
        let commune = centre / 50;
        for station in 1..=STATIONS_PER_CENTRE {
            let kind = if station == 2 { "women" } else { "mixed" };
            writeln!(map, "{commune:04},بلدية {commune},Commune {commune},C{centre:05},مدرسة رقم {centre},Ecole {centre},شارع {centre},Rue {centre},36.7,3.05,{station},{kind},10").expect("write");
        }
    }
    map.flush().expect("flush map.csv");
    let roll_path = dir.join("roll.csv");
    let mut roll = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(&roll_path).expect("roll.csv"),
    );
    writeln!(
        roll,
        "nin,birth_date,sex,commune_code,centre_code,station,family_name_ar,given_name_ar"
    )
    .expect("write");
    for i in 0..voters {
        let centre = i / VOTERS_PER_CENTRE;
        let commune = centre / 50;
        let k = i % VOTERS_PER_CENTRE;
        // Station 1 is the overfull one; station 2 the women's; 1 voter in 100 is new.
        let alternate = if k.is_multiple_of(2) { "M" } else { "F" };
        let (station, sex) = match k {
            _ if k % 100 == 99 => (0, alternate),
            0..1_300 => (1, alternate),
            _ => {
                let s = 2 + (k - 1_300) / 380;
                (s, if s == 2 || k % 2 == 1 { "F" } else { "M" })
            }
        };
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
        let family = format!(
            "{}{}{}",
            PREFIXES[(h % 5) as usize],
            ROOTS[(h / 5 % 24) as usize],
            SUFFIXES[(h / 120 % 4) as usize]
        );
        let given = GIVEN[(h / 480 % 20) as usize];
        let station = if station == 0 {
            String::new()
        } else {
            station.to_string()
        };
        writeln!(
            roll,
            "{},{}-{:02}-{:02},{sex},{commune:04},C{centre:05},{station},{family},{given}",
            nin(i),
            1940 + i % 68,
            1 + i % 12,
            1 + i % 28
        )
        .expect("write");
    }
    roll.flush().expect("flush roll.csv");
    (map_path, roll_path)
}

/// Runs a command under GNU time; returns (seconds, peak resident kB).
fn measured(command: &mut Command) -> (f64, u64) {
    let report =
        std::env::temp_dir().join(format!("maktab-plan-bench-{}.time", std::process::id()));
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args);
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    let status = timed
        .status()
        .expect("run /usr/bin/time (apt-get install time)");
    assert!(status.success(), "{timed:?} failed");
    let text = std::fs::read_to_string(&report).expect("time's report");
    let mut fields = text.split_whitespace();
    let seconds = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let kb = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (seconds, kb)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    // The child: plan and report its own peak memory.
    if let Ok(dir) = std::env::var("MAKTAB_BENCH_PLAN_CHILD") {
        let dir = PathBuf::from(dir);
        let started = Instant::now();
        let summary = maktab::planning::plan(
            &dir.join("map.csv"),
            &dir.join("roll.csv"),
            &dir.join("out"),
            &maktab::planning::PlanOptions::default(),
        )
        .expect("plan");
        println!(
            "child: planned {} voters, {} stations ({} new), {} moved, {} placed, {} warnings in {:.1} s, VmHWM {}",
            summary.voters,
            summary.stations,
            summary.new_stations,
            summary.moved,
            summary.placed,
            summary.warnings.len(),
            started.elapsed().as_secs_f64(),
            peak_rss("self")
        );
        return;
    }
    let voters = env_number("MAKTAB_BENCH_PLAN_VOTERS", 24_000_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let started = Instant::now();
    let (_, roll) = write_files(dir.path(), voters);
    let size = std::fs::metadata(&roll).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {voters} voters ({:.0} MiB) in {:.1} s",
        mib(size),
        started.elapsed().as_secs_f64()
    );
    let exe = std::env::current_exe().expect("this benchmark's path");
    let (plan_s, plan_kb) = measured(Command::new(&exe).env("MAKTAB_BENCH_PLAN_CHILD", dir.path()));
    let out_size: u64 = std::fs::read_dir(dir.path().join("out"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    // The planner's output is no longer needed: free the disk before sort writes its own.
    let _ = std::fs::remove_dir_all(dir.path().join("out"));
    let sorted = dir.path().join("sorted.csv");
    let (sort_s, sort_kb) = measured(
        Command::new("sort")
            .env("LC_ALL", "C.UTF-8")
            .env("TMPDIR", dir.path())
            .args(["-t", ",", "-k7,7", "-k8,8", "-o"])
            .arg(&sorted)
            .arg(&roll),
    );
    println!();
    println!(
        "| {voters} voters ({:.0} MiB roll) | time | peak memory (VmHWM) |",
        mib(size)
    );
    println!("|---|---|---|");
    println!(
        "| maktab plan (collation keys, keep strategy, {:.0} MiB of files written) | {plan_s:.1} s | {:.0} MiB |",
        mib(out_size),
        plan_kb as f64 / 1024.0
    );
    println!(
        "| GNU sort -t, -k7,7 -k8,8 (C.UTF-8 byte order, default buffer and threads) | {sort_s:.1} s | {:.0} MiB |",
        sort_kb as f64 / 1024.0
    );
    println!(
        "| ratio plan / sort | {:.2} | {:.2} |",
        plan_s / sort_s,
        plan_kb as f64 / sort_kb.max(1) as f64
    );
}
