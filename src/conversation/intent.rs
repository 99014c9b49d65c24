//! What a voter's message asks for. Voters write free text around their numbers, in Arabic or
//! French, with digits in any script and any grouping; this module finds the NIN and the birth
//! date (or year) in it, or recognises a keyword.

use crate::domain::{
    BirthDate, Locale, NationalId, NationalIdError, is_group_separator, normalize_digits,
};

/// The meaning of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// AIDE, HELP, مساعدة, `?`.
    Help,
    /// AR, عربي, FR, FRANCAIS, فرنسية...
    ChooseLanguage(Locale),
    /// STOP, ARRET, توقف: no more notices.
    StopNotices,
    /// START, ابدأ: notices again.
    StartNotices,
    /// The message carries numbers: a NIN, a birth date or year, or malformed attempts.
    Numbers(Numbers),
    /// SIGNALER, تبليغ: report being missing from the roll (offered after a failed lookup).
    Report,
    /// OUI, نعم: confirms what was asked.
    Yes,
    /// NON, ANNULER, لا, إلغاء, `/cancel`: declines or abandons what is under way.
    No,
    /// `/clerk CODE`: a clerk enrols with an officer's invitation code (empty if none given).
    ClerkEnrol(String),
    /// `/report`: an enrolled clerk files a report for a citizen in front of them.
    ClerkReport,
    /// `/myreports`: a clerk's latest reports.
    ClerkReports,
    /// Nothing Maktab can act on.
    Unrecognised,
}

/// A birth date or, where the service verifies the year only, a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Birth {
    Date(BirthDate),
    Year(i32),
}

/// The numbers found in a message. The first valid NIN and the first valid birth date win;
/// the error fields say what was attempted and malformed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Numbers {
    pub nin: Option<NationalId>,
    pub birth: Option<Birth>,
    /// A number that looks meant as a NIN but has the wrong length.
    pub bad_nin: Option<NationalIdError>,
    /// Something shaped like a date that is not a real one (31/02/1990).
    pub bad_birth: bool,
}

const HELP: &[&str] = &["?", "aide", "help", "مساعدة", "ساعدني", "/help"];
const STOP: &[&str] = &["stop", "arret", "arrêt", "توقف", "/stop"];
const START: &[&str] = &["start", "ابدأ", "ابدا"];
const REPORT: &[&str] = &[
    "signaler",
    "signalement",
    "/signaler",
    "report",
    "تبليغ",
    "بلاغ",
    "ابلاغ",
    "الابلاغ",
];
const YES: &[&str] = &["oui", "yes", "ok", "d'accord", "نعم", "موافق", "اكيد"];
const NO: &[&str] = &[
    "non",
    "no",
    "annuler",
    "annule",
    "cancel",
    "/cancel",
    "لا",
    "الغاء",
    "الغ",
];
const ARABIC: &[&str] = &[
    "ar",
    "arabe",
    "arabic",
    "عربي",
    "عربية",
    "العربية",
    "بالعربية",
];
const FRENCH: &[&str] = &[
    "fr",
    "francais",
    "français",
    "french",
    "فرنسي",
    "فرنسية",
    "الفرنسية",
    "بالفرنسية",
];

/// Clusters of fewer digits than this that do not look like a date are noise ("bureau 2"),
/// not a failed attempt at a NIN.
const MIN_NIN_ATTEMPT_DIGITS: usize = 6;

/// Reads a message.
pub fn parse(text: &str) -> Intent {
    let keyword = fold_keyword(text);
    let is = |list: &[&str]| list.iter().any(|k| fold_keyword(k) == keyword);
    if is(HELP) {
        return Intent::Help;
    }
    if is(STOP) {
        return Intent::StopNotices;
    }
    if is(START) {
        return Intent::StartNotices;
    }
    // Before the keywords: `/report` is the clerks' command, not the citizen's REPORT.
    if let Some(intent) = clerk_command(text) {
        return intent;
    }
    if is(REPORT) {
        return Intent::Report;
    }
    if is(YES) {
        return Intent::Yes;
    }
    if is(NO) {
        return Intent::No;
    }
    if is(ARABIC) {
        return Intent::ChooseLanguage(Locale::Ar);
    }
    if is(FRENCH) {
        return Intent::ChooseLanguage(Locale::Fr);
    }
    let numbers = find_numbers(text);
    if numbers == Numbers::default() {
        Intent::Unrecognised
    } else {
        Intent::Numbers(numbers)
    }
}

/// The clerks' Telegram commands (`/clerk CODE`, `/report`, `/myreports`), with or without
/// `@botname`.
fn clerk_command(text: &str) -> Option<Intent> {
    let mut words = text.split_whitespace();
    let command = words.next()?.strip_prefix('/')?;
    let name = command.split('@').next()?.to_ascii_lowercase();
    match name.as_str() {
        "clerk" | "agent" => Some(Intent::ClerkEnrol(words.collect::<Vec<_>>().join(" "))),
        "report" => Some(Intent::ClerkReport),
        "myreports" | "mesrapports" => Some(Intent::ClerkReports),
        _ => None,
    }
}

/// Lower case, without accents, Arabic diacritics or tatweel, and without surrounding
/// punctuation, so that "Français !" and "francais" are the same keyword.
fn fold_keyword(text: &str) -> String {
    crate::domain::fold(text.trim())
        .trim_matches(|c: char| {
            c != '?' && (c.is_ascii_punctuation() || c.is_whitespace() || c == '.')
        })
        .to_owned()
}

/// A maximal run of digits, by char index into the normalised message.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
}

impl Group {
    fn len(self) -> usize {
        self.end - self.start
    }
}

/// What one cluster of digit groups turned out to be.
enum Piece {
    Nin(NationalId),
    Birth(Birth),
    BadBirth,
    BadNin(NationalIdError),
}

fn find_numbers(text: &str) -> Numbers {
    let chars: Vec<char> = normalize_digits(text).chars().collect();
    let mut numbers = Numbers::default();
    for cluster in clusters(&chars, &groups(&chars)) {
        for piece in interpret(&chars, &cluster) {
            match piece {
                Piece::Nin(nin) => {
                    numbers.nin.get_or_insert(nin);
                }
                Piece::Birth(birth) => {
                    numbers.birth.get_or_insert(birth);
                }
                Piece::BadBirth => numbers.bad_birth = true,
                Piece::BadNin(error) => {
                    numbers.bad_nin.get_or_insert(error);
                }
            }
        }
    }
    numbers
}

fn groups(chars: &[char]) -> Vec<Group> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(Group { start, end: i });
        } else {
            i += 1;
        }
    }
    groups
}

/// Groups joined by a short separator ("1234 5678", "15/03/1990", "123 - 456") belong to one
/// cluster; words or punctuation such as commas end a cluster.
fn clusters(chars: &[char], groups: &[Group]) -> Vec<Vec<Group>> {
    let mut clusters: Vec<Vec<Group>> = Vec::new();
    for &group in groups {
        let joined = clusters
            .last()
            .and_then(|c| c.last())
            .is_some_and(|previous| {
                let gap = &chars[previous.end..group.start];
                let non_space = gap.iter().filter(|c| !c.is_whitespace()).count();
                gap.len() <= 3 && non_space <= 1 && gap.iter().all(|c| is_group_separator(*c))
            });
        match clusters.last_mut() {
            Some(cluster) if joined => cluster.push(group),
            _ => clusters.push(vec![group]),
        }
    }
    clusters
}

fn text_of(chars: &[char], groups: &[Group]) -> String {
    match (groups.first(), groups.last()) {
        (Some(first), Some(last)) => chars[first.start..last.end].iter().collect(),
        _ => String::new(),
    }
}

fn digits_in(groups: &[Group]) -> usize {
    groups.iter().map(|g| g.len()).sum()
}

fn interpret(chars: &[char], cluster: &[Group]) -> Vec<Piece> {
    let total = digits_in(cluster);
    if total == NationalId::DIGITS {
        return nin_piece(chars, cluster).into_iter().collect();
    }
    // A NIN and a date typed side by side: "109870123456789012 15/03/1990" or the reverse.
    for split in 1..cluster.len() {
        let (head, tail) = cluster.split_at(split);
        if digits_in(head) == NationalId::DIGITS && is_birth_shaped(tail) {
            return [nin_piece(chars, head), birth_piece(chars, tail)]
                .into_iter()
                .flatten()
                .collect();
        }
        if digits_in(tail) == NationalId::DIGITS && is_birth_shaped(head) {
            return [nin_piece(chars, tail), birth_piece(chars, head)]
                .into_iter()
                .flatten()
                .collect();
        }
    }
    if is_birth_shaped(cluster) {
        return birth_piece(chars, cluster).into_iter().collect();
    }
    // A mistyped NIN next to a date: report the NIN's own length, not the cluster's.
    for split in 1..cluster.len() {
        let (head, tail) = cluster.split_at(split);
        if is_full_date_shaped(tail) && digits_in(head) >= MIN_NIN_ATTEMPT_DIGITS {
            return [
                Some(wrong_length(digits_in(head))),
                birth_piece(chars, tail),
            ]
            .into_iter()
            .flatten()
            .collect();
        }
        if is_full_date_shaped(head) && digits_in(tail) >= MIN_NIN_ATTEMPT_DIGITS {
            return [
                Some(wrong_length(digits_in(tail))),
                birth_piece(chars, head),
            ]
            .into_iter()
            .flatten()
            .collect();
        }
    }
    if total < MIN_NIN_ATTEMPT_DIGITS {
        return Vec::new();
    }
    vec![wrong_length(total)]
}

fn wrong_length(digits: usize) -> Piece {
    Piece::BadNin(if digits < NationalId::DIGITS {
        NationalIdError::TooShort { digits }
    } else {
        NationalIdError::TooLong { digits }
    })
}

/// A whole date (not a year alone): the only shape trusted when the rest is malformed.
fn is_full_date_shaped(groups: &[Group]) -> bool {
    is_birth_shaped(groups) && !(groups.len() == 1 && groups[0].len() == 4)
}

fn nin_piece(chars: &[char], groups: &[Group]) -> Option<Piece> {
    Some(match NationalId::parse(&text_of(chars, groups)) {
        Ok(nin) => Piece::Nin(nin),
        Err(error) => Piece::BadNin(error),
    })
}

/// `DDMMYYYY`, `D/M/YYYY`, `YYYY-MM-DD` or a plausible year on its own.
fn is_birth_shaped(groups: &[Group]) -> bool {
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    matches!(
        lengths.as_slice(),
        [8] | [4] | [1..=2, 1..=2, 4] | [4, 1..=2, 1..=2]
    )
}

fn birth_piece(chars: &[char], groups: &[Group]) -> Option<Piece> {
    let text = text_of(chars, groups);
    if groups.len() == 1 && groups[0].len() == 4 {
        let year: i32 = text.parse().ok()?;
        return crate::domain::BirthDate::parse(&format!("01/01/{year}"))
            .ok()
            .map(|_| Piece::Birth(Birth::Year(year)));
    }
    Some(match BirthDate::parse(&text) {
        Ok(date) => Piece::Birth(Birth::Date(date)),
        Err(_) => Piece::BadBirth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NIN: &str = "109870123456789012";

    fn numbers(text: &str) -> Numbers {
        match parse(text) {
            Intent::Numbers(numbers) => numbers,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    fn date(text: &str) -> Option<Birth> {
        Some(Birth::Date(BirthDate::parse(text).unwrap()))
    }

    #[test]
    fn report_yes_no_and_clerk_commands_are_read_in_both_languages() {
        for text in [
            "SIGNALER",
            "Signalement !",
            "/signaler",
            "تبليغ",
            "إبلاغ",
            "الإبلاغ",
        ] {
            assert_eq!(parse(text), Intent::Report, "{text}");
        }
        for text in ["oui", "OUI.", "نعم", "Ok"] {
            assert_eq!(parse(text), Intent::Yes, "{text}");
        }
        for text in ["non", "Annuler", "/cancel", "لا", "إلغاء"] {
            assert_eq!(parse(text), Intent::No, "{text}");
        }
        assert_eq!(
            parse("/clerk ABCDE-FGHJK"),
            Intent::ClerkEnrol("ABCDE-FGHJK".to_owned())
        );
        assert_eq!(
            parse("/clerk@MaktabBot abcde fghjk"),
            Intent::ClerkEnrol("abcde fghjk".to_owned())
        );
        assert_eq!(parse("/clerk"), Intent::ClerkEnrol(String::new()));
        assert_eq!(
            parse("/report"),
            Intent::ClerkReport,
            "the clerks' command, not REPORT"
        );
        assert_eq!(parse("/REPORT@MaktabBot"), Intent::ClerkReport);
        assert_eq!(parse("/myreports"), Intent::ClerkReports);
        assert_eq!(parse("non merci je veux savoir"), Intent::Unrecognised);
    }

    #[test]
    fn finds_nin_and_date_with_words_around_them_in_either_order() {
        for text in [
            "109870123456789012 15/03/1990",
            "15/03/1990 109870123456789012",
            "رقمي 109870123456789012 مولود في 15/03/1990",
            "mon NIN est 109870123456789012, né le 15-03-1990 merci",
            "né le 15.03.1990, NIN: 109870 123456 789012",
            "١٠٩٨٧٠١٢٣٤٥٦٧٨٩٠١٢ ١٥/٠٣/١٩٩٠",
            "109870-123456-789012 15031990",
            "1098 7012 3456 7890 12 15 03 1990",
            "NIN 109870123456789012 date 1990-03-15",
        ] {
            let found = numbers(text);
            assert_eq!(
                found.nin.as_ref().map(NationalId::as_str),
                Some(NIN),
                "{text}"
            );
            assert_eq!(found.birth, date("15/03/1990"), "{text}");
        }
    }

    #[test]
    fn nin_alone_and_date_alone() {
        let found = numbers("رقم التعريف ۱۰۹۸۷۰۱۲۳۴۵۶۷۸۹۰۱۲");
        assert_eq!(found.nin.unwrap().as_str(), NIN);
        assert_eq!(found.birth, None);
        let found = numbers("le 5/3/1990");
        assert_eq!((found.nin, found.birth), (None, date("05/03/1990")));
        assert_eq!(numbers("1990").birth, Some(Birth::Year(1990)));
    }

    #[test]
    fn reports_malformed_attempts() {
        assert_eq!(
            numbers("10987012345678901").bad_nin,
            Some(NationalIdError::TooShort { digits: 17 })
        );
        let found = numbers("1098701234567890123 15/03/1990");
        assert_eq!(found.bad_nin, Some(NationalIdError::TooLong { digits: 19 }));
        assert_eq!(found.birth, date("15/03/1990"));
        let found = numbers("109870123456789012 31/02/1990");
        assert!(found.nin.is_some() && found.birth.is_none() && found.bad_birth);
    }

    #[test]
    fn small_numbers_are_noise() {
        assert_eq!(parse("bureau 2"), Intent::Unrecognised);
        assert_eq!(parse("bonjour"), Intent::Unrecognised);
    }

    #[test]
    fn keywords_in_both_languages_any_case_and_accents() {
        for text in ["AIDE", "help", "مساعدة", "?", "؟", " Aide. "] {
            assert_eq!(parse(text), Intent::Help, "{text}");
        }
        for text in ["STOP", "Arrêt", "ARRET", "توقف", "/stop"] {
            assert_eq!(parse(text), Intent::StopNotices, "{text}");
        }
        for text in ["START", "ابدأ"] {
            assert_eq!(parse(text), Intent::StartNotices, "{text}");
        }
        for text in ["AR", "عربي", "العربية"] {
            assert_eq!(parse(text), Intent::ChooseLanguage(Locale::Ar), "{text}");
        }
        for text in ["FR", "FRANCAIS", "Français", "فرنسية"] {
            assert_eq!(parse(text), Intent::ChooseLanguage(Locale::Fr), "{text}");
        }
    }
}
