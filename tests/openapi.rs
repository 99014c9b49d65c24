//! The OpenAPI document describes the admin API as it is routed: every route and only those,
//! query parameters in the query, path parameters matching the path, and a description of
//! today's API. (`.ci/run` also validates it with `openapi-spec-validator`.)

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use maktab::config::Config;
use maktab::domain::Role;
use maktab::office::Principal;
use serde_json::Value;
use utoipa::OpenApi as _;

fn document() -> Value {
    serde_json::to_value(maktab::admin::openapi::ApiDoc::openapi()).unwrap()
}

/// (METHOD, path) of every operation in the document.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

#[test]
fn the_document_lists_exactly_the_routes_of_the_admin_router() {
    let routed: BTreeSet<(String, String)> = maktab::admin::endpoints()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path.to_owned()))
        .collect();
    let documented = operations(&document());
    assert!(routed.len() > 20, "the router lists its routes: {routed:?}");
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(missing.is_empty(), "routed but not documented: {missing:?}");
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    assert!(routed.contains(&("GET".to_owned(), "/api/v1/audit/verify".to_owned())));
}

#[test]
fn parameters_are_where_the_request_carries_them() {
    let document = document();
    let mut queries = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut declared = BTreeSet::new();
            for parameter in &parameters {
                let name = parameter["name"].as_str().unwrap();
                let location = parameter["in"].as_str().unwrap();
                match location {
                    "path" => {
                        assert!(
                            in_path.contains(name),
                            "{method} {path}: {name} is declared in the path but is not in it"
                        );
                        assert_eq!(parameter["required"], true, "{method} {path}: {name}");
                        declared.insert(name);
                    }
                    "query" => queries += 1,
                    other => panic!("{method} {path}: {name} in {other}"),
                }
            }
            assert_eq!(
                declared, in_path,
                "{method} {path}: every path segment parameter is declared"
            );
        }
    }
    assert!(
        queries >= 25,
        "the query parameters are in the query: {queries}"
    );
}

#[test]
fn the_description_is_of_todays_api() {
    let document = document();
    let description = document["info"]["description"].as_str().unwrap();
    for today in [
        "change set",
        "broadcast",
        "clerk",
        "/api/v1/audit/verify",
        "commune_admin",
        "clerk_supervisor",
        "{\"code\"",
    ] {
        assert!(
            description.contains(today),
            "the description mentions {today:?}: {description}"
        );
    }
    assert_eq!(document["openapi"].as_str().map(|v| &v[..2]), Some("3."));
}

#[test]
fn maktab_openapi_prints_the_document() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_maktab"))
        .arg("openapi")
        .env(
            "MAKTAB_DATABASE_URL",
            "sqlite:///nonexistent/never-opened.db",
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, document());
}

/// A concrete path for a documented one.
fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{kind}", "map")
        .replace("{action}", "pause")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_operation_is_served_and_served_document_is_the_same() {
    let db = TestDb::with_roll().await;
    let token = office(&db.store)
        .create_token(
            &Principal::command_line(),
            "national authority",
            Role::National,
            vec![],
            None,
        )
        .await
        .unwrap()
        .token;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let bearer = format!("Bearer {token}");
    let served = app.get("/api/v1/openapi.json", Some(&token)).await;
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.json(), document());
    for (method, path) in operations(&document()) {
        let path = concrete(&path);
        let path = if path.starts_with("/api/v1/imports/") {
            format!("{path}?dry_run=true")
        } else {
            path
        };
        let body: &[u8] = if method == "POST" && path.starts_with("/api/v1/imports/") {
            MAP_CSV.as_bytes()
        } else {
            b"{}"
        };
        let kind = if path.starts_with("/api/v1/imports/") {
            "text/csv"
        } else {
            "application/json"
        };
        let response = http(
            app.address,
            &method,
            &path,
            &[("Authorization", bearer.as_str()), ("Content-Type", kind)],
            body,
        )
        .await;
        assert_ne!(response.status, 405, "{method} {path}: {}", response.body);
        assert!(
            !(response.status == 404 && response.body.contains("no such route")),
            "{method} {path} is routed: {}",
            response.body
        );
        assert!(response.status < 500, "{method} {path}: {}", response.body);
    }
}
