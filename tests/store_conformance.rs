//! One storage contract, two databases: every method of [`Store`] and its area traits,
//! written once against `Arc<dyn Store>` and run on SQLite (always) and on PostgreSQL (when
//! `MAKTAB_TEST_POSTGRES_URL` names a server; required when `CI` is set). Each test gets a
//! fresh database, so the suite runs in parallel.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use maktab::conversation::Dialogue;
use maktab::domain::{Channel, CommuneCode, Locale, NationalId, Role, StationKind};
use maktab::store::{
    AuditQuery, ChangeSetStatus, ImportCounts, ImportKind, LookupCount, LookupStatsQuery,
    NewAuditEntry, NewImport, NewToken, RollBatch, SenderState, Store, StoreError,
};
use serde_json::json;
use tokio::sync::mpsc;

/// Runs each listed scenario once per database, as `sqlite::NAME` and `postgres::NAME`.
macro_rules! conformance {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let db = super::TestDb::empty().await;
                    super::$scenario(std::sync::Arc::clone(&db.store)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let Some((db, _database)) = super::TestDb::postgres().await else {
                        return;
                    };
                    super::$scenario(std::sync::Arc::clone(&db.store)).await;
                }
            )*
        }
    };
}

conformance!(
    an_empty_store_answers_pings_and_holds_no_map_roll_or_import,
    a_map_import_becomes_the_current_map_and_only_two_versions_are_kept,
    an_imported_roll_finds_voters_with_their_polling_place_and_counts_station_loads,
    a_roll_import_abandoned_before_its_commit_leaves_everything_as_it_was,
    a_roll_validated_against_a_replaced_map_is_refused,
    a_roll_replaces_only_its_communes_and_a_voter_who_moved_keeps_the_files_row,
    sender_state_round_trips_per_channel_and_an_expired_dialogue_is_left_out,
    subscriptions_are_idempotent_and_kept_per_channel_and_sender,
    a_message_id_is_a_first_delivery_once_per_source_until_pruned,
    counters_count_per_key_and_window_without_losing_concurrent_increments,
    tokens_are_created_listed_and_revoked_once_each_with_an_audit_entry,
    the_audit_log_filters_by_action_prefix_actor_communes_and_time_and_pages_by_id,
    lookup_counts_add_up_across_flushes_and_filter_by_time_channel_and_commune,
);

const ORAN_MAP_ROW: &str = "3101,وهران,Oran,C01,ثانوية الحياة,Lycée El Hayat,7 شارع العربي بن مهيدي,7 Rue Larbi Ben M'hidi,35.6971,-0.6308,1,mixed";

fn commune(code: &str) -> CommuneCode {
    CommuneCode::parse(code).unwrap()
}

fn nin(digits: &str) -> NationalId {
    NationalId::parse(digits).unwrap()
}

/// Imports a map and, if it replaces one, approves its change set.
async fn import_map(store: &Arc<dyn Store>, csv: &str) {
    maktab::roll::import_map(store.as_ref(), csv.as_bytes(), &options(false))
        .await
        .unwrap();
    approve_pending(store).await;
}

async fn import_roll(store: &Arc<dyn Store>, csv: &str) -> maktab::store::ImportRecord {
    let input = std::io::Cursor::new(csv.as_bytes().to_vec());
    maktab::roll::import_roll(Arc::clone(store), input, &options(false))
        .await
        .unwrap()
        .record
        .unwrap()
}

fn new_import() -> NewImport {
    NewImport {
        source: "direct.csv".to_owned(),
        actor: "conformance".to_owned(),
        at: START,
        communes: Vec::new(),
    }
}

/// Approves every pending change set from the command line, as an officer would; returns the
/// campaign ids.
async fn approve_pending(store: &Arc<dyn Store>) -> Vec<i64> {
    let catalog = maktab::i18n::Catalog::load().unwrap();
    let operator = maktab::admin::auth::Principal::command_line();
    let mut campaigns = Vec::new();
    for change_set in store
        .change_sets(Some(ChangeSetStatus::Pending), 100)
        .await
        .unwrap()
    {
        let (campaign, _) = maktab::admin::changes::approve(
            store.as_ref(),
            &catalog,
            &operator,
            change_set.id,
            false,
        )
        .await
        .unwrap();
        campaigns.push(campaign);
    }
    campaigns
}

/// A validated voter, as the importer would send it.
fn voter(
    nin_digits: &str,
    birth: &str,
    sex: &str,
    at: (&str, &str, &str),
) -> maktab::domain::Voter {
    use maktab::domain::{BirthDate, CentreCode, Sex, StationNumber, StationRef, Voter};
    Voter {
        nin: nin(nin_digits),
        birth_date: BirthDate::from_iso(birth).unwrap(),
        sex: match sex {
            "M" => Some(Sex::M),
            "F" => Some(Sex::F),
            _ => None,
        },
        station: StationRef {
            commune: commune(at.0),
            centre: CentreCode::parse(at.1).unwrap(),
            station: StationNumber::parse(at.2).unwrap(),
        },
    }
}

fn audit(at: i64, actor: &str, action: &str, communes: &[&str]) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: actor.to_owned(),
        action: action.to_owned(),
        communes: communes.iter().map(|c| commune(c)).collect(),
        details: json!({"n": at, "nested": {"list": [1, "deux", null], "ar": "بلدية"}}),
    }
}

async fn an_empty_store_answers_pings_and_holds_no_map_roll_or_import(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let pool = store.pool_stats();
    assert!(
        pool.max > 0 && pool.size <= pool.max && pool.idle <= pool.size,
        "{pool:?}"
    );
    assert!(store.current_map().await.unwrap().is_none());
    assert!(
        store
            .current_import(ImportKind::Map)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .current_import(ImportKind::Roll)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.imports(10).await.unwrap().is_empty());
    assert!(store.station_loads().await.unwrap().is_empty());
    assert!(store.find_voter(&nin(NIN_MIXED)).await.unwrap().is_none());
}

async fn a_map_import_becomes_the_current_map_and_only_two_versions_are_kept(
    store: Arc<dyn Store>,
) {
    import_map(&store, MAP_CSV).await;
    let current = store.current_map().await.unwrap().unwrap();
    let map = &current.map;
    assert_eq!(map.communes.len(), 1);
    assert_eq!(map.communes[0].code.as_str(), "1601");
    assert_eq!(map.communes[0].name.fr, "Alger Centre");
    assert_eq!(map.communes[0].name.ar, "الجزائر الوسطى");
    let centres: Vec<&str> = map.centres.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(centres, ["C01", "C02"]);
    assert_eq!(map.centres[0].address.fr, "12 Rue de l'Indépendance");
    let coordinates = map.centres[0].coordinates.unwrap();
    assert_eq!(
        (coordinates.latitude, coordinates.longitude),
        (36.7762, 3.0585)
    );
    assert!(map.centres[1].coordinates.is_none());
    let stations: Vec<(String, u16, StationKind)> = map
        .stations
        .iter()
        .map(|s| (s.at.centre.as_str().to_owned(), s.at.station.get(), s.kind))
        .collect();
    assert_eq!(
        stations,
        [
            ("C01".to_owned(), 1, StationKind::Mixed),
            ("C01".to_owned(), 2, StationKind::Women),
            ("C02".to_owned(), 1, StationKind::Mixed),
            ("C02".to_owned(), 2, StationKind::Mixed),
        ]
    );
    let record = store
        .current_import(ImportKind::Map)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.version, current.version);
    assert_eq!(record.kind, ImportKind::Map);
    assert_eq!(
        record.counts,
        ImportCounts {
            communes: 1,
            centres: 2,
            stations: 4,
            voters: 0
        }
    );
    assert_eq!(
        (record.source.as_str(), record.actor.as_str()),
        ("test.csv", "test")
    );

    // The same map stored twice more through the trait: each is a pending version with its
    // change set, current once approved.
    let mut versions = vec![current.version];
    for _ in 0..2 {
        let stored = store
            .import_map(new_import(), map, record.counts, &[])
            .await
            .unwrap();
        assert!(stored.pending);
        assert!(stored.change_set.is_some());
        assert_eq!(
            store.current_map().await.unwrap().unwrap().version,
            *versions.last().unwrap()
        );
        approve_pending(&store).await;
        assert!(stored.version > *versions.last().unwrap());
        assert_eq!(
            (stored.source.as_str(), stored.created_at),
            ("direct.csv", START)
        );
        versions.push(stored.version);
    }
    let again = store.current_map().await.unwrap().unwrap();
    assert_eq!(again.version, versions[2]);
    assert_eq!(again.map, current.map);
    let listed: Vec<i64> = store
        .imports(10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(listed, [versions[2], versions[1], versions[0]]);
    assert_eq!(store.imports(1).await.unwrap().len(), 1);
}

async fn an_imported_roll_finds_voters_with_their_polling_place_and_counts_station_loads(
    store: Arc<dyn Store>,
) {
    import_map(&store, MAP_CSV).await;
    let record = import_roll(&store, ROLL_CSV).await;
    assert_eq!(record.kind, ImportKind::Roll);
    assert_eq!(
        record.counts,
        ImportCounts {
            communes: 1,
            centres: 2,
            stations: 3,
            voters: 3
        }
    );
    assert_eq!(
        store.current_import(ImportKind::Roll).await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(store.imports(10).await.unwrap()[0], record);

    let mixed = store.find_voter(&nin(NIN_MIXED)).await.unwrap().unwrap();
    assert_eq!(mixed.birth_date.to_iso(), "1990-03-15");
    assert_eq!(mixed.place.commune.name.fr, "Alger Centre");
    assert_eq!(mixed.place.centre.name.fr, "Ecole Emir Abdelkader");
    assert_eq!(mixed.place.centre.address.ar, "12 شارع الاستقلال");
    assert_eq!(mixed.place.station.get(), 1);
    assert_eq!(mixed.place.kind, StationKind::Mixed);
    assert!(mixed.place.centre.coordinates.is_some());
    let women = store.find_voter(&nin(NIN_WOMEN)).await.unwrap().unwrap();
    assert_eq!(
        (women.place.station.get(), women.place.kind),
        (2, StationKind::Women)
    );
    let no_coordinates = store
        .find_voter(&nin(NIN_NO_COORDS))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(no_coordinates.place.centre.code.as_str(), "C02");
    assert!(no_coordinates.place.centre.coordinates.is_none());
    assert!(store.find_voter(&nin(NIN_UNKNOWN)).await.unwrap().is_none());

    let mut loads: Vec<(String, u16, u64, u64)> = store
        .station_loads()
        .await
        .unwrap()
        .into_iter()
        .map(|l| {
            (
                l.at.centre.as_str().to_owned(),
                l.at.station.get(),
                l.voters,
                l.men,
            )
        })
        .collect();
    loads.sort();
    assert_eq!(
        loads,
        [
            ("C01".to_owned(), 1, 1, 1),
            ("C01".to_owned(), 2, 1, 0),
            ("C02".to_owned(), 1, 1, 0),
        ]
    );
}

async fn a_roll_import_abandoned_before_its_commit_leaves_everything_as_it_was(
    store: Arc<dyn Store>,
) {
    import_map(&store, MAP_CSV).await;
    import_roll(&store, ROLL_CSV).await;
    let before = store.imports(10).await.unwrap();
    let newcomer = "400000000000000001";

    let (sender, receiver) = mpsc::channel(4);
    let importing = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.import_roll(new_import(), receiver).await })
    };
    for batch in 0..3u64 {
        let voters = (0..500u64)
            .map(|i| {
                let digits = format!("{:018}", 400_000_000_000_000_001u64 + batch * 500 + i);
                voter(&digits, "1980-01-01", "F", ("1601", "C02", "2"))
            })
            .collect();
        sender.send(RollBatch::Voters(voters)).await.unwrap();
    }
    drop(sender);
    let outcome = importing.await.unwrap();
    assert!(
        matches!(outcome, Err(StoreError::ImportAbandoned)),
        "{outcome:?}"
    );

    assert_eq!(store.imports(10).await.unwrap(), before);
    assert!(store.find_voter(&nin(newcomer)).await.unwrap().is_none());
    assert!(store.find_voter(&nin(NIN_MIXED)).await.unwrap().is_some());
    assert_eq!(store.station_loads().await.unwrap().len(), 3);
}

async fn a_roll_validated_against_a_replaced_map_is_refused(store: Arc<dyn Store>) {
    import_map(&store, MAP_CSV).await;
    let stale_map = store.current_map().await.unwrap().unwrap().version;
    import_roll(&store, ROLL_CSV).await;
    import_map(&store, MAP_CSV).await;
    let before = store.imports(10).await.unwrap();

    let (sender, receiver) = mpsc::channel(4);
    sender
        .send(RollBatch::Voters(vec![voter(
            "400000000000000001",
            "1980-01-01",
            "",
            ("1601", "C02", "1"),
        )]))
        .await
        .unwrap();
    sender
        .send(RollBatch::Commit {
            counts: ImportCounts::default(),
            map_version: stale_map,
            replaced_communes: vec![commune("1601")],
        })
        .await
        .unwrap();
    drop(sender);
    let outcome = store.import_roll(new_import(), receiver).await;
    assert!(
        matches!(outcome, Err(StoreError::MapChanged)),
        "{outcome:?}"
    );
    assert_eq!(store.imports(10).await.unwrap(), before);
    assert!(
        store
            .find_voter(&nin("400000000000000001"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_voter(&nin(NIN_WOMEN)).await.unwrap().is_some());
}

async fn a_roll_replaces_only_its_communes_and_a_voter_who_moved_keeps_the_files_row(
    store: Arc<dyn Store>,
) {
    import_map(&store, &format!("{MAP_CSV}{ORAN_MAP_ROW}\n")).await;
    let map_version = store.current_map().await.unwrap().unwrap().version;
    import_roll(
        &store,
        &format!("{ROLL_CSV}333333333333333333,1999-09-09,F,3101,C01,1\n"),
    )
    .await;

    // Oran's new roll, sent straight to the store: its old voter is gone and the Alger
    // Centre mixed-station voter moved in. Alger Centre's other voters are carried over.
    let (sender, receiver) = mpsc::channel(4);
    sender
        .send(RollBatch::Voters(vec![voter(
            NIN_MIXED,
            "1990-03-15",
            "M",
            ("3101", "C01", "1"),
        )]))
        .await
        .unwrap();
    sender
        .send(RollBatch::Commit {
            counts: ImportCounts {
                communes: 1,
                centres: 1,
                stations: 1,
                voters: 1,
            },
            map_version,
            replaced_communes: vec![commune("3101")],
        })
        .await
        .unwrap();
    drop(sender);
    let record = store.import_roll(new_import(), receiver).await.unwrap();
    assert!(record.pending);
    approve_pending(&store).await;
    let record = maktab::store::ImportRecord {
        pending: false,
        ..record
    };
    assert_eq!(
        record.counts,
        ImportCounts {
            communes: 2,
            centres: 3,
            stations: 3,
            voters: 3
        },
        "2 carried from Alger Centre + 1 from the file, counted after the carry-over"
    );
    assert_eq!(
        store.current_import(ImportKind::Roll).await.unwrap(),
        Some(record)
    );
    let moved = store.find_voter(&nin(NIN_MIXED)).await.unwrap().unwrap();
    assert_eq!(moved.place.commune.code.as_str(), "3101");
    assert_eq!(moved.place.centre.name.fr, "Lycée El Hayat");
    let kept = store.find_voter(&nin(NIN_WOMEN)).await.unwrap().unwrap();
    assert_eq!(kept.place.commune.code.as_str(), "1601");
    assert!(
        store
            .find_voter(&nin("333333333333333333"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn sender_state_round_trips_per_channel_and_an_expired_dialogue_is_left_out(
    store: Arc<dyn Store>,
) {
    let sender = "+213550000001";
    assert_eq!(
        store
            .sender_state(Channel::Sms, sender, START)
            .await
            .unwrap(),
        SenderState::default()
    );
    let expires = START + 300;
    let state = SenderState {
        locale: Some(Locale::Fr),
        locale_explicit: true,
        dialogue: Some((
            Dialogue::AwaitingBirth {
                nin: NIN_MIXED.to_owned(),
            },
            expires,
        )),
        notices_opt_out: true,
    };
    store
        .save_sender_state(Channel::Sms, sender, &state, START)
        .await
        .unwrap();
    assert_eq!(
        store
            .sender_state(Channel::Sms, sender, START)
            .await
            .unwrap(),
        state
    );
    let expired = store
        .sender_state(Channel::Sms, sender, expires)
        .await
        .unwrap();
    assert_eq!(expired.dialogue, None);
    assert_eq!(expired.locale, Some(Locale::Fr));
    assert_eq!(
        store
            .sender_state(Channel::Telegram, sender, START)
            .await
            .unwrap(),
        SenderState::default(),
        "each channel remembers its own senders"
    );

    let replaced = SenderState {
        locale: Some(Locale::Ar),
        ..SenderState::default()
    };
    store
        .save_sender_state(Channel::Sms, sender, &replaced, START + 1)
        .await
        .unwrap();
    assert_eq!(
        store
            .sender_state(Channel::Sms, sender, START)
            .await
            .unwrap(),
        replaced
    );
}

async fn subscriptions_are_idempotent_and_kept_per_channel_and_sender(store: Arc<dyn Store>) {
    let sender = "+213550000001";
    assert!(
        store
            .subscriptions(Channel::Sms, sender)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .add_subscription(Channel::Sms, sender, &nin(NIN_WOMEN), START)
        .await
        .unwrap();
    store
        .add_subscription(Channel::Sms, sender, &nin(NIN_MIXED), START + 1)
        .await
        .unwrap();
    store
        .add_subscription(Channel::Sms, sender, &nin(NIN_WOMEN), START + 2)
        .await
        .unwrap();
    store
        .add_subscription(Channel::Telegram, "42", &nin(NIN_NO_COORDS), START)
        .await
        .unwrap();
    let listed: Vec<String> = store
        .subscriptions(Channel::Sms, sender)
        .await
        .unwrap()
        .iter()
        .map(|n| n.as_str().to_owned())
        .collect();
    assert_eq!(listed, [NIN_WOMEN, NIN_MIXED], "oldest first, once each");
    assert_eq!(
        store.subscriptions(Channel::Telegram, "42").await.unwrap(),
        [nin(NIN_NO_COORDS)]
    );
    assert!(
        store
            .subscriptions(Channel::Telegram, sender)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_message_id_is_a_first_delivery_once_per_source_until_pruned(store: Arc<dyn Store>) {
    assert!(
        store
            .first_delivery("sms:twilio", "SM1", START)
            .await
            .unwrap()
    );
    assert!(
        !store
            .first_delivery("sms:twilio", "SM1", START + 5)
            .await
            .unwrap()
    );
    assert!(
        store
            .first_delivery("telegram", "SM1", START)
            .await
            .unwrap()
    );
    assert!(
        store
            .first_delivery("sms:twilio", "SM2", START + 100)
            .await
            .unwrap()
    );

    // Retries racing on several instances: exactly one is the first delivery.
    let racing: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.first_delivery("sms:kannel", "K9", START).await })
        })
        .collect();
    let mut firsts = 0;
    for race in racing {
        firsts += usize::from(race.await.unwrap().unwrap());
    }
    assert_eq!(firsts, 1);

    assert_eq!(store.prune_inbound_seen(START + 1).await.unwrap(), 3);
    assert!(
        store
            .first_delivery("sms:twilio", "SM1", START + 200)
            .await
            .unwrap()
    );
    assert!(
        !store
            .first_delivery("sms:twilio", "SM2", START + 200)
            .await
            .unwrap()
    );
}

async fn counters_count_per_key_and_window_without_losing_concurrent_increments(
    store: Arc<dyn Store>,
) {
    assert_eq!(store.counter("sender:a", START).await.unwrap(), 0);
    assert_eq!(store.increment_counter("sender:a", START).await.unwrap(), 1);
    assert_eq!(store.increment_counter("sender:a", START).await.unwrap(), 2);
    assert_eq!(store.increment_counter("sender:b", START).await.unwrap(), 1);
    assert_eq!(
        store
            .increment_counter("sender:a", START + 3600)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.counter("sender:a", START).await.unwrap(), 2);

    // Many instances counting the same NIN at once: no increment is lost and each caller
    // sees a distinct count.
    let increments: Vec<_> = (0..40)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.increment_counter("nin:1", START).await })
        })
        .collect();
    let mut seen = Vec::new();
    for increment in increments {
        seen.push(increment.await.unwrap().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=40).collect::<Vec<u64>>());
    assert_eq!(store.counter("nin:1", START).await.unwrap(), 40);

    assert_eq!(store.prune_counters(START + 1).await.unwrap(), 3);
    assert_eq!(store.counter("sender:a", START).await.unwrap(), 0);
    assert_eq!(store.counter("sender:a", START + 3600).await.unwrap(), 1);
}

async fn tokens_are_created_listed_and_revoked_once_each_with_an_audit_entry(
    store: Arc<dyn Store>,
) {
    let national = store
        .create_token(
            NewToken {
                name: "ministry".to_owned(),
                role: Role::National,
                communes: Vec::new(),
                secret_hash: "hash-1".to_owned(),
                created_at: START,
                expires_at: None,
            },
            audit(START, "command line (root)", "token.create", &[]),
        )
        .await
        .unwrap();
    let communal = store
        .create_token(
            NewToken {
                name: "alger".to_owned(),
                role: Role::CommuneAdmin,
                communes: vec![commune("1601"), commune("1602")],
                secret_hash: "hash-2".to_owned(),
                created_at: START + 1,
                expires_at: Some(START + 86_400),
            },
            audit(START + 1, "ministry", "token.create", &["1601", "1602"]),
        )
        .await
        .unwrap();
    assert_ne!(national, communal);

    let record = store.token(communal).await.unwrap().unwrap();
    assert_eq!(record.id, communal);
    assert_eq!(record.name, "alger");
    assert_eq!(record.role, Role::CommuneAdmin);
    assert_eq!(record.communes, [commune("1601"), commune("1602")]);
    assert_eq!(record.secret_hash, "hash-2");
    assert_eq!(
        (record.created_at, record.expires_at, record.revoked_at),
        (START + 1, Some(START + 86_400), None)
    );
    assert!(
        store
            .token(communal + national + 100)
            .await
            .unwrap()
            .is_none()
    );
    let names: Vec<String> = store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["ministry", "alger"]);

    let revoke = audit(START + 2, "ministry", "token.revoke", &["1601"]);
    assert!(
        store
            .revoke_token(communal, START + 2, revoke.clone())
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_token(communal, START + 3, revoke.clone())
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_token(communal + national + 100, START, revoke)
            .await
            .unwrap()
    );
    assert_eq!(
        store.token(communal).await.unwrap().unwrap().revoked_at,
        Some(START + 2)
    );
    assert_eq!(
        store.token(national).await.unwrap().unwrap().revoked_at,
        None
    );

    let entries = store
        .audit_entries(&AuditQuery {
            action: Some("token".to_owned()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["token.revoke", "token.create", "token.create"]);
    assert_eq!(entries[1].details["token_id"], json!(communal));
    assert_eq!(entries[1].communes, [commune("1601"), commune("1602")]);
}

async fn the_audit_log_filters_by_action_prefix_actor_communes_and_time_and_pages_by_id(
    store: Arc<dyn Store>,
) {
    let first = store
        .append_audit(audit(START, "alger", "import.roll", &["1601"]))
        .await
        .unwrap();
    let second = store
        .append_audit(audit(START + 10, "oran", "import.roll.dry_run", &["3101"]))
        .await
        .unwrap();
    let third = store
        .append_audit(audit(START + 20, "ministry", "importer.weird", &[]))
        .await
        .unwrap();
    let fourth = store
        .append_audit(audit(
            START + 30,
            "alger",
            "token.create",
            &["1601", "3101"],
        ))
        .await
        .unwrap();
    assert!(first < second && second < third && third < fourth);

    let ids = |entries: Vec<maktab::store::AuditEntry>| -> Vec<i64> {
        entries.into_iter().map(|e| e.id).collect()
    };
    let query = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        };
        f(&mut q);
        q
    };
    let all = store.audit_entries(&query(|_| ())).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all[3].details,
        audit(START, "", "", &[]).details,
        "JSON round-trips"
    );
    assert_eq!(
        (all[3].at, all[3].actor.as_str(), all[3].communes.clone()),
        (START, "alger", vec![commune("1601")])
    );
    assert_eq!(
        ids(store
            .audit_entries(&query(|q| q.action = Some("import".to_owned())))
            .await
            .unwrap()),
        [second, first],
        "a prefix matches whole dotted segments only"
    );
    assert_eq!(
        ids(store
            .audit_entries(&query(|q| q.actor = Some("alger".to_owned())))
            .await
            .unwrap()),
        [fourth, first]
    );
    assert_eq!(
        ids(store
            .audit_entries(&query(|q| q.communes = Some(vec![commune("3101")])))
            .await
            .unwrap()),
        [fourth, second]
    );
    assert!(
        store
            .audit_entries(&query(|q| q.communes = Some(vec![commune("160")])))
            .await
            .unwrap()
            .is_empty(),
        "commune codes match whole, not as prefixes"
    );
    assert_eq!(
        ids(store
            .audit_entries(&query(|q| {
                q.since = Some(START + 10);
                q.until = Some(START + 30);
            }))
            .await
            .unwrap()),
        [third, second]
    );
    let page = store
        .audit_entries(&AuditQuery {
            limit: 2,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(page.clone()), [fourth, third]);
    let next = store
        .audit_entries(&AuditQuery {
            limit: 2,
            before_id: Some(page[1].id),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(next), [second, first]);
}

async fn lookup_counts_add_up_across_flushes_and_filter_by_time_channel_and_commune(
    store: Arc<dyn Store>,
) {
    let count = |hour: i64, channel: &str, commune: &str, outcome: &str, n: u64| LookupCount {
        hour,
        channel: channel.to_owned(),
        commune: commune.to_owned(),
        outcome: outcome.to_owned(),
        count: n,
    };
    store.add_lookup_counts(&[]).await.unwrap();
    store
        .add_lookup_counts(&[
            count(START, "sms", "1601", "found", 3),
            count(START, "sms", "", "not_found", 1),
            count(START, "telegram", "3101", "found", 2),
        ])
        .await
        .unwrap();
    // A second instance flushing the same hour adds to the same rows.
    store
        .add_lookup_counts(&[
            count(START, "sms", "1601", "found", 4),
            count(START + 3600, "sms", "1601", "found", 1),
        ])
        .await
        .unwrap();

    let all = store
        .lookup_counts(&LookupStatsQuery::default())
        .await
        .unwrap();
    assert_eq!(
        all,
        [
            count(START, "sms", "", "not_found", 1),
            count(START, "sms", "1601", "found", 7),
            count(START, "telegram", "3101", "found", 2),
            count(START + 3600, "sms", "1601", "found", 1),
        ]
    );
    let in_hour = store
        .lookup_counts(&LookupStatsQuery {
            since: Some(START),
            until: Some(START + 3600),
            channel: Some("sms".to_owned()),
            communes: None,
        })
        .await
        .unwrap();
    assert_eq!(in_hour, all[..2]);
    let oran = store
        .lookup_counts(&LookupStatsQuery {
            communes: Some(vec![commune("3101")]),
            ..LookupStatsQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(oran, [count(START, "telegram", "3101", "found", 2)]);
    assert!(
        store
            .lookup_counts(&LookupStatsQuery {
                communes: Some(Vec::new()),
                ..LookupStatsQuery::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
}
