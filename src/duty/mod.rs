//! The duty desk (المداومة): voters and field staff reach a person on duty.
//!
//! A [`DutyDesk`] is what the voter's conversation, the agents' Telegram commands and the
//! office (API, console, command line) all act through, so each step is written once:
//! opening a ticket and telling the agents on duty, taking it (once, even with two agents on
//! two instances pressing at the same moment), answering the voter on their channel through
//! the outbox, internal notes, closing, and escalating tickets nobody answered to the wilaya's
//! and the national duty cells.
//!
//! Who may act is decided by the callers: the office checks a principal's role and
//! communes, the Telegram channel checks that the chat is a duty agent's; here only the
//! ticket's own rule is kept: only its owner answers it.
//!
//! # Layout
//!
//! - [`roster`]: duty cells (commune, wilaya, national), who is on duty now and when duty
//!   resumes.

pub mod roster;

use std::sync::Arc;

use async_trait::async_trait;
use fluent_bundle::FluentArgs;
use serde_json::json;

use crate::domain::{Channel, Locale, Timestamp};
use crate::i18n::sms::count_segments;
use crate::i18n::{Catalog, MessageId};
use crate::notices::OutboxBell;
use crate::store::{
    MessageOrigin, NewAuditEntry, NewReply, NewTicket, Store, StoreError, Ticket, TicketKind,
    TicketStatus,
};
pub use roster::{Availability, Cell};

/// The outbox record of an agent's answer (its text is the agent's, not the catalogue's).
pub const AGENT_ANSWER: &str = "duty-agent-answer";

/// The most SMS segments an agent's answer may take.
pub const MAX_REPLY_SEGMENTS: usize = 2;

/// The duty desk's rules, from the configuration.
#[derive(Debug, Clone)]
pub struct DutySettings {
    /// A voter's ticket with no first answer after this long goes to the wilaya's and the
    /// national duty cells.
    pub escalate_minutes: i64,
    /// The same for an incident from a centre.
    pub incident_escalate_minutes: i64,
    /// The SMS provider agents' answers to SMS voters go out through (the one that sends
    /// notices): the conversation does not know which provider a message came through.
    pub sms_provider: Option<String>,
}

impl Default for DutySettings {
    fn default() -> Self {
        Self {
            escalate_minutes: 15,
            incident_escalate_minutes: 5,
            sms_provider: None,
        }
    }
}

/// A chat message the duty desk sends on Telegram (to an agent, or to a voter who wrote
/// there): the text and, for a new ticket, its "take it" button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatPush {
    pub locale: Locale,
    pub text: String,
    /// What it is, for the outbox record (a catalogue id, or `duty-agent-answer`).
    pub message: &'static str,
    /// Offer the button that takes this ticket.
    pub take: Option<i64>,
    /// The label of that button.
    pub take_label: Option<String>,
}

/// How the duty desk writes to a Telegram chat: through the outbox, in the channel's stored
/// form. The Telegram channel implements it; the desk never names a channel's wire format.
#[async_trait]
pub trait ChatOutbox: Send + Sync {
    async fn push(&self, chat: &str, push: &ChatPush, now: Timestamp) -> Result<(), StoreError>;
}

/// Who acts on a ticket: an identity (`user:3`, `clerk:7`, `cli:root`) and a name for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub name: String,
}

impl Actor {
    /// How the audit log records the actor: `name (id)`, as for office principals.
    pub fn recorded(&self) -> String {
        format!("{} ({})", self.name, self.id)
    }
}

/// Why a duty desk action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DutyError {
    #[error("ticket {0} does not exist")]
    NotFound(i64),
    #[error("ticket {id} is already taken by {by}")]
    Taken { id: i64, by: String },
    #[error("ticket {0} is not yours: take it first")]
    NotOwner(i64),
    #[error("ticket {0} is closed")]
    Closed(i64),
    #[error(
        "the answer takes {segments} SMS segments; at most {MAX_REPLY_SEGMENTS} reach the voter: shorten it"
    )]
    TooLong { segments: usize },
    #[error("the answer is empty")]
    Empty,
    #[error("cannot answer on {0}: that channel is not configured for sending")]
    NoChannel(Channel),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// A ticket just opened, and when a person will answer.
#[derive(Debug, Clone)]
pub struct Opened {
    pub ticket: Ticket,
    pub availability: Availability,
}

/// The desk: the store, the catalogues, the outbox's bell and the way to Telegram chats.
#[derive(Clone)]
pub struct DutyDesk {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    settings: Arc<DutySettings>,
    bell: OutboxBell,
    chats: Option<Arc<dyn ChatOutbox>>,
}

impl DutyDesk {
    pub fn new(
        store: Arc<dyn Store>,
        catalog: Arc<Catalog>,
        settings: DutySettings,
        bell: OutboxBell,
    ) -> Self {
        Self {
            store,
            catalog,
            settings: Arc::new(settings),
            bell,
            chats: None,
        }
    }

    /// The same desk, writing to Telegram chats through `chats`.
    pub fn with_chats(self, chats: Option<Arc<dyn ChatOutbox>>) -> Self {
        Self { chats, ..self }
    }

    /// The same desk, answering SMS voters through this provider.
    pub fn with_sms_provider(self, sms_provider: Option<String>) -> Self {
        let settings = DutySettings {
            sms_provider,
            ..(*self.settings).clone()
        };
        Self {
            settings: Arc::new(settings),
            ..self
        }
    }

    pub fn settings(&self) -> &DutySettings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Renders a duty message of the catalogue.
    pub fn render(&self, locale: Locale, message: MessageId, args: &FluentArgs<'_>) -> String {
        self.catalog.render(locale, message, args)
    }

    /// Opens a ticket and tells the agents on duty for its commune now (with the button that
    /// takes it). Returns when a person will answer.
    pub async fn open(&self, ticket: &NewTicket, now: Timestamp) -> Result<Opened, DutyError> {
        let opened = self.store.open_ticket(ticket, now).await?;
        let cells = vec![Cell::Commune(opened.commune.clone())];
        let availability = roster::availability(self.store.as_ref(), &cells, now).await?;
        let first = ticket.first_message.clone().unwrap_or_default();
        self.push_to_cells(
            &cells,
            &opened,
            MessageId::DutyPushNew,
            &first,
            Some(opened.id),
            now,
        )
        .await?;
        tracing::info!(ticket = opened.id, commune = %opened.commune, kind = %opened.kind, "ticket opened");
        Ok(Opened {
            ticket: opened,
            availability,
        })
    }

    /// Takes a ticket for `actor`: the first to ask owns it.
    pub async fn take(&self, id: i64, actor: &Actor, now: Timestamp) -> Result<Ticket, DutyError> {
        let ticket = self.ticket(id).await?;
        if ticket.status == TicketStatus::Closed {
            return Err(DutyError::Closed(id));
        }
        let audit = audit_entry(actor, "ticket.take", &ticket, json!({}), now);
        match self
            .store
            .take_ticket(id, &actor.id, &actor.name, audit)
            .await?
        {
            Some(taken) => Ok(taken),
            None => {
                let again = self.ticket(id).await?;
                if again.status == TicketStatus::Closed {
                    return Err(DutyError::Closed(id));
                }
                Err(DutyError::Taken {
                    id,
                    by: again.owner_name.unwrap_or_default(),
                })
            }
        }
    }

    /// Answers the voter as the ticket's owner: the text goes to the voter's channel through
    /// the outbox. An SMS answer longer than [`MAX_REPLY_SEGMENTS`] is refused, not cut.
    pub async fn reply(
        &self,
        id: i64,
        actor: &Actor,
        text: &str,
        now: Timestamp,
    ) -> Result<Ticket, DutyError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DutyError::Empty);
        }
        let ticket = self.owned(id, actor).await?;
        self.to_sender(&ticket, text, AGENT_ANSWER, now).await?;
        let audit = audit_entry(
            actor,
            "ticket.reply",
            &ticket,
            json!({ "chars": text.chars().count() }),
            now,
        );
        self.store
            .add_ticket_message(
                id,
                MessageOrigin::Agent,
                text,
                Some(&actor.id),
                now,
                Some(audit),
            )
            .await?;
        Ok(ticket)
    }

    /// An internal note by the owner: kept with the ticket, never sent.
    pub async fn note(
        &self,
        id: i64,
        actor: &Actor,
        text: &str,
        now: Timestamp,
    ) -> Result<Ticket, DutyError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DutyError::Empty);
        }
        let ticket = self.owned(id, actor).await?;
        let audit = audit_entry(actor, "ticket.note", &ticket, json!({}), now);
        self.store
            .add_ticket_message(
                id,
                MessageOrigin::Note,
                text,
                Some(&actor.id),
                now,
                Some(audit),
            )
            .await?;
        Ok(ticket)
    }

    /// Closes a ticket as its owner, or as an officer (`owner_only` false: the office decided
    /// they may), and tells the voter.
    pub async fn close(
        &self,
        id: i64,
        actor: &Actor,
        owner_only: bool,
        now: Timestamp,
    ) -> Result<Ticket, DutyError> {
        let ticket = if owner_only {
            self.owned(id, actor).await?
        } else {
            self.ticket(id).await?
        };
        let audit = audit_entry(actor, "ticket.close", &ticket, json!({}), now);
        if !self
            .store
            .close_ticket(id, &actor.id, now, Some(audit))
            .await?
        {
            return Err(DutyError::Closed(id));
        }
        let mut args = FluentArgs::new();
        args.set("id", id.to_string());
        let text = self.render(ticket.locale, MessageId::DutyClosedByAgent, &args);
        // The ticket is closed whatever becomes of this courtesy message.
        if let Err(error) = self
            .to_sender(&ticket, &text, MessageId::DutyClosedByAgent.as_str(), now)
            .await
        {
            tracing::warn!(%error, ticket = id, "could not tell the voter the ticket is closed");
        }
        Ok(ticket)
    }

    /// The voter ended the conversation (`FIN`).
    pub async fn close_by_sender(&self, ticket: &Ticket, now: Timestamp) -> Result<(), DutyError> {
        self.store
            .close_ticket(ticket.id, "sender", now, None)
            .await?;
        if let Some(owner) = &ticket.owner {
            self.push_to_agent(owner, ticket, MessageId::DutyPushEnded, "", None, now)
                .await?;
        }
        Ok(())
    }

    /// A further message from the voter of an open ticket: kept, and passed to its owner (or,
    /// untaken, to the agents on duty).
    pub async fn from_sender(
        &self,
        ticket: &Ticket,
        text: &str,
        now: Timestamp,
    ) -> Result<(), DutyError> {
        self.store
            .add_ticket_message(ticket.id, MessageOrigin::Voter, text, None, now, None)
            .await?;
        match &ticket.owner {
            Some(owner) => {
                self.push_to_agent(owner, ticket, MessageId::DutyPushVoter, text, None, now)
                    .await?;
            }
            None => {
                let cells = vec![Cell::Commune(ticket.commune.clone())];
                self.push_to_cells(
                    &cells,
                    ticket,
                    MessageId::DutyPushVoter,
                    text,
                    Some(ticket.id),
                    now,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Escalates every ticket past its deadline without a first answer: each goes, once, to
    /// the agents on duty in its wilaya's cell and the national cell. Returns how many.
    pub async fn escalate(&self, now: Timestamp) -> Result<usize, DutyError> {
        let voters_before = now - self.settings.escalate_minutes * 60;
        let incidents_before = now - self.settings.incident_escalate_minutes * 60;
        let escalated = self
            .store
            .escalate_tickets(now, voters_before, incidents_before)
            .await?;
        for ticket in &escalated {
            let cells = vec![Cell::wilaya_of(&ticket.commune), Cell::National];
            let minutes = (now - ticket.created_at) / 60;
            tracing::warn!(ticket = ticket.id, commune = %ticket.commune, minutes, "ticket escalated");
            self.push_to_cells(
                &cells,
                ticket,
                MessageId::DutyPushEscalated,
                "",
                ticket.owner.is_none().then_some(ticket.id),
                now,
            )
            .await?;
        }
        Ok(escalated.len())
    }

    /// A ticket, or [`DutyError::NotFound`].
    pub async fn ticket(&self, id: i64) -> Result<Ticket, DutyError> {
        self.store.ticket(id).await?.ok_or(DutyError::NotFound(id))
    }

    /// A ticket the actor owns and that is open.
    async fn owned(&self, id: i64, actor: &Actor) -> Result<Ticket, DutyError> {
        let ticket = self.ticket(id).await?;
        if ticket.status == TicketStatus::Closed {
            return Err(DutyError::Closed(id));
        }
        if ticket.owner.as_deref() != Some(actor.id.as_str()) {
            return Err(DutyError::NotOwner(id));
        }
        Ok(ticket)
    }

    /// A text to the ticket's sender on their channel, through the outbox.
    async fn to_sender(
        &self,
        ticket: &Ticket,
        text: &str,
        message: &'static str,
        now: Timestamp,
    ) -> Result<(), DutyError> {
        match ticket.channel {
            Channel::Sms => {
                let segments = count_segments(text).segments;
                if segments > MAX_REPLY_SEGMENTS {
                    return Err(DutyError::TooLong { segments });
                }
                let Some(provider) = self.settings.sms_provider.as_deref() else {
                    return Err(DutyError::NoChannel(Channel::Sms));
                };
                self.store
                    .enqueue_reply(
                        &NewReply {
                            channel: Channel::Sms,
                            provider: Some(provider),
                            recipient: &ticket.sender,
                            locale: ticket.locale,
                            body: text,
                            message,
                            segments: u32::try_from(segments).unwrap_or(u32::MAX),
                        },
                        now,
                    )
                    .await?;
                self.bell.ring();
                Ok(())
            }
            Channel::Telegram => {
                let Some(chats) = &self.chats else {
                    return Err(DutyError::NoChannel(Channel::Telegram));
                };
                let push = ChatPush {
                    locale: ticket.locale,
                    text: text.to_owned(),
                    message,
                    take: None,
                    take_label: None,
                };
                chats.push(&ticket.sender, &push, now).await?;
                Ok(())
            }
        }
    }

    /// Tells the agents on duty now in these cells about a ticket.
    async fn push_to_cells(
        &self,
        cells: &[Cell],
        ticket: &Ticket,
        message: MessageId,
        words: &str,
        take: Option<i64>,
        now: Timestamp,
    ) -> Result<usize, DutyError> {
        let mut agents: Vec<String> = roster::on_duty(self.store.as_ref(), cells, now)
            .await?
            .into_iter()
            .map(|shift| shift.agent)
            .collect();
        agents.sort();
        agents.dedup();
        let mut told = 0;
        for agent in &agents {
            if self
                .push_to_agent(agent, ticket, message, words, take, now)
                .await?
            {
                told += 1;
            }
        }
        if told == 0 {
            tracing::info!(
                ticket = ticket.id,
                "no agent on duty reachable on Telegram now"
            );
        }
        Ok(told)
    }

    /// One agent's copy of a ticket's news, in their language; `false` if they have no chat.
    async fn push_to_agent(
        &self,
        agent: &str,
        ticket: &Ticket,
        message: MessageId,
        words: &str,
        take: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, DutyError> {
        let (Some(chats), Some(agent)) = (&self.chats, self.store.duty_agent(agent).await?) else {
            return Ok(false);
        };
        let locale = agent.locale;
        let text = self.agent_text(locale, message, ticket, words, now);
        let push = ChatPush {
            locale,
            text,
            message: message.as_str(),
            take,
            take_label: take
                .map(|_| self.render(locale, MessageId::DutyButtonTake, &FluentArgs::new())),
        };
        chats.push(&agent.chat, &push, now).await?;
        Ok(true)
    }

    /// A ticket's news as an agent reads it: `#12` first (replying to it answers ticket 12),
    /// the commune, the masked sender, then the voter's words.
    pub fn agent_text(
        &self,
        locale: Locale,
        message: MessageId,
        ticket: &Ticket,
        words: &str,
        now: Timestamp,
    ) -> String {
        let mut args = FluentArgs::new();
        args.set("id", ticket.id.to_string());
        args.set("commune", ticket.commune.as_str().to_owned());
        args.set("phone", ticket.sender_masked.clone());
        args.set(
            "kind",
            match (ticket.kind, ticket.incident_kind) {
                (TicketKind::Incident, Some(kind)) => kind.as_str(),
                (TicketKind::Incident, None) => "incident",
                (TicketKind::Voter, _) => "voter",
            },
        );
        args.set(
            "centre",
            ticket.centre.clone().unwrap_or_else(|| "none".to_owned()),
        );
        args.set("minutes", (now - ticket.created_at).max(0) / 60);
        let head = self.render(locale, message, &args);
        if words.trim().is_empty() {
            head
        } else {
            format!("{head}\n{}", words.trim())
        }
    }
}

/// The ticket a text refers to: the first `#` followed by digits (`#12` in the messages the
/// desk sends agents), so that replying to one answers that ticket.
pub fn ticket_marker(text: &str) -> Option<i64> {
    let mut rest = text;
    while let Some(at) = rest.find('#') {
        let digits: String = rest[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(id) = digits.parse() {
            return Some(id);
        }
        rest = &rest[at + 1..];
    }
    None
}

fn audit_entry(
    actor: &Actor,
    action: &str,
    ticket: &Ticket,
    mut details: serde_json::Value,
    now: Timestamp,
) -> NewAuditEntry {
    if let Some(fields) = details.as_object_mut() {
        fields.insert("ticket".to_owned(), ticket.id.into());
    }
    NewAuditEntry {
        at: now,
        actor: actor.recorded(),
        action: action.to_owned(),
        communes: vec![ticket.commune.clone()],
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_marker_is_the_first_hash_with_digits() {
        assert_eq!(ticket_marker("#12 Nouvelle demande"), Some(12));
        assert_eq!(ticket_marker("a # b #7: x #9"), Some(7));
        assert_eq!(ticket_marker("no marker 12"), None);
        assert_eq!(ticket_marker("#"), None);
    }
}
