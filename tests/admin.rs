//! The admin API over real HTTP: authentication and scopes on every route, imports over HTTP,
//! the append-only audit log, statistics, metrics and the OpenAPI document.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use maktab::config::Config;
use maktab::conversation::Inbound;
use maktab::domain::{Channel, CommuneCode, Role};
use maktab::office::Principal;
use maktab::store::AuditQuery;

struct Tokens {
    national: String,
    alger: String,
    oran: String,
    clerk: String,
    expired: String,
    revoked: String,
}

async fn tokens(db: &TestDb) -> Tokens {
    let operator = Principal::command_line();
    let office = office(&db.store);
    let commune = |code: &str| vec![CommuneCode::parse(code).unwrap()];
    let create = |name: &'static str, role, communes, expires| {
        let office = office.clone();
        async move {
            office
                .create_token(&operator_clone(), name, role, communes, expires)
                .await
                .unwrap()
        }
    };
    let national = create("national authority", Role::National, vec![], None).await;
    let alger = create(
        "Alger Centre office",
        Role::CommuneAdmin,
        commune("1601"),
        Some(30),
    )
    .await;
    let oran = create("Oran office", Role::CommuneAdmin, commune("3101"), None).await;
    let clerk = create(
        "clerk supervisor",
        Role::ClerkSupervisor,
        commune("1601"),
        None,
    )
    .await;
    let expired = create("expired", Role::National, vec![], Some(0)).await;
    let revoked = create("revoked", Role::National, vec![], None).await;
    assert!(office.revoke_token(&operator, revoked.id).await.is_ok());
    Tokens {
        national: national.token,
        alger: alger.token,
        oran: oran.token,
        clerk: clerk.token,
        expired: expired.token,
        revoked: revoked.token,
    }
}

fn operator_clone() -> Principal {
    Principal::command_line()
}

/// Every `/api/v1` route, as (method, path, body).
fn routes() -> Vec<(&'static str, &'static str, &'static [u8])> {
    vec![
        ("GET", "/api/v1/whoami", b""),
        ("GET", "/api/v1/imports", b""),
        (
            "POST",
            "/api/v1/imports/map?dry_run=true",
            MAP_CSV.as_bytes(),
        ),
        (
            "POST",
            "/api/v1/imports/roll?dry_run=true",
            ROLL_CSV.as_bytes(),
        ),
        ("GET", "/api/v1/audit", b""),
        ("GET", "/api/v1/stats/lookups", b""),
        ("GET", "/api/v1/stats/roll", b""),
        ("GET", "/api/v1/openapi.json", b""),
        ("GET", "/api/v1/reports", b""),
        ("GET", "/api/v1/reports/export", b""),
        ("GET", "/api/v1/stats/reports", b""),
        ("GET", "/api/v1/clerks", b""),
    ]
}

async fn call(
    app: &ServerApp,
    method: &str,
    path: &str,
    body: &[u8],
    authorization: Option<&str>,
) -> HttpResponse {
    let mut headers = vec![("Content-Type", "text/csv")];
    if let Some(value) = authorization {
        headers.push(("Authorization", value));
    }
    http(app.address, method, path, &headers, body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_missing_bad_expired_revoked_and_out_of_scope_tokens() {
    let db = TestDb::with_roll().await;
    let tokens = tokens(&db).await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let (national_id, national_secret) = tokens
        .national
        .strip_prefix("mk_")
        .unwrap()
        .split_once('_')
        .unwrap();
    let wrong_secret = format!(
        "Bearer mk_{national_id}_{}",
        "0".repeat(national_secret.len())
    );
    let refused: Vec<(String, Option<String>)> = vec![
        ("no token".to_owned(), None),
        (
            "not bearer".to_owned(),
            Some(format!("Basic {}", tokens.national)),
        ),
        ("garbage".to_owned(), Some("Bearer garbage".to_owned())),
        ("wrong secret".to_owned(), Some(wrong_secret)),
        (
            "unknown id".to_owned(),
            Some(format!("Bearer mk_999_{national_secret}")),
        ),
        (
            "expired".to_owned(),
            Some(format!("Bearer {}", tokens.expired)),
        ),
        (
            "revoked".to_owned(),
            Some(format!("Bearer {}", tokens.revoked)),
        ),
    ];
    for (method, path, body) in routes() {
        for (why, authorization) in &refused {
            let response = call(&app, method, path, body, authorization.as_deref()).await;
            assert_eq!(
                response.status, 401,
                "{why}: {method} {path}: {}",
                response.body
            );
            assert_eq!(response.json()["code"], "unauthorized");
            assert_eq!(response.header("www-authenticate"), Some("Bearer"));
        }
        let national = call(
            &app,
            method,
            path,
            body,
            Some(&format!("Bearer {}", tokens.national)),
        )
        .await;
        assert_eq!(
            national.status, 200,
            "national: {method} {path}: {}",
            national.body
        );
        // A clerk supervisor manages reports and clerks only.
        let clerk = call(
            &app,
            method,
            path,
            body,
            Some(&format!("Bearer {}", tokens.clerk)),
        )
        .await;
        let clerk_allowed = [
            "/api/v1/whoami",
            "/api/v1/openapi",
            "/api/v1/reports",
            "/api/v1/stats/reports",
            "/api/v1/clerks",
        ]
        .iter()
        .any(|allowed| path.starts_with(allowed));
        assert_eq!(
            clerk.status,
            if clerk_allowed { 200 } else { 403 },
            "clerk: {method} {path}"
        );
    }
    // Out of scope: another commune's data is refused with 403, not hidden.
    let oran = format!("Bearer {}", tokens.oran);
    for path in [
        "/api/v1/audit?commune=1601",
        "/api/v1/stats/lookups?commune=1601",
        "/api/v1/stats/roll?commune=1601",
        "/api/v1/reports?commune=1601",
        "/api/v1/reports/export?commune=1601",
        "/api/v1/stats/reports?commune=1601",
        "/api/v1/clerks?commune=1601",
    ] {
        let response = call(&app, "GET", path, b"", Some(&oran)).await;
        assert_eq!(response.status, 403, "{path}: {}", response.body);
        assert_eq!(response.json()["code"], "forbidden");
        let own = call(&app, "GET", &path.replace("1601", "3101"), b"", Some(&oran)).await;
        assert_eq!(own.status, 200, "{path}");
    }
    for path in [
        "/api/v1/imports/map?dry_run=true",
        "/api/v1/imports/roll?dry_run=true",
    ] {
        let body = if path.contains("map") {
            MAP_CSV
        } else {
            ROLL_CSV
        };
        let response = call(&app, "POST", path, body.as_bytes(), Some(&oran)).await;
        assert_eq!(response.status, 403, "{path}: {}", response.body);
        assert_eq!(response.json()["code"], "out_of_scope");
        assert_eq!(response.json()["report"]["errors"][0]["line"], 2);
    }
    let alger = call(
        &app,
        "POST",
        "/api/v1/imports/roll?dry_run=true",
        ROLL_CSV.as_bytes(),
        Some(&format!("Bearer {}", tokens.alger)),
    )
    .await;
    assert_eq!(alger.status, 200, "{}", alger.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imports_over_http_validate_like_the_command_line_and_respect_the_size_limit() {
    let db = TestDb::with_roll().await;
    let tokens = tokens(&db).await;
    let mut config = Config::default();
    config.api.import_max_bytes = 4096;
    let app = ServerApp::spawn(&db, &config).await;
    let national = Some(tokens.national.as_str());

    let bad = ROLL_CSV.replace("1985-12-01", "1985-13-01");
    let rejected = app
        .post("/api/v1/imports/roll", national, bad.as_bytes())
        .await;
    assert_eq!(rejected.status, 422, "{}", rejected.body);
    let body = rejected.json();
    assert_eq!(body["code"], "import_rejected");
    assert_eq!(body["report"]["errors"][0]["line"], 3);
    assert!(
        body["report"]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("birth_date:")
    );

    let moved = ROLL_CSV.replace("1601,C01,1", "1601,C02,2");
    let dry = app
        .post(
            "/api/v1/imports/roll?dry_run=true",
            national,
            moved.as_bytes(),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(dry.json()["record"].is_null());
    assert_eq!(dry.json()["report"]["counts"]["voters"], 3);
    let still = db
        .talk()
        .text("+213550000001", &format!("NIN {NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert!(
        still.contains("Ecole Emir Abdelkader"),
        "the dry run changed nothing: {still}"
    );

    let accepted = app
        .post("/api/v1/imports/roll", national, moved.as_bytes())
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert!(accepted.json()["record"]["version"].as_i64().unwrap() > 0);
    assert_eq!(accepted.json()["record"]["pending"], true);
    let change_set = accepted.json()["record"]["change_set"].as_i64().unwrap();
    let again = app
        .post("/api/v1/imports/roll", national, moved.as_bytes())
        .await;
    assert_eq!(
        again.status, 409,
        "one change set at a time: {}",
        again.body
    );
    let approved = app
        .post(
            &format!("/api/v1/changes/{change_set}/approve"),
            national,
            b"",
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    let now = db
        .talk()
        .text("+213550000002", &format!("NIN {NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert!(now.contains("CEM Larbi Ben M'hidi"), "{now}");

    let huge = format!("{ROLL_CSV}{}", "x".repeat(10_000));
    let too_large = app
        .post("/api/v1/imports/roll", national, huge.as_bytes())
        .await;
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert_eq!(too_large.json()["code"], "payload_too_large");

    let missing = app
        .post("/api/v1/imports/roll", national, b"nin,sex\n1,M\n")
        .await;
    assert_eq!(missing.status, 400);
    let unknown_kind = app.post("/api/v1/imports/voters", national, b"").await;
    assert_eq!(unknown_kind.status, 404);
    let bad_param = app
        .post(
            "/api/v1/imports/roll?dry_run=maybe",
            national,
            ROLL_CSV.as_bytes(),
        )
        .await;
    assert_eq!(bad_param.status, 400);
    assert_eq!(bad_param.json()["code"], "bad_request");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_action_leaves_one_audit_entry_and_nothing_alters_the_log() {
    let db = TestDb::with_roll().await;
    let before = db
        .store
        .audit_entries(&AuditQuery {
            limit: 500,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .len();
    let tokens = tokens(&db).await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let alger = Some(tokens.alger.as_str());
    app.post(
        "/api/v1/imports/roll?dry_run=true",
        alger,
        ROLL_CSV.as_bytes(),
    )
    .await;
    // A file that changes something (an unchanged one makes no change set to decide).
    let without = ROLL_CSV.replace(&format!("{NIN_NO_COORDS},1970-01-20,,1601,C02,1\n"), "");
    let pending = app
        .post("/api/v1/imports/roll", alger, without.as_bytes())
        .await;
    let change_set = pending.json()["record"]["change_set"].as_i64().unwrap();
    let approved = app
        .post(&format!("/api/v1/changes/{change_set}/approve"), alger, b"")
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    app.post(
        "/api/v1/imports/roll",
        alger,
        b"nin,birth_date,commune_code,centre_code,station\n1,2,1601,C01,1\n",
    )
    .await;
    app.post(
        "/api/v1/imports/roll",
        Some(tokens.oran.as_str()),
        ROLL_CSV.as_bytes(),
    )
    .await;
    let page = app
        .get("/api/v1/audit?limit=500", Some(&tokens.national))
        .await
        .json();
    let actions: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "import.roll.rejected", // Oran's token, Alger Centre's rows
            "import.roll.rejected",
            "changes.roll.approve",
            "import.roll",
            "import.roll.dry_run",
            "token.revoke",
            "token.create",
            "token.create",
            "token.create",
            "token.create",
            "token.create",
            "token.create",
        ]
    );
    assert_eq!(
        before, 0,
        "fixture imports go straight through the library, unaudited"
    );
    let entries = page["entries"].as_array().unwrap();
    // Actors are identities: the token's name with its id.
    assert!(
        entries[3]["actor"]
            .as_str()
            .unwrap()
            .starts_with("Alger Centre office (token:"),
        "{}",
        entries[3]["actor"]
    );
    assert_eq!(entries[3]["communes"], serde_json::json!(["1601"]));
    assert_eq!(
        entries[3]["details"]["counts"]["voters"], 2,
        "one voter left out"
    );
    assert_eq!(entries[2]["details"]["change_set"], change_set);
    assert_eq!(entries[0]["details"]["out_of_scope_rows"], 3);
    assert!(
        entries[11]["actor"]
            .as_str()
            .unwrap()
            .starts_with("command line")
    );

    // Paging and filters.
    let first = app
        .get("/api/v1/audit?limit=4", Some(&tokens.national))
        .await
        .json();
    let next = first["next_before_id"].as_i64().unwrap();
    let second = app
        .get(
            &format!("/api/v1/audit?limit=4&before_id={next}"),
            Some(&tokens.national),
        )
        .await
        .json();
    assert_eq!(second["entries"][0]["action"], "import.roll.dry_run");
    let tokens_only = app
        .get("/api/v1/audit?action=token", Some(&tokens.national))
        .await
        .json();
    assert_eq!(tokens_only["entries"].as_array().unwrap().len(), 7);
    // A commune office sees entries about its communes only.
    let oran_view = app.get("/api/v1/audit", Some(&tokens.oran)).await.json();
    assert!(
        oran_view["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["communes"].as_array().unwrap().contains(&"3101".into()))
    );

    // No route changes the log...
    for method in ["PUT", "DELETE", "PATCH", "POST"] {
        let response = http(
            app.address,
            method,
            "/api/v1/audit",
            &[("Authorization", &format!("Bearer {}", tokens.national))],
            b"",
        )
        .await;
        assert_eq!(response.status, 405, "{method}");
    }
    // ...and the database itself refuses.
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let update = sqlx::query("update audit_log set actor = 'someone else'")
        .execute(&pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("delete from audit_log").execute(&pool).await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    app.stop().await;
    let after = db
        .store
        .audit_entries(&AuditQuery {
            limit: 500,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(after.len(), 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn statistics_match_a_scripted_sequence_of_lookups_exactly() {
    let db = TestDb::empty().await;
    db.import_map(&format!(
        "{MAP_CSV}3101,وهران,Oran,C01,ثانوية الحياة,Lycée El Hayat,7 شارع,7 Rue,35.69,-0.63,1,mixed\n"
    ))
    .await
    .unwrap();
    db.import_roll(&format!(
        "{ROLL_CSV}333333333333333333,1999-09-09,F,3101,C01,1\n"
    ))
    .await
    .unwrap();
    let tokens = tokens(&db).await;
    let mut config = Config::default();
    config.lookup.max_per_sender_per_hour = 3;
    let app = ServerApp::spawn(&db, &config).await;
    let conversation = &app.app.conversation;
    let send = |channel: Channel, sender: &str, text: &str, at: i64| {
        let inbound = Inbound {
            channel,
            sender: sender.to_owned(),
            text: text.to_owned(),
        };
        async move { conversation.handle_at(&inbound, at).await.outcome }
    };
    let hour = START;
    // Hour 1: Alger Centre found twice (SMS and Telegram), one wrong date, one unknown NIN,
    // then the SMS sender goes over its limit of 3.
    send(
        Channel::Sms,
        "+213550000001",
        &format!("{NIN_MIXED} {BIRTH_MIXED}"),
        hour,
    )
    .await;
    send(
        Channel::Telegram,
        "42",
        &format!("{NIN_WOMEN} {BIRTH_WOMEN}"),
        hour + 10,
    )
    .await;
    send(
        Channel::Sms,
        "+213550000001",
        &format!("{NIN_MIXED} 01/01/1990"),
        hour + 20,
    )
    .await;
    send(
        Channel::Sms,
        "+213550000001",
        &format!("{NIN_UNKNOWN} 01/01/1990"),
        hour + 30,
    )
    .await;
    send(
        Channel::Sms,
        "+213550000001",
        &format!("{NIN_MIXED} {BIRTH_MIXED}"),
        hour + 40,
    )
    .await;
    // Hour 2: Oran found once; a non-lookup message counts nothing.
    send(
        Channel::Sms,
        "+213550000002",
        "333333333333333333 09/09/1999",
        hour + 3600,
    )
    .await;
    send(Channel::Sms, "+213550000002", "AIDE", hour + 3601).await;
    app.app.recorder.flush(db.store.as_ref()).await.unwrap();

    let national = app
        .get(
            &format!("/api/v1/stats/lookups?since={hour}"),
            Some(&tokens.national),
        )
        .await
        .json();
    assert_eq!(national["total"], 6);
    assert_eq!(
        national["by_outcome"],
        serde_json::json!({"found": 3, "verification_failed": 1, "not_found": 1, "rate_limited_sender": 1})
    );
    assert_eq!(
        national["by_channel"],
        serde_json::json!({"sms": 5, "telegram": 1})
    );
    assert_eq!(
        national["by_commune"],
        serde_json::json!({"": 2, "1601": 3, "3101": 1})
    );
    let hours: std::collections::BTreeSet<i64> = national["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["hour"].as_i64().unwrap())
        .collect();
    assert_eq!(hours.into_iter().collect::<Vec<_>>(), [hour, hour + 3600]);

    let alger = app
        .get("/api/v1/stats/lookups", Some(&tokens.alger))
        .await
        .json();
    assert_eq!(alger["total"], 3, "only its commune: {alger}");
    assert_eq!(
        alger["by_outcome"],
        serde_json::json!({"found": 2, "verification_failed": 1})
    );
    let telegram = app
        .get(
            "/api/v1/stats/lookups?channel=telegram",
            Some(&tokens.national),
        )
        .await
        .json();
    assert_eq!(telegram["total"], 1);
    let bad = app
        .get("/api/v1/stats/lookups?channel=fax", Some(&tokens.national))
        .await;
    assert_eq!(bad.status, 400);

    // Counts survive a flush failure-free restart and add up across flushes.
    send(
        Channel::Sms,
        "+213550000003",
        &format!("{NIN_MIXED} {BIRTH_MIXED}"),
        hour + 50,
    )
    .await;
    app.app.recorder.flush(db.store.as_ref()).await.unwrap();
    let again = app
        .get(
            &format!("/api/v1/stats/lookups?until={}", hour + 3600),
            Some(&tokens.national),
        )
        .await
        .json();
    assert_eq!(again["by_outcome"]["found"], 3);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn roll_statistics_count_voters_per_station_and_flag_stations_near_the_limit() {
    let db = TestDb::with_roll().await;
    let tokens = tokens(&db).await;
    let mut config = Config::default();
    config.import.max_voters_per_station = 2;
    let app = ServerApp::spawn(&db, &config).await;
    let stats = app
        .get("/api/v1/stats/roll", Some(&tokens.alger))
        .await
        .json();
    assert_eq!(stats["voters"], 3);
    assert_eq!(stats["max_voters_per_station"], 2);
    let commune = &stats["communes"][0];
    assert_eq!(
        (commune["code"].as_str(), commune["voters"].as_i64()),
        (Some("1601"), Some(3))
    );
    let c01 = &commune["centres"][0];
    assert_eq!(c01["stations"][1]["kind"], "women");
    assert_eq!(c01["stations"][0]["fill"], "near_limit");
    assert_eq!(commune["centres"][1]["stations"][1]["fill"], "ok");
    assert_eq!(stats["stations_near_limit"], 3);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_lookups_and_the_pool_and_can_move_to_their_own_listener() {
    let db = TestDb::with_roll().await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    app.get("/healthz", None).await;
    app.get("/healthz", None).await;
    app.get("/api/v1/whoami", None).await;
    let conversation = &app.app.conversation;
    conversation
        .handle(&Inbound {
            channel: Channel::Sms,
            sender: "+213550000001".into(),
            text: format!("{NIN_MIXED} {BIRTH_MIXED}"),
        })
        .await;
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains(
            "maktab_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2"
        ),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains(
        "maktab_http_requests_total{route=\"/api/v1/whoami\",method=\"GET\",status=\"401\"} 1"
    ));
    assert!(
        metrics
            .body
            .contains("maktab_http_request_duration_seconds_count{route=\"/healthz\"} 2")
    );
    assert!(
        metrics
            .body
            .contains("maktab_lookups_total{channel=\"sms\",outcome=\"found\"} 1")
    );
    assert!(metrics.body.contains("maktab_db_pool_max_connections 4"));
    app.stop().await;

    let config = Config {
        metrics_listen: Some("127.0.0.1:0".to_owned()),
        ..Config::default()
    };
    let main = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let side = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (main_address, side_address) = (main.local_addr().unwrap(), side.local_addr().unwrap());
    let state = maktab::server::App::new(Arc::clone(&db.store), &config).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(maktab::server::serve(main, Some(side), state, async {
        let _ = stopped.await;
    }));
    assert_eq!(
        http(main_address, "GET", "/metrics", &[], b"").await.status,
        404
    );
    let separate = http(side_address, "GET", "/metrics", &[], b"").await;
    assert_eq!(separate.status, 200);
    assert!(separate.body.contains("maktab_db_pool_connections"));
    assert_eq!(
        http(side_address, "GET", "/api/v1/whoami", &[], b"")
            .await
            .status,
        404
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_every_route_and_the_bearer_scheme() {
    let db = TestDb::with_roll().await;
    let tokens = tokens(&db).await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let doc = app
        .get("/api/v1/openapi.json", Some(&tokens.clerk))
        .await
        .json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (_, path, _) in routes() {
        let path = path.split('?').next().unwrap();
        let path = if path.starts_with("/api/v1/imports/") {
            "/api/v1/imports/{kind}"
        } else {
            path
        };
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_errors_answer_json() {
    let db = TestDb::with_roll().await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let missing = app.get("/nothing-here", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "not_found");
    app.stop().await;
}
