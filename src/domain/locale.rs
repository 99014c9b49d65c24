//! The two languages Maktab speaks, and how a message's language is recognised.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language a voter can be answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// Arabic, the default.
    Ar,
    /// French.
    Fr,
}

impl Locale {
    /// Every supported locale.
    pub const ALL: [Locale; 2] = [Locale::Ar, Locale::Fr];

    /// The BCP 47 code, `ar` or `fr`.
    pub fn code(self) -> &'static str {
        match self {
            Locale::Ar => "ar",
            Locale::Fr => "fr",
        }
    }

    /// The language a text is written in, from its letters: Arabic letters mean `ar`, Latin
    /// letters `fr`; the larger count wins in a mixed text. `None` when the text has no letters
    /// (digits and punctuation only), so the caller falls back to what it knows of the sender.
    pub fn detect(text: &str) -> Option<Locale> {
        let (mut arabic, mut latin) = (0usize, 0usize);
        for c in text.chars() {
            if is_arabic_letter(c) {
                arabic += 1;
            } else if c.is_alphabetic() && is_latin(c) {
                latin += 1;
            }
        }
        match (arabic, latin) {
            (0, 0) => None,
            (a, l) if a >= l => Some(Locale::Ar),
            _ => Some(Locale::Fr),
        }
    }
}

fn is_arabic_letter(c: char) -> bool {
    let in_block = matches!(
        c,
        '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}'
    );
    in_block && c.is_alphabetic()
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{00C0}'..='\u{024F}')
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The text is not `ar` or `fr`.
#[derive(Debug, thiserror::Error)]
#[error("unknown locale {0:?}: expected ar or fr")]
pub struct UnknownLocale(String);

impl FromStr for Locale {
    type Err = UnknownLocale;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ar" => Ok(Locale::Ar),
            "fr" => Ok(Locale::Fr),
            _ => Err(UnknownLocale(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_script_of_the_message() {
        assert_eq!(Locale::detect("رقمي 123"), Some(Locale::Ar));
        assert_eq!(Locale::detect("mon numéro 123"), Some(Locale::Fr));
        assert_eq!(Locale::detect("١٢٣ 15/03/1990"), None);
        assert_eq!(Locale::detect("  ? "), None);
        assert_eq!(Locale::detect("NIN رقم التعريف"), Some(Locale::Ar));
    }

    #[test]
    fn arabic_indic_digits_are_not_letters() {
        assert_eq!(Locale::detect("١٢٣٤٥٦٧٨٩٠"), None);
    }

    #[test]
    fn parses_codes() {
        assert_eq!("FR".parse::<Locale>().unwrap(), Locale::Fr);
        assert!("en".parse::<Locale>().is_err());
    }
}
