//! The command line reports failures with their whole chain of causes: an office action
//! against a broken database says what the database said, not just that something failed.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::*;

fn maktab(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maktab"));
    command
        .env("MAKTAB_DATABASE_URL", database_url)
        .env_remove("MAKTAB_LOG")
        .env_remove("RUST_LOG")
        .env_remove("MAKTAB_CONFIG");
    command
}

/// Runs the command; returns whether it succeeded and its stderr.
fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_against_a_broken_database_prints_the_underlying_cause() {
    let db = TestDb::with_roll().await;
    db.import_roll(&ROLL_CSV.replace("1601,C01,1", "1601,C02,2"))
        .await
        .unwrap();
    // The database opens and its migrations are all recorded, but a table is gone: every
    // change-set query fails inside the database.
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    sqlx::query("pragma foreign_keys = off")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("drop table change_sets")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let (ok, stderr) = run(maktab(&db.url).args(["changes", "approve", "1"]));
    assert!(!ok, "{stderr}");
    assert!(
        stderr.starts_with("error: the database failed: "),
        "the office's error comes first: {stderr}"
    );
    assert!(
        stderr.contains("no such table: change_sets"),
        "the cause is printed: {stderr}"
    );
    assert_eq!(
        stderr.matches("no such table").count(),
        1,
        "each cause once: {stderr}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_named_with_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(
        &path,
        "these are not the tables you are looking for\n".repeat(200),
    )
    .unwrap();
    let url = format!("sqlite://{}", path.display());
    let (ok, stderr) = run(maktab(&url).args(["changes", "approve", "1"]));
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("cannot open the database") && stderr.contains("not a database"),
        "{stderr}"
    );
}

/// Runs the command with its standard output a pipe whose reader is already gone, as with
/// `| head -1` once head has its line; returns the exit code and stderr.
fn run_into_closed_pipe(command: &mut Command) -> (Option<i32>, String) {
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closing the read end before anything is written makes the first write fail, always.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_end_quietly_when_their_output_pipe_is_closed() {
    let db = TestDb::with_roll().await;
    db.import_roll(&ROLL_CSV.replace("1601,C01,1", "1601,C02,2"))
        .await
        .unwrap();
    let approved = db.approve_pending().await;
    let campaign = approved[0].0.to_string();
    for args in [
        vec!["audit"],
        vec!["audit", "verify"],
        vec!["changes", "show", "1"],
        vec!["changes", "list"],
        vec!["campaigns", "show", campaign.as_str()],
        vec!["reports", "export"],
        vec!["openapi"],
    ] {
        let (code, stderr) = run_into_closed_pipe(maktab(&db.url).args(&args));
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} says nothing: {stderr}");
    }
    // A failure is still one: the closed pipe does not hide it.
    let (code, stderr) = run_into_closed_pipe(maktab(&db.url).args(["changes", "show", "99"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
}
