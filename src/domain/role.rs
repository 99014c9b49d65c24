//! Who may do what through the admin API and the command line.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The role an admin token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The national authority: everything, every commune.
    National,
    /// A municipal election office: imports, statistics and audit of its communes.
    CommuneAdmin,
    /// Supervises the clerks collecting missing-from-the-roll reports in its communes.
    ClerkSupervisor,
    /// Reads what its communes' (or, with none, every commune's) offices read; changes nothing.
    /// For monitoring cells and partners; a console role (tokens do not take it).
    Observer,
}

impl Role {
    /// The storage and command-line form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::National => "national",
            Self::CommuneAdmin => "commune_admin",
            Self::ClerkSupervisor => "clerk_supervisor",
            Self::Observer => "observer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a role.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected national, commune_admin, clerk_supervisor or observer")]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "national" => Ok(Self::National),
            "commune_admin" => Ok(Self::CommuneAdmin),
            "clerk_supervisor" => Ok(Self::ClerkSupervisor),
            "observer" => Ok(Self::Observer),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}
