//! Real phrasings, table-driven: how voters write their NIN and birth date in Arabic and
//! French, in Latin, Arabic-Indic and Persian digits, with month names, two-digit years, typos
//! and courtesy words, each with the reply it must get. Every row goes through the real
//! conversation core and a real SQLite store, from a sender of its own.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use maktab::conversation::Handled;
use maktab::domain::{Channel, Locale};
use maktab::i18n::MessageId;

/// Born 25/04/1944: the examples.
const ELDER: &str = "309870123456789044";
/// Born 02/04/1995.
const YOUNG: &str = "300000000000000001";

const ROLL: &str = "\
nin,birth_date,sex,commune_code,centre_code,station
109870123456789012,1990-03-15,M,1601,C01,1
000000000000000042,1985-12-01,F,1601,C01,2
209870123456789099,1970-01-20,,1601,C02,1
309870123456789044,1944-04-25,M,1601,C02,2
300000000000000001,1995-04-02,F,1601,C01,2
";

async fn db() -> TestDb {
    let db = TestDb::empty().await;
    db.import_map(MAP_CSV).await.unwrap();
    db.import_roll(ROLL).await.unwrap();
    db
}

/// One phrasing: the messages a sender writes, and what the last one must get.
struct Row {
    channel: Channel,
    messages: Vec<String>,
    message: MessageId,
    locale: Option<Locale>,
    contains: Option<&'static str>,
}

fn row(messages: &[&str], message: MessageId) -> Row {
    Row {
        channel: Channel::Sms,
        messages: messages.iter().map(|m| (*m).to_owned()).collect(),
        message,
        locale: None,
        contains: None,
    }
}

impl Row {
    fn ar(mut self) -> Self {
        self.locale = Some(Locale::Ar);
        self
    }
    fn fr(mut self) -> Self {
        self.locale = Some(Locale::Fr);
        self
    }
    fn contains(mut self, text: &'static str) -> Self {
        self.contains = Some(text);
        self
    }
    fn telegram(mut self) -> Self {
        self.channel = Channel::Telegram;
        self
    }
}

fn arabic_indic(text: &str) -> String {
    script(text, 0x0660)
}

fn persian(text: &str) -> String {
    script(text, 0x06F0)
}

fn script(text: &str, zero: u32) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => char::from_u32(zero + d).unwrap(),
            _ => c,
        })
        .collect()
}

fn rows() -> Vec<Row> {
    use MessageId::*;
    let found = LookupFound;
    let owned = |messages: Vec<String>, message: MessageId| Row {
        channel: Channel::Sms,
        messages,
        message,
        locale: None,
        contains: None,
    };
    let one = |text: String, message: MessageId| owned(vec![text], message);
    vec![
        // ---- Found: the examples, with a correct NIN ----
        one(format!("{ELDER} 25/04/44"), found),
        one(format!("{ELDER} 25 avril 1944"), found).fr(),
        one(format!("{ELDER} 25-4-44"), found),
        one(format!("{ELDER} 250444"), found),
        one(format!("{ELDER} 25/O4/1944"), found),
        one(format!("{ELDER} 25 avr. 1944"), found).fr(),
        one(format!("{ELDER} 25 AVRIL 1944"), found),
        one(format!("{ELDER} 25/04/l944"), found),
        one(format!("{ELDER} le 25 avril 44"), found).fr(),
        one(format!("mon NIN est {ELDER} né le 25 avril 1944"), found).fr(),
        one(format!("رقمي {ELDER} مولود في 25 أفريل 1944"), found).ar(),
        one(format!("رقمي {ELDER} مولود في 25 أبريل 1944"), found).ar(),
        one(arabic_indic(&format!("{ELDER} 25/04/44")), found),
        one(persian(&format!("{ELDER} 25-4-1944")), found),
        one(format!("25/04/1944 {ELDER}"), found),
        one(
            "NIN: 3098 7012 3456 7890 44 date: 25.04.1944".to_owned(),
            found,
        ),
        one(format!("{ELDER} 1944-04-25"), found),
        // ---- Found: month names, short years, letters for digits ----
        one(format!("{NIN_MIXED} 15/03/90"), found),
        one(format!("{NIN_MIXED} 15 mars 1990"), found).fr(),
        one(format!("{NIN_MIXED} 15 مارس 1990"), found).ar(),
        one(format!("{NIN_MIXED} 15 03 1990"), found),
        one(format!("{NIN_MIXED} 15/O3/199O"), found),
        one("1O987O123456789O12 15/03/1990".to_owned(), found),
        one(format!("{NIN_WOMEN} 1er décembre 1985"), found).contains("(femmes)"),
        one(format!("{NIN_WOMEN} 01 ديسمبر 1985"), found).contains("مكتب النساء"),
        one(format!("{NIN_WOMEN} 1 déc. 85"), found),
        one(format!("{NIN_NO_COORDS} 20 جانفي 1970"), found),
        one(format!("{NIN_NO_COORDS} 20 janv. 1970"), found),
        one(format!("{NIN_NO_COORDS} 20 يناير 1970"), found),
        one(format!("{NIN_NO_COORDS} 20/01/70"), found),
        one(format!("{NIN_NO_COORDS} 200170"), found),
        one(format!("{NIN_NO_COORDS} 20-1-1970"), found),
        one(arabic_indic(&format!("{NIN_MIXED} 15 مارس 1990")), found).ar(),
        one(persian(&format!("{NIN_MIXED} 15/03/90")), found),
        one(
            format!("{} {}", arabic_indic(NIN_MIXED), persian("15/3/1990")),
            found,
        ),
        one(
            format!("السلام عليكم رقمي {NIN_MIXED} و تاريخ ميلادي 15 مارس 1990 شكرا"),
            found,
        )
        .ar(),
        one(format!("{YOUNG} 2 avril 1995"), found),
        one(format!("{YOUNG} 02 أفريل 95"), found).ar(),
        one(format!("{NIN_MIXED} {NIN_MIXED} 15/03/1990"), found),
        // ---- Found over two messages ----
        owned(vec![NIN_MIXED.to_owned(), "15 mars 1990".to_owned()], found).fr(),
        owned(vec![NIN_MIXED.to_owned(), arabic_indic("15/03/90")], found),
        owned(vec!["15/03/1990".to_owned(), NIN_MIXED.to_owned()], found),
        owned(
            vec!["NIN 3000000000 02/04/1995".to_owned(), YOUNG.to_owned()],
            found,
        ),
        owned(
            vec![format!("{NIN_MIXED} 31/02/1990"), "15/03/1990".to_owned()],
            found,
        ),
        // ---- Asks for the date ----
        one(NIN_MIXED.to_owned(), AskBirthDate),
        one(format!("رقمي {NIN_MIXED}"), AskBirthDate).ar(),
        one(format!("NIN {NIN_MIXED} merci"), AskBirthDate).fr(),
        one(arabic_indic("109870 123456 789012"), AskBirthDate),
        one(persian(NIN_MIXED), AskBirthDate),
        // ---- Date not understood: about the date, never about the NIN ----
        one(format!("{NIN_MIXED} 31/02/1990"), DateInvalid),
        one(format!("{NIN_MIXED} 25/04/194"), DateInvalid),
        one(format!("{NIN_MIXED} 15/13/1990"), DateInvalid),
        one(format!("{NIN_MIXED} 1990"), DateInvalid),
        one(format!("{NIN_MIXED} 32 mars 1990"), DateInvalid).fr(),
        one(
            arabic_indic(&format!("{NIN_MIXED} 31/02/1990")),
            DateInvalid,
        ),
        one(format!("{NIN_MIXED} 15/03/19900"), DateInvalid),
        one("NIN 3000000000 31/02/1995".to_owned(), DateInvalid),
        owned(
            vec![NIN_MIXED.to_owned(), "31/02/1990".to_owned()],
            DateInvalid,
        ),
        // ---- A two-digit year that fits two centuries ----
        one(format!("{NIN_MIXED} 01/01/07"), DateYearAmbiguous),
        one(format!("{NIN_MIXED} 010107"), DateYearAmbiguous),
        one(format!("{NIN_MIXED} 1 janvier 07"), DateYearAmbiguous).fr(),
        one(
            arabic_indic(&format!("{NIN_MIXED} 01/01/07")),
            DateYearAmbiguous,
        ),
        // ---- A NIN of the wrong length, told with its own length ----
        one("NIN 3000000000 02/04/1995".to_owned(), NinWrongLength).contains("10 chiffres"),
        one("10987012345678901 15/03/1990".to_owned(), NinWrongLength).contains("17"),
        one("1098701234567890123 15/03/1990".to_owned(), NinWrongLength).contains("19"),
        one("رقمي 10987012345678901".to_owned(), NinWrongLength)
            .ar()
            .contains("17 رقما"),
        one(arabic_indic("10987012345678901"), NinWrongLength).contains("17"),
        one(
            "mon NIN 12345678 né le 15/03/1990".to_owned(),
            NinWrongLength,
        )
        .fr()
        .contains("8 chiffres"),
        one(format!("{ELDER}0 25/04/1944"), NinWrongLength).contains("19"),
        one(persian("3000000000 02/04/1995"), NinWrongLength).contains("10"),
        // ---- Two NINs: one at a time ----
        one(format!("{NIN_MIXED} {NIN_WOMEN}"), NinOneAtATime),
        one(
            format!("{NIN_MIXED} et {NIN_WOMEN} 15/03/1990"),
            NinOneAtATime,
        )
        .fr(),
        one(
            format!("رقمي {NIN_MIXED} ورقم أختي {NIN_WOMEN}"),
            NinOneAtATime,
        )
        .ar(),
        one(
            format!("{NIN_MIXED} 15/03/1990 {NIN_WOMEN} 01/12/1985"),
            NinOneAtATime,
        ),
        one(
            arabic_indic(&format!("{NIN_MIXED} {NIN_WOMEN}")),
            NinOneAtATime,
        ),
        // ---- A date with no NIN ----
        one("15/03/1990".to_owned(), NinFirst),
        one("née le 15 mars 1990".to_owned(), NinFirst).fr(),
        one("مولود في 15 مارس 1990".to_owned(), NinFirst).ar(),
        // ---- Not found: the same reply for an unknown NIN and a wrong date ----
        one(format!("{NIN_UNKNOWN} 15/03/1990"), LookupNotFound),
        one(format!("{NIN_MIXED} 16/03/1990"), LookupNotFound),
        // ---- Keywords, with courtesy words ----
        row(&["AIDE MOI"], Help).fr(),
        row(&["aide svp"], Help).fr(),
        row(&["aidez-moi"], Help).fr(),
        row(&["مساعدة من فضلك"], Help).ar(),
        row(&["?"], Help),
        row(&["STOP svp"], NoticesStopped),
        row(&["arrête"], NoticesStopped).fr(),
        row(&["Arrêt s'il vous plaît"], NoticesStopped).fr(),
        row(&["توقف من فضلك"], NoticesStopped).ar(),
        row(&["START svp"], NoticesStarted),
        row(&["ابدأ من فضلك"], NoticesStarted).ar(),
        row(&["FRANCAIS svp"], LanguageSet).fr(),
        row(&["عربي من فضلك"], LanguageSet).ar(),
        row(&["SIGNALER"], ReportNeedsLookup).fr(),
        row(&["/stop"], NoticesStopped).telegram(),
        row(&["/help"], Help).telegram(),
        // ---- Not understood ----
        row(&["bonjour"], Hint).fr(),
        row(&["أين أصوت؟"], Hint).ar(),
        row(&["bureau 2"], Hint).fr(),
        row(&["non merci je veux savoir"], Hint).fr(),
    ]
}

#[tokio::test]
async fn every_phrasing_gets_the_reply_it_must() {
    let db = db().await;
    let talk = db.talk();
    let rows = rows();
    assert!(rows.len() >= 80, "{} phrasings", rows.len());
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let sender = format!("+2135510{i:05}");
        let mut last: Option<Handled> = None;
        for text in &row.messages {
            last = Some(talk.send(row.channel, &sender, text).await);
        }
        let handled = last.unwrap();
        let reply = &handled.replies[0];
        let ok = reply.message == row.message
            && row.locale.is_none_or(|locale| reply.locale == locale)
            && row.contains.is_none_or(|text| reply.text.contains(text));
        if !ok {
            failures.push(format!(
                "{:?}: expected {:?} {:?} {:?}, got {:?} {:?}: {}",
                row.messages,
                row.message,
                row.locale,
                row.contains,
                reply.message,
                reply.locale,
                reply.text
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn all_three_digit_scripts_are_covered_by_the_table() {
    let rows = rows();
    let all: String = rows
        .iter()
        .flat_map(|r| r.messages.iter().cloned())
        .collect();
    assert!(all.chars().any(|c| ('\u{0660}'..='\u{0669}').contains(&c)));
    assert!(all.chars().any(|c| ('\u{06F0}'..='\u{06F9}').contains(&c)));
    assert!(rows.iter().any(|r| r.locale == Some(Locale::Ar)));
    assert!(rows.iter().any(|r| r.locale == Some(Locale::Fr)));
}

#[tokio::test]
async fn a_date_kept_beside_a_short_nin_expires_with_the_dialogue() {
    let db = db().await;
    let mut talk = db.talk();
    let sender = "+213551099999";
    let short = talk.sms(sender, "NIN 3000000000 02/04/1995").await;
    assert_eq!(short.replies[0].message, MessageId::NinWrongLength);
    talk.now += 15 * 60 + 1;
    let late = talk.sms(sender, YOUNG).await;
    assert_eq!(late.replies[0].message, MessageId::AskBirthDate);
}
