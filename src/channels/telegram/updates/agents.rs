//! The duty desk on Telegram: agents take a ticket with its button, answer the voter by
//! replying to the ticket's message, write internal notes (`/note`) and close (`/close`);
//! clerks report an incident at a centre (`/incident`: the kind, then the centre, by buttons).
//!
//! A chat is an agent's when the roster recorded it (`duty_agents`); a clerk's when it
//! enrolled with an invitation. Anyone else who types these commands is answered by the
//! conversation, as any other text.

use fluent_bundle::FluentArgs;
use teloxide::types::{CallbackQueryId, InlineKeyboardButton, InlineKeyboardMarkup, Message};

use super::{CallbackData, Processor, parse_command};
use crate::channels::telegram::sender::{ChatMessage, TelegramSendError};
use crate::domain::{Channel, Locale, Timestamp, mask_sender};
use crate::duty::{Actor, DutyDesk, DutyError, ticket_marker};
use crate::i18n::MessageId;
use crate::store::{INCIDENT_PRIORITY, IncidentKind, NewReply, NewTicket, StoreError, TicketKind};

/// Centres offered as buttons for an incident: a commune's whole map fits, in practice.
const MAX_CENTRE_BUTTONS: usize = 60;

/// What an agent's or a clerk's message asks of the duty desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DutyCommand {
    /// A reply to the message of this ticket: the text answers the voter.
    Reply(i64),
    /// `/close [ID]`, or `/close` in reply to a ticket's message.
    Close(Option<i64>),
    /// `/note [ID] TEXT`.
    Note(Option<i64>, String),
    /// `/incident`: a clerk reports a problem at a centre.
    Incident,
}

/// The duty command of a private message, given the message it replies to (if any).
pub fn duty_command(text: &str, replied: Option<&Message>) -> Option<DutyCommand> {
    let marked = replied
        .and_then(|message| message.text().or_else(|| message.caption()))
        .and_then(ticket_marker);
    let Some(command) = parse_command(text) else {
        return marked.map(DutyCommand::Reply);
    };
    let mut words = text.split_whitespace().skip(1).peekable();
    let explicit = words
        .peek()
        .and_then(|word| word.trim_start_matches('#').parse().ok());
    if explicit.is_some() {
        words.next();
    }
    let ticket = explicit.or(marked);
    match command.name.as_str() {
        "close" | "clore" => Some(DutyCommand::Close(ticket)),
        "note" => Some(DutyCommand::Note(
            ticket,
            words.collect::<Vec<_>>().join(" "),
        )),
        "incident" => Some(DutyCommand::Incident),
        _ => None,
    }
}

impl Processor {
    fn desk(&self) -> Option<&DutyDesk> {
        self.conversation.duty()
    }

    /// Carries out a duty command, or hands the text to the conversation when the chat is
    /// not an agent's (or a clerk's, for `/incident`).
    pub(super) async fn duty(
        &self,
        chat: i64,
        command: DutyCommand,
        text: String,
        hint: Option<Locale>,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        self.store.set_chat_blocked(chat, false, now).await?;
        let Some(desk) = self.desk() else {
            return self.converse(chat, text, hint, now).await;
        };
        if command == DutyCommand::Incident {
            return self.incident_kinds(chat, hint, now).await;
        }
        let Some(agent) = self.store.duty_agent_by_chat(&chat.to_string()).await? else {
            return self.converse(chat, text, hint, now).await;
        };
        let actor = Actor {
            id: agent.agent.clone(),
            name: agent.name.clone(),
        };
        let locale = agent.locale;
        let (ticket, done) = match command {
            DutyCommand::Reply(ticket) => {
                let answered = desk.reply(ticket, &actor, &text, now).await;
                (ticket, answered.map(|_| MessageId::DutyReplySent))
            }
            DutyCommand::Close(Some(ticket)) => (
                ticket,
                desk.close(ticket, &actor, true, now)
                    .await
                    .map(|_| MessageId::DutyClosed),
            ),
            DutyCommand::Note(Some(ticket), note) => (
                ticket,
                desk.note(ticket, &actor, &note, now)
                    .await
                    .map(|_| MessageId::DutyNoteSaved),
            ),
            DutyCommand::Close(None) | DutyCommand::Note(None, _) | DutyCommand::Incident => {
                return self
                    .tell(chat, locale, MessageId::DutyPickTicket, 0, now)
                    .await;
            }
        };
        let (message, count) = match done {
            Ok(message) => (message, 0),
            Err(error) => refusal(error)?,
        };
        let mut args = FluentArgs::new();
        args.set("id", ticket.to_string());
        args.set("count", count);
        let text = desk.render(locale, message, &args);
        self.push(chat, locale, message, text, Vec::new(), now)
            .await
    }

    /// "Take it": the first agent to press owns the ticket; the others are told it is taken.
    pub(super) async fn take(
        &self,
        chat: i64,
        query: &CallbackQueryId,
        ticket: i64,
        hint: Option<Locale>,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        let (Some(desk), Some(agent)) = (
            self.desk(),
            self.store.duty_agent_by_chat(&chat.to_string()).await?,
        ) else {
            let locale = self.locale(chat, hint, now).await?;
            let refused = self.conversation.message(locale, MessageId::DutyNotAgent);
            return self
                .sender
                .answer_callback(query, Some(&refused.text))
                .await;
        };
        let actor = Actor {
            id: agent.agent.clone(),
            name: agent.name.clone(),
        };
        let locale = agent.locale;
        match desk.take(ticket, &actor, now).await {
            Ok(taken) => {
                self.sender.answer_callback(query, None).await?;
                let mut args = FluentArgs::new();
                args.set("id", taken.id.to_string());
                let text = desk.render(locale, MessageId::DutyTaken, &args);
                self.push(chat, locale, MessageId::DutyTaken, text, Vec::new(), now)
                    .await
            }
            Err(error) => {
                let (message, _) = refusal(error)?;
                let mut args = FluentArgs::new();
                args.set("id", ticket.to_string());
                let text = desk.render(locale, message, &args);
                self.sender.answer_callback(query, Some(&text)).await
            }
        }
    }

    /// `/incident`: the kinds, as buttons (clerks only).
    async fn incident_kinds(
        &self,
        chat: i64,
        hint: Option<Locale>,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        let locale = self.locale(chat, hint, now).await?;
        if self.store.clerk_by_chat(&chat.to_string()).await?.is_none() {
            return self
                .tell(chat, locale, MessageId::IncidentClerksOnly, 0, now)
                .await;
        }
        let buttons = [
            (
                IncidentKind::CentreClosed,
                MessageId::IncidentKindCentreClosed,
            ),
            (
                IncidentKind::MissingMaterial,
                MessageId::IncidentKindMissingMaterial,
            ),
            (IncidentKind::ListError, MessageId::IncidentKindListError),
            (IncidentKind::Other, MessageId::IncidentKindOther),
        ]
        .into_iter()
        .map(|(kind, label)| {
            (
                self.conversation.message(locale, label).text,
                CallbackData::IncidentKind(kind),
            )
        })
        .collect();
        let text = self
            .conversation
            .message(locale, MessageId::IncidentChooseKind)
            .text;
        self.push(
            chat,
            locale,
            MessageId::IncidentChooseKind,
            text,
            buttons,
            now,
        )
        .await
    }

    /// The incident's kind is chosen: the centres of the clerk's commune, as buttons (or the
    /// incident at once when the commune has no map).
    pub(super) async fn incident_centres(
        &self,
        chat: i64,
        kind: IncidentKind,
        hint: Option<Locale>,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        let locale = self.locale(chat, hint, now).await?;
        let Some(clerk) = self.store.clerk_by_chat(&chat.to_string()).await? else {
            return self
                .tell(chat, locale, MessageId::IncidentClerksOnly, 0, now)
                .await;
        };
        let centres = self.store.commune_centres(&clerk.commune).await?;
        if centres.is_empty() {
            return self.open_incident(chat, kind, None, hint, now).await;
        }
        let buttons = centres
            .into_iter()
            .take(MAX_CENTRE_BUTTONS)
            .map(|centre| {
                let name = match locale {
                    Locale::Ar => centre.name_ar,
                    Locale::Fr => centre.name_fr,
                };
                (name, CallbackData::IncidentCentre(kind, centre.code))
            })
            .collect();
        let text = self
            .conversation
            .message(locale, MessageId::IncidentChooseCentre)
            .text;
        self.push(
            chat,
            locale,
            MessageId::IncidentChooseCentre,
            text,
            buttons,
            now,
        )
        .await
    }

    /// Opens the clerk's incident, at the head of the commune's queue.
    pub(super) async fn open_incident(
        &self,
        chat: i64,
        kind: IncidentKind,
        centre: Option<String>,
        hint: Option<Locale>,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        let locale = self.locale(chat, hint, now).await?;
        let (Some(desk), Some(clerk)) = (
            self.desk(),
            self.store.clerk_by_chat(&chat.to_string()).await?,
        ) else {
            return self
                .tell(chat, locale, MessageId::IncidentClerksOnly, 0, now)
                .await;
        };
        let sender = chat.to_string();
        let ticket = NewTicket {
            commune: clerk.commune.clone(),
            channel: Channel::Telegram,
            sender_masked: format!("clerk:{} {}", clerk.id, mask_sender(&sender)),
            sender,
            locale,
            kind: TicketKind::Incident,
            incident_kind: Some(kind),
            centre,
            priority: INCIDENT_PRIORITY,
            first_message: None,
        };
        let opened = match desk.open(&ticket, now).await {
            Ok(opened) => opened,
            Err(error) => {
                refusal(error)?;
                return Ok(());
            }
        };
        self.tell(
            chat,
            locale,
            MessageId::IncidentOpened,
            opened.ticket.id,
            now,
        )
        .await
    }

    /// A duty message with a ticket number.
    async fn tell(
        &self,
        chat: i64,
        locale: Locale,
        message: MessageId,
        ticket: i64,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        let mut args = FluentArgs::new();
        args.set("id", ticket.to_string());
        let text = match self.desk() {
            Some(desk) => desk.render(locale, message, &args),
            None => self.conversation.message(locale, message).text,
        };
        self.push(chat, locale, message, text, Vec::new(), now)
            .await
    }

    /// Puts a message with buttons (one per row) in the outbox: the road of every reply.
    async fn push(
        &self,
        chat: i64,
        locale: Locale,
        message: MessageId,
        text: String,
        buttons: Vec<(String, CallbackData)>,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        let keyboard =
            (!buttons.is_empty()).then(|| {
                InlineKeyboardMarkup::new(buttons.into_iter().map(|(label, data)| {
                    vec![InlineKeyboardButton::callback(label, data.encode())]
                }))
            });
        let body = serde_json::to_string(&ChatMessage {
            text,
            keyboard,
            venue: None,
        })
        .map_err(|error| StoreError::Corrupt(format!("telegram duty reply: {error}")))?;
        let recipient = chat.to_string();
        self.store
            .enqueue_reply(
                &NewReply {
                    channel: Channel::Telegram,
                    provider: None,
                    recipient: &recipient,
                    locale,
                    body: &body,
                    message: message.as_str(),
                    segments: 1,
                },
                now,
            )
            .await?;
        self.bell.ring();
        Ok(())
    }
}

/// What the agent is told when the desk refused, with the SMS count of a long answer; a
/// storage failure is the update's failure.
fn refusal(error: DutyError) -> Result<(MessageId, usize), TelegramSendError> {
    Ok(match error {
        DutyError::Taken { .. } => (MessageId::DutyAlreadyTaken, 0),
        DutyError::NotOwner(_) => (MessageId::DutyNotOwner, 0),
        DutyError::Closed(_) => (MessageId::DutyTicketClosed, 0),
        DutyError::NotFound(_) | DutyError::Empty => (MessageId::DutyPickTicket, 0),
        DutyError::TooLong { segments } => (MessageId::DutyReplyTooLong, segments),
        DutyError::NoChannel(_) => (MessageId::DutyCannotSend, 0),
        DutyError::Store(error) => return Err(error.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_and_note_take_the_ticket_from_their_argument() {
        assert_eq!(
            duty_command("/close 12", None),
            Some(DutyCommand::Close(Some(12)))
        );
        assert_eq!(duty_command("/close", None), Some(DutyCommand::Close(None)));
        assert_eq!(
            duty_command("/note #7 rappeler demain", None),
            Some(DutyCommand::Note(Some(7), "rappeler demain".to_owned()))
        );
        assert_eq!(duty_command("/incident", None), Some(DutyCommand::Incident));
        assert_eq!(duty_command("/start", None), None);
        assert_eq!(duty_command("bonjour", None), None);
    }
}
