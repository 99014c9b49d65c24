//! The language is the sender's until they choose another: keywords, slash commands, proper
//! names and commune names never switch it, running text and an explicit choice do, and
//! Telegram's client language counts only for a sender the service knows nothing about. By
//! SMS and by Telegram, through the real conversation core and a real SQLite store.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use maktab::conversation::{Handled, Inbound, LookupOutcome};
use maktab::domain::{Channel, Locale};
use maktab::i18n::MessageId;

/// Sends one Telegram message with the client's language as the channel gives it.
async fn telegram(talk: &Talk, chat: &str, client: &str, text: &str) -> Handled {
    let inbound = Inbound {
        channel: Channel::Telegram,
        sender: chat.to_owned(),
        text: text.to_owned(),
    };
    let hint = client.parse().ok();
    talk.conversation
        .handle_hinted_at(&inbound, hint, talk.now)
        .await
}

fn said(handled: &Handled) -> (MessageId, Locale) {
    (handled.replies[0].message, handled.replies[0].locale)
}

#[tokio::test]
async fn by_sms_an_arabic_voter_stays_arabic_through_keywords_and_digits() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let phone = "+213550000101";
    let first = talk
        .sms(phone, &format!("رقمي {NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert_eq!(said(&first), (MessageId::LookupFound, Locale::Ar));
    for (text, message) in [
        ("STOP", MessageId::NoticesStopped),
        ("START", MessageId::NoticesStarted),
        ("HELP", MessageId::Help),
        ("AIDE", MessageId::Help),
        ("OK", MessageId::Hint),
        ("ARRET svp", MessageId::NoticesStopped),
        ("Oran", MessageId::Hint),
        ("NIN", MessageId::Hint),
    ] {
        assert_eq!(
            said(&talk.sms(phone, text).await),
            (message, Locale::Ar),
            "{text}"
        );
    }
    let digits = talk.sms(phone, &format!("{NIN_MIXED} {BIRTH_MIXED}")).await;
    assert_eq!(said(&digits), (MessageId::LookupFound, Locale::Ar));
}

#[tokio::test]
async fn by_sms_running_text_switches_the_language_and_an_explicit_choice_holds() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let phone = "+213550000102";
    let french = talk
        .sms(phone, &format!("Bonjour, mon NIN est {NIN_MIXED}"))
        .await;
    assert_eq!(said(&french), (MessageId::AskBirthDate, Locale::Fr));
    assert_eq!(
        said(&talk.sms(phone, "توقف").await),
        (MessageId::NoticesStopped, Locale::Fr),
        "an Arabic keyword does not switch a French sender"
    );
    assert_eq!(
        said(&talk.sms(phone, "أين أصوت").await),
        (MessageId::Hint, Locale::Ar),
        "Arabic running text does"
    );
    assert_eq!(
        said(&talk.sms(phone, "FR").await),
        (MessageId::LanguageSet, Locale::Fr)
    );
    assert_eq!(
        said(&talk.sms(phone, "أين أصوت من فضلك").await),
        (MessageId::Hint, Locale::Fr),
        "the explicit choice wins over running text"
    );
}

#[tokio::test]
async fn by_sms_an_arabic_reporter_typing_a_latin_commune_and_name_is_asked_in_arabic() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let phone = "+213550000103";
    let not_found = talk
        .sms(phone, &format!("رقمي {NIN_UNKNOWN} مولود في 02/04/1995"))
        .await;
    assert_eq!(said(&not_found), (MessageId::LookupNotFound, Locale::Ar));
    assert_eq!(
        said(&talk.sms(phone, "تبليغ").await),
        (MessageId::ReportAskCommune, Locale::Ar)
    );
    assert_eq!(
        said(&talk.sms(phone, "Oran").await),
        (MessageId::ReportAskName, Locale::Ar)
    );
    let confirm = talk.sms(phone, "Benali Amina").await;
    assert_eq!(said(&confirm), (MessageId::ReportConfirm, Locale::Ar));
    assert!(
        confirm.replies[0].text.contains("وهران"),
        "{}",
        confirm.replies[0].text
    );
    assert_eq!(
        said(&talk.sms(phone, "OUI").await),
        (MessageId::ReportFiled, Locale::Ar)
    );
    assert_eq!(
        said(&talk.sms(phone, NIN_MIXED).await),
        (MessageId::AskBirthDate, Locale::Ar)
    );
}

#[tokio::test]
async fn on_telegram_the_client_language_counts_only_for_a_chat_the_service_does_not_know() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    // Unknown chats: the client's language, also over a keyword spelled alike in both.
    assert_eq!(
        said(&telegram(&talk, "9001", "fr", NIN_MIXED).await),
        (MessageId::AskBirthDate, Locale::Fr)
    );
    assert_eq!(
        said(&telegram(&talk, "9002", "ar", "STOP").await),
        (MessageId::NoticesStopped, Locale::Ar)
    );
    // A chat that writes French on an Arabic client stays French through commands and digits.
    let chat = "9003";
    let french = telegram(
        &talk,
        chat,
        "ar",
        &format!("mon NIN est {NIN_MIXED} né le {BIRTH_MIXED}"),
    )
    .await;
    assert_eq!(said(&french), (MessageId::LookupFound, Locale::Fr));
    assert_eq!(french.outcome, Some(LookupOutcome::Found));
    for (text, message) in [
        ("/stop", MessageId::NoticesStopped),
        ("/help", MessageId::Help),
        ("STOP", MessageId::NoticesStopped),
        ("نعم", MessageId::Hint),
    ] {
        assert_eq!(
            said(&telegram(&talk, chat, "ar", text).await),
            (message, Locale::Fr),
            "{text}"
        );
    }
    assert_eq!(
        said(&telegram(&talk, chat, "ar", NIN_WOMEN).await),
        (MessageId::AskBirthDate, Locale::Fr)
    );
    // And an Arabic writer on a French client stays Arabic.
    let chat = "9004";
    telegram(&talk, chat, "fr", &format!("رقمي {NIN_MIXED}")).await;
    assert_eq!(
        said(&telegram(&talk, chat, "fr", "/stop").await),
        (MessageId::NoticesStopped, Locale::Ar)
    );
    assert_eq!(
        said(&telegram(&talk, chat, "fr", BIRTH_MIXED).await),
        (MessageId::LookupFound, Locale::Ar)
    );
}

#[tokio::test]
async fn on_telegram_communes_and_names_in_a_report_do_not_switch_the_language() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let chat = "9005";
    let not_found = telegram(
        &talk,
        chat,
        "fr",
        &format!("رقمي {NIN_UNKNOWN} وتاريخ ميلادي 02/04/1995"),
    )
    .await;
    assert_eq!(said(&not_found), (MessageId::LookupNotFound, Locale::Ar));
    assert_eq!(
        said(&telegram(&talk, chat, "fr", "/signaler").await),
        (MessageId::ReportAskCommune, Locale::Ar)
    );
    assert_eq!(
        said(&telegram(&talk, chat, "fr", "El Khroub").await),
        (MessageId::ReportAskName, Locale::Ar)
    );
    assert_eq!(
        said(&telegram(&talk, chat, "fr", "Karim Haddad").await),
        (MessageId::ReportConfirm, Locale::Ar)
    );
}
