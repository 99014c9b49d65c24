//! One storage contract, two databases: every method of [`Store`] and its area traits,
//! written once against `Arc<dyn Store>` and run on SQLite (always) and on PostgreSQL. The
//! PostgreSQL runs are ignored unless asked for (`cargo test -- --include-ignored`, as CI
//! does), and then need `MAKTAB_TEST_POSTGRES_URL` to name a server: `cargo test` counts
//! them as ignored rather than passing them without running. Each test gets a fresh
//! database, so the suite runs in parallel.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use maktab::conversation::Dialogue;
use maktab::domain::{BirthDate, Channel, CommuneCode, Locale, NationalId, Role, StationKind};
use maktab::store::{
    AuditQuery, BirthCheck, CampaignStatus, ChangeSetStatus, Delivery, EnrolRefusal,
    FollowUpContact, ImportCounts, ImportKind, Lookup, LookupAdmission, LookupAhead, LookupCount,
    LookupStatsQuery, NewAuditEntry, NewImport, NewNotice, NewReport, NewToken, NoticeResult,
    ReportQuery, ReportSourceKind, ReportStatus, RollBatch, SenderState, Store, StoreError,
    VoterChangeKind,
};
use serde_json::json;
use tokio::sync::mpsc;

/// Runs each listed scenario once per database, as `sqlite::NAME` and `postgres::NAME`.
/// Attributes written before a scenario's name apply to its SQLite run only (an `ignore` for
/// a known SQLite drift).
macro_rules! conformance {
    ($($(#[$sqlite_only:meta])* $scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                $(#[$sqlite_only])*
                async fn $scenario() {
                    let db = super::TestDb::empty().await;
                    super::$scenario(std::sync::Arc::clone(&db.store)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
                async fn $scenario() {
                    let (db, _database) = super::TestDb::postgres()
                        .await
                        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
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
    a_national_roll_is_applied_per_commune_and_a_rejected_communes_slice_stays,
    sender_state_round_trips_per_channel_and_an_expired_dialogue_is_left_out,
    subscriptions_are_idempotent_and_kept_per_channel_and_sender,
    a_message_id_is_a_first_delivery_once_per_source_until_pruned,
    a_first_delivery_reads_the_senders_state_and_a_retry_reads_nothing,
    a_lookup_ahead_is_done_with_the_message_id_only_when_the_state_lets_it,
    a_lookup_checks_the_birth_as_asked_and_counts_only_failures_against_the_nin,
    counters_count_per_key_and_window_without_losing_concurrent_increments,
    tokens_are_created_listed_and_revoked_once_each_with_an_audit_entry,
    the_audit_log_filters_by_action_prefix_actor_communes_and_time_and_pages_by_id,
    the_audit_action_filter_takes_like_wildcards_literally_and_minds_case,
    lookup_counts_add_up_across_flushes_and_filter_by_time_channel_and_commune,
    a_roll_replacing_the_current_one_waits_as_a_change_set_until_approved,
    a_rejected_change_set_discards_its_version_and_leaves_the_current_one,
    a_map_change_set_lists_its_place_changes_and_a_stale_one_is_superseded,
    a_broadcast_reaches_its_audience_through_leased_claims_until_done,
    a_cancelled_campaign_cancels_its_unsent_rows,
    outbound_sms_keep_their_delivery_status_and_a_final_one_is_not_undone,
    replies_go_out_before_notices_on_the_lane_that_carries_both,
    telegram_updates_are_accepted_once_and_offers_and_blocks_are_kept_per_chat,
    an_inbox_row_is_held_by_one_instance_until_finished_released_or_its_lease_runs_out,
    the_pool_reports_its_size_within_its_maximum,
    reports_are_one_per_nin_and_filter_by_commune_status_time_and_clerk,
    clerks_enrol_once_within_their_invitation_and_cannot_file_once_revoked,
    an_approved_roll_resolves_reports_whose_nin_and_birth_date_it_holds,
    report_numbers_run_per_commune_without_gaps,
    expired_dialogues_are_erased_and_live_ones_kept,
    a_listing_of_more_reports_than_one_statement_reads_keeps_every_source,
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
    let office = office(store);
    let operator = maktab::office::Principal::command_line();
    let mut campaigns = Vec::new();
    for change_set in store
        .change_sets(Some(ChangeSetStatus::Pending), 100)
        .await
        .unwrap()
    {
        let campaign = office
            .approve(&operator, change_set.id)
            .await
            .unwrap()
            .campaign;
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

    // The same map stored twice more through the trait, each with a change to commune 1601:
    // each is a pending version with its change set, current once approved.
    let mut versions = vec![current.version];
    let renamed = [maktab::store::PlaceChange {
        change: "centre_renamed".to_owned(),
        commune: "1601".to_owned(),
        centre: "C01".to_owned(),
        station: None,
        old: None,
        new: None,
    }];
    for _ in 0..2 {
        let stored = store
            .import_map(new_import(), map, record.counts, &renamed)
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
    // A map that changes something (an identical one makes no version).
    import_map(&store, &MAP_CSV.replace("CEM Larbi", "CEM Larbi II")).await;
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
    assert_eq!(
        record.counts,
        ImportCounts {
            communes: 1,
            centres: 1,
            stations: 1,
            voters: 1
        },
        "the version holds the file's voter: Alger Centre keeps its slice, nothing is copied"
    );
    let current = store
        .current_import(ImportKind::Roll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (current.version, current.number, current.pending),
        // Approved, it takes the next version number.
        (record.version, Some(2), false)
    );
    assert_eq!(
        current.counts,
        ImportCounts {
            communes: 2,
            centres: 3,
            stations: 3,
            voters: 3
        },
        "the roll answered from: 2 of Alger Centre's slice + 1 of Oran's"
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

/// A national file changing two communes makes two change sets over the communes' slices.
/// Approving one points that commune at the file's rows (a voter who moved in leaves the other
/// commune's slice); rejecting the other leaves that commune on its own slice while the file
/// keeps answering for the first.
async fn a_national_roll_is_applied_per_commune_and_a_rejected_communes_slice_stays(
    store: Arc<dyn Store>,
) {
    import_map(&store, &format!("{MAP_CSV}{ORAN_MAP_ROW}\n")).await;
    let oran_voter = "333333333333333333,1999-09-09,F,3101,C01,1";
    import_roll(&store, &format!("{ROLL_CSV}{oran_voter}\n")).await;
    // The mixed-station voter moves to Oran, and Oran gains a voter.
    let national = format!(
        "{}{oran_voter}\n444444444444444444,2000-02-02,M,3101,C01,1\n",
        ROLL_CSV.replace("1990-03-15,M,1601,C01,1", "1990-03-15,M,3101,C01,1")
    );
    let pending = import_roll(&store, &national).await;
    let change_sets = store.version_change_sets(pending.version).await.unwrap();
    let of = |code: &str| {
        change_sets
            .iter()
            .find(|c| c.communes == vec![commune(code)])
            .unwrap_or_else(|| panic!("no change set of {code}: {change_sets:?}"))
            .id
    };
    let (alger, oran) = (of("1601"), of("3101"));
    assert_eq!(change_sets.len(), 2);

    store
        .approve_change_set(oran, "officer", START + 60, officer_audit("approve"))
        .await
        .unwrap();
    let moved = store.find_voter(&nin(NIN_MIXED)).await.unwrap().unwrap();
    assert_eq!(moved.place.commune.code.as_str(), "3101");
    assert!(
        store
            .find_voter(&nin("444444444444444444"))
            .await
            .unwrap()
            .is_some()
    );
    let kept = store.find_voter(&nin(NIN_WOMEN)).await.unwrap().unwrap();
    assert_eq!(kept.place.commune.code.as_str(), "1601");
    // The moved voter is counted once: in Oran's station, no longer in Alger Centre's.
    let loads = store.station_loads().await.unwrap();
    let load = |commune: &str, centre: &str, station: u16| {
        loads
            .iter()
            .filter(|l| {
                l.at.commune.as_str() == commune
                    && l.at.centre.as_str() == centre
                    && l.at.station.get() == station
            })
            .map(|l| l.voters)
            .sum::<u64>()
    };
    assert_eq!(load("3101", "C01", 1), 3);
    assert_eq!(load("1601", "C01", 1), 0);
    assert_eq!(loads.iter().map(|l| l.voters).sum::<u64>(), 5);

    store
        .reject_change_set(alger, "officer", START + 61, officer_audit("reject"))
        .await
        .unwrap();
    // The file is half applied: Oran still answers from it, Alger Centre from its own slice.
    assert!(
        store
            .find_voter(&nin("444444444444444444"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .find_voter(&nin(NIN_NO_COORDS))
            .await
            .unwrap()
            .unwrap()
            .place
            .commune
            .code
            .as_str(),
        "1601"
    );
    let current = store
        .current_import(ImportKind::Roll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            current.version,
            current.number,
            current.counts.voters,
            current.counts.communes
        ),
        (pending.version, Some(2), 5, 2)
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
            }
            .to_json(),
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

/// A first delivery without a lookup ahead: the sender's state and the open-ticket flag.
async fn deliver(
    store: &Arc<dyn Store>,
    (source, message_id): (&str, &str),
    channel: Channel,
    sender: &str,
    now: i64,
) -> Option<(SenderState, bool)> {
    let delivered = store
        .first_delivery_with_state(&Delivery {
            source,
            message_id,
            channel,
            sender,
            now,
            lookup: None,
        })
        .await
        .unwrap()?;
    assert!(delivered.lookup.is_none(), "no lookup was asked for");
    Some((delivered.state, delivered.open_ticket))
}

async fn a_first_delivery_reads_the_senders_state_and_a_retry_reads_nothing(store: Arc<dyn Store>) {
    let sender = "+213550000001";
    let first = deliver(&store, ("sms:generic", "G1"), Channel::Sms, sender, START).await;
    assert_eq!(first, Some((SenderState::default(), false)), "a new sender");
    let retry = deliver(
        &store,
        ("sms:generic", "G1"),
        Channel::Sms,
        sender,
        START + 1,
    )
    .await;
    assert_eq!(retry, None, "a retry of G1 is not handled again");

    let state = SenderState {
        locale: Some(Locale::Fr),
        locale_explicit: true,
        dialogue: None,
        notices_opt_out: true,
    };
    store
        .save_sender_state(Channel::Sms, sender, &state, START + 2)
        .await
        .unwrap();
    let next = deliver(
        &store,
        ("sms:generic", "G2"),
        Channel::Sms,
        sender,
        START + 3,
    )
    .await;
    assert_eq!(next, Some((state.clone(), false)), "the saved state");
    // The id is recorded with the read: `first_delivery` now calls G2 a retry.
    assert!(
        !store
            .first_delivery("sms:generic", "G2", START + 4)
            .await
            .unwrap()
    );
    // Another sender on the same source, and the same id on another source.
    let other = deliver(
        &store,
        ("telegram", "G1"),
        Channel::Telegram,
        "42",
        START + 5,
    )
    .await;
    assert_eq!(other, Some((SenderState::default(), false)));
}

/// The state of the conformance's lookups ahead: a sender who chose French is not looked up.
fn not_french(state: &SenderState, open_ticket: bool) -> bool {
    !open_ticket && state.locale != Some(Locale::Fr)
}

async fn a_lookup_ahead_is_done_with_the_message_id_only_when_the_state_lets_it(
    store: Arc<dyn Store>,
) {
    import_map(&store, MAP_CSV).await;
    import_roll(&store, ROLL_CSV).await;
    let voter = nin(NIN_MIXED);
    let (sender, french) = ("+213550000001", "+213550000002");
    let check = BirthCheck::Date(BirthDate::from_iso("1990-03-15").unwrap());
    let lookup = |sender: &'static str| Lookup {
        admission: LookupAdmission {
            sender_key: sender,
            hour: START,
            max_per_sender: 10,
            nin_key: "nin-failures:mixed",
            day: START,
        },
        max_failures_per_nin: 5,
        nin: &voter,
        check,
        subscription: Some((Channel::Sms, sender)),
        now: START,
    };
    let delivery = |id: &'static str, sender: &'static str| Delivery {
        source: "sms:generic",
        message_id: id,
        channel: Channel::Sms,
        sender,
        now: START,
        lookup: Some(LookupAhead {
            lookup: lookup(sender),
            applies: not_french,
        }),
    };

    let first = store
        .first_delivery_with_state(&delivery("L1", sender))
        .await
        .unwrap()
        .expect("a first delivery");
    let done = first.lookup.expect("the state lets the lookup be done");
    assert_eq!(done.admitted.sender_count, 1);
    assert!(done.found, "the voter passes the check");
    assert_eq!(done.voter.unwrap().place.station.get(), 1);
    assert_eq!(
        store.subscriptions(Channel::Sms, sender).await.unwrap(),
        vec![voter.clone()],
        "the found lookup's subscription is written with the id"
    );
    assert_eq!(store.counter(sender, START).await.unwrap(), 1);
    assert_eq!(store.counter("nin-failures:mixed", START).await.unwrap(), 0);

    // A retry does nothing: no second lookup on the sender's counter.
    let retry = store
        .first_delivery_with_state(&delivery("L1", sender))
        .await
        .unwrap();
    assert!(retry.is_none());
    assert_eq!(store.counter(sender, START).await.unwrap(), 1);

    // A state that does not let it: the id is recorded, nothing is counted or subscribed.
    let chosen = SenderState {
        locale: Some(Locale::Fr),
        locale_explicit: true,
        ..SenderState::default()
    };
    store
        .save_sender_state(Channel::Sms, french, &chosen, START)
        .await
        .unwrap();
    let refused = store
        .first_delivery_with_state(&delivery("L2", french))
        .await
        .unwrap()
        .expect("a first delivery");
    assert_eq!(refused.state, chosen);
    assert!(refused.lookup.is_none());
    assert_eq!(store.counter(french, START).await.unwrap(), 0);
    assert!(
        store
            .subscriptions(Channel::Sms, french)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .first_delivery("sms:generic", "L2", START + 1)
            .await
            .unwrap(),
        "the id was recorded all the same"
    );
}

/// Every kind of birth check, the NIN's budget of failed attempts and the sender's limit,
/// through `SenderStore::lookup` (one statement on PostgreSQL, whose pattern must agree
/// with `BirthCheck::accepts`; one job on SQLite).
async fn a_lookup_checks_the_birth_as_asked_and_counts_only_failures_against_the_nin(
    store: Arc<dyn Store>,
) {
    import_map(&store, MAP_CSV).await;
    import_roll(&store, ROLL_CSV).await;
    let (voter, unknown) = (&nin(NIN_MIXED), &nin(NIN_UNKNOWN));
    let date = |iso| BirthCheck::Date(BirthDate::from_iso(iso).unwrap());
    let sender = "+213550000003";
    fn lookup<'a>(
        nin: &'a NationalId,
        check: BirthCheck,
        sender_key: &'a str,
        max_per_sender: u64,
    ) -> Lookup<'a> {
        Lookup {
            admission: LookupAdmission {
                sender_key,
                hour: START,
                max_per_sender,
                nin_key: "nin-failures:checked",
                day: START,
            },
            max_failures_per_nin: 3,
            nin,
            check,
            subscription: Some((Channel::Sms, sender_key)),
            now: START,
        }
    }
    let failures = || store.counter("nin-failures:checked", START);

    // (check, found, the attempt's number, failures counted after it)
    let asked = [
        (date("1990-03-15"), true, 1, 0),
        (BirthCheck::Year(1990), true, 1, 0),
        (BirthCheck::Any, true, 1, 0),
        (date("1990-03-16"), false, 1, 1),
        (BirthCheck::Year(1991), false, 2, 2),
        (BirthCheck::Missing, false, 3, 3),
    ];
    for (check, found, attempt, counted) in asked {
        let done = store
            .lookup(&lookup(voter, check, sender, 100))
            .await
            .unwrap();
        assert_eq!(done.found, found, "{check:?}");
        assert!(
            done.voter.is_some(),
            "{check:?}: within the budget the voter is read"
        );
        assert_eq!(done.admitted.nin_count, Some(attempt), "{check:?}");
        assert_eq!(failures().await.unwrap(), counted, "{check:?}");
    }
    assert_eq!(
        store.subscriptions(Channel::Sms, sender).await.unwrap(),
        vec![voter.clone()],
        "each found lookup subscribes, once"
    );

    // The budget is spent: the right date no longer reads the voter, and counts.
    let locked = store
        .lookup(&lookup(voter, date("1990-03-15"), sender, 100))
        .await
        .unwrap();
    assert!(!locked.found && locked.voter.is_none());
    assert_eq!(locked.admitted.nin_count, Some(4));
    assert_eq!(failures().await.unwrap(), 4);

    // A sender over its limit takes no attempt of the NIN and reads no voter.
    let other = "+213550000004";
    let first = store
        .lookup(&lookup(voter, BirthCheck::Any, other, 1))
        .await
        .unwrap();
    assert_eq!(first.admitted.sender_count, 1);
    let over = store
        .lookup(&lookup(voter, BirthCheck::Any, other, 1))
        .await
        .unwrap();
    assert_eq!(over.admitted.sender_count, 2);
    assert_eq!(over.admitted.nin_count, None);
    assert!(!over.found && over.voter.is_none());
    assert!(first.voter.is_none(), "the NIN is locked for every sender");
    assert_eq!(
        failures().await.unwrap(),
        5,
        "the first took an attempt of the locked NIN, the second none"
    );

    // A NIN the roll does not hold: a failure, whatever the check.
    let missing = store
        .lookup(&Lookup {
            admission: LookupAdmission {
                nin_key: "nin-failures:unknown",
                ..lookup(unknown, BirthCheck::Any, sender, 100).admission
            },
            ..lookup(unknown, BirthCheck::Any, sender, 100)
        })
        .await
        .unwrap();
    assert!(!missing.found && missing.voter.is_none());
    assert_eq!(missing.admitted.nin_count, Some(1));
    assert_eq!(
        store.counter("nin-failures:unknown", START).await.unwrap(),
        1
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

/// The action filter is a prefix of whole dotted segments, compared as written: `%` and `_`
/// in it are characters, not LIKE's wildcards, and case counts. The two backends drifted here
/// (issue 12): SQLite dropped `%` and let `_` match any character, and its LIKE ignores case,
/// so `changes_roll` found `changes.roll.approve` rows on SQLite and none on PostgreSQL.
async fn the_audit_action_filter_takes_like_wildcards_literally_and_minds_case(
    store: Arc<dyn Store>,
) {
    let mut ids = std::collections::HashMap::new();
    for action in [
        "changes.roll.approve",
        "changes_roll.approve",
        "CHANGES.ROLL.approve",
        "import.roll",
        "import%.roll",
    ] {
        let id = store
            .append_audit(audit(START, "officer", action, &[]))
            .await
            .unwrap();
        ids.insert(action, id);
    }
    let matching = async |filter: &str| -> Vec<i64> {
        store
            .audit_entries(&AuditQuery {
                action: Some(filter.to_owned()),
                limit: 10,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|entry| entry.id)
            .collect()
    };
    assert_eq!(
        matching("changes_roll").await,
        [ids["changes_roll.approve"]],
        "`_` is an underscore, not any character"
    );
    assert_eq!(
        matching("changes.roll").await,
        [ids["changes.roll.approve"]],
        "case counts"
    );
    assert_eq!(
        matching("import%").await,
        [ids["import%.roll"]],
        "`%` is a percent sign, not any text"
    );
    assert_eq!(matching("import").await, [ids["import.roll"]]);
    assert_eq!(matching("%").await, Vec::<i64>::new());
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

/// The fixture roll again, re-imported for commune 1601 with one voter moved, one removed and
/// one added.
const CHANGED_ROLL_CSV: &str = "\
nin,birth_date,sex,commune_code,centre_code,station
109870123456789012,1990-03-15,M,1601,C02,2
000000000000000042,1985-12-01,F,1601,C01,2
300000000000000003,2000-02-02,F,1601,C02,1
";

fn officer_audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: START + 60,
        actor: "officer".to_owned(),
        action: action.to_owned(),
        communes: vec![commune("1601")],
        details: json!({}),
    }
}

async fn a_roll_replacing_the_current_one_waits_as_a_change_set_until_approved(
    store: Arc<dyn Store>,
) {
    import_map(&store, MAP_CSV).await;
    let base = import_roll(&store, ROLL_CSV).await;
    assert!(!base.pending);
    assert_eq!(base.change_set, None);
    store
        .add_subscription(Channel::Sms, "+213550000001", &nin(NIN_MIXED), START)
        .await
        .unwrap();
    store
        .add_subscription(Channel::Telegram, "777", &nin(NIN_WOMEN), START)
        .await
        .unwrap();

    let pending = import_roll(&store, CHANGED_ROLL_CSV).await;
    assert!(pending.pending);
    let change_set_id = pending.change_set.unwrap();
    // Still answered from the base version.
    assert_eq!(
        store
            .current_import(ImportKind::Roll)
            .await
            .unwrap()
            .unwrap()
            .version,
        base.version
    );
    let before = store.find_voter(&nin(NIN_MIXED)).await.unwrap().unwrap();
    assert_eq!(before.place.centre.code.as_str(), "C01");
    assert!(
        store
            .find_voter(&nin(NIN_NO_COORDS))
            .await
            .unwrap()
            .is_some()
    );
    let listed: Vec<(i64, bool)> = store
        .imports(10)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.version, r.pending))
        .collect();
    assert_eq!(
        listed[..2],
        [(pending.version, true), (base.version, false)]
    );

    let change_set = store.change_set(change_set_id).await.unwrap().unwrap();
    assert_eq!(
        (
            change_set.kind,
            change_set.base_version,
            change_set.new_version,
            change_set.status
        ),
        (
            ImportKind::Roll,
            base.version,
            pending.version,
            ChangeSetStatus::Pending
        )
    );
    assert_eq!(change_set.communes, [commune("1601")]);
    assert_eq!(change_set.summary["voters_added"], 1);
    assert_eq!(change_set.summary["voters_removed"], 1);
    assert_eq!(change_set.summary["voters_moved"], 1);
    assert_eq!(
        change_set.summary["flows"],
        json!([{"from": "1601/C01/1", "to": "1601/C02/2", "voters": 1}])
    );
    assert_eq!(
        store
            .pending_change_set(ImportKind::Roll)
            .await
            .unwrap()
            .map(|c| c.id),
        Some(change_set_id)
    );
    assert!(
        store
            .pending_change_set(ImportKind::Map)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .change_sets(Some(ChangeSetStatus::Pending), 10)
            .await
            .unwrap(),
        std::slice::from_ref(&change_set)
    );

    let changes = store.voter_changes(change_set_id, 10, 0).await.unwrap();
    let summary: Vec<(String, VoterChangeKind, Option<String>, Option<String>)> = changes
        .iter()
        .map(|c| {
            let place = |s: &Option<maktab::domain::StationRef>| {
                s.as_ref()
                    .map(|s| format!("{}/{}/{}", s.commune, s.centre, s.station.get()))
            };
            (
                c.nin.as_str().to_owned(),
                c.change,
                place(&c.old),
                place(&c.new),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                NIN_MIXED.to_owned(),
                VoterChangeKind::Moved,
                Some("1601/C01/1".to_owned()),
                Some("1601/C02/2".to_owned())
            ),
            (
                NIN_NO_COORDS.to_owned(),
                VoterChangeKind::Removed,
                Some("1601/C02/1".to_owned()),
                None
            ),
            (
                "300000000000000003".to_owned(),
                VoterChangeKind::Added,
                None,
                Some("1601/C02/1".to_owned())
            ),
        ]
    );
    assert_eq!(
        store.voter_changes(change_set_id, 1, 1).await.unwrap(),
        changes[1..2]
    );

    let campaign_id = store
        .approve_change_set(
            change_set_id,
            "officer",
            START + 60,
            officer_audit("changes.roll.approve"),
        )
        .await
        .unwrap();
    let approved = store.change_set(change_set_id).await.unwrap().unwrap();
    assert_eq!(approved.status, ChangeSetStatus::Approved);
    assert_eq!(
        (approved.decided_at, approved.decided_by.as_deref()),
        (Some(START + 60), Some("officer"))
    );
    let current = store
        .current_import(ImportKind::Roll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (current.version, current.pending, current.change_set),
        (pending.version, false, Some(change_set_id))
    );
    let after = store.find_voter(&nin(NIN_MIXED)).await.unwrap().unwrap();
    assert_eq!(
        (after.place.centre.code.as_str(), after.place.station.get()),
        ("C02", 2)
    );
    assert!(
        store
            .find_voter(&nin(NIN_NO_COORDS))
            .await
            .unwrap()
            .is_none()
    );
    let campaign = store.campaign(campaign_id).await.unwrap().unwrap();
    assert_eq!(
        (
            campaign.kind.as_str(),
            campaign.status,
            campaign.change_set_id
        ),
        ("change", CampaignStatus::Preparing, Some(change_set_id))
    );
    assert_eq!(campaign.audience, json!({"change_set": change_set_id}));
    let audit = store
        .audit_entries(&AuditQuery {
            action: Some("changes.roll.approve".to_owned()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].details["campaign"], campaign_id);

    // Only the moved voter's subscriber is told, with the new place.
    let recipients = store.change_recipients(change_set_id).await.unwrap();
    assert_eq!(recipients.len(), 1);
    assert_eq!(
        (
            recipients[0].channel,
            recipients[0].recipient.as_str(),
            recipients[0].nin.as_str()
        ),
        (Channel::Sms, "+213550000001", NIN_MIXED)
    );
    assert_eq!(recipients[0].locale, Locale::Ar);
    assert_eq!(recipients[0].place.centre.name.fr, "CEM Larbi Ben M'hidi");
    assert_eq!(recipients[0].place.station.get(), 2);

    // Decided once only.
    for outcome in [
        store
            .approve_change_set(change_set_id, "officer", START + 61, officer_audit("again"))
            .await
            .map(|_| ()),
        store
            .reject_change_set(change_set_id, "officer", START + 61, officer_audit("again"))
            .await,
    ] {
        assert!(
            matches!(outcome, Err(StoreError::NotPending(id)) if id == change_set_id),
            "{outcome:?}"
        );
    }
}

async fn a_rejected_change_set_discards_its_version_and_leaves_the_current_one(
    store: Arc<dyn Store>,
) {
    import_map(&store, MAP_CSV).await;
    let base = import_roll(&store, ROLL_CSV).await;
    let pending = import_roll(&store, CHANGED_ROLL_CSV).await;
    let change_set_id = pending.change_set.unwrap();
    store
        .reject_change_set(
            change_set_id,
            "officer",
            START + 60,
            officer_audit("changes.roll.reject"),
        )
        .await
        .unwrap();
    let rejected = store.change_set(change_set_id).await.unwrap().unwrap();
    assert_eq!(rejected.status, ChangeSetStatus::Rejected);
    assert_eq!(rejected.decided_by.as_deref(), Some("officer"));
    assert!(
        store
            .pending_change_set(ImportKind::Roll)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .current_import(ImportKind::Roll)
            .await
            .unwrap()
            .unwrap()
            .version,
        base.version
    );
    let listed: Vec<i64> = store
        .imports(10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert!(!listed.contains(&pending.version), "{listed:?}");
    assert!(
        store
            .find_voter(&nin(NIN_NO_COORDS))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .audit_entries(&AuditQuery {
                action: Some("changes.roll.reject".to_owned()),
                limit: 10,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
    let outcome = store
        .approve_change_set(change_set_id, "officer", START + 61, officer_audit("late"))
        .await;
    assert!(
        matches!(outcome, Err(StoreError::NotPending(_))),
        "{outcome:?}"
    );
    // Nothing approved, nothing to tell.
    assert!(store.campaigns(None, 10).await.unwrap().is_empty());
}

async fn a_map_change_set_lists_its_place_changes_and_a_stale_one_is_superseded(
    store: Arc<dyn Store>,
) {
    use maktab::store::PlaceChange;
    import_map(&store, MAP_CSV).await;
    import_roll(&store, ROLL_CSV).await;
    store
        .add_subscription(Channel::Telegram, "777", &nin(NIN_WOMEN), START)
        .await
        .unwrap();
    let current = store.current_map().await.unwrap().unwrap();
    let counts = store
        .current_import(ImportKind::Map)
        .await
        .unwrap()
        .unwrap()
        .counts;
    let changes = vec![
        PlaceChange {
            change: "centre_renamed".to_owned(),
            commune: "1601".to_owned(),
            centre: "C01".to_owned(),
            station: None,
            old: Some(json!({"fr": "Ecole Emir Abdelkader", "ar": "مدرسة"})),
            new: Some(json!({"fr": "Ecole Emir Abdelkader II", "ar": "مدرسة"})),
        },
        PlaceChange {
            change: "station_kind_changed".to_owned(),
            commune: "1601".to_owned(),
            centre: "C02".to_owned(),
            station: Some(2),
            old: Some(json!("mixed")),
            new: Some(json!("women")),
        },
        PlaceChange {
            change: "centre_renamed".to_owned(),
            commune: "1601".to_owned(),
            centre: "C02".to_owned(),
            station: None,
            old: None,
            new: None,
        },
    ];
    let import = NewImport {
        communes: vec![commune("1601")],
        ..new_import()
    };
    let stale = store
        .import_map(import.clone(), &current.map, counts, &changes)
        .await
        .unwrap();
    assert!(stale.pending);
    let stale_id = stale.change_set.unwrap();
    assert_eq!(store.place_changes(stale_id).await.unwrap(), changes);
    let change_set = store.change_set(stale_id).await.unwrap().unwrap();
    assert_eq!(change_set.kind, ImportKind::Map);
    assert_eq!(change_set.communes, [commune("1601")]);
    assert_eq!(
        change_set.summary,
        json!({"commune": "1601", "places": 3, "by_change": {"centre_renamed": 2, "station_kind_changed": 1}})
    );
    assert_eq!(
        store.current_map().await.unwrap().unwrap().version,
        current.version
    );

    // A second map of the same commune waits for the pending change set: it is refused,
    // naming it; nothing was stored.
    let refused = store
        .import_map(import, &current.map, counts, &changes[..1])
        .await;
    assert!(
        matches!(&refused, Err(StoreError::ChangeSetPending { id, commune }) if *id == stale_id && commune == "1601"),
        "{refused:?}"
    );
    // Another commune's change set over the same base, approved after 1601's: it is applied
    // over the new current version (rebased), since nothing of 3101 changed meanwhile.
    let legacy = store
        .import_map(
            NewImport {
                communes: vec![commune("3101")],
                ..new_import()
            },
            &current.map,
            counts,
            &[PlaceChange {
                commune: "3101".to_owned(),
                ..changes[0].clone()
            }],
        )
        .await
        .unwrap();
    let fresh_id = legacy.change_set.unwrap();
    store
        .approve_change_set(
            stale_id,
            "officer",
            START + 60,
            officer_audit("changes.map.approve"),
        )
        .await
        .unwrap();
    let applied = store.current_map().await.unwrap().unwrap().version;
    assert_ne!(applied, current.version);
    let outcome = store
        .approve_change_set(
            fresh_id,
            "officer",
            START + 61,
            officer_audit("changes.map.approve"),
        )
        .await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(
        store.change_set(fresh_id).await.unwrap().unwrap().status,
        ChangeSetStatus::Approved
    );
    assert_eq!(store.change_sets(None, 10).await.unwrap().len(), 2);

    // The renamed centres of 1601 hold the subscribed voters: their subscribers are told.
    let recipients = store.change_recipients(stale_id).await.unwrap();
    let told: Vec<(Channel, &str, &str)> = recipients
        .iter()
        .map(|r| (r.channel, r.recipient.as_str(), r.nin.as_str()))
        .collect();
    assert_eq!(told, [(Channel::Telegram, "777", NIN_WOMEN)]);
}

async fn a_broadcast_reaches_its_audience_through_leased_claims_until_done(store: Arc<dyn Store>) {
    use maktab::domain::CentreCode;
    import_map(&store, MAP_CSV).await;
    import_roll(&store, ROLL_CSV).await;
    for (channel, sender, voter) in [
        (Channel::Sms, "+213550000001", NIN_MIXED),
        (Channel::Sms, "+213550000002", NIN_WOMEN),
        (Channel::Telegram, "777", NIN_WOMEN),
        (Channel::Sms, "+213550000003", NIN_NO_COORDS),
        (Channel::Sms, "+213550000009", NIN_WOMEN),
    ] {
        store
            .add_subscription(channel, sender, &nin(voter), START)
            .await
            .unwrap();
    }
    // French speaker, and one who sent STOP.
    let french = SenderState {
        locale: Some(Locale::Fr),
        locale_explicit: true,
        ..SenderState::default()
    };
    store
        .save_sender_state(Channel::Sms, "+213550000002", &french, START)
        .await
        .unwrap();
    let stopped = SenderState {
        notices_opt_out: true,
        ..SenderState::default()
    };
    store
        .save_sender_state(Channel::Sms, "+213550000009", &stopped, START)
        .await
        .unwrap();

    let audience = maktab::store::Audience {
        commune: commune("1601"),
        centre: Some(CentreCode::parse("C01").unwrap()),
        station: None,
        reporters: false,
    };
    let members: Vec<(Channel, String, Locale)> = store
        .audience_members(&audience)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.channel, m.recipient, m.locale))
        .collect();
    assert_eq!(
        members,
        [
            (Channel::Sms, "+213550000001".to_owned(), Locale::Ar),
            (Channel::Sms, "+213550000002".to_owned(), Locale::Fr),
            (Channel::Telegram, "777".to_owned(), Locale::Ar),
        ]
    );
    let one_station = maktab::store::Audience {
        station: Some(2),
        reporters: false,
        ..audience.clone()
    };
    assert_eq!(store.audience_members(&one_station).await.unwrap().len(), 2);

    let id = store
        .create_broadcast(
            &audience,
            "نص",
            "texte",
            "officer",
            START,
            officer_audit("broadcast.create"),
        )
        .await
        .unwrap();
    let draft = store.campaign(id).await.unwrap().unwrap();
    assert_eq!(
        (
            draft.kind.as_str(),
            draft.status,
            draft.text_fr.as_deref(),
            draft.created_by.as_str()
        ),
        ("broadcast", CampaignStatus::Draft, Some("texte"), "officer")
    );
    assert_eq!(draft.audience, serde_json::to_value(&audience).unwrap());
    let audit = store
        .audit_entries(&AuditQuery {
            action: Some("broadcast.create".to_owned()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(audit[0].details["campaign"], id);

    // Filling twice (a crash between fill and send) leaves one row per recipient.
    let notices: Vec<NewNotice> = (1..=4)
        .map(|i| NewNotice {
            channel: Channel::Sms,
            recipient: format!("+21355000010{i}"),
            locale: Locale::Ar,
            body: format!("message {i}"),
        })
        .collect();
    for _ in 0..2 {
        assert_eq!(
            store
                .fill_campaign(id, &notices, CampaignStatus::Draft, START)
                .await
                .unwrap(),
            4
        );
    }
    assert_eq!(
        store.campaign_progress(id).await.unwrap(),
        [("pending".to_owned(), 4)].into()
    );
    // A draft is not sent.
    assert!(
        store
            .claim_notices(Channel::Sms, START + 1, 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .set_campaign_status(id, &[CampaignStatus::Paused], CampaignStatus::Sending, None)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_campaign_status(
                id,
                &[CampaignStatus::Draft],
                CampaignStatus::Sending,
                Some(officer_audit("broadcast.confirm")),
            )
            .await
            .unwrap()
    );
    let sending = store.campaign(id).await.unwrap().unwrap();
    assert_eq!(sending.status, CampaignStatus::Sending);
    assert_eq!(
        (sending.confirmed_at, sending.confirmed_by.as_deref()),
        (Some(START + 60), Some("officer"))
    );
    assert_eq!(
        store
            .campaigns(Some(CampaignStatus::Sending), 10)
            .await
            .unwrap(),
        [sending]
    );

    // Claims: in order, a limit per claim, other channels untouched, leased rows not claimed
    // twice until their lease runs out.
    let now = START + 100;
    assert!(
        store
            .claim_notices(Channel::Telegram, now, 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let first = store.claim_notices(Channel::Sms, now, 60, 2).await.unwrap();
    assert_eq!(
        first
            .iter()
            .map(|n| (
                n.recipient.as_str(),
                n.body.as_str(),
                n.attempts,
                n.campaign_id
            ))
            .collect::<Vec<_>>(),
        [
            ("+213550000101", "message 1", 1, Some(id)),
            ("+213550000102", "message 2", 1, Some(id))
        ]
    );
    let second = store
        .claim_notices(Channel::Sms, now, 60, 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 2);
    assert!(
        store
            .claim_notices(Channel::Sms, now + 60, 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.campaign_progress(id).await.unwrap(),
        [("sending".to_owned(), 4)].into()
    );

    store
        .finish_notice(
            first[0].id,
            &NoticeResult::Sent {
                provider_id: Some("p-1".to_owned()),
            },
            now + 1,
        )
        .await
        .unwrap();
    store
        .finish_notice(
            first[1].id,
            &NoticeResult::Retry {
                at: now + 30,
                error: "busy".to_owned(),
            },
            now + 1,
        )
        .await
        .unwrap();
    store
        .finish_notice(
            second[0].id,
            &NoticeResult::Failed {
                error: "invalid number".to_owned(),
            },
            now + 1,
        )
        .await
        .unwrap();
    // second[1]'s dispatcher died: nothing is recorded for it.
    assert_eq!(store.complete_campaigns(now + 1).await.unwrap(), 0);
    // The retry is not due before its time.
    assert!(
        store
            .claim_notices(Channel::Sms, now + 29, 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // After the lease: the retry and the abandoned row, each on its next attempt.
    let again = store
        .claim_notices(Channel::Sms, now + 61, 60, 10)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|n| (n.id, n.attempts)).collect::<Vec<_>>(),
        [(first[1].id, 2), (second[1].id, 2)]
    );
    for notice in &again {
        store
            .finish_notice(
                notice.id,
                &NoticeResult::Skipped {
                    reason: "opted out".to_owned(),
                },
                now + 62,
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store.campaign_progress(id).await.unwrap(),
        [
            ("failed".to_owned(), 1),
            ("sent".to_owned(), 1),
            ("skipped".to_owned(), 2)
        ]
        .into()
    );
    assert_eq!(store.complete_campaigns(now + 62).await.unwrap(), 1);
    assert_eq!(
        store.campaign(id).await.unwrap().unwrap().status,
        CampaignStatus::Done
    );
    assert_eq!(store.complete_campaigns(now + 63).await.unwrap(), 0);
}

async fn a_cancelled_campaign_cancels_its_unsent_rows(store: Arc<dyn Store>) {
    let audience = maktab::store::Audience {
        commune: commune("1601"),
        centre: None,
        station: None,
        reporters: false,
    };
    let id = store
        .create_broadcast(
            &audience,
            "نص",
            "texte",
            "officer",
            START,
            officer_audit("broadcast.create"),
        )
        .await
        .unwrap();
    let notices: Vec<NewNotice> = (1..=3)
        .map(|i| NewNotice {
            channel: Channel::Telegram,
            recipient: format!("{i}"),
            locale: Locale::Fr,
            body: "texte".to_owned(),
        })
        .collect();
    store
        .fill_campaign(id, &notices, CampaignStatus::Sending, START)
        .await
        .unwrap();
    let claimed = store
        .claim_notices(Channel::Telegram, START + 1, 60, 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].locale, Locale::Fr);
    assert!(
        store
            .set_campaign_status(id, &[CampaignStatus::Sending], CampaignStatus::Paused, None)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_notices(Channel::Telegram, START + 2, 60, 10)
            .await
            .unwrap()
            .is_empty(),
        "a paused campaign is not sent"
    );
    assert!(
        store
            .set_campaign_status(
                id,
                &[CampaignStatus::Sending, CampaignStatus::Paused],
                CampaignStatus::Cancelled,
                Some(officer_audit("campaign.cancel")),
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.campaign_progress(id).await.unwrap(),
        [("cancelled".to_owned(), 2), ("sending".to_owned(), 1)].into()
    );
    assert!(
        !store
            .set_campaign_status(
                999_999,
                &[CampaignStatus::Sending],
                CampaignStatus::Paused,
                None
            )
            .await
            .unwrap()
    );
}

async fn outbound_sms_keep_their_delivery_status_and_a_final_one_is_not_undone(
    store: Arc<dyn Store>,
) {
    use maktab::store::{DeliveryStatus, NewReply, NoticeResult, OutboxLane};
    let new = |recipient| NewReply {
        channel: Channel::Sms,
        provider: Some("kannel"),
        recipient,
        locale: maktab::domain::Locale::Ar,
        body: "مركزك: مدرسة",
        message: "lookup-found",
        segments: 2,
    };
    let kannel = OutboxLane {
        channel: Channel::Sms,
        provider: Some("kannel"),
        notices: false,
    };
    let first = store
        .enqueue_reply(&new("+213550000001"), START)
        .await
        .unwrap();
    let second = store
        .enqueue_reply(&new("+213550000001"), START + 1)
        .await
        .unwrap();
    let other = store
        .enqueue_reply(&new("+213550000002"), START + 2)
        .await
        .unwrap();
    let stored = store.outbound_sms(first).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.provider.as_str(),
            stored.message.as_str(),
            stored.segments,
            stored.status,
            stored.attempts,
            stored.created_at
        ),
        (
            "kannel",
            "lookup-found",
            2,
            DeliveryStatus::Pending,
            0,
            START
        )
    );
    // Only the lane of its provider takes a reply, and a report cannot move a row that was
    // not sent yet.
    let twilio = OutboxLane {
        provider: Some("twilio"),
        ..kannel
    };
    assert!(
        store
            .claim_outbox(&twilio, START + 3, 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = store.claim_outbox(&kannel, START + 3, 60, 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (
            claimed[0].id,
            claimed[0].campaign_id,
            claimed[0].body.as_str()
        ),
        (first, None, "مركزك: مدرسة")
    );
    assert!(store.outbound_sms(other + 1000).await.unwrap().is_none());

    store
        .finish_notice(
            first,
            &NoticeResult::Sent {
                provider_id: Some("k-1".to_owned()),
            },
            START + 3,
        )
        .await
        .unwrap();
    assert_eq!(
        store.outbound_sms(first).await.unwrap().unwrap().status,
        DeliveryStatus::Accepted
    );
    assert!(
        store
            .record_delivery_report("kannel", "k-1", DeliveryStatus::Delivered, None, START + 4)
            .await
            .unwrap()
    );
    // A late non-final report and a late send result do not undo "delivered".
    store
        .record_delivery_report("kannel", "k-1", DeliveryStatus::Accepted, None, START + 5)
        .await
        .unwrap();
    store
        .finish_notice(first, &NoticeResult::Sent { provider_id: None }, START + 6)
        .await
        .unwrap();
    let delivered = store.outbound_sms(first).await.unwrap().unwrap();
    assert_eq!(
        (
            delivered.status,
            delivered.provider_message_id.as_deref(),
            delivered.attempts
        ),
        (DeliveryStatus::Delivered, Some("k-1"), 1)
    );
    let left = store
        .claim_outbox(&kannel, START + 6, 60, 10)
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|n| n.id).collect::<Vec<_>>(),
        [second, other],
        "the sent reply is not claimed again"
    );
    // A final report does replace another final one (the provider corrected itself).
    store
        .record_delivery_report(
            "kannel",
            "k-1",
            DeliveryStatus::Failed,
            Some("expired"),
            START + 7,
        )
        .await
        .unwrap();
    let failed = store.outbound_sms(first).await.unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.reason.as_deref(), failed.updated_at),
        (DeliveryStatus::Failed, Some("expired"), START + 7)
    );
    assert!(
        !store
            .record_delivery_report("twilio", "k-1", DeliveryStatus::Delivered, None, START + 8)
            .await
            .unwrap(),
        "ids are per provider"
    );

    let to: Vec<i64> = store
        .outbound_sms_to("+213550000001", 10)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(to, [second, first]);
    assert_eq!(
        store
            .outbound_sms_to("+213550000001", 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn replies_go_out_before_notices_on_the_lane_that_carries_both(store: Arc<dyn Store>) {
    use maktab::store::{Audience, NewReply, OutboxLane};
    let audience = Audience {
        commune: CommuneCode::parse("1601").unwrap(),
        centre: None,
        station: None,
        reporters: false,
    };
    let campaign = store
        .create_broadcast(
            &audience,
            "نص",
            "texte",
            "officer",
            START,
            officer_audit("broadcast.create"),
        )
        .await
        .unwrap();
    let notices: Vec<NewNotice> = (1..=3)
        .map(|i| NewNotice {
            channel: Channel::Sms,
            recipient: format!("+21355000020{i}"),
            locale: Locale::Fr,
            body: format!("notice {i}"),
        })
        .collect();
    store
        .fill_campaign(campaign, &notices, CampaignStatus::Sending, START)
        .await
        .unwrap();
    let reply = |recipient, provider| NewReply {
        channel: Channel::Sms,
        provider: Some(provider),
        recipient,
        locale: Locale::Fr,
        body: "Bureau 3",
        message: "lookup-found",
        segments: 1,
    };
    // The replies come after the notices, yet go first.
    let generic = store
        .enqueue_reply(&reply("+213550000301", "generic"), START + 5)
        .await
        .unwrap();
    let infobip = store
        .enqueue_reply(&reply("+213550000302", "infobip"), START + 5)
        .await
        .unwrap();
    let lane = OutboxLane {
        channel: Channel::Sms,
        provider: Some("generic"),
        notices: true,
    };
    let claimed = store.claim_outbox(&lane, START + 10, 60, 2).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|n| (n.body.as_str(), n.campaign_id))
            .collect::<Vec<_>>(),
        [("Bureau 3", None), ("notice 1", Some(campaign))],
        "the reply first, then the oldest notice; not the other provider's reply"
    );
    assert_eq!(claimed[0].id, generic);
    // A lane that does not carry notices takes only its provider's replies.
    let infobip_lane = OutboxLane {
        provider: Some("infobip"),
        notices: false,
        ..lane
    };
    let claimed = store
        .claim_outbox(&infobip_lane, START + 10, 60, 10)
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|n| n.id).collect::<Vec<_>>(), [infobip]);
    // What a stop leaves behind, per lane.
    let waiting = store.outbox_waiting().await.unwrap();
    assert_eq!(
        waiting,
        [
            ("sms".to_owned(), 2),
            ("sms:generic".to_owned(), 2),
            ("sms:infobip".to_owned(), 1)
        ]
        .into(),
        "a claimed notice takes its lane's provider; unclaimed ones have none yet"
    );
}

async fn telegram_updates_are_accepted_once_and_offers_and_blocks_are_kept_per_chat(
    store: Arc<dyn Store>,
) {
    use maktab::store::{Acceptance, PendingUpdate};
    assert_eq!(
        store
            .accept_update(10, Some(777), r#"{"update_id":10}"#, START, "a", 60)
            .await
            .unwrap(),
        Acceptance::Accepted
    );
    assert_eq!(
        store
            .accept_update(10, Some(777), r#"{"update_id":10}"#, START + 1, "a", 60)
            .await
            .unwrap(),
        Acceptance::Duplicate
    );
    store
        .accept_update(9, None, r#"{"update_id":9}"#, START + 2, "a", 60)
        .await
        .unwrap();
    assert_eq!(
        store.pending_updates().await.unwrap(),
        [
            PendingUpdate {
                update_id: 9,
                chat_id: None
            },
            PendingUpdate {
                update_id: 10,
                chat_id: Some(777)
            }
        ]
    );
    assert_eq!(
        store.pending_update(10).await.unwrap().as_deref(),
        Some(r#"{"update_id":10}"#)
    );
    // Its seen-record pruned while it still waits in the inbox: still a duplicate.
    store.prune_inbound_seen(START + 100).await.unwrap();
    assert_eq!(
        store
            .accept_update(10, Some(777), "{}", START + 101, "a", 60)
            .await
            .unwrap(),
        Acceptance::Duplicate
    );
    store.finish_update(10).await.unwrap();
    assert!(store.pending_update(10).await.unwrap().is_none());
    assert_eq!(store.pending_updates().await.unwrap().len(), 1);

    assert!(!store.chat_blocked(777).await.unwrap());
    store.set_chat_blocked(777, false, START).await.unwrap();
    assert!(!store.chat_blocked(777).await.unwrap());
    store.set_chat_blocked(777, true, START).await.unwrap();
    store.set_chat_blocked(777, true, START + 1).await.unwrap();
    assert!(store.chat_blocked(777).await.unwrap());
    assert!(!store.chat_blocked(778).await.unwrap());
    store.set_chat_blocked(777, false, START + 2).await.unwrap();
    assert!(!store.chat_blocked(777).await.unwrap());

    let offer = store
        .save_offer(777, &nin(NIN_MIXED), START + 600)
        .await
        .unwrap();
    let renewed = store
        .save_offer(777, &nin(NIN_MIXED), START + 900)
        .await
        .unwrap();
    assert_eq!(offer, renewed, "one offer per chat and voter, renewed");
    let other = store
        .save_offer(778, &nin(NIN_MIXED), START + 300)
        .await
        .unwrap();
    assert_ne!(offer, other);
    assert_eq!(
        store.offer(777, offer, START + 800).await.unwrap(),
        Some(nin(NIN_MIXED))
    );
    assert_eq!(
        store.offer(778, offer, START).await.unwrap(),
        None,
        "only from the chat it was made to"
    );
    assert_eq!(store.offer(777, offer, START + 900).await.unwrap(), None);
    assert_eq!(store.prune_offers(START + 300).await.unwrap(), 1);
    assert_eq!(store.offer(778, other, START).await.unwrap(), None);
    assert_eq!(
        store.offer(777, offer, START).await.unwrap(),
        Some(nin(NIN_MIXED))
    );
}

async fn an_inbox_row_is_held_by_one_instance_until_finished_released_or_its_lease_runs_out(
    store: Arc<dyn Store>,
) {
    let ids = |updates: Vec<maktab::store::PendingUpdate>| {
        updates.iter().map(|u| u.update_id).collect::<Vec<_>>()
    };
    // Instance A accepts two updates: it holds them until START + 60.
    for id in [1, 2] {
        store
            .accept_update(id, Some(id * 100), "{}", START, "a", 60)
            .await
            .unwrap();
    }
    assert!(
        store
            .claim_updates("b", START + 10, 60, 10)
            .await
            .unwrap()
            .is_empty(),
        "held by A, which is still working on them"
    );
    assert_eq!(store.renew_updates("a", START + 50, 60).await.unwrap(), 2);
    assert!(
        store
            .claim_updates("b", START + 100, 60, 10)
            .await
            .unwrap()
            .is_empty(),
        "A renewed its lease to START + 110"
    );
    store.finish_update(1).await.unwrap();

    // A dies: once its lease runs out, B takes the row it left, and holds it in turn.
    let taken = store.claim_updates("b", START + 111, 60, 10).await.unwrap();
    assert_eq!(
        taken,
        [maktab::store::PendingUpdate {
            update_id: 2,
            chat_id: Some(200)
        }],
        "the finished row is gone; the unfinished one is taken over"
    );
    assert!(
        store
            .claim_updates("c", START + 112, 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.renew_updates("a", START + 112, 60).await.unwrap(),
        0,
        "A no longer holds anything"
    );

    // B shuts down cleanly with the row unfinished: C may take it at once.
    assert_eq!(store.release_updates("b").await.unwrap(), 1);
    assert_eq!(
        ids(store.claim_updates("c", START + 113, 60, 10).await.unwrap()),
        [2]
    );

    // At most `limit` rows, oldest first; two claims at the same moment share the rows out.
    for id in 3..=8 {
        store
            .accept_update(id, None, "{}", START + 200, "a", 60)
            .await
            .unwrap();
    }
    assert_eq!(
        ids(store.claim_updates("d", START + 300, 60, 2).await.unwrap()),
        [2, 3],
        "C's lease ran out too"
    );
    let (e, f) = tokio::join!(
        store.claim_updates("e", START + 301, 60, 10),
        store.claim_updates("f", START + 301, 60, 10)
    );
    let mut shared = ids(e.unwrap());
    shared.extend(ids(f.unwrap()));
    shared.sort_unstable();
    assert_eq!(shared, [4, 5, 6, 7, 8], "each row to exactly one of them");

    for id in 2..=8 {
        store.finish_update(id).await.unwrap();
    }
    assert!(store.pending_updates().await.unwrap().is_empty());
    assert!(
        store
            .claim_updates("g", START + 10_000, 60, 10)
            .await
            .unwrap()
            .is_empty(),
        "finished rows are gone for good"
    );
}

async fn the_pool_reports_its_size_within_its_maximum(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let stats = store.pool_stats();
    assert!(stats.max > 0);
    assert!(stats.size >= 1 && stats.size <= stats.max, "{stats:?}");
    assert!(stats.idle <= stats.size, "{stats:?}");
}

fn new_report(
    nin_digits: &str,
    commune_code: &str,
    source: ReportSourceKind,
    clerk_id: Option<i64>,
    follow_up: Option<(Channel, &str)>,
) -> NewReport {
    NewReport {
        nin: nin(nin_digits),
        birth_date: maktab::domain::BirthDate::parse("15/03/1990").unwrap(),
        commune: commune(commune_code),
        full_name: "Benali Amina".to_owned(),
        source,
        clerk_id,
        follow_up: follow_up.map(|(channel, recipient)| FollowUpContact {
            channel,
            recipient: recipient.to_owned(),
            locale: Locale::Fr,
        }),
        locale: Locale::Fr,
    }
}

fn every_report() -> ReportQuery {
    ReportQuery {
        limit: 100,
        ..ReportQuery::default()
    }
}

async fn reports_are_one_per_nin_and_filter_by_commune_status_time_and_clerk(
    store: Arc<dyn Store>,
) {
    let clerk = store
        .invite_clerk(
            &commune("3101"),
            "hash",
            START + 3600,
            "officer",
            START,
            audit(START, "officer", "clerk.invite", &["3101"]),
        )
        .await
        .unwrap();
    let a = "300000000000000001";
    let b = "300000000000000002";
    let first = store
        .file_report(
            &new_report(
                a,
                "1601",
                ReportSourceKind::Citizen,
                None,
                Some((Channel::Sms, "+213550000001")),
            ),
            START,
        )
        .await
        .unwrap();
    assert!(first.new_report);
    // The same NIN again: by a clerk, then the same citizen again (nothing new).
    let again = store
        .file_report(
            &new_report(a, "1601", ReportSourceKind::Clerk, Some(clerk), None),
            START + 10,
        )
        .await
        .unwrap();
    assert_eq!(
        again,
        maktab::store::Filed {
            report_id: first.report_id,
            number: 1,
            new_report: false
        }
    );
    store
        .file_report(
            &new_report(
                a,
                "1601",
                ReportSourceKind::Citizen,
                None,
                Some((Channel::Sms, "+213550000001")),
            ),
            START + 20,
        )
        .await
        .unwrap();
    let second = store
        .file_report(
            &new_report(
                b,
                "3101",
                ReportSourceKind::Clerk,
                Some(clerk),
                Some((Channel::Sms, "+213550000002")),
            ),
            START + 100,
        )
        .await
        .unwrap();
    assert_ne!(second.report_id, first.report_id);

    let all = store.reports(&every_report()).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        [second.report_id, first.report_id]
    );
    let report_a = store.report(first.report_id).await.unwrap().unwrap();
    assert_eq!(report_a, all[1]);
    assert_eq!(report_a.nin.as_str(), a);
    assert_eq!(report_a.full_name, "Benali Amina");
    assert_eq!(report_a.created_at, START);
    assert_eq!(report_a.updated_at, START + 20);
    let kinds: Vec<_> = report_a
        .sources
        .iter()
        .map(|s| (s.kind, s.clerk_id, s.channel.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ReportSourceKind::Citizen, None, Some("sms".to_owned())),
            (ReportSourceKind::Clerk, Some(clerk), None),
        ]
    );
    assert!(store.report(999_999).await.unwrap().is_none());

    let ids = |query: ReportQuery| {
        let store = Arc::clone(&store);
        async move {
            store
                .reports(&query)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(ReportQuery {
            communes: Some(vec![commune("3101")]),
            ..every_report()
        })
        .await,
        [second.report_id]
    );
    assert_eq!(
        ids(ReportQuery {
            communes: Some(vec![]),
            ..every_report()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(ReportQuery {
            from: Some(START + 50),
            ..every_report()
        })
        .await,
        [second.report_id]
    );
    assert_eq!(
        ids(ReportQuery {
            to: Some(START + 50),
            ..every_report()
        })
        .await,
        [first.report_id]
    );
    assert_eq!(
        ids(ReportQuery {
            clerk_id: Some(clerk),
            ..every_report()
        })
        .await
        .len(),
        2
    );
    assert_eq!(
        ids(ReportQuery {
            ids: Some(vec![first.report_id, 999_999]),
            ..every_report()
        })
        .await,
        [first.report_id]
    );
    assert!(
        ids(ReportQuery {
            ids: Some(Vec::new()),
            ..every_report()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        ids(ReportQuery {
            limit: 1,
            offset: 1,
            ..every_report()
        })
        .await,
        [first.report_id]
    );

    // Handling: open reports only, with the audit entry.
    let handled = store
        .mark_reports_handled(
            &[first.report_id],
            "office",
            START + 200,
            audit(START + 200, "office", "reports.handle", &["1601"]),
        )
        .await
        .unwrap();
    assert_eq!(handled, 1);
    assert_eq!(
        store
            .mark_reports_handled(
                &[first.report_id],
                "office",
                START + 300,
                audit(START + 300, "office", "reports.handle", &["1601"])
            )
            .await
            .unwrap(),
        0
    );
    let report_a = store.report(first.report_id).await.unwrap().unwrap();
    assert_eq!(report_a.status, ReportStatus::Handled);
    assert_eq!(report_a.handled_at, Some(START + 200));
    assert_eq!(report_a.handled_by.as_deref(), Some("office"));
    assert_eq!(
        ids(ReportQuery {
            status: Some(ReportStatus::Open),
            ..every_report()
        })
        .await,
        [second.report_id]
    );
    let audited = store
        .audit_entries(&AuditQuery {
            action: Some("reports.handle".to_owned()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(audited.len(), 2);

    // Counts per commune, source and status; a report with two sources counts under each.
    let counts: Vec<(String, ReportSourceKind, ReportStatus, u64)> = store
        .report_counts(None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.commune.as_str().to_owned(), c.source, c.status, c.reports))
        .collect();
    assert_eq!(
        counts,
        [
            (
                "1601".to_owned(),
                ReportSourceKind::Clerk,
                ReportStatus::Handled,
                1
            ),
            (
                "1601".to_owned(),
                ReportSourceKind::Citizen,
                ReportStatus::Handled,
                1
            ),
            (
                "3101".to_owned(),
                ReportSourceKind::Clerk,
                ReportStatus::Open,
                1
            ),
        ]
    );
    assert_eq!(
        store
            .report_counts(Some(&[commune("3101")]))
            .await
            .unwrap()
            .len(),
        1
    );

    // Open reporters of a commune, once each, without those who said STOP.
    assert_eq!(
        store.open_reporters(&commune("1601")).await.unwrap(),
        [FollowUpContact {
            channel: Channel::Sms,
            recipient: "+213550000001".to_owned(),
            locale: Locale::Fr
        }]
    );
    let stopped = SenderState {
        notices_opt_out: true,
        ..SenderState::default()
    };
    store
        .save_sender_state(Channel::Sms, "+213550000001", &stopped, START)
        .await
        .unwrap();
    assert!(
        store
            .open_reporters(&commune("1601"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.open_reporters(&commune("3101")).await.unwrap().len(),
        1
    );
}

async fn clerks_enrol_once_within_their_invitation_and_cannot_file_once_revoked(
    store: Arc<dyn Store>,
) {
    let invite = |hash: &'static str, commune_code: &'static str, expires: i64| {
        let store = Arc::clone(&store);
        async move {
            store
                .invite_clerk(
                    &commune(commune_code),
                    hash,
                    expires,
                    "officer",
                    START,
                    audit(START, "officer", "clerk.invite", &[commune_code]),
                )
                .await
                .unwrap()
        }
    };
    let first = invite("hash-1", "1601", START + 3600).await;
    let expired = invite("hash-2", "1601", START + 60).await;
    let other = invite("hash-3", "3101", START + 3600).await;
    assert_eq!(
        store.enrol_clerk("unknown", "chat-1", START).await.unwrap(),
        Err(EnrolRefusal::UnknownCode)
    );
    assert_eq!(
        store
            .enrol_clerk("hash-2", "chat-1", START + 61)
            .await
            .unwrap(),
        Err(EnrolRefusal::Expired)
    );
    let enrolled = store
        .enrol_clerk("hash-1", "chat-1", START + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(enrolled.id, first);
    assert_eq!(enrolled.commune, commune("1601"));
    assert_eq!(enrolled.enrolled_at, Some(START + 10));
    assert_eq!(enrolled.invite_expires_at, None);
    assert!(enrolled.is_active());
    assert_eq!(
        store
            .enrol_clerk("hash-1", "chat-2", START + 20)
            .await
            .unwrap(),
        Err(EnrolRefusal::UnknownCode),
        "used"
    );
    assert_eq!(
        store.clerk_by_chat("chat-1").await.unwrap().map(|c| c.id),
        Some(first)
    );
    assert!(store.clerk_by_chat("chat-2").await.unwrap().is_none());
    assert_eq!(
        store.clerk(expired).await.unwrap().unwrap().enrolled_at,
        None
    );

    let listed: Vec<i64> = store
        .clerks(None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, [other, expired, first]);
    let alger: Vec<i64> = store
        .clerks(Some(&[commune("1601")]))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(alger, [expired, first]);

    // Posted elsewhere: the same chat enrols with another invitation and leaves the first.
    let moved = store
        .enrol_clerk("hash-3", "chat-1", START + 30)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.id, other);
    assert_eq!(
        store.clerk_by_chat("chat-1").await.unwrap().map(|c| c.id),
        Some(other)
    );
    assert!(
        store
            .clerk(first)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );

    assert!(
        store
            .revoke_clerk(
                other,
                "officer",
                START + 40,
                audit(START + 40, "officer", "clerk.revoke", &["3101"])
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_clerk(
                other,
                "officer",
                START + 50,
                audit(START + 50, "officer", "clerk.revoke", &["3101"])
            )
            .await
            .unwrap()
    );
    assert!(store.clerk_by_chat("chat-1").await.unwrap().is_none());
    let revoked = store.clerk(other).await.unwrap().unwrap();
    assert_eq!(
        (revoked.revoked_at, revoked.revoked_by.as_deref()),
        (Some(START + 40), Some("officer"))
    );
    assert!(!revoked.is_active());
    // A revoked invitation that was never used cannot be used either.
    let unused = invite("hash-4", "1601", START + 3600).await;
    assert!(
        store
            .revoke_clerk(
                unused,
                "officer",
                START + 60,
                audit(START + 60, "officer", "clerk.revoke", &["1601"])
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .enrol_clerk("hash-4", "chat-9", START + 70)
            .await
            .unwrap(),
        Err(EnrolRefusal::UnknownCode)
    );
    let audited = store
        .audit_entries(&AuditQuery {
            action: Some("clerk".to_owned()),
            limit: 20,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let count = |action: &str| audited.iter().filter(|e| e.action == action).count();
    assert_eq!(
        (
            count("clerk.invite"),
            count("clerk.enrol"),
            count("clerk.revoke")
        ),
        (4, 2, 2)
    );
}

async fn report_numbers_run_per_commune_without_gaps(store: Arc<dyn Store>) {
    let file = |nin: &'static str, commune: &'static str| {
        let store = Arc::clone(&store);
        async move {
            store
                .file_report(
                    &new_report(nin, commune, ReportSourceKind::Citizen, None, None),
                    START,
                )
                .await
                .unwrap()
        }
    };
    let a = file("300000000000000001", "1601").await;
    // The same NIN again gives no new number, and wastes none.
    let again = file("300000000000000001", "1601").await;
    let oran = file("300000000000000002", "3101").await;
    let b = file("300000000000000003", "1601").await;
    assert_eq!(
        (a.number, again.number, oran.number, b.number),
        (1, 1, 1, 2)
    );
    assert!(!again.new_report);
    let stored = store.report(b.report_id).await.unwrap().unwrap();
    assert_eq!((stored.number, stored.commune.as_str()), (2, "1601"));
    // Filed at once from several connections, numbers are still 1, 2, 3... in each commune.
    let mut tasks = Vec::new();
    for k in 0..10u8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let nin = format!("30000000000000010{k}");
            store
                .file_report(
                    &new_report(&nin, "1601", ReportSourceKind::Citizen, None, None),
                    START + 1,
                )
                .await
                .unwrap()
                .number
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (3..=12).collect::<Vec<i64>>());
}

async fn an_approved_roll_resolves_reports_whose_nin_and_birth_date_it_holds(
    store: Arc<dyn Store>,
) {
    import_map(&store, MAP_CSV).await;
    let communes: Vec<String> = store
        .communes()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name.fr)
        .collect();
    assert_eq!(communes, ["Alger Centre"]);
    import_roll(&store, ROLL_CSV).await;
    let registered = "300000000000000001";
    let other_date = "300000000000000002";
    let never = "300000000000000003";
    let by_phone = store
        .file_report(
            &new_report(
                registered,
                "1601",
                ReportSourceKind::Citizen,
                None,
                Some((Channel::Sms, "+213550000001")),
            ),
            START,
        )
        .await
        .unwrap();
    store
        .file_report(
            &new_report(
                registered,
                "1601",
                ReportSourceKind::Citizen,
                None,
                Some((Channel::Telegram, "4242")),
            ),
            START,
        )
        .await
        .unwrap();
    store
        .file_report(
            &new_report(
                registered,
                "1601",
                ReportSourceKind::Clerk,
                None,
                Some((Channel::Sms, "+213550000001")),
            ),
            START,
        )
        .await
        .unwrap();
    let mismatch = store
        .file_report(
            &new_report(
                other_date,
                "1601",
                ReportSourceKind::Citizen,
                None,
                Some((Channel::Sms, "+213550000002")),
            ),
            START,
        )
        .await
        .unwrap();
    store
        .file_report(
            &new_report(
                never,
                "1601",
                ReportSourceKind::Citizen,
                None,
                Some((Channel::Sms, "+213550000003")),
            ),
            START,
        )
        .await
        .unwrap();
    let roll = format!(
        "{ROLL_CSV}{registered},1990-03-15,F,1601,C01,2\n{other_date},1991-03-15,M,1601,C01,1\n"
    );
    import_roll(&store, &roll).await;
    let change_set = store
        .change_sets(Some(ChangeSetStatus::Pending), 10)
        .await
        .unwrap()[0]
        .id;
    approve_pending(&store).await;

    let reporters: Vec<(i64, String, Channel, String)> = store
        .registered_reporters(change_set)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.report_id,
                r.nin.as_str().to_owned(),
                r.contact.channel,
                r.contact.recipient,
            )
        })
        .collect();
    assert_eq!(
        reporters,
        [
            (
                by_phone.report_id,
                registered.to_owned(),
                Channel::Sms,
                "+213550000001".to_owned()
            ),
            (
                by_phone.report_id,
                registered.to_owned(),
                Channel::Telegram,
                "4242".to_owned()
            ),
        ],
        "each contact once, the clerk's record of the same phone included"
    );
    let resolved = store.report(by_phone.report_id).await.unwrap().unwrap();
    assert_eq!(resolved.status, ReportStatus::Resolved);
    assert!(resolved.resolved_at.is_some());
    assert_eq!(
        resolved.full_name, "",
        "the name is erased once the roll holds the citizen"
    );
    assert_eq!(
        store
            .report(mismatch.report_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        ReportStatus::Open
    );
    assert!(
        store
            .registered_reporters(change_set + 1000)
            .await
            .unwrap()
            .is_empty()
    );

    // Reported again after being resolved: the report opens again with the new details.
    let reopened = store
        .file_report(
            &new_report(
                registered,
                "1601",
                ReportSourceKind::Citizen,
                None,
                Some((Channel::Sms, "+213550000009")),
            ),
            START + 5000,
        )
        .await
        .unwrap();
    assert_eq!(reopened.report_id, by_phone.report_id);
    let report = store.report(by_phone.report_id).await.unwrap().unwrap();
    assert_eq!(
        (report.status, report.full_name.as_str(), report.resolved_at),
        (ReportStatus::Open, "Benali Amina", None)
    );
}

async fn expired_dialogues_are_erased_and_live_ones_kept(store: Arc<dyn Store>) {
    for (sender, expires) in [
        ("+213550000001", START + 10),
        ("+213550000002", START + 1000),
    ] {
        let state = SenderState {
            locale: Some(Locale::Ar),
            dialogue: Some((
                Dialogue::AwaitingBirth {
                    nin: NIN_MIXED.to_owned(),
                }
                .to_json(),
                expires,
            )),
            ..SenderState::default()
        };
        store
            .save_sender_state(Channel::Sms, sender, &state, START)
            .await
            .unwrap();
    }
    assert_eq!(
        store.forget_expired_dialogues(START + 100).await.unwrap(),
        1
    );
    assert_eq!(
        store.forget_expired_dialogues(START + 100).await.unwrap(),
        0
    );
    let kept = store
        .sender_state(Channel::Sms, "+213550000002", START + 100)
        .await
        .unwrap();
    assert!(kept.dialogue.is_some());
    let erased = store
        .sender_state(Channel::Sms, "+213550000001", START)
        .await
        .unwrap();
    assert_eq!(
        erased.dialogue, None,
        "gone even for a clock that has not reached its expiry"
    );
    assert_eq!(
        erased.locale,
        Some(Locale::Ar),
        "the rest of the sender is kept"
    );
}

async fn a_listing_of_more_reports_than_one_statement_reads_keeps_every_source(
    store: Arc<dyn Store>,
) {
    // Sources are read 1,000 report ids at a time: 1,001 reports cross the boundary.
    for i in 0..1_001u32 {
        let digits = format!("3{i:017}");
        let phone = format!("+2135500{i:05}");
        store
            .file_report(
                &new_report(
                    &digits,
                    "1601",
                    ReportSourceKind::Citizen,
                    None,
                    Some((Channel::Sms, &phone)),
                ),
                START + i64::from(i),
            )
            .await
            .unwrap();
    }
    let all = store
        .reports(&ReportQuery {
            limit: 2_000,
            ..ReportQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1_001);
    assert!(
        all.iter().all(|r| r.sources.len() == 1),
        "every report keeps its source"
    );
}
