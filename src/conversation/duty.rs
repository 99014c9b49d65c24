//! The voter's side of the duty desk: `AGENT` (or `CONSEILLER`, `موظف`, `مساعدة موظف`) opens a
//! ticket for the voter's commune, asking for the commune with the report dialogue's matching
//! when no lookup told it; while the ticket is open the voter's messages go to it (lookups
//! keep working with their usual messages); `FIN` / `إنهاء` ends it.

use fluent_bundle::FluentArgs;

use super::intent::{Intent, Numbers};
use super::{Conversation, Dialogue, Handled, Inbound};
use crate::domain::{CommuneCode, Locale, Timestamp, mask_sender};
use crate::duty::{Availability, DutyError, roster};
use crate::i18n::MessageId;
use crate::reports::communes::{self, CommuneMatch};
use crate::store::{NewTicket, SenderState, StoreError, TicketKind};

impl Conversation {
    /// The duty desk's turn at a message, before the rest of the conversation: `None` lets
    /// the message go on to the bot.
    pub(super) async fn duty_step(
        &self,
        inbound: &Inbound,
        intent: &Intent,
        open_ticket: bool,
        state: &mut SenderState,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Option<Handled>, StoreError> {
        let Some(desk) = &self.duty else {
            return Ok(None);
        };
        // `open_ticket` was read with the sender's state: most messages come from senders
        // with no ticket, and cost no read here.
        let open = if open_ticket {
            desk.store()
                .open_ticket_of(inbound.channel, &inbound.sender)
                .await?
        } else {
            None
        };
        match (intent, open) {
            (Intent::AskAgent(words), Some(ticket)) => {
                if !words.is_empty() {
                    duty_result(desk.from_sender(&ticket, words, now).await)?;
                }
                Ok(Some(self.with_id(
                    locale,
                    MessageId::DutyAlreadyOpen,
                    ticket.id,
                )))
            }
            (Intent::AskAgent(words), None) => match self.sender_commune(inbound).await? {
                Some(commune) => self
                    .open_ticket(inbound, commune, words, state, locale, now)
                    .await
                    .map(Some),
                None => {
                    state.dialogue = Some((
                        Dialogue::AwaitingDutyCommune {
                            words: words.clone(),
                            choices: Vec::new(),
                        }
                        .to_json(),
                        now + self.settings.dialogue_ttl_seconds,
                    ));
                    Ok(Some(self.simple(locale, MessageId::DutyAskCommune)))
                }
            },
            (Intent::EndAgent, Some(ticket)) => {
                duty_result(desk.close_by_sender(&ticket, now).await)?;
                Ok(Some(self.with_id(locale, MessageId::DutyEnded, ticket.id)))
            }
            (Intent::EndAgent, None) => {
                if matches!(
                    Dialogue::of(state)?,
                    Some(Dialogue::AwaitingDutyCommune { .. })
                ) {
                    state.dialogue = None;
                }
                Ok(Some(self.simple(locale, MessageId::DutyNoTicket)))
            }
            (intent, Some(ticket)) if !reaches_the_bot(intent) => {
                duty_result(desk.from_sender(&ticket, &inbound.text, now).await)?;
                // The person on duty answers; the bot stays quiet (an SMS costs the voter).
                Ok(Some(Handled {
                    replies: Vec::new(),
                    outcome: None,
                }))
            }
            (intent, None) if !reaches_the_bot(intent) => match Dialogue::of(state)? {
                Some(Dialogue::AwaitingDutyCommune { words, choices }) => self
                    .duty_commune(inbound, &words, &choices, state, locale, now)
                    .await
                    .map(Some),
                _ => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// The commune a lookup of this sender found: the voter they subscribed to.
    async fn sender_commune(&self, inbound: &Inbound) -> Result<Option<CommuneCode>, StoreError> {
        for nin in self
            .store
            .subscriptions(inbound.channel, &inbound.sender)
            .await?
        {
            if let Some(voter) = self.store.find_voter(&nin).await? {
                return Ok(Some(voter.place.commune.code));
            }
        }
        Ok(None)
    }

    /// The answer to "which commune": one commune opens the ticket; several are offered by
    /// number, as the report dialogue does.
    async fn duty_commune(
        &self,
        inbound: &Inbound,
        words: &str,
        choices: &[String],
        state: &mut SenderState,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Handled, StoreError> {
        let all = communes::directory(&self.store.communes().await?);
        let picked = crate::domain::normalize_digits(&inbound.text)
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| choices.get(i))
            .and_then(|code| all.iter().find(|c| c.code.as_str() == code))
            .cloned();
        let found = match picked {
            Some(commune) => CommuneMatch::One(commune),
            None => communes::find(&all, &inbound.text),
        };
        match found {
            CommuneMatch::One(commune) => {
                state.dialogue = None;
                self.open_ticket(inbound, commune.code, words, state, locale, now)
                    .await
            }
            CommuneMatch::Several(found) => {
                let (handled, codes) = self.commune_choice(&found, locale);
                state.dialogue = Some((
                    Dialogue::AwaitingDutyCommune {
                        words: words.to_owned(),
                        choices: codes,
                    }
                    .to_json(),
                    now + self.settings.dialogue_ttl_seconds,
                ));
                Ok(handled)
            }
            CommuneMatch::TooMany => Ok(self.simple(locale, MessageId::ReportCommuneTooMany)),
            CommuneMatch::NotFound => Ok(self.simple(locale, MessageId::DutyCommuneUnknown)),
        }
    }

    async fn open_ticket(
        &self,
        inbound: &Inbound,
        commune: CommuneCode,
        words: &str,
        state: &mut SenderState,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Handled, StoreError> {
        let Some(desk) = &self.duty else {
            return Ok(self.simple(locale, MessageId::ServiceUnavailable));
        };
        // The voter's language from now on is the one they asked in.
        state.locale = Some(locale);
        let ticket = NewTicket {
            commune,
            channel: inbound.channel,
            sender: inbound.sender.clone(),
            sender_masked: mask_sender(&inbound.sender),
            locale,
            kind: TicketKind::Voter,
            incident_kind: None,
            centre: None,
            priority: 0,
            first_message: (!words.is_empty()).then(|| words.to_owned()),
        };
        let opened = duty_result(desk.open(&ticket, now).await)?;
        let id = opened.ticket.id;
        Ok(match opened.availability {
            Availability::Now => self.with_id(locale, MessageId::DutyOpenedNow, id),
            Availability::Unknown => self.with_id(locale, MessageId::DutyOpenedUnknown, id),
            Availability::From(at) => {
                let mut args = FluentArgs::new();
                args.set("id", id.to_string());
                args.set("date", roster::local_time(at));
                self.single(locale, MessageId::DutyOpenedLater, args)
            }
        })
    }

    fn with_id(&self, locale: Locale, message: MessageId, id: i64) -> Handled {
        let mut args = FluentArgs::new();
        args.set("id", id.to_string());
        self.single(locale, message, args)
    }
}

/// Messages that go to the bot even while a ticket is open: lookups (a NIN or a birth date),
/// help, the language, notices on and off, and the clerks' commands.
fn reaches_the_bot(intent: &Intent) -> bool {
    match intent {
        Intent::Numbers(Numbers { nin, birth, .. }) => nin.is_some() || birth.is_some(),
        Intent::Help
        | Intent::ChooseLanguage(_)
        | Intent::StopNotices
        | Intent::StartNotices
        | Intent::ClerkEnrol(_)
        | Intent::ClerkReport
        | Intent::ClerkReports => true,
        Intent::Report
        | Intent::Yes
        | Intent::No
        | Intent::AskAgent(_)
        | Intent::EndAgent
        | Intent::Unrecognised => false,
    }
}

/// The desk's failures as the conversation's: storage failures are, and the others cannot
/// happen on the voter's side (they concern agents), so they are logged and told as one.
fn duty_result<T>(result: Result<T, DutyError>) -> Result<T, StoreError> {
    result.map_err(|error| match error {
        DutyError::Store(store) => store,
        other => StoreError::Corrupt(format!("duty desk: {other}")),
    })
}
