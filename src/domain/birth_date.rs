//! Birth dates as people type them, used to verify that the person asking is the voter.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use thiserror::Error;

use super::digits;

/// A calendar date of birth between 1900 and 2099.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BirthDate(NaiveDate);

/// Why a text is not a birth date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BirthDateError {
    /// Not in one of the accepted layouts.
    #[error("expected a date such as 15/03/1990, 15-03-1990, 15.03.1990, 15031990 or 1990-03-15")]
    Format,
    /// The layout is right but no such day exists (31/02, month 13, ...).
    #[error("no such day in the calendar")]
    Impossible,
    /// A real day, but not a plausible birth year.
    #[error("the year must be between 1900 and 2099")]
    OutOfRange,
    /// A two-digit year that fits a voter (18 to 120 years old) in two centuries.
    #[error("the two-digit year fits two centuries: write it in full")]
    AmbiguousCentury,
}

/// The youngest and oldest a voter can be, which decides the century of a two-digit year.
pub const VOTER_AGES: std::ops::RangeInclusive<i32> = 18..=120;

/// Month names as written in Algeria, folded ([`super::fold`]): French in full and abbreviated,
/// the Arabic names used in the Maghreb (جانفي، فيفري …) and in the Mashriq (يناير، فبراير …).
const MONTHS: &[(&str, u32)] = &[
    ("janvier", 1),
    ("janv", 1),
    ("jan", 1),
    ("fevrier", 2),
    ("fevr", 2),
    ("fev", 2),
    ("mars", 3),
    ("avril", 4),
    ("avr", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("juil", 7),
    ("aout", 8),
    ("septembre", 9),
    ("sept", 9),
    ("sep", 9),
    ("octobre", 10),
    ("oct", 10),
    ("novembre", 11),
    ("nov", 11),
    ("decembre", 12),
    ("dec", 12),
    ("جانفي", 1),
    ("فيفري", 2),
    ("مارس", 3),
    ("افريل", 4),
    ("ماي", 5),
    ("جوان", 6),
    ("جويليه", 7),
    ("اوت", 8),
    ("سبتمبر", 9),
    ("اكتوبر", 10),
    ("نوفمبر", 11),
    ("ديسمبر", 12),
    ("يناير", 1),
    ("فبراير", 2),
    ("ابريل", 4),
    ("مايو", 5),
    ("يونيو", 6),
    ("يوليو", 7),
    ("اغسطس", 8),
];

/// The month a word names (`avril`, `avr`, `Août`, `أفريل`, `أبريل`), or `None`.
pub fn month_number(word: &str) -> Option<u32> {
    let folded = super::fold(word.trim_end_matches('.'));
    MONTHS
        .iter()
        .find(|(name, _)| *name == folded)
        .map(|(_, month)| *month)
}

/// The earliest and latest birth years accepted.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2099;

impl BirthDate {
    /// Parses `DD/MM/YYYY`, `DD-MM-YYYY`, `DD.MM.YYYY`, `DDMMYYYY` or `YYYY-MM-DD`, with digits in
    /// any accepted script. Day and month may have one digit (`5/3/1990`).
    ///
    /// ```
    /// use maktab::domain::{BirthDate, BirthDateError};
    ///
    /// assert_eq!(BirthDate::parse("١٥/٠٣/١٩٩٠").unwrap().to_iso(), "1990-03-15");
    /// assert_eq!(BirthDate::parse("31/02/1990"), Err(BirthDateError::Impossible));
    /// ```
    pub fn parse(input: &str) -> Result<Self, BirthDateError> {
        let normalized = digits::normalize(input);
        let groups: Vec<&str> = normalized
            .trim()
            .split(|c: char| digits::is_group_separator(c))
            .filter(|g| !g.is_empty())
            .collect();
        if groups
            .iter()
            .any(|g| !g.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(BirthDateError::Format);
        }
        let (year, month, day) = match groups.as_slice() {
            [compact] if compact.len() == 8 => (&compact[4..], &compact[2..4], &compact[..2]),
            [y, m, d]
                if y.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()) =>
            {
                (*y, *m, *d)
            }
            [d, m, y]
                if y.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()) =>
            {
                (*y, *m, *d)
            }
            _ => return Err(BirthDateError::Format),
        };
        let number = |s: &str| s.parse::<u32>().map_err(|_| BirthDateError::Format);
        let year = i32::try_from(number(year)?).map_err(|_| BirthDateError::Format)?;
        let date = NaiveDate::from_ymd_opt(year, number(month)?, number(day)?)
            .ok_or(BirthDateError::Impossible)?;
        Self::from_date(date)
    }

    /// A date written with a two-digit year (`25/04/44`): the year is the only one of the two
    /// centuries that makes the voter 18 to 120 years old on `today`.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use maktab::domain::{BirthDate, BirthDateError};
    ///
    /// let today = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
    /// assert_eq!(BirthDate::from_short_year(25, 4, 44, today).unwrap().to_iso(), "1944-04-25");
    /// assert_eq!(BirthDate::from_short_year(1, 1, 5, today).unwrap().to_iso(), "2005-01-01");
    /// assert_eq!(BirthDate::from_short_year(1, 1, 7, today), Err(BirthDateError::AmbiguousCentury));
    /// ```
    pub fn from_short_year(
        day: u32,
        month: u32,
        year: u32,
        today: NaiveDate,
    ) -> Result<Self, BirthDateError> {
        if year > 99 {
            return Err(BirthDateError::Format);
        }
        let mut fitting = Vec::new();
        for century in [1900, 2000] {
            let full = century + i32::try_from(year).map_err(|_| BirthDateError::Format)?;
            let date =
                NaiveDate::from_ymd_opt(full, month, day).ok_or(BirthDateError::Impossible)?;
            let age = today.years_since(date).map_or(-1, |age| age as i32);
            if VOTER_AGES.contains(&age) {
                fitting.push(date);
            }
        }
        match fitting.as_slice() {
            [date] => Self::from_date(*date),
            [] => Err(BirthDateError::OutOfRange),
            _ => Err(BirthDateError::AmbiguousCentury),
        }
    }

    /// Wraps a calendar date, checking the year range.
    pub fn from_date(date: NaiveDate) -> Result<Self, BirthDateError> {
        if YEARS.contains(&date.year()) {
            Ok(Self(date))
        } else {
            Err(BirthDateError::OutOfRange)
        }
    }

    /// Parses the storage form `YYYY-MM-DD`.
    pub fn from_iso(iso: &str) -> Result<Self, BirthDateError> {
        let date =
            NaiveDate::parse_from_str(iso, "%Y-%m-%d").map_err(|_| BirthDateError::Format)?;
        Self::from_date(date)
    }

    /// The storage form `YYYY-MM-DD`.
    pub fn to_iso(self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }

    /// The year of birth.
    pub fn year(self) -> i32 {
        self.0.year()
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%d/%m/%Y"))
    }
}

impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A birth date is personal data: debug output shows the year only.
        write!(f, "BirthDate({}-**-**)", self.0.year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn iso(input: &str) -> String {
        BirthDate::parse(input).unwrap().to_iso()
    }

    #[test]
    fn accepts_every_documented_layout() {
        for typed in [
            "15/03/1990",
            "15-03-1990",
            "15.03.1990",
            "15031990",
            "1990-03-15",
            "15 03 1990",
            "5/3/1990",
        ] {
            let expected = if typed == "5/3/1990" {
                "1990-03-05"
            } else {
                "1990-03-15"
            };
            assert_eq!(iso(typed), expected, "{typed}");
        }
    }

    #[test]
    fn accepts_arabic_indic_and_persian_digits() {
        assert_eq!(iso("١٥/٠٣/١٩٩٠"), "1990-03-15");
        assert_eq!(iso("۱۵-۰۳-۱۹۹۰"), "1990-03-15");
        assert_eq!(iso("١٩٩٠-03-۱۵"), "1990-03-15");
    }

    #[test]
    fn rejects_impossible_days() {
        for typed in [
            "31/02/1990",
            "29/02/1999",
            "00/01/1990",
            "12/13/1990",
            "31/04/2001",
            "32012000",
        ] {
            assert_eq!(
                BirthDate::parse(typed),
                Err(BirthDateError::Impossible),
                "{typed}"
            );
        }
        assert_eq!(iso("29/02/2000"), "2000-02-29");
    }

    #[test]
    fn rejects_other_layouts_and_implausible_years() {
        for typed in [
            "",
            "1990",
            "15/03/90",
            "15/03",
            "March 15 1990",
            "1990/3/15/1",
        ] {
            assert_eq!(
                BirthDate::parse(typed),
                Err(BirthDateError::Format),
                "{typed}"
            );
        }
        assert_eq!(
            BirthDate::parse("01/01/1850"),
            Err(BirthDateError::OutOfRange)
        );
    }

    #[test]
    fn a_two_digit_year_takes_the_century_that_makes_a_voter() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        let short = |d, m, y| BirthDate::from_short_year(d, m, y, today).map(BirthDate::to_iso);
        assert_eq!(short(25, 4, 44), Ok("1944-04-25".to_owned()));
        assert_eq!(short(15, 3, 90), Ok("1990-03-15".to_owned()));
        assert_eq!(
            short(3, 11, 8),
            Err(BirthDateError::AmbiguousCentury),
            "18 or 118"
        );
        assert_eq!(
            short(4, 11, 8),
            Ok("1908-11-04".to_owned()),
            "2008 is 17 today"
        );
        assert_eq!(short(1, 1, 5), Ok("2005-01-01".to_owned()), "1905 is 121");
        assert_eq!(short(1, 1, 6), Err(BirthDateError::AmbiguousCentury));
        assert_eq!(
            short(1, 1, 12),
            Ok("1912-01-01".to_owned()),
            "2012 is too young"
        );
        assert_eq!(short(31, 2, 44), Err(BirthDateError::Impossible));
    }

    #[test]
    fn month_names_in_french_and_both_arabic_usages() {
        for (word, month) in [
            ("avril", 4),
            ("avr.", 4),
            ("Août", 8),
            ("FÉVRIER", 2),
            ("févr.", 2),
            ("أفريل", 4),
            ("أبريل", 4),
            ("جويلية", 7),
            ("أغسطس", 8),
            ("ديسمبر", 12),
        ] {
            assert_eq!(month_number(word), Some(month), "{word}");
        }
        assert_eq!(month_number("avenue"), None);
    }

    #[test]
    fn debug_hides_day_and_month() {
        let date = BirthDate::parse("15/03/1990").unwrap();
        assert_eq!(format!("{date:?}"), "BirthDate(1990-**-**)");
        assert_eq!(date.to_string(), "15/03/1990");
    }

    fn to_script(text: &str, script: usize) -> String {
        let base = [0x30u32, 0x0660, 0x06F0][script];
        text.chars()
            .map(|c| match c.to_digit(10) {
                Some(v) => char::from_u32(base + v).unwrap(),
                None => c,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn every_valid_date_round_trips_through_every_layout_and_script(
            days in 0i64..(200 * 365), layout in 0usize..5, script in 0usize..3,
        ) {
            let date = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
            let typed = match layout {
                0 => date.format("%d/%m/%Y"),
                1 => date.format("%d-%m-%Y"),
                2 => date.format("%d.%m.%Y"),
                3 => date.format("%d%m%Y"),
                _ => date.format("%Y-%m-%d"),
            }
            .to_string();
            let parsed = BirthDate::parse(&to_script(&typed, script)).unwrap();
            prop_assert_eq!(parsed.to_iso(), date.format("%Y-%m-%d").to_string());
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = BirthDate::parse(&text);
        }
    }
}
