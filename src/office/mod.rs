//! The office: every action of an election office or the national authority, as one
//! transport-free function each. The admin API, the command line and the web console are thin
//! callers: they parse their input, call [`Office`] with the acting [`Principal`], and show the
//! result or the [`OfficeError`].
//!
//! Authorization is decided here and nowhere else: the role's [`Permission`], the commune
//! scope (a commune office sees and changes only what concerns its communes, and is told
//! nothing of the others), and the two-person rule for change sets. Every action that changes
//! something writes its audit entry.
//!
//! # Layout
//!
//! - [`principal`]: who acts, their permissions and commune scope.
//! - [`tokens`]: admin tokens, and checking a presented one.
//! - [`imports`]: imports and dry runs of the map and the roll; the list of versions.
//! - [`planning`]: station planning from the office's files, for the console.
//! - [`changes`]: change sets: listing, review, approval and rejection.
//! - [`campaigns`]: broadcasts and the control of notice campaigns.
//! - [`reports`]: reports of citizens missing from the roll, and the clerks who file them.
//! - [`stats`]: lookup and roll statistics.
//! - [`audit`]: reading the audit log.
//! - [`tickets`]: the duty desk: the ticket queue, taking, answering, notes, closing, the
//!   duty roster and the desk's statistics.
//! - [`users`]: console users, their sign-in (password, TOTP) and sessions.

pub mod audit;
pub mod campaigns;
pub mod changes;
pub mod error;
pub mod imports;
pub mod planning;
pub mod principal;
pub mod reports;
pub mod stats;
pub mod tickets;
pub mod tokens;
pub mod users;

use std::sync::Arc;

pub use error::{OfficeError, OfficeResult};
pub use principal::{Permission, Principal};

use crate::i18n::Catalog;
use crate::store::Store;

/// The rules of the office that come from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// A change set must be approved by another principal than the one that imported it.
    pub two_person_rule: bool,
    /// The legal limit of voters per station, for import validation and statistics.
    pub max_voters_per_station: u32,
}

impl Rules {
    /// The rules as configured.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            two_person_rule: config.changes.two_person_rule,
            max_voters_per_station: config.import.max_voters_per_station,
        }
    }
}

/// What office actions work with: the store, the message catalogues (change notices are
/// rendered when a change set is approved) and the configured rules.
#[derive(Clone)]
pub struct Office {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    rules: Rules,
    /// The duty desk (by default without channels: answers cannot be sent).
    duty: crate::duty::DutyDesk,
}

impl Office {
    /// The office over this store, with these catalogues and rules.
    pub fn new(store: Arc<dyn Store>, catalog: Arc<Catalog>, rules: Rules) -> Self {
        let duty = crate::duty::DutyDesk::new(
            Arc::clone(&store),
            Arc::clone(&catalog),
            crate::duty::DutySettings::default(),
            crate::notices::OutboxBell::default(),
        );
        Self {
            store,
            catalog,
            rules,
            duty,
        }
    }

    /// The same office acting through this duty desk (with its channels).
    pub fn with_duty(self, duty: crate::duty::DutyDesk) -> Self {
        Self { duty, ..self }
    }

    /// The configured rules.
    pub fn rules(&self) -> Rules {
        self.rules
    }
}
