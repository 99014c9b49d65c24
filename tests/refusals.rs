//! Refusals leave a record and say why: a refused approval or rejection of a change set is in
//! the audit log with its reason (on SQLite and PostgreSQL); a clerk invitation or a
//! broadcast for a commune that is not in the map is refused; the audit chain can be verified
//! over HTTP.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use maktab::config::Config;
use maktab::domain::{CommuneCode, Role};
use maktab::office::{Office, OfficeError, Principal};
use maktab::store::{Audience, AuditEntry, AuditQuery, ImportKind};

fn commune(code: &str) -> CommuneCode {
    CommuneCode::parse(code).unwrap()
}

/// A token and the principal it authenticates as.
async fn principal(office: &Office, name: &str, role: Role, communes: &[&str]) -> Principal {
    let communes = communes.iter().map(|c| commune(c)).collect();
    let created = office
        .create_token(&Principal::command_line(), name, role, communes, None)
        .await
        .unwrap();
    office.authenticate(&created.token).await.unwrap().unwrap()
}

async fn refusals(db: &TestDb) -> Vec<AuditEntry> {
    let mut entries = db
        .store
        .audit_entries(&AuditQuery {
            action: Some("changes".to_owned()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    entries.retain(|e| e.action.ends_with(".refused"));
    entries.reverse();
    entries
}

async fn refused_decisions_are_audited_with_their_reason(db: TestDb) {
    let office = office_with(&db.store, true);
    let alger = principal(
        &office,
        "Alger Centre office",
        Role::CommuneAdmin,
        &["1601"],
    )
    .await;
    let oran = principal(&office, "Oran office", Role::CommuneAdmin, &["3101"]).await;
    let national = principal(&office, "national authority", Role::National, &[]).await;
    let moved = ROLL_CSV.replace("1601,C01,1", "1601,C02,2");
    let outcome = office
        .import(
            &alger,
            ImportKind::Roll,
            Box::new(std::io::Cursor::new(moved.into_bytes())),
            false,
            "moved.csv",
        )
        .await
        .unwrap();
    let id = outcome.record.unwrap().change_set.unwrap();

    // The importer approving its own change set: the two-person rule.
    let own = office.approve(&alger, id).await;
    assert!(matches!(own, Err(OfficeError::Forbidden(_))), "{own:?}");
    // Another commune's office.
    let foreign = office.reject(&oran, id).await;
    assert!(
        matches!(foreign, Err(OfficeError::Forbidden(_))),
        "{foreign:?}"
    );
    // Decided already: stale.
    office.reject(&national, id).await.unwrap();
    let stale = office.approve(&national, id).await;
    assert!(matches!(stale, Err(OfficeError::Conflict(_))), "{stale:?}");
    // A change set that does not exist is no decision refused.
    assert!(matches!(
        office.approve(&national, 9999).await,
        Err(OfficeError::NotFound(_))
    ));

    let entries = refusals(&db).await;
    let seen: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor.as_str(),
                e.details["refusal"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen.len(),
        3,
        "three refusals, nothing for the missing change set: {entries:?}"
    );
    assert_eq!(seen[0].0, "changes.roll.approve.refused");
    assert!(seen[0].1.contains("Alger Centre office"), "{seen:?}");
    assert_eq!(seen[0].2, "forbidden");
    assert!(
        entries[0].details["reason"]
            .as_str()
            .unwrap()
            .contains("two-person"),
        "{:?}",
        entries[0].details
    );
    assert_eq!(seen[1].0, "changes.roll.reject.refused");
    assert!(seen[1].1.contains("Oran office"), "{seen:?}");
    assert_eq!(seen[2].0, "changes.roll.approve.refused");
    assert!(seen[2].1.contains("national authority"), "{seen:?}");
    assert_eq!(seen[2].2, "conflict");
    for entry in &entries {
        assert_eq!(entry.details["change_set"], id, "{entry:?}");
        assert_eq!(
            entry.communes,
            vec![commune("1601")],
            "the entry concerns the change set's commune, so its office sees it"
        );
    }
    // Alger's office sees who tried to decide on its change set.
    let page = office
        .audit(
            &alger,
            maktab::office::audit::AuditFilter {
                action: Some("changes.roll.reject.refused".to_owned()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.entries.len(), 1, "{:?}", page.entries);
    // The refusals are links of the chain like any entry.
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(verification.broken_id, None, "{verification:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_decisions_are_audited_on_sqlite() {
    refused_decisions_are_audited_with_their_reason(TestDb::with_roll().await).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn refused_decisions_are_audited_on_postgres() {
    let (db, _database) = TestDb::postgres_with_roll()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    refused_decisions_are_audited_with_their_reason(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn clerks_and_broadcasts_for_a_commune_not_in_the_map_are_refused() {
    let db = TestDb::with_roll().await;
    let office = office(&db.store);
    let national = principal(&office, "national authority", Role::National, &[]).await;
    let oran = principal(&office, "Oran office", Role::CommuneAdmin, &["3101"]).await;
    let nowhere = commune("99999");

    let invite = office.invite_clerk(&national, &nowhere, None).await;
    assert!(
        matches!(&invite, Err(OfficeError::Rejected(m)) if m.contains("99999") && m.contains("map")),
        "{invite:?}"
    );
    let audience = |code: &str| Audience {
        commune: commune(code),
        centre: None,
        station: None,
        reporters: false,
    };
    let broadcast = office
        .create_broadcast(&national, &audience("99999"), "تنبيه", "Avis")
        .await;
    assert!(
        matches!(&broadcast, Err(OfficeError::Rejected(m)) if m.contains("99999")),
        "{broadcast:?}"
    );
    // Outside one's scope the answer is 403 first, saying nothing of the map.
    assert!(matches!(
        office.invite_clerk(&oran, &nowhere, None).await,
        Err(OfficeError::Forbidden(_))
    ));
    // Communes of the map still work.
    office
        .invite_clerk(&national, &commune("1601"), None)
        .await
        .unwrap();
    office
        .create_broadcast(&national, &audience("1601"), "تنبيه", "Avis")
        .await
        .unwrap();

    // Over HTTP: a 400 with the one error body.
    let token = office
        .create_token(
            &Principal::command_line(),
            "http",
            Role::National,
            vec![],
            None,
        )
        .await
        .unwrap()
        .token;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let clerk = app
        .post_json(
            "/api/v1/clerks",
            Some(&token),
            &serde_json::json!({ "commune": "99999" }),
        )
        .await;
    assert_eq!(clerk.status, 400, "{}", clerk.body);
    assert_eq!(clerk.json()["code"], "bad_request");
    let campaign = app
        .post_json(
            "/api/v1/campaigns",
            Some(&token),
            &serde_json::json!({ "audience": { "commune": "99999" }, "text_ar": "تنبيه", "text_fr": "Avis" }),
        )
        .await;
    assert_eq!(campaign.status, 400, "{}", campaign.body);
    assert!(
        campaign.json()["message"]
            .as_str()
            .unwrap()
            .contains("99999"),
        "{}",
        campaign.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_chain_is_verified_over_http_by_monitoring_tokens() {
    let db = TestDb::with_roll().await;
    let office = office(&db.store);
    let tokens = |name: &'static str, role, communes: Vec<CommuneCode>| {
        let office = office.clone();
        async move {
            office
                .create_token(&Principal::command_line(), name, role, communes, None)
                .await
                .unwrap()
                .token
        }
    };
    let national = tokens("national authority", Role::National, vec![]).await;
    let alger = tokens(
        "Alger Centre office",
        Role::CommuneAdmin,
        vec![commune("1601")],
    )
    .await;
    let supervisor = tokens(
        "clerk supervisor",
        Role::ClerkSupervisor,
        vec![commune("1601")],
    )
    .await;
    let app = ServerApp::spawn(&db, &Config::default()).await;

    for token in [&national, &alger] {
        let response = app.get("/api/v1/audit/verify", Some(token)).await;
        assert_eq!(response.status, 200, "{}", response.body);
        let body = response.json();
        assert!(body["broken_id"].is_null(), "{body}");
        assert!(
            body["checked"].as_u64().unwrap() >= 3,
            "the token creations: {body}"
        );
        assert!(body["head_hash"].is_string(), "{body}");
    }
    let refused = app.get("/api/v1/audit/verify", Some(&supervisor)).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["code"], "forbidden");
    let anonymous = app.get("/api/v1/audit/verify", None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);

    // Someone with the file rewrites entry 2 behind the triggers' back: the route names it.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    for statement in [
        "drop trigger audit_log_no_update",
        "update audit_log set actor = 'nobody' where id = 2",
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let response = app.get("/api/v1/audit/verify", Some(&national)).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let body = response.json();
    assert_eq!(body["broken_id"], 2, "{body}");
    assert_eq!(body["head_id"], 1, "{body}");
    assert!(body["broken"].is_string(), "{body}");
}
