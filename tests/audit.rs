//! The audit log as an attacker meets it: the databases refuse updates, deletes and
//! replacements, and a rewrite done around them (triggers dropped, as someone with the file or
//! a superuser would) is found by the hash chain, through the store and through
//! `maktab audit verify`. Also the action filter, literal and case-sensitive on both
//! databases. PostgreSQL scenarios run when `MAKTAB_TEST_POSTGRES_URL` is set (always in CI).
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use maktab::domain::CommuneCode;
use maktab::store::{AuditQuery, ChainBreak, NewAuditEntry, Store};
use serde_json::json;
use sqlx::Connection;

fn entry(action: &str, actor: &str, details: serde_json::Value) -> NewAuditEntry {
    NewAuditEntry {
        at: START,
        actor: actor.to_owned(),
        action: action.to_owned(),
        communes: vec![CommuneCode::parse("1601").unwrap()],
        details,
    }
}

/// Appends `n` entries with details whose keys are out of order (PostgreSQL's `jsonb`
/// reorders them: the hash must not depend on it); returns their ids.
async fn append(store: &Arc<dyn Store>, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let details =
            json!({ "zeta": i, "alpha": { "y": [1, 2.5, "x"], "b": null }, "name": "Bab El Oued" });
        ids.push(
            store
                .append_audit(entry("import.roll", "Alger Centre office", details))
                .await
                .unwrap(),
        );
    }
    ids
}

fn maktab_verify(url: &str) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_maktab"))
        .env("MAKTAB_DATABASE_URL", url)
        .env_remove("MAKTAB_LOG")
        .env_remove("RUST_LOG")
        .env_remove("MAKTAB_CONFIG")
        .args(["audit", "verify"])
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Runs statements on a raw connection to the SQLite file, as someone with file access would.
async fn sqlite_raw(url: &str, statements: &[&str]) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    for statement in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    conn.close().await.unwrap();
}

async fn postgres_raw(url: &str, statements: &[&str]) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    for statement in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    conn.close().await.unwrap();
}

/// The error a raw statement gets, or `None` if the database accepted it.
async fn sqlite_refusal(url: &str, statement: &str) -> Option<String> {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await;
    result.err().map(|e| e.to_string())
}

async fn postgres_refusal(url: &str, statement: &str) -> Option<String> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await;
    result.err().map(|e| e.to_string())
}

#[tokio::test]
async fn a_fresh_chain_verifies_through_the_store_and_the_command_line() {
    let db = TestDb::empty().await;
    let ids = append(&db.store, 5).await;
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(verification.checked, 5);
    assert_eq!(verification.broken, None);
    assert_eq!(verification.head_id, Some(*ids.last().unwrap()));
    let head = verification.head_hash.clone().unwrap();
    assert_eq!(head.len(), 64);
    let (ok, out, err) = maktab_verify(&db.url);
    assert!(ok, "{err}");
    assert!(out.contains("5 entries checked"), "{out}");
    assert!(
        out.contains(&head),
        "the head hash is printed to record: {out}"
    );
}

#[tokio::test]
async fn sqlite_refuses_update_delete_and_insert_or_replace_of_an_entry() {
    let db = TestDb::empty().await;
    append(&db.store, 3).await;
    for statement in [
        "update audit_log set actor = 'someone else' where id = 1",
        "delete from audit_log where id = 1",
        "insert or replace into audit_log (id, at, actor, action, communes, details, prev_hash, hash)
         select id, at, 'someone else', action, communes, details, prev_hash, hash from audit_log where id = 1",
        "replace into audit_log (id, at, actor, action, communes, details, prev_hash, hash)
         select id, at, 'someone else', action, communes, details, prev_hash, hash from audit_log where id = 2",
        "insert into audit_log (at, actor, action, communes, details) values (1, 'x', 'y', '', '{}')",
    ] {
        let refusal = sqlite_refusal(&db.url, statement).await;
        assert!(
            refusal.as_deref().is_some_and(|e| e.contains("append-only") || e.contains("chain hashes")),
            "{statement}: {refusal:?}"
        );
    }
    let first = db
        .store
        .audit_entries(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|e| e.actor == "Alger Centre office"));
    assert_eq!(db.store.verify_audit_chain().await.unwrap().broken, None);
}

#[tokio::test]
async fn a_sqlite_rewrite_with_the_triggers_dropped_is_named_by_verify() {
    let db = TestDb::empty().await;
    append(&db.store, 4).await;
    sqlite_raw(
        &db.url,
        &[
            "drop trigger audit_log_no_update",
            "update audit_log set details = '{\"rows\":1}' where id = 3",
        ],
    )
    .await;
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(
        (verification.broken_id, verification.broken),
        (Some(3), Some(ChainBreak::Content))
    );
    assert_eq!(verification.checked, 3);
    assert_eq!(verification.head_id, Some(2));
    let (ok, out, err) = maktab_verify(&db.url);
    assert!(!ok, "{out}");
    assert!(
        err.contains("audit entry #3 does not match its hash"),
        "{err}"
    );
    assert!(err.contains("checked 3 entries"), "{err}");
}

#[tokio::test]
async fn a_sqlite_entry_removed_or_rehashed_breaks_the_link_of_the_next() {
    let db = TestDb::empty().await;
    append(&db.store, 5).await;
    // The attacker rewrites entry 2 and recomputes its own hash: entry 2 is consistent, the
    // link from entry 3 is not.
    let entries = db.store.audit_chain(0, 10).await.unwrap();
    let mut forged = entries[1].clone();
    forged.actor = "someone else".to_owned();
    let forged_hash = forged
        .computed_hash(forged.prev_hash.as_deref().unwrap())
        .unwrap();
    let rewrite =
        format!("update audit_log set actor = 'someone else', hash = '{forged_hash}' where id = 2");
    sqlite_raw(
        &db.url,
        &[
            "drop trigger audit_log_no_update",
            "drop trigger audit_log_no_delete",
            &rewrite,
        ],
    )
    .await;
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(
        (verification.broken_id, verification.broken),
        (Some(3), Some(ChainBreak::Link))
    );
    let (ok, _, err) = maktab_verify(&db.url);
    assert!(
        !ok && err.contains("audit entry #3 does not follow"),
        "{err}"
    );

    sqlite_raw(&db.url, &["delete from audit_log where id in (2, 3)"]).await;
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(
        (verification.broken_id, verification.broken),
        (Some(4), Some(ChainBreak::Link))
    );
}

#[tokio::test]
async fn entries_written_before_the_chain_are_sealed_at_start_up() {
    let db = TestDb::empty().await;
    append(&db.store, 2).await;
    // Rows as an older Maktab wrote them: no hashes. The update trigger stays, so sealing
    // goes through the one change it allows.
    sqlite_raw(
        &db.url,
        &[
            "drop trigger audit_log_chained",
            "insert into audit_log (at, actor, action, communes, details) values (5, 'old', 'token.create', '', '{\"b\":1,\"a\":2}')",
            "insert into audit_log (at, actor, action, communes, details) values (6, 'old', 'token.revoke', '1601,3101', '{}')",
        ],
    )
    .await;
    assert_eq!(
        db.store.verify_audit_chain().await.unwrap().broken,
        Some(ChainBreak::Unsealed)
    );
    let reopened = db.reopen().await;
    let verification = reopened.verify_audit_chain().await.unwrap();
    assert_eq!(
        (verification.checked, verification.broken),
        (4, None),
        "{verification:?}"
    );
    // A sealed entry cannot be sealed again, and new entries chain on after the sealed ones.
    let refusal = sqlite_refusal(&db.url, "update audit_log set hash = 'x' where id = 4").await;
    assert!(refusal.is_some_and(|e| e.contains("append-only")));
    append(&reopened, 1).await;
    assert_eq!(reopened.verify_audit_chain().await.unwrap().checked, 5);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn postgres_refuses_rewrites_and_a_superuser_rewrite_is_named_by_verify() {
    let (db, _database) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    append(&db.store, 4).await;
    for statement in [
        "update audit_log set actor = 'someone else' where id = 1",
        "delete from audit_log where id = 1",
        "truncate audit_log",
        "insert into audit_log (id, at, actor, action, communes, details, prev_hash, hash)
         select id, at, 'x', action, communes, details, prev_hash, hash from audit_log where id = 1
         on conflict (id) do update set actor = excluded.actor",
        "insert into audit_log (at, actor, action, details) values (1, 'x', 'y', '{}')",
    ] {
        let refusal = postgres_refusal(&db.url, statement).await;
        assert!(
            refusal
                .as_deref()
                .is_some_and(|e| e.contains("append-only") || e.contains("chain hashes")),
            "{statement}: {refusal:?}"
        );
    }
    assert_eq!(db.store.verify_audit_chain().await.unwrap().broken, None);
    let (ok, out, err) = maktab_verify(&db.url);
    assert!(ok && out.contains("4 entries checked"), "{out}{err}");

    postgres_raw(
        &db.url,
        &[
            "alter table audit_log disable trigger user",
            "update audit_log set communes = '{3101}' where id = 2",
        ],
    )
    .await;
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(
        (verification.broken_id, verification.broken),
        (Some(2), Some(ChainBreak::Content))
    );
    let (ok, _, err) = maktab_verify(&db.url);
    assert!(
        !ok && err.contains("audit entry #2 does not match its hash"),
        "{err}"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn postgres_entries_written_before_the_chain_are_sealed_at_start_up() {
    let (db, _database) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    append(&db.store, 2).await;
    postgres_raw(
        &db.url,
        &[
            "alter table audit_log disable trigger user",
            "update audit_log set prev_hash = null, hash = null",
            "insert into audit_log (at, actor, action, details) values (5, 'old', 'token.create', '{\"b\": 1, \"a\": 2}')",
            "alter table audit_log enable trigger user",
        ],
    )
    .await;
    assert_eq!(
        db.store.verify_audit_chain().await.unwrap().broken,
        Some(ChainBreak::Unsealed)
    );
    let reopened = maktab::store::connect(&db.url).await.unwrap();
    let verification = reopened.verify_audit_chain().await.unwrap();
    assert_eq!((verification.checked, verification.broken), (3, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn concurrent_appends_on_postgres_keep_the_chain_linear() {
    let (db, _database) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    // Two stores, as two instances sharing the database.
    let other = maktab::store::connect(&db.url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 {
            Arc::clone(&db.store)
        } else {
            Arc::clone(&other)
        };
        tasks.push(tokio::spawn(async move {
            store
                .append_audit(entry(
                    "token.create",
                    &format!("writer {i}"),
                    json!({ "i": i }),
                ))
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!((verification.checked, verification.broken), (40, None));
}

/// Actions that a `like` filter would confuse with `import`, `imp%` or `a\b`.
async fn the_action_filter_is_literal_and_case_sensitive(store: Arc<dyn Store>) {
    for action in [
        "import",
        "import.roll",
        "IMPORT.map",
        "Import",
        "importer.x",
        "import_x.y",
        "importXx.y",
        "imp%.a",
        "impo.b",
        "a\\b.c",
        "aXb.c",
    ] {
        store
            .append_audit(entry(action, "filter", json!({})))
            .await
            .unwrap();
    }
    let matching = |filter: &'static str| {
        let store = Arc::clone(&store);
        async move {
            let mut actions: Vec<String> = store
                .audit_entries(&AuditQuery {
                    action: Some(filter.to_owned()),
                    limit: 100,
                    ..AuditQuery::default()
                })
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.action)
                .collect();
            actions.sort();
            actions
        }
    };
    assert_eq!(matching("import").await, ["import", "import.roll"]);
    assert_eq!(matching("IMPORT").await, ["IMPORT.map"]);
    assert_eq!(matching("import_x").await, ["import_x.y"]);
    assert_eq!(matching("imp%").await, ["imp%.a"]);
    assert_eq!(matching("a\\b").await, ["a\\b.c"]);
    assert_eq!(matching("import.roll").await, ["import.roll"]);
    assert!(matching("%").await.is_empty());
    assert!(matching("impor").await.is_empty());
}

mod sqlite {
    #[tokio::test]
    async fn the_action_filter_is_literal_and_case_sensitive() {
        let db = super::TestDb::empty().await;
        super::the_action_filter_is_literal_and_case_sensitive(std::sync::Arc::clone(&db.store))
            .await;
    }
}

mod postgres {
    #[tokio::test]
    #[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
    async fn the_action_filter_is_literal_and_case_sensitive() {
        let (db, _database) = super::TestDb::postgres()
            .await
            .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
        super::the_action_filter_is_literal_and_case_sensitive(std::sync::Arc::clone(&db.store))
            .await;
    }
}
