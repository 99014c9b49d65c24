//! Domain values, parsed once at the edge: national ID numbers, birth dates, phone numbers,
//! locales, and the electoral map and roll with their rules.

mod birth_date;
mod channel;
mod digits;
mod electoral;
mod locale;
mod national_id;
mod phone;
mod role;
mod text;

pub use birth_date::{BirthDate, BirthDateError, VOTER_AGES, month_number};
pub use channel::{Capabilities, Channel, UnknownChannel, mask_sender};
pub use digits::{
    ascii_digit, is_group_separator, is_invisible_mark, normalize as normalize_digits,
};
pub use electoral::{
    Bilingual, Centre, CentreCode, Commune, CommuneCode, Coordinates,
    DEFAULT_MAX_VOTERS_PER_STATION, ElectoralMap, FieldError, PollingPlace, Sex, Station,
    StationKind, StationNumber, StationRef, Voter,
};
pub use locale::{Locale, UnknownLocale};
pub use national_id::{NationalId, NationalIdError};
pub use phone::{PhoneNumber, PhoneNumberError};
pub use role::{Role, UnknownRole};
pub use text::fold;

/// Seconds since the Unix epoch, the one time representation stored in the database.
pub type Timestamp = i64;

/// The current time as a [`Timestamp`].
pub fn now() -> Timestamp {
    chrono::Utc::now().timestamp()
}
