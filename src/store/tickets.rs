//! The duty desk's storage: tickets (a voter who asked for a person, or an incident a clerk
//! reported from a centre), their messages, the duty roster and the Telegram chats of duty
//! agents.
//!
//! What must hold across instances sharing one PostgreSQL is written as one statement each:
//! a ticket is taken by `update ... where owner is null returning ...`, and escalated by
//! `update ... where escalation_level = 0 returning ...`, so a second instance (or a second
//! agent) finds the row already changed and gets nothing.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{NewAuditEntry, Result};
use crate::domain::{Channel, CommuneCode, Locale, Timestamp};

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == s)
                    .ok_or_else(|| {
                        let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        format!("unknown {} {s:?}: one of {}", stringify!($name), all.join(", "))
                    })
            }
        }
    };
}

text_enum! {
    /// Who opened a ticket.
    TicketKind {
        /// A voter asked for a person.
        Voter = "voter",
        /// A clerk reported a problem at a centre: at the head of the queue.
        Incident = "incident",
    }
}

text_enum! {
    /// What went wrong at a centre.
    IncidentKind {
        CentreClosed = "centre_closed",
        MissingMaterial = "missing_material",
        ListError = "list_error",
        Other = "other",
    }
}

text_enum! {
    /// Where a ticket stands.
    TicketStatus {
        Open = "open",
        Closed = "closed",
    }
}

text_enum! {
    /// Who wrote a ticket's message.
    MessageOrigin {
        /// The voter (or the clerk of an incident).
        Voter = "voter",
        /// An agent's answer, sent to the voter.
        Agent = "agent",
        /// An agent's internal note, never sent.
        Note = "note",
    }
}

/// The priority of an incident; a voter's ticket has 0.
pub const INCIDENT_PRIORITY: i64 = 10;

/// A ticket to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub commune: CommuneCode,
    pub channel: Channel,
    /// The channel's id of the sender (phone number, chat id): where answers go.
    pub sender: String,
    /// What agents see of the sender.
    pub sender_masked: String,
    pub locale: Locale,
    pub kind: TicketKind,
    pub incident_kind: Option<IncidentKind>,
    pub centre: Option<String>,
    pub priority: i64,
    /// The words that came with the request, as the ticket's first message.
    pub first_message: Option<String>,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: i64,
    pub commune: CommuneCode,
    pub channel: Channel,
    /// Never shown: [`Ticket::sender_masked`] is.
    pub sender: String,
    pub sender_masked: String,
    pub locale: Locale,
    pub kind: TicketKind,
    pub incident_kind: Option<IncidentKind>,
    pub centre: Option<String>,
    pub priority: i64,
    pub status: TicketStatus,
    /// The identity of the agent who took it (`user:3`, `clerk:7`).
    pub owner: Option<String>,
    pub owner_name: Option<String>,
    pub created_at: Timestamp,
    pub first_answer_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<String>,
    pub escalation_level: i64,
    pub escalated_at: Option<Timestamp>,
}

/// One message of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TicketMessage {
    pub id: i64,
    pub origin: MessageOrigin,
    pub body: String,
    /// The agent's identity; `None` for the voter.
    pub author: Option<String>,
    pub created_at: Timestamp,
}

/// Filters of a ticket listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketQuery {
    /// `None`: every commune.
    pub communes: Option<Vec<CommuneCode>>,
    pub status: Option<TicketStatus>,
    /// Opened at or after.
    pub from: Option<Timestamp>,
    pub limit: u32,
}

/// A duty shift to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShift {
    /// A commune code, `w16` (a wilaya's duty cell) or `national`.
    pub cell: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// The agent's identity (`user:3`, `clerk:7`).
    pub agent: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// A stored duty shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Shift {
    pub id: i64,
    pub cell: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub agent: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// Where a duty agent gets tickets on Telegram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DutyAgent {
    /// The identity (`user:3`, `clerk:7`).
    pub agent: String,
    pub name: String,
    /// The Telegram chat (never shown in full outside the store).
    #[serde(skip)]
    pub chat: String,
    #[schema(value_type = String)]
    pub locale: Locale,
}

/// A centre of a commune's current map, for a clerk's incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreName {
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
}

/// Storage of the duty desk.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Opens a ticket (with its first message, if any).
    async fn open_ticket(&self, ticket: &NewTicket, now: Timestamp) -> Result<Ticket>;

    /// One ticket.
    async fn ticket(&self, id: i64) -> Result<Option<Ticket>>;

    /// The open ticket of a sender, if any (the newest).
    async fn open_ticket_of(&self, channel: Channel, sender: &str) -> Result<Option<Ticket>>;

    /// Tickets, highest priority first, then oldest first: the queue.
    async fn tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>>;

    /// Makes `owner` the ticket's owner if it has none and is open, with the audit entry;
    /// `None` when someone took it first (or it is closed or unknown). One statement, so two
    /// agents (on two instances) never both own a ticket.
    async fn take_ticket(
        &self,
        id: i64,
        owner: &str,
        owner_name: &str,
        audit: NewAuditEntry,
    ) -> Result<Option<Ticket>>;

    /// Adds a message; an agent's answer also sets the first answer's time if unset. The
    /// audit entry, if any, is written with it.
    async fn add_ticket_message(
        &self,
        id: i64,
        origin: MessageOrigin,
        body: &str,
        author: Option<&str>,
        now: Timestamp,
        audit: Option<NewAuditEntry>,
    ) -> Result<i64>;

    /// Closes an open ticket, with the audit entry if any. `false` if it was not open.
    async fn close_ticket(
        &self,
        id: i64,
        by: &str,
        now: Timestamp,
        audit: Option<NewAuditEntry>,
    ) -> Result<bool>;

    /// A ticket's messages, oldest first.
    async fn ticket_messages(&self, id: i64) -> Result<Vec<TicketMessage>>;

    /// Marks escalated, and returns, the open tickets with no first answer opened at or
    /// before `voters_before` (voters) or `incidents_before` (incidents) and not escalated
    /// yet. One statement: of several instances running this at once, each ticket is
    /// returned to one.
    async fn escalate_tickets(
        &self,
        now: Timestamp,
        voters_before: Timestamp,
        incidents_before: Timestamp,
    ) -> Result<Vec<Ticket>>;

    /// Records a shift, with its audit entry.
    async fn add_shift(&self, shift: &NewShift, audit: NewAuditEntry) -> Result<i64>;

    /// Shifts of these cells (`None`: all) that end after `ending_after`, by start.
    async fn shifts(&self, cells: Option<&[String]>, ending_after: Timestamp)
    -> Result<Vec<Shift>>;

    /// One shift.
    async fn shift(&self, id: i64) -> Result<Option<Shift>>;

    /// Removes a shift, with its audit entry. `false` if there was none.
    async fn remove_shift(&self, id: i64, audit: NewAuditEntry) -> Result<bool>;

    /// Records (or moves) the Telegram chat of an agent.
    async fn save_duty_agent(&self, agent: &DutyAgent) -> Result<()>;

    /// The Telegram chat of an agent.
    async fn duty_agent(&self, agent: &str) -> Result<Option<DutyAgent>>;

    /// The agent whose Telegram chat this is.
    async fn duty_agent_by_chat(&self, chat: &str) -> Result<Option<DutyAgent>>;

    /// The centres of a commune in the current map, by code.
    async fn commune_centres(&self, commune: &CommuneCode) -> Result<Vec<CentreName>>;
}
