//! A clerk filing a report learns only whether the citizen is already on the roll of the
//! clerk's own commune, within a budget of checks per hour, under the per-NIN lock, with
//! every failure counted against the NIN; a wrong birth date and an unknown NIN read the
//! same. Through the real conversation core and a real SQLite store (issue 13, point 1).
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use maktab::conversation::{ConversationSettings, Handled};
use maktab::domain::Channel;
use maktab::i18n::MessageId;
use maktab::office::Principal;

/// Alger Centre (the clerk's commune) and Oran.
const MAP: &str = "\
commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,latitude,longitude,station,kind
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة الأمير عبد القادر,Ecole Emir Abdelkader,12 شارع الاستقلال,12 Rue de l'Indépendance,,,1,mixed
3101,وهران,Oran,C01,ثانوية باستور,Lycée Pasteur,شارع العربي بن مهيدي,Rue Larbi Ben M'hidi,,,1,mixed
";
const ROLL: &str = "\
nin,birth_date,sex,commune_code,centre_code,station
109870123456789012,1990-03-15,M,1601,C01,1
310000000000000031,1980-06-30,F,3101,C01,1
";
const ORAN_NIN: &str = "310000000000000031";
const ORAN_BIRTH: &str = "30/06/1980";
const CLERK: &str = "6001";

async fn setup(settings: ConversationSettings) -> (TestDb, Talk) {
    let db = TestDb::empty().await;
    db.import_map(MAP).await.unwrap();
    db.import_roll(ROLL).await.unwrap();
    let mut talk = db.talk_with(settings);
    let now = maktab::domain::now();
    talk.now = now - now.rem_euclid(3600);
    let code = office(&db.store)
        .invite_clerk(
            &Principal::command_line(),
            &maktab::domain::CommuneCode::parse("1601").unwrap(),
            Some(72),
        )
        .await
        .unwrap()
        .code;
    let enrolled = talk
        .send(Channel::Telegram, CLERK, &format!("/clerk {code}"))
        .await;
    assert_eq!(enrolled.replies[0].message, MessageId::ClerkEnrolled);
    (db, talk)
}

/// `/report`, the citizen's NIN and birth date, then `/cancel`: the answer to the NIN.
async fn check(talk: &Talk, nin: &str, birth: &str) -> Handled {
    let ask = talk.send(Channel::Telegram, CLERK, "/report").await;
    assert_eq!(ask.replies[0].message, MessageId::ClerkAskNin);
    let answer = talk
        .send(Channel::Telegram, CLERK, &format!("{nin} {birth}"))
        .await;
    talk.send(Channel::Telegram, CLERK, "/cancel").await;
    answer
}

fn said(handled: &Handled) -> (MessageId, String) {
    (handled.replies[0].message, handled.replies[0].text.clone())
}

#[tokio::test]
async fn a_clerk_sees_the_place_only_of_a_voter_of_their_own_commune() {
    let (_db, talk) = setup(ConversationSettings::default()).await;
    let own = check(&talk, NIN_MIXED, BIRTH_MIXED).await;
    assert_eq!(own.replies[0].message, MessageId::LookupFound);
    let other = check(&talk, ORAN_NIN, ORAN_BIRTH).await;
    assert_eq!(
        other.replies[0].message,
        MessageId::ClerkAskName,
        "an Oran voter is not shown to an Alger Centre clerk: {other:?}"
    );
    assert!(!other.replies[0].text.contains("باستور"));
    assert!(!other.replies[0].text.contains("Pasteur"));
}

#[tokio::test]
async fn a_wrong_birth_date_and_an_unknown_nin_read_the_same_and_count_as_failures() {
    let settings = ConversationSettings::default();
    let lock = settings.max_failures_per_nin_per_day;
    let (_db, talk) = setup(settings).await;
    let wrong_date = said(&check(&talk, NIN_MIXED, "16/03/1990").await);
    let unknown = said(&check(&talk, NIN_UNKNOWN, BIRTH_MIXED).await);
    assert_eq!(wrong_date, unknown);
    assert_eq!(wrong_date.0, MessageId::ClerkAskName);
    // Failures count against the NIN like a voter's: once locked, even the right date
    // shows nothing.
    for _ in 1..lock {
        check(&talk, NIN_MIXED, "16/03/1990").await;
    }
    let locked = check(&talk, NIN_MIXED, BIRTH_MIXED).await;
    assert_eq!(locked.replies[0].message, MessageId::ClerkAskName);
    // And the voter's own lookups are locked as well.
    let voter = talk
        .sms("+213550300001", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert_eq!(voter.replies[0].message, MessageId::RateLimitedNin);
}

#[tokio::test]
async fn a_nin_locked_by_voter_lookups_is_not_checked_for_a_clerk() {
    let (_db, talk) = setup(ConversationSettings::default()).await;
    for i in 0..5 {
        talk.sms(
            &format!("+21355031000{i}"),
            &format!("{NIN_MIXED} 0{}/01/1990", i + 1),
        )
        .await;
    }
    let locked = check(&talk, NIN_MIXED, BIRTH_MIXED).await;
    assert_eq!(locked.replies[0].message, MessageId::ClerkAskName);
}

#[tokio::test]
async fn a_clerk_has_a_budget_of_checks_per_hour_then_files_without_checking() {
    let (_db, mut talk) = setup(ConversationSettings {
        max_clerk_checks_per_hour: 3,
        ..ConversationSettings::default()
    })
    .await;
    for _ in 0..3 {
        let found = check(&talk, NIN_MIXED, BIRTH_MIXED).await;
        assert_eq!(found.replies[0].message, MessageId::LookupFound);
    }
    let spent = check(&talk, NIN_MIXED, BIRTH_MIXED).await;
    assert_eq!(spent.replies[0].message, MessageId::ClerkAskName);
    // The report itself can still be filed.
    talk.send(Channel::Telegram, CLERK, "/report").await;
    talk.send(
        Channel::Telegram,
        CLERK,
        &format!("{NIN_MIXED} {BIRTH_MIXED}"),
    )
    .await;
    talk.send(Channel::Telegram, CLERK, "Benali Amina").await;
    let confirm = talk.send(Channel::Telegram, CLERK, "0").await;
    assert_eq!(confirm.replies[0].message, MessageId::ClerkConfirm);
    // The next hour brings a new budget.
    talk.now += 3600;
    talk.send(Channel::Telegram, CLERK, "/cancel").await;
    let found = check(&talk, NIN_MIXED, BIRTH_MIXED).await;
    assert_eq!(found.replies[0].message, MessageId::LookupFound);
}
