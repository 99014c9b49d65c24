//! Citizens missing from the roll: the citizen's own report dialogue on both channels and in
//! both languages, clerks enrolling and filing in the field, one report per NIN, the follow-up
//! notice once an approved roll holds the citizen, and the officers' API with its scopes and
//! CSV export.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use maktab::config::Config;
use maktab::conversation::{ButtonAction, ConversationSettings, Verification};
use maktab::domain::{Channel, CommuneCode, Role};
use maktab::i18n::MessageId;
use maktab::office::Principal;
use maktab::store::{AuditQuery, ReportQuery, ReportSourceKind, ReportStatus, Store};

/// Communes with a shared name (two "Sidi Ali") and accented ones, each with a station.
const REPORT_MAP_CSV: &str = "\
commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,latitude,longitude,station,kind
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة الأمير عبد القادر,Ecole Emir Abdelkader,12 شارع الاستقلال,12 Rue de l'Indépendance,36.7762,3.0585,1,mixed
1608,عين البنيان,Aïn Benian,C01,متوسطة العربي بن مهيدي,CEM Larbi Ben M'hidi,5 شارع أول نوفمبر,5 Boulevard du 1er Novembre,,,1,mixed
2701,سيدي علي,Sidi Ali,C01,مدرسة زيغود يوسف,Ecole Zighoud Youcef,حي 5 جويلية,Cité du 5 Juillet,,,1,mixed
1002,سيدي علي,Sidi Ali,C01,ثانوية حسيبة بن بوعلي,Lycée Hassiba Ben Bouali,شارع محمد خميستي,Rue Mohamed Khemisti,,,1,mixed
";

const REPORT_ROLL_CSV: &str = "\
nin,birth_date,sex,commune_code,centre_code,station
109870123456789012,1990-03-15,M,1601,C01,1
209870123456789099,1970-01-20,,1608,C01,1
";

/// Reported citizens (on no roll yet).
const MISSING_A: &str = "300000000000000001";
const MISSING_B: &str = "300000000000000002";
const MISSING_C: &str = "300000000000000003";

async fn report_db() -> TestDb {
    let db = TestDb::empty().await;
    db.import_map(REPORT_MAP_CSV).await.unwrap();
    db.import_roll(REPORT_ROLL_CSV).await.unwrap();
    db
}

fn message(handled: &maktab::conversation::Handled) -> MessageId {
    assert_eq!(handled.replies.len(), 1, "{handled:?}");
    handled.replies[0].message
}

async fn all_reports(store: &dyn Store) -> Vec<maktab::store::Report> {
    store
        .reports(&ReportQuery {
            limit: 100,
            ..ReportQuery::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_citizen_reports_themselves_by_sms_in_french_after_a_lookup_that_found_nothing() {
    let db = report_db().await;
    let talk = db.talk();
    let phone = "+213550000001";
    let not_found = talk
        .sms(phone, &format!("{MISSING_A} né le 02/04/1995"))
        .await;
    assert_eq!(message(&not_found), MessageId::LookupNotFound);
    assert!(
        not_found.replies[0].text.contains("SIGNALER"),
        "{not_found:?}"
    );
    assert!(
        not_found.replies[0].buttons.is_empty(),
        "SMS has no buttons"
    );

    // The birth date of the lookup is kept: the next question is the commune.
    assert_eq!(
        message(&talk.sms(phone, "Signaler").await),
        MessageId::ReportAskCommune
    );
    assert_eq!(
        message(&talk.sms(phone, "Plutôt ailleurs").await),
        MessageId::ReportCommuneUnknown
    );
    // Two communes of the country bear the name: the map's (in Alger) and one in Aïn Defla.
    let choose = talk.sms(phone, "ain-benian").await;
    assert_eq!(message(&choose), MessageId::ReportChooseCommune);
    assert!(
        choose.replies[0].text.contains("1. Aïn Benian (Alger)"),
        "{}",
        choose.replies[0].text
    );
    assert_eq!(
        message(&talk.sms(phone, "1").await),
        MessageId::ReportAskName
    );
    assert_eq!(
        message(&talk.sms(phone, "Amina").await),
        MessageId::ReportNameInvalid,
        "one word is not a full name"
    );
    let confirm = talk.sms(phone, "Benali Amina").await;
    assert_eq!(message(&confirm), MessageId::ReportConfirm);
    let text = &confirm.replies[0].text;
    assert!(
        text.contains("Aïn Benian (Alger)") && text.contains("02/04/1995"),
        "{text}"
    );
    assert!(
        !text.contains("Benali"),
        "a reply never shows a name: {text}"
    );
    assert!(
        text.contains("révision"),
        "says why the data is kept: {text}"
    );
    assert!(
        all_reports(db.store.as_ref()).await.is_empty(),
        "nothing is stored before OUI"
    );

    assert_eq!(
        message(&talk.sms(phone, "oui").await),
        MessageId::ReportFiled
    );
    let reports = all_reports(db.store.as_ref()).await;
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.nin.as_str(), MISSING_A);
    assert_eq!(report.birth_date.to_string(), "02/04/1995");
    assert_eq!(report.commune.as_str(), "1608");
    assert_eq!(report.full_name, "Benali Amina");
    assert_eq!(report.status, ReportStatus::Open);
    assert_eq!(report.sources.len(), 1);
    assert_eq!(report.sources[0].kind, ReportSourceKind::Citizen);
    assert_eq!(report.sources[0].channel.as_deref(), Some("sms"));

    // The dialogue is over: OUI again is just not understood.
    assert_eq!(message(&talk.sms(phone, "oui").await), MessageId::Hint);
}

#[tokio::test]
async fn a_citizen_reports_themselves_on_telegram_in_arabic_choosing_among_communes_of_one_name() {
    let db = report_db().await;
    // Verifying the year only, the lookup has no full date: the report asks for it.
    let talk = db.talk_with(ConversationSettings {
        verification: Verification::BirthYear,
        ..ConversationSettings::default()
    });
    let chat = "777001";
    let not_found = talk
        .send(
            Channel::Telegram,
            chat,
            &format!("رقمي {MISSING_B} سنة 1988"),
        )
        .await;
    assert_eq!(message(&not_found), MessageId::LookupNotFound);
    assert!(not_found.replies[0].text.contains("تبليغ"));
    assert_eq!(
        not_found.replies[0].buttons.last().map(|b| &b.action),
        Some(&ButtonAction::Report),
        "{not_found:?}"
    );

    // The button sends `/signaler`.
    let ask_date = talk.send(Channel::Telegram, chat, "/signaler").await;
    assert_eq!(message(&ask_date), MessageId::ReportAskBirthDate);
    assert_eq!(ask_date.replies[0].locale, maktab::domain::Locale::Ar);
    assert_eq!(
        message(&talk.send(Channel::Telegram, chat, "31/02/1988").await),
        MessageId::DateInvalid
    );
    assert_eq!(
        message(&talk.send(Channel::Telegram, chat, "١٢/٠٥/١٩٨٨").await),
        MessageId::ReportAskCommune
    );
    let choose = talk.send(Channel::Telegram, chat, "سيدي علي").await;
    assert_eq!(message(&choose), MessageId::ReportChooseCommune);
    let text = &choose.replies[0].text;
    assert!(
        text.contains("1. سيدي علي (1002)") && text.contains("2. سيدي علي (مستغانم)"),
        "{text}"
    );
    assert_eq!(
        message(&talk.send(Channel::Telegram, chat, "٢").await),
        MessageId::ReportAskName
    );
    let confirm = talk.send(Channel::Telegram, chat, "أمينة بن علي").await;
    assert_eq!(message(&confirm), MessageId::ReportConfirm);
    assert!(confirm.replies[0].text.contains("سيدي علي (مستغانم)"));
    assert!(confirm.replies[0].text.contains("12/05/1988"));
    assert_eq!(
        message(&talk.send(Channel::Telegram, chat, "نعم").await),
        MessageId::ReportFiled
    );
    let reports = all_reports(db.store.as_ref()).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].commune.as_str(), "2701");
    assert_eq!(reports[0].full_name, "أمينة بن علي");
    assert_eq!(reports[0].sources[0].channel.as_deref(), Some("telegram"));
}

#[tokio::test]
async fn the_report_dialogue_runs_in_arabic_by_sms_and_in_french_on_telegram() {
    let db = report_db().await;
    let talk = db.talk();
    let runs = [
        (
            Channel::Sms,
            "+213550000060",
            [
                format!("رقمي {MISSING_A} وتاريخ ميلادي 02/04/1995"),
                "تبليغ".to_owned(),
                "بلدية لا توجد".to_owned(),
                "عين بنيان".to_owned(),
                "١".to_owned(),
                "أمينة 1995".to_owned(),
                "أمينة بن علي".to_owned(),
                "نعم".to_owned(),
            ],
            "سجلنا بلاغك",
        ),
        (
            Channel::Telegram,
            "8001",
            [
                format!("NIN {MISSING_B} né le 03/03/1993"),
                "signaler".to_owned(),
                "Nulle Part".to_owned(),
                "Aïn Bénian".to_owned(),
                "1".to_owned(),
                "Karim 1993".to_owned(),
                "Haddad Karim".to_owned(),
                "oui".to_owned(),
            ],
            "Signalement enregistré",
        ),
    ];
    let expected = [
        MessageId::LookupNotFound,
        MessageId::ReportAskCommune,
        MessageId::ReportCommuneUnknown,
        MessageId::ReportChooseCommune,
        MessageId::ReportAskName,
        MessageId::ReportNameInvalid,
        MessageId::ReportConfirm,
        MessageId::ReportFiled,
    ];
    for (channel, sender, steps, filed) in runs {
        let mut last = String::new();
        for (step, expected) in steps.iter().zip(expected) {
            let handled = talk.send(channel, sender, step).await;
            assert_eq!(message(&handled), expected, "{channel} {step}");
            last = handled.replies[0].text.clone();
        }
        assert!(last.starts_with(filed), "{last}");
    }
    let reports = all_reports(db.store.as_ref()).await;
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r.commune.as_str() == "1608"));
}

#[tokio::test]
async fn a_wrong_birth_date_offers_the_same_report_as_an_unknown_nin() {
    let db = report_db().await;
    let talk = db.talk();
    let unknown = talk
        .sms("+213550000010", &format!("{MISSING_A} 01/01/1990"))
        .await;
    let wrong_date = talk
        .sms("+213550000011", &format!("{NIN_MIXED} 01/01/1990"))
        .await;
    assert_eq!(unknown.replies[0].text, wrong_date.replies[0].text);
    assert_eq!(
        message(&talk.sms("+213550000011", "signalement").await),
        MessageId::ReportAskCommune
    );
}

#[tokio::test]
async fn cancelling_abandoning_and_coming_back_later() {
    let db = report_db().await;
    let mut talk = db.talk();
    let phone = "+213550000002";
    // SIGNALER with no lookup before it explains what to do.
    assert_eq!(
        message(&talk.sms(phone, "تبليغ").await),
        MessageId::ReportNeedsLookup
    );

    // Cancelled midway: nothing kept.
    talk.sms(phone, &format!("{MISSING_A} 02/04/1995")).await;
    talk.sms(phone, "SIGNALER").await;
    assert_eq!(
        message(&talk.sms(phone, "annuler").await),
        MessageId::ReportCancelled
    );
    assert_eq!(
        message(&talk.sms(phone, "Alger Centre").await),
        MessageId::Hint
    );

    // Coming back within the dialogue's lifetime continues where the citizen left.
    talk.sms(phone, &format!("{MISSING_A} 02/04/1995")).await;
    talk.sms(phone, "SIGNALER").await;
    talk.sms(phone, "alger centre").await;
    talk.now += 10 * 60;
    assert_eq!(
        message(&talk.sms(phone, "Benali Amina").await),
        MessageId::ReportConfirm
    );

    // Abandoned past it: the draft is gone, and so is its personal data once upkeep runs.
    talk.now += 16 * 60;
    assert_eq!(message(&talk.sms(phone, "oui").await), MessageId::Hint);
    assert!(all_reports(db.store.as_ref()).await.is_empty());
    assert_eq!(
        db.store.forget_expired_dialogues(talk.now).await.unwrap(),
        1
    );
    assert_eq!(
        db.store.forget_expired_dialogues(talk.now).await.unwrap(),
        0
    );

    // Later the citizen starts again and files.
    talk.now += 24 * 3600;
    talk.sms(phone, &format!("{MISSING_A} 02/04/1995")).await;
    talk.sms(phone, "SIGNALER").await;
    talk.sms(phone, "1601").await;
    talk.sms(phone, "Benali Amina").await;
    assert_eq!(
        message(&talk.sms(phone, "OUI").await),
        MessageId::ReportFiled
    );
    assert_eq!(all_reports(db.store.as_ref()).await.len(), 1);

    // A full lookup in the middle of a report is answered as a lookup.
    talk.sms(phone, &format!("{MISSING_B} 03/03/1993")).await;
    talk.sms(phone, "SIGNALER").await;
    let lookup = talk.sms(phone, &format!("{NIN_MIXED} {BIRTH_MIXED}")).await;
    assert_eq!(message(&lookup), MessageId::LookupFound);
}

#[tokio::test]
async fn the_same_nin_reported_twice_is_one_report_with_both_sources() {
    let db = report_db().await;
    let talk = db.talk();
    for (channel, sender) in [(Channel::Sms, "+213550000003"), (Channel::Telegram, "9001")] {
        talk.send(channel, sender, &format!("{MISSING_C} 07/07/1977"))
            .await;
        talk.send(channel, sender, "signaler").await;
        talk.send(channel, sender, "Alger Centre").await;
        talk.send(channel, sender, "Haddad Karim").await;
        assert_eq!(
            message(&talk.send(channel, sender, "oui").await),
            MessageId::ReportFiled
        );
    }
    let reports = all_reports(db.store.as_ref()).await;
    assert_eq!(reports.len(), 1);
    let channels: Vec<_> = reports[0]
        .sources
        .iter()
        .map(|s| s.channel.clone().unwrap())
        .collect();
    assert_eq!(channels, ["sms", "telegram"]);
}

#[tokio::test]
async fn a_sender_files_at_most_three_reports_a_day() {
    let db = report_db().await;
    let talk = db.talk();
    let phone = "+213550000004";
    for (i, nin) in [
        "300000000000000011",
        "300000000000000012",
        "300000000000000013",
        "300000000000000014",
    ]
    .iter()
    .enumerate()
    {
        talk.sms(phone, &format!("{nin} 07/07/1977")).await;
        // The limit is told before the first question, not after the last answer.
        let first = talk.sms(phone, "signaler").await;
        if i == 3 {
            assert_eq!(message(&first), MessageId::ReportLimit);
            continue;
        }
        talk.sms(phone, "1601").await;
        talk.sms(phone, "Haddad Karim").await;
        assert_eq!(
            message(&talk.sms(phone, "oui").await),
            MessageId::ReportFiled
        );
    }
    assert_eq!(all_reports(db.store.as_ref()).await.len(), 3);
}

/// Invites a clerk from the command line and returns the code.
async fn invite(db: &TestDb, commune: &str) -> String {
    office(&db.store)
        .invite_clerk(
            &Principal::command_line(),
            &CommuneCode::parse(commune).unwrap(),
            Some(72),
        )
        .await
        .unwrap()
        .code
}

#[tokio::test]
async fn clerks_enrol_with_a_valid_code_only() {
    let db = report_db().await;
    let mut talk = db.talk();
    talk.now = maktab::domain::now();
    let code = invite(&db, "1601").await;
    let clerk_chat = "5001";

    assert_eq!(
        message(
            &talk
                .send(Channel::Telegram, clerk_chat, "/clerk ABCDE-FGHJK")
                .await
        ),
        MessageId::ClerkCodeRefused,
        "wrong code"
    );
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "/clerk").await),
        MessageId::ClerkCodeRefused,
        "no code"
    );
    assert_eq!(
        message(&talk.sms("+213550000005", &format!("/clerk {code}")).await),
        MessageId::ClerkTelegramOnly
    );
    let enrolled = talk
        .send(
            Channel::Telegram,
            clerk_chat,
            &format!("/clerk {}", code.to_lowercase()),
        )
        .await;
    assert_eq!(message(&enrolled), MessageId::ClerkEnrolled);
    assert!(
        enrolled.replies[0].text.contains("Alger Centre")
            || enrolled.replies[0].text.contains("الجزائر الوسطى")
    );
    assert_eq!(
        message(
            &talk
                .send(Channel::Telegram, "5002", &format!("/clerk {code}"))
                .await
        ),
        MessageId::ClerkCodeRefused,
        "a used code"
    );

    let expiring = invite(&db, "1601").await;
    talk.now += 73 * 3600;
    assert_eq!(
        message(
            &talk
                .send(Channel::Telegram, "5003", &format!("/clerk {expiring}"))
                .await
        ),
        MessageId::ClerkCodeRefused,
        "an expired code"
    );

    // Guessing is cut short: after five wrong codes even a valid one is refused for the hour.
    let valid = invite(&db, "1601").await;
    for _ in 0..5 {
        talk.send(Channel::Telegram, "5004", "/clerk ZZZZZ-ZZZZZ")
            .await;
    }
    assert_eq!(
        message(
            &talk
                .send(Channel::Telegram, "5004", &format!("/clerk {valid}"))
                .await
        ),
        MessageId::ClerkCodeRefused
    );

    let audit = db
        .store
        .audit_entries(&AuditQuery {
            action: Some("clerk".to_owned()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "clerk.invite").count(), 3);
    assert_eq!(actions.iter().filter(|a| **a == "clerk.enrol").count(), 1);
}

#[tokio::test]
async fn an_enrolled_clerk_files_reports_lists_them_and_cannot_once_revoked() {
    let db = report_db().await;
    let mut talk = db.talk();
    talk.now = maktab::domain::now();
    let clerk_chat = "6001";
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "/report").await),
        MessageId::ClerkNotEnrolled
    );
    // The clerk of the voter's own commune: only there does the roll check answer.
    let code = invite(&db, "1601").await;
    talk.send(Channel::Telegram, clerk_chat, &format!("/clerk {code}"))
        .await;

    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "/myreports").await),
        MessageId::ClerkReportsEmpty
    );
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "/report").await),
        MessageId::ClerkAskNin
    );
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "12345678").await),
        MessageId::NinWrongLength
    );
    // A citizen who is on the roll after all: the clerk gets the place, and no report is made.
    assert_eq!(
        message(
            &talk
                .send(
                    Channel::Telegram,
                    clerk_chat,
                    &format!("{NIN_MIXED} {BIRTH_MIXED}")
                )
                .await
        ),
        MessageId::LookupFound
    );
    assert!(all_reports(db.store.as_ref()).await.is_empty());
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "/report").await),
        MessageId::ClerkAskNin
    );
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, MISSING_A).await),
        MessageId::ClerkAskBirthDate
    );
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "02/04/1995").await),
        MessageId::ClerkAskName
    );
    assert_eq!(
        message(
            &talk
                .send(Channel::Telegram, clerk_chat, "Benali Amina")
                .await
        ),
        MessageId::ClerkAskPhone
    );
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "05 5O").await),
        MessageId::ClerkPhoneInvalid
    );
    let confirm = talk
        .send(Channel::Telegram, clerk_chat, "0550 00 00 01")
        .await;
    assert_eq!(message(&confirm), MessageId::ClerkConfirm);
    assert!(confirm.replies[0].text.contains("30**************01"));
    assert!(!confirm.replies[0].text.contains(MISSING_A));
    let filed = talk.send(Channel::Telegram, clerk_chat, "oui").await;
    assert_eq!(message(&filed), MessageId::ClerkReportFiled);

    let reports = all_reports(db.store.as_ref()).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].commune.as_str(), "1601", "the clerk's commune");
    assert_eq!(reports[0].sources[0].kind, ReportSourceKind::Clerk);
    assert!(filed.replies[0].text.contains(&reports[0].id.to_string()));

    let mine = talk.send(Channel::Telegram, clerk_chat, "/myreports").await;
    assert_eq!(message(&mine), MessageId::ClerkReportsHeader);
    assert!(
        mine.replies[0].text.contains("30**************01"),
        "{mine:?}"
    );
    assert!(!mine.replies[0].text.contains("Benali"));

    // Revoked in the middle of a report: the report is refused at OUI.
    talk.send(Channel::Telegram, clerk_chat, "/report").await;
    talk.send(
        Channel::Telegram,
        clerk_chat,
        &format!("{MISSING_B} 03/03/1993"),
    )
    .await;
    talk.send(Channel::Telegram, clerk_chat, "Haddad Karim")
        .await;
    talk.send(Channel::Telegram, clerk_chat, "0").await;
    let clerk = db.store.clerk_by_chat(clerk_chat).await.unwrap().unwrap();
    office(&db.store)
        .revoke_clerk(&Principal::command_line(), clerk.id)
        .await
        .unwrap();
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "oui").await),
        MessageId::ClerkNotEnrolled
    );
    assert_eq!(
        message(&talk.send(Channel::Telegram, clerk_chat, "/report").await),
        MessageId::ClerkNotEnrolled
    );
    assert_eq!(all_reports(db.store.as_ref()).await.len(), 1);
}

/// Files a citizen's own report by SMS.
async fn self_report(talk: &Talk, phone: &str, nin: &str, birth: &str, commune: &str) {
    talk.sms(phone, &format!("{nin} {birth}")).await;
    talk.sms(phone, "signaler").await;
    talk.sms(phone, commune).await;
    talk.sms(phone, "Benali Amina").await;
    assert_eq!(
        message(&talk.sms(phone, "oui").await),
        MessageId::ReportFiled
    );
}

async fn follow_up_scenario(db: TestDb) {
    db.import_map(REPORT_MAP_CSV).await.unwrap();
    db.import_roll(REPORT_ROLL_CSV).await.unwrap();
    let mut talk = db.talk();
    talk.now = maktab::domain::now();
    let phone = "+213550000020";
    self_report(&talk, phone, MISSING_A, "02/04/1995", "1608").await;
    // A clerk records the same citizen with the same phone: still one notice for it.
    let code = invite(&db, "1608").await;
    talk.send(Channel::Telegram, "6100", &format!("/clerk {code}"))
        .await;
    for text in [
        "/report",
        MISSING_A,
        "02/04/1995",
        "Benali Amina",
        "0550000020",
        "oui",
    ] {
        talk.send(Channel::Telegram, "6100", text).await;
    }
    // Another citizen reports on Telegram; a third with a birth date the roll will not match.
    for text in [
        &format!("{MISSING_B} 03/03/1993"),
        "signaler",
        "1601",
        "Haddad Karim",
        "oui",
    ] {
        talk.send(Channel::Telegram, "6200", text).await;
    }
    self_report(&talk, "+213550000021", MISSING_C, "07/07/1977", "1601").await;
    assert_eq!(all_reports(db.store.as_ref()).await.len(), 3);

    let roll = format!(
        "{REPORT_ROLL_CSV}{MISSING_A},1995-04-02,F,1608,C01,1\n{MISSING_B},1993-03-03,M,1601,C01,1\n{MISSING_C},1970-01-01,M,1601,C01,1\n"
    );
    db.import_roll(&roll).await.unwrap();
    let approved = db.approve_pending().await;
    assert_eq!(
        approved.len(),
        2,
        "one change set per commune the file changes"
    );
    let notices: u64 = approved.iter().map(|(_, n)| n).sum();
    assert_eq!(notices, 2, "one per reporter of a registered citizen");

    let reports = all_reports(db.store.as_ref()).await;
    let status = |nin: &str| {
        reports
            .iter()
            .find(|r| r.nin.as_str() == nin)
            .map(|r| (r.status, r.full_name.clone()))
            .unwrap()
    };
    assert_eq!(status(MISSING_A), (ReportStatus::Resolved, String::new()));
    assert_eq!(status(MISSING_B).0, ReportStatus::Resolved);
    assert_eq!(
        status(MISSING_C).0,
        ReportStatus::Open,
        "the roll's birth date differs: the office looks at it, nobody is told a place"
    );

    let later = talk.now + 3600;
    let sms = db
        .store
        .claim_notices(Channel::Sms, later, 60, 100)
        .await
        .unwrap();
    let telegram = db
        .store
        .claim_notices(Channel::Telegram, later, 60, 100)
        .await
        .unwrap();
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0].recipient, phone);
    assert!(approved.iter().any(|(c, _)| sms[0].campaign_id == Some(*c)));
    assert!(
        sms[0].body.contains("CEM Larbi Ben M'hidi"),
        "{}",
        sms[0].body
    );
    assert!(sms[0].body.contains("inscrit"));
    assert_eq!(telegram.len(), 1);
    assert_eq!(telegram[0].recipient, "6200");

    // A second approval tells nobody again.
    db.import_roll(&format!(
        "{roll}300000000000000099,1999-09-09,M,1601,C01,1\n"
    ))
    .await
    .unwrap();
    assert_eq!(db.approve_pending().await[0].1, 0);
}

#[tokio::test]
async fn an_approved_roll_with_a_reported_nin_resolves_it_and_tells_each_reporter_once() {
    follow_up_scenario(TestDb::empty().await).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn the_follow_up_works_the_same_on_postgresql() {
    let (db, _database) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    follow_up_scenario(db).await;
}

struct Officers {
    national: String,
    alger: String,
    ain_benian: String,
    supervisor: String,
}

async fn officers(db: &TestDb) -> Officers {
    let operator = Principal::command_line();
    let create = |name: &'static str, role, commune: Option<&str>| {
        let communes: Vec<CommuneCode> = commune
            .map(|c| vec![CommuneCode::parse(c).unwrap()])
            .unwrap_or_default();
        let operator = operator.clone();
        let store = Arc::clone(&db.store);
        async move {
            office(&store)
                .create_token(&operator, name, role, communes, None)
                .await
                .unwrap()
                .token
        }
    };
    Officers {
        national: create("national", Role::National, None).await,
        alger: create("Alger Centre office", Role::CommuneAdmin, Some("1601")).await,
        ain_benian: create("Ain Benian office", Role::CommuneAdmin, Some("1608")).await,
        supervisor: create("Alger clerks", Role::ClerkSupervisor, Some("1601")).await,
    }
}

#[tokio::test]
async fn officers_list_export_and_handle_only_their_communes_reports() {
    let db = report_db().await;
    let talk = db.talk();
    self_report(&talk, "+213550000030", MISSING_A, "02/04/1995", "1608").await;
    self_report(&talk, "+213550000031", MISSING_B, "03/03/1993", "1601").await;
    let tokens = officers(&db).await;
    let app = ServerApp::spawn(&db, &Config::default()).await;

    let listed = app.get("/api/v1/reports", Some(&tokens.alger)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let reports = listed.json()["reports"].as_array().unwrap().clone();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["commune"], "1601");
    assert_eq!(
        reports[0]["nin"], "30**************02",
        "masked in listings"
    );
    assert!(!listed.body.contains("Benali"), "no names in listings");
    let alger_report = reports[0]["id"].as_i64().unwrap();

    assert_eq!(
        app.get("/api/v1/reports?commune=1608", Some(&tokens.alger))
            .await
            .status,
        403
    );
    assert_eq!(
        app.get("/api/v1/reports/export?commune=1608", Some(&tokens.alger))
            .await
            .status,
        403
    );
    assert_eq!(
        app.get("/api/v1/reports?status=lost", Some(&tokens.alger))
            .await
            .status,
        400
    );
    assert_eq!(
        app.get("/api/v1/reports?from=yesterday", Some(&tokens.alger))
            .await
            .status,
        400
    );
    let ain_benian_report = app
        .get("/api/v1/reports", Some(&tokens.ain_benian))
        .await
        .json()["reports"][0]["id"]
        .as_i64()
        .unwrap();
    let handle = |ids: Vec<i64>| serde_json::json!({ "ids": ids });
    assert_eq!(
        app.post_json(
            "/api/v1/reports/handled",
            Some(&tokens.alger),
            &handle(vec![alger_report, ain_benian_report])
        )
        .await
        .status,
        403,
        "one report of another commune refuses the whole request"
    );
    let handled = app
        .post_json(
            "/api/v1/reports/handled",
            Some(&tokens.supervisor),
            &handle(vec![alger_report]),
        )
        .await;
    assert_eq!(handled.status, 200, "{}", handled.body);
    assert_eq!(handled.json()["handled"], 1);
    assert_eq!(
        db.store.report(alger_report).await.unwrap().unwrap().status,
        ReportStatus::Handled
    );
    assert_eq!(
        db.store
            .report(ain_benian_report)
            .await
            .unwrap()
            .unwrap()
            .status,
        ReportStatus::Open
    );

    // The export: every report of the national scope, with names, in a file spreadsheets read.
    let export = app
        .get("/api/v1/reports/export", Some(&tokens.national))
        .await;
    assert_eq!(export.status, 200);
    assert_eq!(
        export.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert!(export.body.starts_with('\u{feff}'), "UTF-8 byte order mark");
    let rows: Vec<csv::StringRecord> =
        csv::Reader::from_reader(export.body.trim_start_matches('\u{feff}').as_bytes())
            .records()
            .map(Result::unwrap)
            .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .any(|r| &r[1] == MISSING_A && &r[5] == "عين البنيان")
    );

    // Scope on stats: an office sees its commune only.
    let stats = app
        .get("/api/v1/stats/reports", Some(&tokens.alger))
        .await
        .json();
    let counts = stats["counts"].as_array().unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0]["commune"], "1601");
    assert_eq!(counts[0]["status"], "handled");
    assert_eq!(counts[0]["source"], "self");
    assert_eq!(
        app.get("/api/v1/stats/reports?commune=1608", Some(&tokens.alger))
            .await
            .status,
        403
    );

    // Exports and handling are audited with who did them.
    let audit = db
        .store
        .audit_entries(&AuditQuery {
            action: Some("reports".to_owned()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    // Actors are recorded as `name (token:N)`: compare the names.
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| {
            let name = e.actor.split(" (token:").next().unwrap_or_default();
            (e.action.as_str(), name)
        })
        .collect();
    assert!(
        actions.contains(&("reports.export", "national")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("reports.handle", "Alger clerks")),
        "{actions:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_csv_export_round_trips_arabic_names_commas_and_quotes() {
    let db = report_db().await;
    // Names as an office might have typed them: the dialogue only takes letters, but the
    // export must carry whatever a report holds.
    let names = [
        (MISSING_A, "بن علي، أمينة"),
        (MISSING_B, "O'Neil, \"Jean\"\nDupont"),
    ];
    for (nin, name) in names {
        db.store
            .file_report(
                &maktab::store::NewReport {
                    nin: maktab::domain::NationalId::parse(nin).unwrap(),
                    birth_date: maktab::domain::BirthDate::parse("02/04/1995").unwrap(),
                    commune: CommuneCode::parse("1601").unwrap(),
                    full_name: name.to_owned(),
                    source: ReportSourceKind::Citizen,
                    clerk_id: None,
                    follow_up: None,
                    locale: maktab::domain::Locale::Ar,
                },
                START,
            )
            .await
            .unwrap();
    }
    let export = office(&db.store)
        .export_reports(
            &Principal::command_line(),
            &maktab::office::reports::ReportFilter::default(),
        )
        .await
        .unwrap();
    let (csv_bytes, rows) = (export.csv, export.rows);
    assert_eq!(rows, 2);
    assert!(csv_bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        maktab::reports::export::COLUMNS
    );
    let mut exported: Vec<(String, String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_owned(), r[3].to_owned(), r[6].to_owned())
        })
        .collect();
    exported.sort();
    assert_eq!(
        exported,
        [
            (
                MISSING_A.to_owned(),
                "بن علي، أمينة".to_owned(),
                "Alger Centre".to_owned()
            ),
            (
                MISSING_B.to_owned(),
                "O'Neil, \"Jean\"\nDupont".to_owned(),
                "Alger Centre".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn clerks_are_invited_listed_and_revoked_over_the_api_within_scope() {
    let db = report_db().await;
    let tokens = officers(&db).await;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let invite = |commune: &str| serde_json::json!({ "commune": commune });
    let created = app
        .post_json("/api/v1/clerks", Some(&tokens.supervisor), &invite("1601"))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let code = created.json()["code"].as_str().unwrap().to_owned();
    let clerk_id = created.json()["clerk_id"].as_i64().unwrap();
    assert_eq!(
        app.post_json("/api/v1/clerks", Some(&tokens.supervisor), &invite("1608"))
            .await
            .status,
        403
    );
    assert_eq!(
        app.post_json(
            "/api/v1/clerks",
            Some(&tokens.alger),
            &serde_json::json!({ "commune": 5 })
        )
        .await
        .status,
        422,
        "JSON of the wrong shape is axum's 422, in the one error body"
    );
    let listed = app.get("/api/v1/clerks", Some(&tokens.alger)).await;
    assert_eq!(listed.json()["clerks"].as_array().unwrap().len(), 1);
    assert!(!listed.body.contains(&code), "the code is shown once only");
    assert_eq!(
        app.get("/api/v1/clerks", Some(&tokens.ain_benian))
            .await
            .json()["clerks"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/clerks/{clerk_id}/revoke"),
            Some(&tokens.ain_benian),
            b""
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/clerks/{clerk_id}/revoke"),
            Some(&tokens.alger),
            b""
        )
        .await
        .status,
        204
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/clerks/{clerk_id}/revoke"),
            Some(&tokens.alger),
            b""
        )
        .await
        .status,
        409
    );
    // A revoked invitation cannot be used.
    let talk = db.talk();
    assert_eq!(
        message(
            &talk
                .send(Channel::Telegram, "7001", &format!("/clerk {code}"))
                .await
        ),
        MessageId::ClerkCodeRefused
    );
    app.stop().await;
}

#[tokio::test]
async fn officers_broadcast_to_the_open_reporters_of_their_commune() {
    let db = report_db().await;
    let talk = db.talk();
    self_report(&talk, "+213550000050", MISSING_A, "02/04/1995", "1601").await;
    self_report(&talk, "+213550000051", MISSING_B, "03/03/1993", "1601").await;
    self_report(&talk, "+213550000052", MISSING_C, "07/07/1977", "1608").await;
    // One of them said STOP: no broadcast reaches them.
    talk.sms("+213550000051", "STOP").await;
    let audience = maktab::store::Audience {
        commune: CommuneCode::parse("1601").unwrap(),
        centre: None,
        station: None,
        reporters: true,
    };
    let draft = office(&db.store)
        .create_broadcast(
            &Principal::command_line(),
            &audience,
            "فتحت مراجعة القوائم الانتخابية",
            "La revision des listes est ouverte",
        )
        .await
        .unwrap();
    let (id, preview) = (draft.campaign, draft.preview);
    assert_eq!(preview.recipients.get("sms"), Some(&1));
    let written = office(&db.store)
        .confirm_broadcast(&Principal::command_line(), id)
        .await
        .unwrap();
    assert_eq!(written, 1);
    let sent = db
        .store
        .claim_notices(Channel::Sms, maktab::domain::now() + 60, 60, 10)
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].recipient, "+213550000050");
    assert_eq!(sent[0].body, "La revision des listes est ouverte");
}

#[tokio::test]
async fn the_csv_export_neutralises_formulas_from_the_sms_dialogue_and_the_map_import() {
    // Commune names a hostile map carries, through the real import.
    let map = REPORT_MAP_CSV.replace(
        "1608,عين البنيان,Aïn Benian,",
        "1608,@SUM(1+1),\"=HYPERLINK(\"\"http://e.dz\"\",\"\"A\"\")\",",
    );
    let db = TestDb::empty().await;
    db.import_map(&map).await.unwrap();
    db.import_roll(REPORT_ROLL_CSV).await.unwrap();
    // A reporter named with a leading minus, through the real SMS dialogue.
    let talk = db.talk();
    let phone = "+213550000009";
    talk.sms(phone, &format!("{MISSING_A} né le 02/04/1995"))
        .await;
    assert_eq!(
        message(&talk.sms(phone, "Signaler").await),
        MessageId::ReportAskCommune
    );
    assert_eq!(
        message(&talk.sms(phone, "1608").await),
        MessageId::ReportAskName
    );
    assert_eq!(
        message(&talk.sms(phone, "-Nadia Khelifi").await),
        MessageId::ReportConfirm
    );
    assert_eq!(
        message(&talk.sms(phone, "oui").await),
        MessageId::ReportFiled
    );
    let export = office(&db.store)
        .export_reports(
            &Principal::command_line(),
            &maktab::office::reports::ReportFilter::default(),
        )
        .await
        .unwrap();
    let (csv_bytes, rows) = (export.csv, export.rows);
    assert_eq!(rows, 1);
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    let record = reader.records().next().unwrap().unwrap();
    assert_eq!(&record[3], "'-Nadia Khelifi");
    assert_eq!(&record[5], "'@SUM(1+1)");
    assert_eq!(&record[6], "'=HYPERLINK(\"http://e.dz\",\"A\")");
    // Nothing else in the row starts a formula either.
    for cell in record.iter() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{cell:?} in {record:?}"
        );
    }
}
