//! Every 4xx and 5xx of every route carries the one JSON error body `{"code", "message"}`,
//! axum's own rejections included: unknown routes, methods a route does not take, path
//! parameters that do not parse, bodies over their limit, bodies that are not the JSON asked
//! for, on the admin API and on the webhooks.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::fake_telegram::FakeTelegram;
use common::*;
use maktab::channels::telegram::{Telegram, TelegramSettings};
use maktab::config::{Config, Secret};
use maktab::domain::Role;
use maktab::office::Principal;
use maktab::server::{self, App};

/// Asserts the response is the one error body with this status and code; returns the message.
fn assert_json_error(response: &HttpResponse, status: u16, code: &str, what: &str) -> String {
    assert_eq!(response.status, status, "{what}: {}", response.body);
    let kind = response.header("content-type").unwrap_or_default();
    assert!(
        kind.starts_with("application/json"),
        "{what}: content type {kind:?}, body {:?}",
        response.body
    );
    let body = response.json();
    assert_eq!(body["code"], code, "{what}: {body}");
    let message = body["message"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "{what}: a message for people: {body}");
    message
}

async fn national_token(db: &TestDb) -> String {
    office(&db.store)
        .create_token(
            &Principal::command_line(),
            "national authority",
            Role::National,
            vec![],
            None,
        )
        .await
        .unwrap()
        .token
}

async fn request(
    app: &ServerApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    http(app.address, method, path, headers, body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_unknown_methods_answer_json() {
    let db = TestDb::with_roll().await;
    let token = national_token(&db).await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];

    for path in ["/api/v1/nothing-here", "/nowhere", "/webhooks/sms/unknown"] {
        let response = request(&app, "GET", path, &auth, b"").await;
        let message = assert_json_error(&response, 404, "not_found", path);
        assert!(message.contains("no such route"), "{path}: {message}");
    }

    for (method, path) in [
        ("DELETE", "/api/v1/whoami"),
        ("PUT", "/api/v1/changes/1"),
        ("GET", "/api/v1/changes/1/approve"),
        ("GET", "/api/v1/imports/map"),
        ("DELETE", "/healthz"),
        ("GET", "/webhooks/sms/twilio"),
    ] {
        let response = request(&app, method, path, &auth, b"").await;
        let what = format!("{method} {path}");
        let message = assert_json_error(&response, 405, "method_not_allowed", &what);
        assert!(
            response.header("allow").is_some(),
            "{what}: the Allow header is kept: {:?}",
            response.headers
        );
        assert!(message.contains("allowed"), "{what}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn path_and_query_parameters_that_do_not_parse_answer_400_json() {
    let db = TestDb::with_roll().await;
    let token = national_token(&db).await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];

    for (method, path) in [
        ("GET", "/api/v1/changes/abc"),
        ("POST", "/api/v1/changes/abc/approve"),
        ("GET", "/api/v1/campaigns/1.5"),
        ("POST", "/api/v1/clerks/x/revoke"),
        ("GET", "/api/v1/audit?limit=many"),
        ("GET", "/api/v1/changes/1?offset=-1"),
    ] {
        let response = request(&app, method, path, &auth, b"").await;
        let what = format!("{method} {path}");
        assert_json_error(&response, 400, "bad_request", &what);
    }
    // Without a token the parameter is not even looked at.
    let response = request(&app, "GET", "/api/v1/changes/abc", &[], b"").await;
    assert_json_error(&response, 401, "unauthorized", "no token");
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_json_bodies_are_refused_with_their_own_status_in_json() {
    let db = TestDb::with_roll().await;
    let token = national_token(&db).await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let bearer = format!("Bearer {token}");
    let json = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];

    // Over 64 KiB: 413, not 400, whether or not the length was declared up front.
    let text = "x".repeat(70 * 1024);
    let big = serde_json::to_vec(&serde_json::json!({
        "audience": { "commune": "1601" }, "text_ar": text, "text_fr": "x"
    }))
    .unwrap();
    let response = request(&app, "POST", "/api/v1/campaigns", &json, &big).await;
    assert_json_error(&response, 413, "payload_too_large", "declared large body");
    let chunked = chunked_post(
        app.address,
        "/api/v1/clerks",
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ],
        &big,
    )
    .await;
    assert_json_error(&chunked, 413, "payload_too_large", "chunked large body");

    let plain = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "text/plain"),
    ];
    let response = request(&app, "POST", "/api/v1/campaigns", &plain, b"{}").await;
    assert_json_error(&response, 415, "unsupported_media_type", "text/plain body");

    let response = request(&app, "POST", "/api/v1/campaigns", &json, b"{\"audience\":").await;
    assert_json_error(&response, 400, "bad_request", "truncated JSON");

    let response = request(
        &app,
        "POST",
        "/api/v1/campaigns",
        &json,
        b"{\"audience\":3}",
    )
    .await;
    assert_json_error(&response, 422, "unprocessable_entity", "wrong shape");

    let response = request(
        &app,
        "POST",
        "/api/v1/reports/handled",
        &json,
        b"{\"ids\":[\"a\"]}",
    )
    .await;
    assert_json_error(
        &response,
        422,
        "unprocessable_entity",
        "handled: wrong shape",
    );
}

/// A POST whose body is sent chunked, without a length: the limit is met while reading.
async fn chunked_post(
    address: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut raw = request.into_bytes();
    for chunk in body.chunks(8 * 1024) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let _ = stream.write_all(&raw);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        HttpResponse {
            status,
            headers,
            body: body.to_owned(),
            bytes: body.as_bytes().to_vec(),
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_webhook_bodies_over_their_limit_answer_413_json() {
    let app = spawn_app(|sms| {
        sms.generic.secret = Some(Secret::new("generic-secret"));
        sms.kannel.secret = Some(Secret::new("kannel-secret"));
    })
    .await;
    let big = vec![b'a'; maktab::channels::sms::MAX_WEBHOOK_BODY + 1];
    for (path, kind) in [
        ("/webhooks/sms/generic", "application/json"),
        ("/webhooks/sms/generic/status", "application/json"),
        ("/webhooks/sms/kannel", "application/x-www-form-urlencoded"),
    ] {
        let response = http(app.address, "POST", path, &[("Content-Type", kind)], &big).await;
        assert_json_error(&response, 413, "payload_too_large", path);
    }
    // A small body that is not a webhook's still answers JSON, as it did.
    let response = http(
        app.address,
        "POST",
        "/webhooks/sms/generic",
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .await;
    assert!(response.status >= 400, "{}", response.body);
    assert!(response.json()["code"].is_string(), "{}", response.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_telegram_webhook_answers_its_refusals_in_json() {
    let db = TestDb::with_roll().await;
    let fake = FakeTelegram::start().await;
    let settings = TelegramSettings::new("123456:TEST", "the-webhook-secret", fake.url());
    let telegram = Telegram::new(settings).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = App::new(Arc::clone(&db.store), &Config::default())
        .unwrap()
        .with_telegram(Some(telegram));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(listener, None, app, async {
        let _ = stopped.await;
    }));

    let json = ("Content-Type", "application/json");
    let secret = ("X-Telegram-Bot-Api-Secret-Token", "the-webhook-secret");
    let response = http(address, "POST", "/webhooks/telegram", &[json], b"{}").await;
    assert_json_error(&response, 401, "unauthorized", "no secret");
    let response = http(
        address,
        "POST",
        "/webhooks/telegram",
        &[json, secret],
        b"[1]",
    )
    .await;
    assert_json_error(&response, 400, "bad_request", "not an update");
    let big = vec![b' '; 2 * 1024 * 1024];
    let response = http(address, "POST", "/webhooks/telegram", &[json, secret], &big).await;
    assert_json_error(&response, 413, "payload_too_large", "large update");
    let response = http(address, "GET", "/webhooks/telegram", &[secret], b"").await;
    assert_json_error(&response, 405, "method_not_allowed", "GET telegram");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn json_answers_that_already_were_json_are_left_as_they_were() {
    let db = TestDb::with_roll().await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let response = app.get("/api/v1/whoami", None).await;
    assert_json_error(&response, 401, "unauthorized", "no token");
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer"),
        "the challenge is kept"
    );
    let healthy = app.get("/healthz", None).await;
    assert_eq!(healthy.status, 200);
    assert_eq!(healthy.json()["status"], "ok");
}
