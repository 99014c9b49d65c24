//! The real server on port 0 and the real binary: health and readiness probes, graceful
//! shutdown, and the README's first steps (`maktab demo`, `maktab ask`, `maktab serve --demo`).
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use maktab::config::Config;
use maktab::server::{self, App};

/// A GET over a plain socket: status code and body.
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness_answer_and_shutdown_is_graceful() {
    let db = TestDb::with_roll().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = App::new(Arc::clone(&db.store), &Config::default()).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(listener, None, app, async {
        let _ = stopped.await;
    }));
    let (health, ready, missing) = tokio::task::spawn_blocking(move || {
        (
            get(address, "/healthz"),
            get(address, "/readyz"),
            get(address, "/nothing-here"),
        )
    })
    .await
    .unwrap();
    assert_eq!(health, (200, r#"{"status":"ok"}"#.to_owned()));
    assert_eq!(ready, (200, r#"{"status":"ready"}"#.to_owned()));
    assert_eq!(missing.0, 404);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops after the shutdown signal")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(address).is_err(),
        "the listener is closed"
    );
}

fn maktab(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maktab"));
    command
        .env("MAKTAB_DATABASE_URL", database_url)
        .env_remove("MAKTAB_LOG")
        .env_remove("RUST_LOG")
        .env_remove("MAKTAB_CONFIG");
    command
}

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().expect("run maktab");
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The first `maktab ask "NIN DATE"` line printed by `maktab demo`, and its comment.
fn first_demo_pair(demo_output: &str) -> (String, String) {
    let line = demo_output
        .lines()
        .find(|l| l.trim_start().starts_with("maktab ask \"") && l.contains('#'))
        .expect("demo prints pairs to try");
    let quoted = line.split('"').nth(1).unwrap().to_owned();
    let comment = line.split('#').nth(1).unwrap().trim().to_owned();
    (quoted, comment)
}

#[test]
fn demo_then_ask_answers_in_arabic_and_french_with_the_printed_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let (ok, demo, stderr) = run(maktab(&url).arg("demo"));
    assert!(ok, "{stderr}");
    assert!(demo.contains("Demo loaded"), "{demo}");
    let (pair, comment) = first_demo_pair(&demo);
    let (nin, date) = pair.split_once(' ').unwrap();
    // e.g. "Alger Centre, Ecole primaire Emir Abdelkader, station 1"
    let centre_fr = comment.split(", ").nth(1).unwrap();
    let station = comment.rsplit("station ").next().unwrap();

    let (ok, french, stderr) = run(maktab(&url).args([
        "ask",
        "--from",
        "+213550000001",
        &format!("mon NIN est {nin}, né le {date}"),
    ]));
    assert!(ok, "{stderr}");
    assert!(
        french.contains(&format!("Centre : {centre_fr}")),
        "{french}"
    );
    assert!(
        french.contains(&format!("Bureau de vote {station}")),
        "{french}"
    );

    let arabic_digits: String = pair
        .chars()
        .map(|c| {
            c.to_digit(10)
                .map_or(c, |d| char::from_u32(0x0660 + d).unwrap())
        })
        .collect();
    let (ok, arabic, stderr) = run(maktab(&url).args([
        "ask",
        "--from",
        "+213550000002",
        &format!("رقمي {arabic_digits}"),
    ]));
    assert!(ok, "{stderr}");
    assert!(arabic.starts_with("مركزك: "), "{arabic}");
    assert!(
        arabic.contains(&format!("المكتب رقم {station}")),
        "{arabic}"
    );

    // Loading the demo again changes nothing.
    let (ok, again, _) = run(maktab(&url).arg("demo"));
    assert!(ok && again.contains("already holds"), "{again}");
}

#[test]
fn a_rejected_import_exits_non_zero_and_lists_line_numbers_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let map = dir.path().join("map.csv");
    let roll = dir.path().join("roll.csv");
    std::fs::write(&map, MAP_CSV).unwrap();
    std::fs::write(&roll, ROLL_CSV.replace("1970-01-20", "1970-13-20")).unwrap();
    let (ok, out, err) = run(maktab(&url).args(["import", "map"]).arg(&map));
    assert!(ok, "{err}");
    assert!(
        out.starts_with("map accepted as version 1: 4 rows: 1 communes, 2 centres, 4 stations"),
        "{out}"
    );
    let (ok, _, err) = run(maktab(&url)
        .args(["import", "roll", "--dry-run"])
        .arg(&roll));
    assert!(!ok);
    assert!(err.contains("line 4: birth_date:"), "{err}");
    assert!(
        err.contains("rejected with 1 error(s); the database was not changed"),
        "{err}"
    );
    std::fs::write(&roll, ROLL_CSV).unwrap();
    let (ok, out, err) = run(maktab(&url)
        .args(["import", "roll", "--dry-run"])
        .arg(&roll));
    assert!(ok, "{err}");
    assert!(
        out.starts_with("dry run: the roll file is valid (3 rows"),
        "{out}"
    );
    let (ok, out, _) = run(maktab(&url).args(["ask", NIN_MIXED, BIRTH_MIXED]));
    assert!(
        ok && out.contains("لم نجد"),
        "the dry run wrote nothing: {out}"
    );
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["ask", "--help"],
        vec!["import", "--help"],
        vec!["import", "map", "--help"],
        vec!["import", "roll", "--help"],
    ] {
        let (ok, out, _) = run(maktab("sqlite::memory:").args(&args));
        assert!(ok && out.contains("Usage: maktab"), "{args:?}: {out}");
    }
}

#[test]
fn serve_with_demo_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("serve.db").display());
    let mut child = maktab(&url)
        .args(["serve", "--demo"])
        .env("MAKTAB_LISTEN", "127.0.0.1:0")
        .env("MAKTAB_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A watchdog, so that a server that never logs its address fails the test instead of
    // hanging it.
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut address = None;
    let mut line = String::new();
    while address.is_none() && stderr.read_line(&mut line).unwrap() > 0 {
        // "maktab serving address=127.0.0.1:PORT ..."
        address = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("address="))
            .and_then(|a| a.parse::<SocketAddr>().ok());
        line.clear();
    }
    let address = address.expect("the server logs its address");
    assert_eq!(get(address, "/healthz").0, 200);
    assert_eq!(get(address, "/readyz").0, 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("SIGTERM received"), "{rest}");
}

#[test]
fn token_audit_and_stats_commands_work_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("admin.db").display());
    let map = dir.path().join("map.csv");
    std::fs::write(&map, MAP_CSV).unwrap();
    assert!(run(maktab(&url).args(["import", "map"]).arg(&map)).0);

    let (ok, out, err) = run(maktab(&url).args([
        "token",
        "create",
        "--role",
        "commune_admin",
        "--commune",
        "1601",
        "--expires",
        "30",
        "--name",
        "Alger Centre office",
    ]));
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap();
    assert!(
        token.starts_with("mk_1_") && token.len() == "mk_1_".len() + 64,
        "{out}"
    );

    let (ok, _, err) = run(maktab(&url).args([
        "token",
        "create",
        "--role",
        "commune_admin",
        "--name",
        "no commune",
    ]));
    assert!(!ok && err.contains("needs at least one --commune"), "{err}");
    let (ok, _, err) =
        run(maktab(&url).args(["token", "create", "--role", "mayor", "--name", "x"]));
    assert!(!ok && err.contains("unknown role"), "{err}");

    let (ok, list, _) = run(maktab(&url).args(["token", "list"]));
    assert!(
        ok && list.contains("active")
            && list.contains("1601")
            && list.contains("Alger Centre office"),
        "{list}"
    );
    assert!(!list.contains(&token[5..]), "the secret is never listed");
    let (ok, _, _) = run(maktab(&url).args(["token", "revoke", "1"]));
    assert!(ok);
    let (ok, list, _) = run(maktab(&url).args(["token", "list"]));
    assert!(ok && list.contains("revoked"), "{list}");
    let (ok, _, err) = run(maktab(&url).args(["token", "revoke", "1"]));
    assert!(!ok && err.contains("no active token"), "{err}");

    let (ok, audit, _) = run(maktab(&url).arg("audit"));
    assert!(ok);
    let actions: Vec<&str> = audit
        .lines()
        .map(|l| l.split_whitespace().nth(4).unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        ["token.revoke", "token.create", "import.map"],
        "{audit}"
    );
    let (ok, filtered, _) = run(maktab(&url).args(["audit", "--action", "import"]));
    assert!(ok && filtered.lines().count() == 1, "{filtered}");

    let (ok, stats, err) = run(maktab(&url).arg("stats"));
    assert!(ok, "{err}");
    assert!(stats.contains("Lookups, last 24 hours: 0"), "{stats}");
    assert!(
        stats.contains("1601") && stats.contains("Alger Centre"),
        "{stats}"
    );
}

#[test]
fn a_reimport_waits_for_approval_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("changes.db").display());
    let (map, roll) = (dir.path().join("map.csv"), dir.path().join("roll.csv"));
    std::fs::write(&map, MAP_CSV).unwrap();
    std::fs::write(&roll, ROLL_CSV).unwrap();
    assert!(run(maktab(&url).args(["import", "map"]).arg(&map)).0);
    assert!(run(maktab(&url).args(["import", "roll"]).arg(&roll)).0);
    std::fs::write(&roll, ROLL_CSV.replace("1601,C01,1", "1601,C02,2")).unwrap();
    let (ok, out, err) = run(maktab(&url).args(["import", "roll"]).arg(&roll));
    assert!(ok, "{err}");
    let (ok, list, _) = run(maktab(&url).args(["changes", "list", "--status", "pending"]));
    assert!(
        ok && list.contains("#1") && list.contains("\"voters_moved\":1"),
        "{out}\n{list}"
    );
    let (ok, show, _) = run(maktab(&url).args(["changes", "show", "1"]));
    assert!(
        ok && show.contains("Moved 10**************12 1601/C01/1 -> 1601/C02/2"),
        "{show}"
    );
    let (_, before, _) = run(maktab(&url).args([
        "ask",
        "--from",
        "+213550000001",
        &format!("{NIN_MIXED} {BIRTH_MIXED}"),
    ]));
    assert!(before.contains("المكتب رقم 1"), "not applied yet: {before}");
    let (ok, approved, err) = run(maktab(&url).args(["changes", "approve", "1"]));
    assert!(ok && approved.contains("approved"), "{err}");
    let (_, after, _) = run(maktab(&url).args([
        "ask",
        "--from",
        "+213550000002",
        &format!("{NIN_MIXED} {BIRTH_MIXED}"),
    ]));
    assert!(after.contains("المكتب رقم 2"), "applied: {after}");
    let (ok, _, err) = run(maktab(&url).args(["changes", "approve", "1"]));
    assert!(!ok && err.contains("not pending"), "{err}");
    let (ok, audit, _) = run(maktab(&url).args(["audit", "--action", "changes"]));
    assert!(ok && audit.contains("changes.roll.approve"), "{audit}");
}

/// Runs `serve --demo` until it serves, stops it, and returns everything it wrote.
fn serve_demo_once(url: &str) -> String {
    let mut child = maktab(url)
        .args(["serve", "--demo"])
        .env("MAKTAB_LISTEN", "127.0.0.1:0")
        .env("MAKTAB_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(90));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut logged = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        logged.push_str(&line);
        if line.contains("maktab serving") {
            break;
        }
        line.clear();
    }
    assert!(logged.contains("maktab serving"), "{logged}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    stderr.read_to_string(&mut logged).unwrap();
    let mut printed = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    format!("{printed}\n{logged}")
}

#[test]
fn serve_with_demo_writes_no_demo_nin_when_its_output_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("serve.db").display());
    let samples = maktab::roll::demo::generate().samples;
    assert!(!samples.is_empty());
    let first = serve_demo_once(&url);
    assert!(first.contains("Demo loaded"), "{first}");
    let second = serve_demo_once(&url);
    assert!(second.contains("already holds"), "{second}");
    for output in [&first, &second] {
        for sample in &samples {
            assert!(!output.contains(&sample.nin), "{} in: {output}", sample.nin);
        }
    }
}
