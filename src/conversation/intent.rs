//! What a voter's message asks for. Voters write free text around their numbers, in Arabic or
//! French, with digits in any script and any grouping; this module finds the NIN and the birth
//! date (or year) in it, or recognises a keyword.
//!
//! Numbers are found by their shape, not by counting digits: a message is cut into clusters of
//! digit groups (groups joined by a space, dash, dot or slash), and each cluster into the
//! pieces that fit best, a NIN (18 digits in any grouping), a date (`25/04/1944`, `25-4-44`,
//! `250444`, `1944-04-25`, `25 avril 1944`) or a year. What is left over is a malformed NIN
//! attempt, reported with its own length, while a well-formed date beside it is kept.

use std::sync::LazyLock;

use chrono::NaiveDate;

use crate::domain::{
    BirthDate, BirthDateError, Locale, NationalId, NationalIdError, is_group_separator,
    month_number, normalize_digits,
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
    /// AGENT, CONSEILLER, موظف, مساعدة موظف (then any words, kept as the ticket's first
    /// message): ask for a person on duty.
    AskAgent(String),
    /// FIN, إنهاء: end the conversation with the person on duty.
    EndAgent,
    /// Nothing Maktab can act on.
    Unrecognised,
}

/// A birth date or, where the service verifies the year only, a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Birth {
    Date(BirthDate),
    Year(i32),
}

/// Why something written as a date could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthProblem {
    /// Not a real day, or not read as one (31/02/1990, 25/04/194).
    Unreadable,
    /// A two-digit year that fits a voter in two centuries (01/01/07 in 2026).
    AmbiguousCentury,
}

/// The numbers found in a message. The first valid NIN and the first valid birth date win;
/// the other fields say what was attempted and malformed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Numbers {
    pub nin: Option<NationalId>,
    /// Two different well-formed NINs in one message: the service answers one at a time.
    pub several_nins: bool,
    pub birth: Option<Birth>,
    /// A number that looks meant as a NIN but has the wrong length.
    pub bad_nin: Option<NationalIdError>,
    /// Something shaped like a date that is not a usable one.
    pub bad_birth: Option<BirthProblem>,
}

const HELP: &[&str] = &[
    "?",
    "aide",
    "aidez",
    "help",
    "مساعدة",
    "ساعدني",
    "/help",
    "/aide",
];
const STOP: &[&str] = &[
    "stop",
    "arret",
    "arrete",
    "arreter",
    "arretez",
    "توقف",
    "اوقف",
    "ايقاف",
    "/stop",
];
/// Words that begin a request for a person (what follows is the question).
const AGENT: &[&str] = &["agent", "conseiller", "conseillere", "موظف"];
/// The same, in two words.
const AGENT_PHRASES: &[&str] = &["مساعدة موظف", "parler agent"];
const END_AGENT: &[&str] = &["fin", "إنهاء", "انهاء", "/fin"];
const START: &[&str] = &["start", "reprendre", "ابدأ", "ابدا"];
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
/// Keywords written the same in every language the senders use (and slash commands): they
/// say nothing about the sender's language.
const NEUTRAL: &[&str] = &[
    "stop", "start", "help", "ok", "yes", "no", "cancel", "report", "?",
];
/// Courtesy words around a keyword ("STOP svp", "aide moi", "توقف من فضلك"), folded; phrases
/// first so that their words go together.
const POLITE: &[&str] = &[
    "s'il vous plait",
    "s'il te plait",
    "s il vous plait",
    "من فضلك",
    "لو سمحت",
    "بارك الله فيك",
    "svp",
    "stp",
    "please",
    "pls",
    "merci",
    "moi",
    "شكرا",
];

/// Clusters of fewer digits than this that do not look like a date are noise ("bureau 2"),
/// not a failed attempt at a NIN.
const MIN_NIN_ATTEMPT_DIGITS: usize = 6;
/// A cluster longer than this many groups is cut: no real message needs more, and the search
/// for the best pieces stays linear.
const MAX_CLUSTER_GROUPS: usize = 64;

/// Reads a message, with the current date deciding the century of two-digit years.
pub fn parse(text: &str) -> Intent {
    parse_on(text, chrono::Utc::now().date_naive())
}

/// Reads a message as of `today`.
pub fn parse_on(text: &str, today: NaiveDate) -> Intent {
    let keyword = fold_keyword(text);
    let folded = &*FOLDED;
    let is = |list: &[String]| list.contains(&keyword);
    if let Some(words) = agent_request(text) {
        return Intent::AskAgent(words);
    }
    if is(&folded.end_agent) {
        return Intent::EndAgent;
    }
    if is(&folded.help) {
        return Intent::Help;
    }
    if is(&folded.stop) {
        return Intent::StopNotices;
    }
    if is(&folded.start) {
        return Intent::StartNotices;
    }
    // Before the keywords: `/report` is the clerks' command, not the citizen's REPORT.
    if let Some(intent) = clerk_command(text) {
        return intent;
    }
    if is(&folded.report) {
        return Intent::Report;
    }
    if is(&folded.yes) {
        return Intent::Yes;
    }
    if is(&folded.no) {
        return Intent::No;
    }
    if is(&folded.arabic) {
        return Intent::ChooseLanguage(Locale::Ar);
    }
    if is(&folded.french) {
        return Intent::ChooseLanguage(Locale::Fr);
    }
    let numbers = find_numbers(text, today);
    if numbers == Numbers::default() {
        Intent::Unrecognised
    } else {
        Intent::Numbers(numbers)
    }
}

/// The words after a request for a person (`AGENT ma carte porte un autre bureau`), or
/// `None` when the message does not begin with one. "مساعدة موظف" begins with the help
/// keyword, so the two-word phrases are tried first.
fn agent_request(text: &str) -> Option<String> {
    // `/agent CODE` is a clerk's enrolment, not a request for a person.
    if text.trim_start().starts_with('/') {
        return None;
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let rest = |from: usize| words.get(from..).unwrap_or_default().join(" ");
    let folded = &*FOLDED;
    if words.len() >= 2 {
        let two = fold_keyword(&format!("{} {}", words[0], words[1]));
        if folded.agent_phrases.contains(&two) {
            return Some(rest(2));
        }
    }
    let first = fold_keyword(words.first()?);
    folded.agent.contains(&first).then(|| rest(1))
}

/// Whether a message is a keyword spelled alike in both languages (`STOP`, `OK`, `/help`),
/// which tells nothing of the sender's language.
pub fn is_neutral_keyword(text: &str) -> bool {
    let keyword = fold_keyword(text);
    text.trim_start().starts_with('/') || NEUTRAL.iter().any(|k| *k == keyword)
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

/// The keyword lists as [`fold_keyword`] leaves them, folded once: every message is compared
/// with all of them, and folding each keyword again for every message was the largest cost
/// of Maktab's own code on a lookup (see `bench/README.md`, `sms_webhook`).
struct FoldedKeywords {
    end_agent: Vec<String>,
    help: Vec<String>,
    stop: Vec<String>,
    start: Vec<String>,
    report: Vec<String>,
    yes: Vec<String>,
    no: Vec<String>,
    arabic: Vec<String>,
    french: Vec<String>,
    agent: Vec<String>,
    agent_phrases: Vec<String>,
}

/// Immutable once built: a cache of constants, not state.
static FOLDED: LazyLock<FoldedKeywords> = LazyLock::new(|| {
    let fold = |list: &[&str]| list.iter().map(|k| fold_keyword(k)).collect();
    FoldedKeywords {
        end_agent: fold(END_AGENT),
        help: fold(HELP),
        stop: fold(STOP),
        start: fold(START),
        report: fold(REPORT),
        yes: fold(YES),
        no: fold(NO),
        arabic: fold(ARABIC),
        french: fold(FRENCH),
        agent: fold(AGENT),
        agent_phrases: fold(AGENT_PHRASES),
    }
});

/// Each courtesy word as [`fold_keyword`] looks for it: alone between spaces, and before a
/// comma.
static POLITE_WORDS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    POLITE
        .iter()
        .map(|polite| (format!(" {polite} "), format!(" {polite}, ")))
        .collect()
});

/// Lower case, without accents, Arabic diacritics or tatweel, without surrounding
/// punctuation and without courtesy words, so that "Français !", "francais" and "FRANCAIS
/// svp" are the same keyword.
fn fold_keyword(text: &str) -> String {
    let trim = |text: &str| -> String {
        text.trim_matches(|c: char| {
            c != '?' && (c.is_ascii_punctuation() || c.is_whitespace() || c == '.' || c == '،')
        })
        .to_owned()
    };
    let mut folded = format!(
        " {} ",
        trim(&crate::domain::fold(text.trim()))
            .replace('’', "'")
            // "aidez-moi": the courtesy word is hyphenated to the keyword.
            .replace('-', " ")
    );
    for (alone, before_comma) in &*POLITE_WORDS {
        // Whole words only: "moi" goes, "moins" stays. Most messages hold none, so the
        // text is searched before it is copied.
        if folded.contains(alone.as_str()) {
            folded = folded.replace(alone.as_str(), " ");
        }
        if folded.contains(before_comma.as_str()) {
            folded = folded.replace(before_comma.as_str(), " ");
        }
    }
    let words: Vec<&str> = folded.split_whitespace().collect();
    let joined = trim(&words.join(" "));
    if joined.is_empty() {
        trim(&crate::domain::fold(text.trim()))
    } else {
        joined
    }
}

/// A maximal run of digits, by char index into the prepared message.
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

/// What one run of digit groups turned out to be.
enum Piece {
    Nin(NationalId),
    Birth(Birth),
    BadBirth(BirthProblem),
    BadNin(NationalIdError),
}

fn find_numbers(text: &str, today: NaiveDate) -> Numbers {
    let chars = prepare(text);
    let mut numbers = Numbers::default();
    for cluster in clusters(&chars, &groups(&chars)) {
        for piece in interpret(&chars, &cluster, today) {
            match piece {
                Piece::Nin(nin) => match &numbers.nin {
                    Some(first) if *first != nin => numbers.several_nins = true,
                    Some(_) => {}
                    None => numbers.nin = Some(nin),
                },
                Piece::Birth(birth) => {
                    numbers.birth.get_or_insert(birth);
                }
                Piece::BadBirth(problem) => {
                    numbers.bad_birth.get_or_insert(problem);
                }
                Piece::BadNin(error) => {
                    numbers.bad_nin.get_or_insert(error);
                }
            }
        }
    }
    numbers
}

/// The message with ASCII digits, month names turned into their number (`avril` → `04`),
/// `1er` into `1`, and the letters O and l (or I) typed for 0 and 1 inside digit groups
/// (`25/O4/l944`) turned into digits.
fn prepare(text: &str) -> Vec<char> {
    let chars: Vec<char> = normalize_digits(text).chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_alphanumeric() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        out.extend(prepare_word(&word).chars());
    }
    out
}

fn prepare_word(word: &str) -> String {
    let has_digit = word.chars().any(|c| c.is_ascii_digit());
    if has_digit
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 'O' | 'o' | 'l' | 'I'))
    {
        return word
            .chars()
            .map(|c| match c {
                'O' | 'o' => '0',
                'l' | 'I' => '1',
                other => other,
            })
            .collect();
    }
    if has_digit {
        let lower = word.to_lowercase();
        for ordinal in ["er", "ère", "ere", "re"] {
            if let Some(day) = lower.strip_suffix(ordinal)
                && !day.is_empty()
                && day.len() <= 2
                && day.chars().all(|c| c.is_ascii_digit())
            {
                return day.to_owned();
            }
        }
        return word.to_owned();
    }
    match month_number(word) {
        Some(month) => format!("{month:02}"),
        None => word.to_owned(),
    }
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
        let joined = clusters.last().is_some_and(|c| {
            c.len() < MAX_CLUSTER_GROUPS
                && c.last().is_some_and(|previous| {
                    let gap = &chars[previous.end..group.start];
                    let non_space = gap.iter().filter(|c| !c.is_whitespace()).count();
                    gap.len() <= 3 && non_space <= 1 && gap.iter().all(|c| is_group_separator(*c))
                })
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

fn value(chars: &[char], group: Group) -> u32 {
    chars[group.start..group.end].iter().fold(0u32, |acc, c| {
        acc.saturating_mul(10)
            .saturating_add(c.to_digit(10).unwrap_or(0))
    })
}

/// What a run of groups can be, with how strongly its shape says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Day, month and year joined by one date separator (`25/04/1944`, `25-4-44`): the
    /// strongest evidence, so `3000000000 02/04/1995` is a short NIN and a date, not 18 digits.
    SeparatedDate,
    Nin,
    /// A date without date separators: `25 04 1944`, `25041944`, `250444`.
    LooseDate,
    Year,
}

impl Shape {
    fn score(self) -> u32 {
        match self {
            Shape::SeparatedDate => 4,
            Shape::Nin => 3,
            Shape::LooseDate => 2,
            Shape::Year => 1,
        }
    }
}

/// The separator between two groups, spaces aside (`' '` if only spaces).
fn separator(chars: &[char], a: Group, b: Group) -> char {
    chars[a.end..b.start]
        .iter()
        .copied()
        .find(|c| !c.is_whitespace())
        .unwrap_or(' ')
}

fn shape(chars: &[char], groups: &[Group]) -> Option<Shape> {
    if digits_in(groups) == NationalId::DIGITS {
        return Some(Shape::Nin);
    }
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    match lengths.as_slice() {
        [1..=2, 1..=2, _] | [4, 1..=2, 1..=2] => {
            let first = separator(chars, groups[0], groups[1]);
            let second = separator(chars, groups[1], groups[2]);
            let dated = first == second && matches!(first, '/' | '-' | '.');
            let year_len = if lengths[0] == 4 { 4 } else { lengths[2] };
            if dated && (1..=5).contains(&year_len) {
                Some(Shape::SeparatedDate)
            } else if matches!(year_len, 2 | 4) {
                Some(Shape::LooseDate)
            } else {
                None
            }
        }
        [8 | 6] => {
            let group = groups[0];
            let day = value(
                chars,
                Group {
                    start: group.start,
                    end: group.start + 2,
                },
            );
            let month = value(
                chars,
                Group {
                    start: group.start + 2,
                    end: group.start + 4,
                },
            );
            ((1..=31).contains(&day) && (1..=12).contains(&month)).then_some(Shape::LooseDate)
        }
        [4] => crate::domain::BirthDate::parse(&format!("01/01/{}", value(chars, groups[0])))
            .is_ok()
            .then_some(Shape::Year),
        _ => None,
    }
}

/// The best cut of `cluster[..i]`: its score, its leftover groups, and where its last piece
/// starts with that piece's shape (`None`: a leftover group), as a back pointer.
type Best = (u32, usize, Option<(usize, Option<Shape>)>);

/// Cuts a cluster into the pieces whose shapes score best together (dynamic programming over
/// the groups); runs that fit no shape are malformed NIN attempts, or noise when short.
fn interpret(chars: &[char], cluster: &[Group], today: NaiveDate) -> Vec<Piece> {
    let n = cluster.len();
    let mut best: Vec<Best> = vec![(0, 0, None); n + 1];
    for end in 1..=n {
        // A leftover group.
        let (score, left, _) = best[end - 1];
        let mut choice = (score, left + 1, Some((end - 1, None)));
        for start in end.saturating_sub(NationalId::DIGITS)..end {
            if let Some(found) = shape(chars, &cluster[start..end]) {
                let (score, left, _) = best[start];
                let candidate = (score + found.score(), left, Some((start, Some(found))));
                if (candidate.0, std::cmp::Reverse(candidate.1))
                    > (choice.0, std::cmp::Reverse(choice.1))
                {
                    choice = candidate;
                }
            }
        }
        best[end] = choice;
    }
    // Walk back, then read the pieces in order, merging adjacent leftover groups.
    let mut spans: Vec<(usize, usize, Option<Shape>)> = Vec::new();
    let mut end = n;
    while let Some((start, found)) = best[end].2 {
        match (found, spans.last_mut()) {
            (None, Some((s, _, None))) if *s == end => *s = start,
            _ => spans.push((start, end, found)),
        }
        end = start;
    }
    spans.reverse();
    spans
        .into_iter()
        .filter_map(|(start, end, found)| {
            let groups = &cluster[start..end];
            match found {
                Some(Shape::Nin) => Some(nin_piece(chars, groups)),
                Some(_) => Some(birth_piece(chars, groups, today)),
                None if digits_in(groups) >= MIN_NIN_ATTEMPT_DIGITS => {
                    Some(wrong_length(digits_in(groups)))
                }
                None => None,
            }
        })
        .collect()
}

fn wrong_length(digits: usize) -> Piece {
    Piece::BadNin(if digits < NationalId::DIGITS {
        NationalIdError::TooShort { digits }
    } else {
        NationalIdError::TooLong { digits }
    })
}

fn nin_piece(chars: &[char], groups: &[Group]) -> Piece {
    match NationalId::parse(&text_of(chars, groups)) {
        Ok(nin) => Piece::Nin(nin),
        Err(error) => Piece::BadNin(error),
    }
}

fn birth_piece(chars: &[char], groups: &[Group], today: NaiveDate) -> Piece {
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let unreadable = Piece::BadBirth(BirthProblem::Unreadable);
    let short = |day, month, year| match BirthDate::from_short_year(day, month, year, today) {
        Ok(date) => Piece::Birth(Birth::Date(date)),
        Err(BirthDateError::AmbiguousCentury) => Piece::BadBirth(BirthProblem::AmbiguousCentury),
        Err(_) => Piece::BadBirth(BirthProblem::Unreadable),
    };
    match lengths.as_slice() {
        [4] => {
            let year = value(chars, groups[0]);
            i32::try_from(year).map_or(unreadable, |year| Piece::Birth(Birth::Year(year)))
        }
        [6] => {
            let group = groups[0];
            let part = |from: usize| {
                value(
                    chars,
                    Group {
                        start: group.start + from,
                        end: group.start + from + 2,
                    },
                )
            };
            short(part(0), part(2), part(4))
        }
        [1..=2, 1..=2, 2] => short(
            value(chars, groups[0]),
            value(chars, groups[1]),
            value(chars, groups[2]),
        ),
        _ => match BirthDate::parse(&text_of(chars, groups)) {
            Ok(date) => Piece::Birth(Birth::Date(date)),
            Err(_) => unreadable,
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn agent_keywords_ask_for_a_person_and_keep_the_words_that_follow() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(parse_on("AGENT", today), Intent::AskAgent(String::new()));
        assert_eq!(
            parse_on("conseiller ma carte porte un autre bureau", today),
            Intent::AskAgent("ma carte porte un autre bureau".to_owned())
        );
        assert_eq!(
            parse_on("موظف بطاقتي خاطئة", today),
            Intent::AskAgent("بطاقتي خاطئة".to_owned())
        );
        assert_eq!(
            parse_on("مساعدة موظف", today),
            Intent::AskAgent(String::new())
        );
        assert_eq!(parse_on("مساعدة", today), Intent::Help);
        assert_eq!(parse_on("FIN", today), Intent::EndAgent);
        assert_eq!(parse_on("إنهاء", today), Intent::EndAgent);
        assert_eq!(
            parse_on("/agent 1234", today),
            Intent::ClerkEnrol("1234".to_owned())
        );
    }

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
        assert!(found.nin.is_some() && found.birth.is_none() && found.bad_birth.is_some());
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 3).unwrap()
    }

    fn numbers_on(text: &str) -> Numbers {
        match parse_on(text, today()) {
            Intent::Numbers(numbers) => numbers,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    #[test]
    fn a_short_nin_beside_a_separated_date_is_a_short_nin_and_a_date() {
        let found = numbers_on("NIN 3000000000 02/04/1995");
        assert_eq!(
            found.bad_nin,
            Some(NationalIdError::TooShort { digits: 10 })
        );
        assert_eq!(found.birth, date("02/04/1995"));
        assert_eq!(found.nin, None);
    }

    #[test]
    fn two_nins_are_seen_as_two_whatever_separates_them() {
        for text in [
            "109870123456789012 209870123456789099",
            "109870123456789012 et 209870123456789099",
            "109870123456789012 15/03/1990 209870123456789099 20/01/1970",
        ] {
            assert!(numbers_on(text).several_nins, "{text}");
        }
        assert!(!numbers_on("109870123456789012 109870123456789012").several_nins);
    }

    #[test]
    fn dates_as_people_write_them() {
        for text in [
            "15/03/90",
            "15-3-1990",
            "15 mars 1990",
            "15 MARS 90",
            "le 15 mars 1990",
            "15 مارس 1990",
            "١٥ مارس ١٩٩٠",
            "150390",
            "15/O3/199O",
            "l5/03/1990",
        ] {
            assert_eq!(numbers_on(text).birth, date("15/03/1990"), "{text}");
        }
        assert_eq!(numbers_on("1er avril 1944").birth, date("01/04/1944"));
        assert_eq!(numbers_on("1ère avril 1944").birth, date("01/04/1944"));
        assert_eq!(numbers_on("25 avr. 1944").birth, date("25/04/1944"));
        assert_eq!(numbers_on("25 أفريل 1944").birth, date("25/04/1944"));
        assert_eq!(numbers_on("2 juil 2001").birth, date("02/07/2001"));
        assert_eq!(
            numbers_on("01/01/07").bad_birth,
            Some(BirthProblem::AmbiguousCentury)
        );
        assert_eq!(
            numbers_on("25/04/194").bad_birth,
            Some(BirthProblem::Unreadable)
        );
    }

    #[test]
    fn letters_for_digits_only_inside_digit_groups() {
        let found = numbers_on("1O987O123456789O12");
        assert_eq!(found.nin.unwrap().as_str(), NIN);
        assert_eq!(parse_on("Oran lol", today()), Intent::Unrecognised);
        assert_eq!(parse_on("COOL", today()), Intent::Unrecognised);
    }

    #[test]
    fn courtesy_words_around_keywords() {
        for text in ["AIDE MOI", "aide svp", "aidez-moi", "مساعدة من فضلك"] {
            assert_eq!(parse(text), Intent::Help, "{text}");
        }
        for text in [
            "STOP svp",
            "arrête",
            "Arrêt s'il vous plaît",
            "توقف من فضلك",
        ] {
            assert_eq!(parse(text), Intent::StopNotices, "{text}");
        }
        assert_eq!(parse("oui merci"), Intent::Yes);
        assert_eq!(parse("moins"), Intent::Unrecognised);
        assert!(is_neutral_keyword("STOP"));
        assert!(is_neutral_keyword("/aide"));
        assert!(!is_neutral_keyword("AIDE"));
    }

    fn in_script(text: &str, script: usize) -> String {
        let zero = [0x30u32, 0x0660, 0x06F0][script];
        text.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) if c.is_ascii_digit() => char::from_u32(zero + d).unwrap(),
                _ => c,
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn any_nin_and_date_in_any_layout_script_and_order_are_both_found(
            nin in "[0-9]{18}",
            days in 0i64..(70 * 365),
            layout in 0usize..7,
            script in 0usize..3,
            date_first in proptest::bool::ANY,
        ) {
            // 1930 to 1999: a two-digit year is then never ambiguous in 2026.
            let born = NaiveDate::from_ymd_opt(1930, 1, 1).unwrap() + chrono::Duration::days(days);
            let months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet",
                "août", "septembre", "octobre", "novembre", "décembre"];
            let month_ar = ["جانفي", "فيفري", "مارس", "أفريل", "ماي", "جوان", "جويلية", "أوت",
                "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"];
            let month = chrono::Datelike::month0(&born) as usize;
            let typed = match layout {
                0 => born.format("%d/%m/%Y").to_string(),
                1 => born.format("%-d-%-m-%Y").to_string(),
                2 => born.format("%d.%m.%y").to_string(),
                3 => born.format("%d%m%Y").to_string(),
                4 => born.format("%Y-%m-%d").to_string(),
                5 => format!("{} {} {}", born.format("%-d"), months[month], born.format("%Y")),
                _ => format!("{} {} {}", born.format("%d"), month_ar[month], born.format("%y")),
            };
            let text = if date_first {
                format!("{typed} {nin}")
            } else {
                format!("NIN {nin} né le {typed}")
            };
            let found = numbers_on(&in_script(&text, script));
            proptest::prop_assert_eq!(found.nin.map(|n| n.as_str().to_owned()), Some(nin));
            proptest::prop_assert_eq!(
                found.birth,
                Some(Birth::Date(BirthDate::from_date(born).unwrap()))
            );
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = parse_on(&text, today());
        }
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
