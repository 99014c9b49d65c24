//! The duty roster: shifts per duty cell (a commune, a wilaya's cell, the national cell), who
//! is on duty now, and when duty resumes for a voter who writes out of hours.

use std::fmt;
use std::str::FromStr;

use crate::domain::{CommuneCode, Timestamp};
use crate::store::{Shift, Store, StoreError};

/// A duty cell: who a shift covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    /// A commune's own duty.
    Commune(CommuneCode),
    /// A wilaya's cell (`w16`), which escalated tickets of its communes reach.
    Wilaya(String),
    /// The national cell (`national`).
    National,
}

impl Cell {
    /// The cell of the wilaya a commune belongs to: its code's first two digits.
    pub fn wilaya_of(commune: &CommuneCode) -> Self {
        Self::Wilaya(commune.as_str().chars().take(2).collect())
    }

    /// The stored form: `1601`, `w16`, `national`.
    pub fn key(&self) -> String {
        match self {
            Self::Commune(code) => code.as_str().to_owned(),
            Self::Wilaya(wilaya) => format!("w{wilaya}"),
            Self::National => "national".to_owned(),
        }
    }

    /// The communes whose tickets this cell sees, for the office's scope: a commune cell
    /// names its commune; wider cells are national business.
    pub fn commune(&self) -> Option<&CommuneCode> {
        match self {
            Self::Commune(code) => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl FromStr for Cell {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("national") {
            return Ok(Self::National);
        }
        if let Some(wilaya) = s.strip_prefix(['w', 'W'])
            && wilaya.len() == 2
            && wilaya.chars().all(|c| c.is_ascii_digit())
        {
            return Ok(Self::Wilaya(wilaya.to_owned()));
        }
        CommuneCode::parse(s)
            .map(Self::Commune)
            .map_err(|_| format!("{s:?}: expected a commune code, wNN (a wilaya) or national"))
    }
}

/// When a person will answer a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// Someone is on duty now.
    Now,
    /// Nobody now; the next shift starts then.
    From(Timestamp),
    /// No shift is planned.
    Unknown,
}

/// The shifts of these cells under way at `now`.
pub async fn on_duty(
    store: &dyn Store,
    cells: &[Cell],
    now: Timestamp,
) -> Result<Vec<Shift>, StoreError> {
    let keys: Vec<String> = cells.iter().map(Cell::key).collect();
    Ok(store
        .shifts(Some(&keys), now)
        .await?
        .into_iter()
        .filter(|shift| shift.starts_at <= now)
        .collect())
}

/// Whether someone of these cells is on duty now, or when the next shift starts.
pub async fn availability(
    store: &dyn Store,
    cells: &[Cell],
    now: Timestamp,
) -> Result<Availability, StoreError> {
    let keys: Vec<String> = cells.iter().map(Cell::key).collect();
    let shifts = store.shifts(Some(&keys), now).await?;
    if shifts.iter().any(|shift| shift.starts_at <= now) {
        return Ok(Availability::Now);
    }
    Ok(shifts
        .iter()
        .map(|shift| shift.starts_at)
        .min()
        .map_or(Availability::Unknown, Availability::From))
}

/// A time as voters read it: Algerian time (UTC+1, no daylight saving), `15/03 08:00`.
pub fn local_time(at: Timestamp) -> String {
    let utc = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
    match chrono::FixedOffset::east_opt(3600) {
        Some(algiers) => utc
            .with_timezone(&algiers)
            .format("%d/%m %H:%M")
            .to_string(),
        None => utc.format("%d/%m %H:%M").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_communes_wilayas_or_national() {
        assert_eq!("national".parse::<Cell>(), Ok(Cell::National));
        assert_eq!("w16".parse::<Cell>(), Ok(Cell::Wilaya("16".to_owned())));
        let commune = CommuneCode::parse("1601").unwrap();
        assert_eq!("1601".parse::<Cell>(), Ok(Cell::Commune(commune.clone())));
        assert_eq!(Cell::wilaya_of(&commune).key(), "w16");
        assert!("16 01".parse::<Cell>().is_err());
    }

    #[test]
    fn local_time_is_algerian_time() {
        // 2026-03-15 07:00 UTC is 08:00 in Algiers.
        assert_eq!(local_time(1_773_558_000), "15/03 08:00");
    }
}
