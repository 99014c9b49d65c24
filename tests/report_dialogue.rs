//! The report dialogue against the whole country: any commune of `data/communes.csv` can be
//! named (by Arabic or French name, spelling variants or postal code), one outside the map is
//! accepted and its report waits for that commune, ambiguous names and shared postal codes
//! offer a numbered choice with the wilaya, the daily limit is told before the first
//! question, and every reply fits two SMS segments even with the longest commune names.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::*;
use maktab::conversation::Handled;
use maktab::domain::{Channel, Locale};
use maktab::i18n::MessageId;
use maktab::i18n::sms::count_segments;
use maktab::reports::communes::COMMUNES_CSV;
use maktab::store::{ReportQuery, Store};

fn message(handled: &Handled) -> MessageId {
    handled.replies[0].message
}

async fn all_reports(store: &dyn Store) -> Vec<maktab::store::Report> {
    store
        .reports(&ReportQuery {
            limit: 1000,
            ..ReportQuery::default()
        })
        .await
        .unwrap()
}

/// A lookup that finds nothing, then SIGNALER: the dialogue waits for the commune.
async fn to_commune(talk: &Talk, channel: Channel, sender: &str, run: usize, locale: Locale) {
    let nin = format!("4{run:017}");
    let lookup = match locale {
        Locale::Ar => format!("رقمي {nin} مولود في 02/04/1995"),
        Locale::Fr => format!("NIN {nin} né le 02/04/1995"),
    };
    let not_found = talk.send(channel, sender, &lookup).await;
    assert_eq!(message(&not_found), MessageId::LookupNotFound);
    let report = match locale {
        Locale::Ar => "تبليغ",
        Locale::Fr => "SIGNALER",
    };
    let ask = talk.send(channel, sender, report).await;
    assert_eq!(message(&ask), MessageId::ReportAskCommune);
    assert_eq!(ask.replies[0].locale, locale);
}

/// Asserts the reply fits two SMS segments.
fn fits(handled: &Handled) {
    for reply in &handled.replies {
        let count = count_segments(&reply.text);
        assert!(
            count.segments <= 2,
            "{} segments: {}",
            count.segments,
            reply.text
        );
    }
}

#[tokio::test]
async fn a_commune_outside_the_map_is_accepted_and_the_report_waits_for_it() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    for (run, (typed, locale)) in [
        ("El Khroub", Locale::Fr),
        ("الخروب", Locale::Ar),
        ("el-khroub", Locale::Fr),
        ("25005", Locale::Fr),
    ]
    .into_iter()
    .enumerate()
    {
        let phone = format!("+21355020000{run}");
        to_commune(&talk, Channel::Sms, &phone, run, locale).await;
        let asked = talk.sms(&phone, typed).await;
        assert_eq!(message(&asked), MessageId::ReportAskName, "{typed}");
        let confirm = talk.sms(&phone, "Haddad Karim").await;
        assert_eq!(message(&confirm), MessageId::ReportConfirm);
        let expected = match locale {
            Locale::Ar => "الخروب (قسنطينة)",
            Locale::Fr => "El Khroub (Constantine)",
        };
        assert!(
            confirm.replies[0].text.contains(expected),
            "{}",
            confirm.replies[0].text
        );
        let yes = if locale == Locale::Ar {
            "نعم"
        } else {
            "OUI"
        };
        assert_eq!(
            message(&talk.sms(&phone, yes).await),
            MessageId::ReportFiled
        );
    }
    let reports = all_reports(db.store.as_ref()).await;
    assert_eq!(reports.len(), 4);
    assert!(
        reports.iter().all(|r| r.commune.as_str() == "25005"),
        "queued under El Khroub's postal code"
    );
}

#[tokio::test]
async fn an_ambiguous_name_offers_the_candidates_with_their_wilaya_to_choose_by_number() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    // "Alger" is the wilaya, not a commune: offered, not silently taken as Alger Centre.
    let phone = "+213550210001";
    to_commune(&talk, Channel::Sms, phone, 10, Locale::Fr).await;
    let choose = talk.sms(phone, "Alger").await;
    assert_eq!(message(&choose), MessageId::ReportChooseCommune);
    assert!(
        choose.replies[0].text.contains("1. Alger Centre (Alger)"),
        "{}",
        choose.replies[0].text
    );
    assert_eq!(
        message(&talk.sms(phone, "1").await),
        MessageId::ReportAskName
    );
    talk.sms(phone, "Haddad Karim").await;
    talk.sms(phone, "oui").await;

    // Two communes called Souk El Had, in Boumerdès and Relizane.
    let phone = "+213550210002";
    to_commune(&talk, Channel::Sms, phone, 11, Locale::Ar).await;
    let choose = talk.sms(phone, "سوق الحد").await;
    assert_eq!(message(&choose), MessageId::ReportChooseCommune);
    let text = &choose.replies[0].text;
    assert!(
        text.contains("1. سوق الحد (بومرداس)") && text.contains("2. سوق الحد (غليزان)"),
        "{text}"
    );
    fits(&choose);
    assert_eq!(
        message(&talk.sms(phone, "٥").await),
        MessageId::ReportChooseCommune,
        "a number that is not offered asks again"
    );
    assert_eq!(
        message(&talk.sms(phone, "٢").await),
        MessageId::ReportAskName
    );
    talk.sms(phone, "أمينة بن علي").await;
    talk.sms(phone, "نعم").await;

    let reports = all_reports(db.store.as_ref()).await;
    let communes: Vec<&str> = reports.iter().map(|r| r.commune.as_str()).collect();
    assert!(communes.contains(&"1601"), "{communes:?}");
    assert_eq!(reports.len(), 2);
    assert!(
        communes.iter().any(|c| c.starts_with("48")),
        "Souk El Had of Relizane (48): {communes:?}"
    );
}

#[tokio::test]
async fn a_postal_code_names_its_commune_or_offers_the_communes_sharing_it() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    // The map's Alger Centre (code 1601) is found by its postal code.
    let phone = "+213550220001";
    to_commune(&talk, Channel::Sms, phone, 20, Locale::Fr).await;
    assert_eq!(
        message(&talk.sms(phone, "16000").await),
        MessageId::ReportAskName
    );
    let confirm = talk.sms(phone, "Haddad Karim").await;
    assert!(confirm.replies[0].text.contains("Alger Centre (Alger)"));
    talk.sms(phone, "oui").await;
    assert_eq!(
        all_reports(db.store.as_ref()).await[0].commune.as_str(),
        "1601"
    );
    // A postal code shared by three communes of Chlef.
    let phone = "+213550220002";
    to_commune(&talk, Channel::Sms, phone, 21, Locale::Fr).await;
    let choose = talk.sms(phone, "٠٢٠١٥").await;
    assert_eq!(message(&choose), MessageId::ReportChooseCommune);
    assert_eq!(choose.replies[0].text.lines().count(), 4, "{choose:?}");
    assert!(choose.replies[0].text.contains("(Chlef)"));
    // An unknown code: the reply says name or postal code.
    let phone = "+213550220003";
    to_commune(&talk, Channel::Sms, phone, 22, Locale::Fr).await;
    let unknown = talk.sms(phone, "99999").await;
    assert_eq!(message(&unknown), MessageId::ReportCommuneUnknown);
    assert!(unknown.replies[0].text.contains("nom de la commune"));
    assert!(unknown.replies[0].text.contains("code postal"));
}

#[tokio::test]
async fn the_daily_limit_is_told_before_the_first_question_on_every_channel() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    for (channel, sender, wording) in [
        (Channel::Sms, "+213550230001", "depuis ce numéro"),
        (Channel::Telegram, "7001", "depuis ce compte"),
    ] {
        for run in 0..3 {
            to_commune(&talk, channel, sender, 30 + run, Locale::Fr).await;
            talk.send(channel, sender, "25005").await;
            talk.send(channel, sender, "Haddad Karim").await;
            let filed = talk.send(channel, sender, "oui").await;
            assert_eq!(message(&filed), MessageId::ReportFiled);
        }
        let nin = format!("4{:017}", 40);
        talk.send(channel, sender, &format!("NIN {nin} né le 02/04/1995"))
            .await;
        let refused = talk.send(channel, sender, "SIGNALER").await;
        assert_eq!(message(&refused), MessageId::ReportLimit);
        assert!(
            refused.replies[0].text.contains(wording),
            "{}",
            refused.replies[0].text
        );
        // Nothing was started: the next message is not read as a commune.
        assert_eq!(
            message(&talk.send(channel, sender, "25005").await),
            MessageId::Hint
        );
    }
}

/// A commune of the shipped list: postal code, Arabic and French "name (wilaya)".
type Listed = (String, String, String);

/// Every commune, and how many communes each postal code names, from the shipped list.
fn national() -> (Vec<Listed>, HashMap<String, usize>) {
    let mut communes = Vec::new();
    let mut postal: HashMap<String, usize> = HashMap::new();
    for row in csv::Reader::from_reader(COMMUNES_CSV.as_bytes()).records() {
        let row = row.unwrap();
        let code = row[7].to_owned();
        if !code.is_empty() {
            *postal.entry(code.clone()).or_default() += 1;
        }
        let label_ar = format!("{} ({})", &row[5], &row[1]);
        let label_fr = format!("{} ({})", &row[6], &row[2]);
        communes.push((code, label_ar, label_fr));
    }
    (communes, postal)
}

#[tokio::test]
async fn the_longest_commune_names_and_every_shared_postal_code_fit_two_segments() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let (communes, postal) = national();
    let mut run = 100;
    for locale in [Locale::Ar, Locale::Fr] {
        // The confirmation with the longest names that a postal code names alone.
        let mut longest: Vec<&Listed> = communes
            .iter()
            .filter(|(code, _, _)| postal.get(code) == Some(&1))
            .collect();
        longest.sort_by_key(|(_, ar, fr)| {
            std::cmp::Reverse(match locale {
                Locale::Ar => ar.chars().count(),
                Locale::Fr => fr.chars().count(),
            })
        });
        for (code, _, _) in longest.into_iter().take(5) {
            run += 1;
            let phone = format!("+21355024{run:04}");
            to_commune(&talk, Channel::Sms, &phone, run, locale).await;
            let asked = talk.sms(&phone, code).await;
            assert_eq!(message(&asked), MessageId::ReportAskName, "{code}");
            fits(&asked);
            let name = if locale == Locale::Ar {
                "أمينة بنت عبد الرحمن بن علي"
            } else {
                "Benali-Khelifa Amina Nour El Houda"
            };
            let confirm = talk.sms(&phone, name).await;
            assert_eq!(message(&confirm), MessageId::ReportConfirm, "{code}");
            fits(&confirm);
        }
        // Every postal code shared by several communes offers at least two, within budget.
        for (code, count) in postal.iter().filter(|(_, count)| **count > 1) {
            run += 1;
            let phone = format!("+21355025{run:04}");
            to_commune(&talk, Channel::Sms, &phone, run, locale).await;
            let choose = talk.sms(&phone, code).await;
            assert_eq!(message(&choose), MessageId::ReportChooseCommune, "{code}");
            fits(&choose);
            let lines = choose.replies[0].text.lines().count() - 1;
            assert!(lines >= 2.min(*count), "{code}: {}", choose.replies[0].text);
        }
    }
}
