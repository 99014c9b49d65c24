//! A commune office sees nothing of another commune: every route of the OpenAPI document is
//! called with Oran's token, with the path parameters set to real ids of Alger Centre's
//! objects, and no answer carries Alger Centre's codes, names, actors or ids.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use maktab::config::Config;
use maktab::conversation::Inbound;
use maktab::domain::{Channel, CommuneCode, Role};
use maktab::office::Principal;
use serde_json::{Value, json};

const ORAN_MAP_ROW: &str =
    "3101,وهران,Oran,C01,ثانوية الحياة,Lycée El Hayat,7 شارع,7 Rue,35.69,-0.63,1,mixed\n";
const ORAN_VOTER: &str = "333333333333333333,1999-09-09,F,3101,C01,1\n";

/// What of Alger Centre must not reach Oran: texts found anywhere in a body, and ids of its
/// objects found under the keys that name them.
#[derive(Debug, Default)]
struct Foreign {
    texts: Vec<String>,
    change_sets: BTreeSet<i64>,
    campaigns: BTreeSet<i64>,
    clerks: BTreeSet<i64>,
    reports: BTreeSet<i64>,
    versions: BTreeSet<i64>,
    tickets: BTreeSet<i64>,
    shifts: BTreeSet<i64>,
}

impl Foreign {
    /// What of Alger Centre this body shows, ignoring what the request itself named (its
    /// text, and the ids in its path or its `ids` list).
    fn leaks(&self, body: &str, request: &str, named: &BTreeSet<i64>) -> Vec<String> {
        let mut found: Vec<String> = self
            .texts
            .iter()
            .filter(|text| body.contains(text.as_str()) && !request.contains(text.as_str()))
            .cloned()
            .collect();
        if let Ok(json) = serde_json::from_str::<Value>(body) {
            self.walk(&json, None, named, &mut found);
        }
        found
    }

    fn walk(
        &self,
        value: &Value,
        key: Option<&str>,
        named: &BTreeSet<i64>,
        found: &mut Vec<String>,
    ) {
        match value {
            Value::Object(map) => {
                // An element of a list of objects is identified by its `id`.
                let id_kind = match key {
                    Some("change_sets") | Some("change_set") => Some(&self.change_sets),
                    Some("campaigns") | Some("campaign") => Some(&self.campaigns),
                    Some("clerks") => Some(&self.clerks),
                    Some("reports") => Some(&self.reports),
                    Some("tickets") | Some("ticket") => Some(&self.tickets),
                    Some("shifts") => Some(&self.shifts),
                    _ => None,
                };
                for (name, inner) in map {
                    let ids = match name.as_str() {
                        "id" => id_kind,
                        "change_set" | "change_set_id" => Some(&self.change_sets),
                        "campaign" => Some(&self.campaigns),
                        "clerk_id" => Some(&self.clerks),
                        "version" if key == Some("imports") => Some(&self.versions),
                        _ => None,
                    };
                    if let (Some(ids), Some(n)) = (ids, inner.as_i64())
                        && ids.contains(&n)
                        && !named.contains(&n)
                    {
                        found.push(format!("{name} {n}"));
                    }
                    self.walk(inner, Some(name), named, found);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, key, named, found);
                }
            }
            _ => {}
        }
    }
}

async fn token(db: &TestDb, name: &str, role: Role, communes: &[&str]) -> String {
    office(&db.store)
        .create_token(
            &Principal::command_line(),
            name,
            role,
            communes
                .iter()
                .map(|c| CommuneCode::parse(c).unwrap())
                .collect(),
            None,
        )
        .await
        .unwrap()
        .token
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commune_office_sees_nothing_of_another_commune_on_any_route() {
    let db = TestDb::empty().await;
    db.import_map(&format!("{MAP_CSV}{ORAN_MAP_ROW}"))
        .await
        .unwrap();
    db.import_roll(&format!("{ROLL_CSV}{ORAN_VOTER}"))
        .await
        .unwrap();
    let national = token(&db, "national authority", Role::National, &[]).await;
    let alger = token(&db, "Alger Centre office", Role::CommuneAdmin, &["1601"]).await;
    let oran = token(&db, "Oran office", Role::CommuneAdmin, &["3101"]).await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let mut foreign = Foreign {
        texts: [
            "1601",
            "Alger Centre",
            "الجزائر الوسطى",
            "Ecole Emir Abdelkader",
            "CEM Larbi",
            // The masked NIN of an Alger Centre voter.
            "10**************12",
        ]
        .map(str::to_owned)
        .to_vec(),
        ..Foreign::default()
    };

    // Alger Centre works: an approved re-import (and its notice campaign), a pending one, a
    // draft broadcast, a clerk, a report and a lookup.
    let alger_roll = |from: &str, to: &str| format!("{ROLL_CSV}{ORAN_VOTER}").replace(from, to);
    let imported = app
        .post(
            "/api/v1/imports/roll",
            Some(&alger),
            ROLL_CSV.replace("1601,C01,1", "1601,C02,2").as_bytes(),
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    let approved_set = imported.json()["record"]["change_set"].as_i64().unwrap();
    foreign
        .versions
        .insert(imported.json()["record"]["version"].as_i64().unwrap());
    foreign.change_sets.insert(approved_set);
    let approval = app
        .post(
            &format!("/api/v1/changes/{approved_set}/approve"),
            Some(&alger),
            b"",
        )
        .await;
    assert_eq!(approval.status, 200, "{}", approval.body);
    foreign
        .campaigns
        .insert(approval.json()["campaign"].as_i64().unwrap());
    let pending = app
        .post(
            "/api/v1/imports/roll",
            Some(&alger),
            alger_roll("1601,C01,2", "1601,C02,1")
                .replace(ORAN_VOTER, "")
                .as_bytes(),
        )
        .await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    let pending_set = pending.json()["record"]["change_set"].as_i64().unwrap();
    foreign.change_sets.insert(pending_set);
    foreign
        .versions
        .insert(pending.json()["record"]["version"].as_i64().unwrap());
    let broadcast = app
        .post_json(
            "/api/v1/campaigns",
            Some(&alger),
            &json!({"audience": {"commune": "1601"}, "text_ar": "تذكير", "text_fr": "Rappel"}),
        )
        .await;
    assert_eq!(broadcast.status, 200, "{}", broadcast.body);
    foreign
        .campaigns
        .insert(broadcast.json()["campaign"].as_i64().unwrap());
    let clerk = app
        .post_json("/api/v1/clerks", Some(&alger), &json!({"commune": "1601"}))
        .await;
    assert_eq!(clerk.status, 201, "{}", clerk.body);
    foreign
        .clerks
        .insert(clerk.json()["clerk_id"].as_i64().unwrap());
    foreign
        .texts
        .push(clerk.json()["code"].as_str().unwrap().to_owned());
    let filed = db
        .store
        .file_report(
            &maktab::store::NewReport {
                nin: maktab::domain::NationalId::parse("444444444444444444").unwrap(),
                birth_date: maktab::domain::BirthDate::parse("02/04/1995").unwrap(),
                commune: CommuneCode::parse("1601").unwrap(),
                full_name: "Karim Haddad".to_owned(),
                source: maktab::store::ReportSourceKind::Citizen,
                clerk_id: None,
                follow_up: None,
                locale: maktab::domain::Locale::Fr,
            },
            maktab::domain::now(),
        )
        .await
        .unwrap();
    foreign.reports.insert(filed.report_id);
    foreign.texts.push("Karim Haddad".to_owned());
    // A duty desk ticket of an Alger Centre voter, and a shift of its duty.
    let now = maktab::domain::now();
    let ticket = app
        .app
        .duty
        .open(
            &maktab::store::NewTicket {
                commune: CommuneCode::parse("1601").unwrap(),
                channel: Channel::Sms,
                sender: "+213550000077".to_owned(),
                sender_masked: "+213******77".to_owned(),
                locale: maktab::domain::Locale::Fr,
                kind: maktab::store::TicketKind::Voter,
                incident_kind: None,
                centre: None,
                priority: 0,
                first_message: Some("mon bureau ?".to_owned()),
            },
            now,
        )
        .await
        .unwrap();
    foreign.tickets.insert(ticket.ticket.id);
    foreign.texts.push("+213******77".to_owned());
    let shift = db
        .store
        .add_shift(
            &maktab::store::NewShift {
                cell: "1601".to_owned(),
                starts_at: now - 60,
                ends_at: now + 3600,
                agent: "user:77".to_owned(),
                created_by: "test".to_owned(),
                created_at: now,
            },
            maktab::store::NewAuditEntry {
                at: now,
                actor: "test (cli:test)".to_owned(),
                action: "duty.shift_add".to_owned(),
                communes: vec![CommuneCode::parse("1601").unwrap()],
                details: json!({}),
            },
        )
        .await
        .unwrap();
    foreign.shifts.insert(shift);
    foreign.texts.push("user:77".to_owned());
    app.app
        .conversation
        .handle(&Inbound {
            channel: Channel::Sms,
            sender: "+213550000001".to_owned(),
            text: format!("{NIN_MIXED} {BIRTH_MIXED}"),
        })
        .await;
    app.app.recorder.flush(db.store.as_ref()).await.unwrap();

    let doc = app.get("/api/v1/openapi.json", Some(&oran)).await.json();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{:?}", paths.keys());
    let mut calls = 0;
    for (template, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            for (path, body) in requests(template, &method, &foreign) {
                let request = format!("{path} {}", String::from_utf8_lossy(&body));
                let mut named: BTreeSet<i64> =
                    path.split('/').filter_map(|s| s.parse().ok()).collect();
                if let Ok(json) = serde_json::from_slice::<Value>(&body) {
                    named.extend(
                        json["ids"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_i64),
                    );
                }
                let headers = [
                    ("Authorization", format!("Bearer {oran}")),
                    (
                        "Content-Type",
                        if template.starts_with("/api/v1/imports/") {
                            "text/csv".to_owned()
                        } else {
                            "application/json".to_owned()
                        },
                    ),
                ];
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let response = http(app.address, &method, &path, &headers, &body).await;
                calls += 1;
                let leaks = foreign.leaks(&response.body, &request, &named);
                assert!(
                    leaks.is_empty(),
                    "{method} {path} answered {} with {leaks:?} of Alger Centre: {}",
                    response.status,
                    response.body
                );
                // Every id in a path is Alger Centre's, and every other POST names Alger
                // Centre's commune or reports: refused. Listings answer 200, emptied of it.
                let names_foreign = template.contains("{id}")
                    || (method == "POST" && !template.starts_with("/api/v1/imports/"));
                if names_foreign {
                    assert!(
                        matches!(response.status, 403 | 404),
                        "{method} {path} acted on Alger Centre's objects: {} {}",
                        response.status,
                        response.body
                    );
                } else {
                    assert_eq!(response.status, 200, "{method} {path}: {}", response.body);
                }
                // The same call with the national token does see Alger Centre: the check
                // above can fail.
                // (The audit chain's verification names no commune's data to anyone.)
                if method == "GET"
                    && ![
                        "/api/v1/whoami",
                        "/api/v1/openapi.json",
                        "/api/v1/audit/verify",
                    ]
                    .contains(&template.as_str())
                {
                    let national = app.get(&path, Some(&national)).await;
                    assert_eq!(national.status, 200, "national {path}: {}", national.body);
                    assert!(
                        !foreign
                            .leaks(&national.body, "", &BTreeSet::new())
                            .is_empty(),
                        "national {path} shows nothing of Alger Centre: {}",
                        national.body
                    );
                }
            }
        }
    }
    assert!(calls >= 30, "only {calls} calls");

    // Nothing Oran tried changed Alger Centre's objects.
    let change_set = db.store.change_set(pending_set).await.unwrap().unwrap();
    assert_eq!(change_set.status, maktab::store::ChangeSetStatus::Pending);
    let clerk = db
        .store
        .clerk(*foreign.clerks.first().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(clerk.revoked_at.is_none());
    app.stop().await;
}

/// The requests to make for one route: each path parameter set to each of Alger Centre's
/// objects of that kind; bodies naming Alger Centre's objects, or Oran's own rows for imports.
fn requests(template: &str, method: &str, foreign: &Foreign) -> Vec<(String, Vec<u8>)> {
    let ids: Vec<i64> = if template.starts_with("/api/v1/changes/") {
        foreign.change_sets.iter().copied().collect()
    } else if template.starts_with("/api/v1/campaigns/") {
        foreign.campaigns.iter().copied().collect()
    } else if template.starts_with("/api/v1/clerks/") {
        foreign.clerks.iter().copied().collect()
    } else if template.starts_with("/api/v1/tickets/") {
        foreign.tickets.iter().copied().collect()
    } else if template.starts_with("/api/v1/duty/shifts/") {
        foreign.shifts.iter().copied().collect()
    } else {
        vec![0]
    };
    let mut paths = Vec::new();
    for id in ids {
        let path = template.replace("{id}", &id.to_string());
        if path.contains("{action}") {
            for action in ["confirm", "pause", "resume", "cancel"] {
                paths.push(path.replace("{action}", action));
            }
        } else if path.contains("{kind}") {
            paths.push(path.replace("{kind}", "map") + "?dry_run=true");
            paths.push(path.replace("{kind}", "roll") + "?dry_run=true");
        } else {
            paths.push(path);
        }
    }
    paths
        .into_iter()
        .map(|path| {
            let body: Vec<u8> = match (method, template) {
                ("POST", "/api/v1/imports/{kind}" | "/api/v1/imports/{kind}/errors")
                    if path.contains("/map") =>
                {
                    format!("{}\n{ORAN_MAP_ROW}", MAP_CSV.lines().next().unwrap()).into_bytes()
                }
                ("POST", "/api/v1/imports/{kind}" | "/api/v1/imports/{kind}/errors") => {
                    format!("{}\n{ORAN_VOTER}", ROLL_CSV.lines().next().unwrap()).into_bytes()
                }
                ("POST", "/api/v1/campaigns") => serde_json::to_vec(&json!({
                    "audience": {"commune": "1601"}, "text_ar": "تذكير", "text_fr": "Rappel"
                }))
                .unwrap(),
                ("POST", "/api/v1/clerks") => {
                    serde_json::to_vec(&json!({"commune": "1601"})).unwrap()
                }
                ("POST", "/api/v1/reports/handled") => {
                    serde_json::to_vec(&json!({"ids": foreign.reports})).unwrap()
                }
                ("POST", "/api/v1/tickets/{id}/reply" | "/api/v1/tickets/{id}/note") => {
                    serde_json::to_vec(&json!({"text": "Bonjour"})).unwrap()
                }
                ("POST", "/api/v1/duty/shifts") => serde_json::to_vec(&json!({
                    "cell": "1601", "agent": "user:77", "chat": "9001",
                    "starts_at": 1_800_000_000, "ends_at": 1_800_003_600
                }))
                .unwrap(),
                _ => Vec::new(),
            };
            (path, body)
        })
        .collect()
}
