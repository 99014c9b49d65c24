//! The duty desk as the office sees it: the ticket queue of one's communes, a ticket's detail,
//! taking, answering, internal notes and closing; the duty roster; the desk's statistics.
//!
//! Authorization follows the rest of the office: reading needs the right to monitor or to
//! follow reports, acting needs the right to follow reports (commune officers, clerk
//! supervisors, national), both within the principal's communes; observers read only. Only
//! a ticket's owner sees its messages (others see its summary); senders and any long number
//! in a message (a NIN, a phone number) show only their last digits. The steps themselves are
//! the duty desk's ([`crate::duty`]), which the Telegram agents use too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::Office;
use super::error::{OfficeError, OfficeResult};
use super::principal::{Permission, Principal};
use crate::domain::{CommuneCode, Locale, Timestamp};
use crate::duty::{Actor, Cell, DutyError};
use crate::store::{
    DutyAgent, IncidentKind, MessageOrigin, NewShift, Shift, Ticket, TicketKind, TicketMessage,
    TicketQuery, TicketStatus,
};

/// Tickets per page of the queue.
const MAX_PAGE: u32 = 1000;
/// Tickets read for statistics (a national day's worth and more).
const MAX_STATS: u32 = 1_000_000;
/// A run of this many digits or more in a message is a NIN or a phone number: masked.
const LONG_NUMBER: usize = 8;

/// A ticket as listed: the sender masked, no messages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    pub id: i64,
    pub commune: String,
    /// `sms` or `telegram`.
    pub channel: String,
    /// The sender with only the last digits shown.
    pub sender: String,
    pub locale: String,
    pub kind: TicketKind,
    pub incident_kind: Option<IncidentKind>,
    pub centre: Option<String>,
    pub priority: i64,
    pub status: TicketStatus,
    /// The owner's identity (`user:3`, `clerk:7`).
    pub owner: Option<String>,
    pub owner_name: Option<String>,
    pub created_at: Timestamp,
    pub first_answer_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// 1 once escalated to the wilaya's and national duty cells.
    pub escalation_level: i64,
}

impl From<Ticket> for TicketView {
    fn from(ticket: Ticket) -> Self {
        Self {
            id: ticket.id,
            commune: ticket.commune.to_string(),
            channel: ticket.channel.as_str().to_owned(),
            sender: ticket.sender_masked,
            locale: ticket.locale.code().to_owned(),
            kind: ticket.kind,
            incident_kind: ticket.incident_kind,
            centre: ticket.centre,
            priority: ticket.priority,
            status: ticket.status,
            owner: ticket.owner,
            owner_name: ticket.owner_name,
            created_at: ticket.created_at,
            first_answer_at: ticket.first_answer_at,
            closed_at: ticket.closed_at,
            escalation_level: ticket.escalation_level,
        }
    }
}

/// The queue: incidents first, then oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    pub tickets: Vec<TicketView>,
}

/// One ticket: its summary, and its messages for its owner only.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetail {
    pub ticket: TicketView,
    /// `None` unless the caller owns the ticket.
    pub messages: Option<Vec<TicketMessage>>,
}

/// Filters of the queue, as the caller typed them.
#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    /// Default: every commune of the principal.
    pub commune: Option<CommuneCode>,
    /// `open` or `closed`.
    pub status: Option<String>,
}

/// A shift to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ShiftInput {
    /// A commune code, `wNN` (a wilaya's cell) or `national`.
    pub cell: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// `user:N` (a console user) or `clerk:N` (an enrolled clerk).
    pub agent: String,
    /// The agent's Telegram chat id, where tickets are pushed; a clerk's is known already.
    pub chat: Option<String>,
    /// `ar` or `fr`: the language of the agent's messages (default `ar`).
    pub locale: Option<String>,
}

/// Shifts, by start.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftList {
    pub shifts: Vec<Shift>,
}

/// Percentiles of a duration, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Percentiles {
    /// How many durations were measured.
    pub count: u64,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
}

impl Percentiles {
    /// Nearest-rank percentiles of these durations.
    pub fn of(mut seconds: Vec<i64>) -> Self {
        seconds.sort_unstable();
        let rank = |p: usize| -> Option<i64> {
            if seconds.is_empty() {
                return None;
            }
            let index = (seconds.len() * p).div_ceil(100).max(1) - 1;
            seconds.get(index).copied()
        };
        Self {
            count: seconds.len() as u64,
            p50: rank(50),
            p90: rank(90),
        }
    }
}

/// Tickets opened and closed in one commune and hour.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HourCount {
    pub commune: String,
    /// The hour's start (UTC timestamp).
    pub hour: Timestamp,
    pub opened: u64,
    pub closed: u64,
}

/// One agent's work.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentStats {
    pub agent: String,
    pub name: String,
    pub taken: u64,
    pub closed: u64,
    pub first_answer: Percentiles,
}

/// The duty desk's follow-up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DutyStats {
    pub from: Timestamp,
    pub opened: u64,
    pub closed: u64,
    /// Open tickets now, and those of them nobody answered yet.
    pub backlog: u64,
    pub unanswered: u64,
    pub escalated: u64,
    /// Seconds from opening to the first answer.
    pub first_answer: Percentiles,
    /// Seconds from opening to closing.
    pub to_close: Percentiles,
    pub per_hour: Vec<HourCount>,
    pub per_agent: Vec<AgentStats>,
    /// Incidents by kind (`centre_closed`...).
    pub incidents: BTreeMap<String, u64>,
}

/// Long digit runs (NINs, phone numbers) with their last two digits only.
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let digits = run.chars().count();
        if digits >= LONG_NUMBER {
            out.push_str(&"*".repeat(digits - 2));
            out.extend(run.chars().skip(digits - 2));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_numeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

impl From<DutyError> for OfficeError {
    fn from(error: DutyError) -> Self {
        match error {
            DutyError::NotFound(_) => Self::NotFound(error.to_string()),
            DutyError::Taken { .. } | DutyError::NotOwner(_) | DutyError::Closed(_) => {
                Self::Conflict(error.to_string())
            }
            DutyError::TooLong { .. } | DutyError::Empty => Self::Rejected(error.to_string()),
            DutyError::NoChannel(_) => Self::Conflict(error.to_string()),
            DutyError::Store(store) => store.into(),
        }
    }
}

fn actor(principal: &Principal) -> Actor {
    Actor {
        id: principal.id.clone(),
        name: principal.name.clone(),
    }
}

/// Reading the desk: monitoring or following reports.
fn require_read(principal: &Principal) -> OfficeResult<()> {
    principal
        .require(Permission::Monitor)
        .or_else(|_| principal.require(Permission::Reports))
}

impl Office {
    /// A ticket the principal may see, or not found (a ticket of another commune is not the
    /// caller's to know of).
    async fn visible_ticket(&self, principal: &Principal, id: i64) -> OfficeResult<Ticket> {
        let ticket = self
            .store
            .ticket(id)
            .await?
            .filter(|ticket| principal.covers(std::slice::from_ref(&ticket.commune)))
            .ok_or_else(|| OfficeError::NotFound(format!("ticket {id} does not exist")))?;
        Ok(ticket)
    }

    /// The queue of the principal's communes: incidents first, then oldest first.
    pub async fn tickets(
        &self,
        principal: &Principal,
        filter: &TicketFilter,
        limit: u32,
    ) -> OfficeResult<TicketList> {
        require_read(principal)?;
        let query = TicketQuery {
            communes: principal.scope(filter.commune.as_ref())?,
            status: filter
                .status
                .as_deref()
                .map(|s| s.parse::<TicketStatus>().map_err(OfficeError::Rejected))
                .transpose()?,
            from: None,
            limit: limit.clamp(1, MAX_PAGE),
        };
        let tickets = self.store.tickets(&query).await?;
        Ok(TicketList {
            tickets: tickets.into_iter().map(TicketView::from).collect(),
        })
    }

    /// One ticket; its messages only for its owner, with long numbers masked.
    pub async fn ticket(&self, principal: &Principal, id: i64) -> OfficeResult<TicketDetail> {
        require_read(principal)?;
        let ticket = self.visible_ticket(principal, id).await?;
        let owner = ticket.owner.as_deref() == Some(principal.id.as_str());
        let messages = if owner {
            let mut messages = self.store.ticket_messages(id).await?;
            for message in &mut messages {
                if message.origin == MessageOrigin::Voter {
                    message.body = mask_numbers(&message.body);
                }
            }
            Some(messages)
        } else {
            None
        };
        Ok(TicketDetail {
            ticket: ticket.into(),
            messages,
        })
    }

    /// Takes a ticket: the first to ask owns it.
    pub async fn take_ticket(&self, principal: &Principal, id: i64) -> OfficeResult<TicketView> {
        principal.require(Permission::Reports)?;
        self.visible_ticket(principal, id).await?;
        Ok(self
            .duty
            .take(id, &actor(principal), crate::domain::now())
            .await?
            .into())
    }

    /// Answers the voter (taking the ticket first if nobody has): through the outbox, on the
    /// voter's channel; an SMS answer beyond two segments is refused.
    pub async fn reply_ticket(
        &self,
        principal: &Principal,
        id: i64,
        text: &str,
    ) -> OfficeResult<TicketView> {
        principal.require(Permission::Reports)?;
        self.own(principal, id).await?;
        Ok(self
            .duty
            .reply(id, &actor(principal), text, crate::domain::now())
            .await?
            .into())
    }

    /// An internal note (taking the ticket first if nobody has).
    pub async fn note_ticket(
        &self,
        principal: &Principal,
        id: i64,
        text: &str,
    ) -> OfficeResult<TicketView> {
        principal.require(Permission::Reports)?;
        self.own(principal, id).await?;
        Ok(self
            .duty
            .note(id, &actor(principal), text, crate::domain::now())
            .await?
            .into())
    }

    /// Closes a ticket of the principal's communes and tells the voter.
    pub async fn close_ticket(&self, principal: &Principal, id: i64) -> OfficeResult<TicketView> {
        principal.require(Permission::Reports)?;
        self.visible_ticket(principal, id).await?;
        Ok(self
            .duty
            .close(id, &actor(principal), false, crate::domain::now())
            .await?
            .into())
    }

    /// Makes sure the principal owns the ticket, taking it if nobody does.
    async fn own(&self, principal: &Principal, id: i64) -> OfficeResult<()> {
        let ticket = self.visible_ticket(principal, id).await?;
        if ticket.owner.is_none() {
            self.duty
                .take(id, &actor(principal), crate::domain::now())
                .await?;
        }
        Ok(())
    }

    /// The communes a cell concerns, for the principal's cover: a wilaya's or the national
    /// cell is national business.
    fn require_cell(principal: &Principal, cell: &Cell) -> OfficeResult<()> {
        let communes: Vec<CommuneCode> = cell.commune().cloned().into_iter().collect();
        principal.require_cover(&communes, &format!("duty cell {cell}"))
    }

    /// Adds a duty shift. The agent is a console user (`user:N`, with the Telegram chat where
    /// tickets reach them) or an enrolled clerk (`clerk:N`, whose chat is known).
    pub async fn add_shift(
        &self,
        principal: &Principal,
        input: &ShiftInput,
    ) -> OfficeResult<Shift> {
        principal.require(Permission::Reports)?;
        let cell: Cell = input.cell.parse().map_err(OfficeError::Rejected)?;
        Self::require_cell(principal, &cell)?;
        if input.ends_at <= input.starts_at {
            return Err(OfficeError::Rejected(
                "a shift ends after it starts".to_owned(),
            ));
        }
        let locale: Locale = match input.locale.as_deref() {
            Some(code) => code
                .parse()
                .map_err(|_| OfficeError::Rejected(format!("locale {code:?}: ar or fr")))?,
            None => Locale::Ar,
        };
        let (name, known_chat) = self.agent_identity(&input.agent).await?;
        let chat = input.chat.clone().or(known_chat);
        match chat {
            Some(chat) if !chat.trim().is_empty() => {
                self.store
                    .save_duty_agent(&DutyAgent {
                        agent: input.agent.clone(),
                        name,
                        chat: chat.trim().to_owned(),
                        locale,
                    })
                    .await?;
            }
            _ if self.store.duty_agent(&input.agent).await?.is_some() => {}
            _ => {
                return Err(OfficeError::Rejected(format!(
                    "{}: give the Telegram chat where tickets reach this agent",
                    input.agent
                )));
            }
        }
        let now = crate::domain::now();
        let shift = NewShift {
            cell: cell.key(),
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            agent: input.agent.clone(),
            created_by: principal.actor(),
            created_at: now,
        };
        let audit = principal.audit(
            "duty.shift_add",
            cell.commune().cloned().into_iter().collect(),
            json!({
                "cell": shift.cell,
                "agent": shift.agent,
                "starts_at": shift.starts_at,
                "ends_at": shift.ends_at,
            }),
        );
        let id = self.store.add_shift(&shift, audit).await?;
        self.store
            .shift(id)
            .await?
            .ok_or_else(|| OfficeError::Internal(format!("shift {id} vanished")))
    }

    /// The name of an agent identity and the chat it is known by, if any.
    async fn agent_identity(&self, agent: &str) -> OfficeResult<(String, Option<String>)> {
        let unknown = || {
            OfficeError::Rejected(format!(
                "agent {agent:?}: expected user:N or clerk:N of an existing user or active clerk"
            ))
        };
        let (kind, id) = agent.split_once(':').ok_or_else(unknown)?;
        let id: i64 = id.parse().map_err(|_| unknown())?;
        match kind {
            "user" => {
                let user = self
                    .store
                    .user(id)
                    .await?
                    .filter(|user| user.disabled_at.is_none())
                    .ok_or_else(unknown)?;
                Ok((user.login, None))
            }
            "clerk" => {
                let clerk = self
                    .store
                    .clerk(id)
                    .await?
                    .filter(|clerk| clerk.is_active())
                    .ok_or_else(unknown)?;
                Ok((format!("clerk {}", clerk.id), clerk.chat))
            }
            _ => Err(unknown()),
        }
    }

    /// Shifts not yet over, of a cell or of every cell the principal covers.
    pub async fn shifts(
        &self,
        principal: &Principal,
        cell: Option<&str>,
    ) -> OfficeResult<ShiftList> {
        require_read(principal)?;
        let now = crate::domain::now();
        let shifts = match cell {
            Some(cell) => {
                let cell: Cell = cell.parse().map_err(OfficeError::Rejected)?;
                Self::require_cell(principal, &cell)?;
                self.store.shifts(Some(&[cell.key()]), now).await?
            }
            None if principal.sees_all() => self.store.shifts(None, now).await?,
            None => {
                let cells: Vec<String> = principal
                    .communes
                    .iter()
                    .map(|c| c.as_str().to_owned())
                    .collect();
                self.store.shifts(Some(&cells), now).await?
            }
        };
        Ok(ShiftList { shifts })
    }

    /// Who is on duty now (of a cell, or of every cell the principal covers).
    pub async fn on_duty(
        &self,
        principal: &Principal,
        cell: Option<&str>,
    ) -> OfficeResult<ShiftList> {
        let now = crate::domain::now();
        let mut list = self.shifts(principal, cell).await?;
        list.shifts.retain(|shift| shift.starts_at <= now);
        Ok(list)
    }

    /// Removes a shift.
    pub async fn remove_shift(&self, principal: &Principal, id: i64) -> OfficeResult<()> {
        principal.require(Permission::Reports)?;
        let shift = self
            .store
            .shift(id)
            .await?
            .ok_or_else(|| OfficeError::NotFound(format!("shift {id} does not exist")))?;
        let cell: Cell = shift
            .cell
            .parse()
            .map_err(|error: String| OfficeError::Internal(error))?;
        // Another commune's shift is not the caller's to know of, not even its cell.
        if Self::require_cell(principal, &cell).is_err() {
            return Err(OfficeError::NotFound(format!("shift {id} does not exist")));
        }
        let audit = principal.audit(
            "duty.shift_remove",
            cell.commune().cloned().into_iter().collect(),
            json!({ "shift": id, "cell": shift.cell, "agent": shift.agent }),
        );
        if !self.store.remove_shift(id, audit).await? {
            return Err(OfficeError::NotFound(format!("shift {id} does not exist")));
        }
        Ok(())
    }

    /// The desk's follow-up since `from` (default: the last 24 hours), within the
    /// principal's communes.
    pub async fn duty_stats(
        &self,
        principal: &Principal,
        commune: Option<&CommuneCode>,
        from: Option<Timestamp>,
    ) -> OfficeResult<DutyStats> {
        require_read(principal)?;
        let now = crate::domain::now();
        let from = from.unwrap_or(now - 24 * 3600);
        let tickets = self
            .store
            .tickets(&TicketQuery {
                communes: principal.scope(commune)?,
                status: None,
                from: Some(from),
                limit: MAX_STATS,
            })
            .await?;
        Ok(stats_of(&tickets, from))
    }
}

/// The statistics of these tickets.
pub fn stats_of(tickets: &[Ticket], from: Timestamp) -> DutyStats {
    let mut per_hour: BTreeMap<(String, Timestamp), (u64, u64)> = BTreeMap::new();
    let mut per_agent: BTreeMap<String, (String, u64, u64, Vec<i64>)> = BTreeMap::new();
    let mut incidents = BTreeMap::new();
    let (mut first_answer, mut to_close) = (Vec::new(), Vec::new());
    let (mut backlog, mut unanswered, mut escalated, mut closed) = (0, 0, 0, 0);
    for ticket in tickets {
        let hour = |at: Timestamp| at - at.rem_euclid(3600);
        per_hour
            .entry((ticket.commune.to_string(), hour(ticket.created_at)))
            .or_default()
            .0 += 1;
        if let Some(at) = ticket.closed_at {
            per_hour
                .entry((ticket.commune.to_string(), hour(at)))
                .or_default()
                .1 += 1;
            to_close.push(at - ticket.created_at);
            closed += 1;
        }
        if let Some(at) = ticket.first_answer_at {
            first_answer.push(at - ticket.created_at);
        }
        if ticket.status == TicketStatus::Open {
            backlog += 1;
            if ticket.first_answer_at.is_none() {
                unanswered += 1;
            }
        }
        if ticket.escalation_level > 0 {
            escalated += 1;
        }
        if let Some(owner) = &ticket.owner {
            let entry = per_agent.entry(owner.clone()).or_insert_with(|| {
                (
                    ticket.owner_name.clone().unwrap_or_default(),
                    0,
                    0,
                    Vec::new(),
                )
            });
            entry.1 += 1;
            if ticket.status == TicketStatus::Closed {
                entry.2 += 1;
            }
            if let Some(at) = ticket.first_answer_at {
                entry.3.push(at - ticket.created_at);
            }
        }
        if ticket.kind == TicketKind::Incident {
            let kind = ticket.incident_kind.unwrap_or(IncidentKind::Other);
            *incidents.entry(kind.as_str().to_owned()).or_insert(0) += 1;
        }
    }
    DutyStats {
        from,
        opened: tickets.len() as u64,
        closed,
        backlog,
        unanswered,
        escalated,
        first_answer: Percentiles::of(first_answer),
        to_close: Percentiles::of(to_close),
        per_hour: per_hour
            .into_iter()
            .map(|((commune, hour), (opened, closed))| HourCount {
                commune,
                hour,
                opened,
                closed,
            })
            .collect(),
        per_agent: per_agent
            .into_iter()
            .map(|(agent, (name, taken, closed, answers))| AgentStats {
                agent,
                name,
                taken,
                closed,
                first_answer: Percentiles::of(answers),
            })
            .collect(),
        incidents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_show_their_last_two_digits_only() {
        assert_eq!(
            mask_numbers("NIN 109870123456789012 bureau 3"),
            "NIN ****************12 bureau 3"
        );
        assert_eq!(mask_numbers("+213551234567"), "+**********67");
        assert_eq!(mask_numbers("le 15/03/1990"), "le 15/03/1990");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = Percentiles::of((1..=10).collect());
        assert_eq!((p.count, p.p50, p.p90), (10, Some(5), Some(9)));
        let one = Percentiles::of(vec![42]);
        assert_eq!((one.p50, one.p90), (Some(42), Some(42)));
        assert_eq!(Percentiles::of(Vec::new()).p50, None);
    }
}
