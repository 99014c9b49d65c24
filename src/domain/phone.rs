//! Phone numbers in E.164 form, the one identity of an SMS sender. Gateways and people write
//! the same Algerian number many ways (`0550 12 34 56`, `+213 550 12 34 56`, `00213550123456`,
//! `213550123456`, Arabic-Indic digits); they all parse to `+213550123456`, so one voter has
//! one dialogue, one language and one abuse-limit counter whichever way the gateway spelled
//! the number. `Display` and `Debug` mask the number: logs never hold a full phone number.

use std::fmt;

use thiserror::Error;

use super::digits::{ascii_digit, is_invisible_mark};

/// Algeria's country calling code.
const ALGERIA: &str = "213";
/// E.164 allows at most 15 digits after the `+`.
const MAX_DIGITS: usize = 15;
/// Shorter international numbers do not exist (the shortest plans have 7 or 8 digits).
const MIN_DIGITS: usize = 8;

/// A phone number in E.164 form (`+` and 8 to 15 digits).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a text is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneNumberError {
    #[error("a phone number holds digits, found {0:?}")]
    InvalidCharacter(char),
    #[error("a phone number needs at least {MIN_DIGITS} digits, found {0}")]
    TooShort(usize),
    #[error("an E.164 phone number has at most {MAX_DIGITS} digits, found {0}")]
    TooLong(usize),
    #[error("an Algerian number has 8 or 9 digits after 0 or +213, found {0}")]
    AlgerianLength(usize),
    #[error("a country code does not start with 0")]
    CountryCodeZero,
}

impl PhoneNumber {
    /// Parses a number as gateways and people write it.
    ///
    /// - `+CC...` and `00CC...` are international;
    /// - `0...` is an Algerian national number (trunk prefix 0, then 8 or 9 digits);
    /// - bare digits starting with `213` and 11 or 12 digits long are international numbers
    ///   whose `+` the gateway dropped (Kannel and Infobip do); other bare digits of Algerian
    ///   length (8 or 9) are taken as a national number without its 0;
    /// - spaces, dashes, dots, parentheses and direction marks are ignored; a `(0)` after the
    ///   country code is dropped; digits may be Arabic-Indic or Persian.
    ///
    /// ```
    /// use maktab::domain::PhoneNumber;
    ///
    /// let a = PhoneNumber::parse("0550 12 34 56").unwrap();
    /// let b = PhoneNumber::parse("+213 (0)550-12-34-56").unwrap();
    /// let c = PhoneNumber::parse("٠٠٢١٣٥٥٠١٢٣٤٥٦").unwrap();
    /// assert_eq!(a, b);
    /// assert_eq!(b, c);
    /// assert_eq!(a.as_str(), "+213550123456");
    /// assert_eq!(a.to_string(), "+213*******56");
    /// ```
    pub fn parse(text: &str) -> Result<Self, PhoneNumberError> {
        let mut digits = String::with_capacity(16);
        let mut plus = false;
        let mut chars = text.trim().chars().peekable();
        while let Some(c) = chars.next() {
            if let Some(digit) = ascii_digit(c) {
                digits.push(digit);
            } else if c == '+' && digits.is_empty() && !plus {
                plus = true;
            } else if c == '(' {
                // "+213 (0) 550...": the national trunk prefix written beside the country code.
                let rest: String = chars.clone().take(2).collect();
                if rest == "0)" && (plus || digits.starts_with("00")) {
                    chars.next();
                    chars.next();
                }
            } else if matches!(c, ' ' | '-' | '.' | ')' | '/' | '\u{00A0}' | '\u{202F}')
                || is_invisible_mark(c)
            {
            } else {
                return Err(PhoneNumberError::InvalidCharacter(c));
            }
        }
        let international = if plus {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else if let Some(national) = digits.strip_prefix('0') {
            algerian(national)?
        } else if digits.starts_with(ALGERIA) && matches!(digits.len(), 11 | 12) {
            digits
        } else if matches!(digits.len(), 8 | 9) {
            algerian(&digits)?
        } else {
            digits
        };
        Self::from_international(international)
    }

    fn from_international(digits: String) -> Result<Self, PhoneNumberError> {
        if digits.starts_with('0') {
            return Err(PhoneNumberError::CountryCodeZero);
        }
        let digits = match digits.strip_prefix(ALGERIA) {
            // "+213 0550...": people keep the trunk prefix after the country code.
            Some(national) if national.len() == 10 && national.starts_with('0') => {
                algerian(&national[1..])?
            }
            Some(national) => algerian(national)?,
            None => digits,
        };
        match digits.len() {
            n if n < MIN_DIGITS => Err(PhoneNumberError::TooShort(n)),
            n if n > MAX_DIGITS => Err(PhoneNumberError::TooLong(n)),
            _ => Ok(Self(format!("+{digits}"))),
        }
    }

    /// The full E.164 form, `+213550123456`: for storage and for sending, never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+`, as some gateways want them (`213550123456`).
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// The masked form that `Display` prints: the country code for Algeria, the last two
    /// digits, stars in between.
    pub fn masked(&self) -> String {
        let keep_head = if self.0.starts_with("+213") { 4 } else { 1 };
        let len = self.0.len();
        let stars = len.saturating_sub(keep_head + 2);
        format!(
            "{}{}{}",
            &self.0[..keep_head],
            "*".repeat(stars),
            &self.0[len - 2..]
        )
    }
}

/// `+213` and the national significant number, which has 9 digits for mobiles (5, 6, 7) and 8
/// for fixed lines.
fn algerian(national: &str) -> Result<String, PhoneNumberError> {
    match national.len() {
        8 | 9 => Ok(format!("{ALGERIA}{national}")),
        n => Err(PhoneNumberError::AlgerianLength(n)),
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl std::str::FromStr for PhoneNumber {
    type Err = PhoneNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(text: &str) -> String {
        PhoneNumber::parse(text)
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn every_way_of_writing_an_algerian_mobile_is_the_same_number() {
        for text in [
            "0550123456",
            "0550 12 34 56",
            "05.50.12.34.56",
            "+213550123456",
            "+213 550 12 34 56",
            "+213 (0)550 12 34 56",
            "+213 0550 12 34 56",
            "00213550123456",
            "213550123456",
            "550123456",
            "٠٥٥٠١٢٣٤٥٦",
            "۰۵۵۰ ۱۲ ۳۴ ۵۶",
            "\u{200F}+213 550-12-34-56",
        ] {
            assert_eq!(e164(text), "+213550123456", "{text}");
        }
    }

    #[test]
    fn fixed_lines_and_foreign_numbers() {
        assert_eq!(e164("021 23 45 67"), "+21321234567");
        assert_eq!(e164("+33 6 12 34 56 78"), "+33612345678");
        assert_eq!(e164("0033612345678"), "+33612345678");
        assert_eq!(e164("+1 (415) 555-0100"), "+14155550100");
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        assert_eq!(
            PhoneNumber::parse("Maktab"),
            Err(PhoneNumberError::InvalidCharacter('M'))
        );
        assert_eq!(
            PhoneNumber::parse("05501234"),
            Err(PhoneNumberError::AlgerianLength(7))
        );
        assert!(PhoneNumber::parse("05501234567").is_err());
        assert!(PhoneNumber::parse("").is_err());
        assert!(PhoneNumber::parse("+").is_err());
        assert!(PhoneNumber::parse("+1234").is_err());
        assert!(PhoneNumber::parse("+1234567890123456").is_err());
        assert!(PhoneNumber::parse("+0123456789").is_err());
        assert!(PhoneNumber::parse("+213 55 01").is_err());
        assert!(PhoneNumber::parse("++213550123456").is_err());
    }

    #[test]
    fn display_and_debug_are_masked() {
        let phone = PhoneNumber::parse("0550123456").unwrap();
        assert_eq!(phone.to_string(), "+213*******56");
        assert_eq!(format!("{phone:?}"), "PhoneNumber(+213*******56)");
        assert!(!format!("{phone} {phone:?}").contains("550123"));
        let foreign = PhoneNumber::parse("+33612345678").unwrap();
        assert_eq!(foreign.to_string(), "+*********78");
        assert_eq!(phone.digits(), "213550123456");
    }

    fn to_arabic_indic(text: &str) -> String {
        text.chars()
            .map(|c| {
                c.to_digit(10)
                    .and_then(|d| char::from_u32(0x0660 + d))
                    .unwrap_or(c)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn national_and_international_forms_agree(
            prefix in prop::sample::select(vec!['5', '6', '7']),
            rest in "[0-9]{8}",
            grouping in 0usize..3,
        ) {
            let national = format!("0{prefix}{rest}");
            let expected = format!("+213{prefix}{rest}");
            let spaced: String = national
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let sep = if grouping > 0 && i > 0 && i % 2 == 0 { Some(' ') } else { None };
                    sep.into_iter().chain(std::iter::once(c))
                })
                .collect();
            for text in [
                national.clone(),
                spaced,
                format!("+213 {prefix}{rest}"),
                format!("00213{prefix}{rest}"),
                to_arabic_indic(&national),
            ] {
                let parsed = PhoneNumber::parse(&text).unwrap();
                prop_assert_eq!(parsed.as_str(), expected.as_str());
                // Parsing the canonical form again is the identity.
                prop_assert_eq!(PhoneNumber::parse(parsed.as_str()).unwrap(), parsed.clone());
                prop_assert!(!parsed.to_string().contains(&rest[..6]));
            }
        }

        #[test]
        fn never_panics_and_accepts_only_e164(text in "\\PC{0,40}") {
            if let Ok(phone) = PhoneNumber::parse(&text) {
                let s = phone.as_str();
                prop_assert!(s.starts_with('+'));
                prop_assert!(s[1..].chars().all(|c| c.is_ascii_digit()));
                prop_assert!((MIN_DIGITS..=MAX_DIGITS).contains(&(s.len() - 1)));
            }
        }
    }
}
