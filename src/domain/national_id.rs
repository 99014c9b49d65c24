//! The national identification number (NIN): 18 digits. Its check-key algorithm is not
//! published, so only the format is validated.

use std::fmt;

use thiserror::Error;

use super::digits;

/// An 18-digit national identification number, kept as a string because leading zeros matter.
///
/// `Display` and `Debug` show a masked form so that a NIN never lands whole in a log line;
/// [`NationalId::as_str`] gives the full number where it is really needed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NationalId(String);

/// Why a text is not a national identification number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NationalIdError {
    #[error("a national identification number has 18 digits, found {digits}")]
    TooShort { digits: usize },
    #[error("a national identification number has 18 digits, found {digits}")]
    TooLong { digits: usize },
    #[error("a national identification number is made of digits only")]
    NotANumber,
}

impl NationalId {
    /// Number of digits in a NIN.
    pub const DIGITS: usize = 18;

    /// Parses a NIN as people type it: digits in any accepted script, with spaces, dashes, dots
    /// or slashes between digit groups.
    ///
    /// ```
    /// use maktab::domain::{NationalId, NationalIdError};
    ///
    /// let typed = "١٠٩٨٧٠ 123456-789012";
    /// assert_eq!(NationalId::parse(typed).unwrap().as_str(), "109870123456789012");
    /// assert_eq!(NationalId::parse("12345"), Err(NationalIdError::TooShort { digits: 5 }));
    /// ```
    pub fn parse(input: &str) -> Result<Self, NationalIdError> {
        let mut canonical = String::with_capacity(Self::DIGITS);
        // Marks seen since the last digit: at most one of them may be something other than a
        // space ("123 - 456" is fine, "123--456" is not).
        let mut marks_since_digit = 0usize;
        let mut separator_since_digit = false;
        for c in input
            .trim()
            .chars()
            .filter(|c| !digits::is_invisible_mark(*c))
        {
            if let Some(d) = digits::ascii_digit(c) {
                canonical.push(d);
                marks_since_digit = 0;
                separator_since_digit = false;
            } else if digits::is_group_separator(c) && !canonical.is_empty() {
                marks_since_digit += 1;
                if c != ' ' && c != '\u{00A0}' {
                    if separator_since_digit {
                        return Err(NationalIdError::NotANumber);
                    }
                    separator_since_digit = true;
                }
            } else {
                return Err(NationalIdError::NotANumber);
            }
        }
        if canonical.is_empty() || marks_since_digit > 0 {
            return Err(NationalIdError::NotANumber);
        }
        match canonical.len() {
            n if n < Self::DIGITS => Err(NationalIdError::TooShort { digits: n }),
            n if n > Self::DIGITS => Err(NationalIdError::TooLong { digits: n }),
            _ => Ok(Self(canonical)),
        }
    }

    /// The 18 ASCII digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first two and last two digits, for logs and operator messages.
    pub fn masked(&self) -> String {
        format!("{}**************{}", &self.0[..2], &self.0[16..])
    }

    /// A compact key for in-memory duplicate detection during large imports. Lossless for
    /// exactly 18 digits (10^18 < 2^64); never stored, so leading zeros are not at risk.
    pub fn dedup_key(&self) -> u64 {
        self.0
            .bytes()
            .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'))
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalId({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NIN: &str = "109870123456789012";

    #[test]
    fn accepts_plain_ascii_digits() {
        assert_eq!(NationalId::parse(NIN).unwrap().as_str(), NIN);
    }

    #[test]
    fn accepts_arabic_indic_and_persian_digits_mixed() {
        let typed = "١٠٩٨٧٠۱۲۳۴۵۶789012";
        assert_eq!(NationalId::parse(typed).unwrap().as_str(), NIN);
    }

    #[test]
    fn accepts_separators_between_groups() {
        for typed in [
            "109870 123456 789012",
            "109870-123456-789012",
            "109.870.123.456.789.012",
            "109870/123456/789012",
            "109870 - 123456 - 789012",
            "  109870123456789012  ",
        ] {
            assert_eq!(NationalId::parse(typed).unwrap().as_str(), NIN, "{typed}");
        }
    }

    #[test]
    fn keeps_leading_zeros() {
        let nin = NationalId::parse("000000000000000042").unwrap();
        assert_eq!(nin.as_str(), "000000000000000042");
        assert_eq!(nin.dedup_key(), 42);
    }

    #[test]
    fn reports_too_short_and_too_long_with_the_digit_count() {
        assert_eq!(
            NationalId::parse("12345678901234567"),
            Err(NationalIdError::TooShort { digits: 17 })
        );
        assert_eq!(
            NationalId::parse("1234567890123456789"),
            Err(NationalIdError::TooLong { digits: 19 })
        );
    }

    #[test]
    fn rejects_letters_and_stray_separators() {
        for typed in [
            "",
            "abc",
            "10987012345678901X",
            "-109870123456789012",
            "109870123456789012-",
            "1098--70123456789012",
        ] {
            assert_eq!(
                NationalId::parse(typed),
                Err(NationalIdError::NotANumber),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn display_and_debug_never_show_the_whole_number() {
        let nin = NationalId::parse(NIN).unwrap();
        assert_eq!(nin.to_string(), "10**************12");
        assert!(!format!("{nin:?}").contains(NIN));
    }

    fn any_script_digit() -> impl Strategy<Value = (char, char)> {
        (0u32..10, 0usize..3).prop_map(|(value, script)| {
            let base = [0x30, 0x0660, 0x06F0][script];
            (
                char::from_u32(base + value).unwrap(),
                char::from_digit(value, 10).unwrap(),
            )
        })
    }

    proptest! {
        #[test]
        fn any_18_digits_in_any_script_with_any_separators_parse_to_the_ascii_digits(
            digits in proptest::collection::vec(any_script_digit(), 18),
            separators in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("."), Just("/"), Just(" - ")], 17),
        ) {
            let mut typed = String::new();
            let mut expected = String::new();
            for (i, (typed_digit, ascii)) in digits.iter().enumerate() {
                if i > 0 {
                    typed.push_str(separators[i - 1]);
                }
                typed.push(*typed_digit);
                expected.push(*ascii);
            }
            let parsed = NationalId::parse(&typed).unwrap();
            prop_assert_eq!(parsed.as_str(), expected.as_str());
        }

        #[test]
        fn any_other_digit_count_is_reported_with_its_length(len in 1usize..40) {
            prop_assume!(len != 18);
            let typed = "7".repeat(len);
            let expected = if len < 18 {
                NationalIdError::TooShort { digits: len }
            } else {
                NationalIdError::TooLong { digits: len }
            };
            prop_assert_eq!(NationalId::parse(&typed), Err(expected));
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = NationalId::parse(&text);
        }
    }
}
