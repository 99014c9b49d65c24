//! The electoral map (communes, polling centres, stations) and the roll (voters and their
//! assignment), with the legal rules they must satisfy.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{BirthDate, NationalId, digits};

/// The legal maximum of registered voters in one polling station.
pub const DEFAULT_MAX_VOTERS_PER_STATION: u32 = 500;

/// Why a code, station number, kind or sex field is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FieldError {
    #[error("is empty")]
    Empty,
    #[error("{0:?} is not a valid code (letters, digits, '-' or '_', at most 20)")]
    BadCode(String),
    #[error("{0:?} is not a station number (1 to 9999)")]
    BadStation(String),
    #[error("{0:?} is not a station kind (mixed or women)")]
    BadKind(String),
    #[error("{0:?} is not a sex (M or F)")]
    BadSex(String),
}

fn parse_code(input: &str) -> Result<String, FieldError> {
    let code = input.trim();
    if code.is_empty() {
        return Err(FieldError::Empty);
    }
    let valid = code.len() <= 20
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(code.to_owned())
    } else {
        Err(FieldError::BadCode(code.to_owned()))
    }
}

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = FieldError;

            fn try_from(code: String) -> Result<Self, Self::Error> {
                Self::parse(&code)
            }
        }

        impl From<$name> for String {
            fn from(code: $name) -> String {
                code.0
            }
        }

        impl $name {
            /// Parses a code: ASCII letters, digits, `-` and `_`, at most 20 characters.
            pub fn parse(input: &str) -> Result<Self, FieldError> {
                parse_code(input).map(Self)
            }

            /// The code as written in the municipality's files.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_type!(
    /// The municipality's own code for a commune (there is no official national code list).
    CommuneCode
);
code_type!(
    /// The code of a polling centre, unique within its commune.
    CentreCode
);

/// A station's number within its centre, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct StationNumber(u16);

impl StationNumber {
    /// Parses a station number (1 to 9999), digits in any accepted script.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let normalized = digits::normalize(input.trim());
        if normalized.is_empty() {
            return Err(FieldError::Empty);
        }
        match normalized.parse::<u16>() {
            Ok(n) if (1..=9999).contains(&n) => Ok(Self(n)),
            _ => Err(FieldError::BadStation(input.trim().to_owned())),
        }
    }

    /// Builds a station number from a stored value.
    pub fn new(n: u16) -> Result<Self, FieldError> {
        Self::parse(&n.to_string())
    }

    /// The number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for StationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Whether a station receives every voter or women only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StationKind {
    #[default]
    Mixed,
    Women,
}

impl StationKind {
    /// Parses `mixed` or `women` (any case); an empty field means `mixed`.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "" | "mixed" => Ok(Self::Mixed),
            "women" => Ok(Self::Women),
            other => Err(FieldError::BadKind(other.to_owned())),
        }
    }

    /// The storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mixed => "mixed",
            Self::Women => "women",
        }
    }
}

/// A voter's sex as recorded on the roll, used only to check women's stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Sex {
    M,
    F,
}

impl Sex {
    /// Parses `M` or `F` (any case); an empty field means unknown.
    pub fn parse_optional(input: &str) -> Result<Option<Self>, FieldError> {
        match input.trim() {
            "" => Ok(None),
            "M" | "m" => Ok(Some(Self::M)),
            "F" | "f" => Ok(Some(Self::F)),
            other => Err(FieldError::BadSex(other.to_owned())),
        }
    }

    /// The storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::M => "M",
            Self::F => "F",
        }
    }
}

/// The full address of a polling station: commune, centre and station number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StationRef {
    pub commune: CommuneCode,
    pub centre: CentreCode,
    pub station: StationNumber,
}

impl fmt::Display for StationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.commune, self.centre, self.station)
    }
}

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bilingual {
    pub ar: String,
    pub fr: String,
}

impl Bilingual {
    /// The text in one language.
    pub fn get(&self, locale: super::Locale) -> &str {
        match locale {
            super::Locale::Ar => &self.ar,
            super::Locale::Fr => &self.fr,
        }
    }
}

/// A point in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

/// A commune as named in the map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Commune {
    pub code: CommuneCode,
    pub name: Bilingual,
}

/// A polling centre: a building holding one or more stations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Centre {
    pub commune: CommuneCode,
    pub code: CentreCode,
    pub name: Bilingual,
    pub address: Bilingual,
    pub coordinates: Option<Coordinates>,
}

/// A polling station within a centre.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Station {
    pub at: StationRef,
    pub kind: StationKind,
}

/// One version of the electoral map.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ElectoralMap {
    pub communes: Vec<Commune>,
    pub centres: Vec<Centre>,
    pub stations: Vec<Station>,
}

impl ElectoralMap {
    /// An index from station address to its kind, for validating a roll.
    pub fn station_kinds(&self) -> HashMap<&StationRef, StationKind> {
        self.stations.iter().map(|s| (&s.at, s.kind)).collect()
    }
}

/// One voter on the roll: only what the service needs to answer and to check the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    pub nin: NationalId,
    pub birth_date: BirthDate,
    pub sex: Option<Sex>,
    pub station: StationRef,
}

/// Where a voter votes, as answered to them.
#[derive(Debug, Clone, PartialEq)]
pub struct PollingPlace {
    pub commune: Commune,
    pub centre: Centre,
    pub station: StationNumber,
    pub kind: StationKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn station_numbers_accept_arabic_digits_and_reject_zero() {
        assert_eq!(StationNumber::parse("١٢").unwrap().get(), 12);
        assert!(StationNumber::parse("0").is_err());
        assert!(StationNumber::parse("x").is_err());
        assert_eq!(StationNumber::parse(" "), Err(FieldError::Empty));
    }

    #[test]
    fn codes_are_trimmed_and_restricted() {
        assert_eq!(CommuneCode::parse(" 1601 ").unwrap().as_str(), "1601");
        assert!(CentreCode::parse("C 1").is_err());
        assert!(CentreCode::parse(&"x".repeat(21)).is_err());
    }

    #[test]
    fn kind_defaults_to_mixed_and_sex_is_optional() {
        assert_eq!(StationKind::parse("").unwrap(), StationKind::Mixed);
        assert_eq!(StationKind::parse("Women").unwrap(), StationKind::Women);
        assert!(StationKind::parse("men").is_err());
        assert_eq!(Sex::parse_optional("").unwrap(), None);
        assert_eq!(Sex::parse_optional("f").unwrap(), Some(Sex::F));
        assert!(Sex::parse_optional("X").is_err());
    }
}
