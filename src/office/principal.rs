//! Who acts, and what they may do: the [`Principal`] of every office action, its role's
//! [`Permission`]s and its commune scope. Every office action asks here, so that the rules are
//! written once for the API, the command line and the console.

use serde::Serialize;
use utoipa::ToSchema;

use super::error::OfficeError;
use crate::domain::{CommuneCode, Role, Timestamp};
use crate::store::NewAuditEntry;

/// What a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Import the map or the roll and decide on change sets (of one's communes).
    Import,
    /// Read import versions, change sets, campaigns, statistics and the audit log (of one's
    /// communes).
    Monitor,
    /// Write and send broadcasts (to one's communes).
    Broadcast,
    /// Follow reports of citizens missing from the roll and manage clerks (of one's communes).
    Reports,
    /// Create, list and revoke admin tokens (national only: a token's scope is set by it).
    Tokens,
    /// Create, list, disable console users and reset their passwords (national only, for the
    /// same reason).
    Users,
}

/// Whether `role` may do what `permission` covers. Exposed so that the console can hide what a
/// user may not do; the office still decides on every action.
pub fn allows(role: Role, permission: Permission) -> bool {
    match role {
        Role::National => true,
        Role::CommuneAdmin => matches!(
            permission,
            Permission::Import | Permission::Monitor | Permission::Broadcast | Permission::Reports
        ),
        // Clerk supervisors only manage missing-from-the-roll reports.
        Role::ClerkSupervisor => permission == Permission::Reports,
        // Monitoring cells and partners read; they change nothing.
        Role::Observer => permission == Permission::Monitor,
    }
}

/// The authenticated caller of an office action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Principal {
    /// The stable identity: `token:12`, `user:7`, `cli:root`. Names are for people; the
    /// two-person rule and the audit log rest on this.
    pub id: String,
    /// The display name (a token's name, a user's login), shown beside the id.
    pub name: String,
    pub role: Role,
    #[schema(value_type = Vec<String>)]
    pub communes: Vec<CommuneCode>,
    pub expires_at: Option<Timestamp>,
}

impl Principal {
    /// The principal of the command line: national rights, recorded with the system user.
    pub fn command_line() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
        Self {
            id: format!("cli:{user}"),
            name: "command line".to_owned(),
            role: Role::National,
            communes: Vec::new(),
            expires_at: None,
        }
    }

    /// National rights: every commune.
    pub fn is_national(&self) -> bool {
        self.role == Role::National
    }

    /// Sees every commune: a national principal, or an observer given no commune (a national
    /// monitoring cell). Seeing is all an observer does, so this widens no right to change.
    pub fn sees_all(&self) -> bool {
        self.is_national() || (self.role == Role::Observer && self.communes.is_empty())
    }

    /// How the principal is recorded as an actor: the name with the identity,
    /// `Oran office (token:12)`.
    pub fn actor(&self) -> String {
        format!("{} ({})", self.name, self.id)
    }

    /// Whether `recorded` (an actor as [`Self::actor`] wrote it) is this principal. Identities
    /// are compared, never names: two tokens may once have shared a name. An actor recorded
    /// before identities existed carries only a name; that name is compared, so that such an
    /// old record still refuses its importer.
    pub fn is_actor(&self, recorded: &str) -> bool {
        match actor_identity(recorded) {
            Some(id) => id == self.id,
            None => recorded == self.name,
        }
    }

    /// Refuses what the role may not do.
    pub fn require(&self, permission: Permission) -> Result<(), OfficeError> {
        if allows(self.role, permission) {
            Ok(())
        } else {
            Err(OfficeError::Forbidden(format!(
                "a {} token may not do this",
                self.role
            )))
        }
    }

    /// The communes a request may cover. `None` means every commune (national). A commune the
    /// principal does not cover is refused, never answered with an empty result. (The message
    /// names the commune: the caller named it first.)
    pub fn scope(
        &self,
        requested: Option<&CommuneCode>,
    ) -> Result<Option<Vec<CommuneCode>>, OfficeError> {
        if self.sees_all() {
            return Ok(requested.map(|c| vec![c.clone()]));
        }
        match requested {
            Some(commune) if self.communes.contains(commune) => Ok(Some(vec![commune.clone()])),
            Some(commune) => Err(OfficeError::Forbidden(format!(
                "this token does not cover commune {commune}"
            ))),
            None => Ok(Some(self.communes.clone())),
        }
    }

    /// Whether an object concerning these communes is the principal's: national sees
    /// everything; anyone else only objects that concern communes and only theirs (an object
    /// of no commune is national business).
    pub fn covers(&self, communes: &[CommuneCode]) -> bool {
        self.sees_all()
            || (!communes.is_empty() && communes.iter().all(|c| self.communes.contains(c)))
    }

    /// Refuses an object (`what`, e.g. "change set 4") that [`Self::covers`] does not allow.
    /// The message does not name the object's communes: they are not the caller's to know.
    pub fn require_cover(&self, communes: &[CommuneCode], what: &str) -> Result<(), OfficeError> {
        if self.covers(communes) {
            Ok(())
        } else if communes.is_empty() {
            Err(OfficeError::Forbidden(format!(
                "{what} is national: it needs a national token"
            )))
        } else {
            Err(OfficeError::Forbidden(format!(
                "{what} concerns communes this token does not cover"
            )))
        }
    }

    /// The communes an import may change (`None`: all).
    pub fn import_scope(&self) -> Option<Vec<CommuneCode>> {
        (!self.is_national()).then(|| self.communes.clone())
    }

    /// An audit entry written by this principal.
    pub fn audit(
        &self,
        action: &str,
        communes: Vec<CommuneCode>,
        details: serde_json::Value,
    ) -> NewAuditEntry {
        NewAuditEntry {
            at: crate::domain::now(),
            actor: self.actor(),
            action: action.to_owned(),
            communes,
            details,
        }
    }
}

/// The identity inside a recorded actor, `name (kind:id)`; `None` for a bare name.
fn actor_identity(recorded: &str) -> Option<&str> {
    let inner = recorded.strip_suffix(')')?;
    let (_, id) = inner.rsplit_once(" (")?;
    let (kind, rest) = id.split_once(':')?;
    (!kind.is_empty() && !rest.is_empty() && !kind.contains(' ')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commune(code: &str) -> CommuneCode {
        CommuneCode::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"))
    }

    fn oran() -> Principal {
        Principal {
            id: "token:1".to_owned(),
            name: "Oran office".to_owned(),
            role: Role::CommuneAdmin,
            communes: vec![commune("3101")],
            expires_at: None,
        }
    }

    #[test]
    fn a_commune_office_covers_only_objects_wholly_of_its_communes() {
        let oran = oran();
        assert!(oran.covers(&[commune("3101")]));
        assert!(!oran.covers(&[commune("3101"), commune("1601")]));
        assert!(!oran.covers(&[]), "national objects are not a commune's");
        assert!(Principal::command_line().covers(&[]));
        let refused = oran.require_cover(&[commune("1601")], "change set 4");
        assert!(
            matches!(&refused, Err(OfficeError::Forbidden(m)) if !m.contains("1601")),
            "{refused:?}"
        );
    }

    #[test]
    fn roles_allow_what_they_are_for() {
        let oran = oran();
        assert!(oran.require(Permission::Import).is_ok());
        assert!(oran.require(Permission::Tokens).is_err());
        let supervisor = Principal {
            role: Role::ClerkSupervisor,
            ..oran
        };
        assert!(supervisor.require(Permission::Reports).is_ok());
        assert!(supervisor.require(Permission::Monitor).is_err());
    }

    #[test]
    fn actors_are_compared_by_identity_not_by_name() {
        let oran = oran();
        assert_eq!(oran.actor(), "Oran office (token:1)");
        assert!(oran.is_actor("Oran office (token:1)"));
        assert!(oran.is_actor("renamed (token:1)"), "the id decides");
        let namesake = Principal {
            id: "token:2".to_owned(),
            ..oran.clone()
        };
        assert!(
            !namesake.is_actor(&oran.actor()),
            "same name, other identity"
        );
        assert!(
            oran.is_actor("Oran office"),
            "a record from before identities"
        );
        assert!(!oran.is_actor("Alger office"));
        assert!(!oran.is_actor("Oran office (regional)"), "not an identity");
    }

    #[test]
    fn an_observer_reads_and_changes_nothing() {
        let observer = Principal {
            role: Role::Observer,
            communes: Vec::new(),
            ..oran()
        };
        assert!(observer.require(Permission::Monitor).is_ok());
        for permission in [
            Permission::Import,
            Permission::Broadcast,
            Permission::Reports,
            Permission::Tokens,
        ] {
            assert!(observer.require(permission).is_err(), "{permission:?}");
        }
        assert!(
            observer.covers(&[commune("1601")]),
            "a national observer sees all"
        );
        let local = Principal {
            communes: vec![commune("3101")],
            ..observer
        };
        assert!(!local.covers(&[commune("1601")]));
    }
}
