//! Change sets per commune, through the office layer as each office uses it: while Alger
//! Centre's roll change set waits, Oran imports, reviews and approves its own under the
//! two-person rule; Alger Centre cannot import again nor touch Oran's; a national token sees
//! both and decides Alger Centre's, whose removed voter's subscriber is told. A map
//! re-import that renames a commune shows it in review, with counts, per commune.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use maktab::domain::{Channel, CommuneCode, NationalId, Role};
use maktab::office::{OfficeError, Principal};
use maktab::store::{ChangeSetStatus, ImportKind};

const ORAN_MAP: &str = "3101,وهران,Oran,C01,مدرسة ابن باديس,Ecole Ibn Badis,1 شارع العربي,1 Rue Larbi,,,1,mixed\n3101,وهران,Oran,C01,مدرسة ابن باديس,Ecole Ibn Badis,1 شارع العربي,1 Rue Larbi,,,2,mixed\n";
const ORAN_VOTER: &str = "400000000000000001";
const ORAN_ROLL: &str = "nin,birth_date,sex,commune_code,centre_code,station\n400000000000000001,1980-01-01,M,3101,C01,1\n400000000000000002,1981-01-01,F,3101,C01,1\n";

fn office_of(name: &str, commune: &str) -> Principal {
    Principal {
        // One token per name: the two-person rule compares these ids.
        id: format!("token:office-{name}"),
        name: name.to_owned(),
        role: Role::CommuneAdmin,
        communes: vec![CommuneCode::parse(commune).unwrap()],
        expires_at: None,
    }
}

fn national(name: &str) -> Principal {
    Principal {
        id: format!("token:national-{name}"),
        name: name.to_owned(),
        role: Role::National,
        communes: Vec::new(),
        expires_at: None,
    }
}

fn input(csv: &str) -> Box<dyn std::io::Read + Send> {
    Box::new(std::io::Cursor::new(csv.as_bytes().to_vec()))
}

#[tokio::test]
async fn one_communes_pending_change_set_does_not_block_another_which_reviews_and_approves_its_own()
{
    communes_decide_independently(TestDb::empty().await).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn on_postgres_one_communes_pending_change_set_does_not_block_another() {
    let (db, _pg) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    communes_decide_independently(db).await;
}

async fn communes_decide_independently(db: TestDb) {
    db.import_map(&format!("{MAP_CSV}{ORAN_MAP}"))
        .await
        .unwrap();
    let both = format!(
        "{ROLL_CSV}{}",
        ORAN_ROLL.lines().skip(1).collect::<Vec<_>>().join("\n")
    );
    let first = db.import_roll(&format!("{both}\n")).await.unwrap();
    assert_eq!(
        first.record.unwrap().number,
        Some(1),
        "the first roll is version 1"
    );
    // Someone follows the Alger Centre voter whom the next file leaves out.
    db.store
        .add_subscription(
            Channel::Sms,
            "+213550000077",
            &NationalId::parse(NIN_NO_COORDS).unwrap(),
            START,
        )
        .await
        .unwrap();
    let office = office_with(&db.store, true);
    let alger = office_of("Alger Centre office", "1601");
    let oran = office_of("Oran office", "3101");
    let oran_second = office_of("Oran officer", "3101");

    // Alger Centre drops a voter: a pending change set of commune 1601, no version number.
    let without = ROLL_CSV.replace(&format!("{NIN_NO_COORDS},1970-01-20,,1601,C02,1\n"), "");
    let outcome = office
        .import(
            &alger,
            ImportKind::Roll,
            input(&without),
            false,
            "alger.csv",
        )
        .await
        .unwrap();
    let record = outcome.record.unwrap();
    assert!(record.pending && record.number.is_none(), "{record:?}");
    assert_eq!(outcome.change_sets.len(), 1);
    let alger_set = outcome.change_sets[0].clone();
    assert_eq!(alger_set.communes, [CommuneCode::parse("1601").unwrap()]);
    assert_eq!(alger_set.summary["voters_removed"], 1);
    // Alger Centre cannot import its roll again until it is decided; the message names it.
    let again = office
        .import(
            &alger,
            ImportKind::Roll,
            input(&without),
            false,
            "alger.csv",
        )
        .await;
    match again {
        Err(OfficeError::Conflict(message)) => assert_eq!(
            message,
            format!(
                "pending change set {} of commune 1601: approve or reject it before importing this commune again",
                alger_set.id
            )
        ),
        other => panic!("{other:?}"),
    }

    // Oran sends its roll unchanged first: nothing to review, so no change set holds the
    // commune and no version number is spent; the version stays what it was.
    let same = office
        .import(&oran, ImportKind::Roll, input(ORAN_ROLL), false, "oran.csv")
        .await
        .unwrap();
    assert!(same.change_sets.is_empty(), "{:?}", same.change_sets);
    let record = same.record.unwrap();
    assert!(!record.pending && record.number.is_none(), "{record:?}");
    assert!(
        db.store
            .change_sets(None, 100)
            .await
            .unwrap()
            .iter()
            .all(|c| c.communes != [CommuneCode::parse("3101").unwrap()]),
        "no change set of Oran"
    );

    // Oran imports its own roll meanwhile (one voter moves station).
    let moved = ORAN_ROLL.replace(
        "400000000000000001,1980-01-01,M,3101,C01,1",
        "400000000000000001,1980-01-01,M,3101,C01,2",
    );
    let outcome = office
        .import(&oran, ImportKind::Roll, input(&moved), false, "oran.csv")
        .await
        .unwrap();
    assert_eq!(outcome.change_sets.len(), 1);
    let oran_set = outcome.change_sets[0].clone();
    assert_eq!(oran_set.communes, [CommuneCode::parse("3101").unwrap()]);

    // Oran sees only its own change set, and its review lists the move.
    let listed = office
        .change_sets(&oran, Some(ChangeSetStatus::Pending), 100)
        .await
        .unwrap()
        .change_sets;
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        [oran_set.id]
    );
    let detail = office.change_set(&oran, oran_set.id, 100, 0).await.unwrap();
    assert_eq!(detail.change_set.summary["voters_moved"], 1);
    assert_eq!(detail.voters.len(), 1);
    assert_eq!(detail.voters[0].to.as_deref(), Some("3101/C01/2"));
    // Oran may not decide Alger Centre's, and its importer may not approve its own.
    assert!(matches!(
        office.reject(&oran, alger_set.id).await,
        Err(OfficeError::Forbidden(_) | OfficeError::NotFound(_))
    ));
    assert!(matches!(
        office.approve(&oran, oran_set.id).await,
        Err(OfficeError::Forbidden(_))
    ));
    office.approve(&oran_second, oran_set.id).await.unwrap();
    let current = db
        .store
        .current_import(ImportKind::Roll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.number, Some(2), "the approval is version 2");
    let voter = db
        .store
        .find_voter(&NationalId::parse(ORAN_VOTER).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(voter.place.station.get(), 2, "Oran's change is live");
    assert!(
        db.store
            .find_voter(&NationalId::parse(NIN_NO_COORDS).unwrap())
            .await
            .unwrap()
            .is_some(),
        "Alger Centre's pending removal is not"
    );

    // A national token sees both; Alger Centre's is still pending and applies over the new
    // current version.
    let everyone = national("national authority");
    let all = office
        .change_sets(&everyone, None, 100)
        .await
        .unwrap()
        .change_sets;
    let statuses: Vec<(i64, ChangeSetStatus)> = all.iter().map(|c| (c.id, c.status)).collect();
    assert!(
        statuses.contains(&(alger_set.id, ChangeSetStatus::Pending)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(oran_set.id, ChangeSetStatus::Approved)),
        "{statuses:?}"
    );
    let approval = office.approve(&everyone, alger_set.id).await.unwrap();
    assert_eq!(
        approval.notices, 1,
        "the removed voter's subscriber is told"
    );
    assert!(
        db.store
            .find_voter(&NationalId::parse(NIN_NO_COORDS).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let voter = db
        .store
        .find_voter(&NationalId::parse(ORAN_VOTER).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        voter.place.station.get(),
        2,
        "Oran's approved change is kept"
    );
    let current = db
        .store
        .current_import(ImportKind::Roll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((current.number, current.counts.voters), (Some(3), 4));
    // The stations' loads (what the dashboard and the map check read, counted when a
    // version is written) are those of the version made by the approval.
    let loads = db.store.station_loads().await.unwrap();
    let load = |commune: &str, centre: &str, station: u16| {
        loads
            .iter()
            .find(|l| {
                l.at.commune.as_str() == commune
                    && l.at.centre.as_str() == centre
                    && l.at.station.get() == station
            })
            .map_or(0, |l| l.voters)
    };
    assert_eq!((load("3101", "C01", 1), load("3101", "C01", 2)), (1, 1));
    assert_eq!(loads.iter().map(|l| l.voters).sum::<u64>(), 4, "{loads:?}");
    let notices = db
        .store
        .claim_notices(Channel::Sms, START + 10_000_000, 60, 10)
        .await
        .unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].recipient, "+213550000077");
    assert!(
        notices[0]
            .body
            .contains("القائمة الانتخابية لبلدية الجزائر الوسطى")
            && notices[0].body.contains("20**************99"),
        "{}",
        notices[0].body
    );
}

#[tokio::test]
async fn a_national_map_makes_one_change_set_per_commune_and_review_shows_a_commune_rename() {
    national_map_per_commune(TestDb::empty().await).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn on_postgres_a_national_map_makes_one_change_set_per_commune() {
    let (db, _pg) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    national_map_per_commune(db).await;
}

async fn national_map_per_commune(db: TestDb) {
    db.import_map(&format!("{MAP_CSV}{ORAN_MAP}"))
        .await
        .unwrap();
    let renamed = format!("{MAP_CSV}{ORAN_MAP}")
        .replace(",Alger Centre,", ",Alger-Centre,")
        .replace("Ecole Ibn Badis", "Ecole Ibn Badis II")
        .replace("1 Rue Larbi", "3 Rue Larbi");
    let outcome = db.import_map(&renamed).await.unwrap();
    let mut by_commune: Vec<(String, serde_json::Value)> = outcome
        .change_sets
        .iter()
        .map(|c| (c.communes[0].to_string(), c.summary.clone()))
        .collect();
    by_commune.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(by_commune.len(), 2, "{by_commune:?}");
    assert_eq!(by_commune[0].0, "1601");
    assert_eq!(
        by_commune[0].1,
        serde_json::json!({"commune": "1601", "places": 1, "by_change": {"commune_renamed": 1}})
    );
    assert_eq!(
        by_commune[1].1,
        serde_json::json!({"commune": "3101", "places": 2, "by_change": {"centre_renamed": 1, "centre_address_changed": 1}})
    );
    let places = db
        .store
        .place_changes(outcome.change_sets[0].id)
        .await
        .unwrap();
    assert!(
        places
            .iter()
            .all(|p| p.commune == outcome.change_sets[0].communes[0].as_str())
    );
    // Approving one commune's applies that commune only.
    let office = office(&db.store);
    let alger = outcome
        .change_sets
        .iter()
        .find(|c| c.communes[0].as_str() == "1601")
        .unwrap();
    office
        .approve(&Principal::command_line(), alger.id)
        .await
        .unwrap();
    let map = db.store.current_map().await.unwrap().unwrap().map;
    let names: Vec<(&str, &str)> = map
        .communes
        .iter()
        .map(|c| (c.code.as_str(), c.name.fr.as_str()))
        .collect();
    assert!(names.contains(&("1601", "Alger-Centre")), "{names:?}");
    assert!(
        map.centres.iter().any(|c| c.name.fr == "Ecole Ibn Badis"),
        "Oran's rename waits"
    );
}
