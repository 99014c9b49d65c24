//! The voter conversation end to end over the real SQLite store: how people type their numbers,
//! the language they are answered in, the stored dialogue, verification and the abuse limits.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use maktab::conversation::{ConversationSettings, Inbound, LookupOutcome, Verification};
use maktab::domain::{Channel, Locale};
use maktab::i18n::MessageId;

fn to_arabic_indic(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x0660 + d).unwrap(),
            None => c,
        })
        .collect()
}

fn to_persian(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x06F0 + d).unwrap(),
            None => c,
        })
        .collect()
}

#[tokio::test]
async fn a_nin_and_birth_date_in_any_digit_script_and_separator_find_the_station() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let typed = [
        format!("{NIN_MIXED} {BIRTH_MIXED}"),
        format!(
            "{} {}",
            to_arabic_indic(NIN_MIXED),
            to_arabic_indic(BIRTH_MIXED)
        ),
        format!("{} {}", to_persian(NIN_MIXED), to_persian("15-03-1990")),
        "109870 123456 789012 15.03.1990".to_owned(),
        "109870-123456-789012 15031990".to_owned(),
        "109.870.123.456.789.012 1990-03-15".to_owned(),
        "109870/123456/789012 15/3/1990".to_owned(),
        format!(
            "{}{} {}",
            to_arabic_indic("109870123"),
            "456789012",
            to_persian("15/03/1990")
        ),
    ];
    for (i, text) in typed.iter().enumerate() {
        let handled = talk.sms(&format!("+2135500000{i:02}"), text).await;
        assert_eq!(handled.outcome, Some(LookupOutcome::Found), "{text}");
        let reply = &handled.replies[0];
        assert_eq!(reply.message, MessageId::LookupFound, "{text}");
        assert!(
            reply.text.contains("مدرسة الأمير عبد القادر"),
            "{text}: {}",
            reply.text
        );
        assert!(
            reply.text.contains("المكتب رقم 1"),
            "{text}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn words_around_the_numbers_in_arabic_and_french_are_understood() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let arabic = talk
        .text(
            "+213550000001",
            &format!("السلام عليكم، رقمي {NIN_MIXED} مولود في {BIRTH_MIXED} شكرا"),
        )
        .await;
    assert!(
        arabic.contains("مركزك: مدرسة الأمير عبد القادر") && arabic.contains("12 شارع الاستقلال"),
        "{arabic}"
    );
    let french = talk
        .text(
            "+213550000002",
            &format!("Bonjour, mon NIN est {NIN_MIXED}, né le {BIRTH_MIXED}. Merci"),
        )
        .await;
    assert!(
        french.contains("Centre : Ecole Emir Abdelkader"),
        "{french}"
    );
    assert!(
        french.contains("12 Rue de l'Indépendance") && french.contains("Bureau de vote 1"),
        "{french}"
    );
    let reversed = talk
        .text(
            "+213550000003",
            &format!("née le {BIRTH_WOMEN} NIN {NIN_WOMEN}"),
        )
        .await;
    assert!(reversed.contains("Bureau 2 (femmes)"), "{reversed}");
}

#[tokio::test]
async fn the_answer_names_the_women_station_and_carries_a_venue_when_coordinates_exist() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let women = talk
        .sms("+213550000001", &format!("{NIN_WOMEN} {BIRTH_WOMEN}"))
        .await;
    assert!(
        women.replies[0].text.contains("مكتب النساء رقم 2"),
        "{}",
        women.replies[0].text
    );
    let venue = women.replies[0].venue.clone().expect("venue");
    assert_eq!(venue.title, "مدرسة الأمير عبد القادر");
    assert!((venue.coordinates.latitude - 36.7762).abs() < 1e-9);
    let no_coordinates = talk
        .sms(
            "+213550000002",
            &format!("{NIN_NO_COORDS} {BIRTH_NO_COORDS}"),
        )
        .await;
    assert_eq!(no_coordinates.outcome, Some(LookupOutcome::Found));
    assert!(no_coordinates.replies[0].venue.is_none());
}

#[tokio::test]
async fn a_wrong_birth_date_is_indistinguishable_from_an_unknown_nin() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    for locale_text in [("", " "), ("mon NIN ", " né le ")] {
        let wrong_date = talk
            .sms(
                "+213550000001",
                &format!("{}{NIN_MIXED}{}16/03/1990", locale_text.0, locale_text.1),
            )
            .await;
        let unknown = talk
            .sms(
                "+213550000002",
                &format!("{}{NIN_UNKNOWN}{}16/03/1990", locale_text.0, locale_text.1),
            )
            .await;
        assert_eq!(wrong_date.replies, unknown.replies);
        assert_eq!(wrong_date.replies[0].message, MessageId::LookupNotFound);
        // Only the statistics can tell them apart.
        assert_eq!(wrong_date.outcome, Some(LookupOutcome::VerificationFailed));
        assert_eq!(unknown.outcome, Some(LookupOutcome::NotFound));
    }
}

#[tokio::test]
async fn a_nin_alone_gets_asked_for_the_birth_date_and_the_dialogue_survives_a_restart() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let first = talk
        .sms("+213550000001", &format!("رقمي {NIN_MIXED}"))
        .await;
    assert_eq!(first.replies[0].message, MessageId::AskBirthDate);
    assert_eq!(first.replies[0].locale, Locale::Ar);

    // A new process: a new connection to the same file and a new conversation core.
    let restarted = Talk::new(db.reopen().await, ConversationSettings::default());
    let second = restarted
        .sms("+213550000001", &to_arabic_indic(BIRTH_MIXED))
        .await;
    assert_eq!(second.outcome, Some(LookupOutcome::Found));
    assert_eq!(
        second.replies[0].locale,
        Locale::Ar,
        "digits only: the stored language"
    );

    // The dialogue is finished: a date alone now asks for the NIN first.
    let third = restarted.sms("+213550000001", BIRTH_MIXED).await;
    assert_eq!(third.replies[0].message, MessageId::NinFirst);
}

#[tokio::test]
async fn a_pending_dialogue_expires_after_fifteen_minutes() {
    let db = TestDb::with_roll().await;
    let mut talk = db.talk();
    talk.sms("+213550000001", NIN_MIXED).await;
    talk.now += 14 * 60;
    assert_eq!(
        talk.sms("+213550000001", "12/12/2000").await.replies[0].message,
        MessageId::LookupNotFound
    );
    talk.sms("+213550000001", NIN_MIXED).await;
    talk.now += 15 * 60 + 1;
    let late = talk.sms("+213550000001", BIRTH_MIXED).await;
    assert_eq!(late.replies[0].message, MessageId::NinFirst);
    assert_eq!(late.outcome, None);
}

#[tokio::test]
async fn a_bad_date_keeps_the_dialogue_and_explains_the_format() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    talk.sms("+213550000001", &format!("NIN {NIN_MIXED}")).await;
    let bad = talk.sms("+213550000001", "31/02/1990").await;
    assert_eq!(bad.replies[0].message, MessageId::DateInvalid);
    assert!(bad.replies[0].text.contains("15/03/1990"));
    assert_eq!(bad.replies[0].locale, Locale::Fr);
    let good = talk.sms("+213550000001", BIRTH_MIXED).await;
    assert_eq!(good.outcome, Some(LookupOutcome::Found));
}

#[tokio::test]
async fn a_nin_of_the_wrong_length_is_answered_with_its_digit_count() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let short = talk.text("+213550000001", "رقمي 10987012345678901").await;
    assert!(short.contains("17 رقما"), "{short}");
    let long = talk
        .text(
            "+213550000002",
            "mon NIN 1098701234567890123 né le 15/03/1990",
        )
        .await;
    assert!(long.contains("vous avez envoyé 19 chiffres"), "{long}");
}

#[tokio::test]
async fn the_reply_language_follows_the_script_and_an_explicit_choice_wins() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let sender = "+213550000001";
    assert_eq!(
        talk.sms(sender, "?").await.replies[0].locale,
        Locale::Ar,
        "nothing known: Arabic"
    );
    assert_eq!(
        talk.sms(sender, "bonjour").await.replies[0].locale,
        Locale::Fr
    );
    assert_eq!(
        talk.sms(sender, "؟").await.replies[0].locale,
        Locale::Fr,
        "no letters: last language"
    );
    assert_eq!(
        talk.sms(sender, "مرحبا").await.replies[0].locale,
        Locale::Ar
    );

    let chosen = talk.sms(sender, "FRANCAIS").await;
    assert_eq!(
        (chosen.replies[0].message, chosen.replies[0].locale),
        (MessageId::LanguageSet, Locale::Fr)
    );
    let arabic_text = talk
        .sms(sender, &format!("رقمي {NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert_eq!(
        arabic_text.replies[0].locale,
        Locale::Fr,
        "the explicit choice wins over the script"
    );
    assert!(arabic_text.replies[0].text.starts_with("Centre : "));

    let back = talk.sms(sender, "عربي").await;
    assert_eq!(
        (back.replies[0].message, back.replies[0].locale),
        (MessageId::LanguageSet, Locale::Ar)
    );
    assert_eq!(
        talk.sms(sender, "hello").await.replies[0].locale,
        Locale::Ar
    );
}

#[tokio::test]
async fn help_and_unrecognised_messages_show_the_expected_message() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    for (text, message, locale) in [
        ("AIDE", MessageId::Help, Locale::Fr),
        ("HELP", MessageId::Help, Locale::Fr),
        // A keyword does not switch the language the sender was answered in before.
        ("مساعدة", MessageId::Help, Locale::Fr),
        ("quel est mon bureau ?", MessageId::Hint, Locale::Fr),
        ("أين أصوت", MessageId::Hint, Locale::Ar),
        ("مساعدة", MessageId::Help, Locale::Ar),
    ] {
        let handled = talk.sms("+213550000009", text).await;
        assert_eq!(
            (handled.replies[0].message, handled.replies[0].locale),
            (message, locale),
            "{text}"
        );
        assert!(
            handled.replies[0].text.contains("18"),
            "{text}: shows the expected message"
        );
    }
}

#[tokio::test]
async fn a_sender_gets_ten_lookups_an_hour_then_a_polite_refusal() {
    let db = TestDb::with_roll().await;
    let mut talk = db.talk();
    let sender = "+213550000001";
    for _ in 0..10 {
        let handled = talk
            .sms(sender, &format!("né le {BIRTH_MIXED} NIN {NIN_MIXED}"))
            .await;
        assert_eq!(handled.outcome, Some(LookupOutcome::Found));
    }
    talk.now += 30 * 60;
    let refused = talk
        .sms(sender, &format!("né le {BIRTH_MIXED} NIN {NIN_MIXED}"))
        .await;
    assert_eq!(refused.outcome, Some(LookupOutcome::RateLimitedSender));
    assert_eq!(refused.replies[0].locale, Locale::Fr);
    assert!(
        refused.replies[0].text.contains("30 minutes"),
        "{}",
        refused.replies[0].text
    );

    let arabic = talk
        .sms(sender, &format!("رقمي {NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert_eq!(arabic.outcome, Some(LookupOutcome::RateLimitedSender));
    assert!(
        arabic.replies[0].text.contains("30 دقيقة"),
        "{}",
        arabic.replies[0].text
    );

    assert_eq!(
        talk.sms("+213550000002", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
            .await
            .outcome,
        Some(LookupOutcome::Found),
        "other senders are not affected"
    );
    talk.now += 30 * 60;
    assert_eq!(
        talk.sms(sender, &format!("{NIN_MIXED} {BIRTH_MIXED}"))
            .await
            .outcome,
        Some(LookupOutcome::Found),
        "a new hour"
    );
}

#[tokio::test]
async fn a_nin_with_five_failed_verifications_is_locked_for_the_day() {
    let db = TestDb::with_roll().await;
    let mut talk = db.talk();
    for day in 1..=5 {
        let guess = format!("{NIN_MIXED} {day:02}/01/1990");
        let handled = talk.sms(&format!("+21355000010{day}"), &guess).await;
        assert_eq!(handled.outcome, Some(LookupOutcome::VerificationFailed));
    }
    // Even the right date, from yet another phone, is refused until tomorrow.
    let locked = talk
        .sms(
            "+213550000200",
            &format!("mon NIN {NIN_MIXED} né le {BIRTH_MIXED}"),
        )
        .await;
    assert_eq!(locked.outcome, Some(LookupOutcome::RateLimitedNin));
    assert_eq!(locked.replies[0].message, MessageId::RateLimitedNin);
    assert_eq!(locked.replies[0].locale, Locale::Fr);
    // An unknown NIN locks the same way, so the lock reveals nothing either.
    for attempt in 0..5 {
        talk.sms(
            &format!("+21355000030{attempt}"),
            &format!("{NIN_UNKNOWN} 01/01/1990"),
        )
        .await;
    }
    assert_eq!(
        talk.sms("+213550000400", &format!("{NIN_UNKNOWN} 01/01/1990"))
            .await
            .outcome,
        Some(LookupOutcome::RateLimitedNin)
    );
    talk.now += 24 * 3600;
    assert_eq!(
        talk.sms("+213550000200", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
            .await
            .outcome,
        Some(LookupOutcome::Found)
    );
}

#[tokio::test]
async fn limits_are_configurable() {
    let db = TestDb::with_roll().await;
    let talk = db.talk_with(ConversationSettings {
        max_lookups_per_sender_per_hour: 2,
        ..ConversationSettings::default()
    });
    for _ in 0..2 {
        talk.sms("+213550000001", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
            .await;
    }
    assert_eq!(
        talk.sms("+213550000001", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
            .await
            .outcome,
        Some(LookupOutcome::RateLimitedSender)
    );
}

#[tokio::test]
async fn birth_year_verification_accepts_a_year_or_a_full_date() {
    let db = TestDb::with_roll().await;
    let talk = db.talk_with(ConversationSettings {
        verification: Verification::BirthYear,
        ..ConversationSettings::default()
    });
    let asked = talk.sms("+213550000001", NIN_MIXED).await;
    assert_eq!(asked.replies[0].message, MessageId::AskBirthYear);
    assert_eq!(
        talk.sms("+213550000001", "١٩٩٠").await.outcome,
        Some(LookupOutcome::Found)
    );
    assert_eq!(
        talk.sms("+213550000002", &format!("{NIN_MIXED} 01/01/1990"))
            .await
            .outcome,
        Some(LookupOutcome::Found)
    );
    assert_eq!(
        talk.sms("+213550000003", &format!("{NIN_MIXED} 1991"))
            .await
            .outcome,
        Some(LookupOutcome::VerificationFailed)
    );
}

#[tokio::test]
async fn without_verification_the_nin_alone_answers() {
    let db = TestDb::with_roll().await;
    let talk = db.talk_with(ConversationSettings {
        verification: Verification::None,
        ..ConversationSettings::default()
    });
    let handled = talk.sms("+213550000001", &format!("NIN {NIN_WOMEN}")).await;
    assert_eq!(handled.outcome, Some(LookupOutcome::Found));
    assert!(handled.replies[0].text.contains("Bureau 2 (femmes)"));
}

#[tokio::test]
async fn dialogues_are_kept_per_channel_and_sender() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    talk.send(Channel::Telegram, "4242", NIN_MIXED).await;
    let sms = talk.send(Channel::Sms, "4242", BIRTH_MIXED).await;
    assert_eq!(sms.replies[0].message, MessageId::NinFirst);
    let telegram = talk.send(Channel::Telegram, "4242", BIRTH_MIXED).await;
    assert_eq!(telegram.outcome, Some(LookupOutcome::Found));
}

#[tokio::test]
async fn with_no_roll_loaded_every_lookup_is_not_found() {
    let db = TestDb::empty().await;
    let handled = db
        .talk()
        .sms("+213550000001", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    assert_eq!(handled.outcome, Some(LookupOutcome::NotFound));
}

#[tokio::test]
async fn stop_and_start_switch_notices_off_and_on_in_the_senders_language() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    let sender = "+213550000001";
    for (text, message, locale) in [
        ("STOP", MessageId::NoticesStopped, Locale::Fr),
        ("START", MessageId::NoticesStarted, Locale::Fr),
        ("توقف", MessageId::NoticesStopped, Locale::Ar),
        ("ابدأ", MessageId::NoticesStarted, Locale::Ar),
        // A keyword never switches a known sender's language: the sender wrote توقف.
        ("ARRET", MessageId::NoticesStopped, Locale::Ar),
    ] {
        let handled = talk.sms(sender, text).await;
        assert_eq!(
            (handled.replies[0].message, handled.replies[0].locale),
            (message, locale),
            "{text}"
        );
        let state = db
            .store
            .sender_state(Channel::Sms, sender, START)
            .await
            .unwrap();
        assert_eq!(
            state.notices_opt_out,
            message == MessageId::NoticesStopped,
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_sms_number_that_finds_a_voter_is_subscribed_to_that_voter_and_telegram_is_not() {
    let db = TestDb::with_roll().await;
    let talk = db.talk();
    talk.sms("+213550000001", &format!("{NIN_MIXED} {BIRTH_MIXED}"))
        .await;
    talk.sms("+213550000001", &format!("{NIN_WOMEN} {BIRTH_WOMEN}"))
        .await;
    talk.sms("+213550000001", &format!("{NIN_NO_COORDS} 01/01/1901"))
        .await;
    let subscribed: Vec<String> = db
        .store
        .subscriptions(Channel::Sms, "+213550000001")
        .await
        .unwrap()
        .iter()
        .map(|nin| nin.as_str().to_owned())
        .collect();
    assert_eq!(
        subscribed.len(),
        2,
        "a failed verification subscribes to nothing"
    );
    assert!(
        subscribed.contains(&NIN_MIXED.to_owned()) && subscribed.contains(&NIN_WOMEN.to_owned())
    );
    talk.send(
        Channel::Telegram,
        "777",
        &format!("{NIN_MIXED} {BIRTH_MIXED}"),
    )
    .await;
    assert!(
        db.store
            .subscriptions(Channel::Telegram, "777")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_inbound_message_id_is_processed_once_per_source() {
    let db = TestDb::empty().await;
    assert!(
        db.store
            .first_delivery("sms:twilio", "SM123", START)
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .first_delivery("sms:twilio", "SM123", START + 5)
            .await
            .unwrap()
    );
    assert!(
        db.store
            .first_delivery("sms:infobip", "SM123", START)
            .await
            .unwrap()
    );
    assert_eq!(db.store.prune_inbound_seen(START + 1).await.unwrap(), 2);
    assert!(
        db.store
            .first_delivery("sms:twilio", "SM123", START + 10)
            .await
            .unwrap()
    );
}

/// An SMS webhook hands each message to `handle_delivery`, which does a plain lookup (a NIN
/// and a birth date) in the same write as the message id when the sender's state lets it.
/// Every message of these dialogues gets the same replies that way as through `handle`
/// (which reads the state first and looks up after), and leaves the same subscriptions:
/// the dialogues that complete a NIN or a date, a report offered and one being filled in
/// (by a voter and by a clerk, whose report reads a NIN and date as the citizen's), the
/// sender's hourly limit and the NIN's daily lock.
/// A clerk's chat: clerks work on Telegram.
const CLERK: &str = "6001";

/// The channel of a sender of the script below: the clerk's chat, or a phone number.
fn channel_of(sender: &str) -> Channel {
    if sender == CLERK {
        Channel::Telegram
    } else {
        Channel::Sms
    }
}

#[tokio::test]
async fn a_lookup_done_with_the_message_id_answers_as_the_conversation_would_in_every_dialogue() {
    let (read_first, with_id) = (TestDb::with_roll().await, TestDb::with_roll().await);
    let (talk, delivered) = (read_first.talk(), with_id.talk());
    // A clerk: a NIN and date in their report is the citizen's, not a lookup of theirs.
    for (db, conversation) in [
        (&read_first, &talk.conversation),
        (&with_id, &delivered.conversation),
    ] {
        let code = office(&db.store)
            .invite_clerk(
                &maktab::office::Principal::command_line(),
                &maktab::domain::CommuneCode::parse("1601").unwrap(),
                Some(72),
            )
            .await
            .unwrap()
            .code;
        let inbound = Inbound {
            channel: Channel::Telegram,
            sender: CLERK.to_owned(),
            text: format!("/clerk {code}"),
        };
        let enrolled = conversation.handle_at(&inbound, START).await;
        assert_eq!(enrolled.replies[0].message, MessageId::ClerkEnrolled);
    }
    let full = |nin: &str, birth: &str| format!("{nin} {birth}");
    let mut script: Vec<(&str, String)> = vec![
        ("+213550000001", full(NIN_MIXED, BIRTH_MIXED)),
        // A NIN alone, then another voter's NIN and date; a date alone, then a NIN and date.
        ("+213550000002", NIN_MIXED.to_owned()),
        ("+213550000002", full(NIN_WOMEN, BIRTH_WOMEN)),
        ("+213550000002", BIRTH_MIXED.to_owned()),
        ("+213550000002", full(NIN_NO_COORDS, BIRTH_NO_COORDS)),
        // Not found, so a report is offered; then the right date.
        ("+213550000003", full(NIN_MIXED, "01/01/1990")),
        ("+213550000003", full(NIN_MIXED, BIRTH_MIXED)),
        // A report being filled in: a NIN and date there is read by the report dialogue.
        ("+213550000004", full(NIN_UNKNOWN, "01/01/1990")),
        ("+213550000004", "SIGNALER".to_owned()),
        ("+213550000004", full(NIN_UNKNOWN, "01/01/1990")),
        ("+213550000004", "Benali Ahmed".to_owned()),
        ("+213550000004", full(NIN_MIXED, BIRTH_MIXED)),
        (CLERK, "/report".to_owned()),
        (CLERK, full(NIN_MIXED, BIRTH_MIXED)),
        (CLERK, "/cancel".to_owned()),
        // Words around the numbers change the sender's language, a second write.
        (
            "+213550000005",
            format!("السلام عليكم رقمي {NIN_WOMEN} مولودة في {BIRTH_WOMEN}"),
        ),
        ("+213550000005", "STOP".to_owned()),
        ("+213550000005", full(NIN_WOMEN, BIRTH_WOMEN)),
    ];
    // The sender's hourly limit, then the NIN's daily lock from other phones.
    script.extend((0..12).map(|_| ("+213550000006", full(NIN_NO_COORDS, BIRTH_NO_COORDS))));
    script.extend(
        [
            "+213550000101",
            "+213550000102",
            "+213550000103",
            "+213550000104",
        ]
        .into_iter()
        .flat_map(|sender| {
            [
                (sender, full(NIN_WOMEN, "02/02/1985")),
                (sender, full(NIN_WOMEN, "03/03/1985")),
            ]
        }),
    );
    script.push(("+213550000105", full(NIN_WOMEN, BIRTH_WOMEN)));
    let mut outcomes = Vec::new();
    for (i, (sender, text)) in script.iter().enumerate() {
        let channel = channel_of(sender);
        let inbound = Inbound {
            channel,
            sender: (*sender).to_owned(),
            text: text.clone(),
        };
        let expected = talk
            .conversation
            .handle_at(&inbound, START + i as i64)
            .await;
        let id = format!("M{i}");
        let got = delivered
            .conversation
            .handle_delivery_at(&inbound, "sms:test", &id, START + i as i64)
            .await
            .unwrap()
            .expect("a first delivery");
        assert_eq!(got.outcome, expected.outcome, "message {i}: {text}");
        outcomes.push(got.outcome);
        assert_eq!(got.replies, expected.replies, "message {i}: {text}");
        let retry = delivered
            .conversation
            .handle_delivery_at(&inbound, "sms:test", &id, START + i as i64)
            .await
            .unwrap();
        assert!(
            retry.is_none(),
            "message {i} delivered again is not handled"
        );
    }
    // The script reaches every outcome, so each was compared.
    for outcome in [
        LookupOutcome::Found,
        LookupOutcome::NotFound,
        LookupOutcome::VerificationFailed,
        LookupOutcome::RateLimitedSender,
        LookupOutcome::RateLimitedNin,
    ] {
        assert!(outcomes.contains(&Some(outcome)), "{outcome:?} reached");
    }
    for (sender, _) in &script {
        assert_eq!(
            with_id
                .store
                .subscriptions(channel_of(sender), sender)
                .await
                .unwrap(),
            read_first
                .store
                .subscriptions(channel_of(sender), sender)
                .await
                .unwrap(),
            "{sender}'s subscriptions"
        );
    }
}
