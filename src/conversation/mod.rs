//! The channel-agnostic conversation core: an [`Inbound`] message from any channel becomes one
//! or more [`Reply`] values. Channels only translate between their wire format and these.
//!
//! The core answers "where do I vote" from a NIN and a birth date (or year), remembers a
//! half-finished dialogue per sender in the store (so a restart does not lose it), enforces
//! the abuse limits, and never reveals whether a NIN is on the roll to someone who cannot
//! verify it: an unknown NIN and a wrong birth date get the very same reply.

mod duty;
pub mod intent;
pub mod report;
pub mod stats;

use std::sync::Arc;

use fluent_bundle::FluentArgs;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{
    Channel, CommuneCode, Coordinates, Locale, NationalId, PollingPlace, StationKind, Timestamp,
    mask_sender,
};
use crate::i18n::{Catalog, MessageId};
use crate::store::{
    BirthCheck, Delivery, Lookup, LookupAdmission, LookupAhead, LookupDone, SenderState, Store,
    StoreError,
};
use intent::{Birth, BirthProblem, Intent, Numbers};
use stats::LookupRecorder;

/// One message from a voter.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub channel: Channel,
    /// The channel's id for the sender: a phone number or a Telegram chat id.
    pub sender: String,
    pub text: String,
}

/// A place to show on a map, for channels that can (Telegram's venue).
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub title: String,
    pub address: String,
    pub coordinates: Coordinates,
}

/// One message back to the voter.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub locale: Locale,
    /// Which catalogue message this is, so channels and tests can tell replies apart.
    pub message: MessageId,
    pub text: String,
    pub venue: Option<Venue>,
    /// Buttons under the message, for channels that have them ([`Channel::has_buttons`]);
    /// always empty for SMS.
    pub buttons: Vec<Button>,
}

/// A button under a reply. Channels decide how to carry the action (Telegram: a stored
/// offer referred to by a short `callback_data`, so a NIN never travels in a button).
#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    pub label: String,
    pub action: ButtonAction,
}

/// What pressing a button does.
#[derive(Debug, Clone, PartialEq)]
pub enum ButtonAction {
    /// Answer in this language from now on.
    ChooseLanguage(Locale),
    /// Notify this chat of changes to this voter's station.
    Subscribe(NationalId),
    /// Start reporting oneself missing from the roll (what SIGNALER does).
    Report,
    /// Ask for a person on duty (what AGENT does).
    AskAgent,
}

/// How a lookup ended, for statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupOutcome {
    Found,
    NotFound,
    /// The NIN is on the roll but the birth date or year did not match. The voter is told
    /// exactly what an unknown NIN gets; only statistics tell the two apart.
    VerificationFailed,
    RateLimitedSender,
    RateLimitedNin,
}

impl LookupOutcome {
    /// Every outcome, for reports.
    pub const ALL: [LookupOutcome; 5] = [
        Self::Found,
        Self::NotFound,
        Self::VerificationFailed,
        Self::RateLimitedSender,
        Self::RateLimitedNin,
    ];

    /// The statistics and metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Found => "found",
            Self::NotFound => "not_found",
            Self::VerificationFailed => "verification_failed",
            Self::RateLimitedSender => "rate_limited_sender",
            Self::RateLimitedNin => "rate_limited_nin",
        }
    }
}

/// The result of handling one message.
#[derive(Debug, Clone)]
pub struct Handled {
    pub replies: Vec<Reply>,
    /// Set when the message led to a lookup attempt.
    pub outcome: Option<LookupOutcome>,
}

/// A dialogue waiting for the sender's next message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Dialogue {
    /// The sender gave a NIN; the birth date or year is to come.
    AwaitingBirth { nin: String },
    /// The sender gave a birth date (ISO) or year with a NIN of the wrong length: the NIN is
    /// to come, and the birth is kept for it.
    AwaitingNin { birth: String },
    /// A lookup found nothing: SIGNALER now reports the sender missing from the roll, with
    /// this NIN (and birth date, ISO, if a full one was given).
    ReportOffered {
        nin: String,
        birth_date: Option<String>,
    },
    /// A report being filled in.
    Reporting(report::ReportDraft),
    /// The sender asked for a person (with these words) and is asked for their commune;
    /// `choices` are the commune codes offered by number, if several matched.
    AwaitingDutyCommune { words: String, choices: Vec<String> },
}

impl Dialogue {
    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored form.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The sender's pending dialogue, read from the stored form the store keeps opaque.
    fn of(state: &SenderState) -> Result<Option<Self>, StoreError> {
        state
            .dialogue
            .as_ref()
            .map(|(json, _)| Self::from_json(json).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }
}

/// What the person asking must prove besides the NIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    #[default]
    BirthDate,
    BirthYear,
    None,
}

impl Verification {
    fn catalogue_key(self) -> &'static str {
        match self {
            Self::BirthDate => "date",
            Self::BirthYear => "year",
            Self::None => "none",
        }
    }
}

/// The conversation's tunable rules.
#[derive(Debug, Clone)]
pub struct ConversationSettings {
    pub verification: Verification,
    /// Lookups one sender may make per clock hour.
    pub max_lookups_per_sender_per_hour: u64,
    /// Failed verifications one NIN may have per day before lookups of it are refused.
    pub max_failures_per_nin_per_day: u64,
    /// How long a half-finished dialogue waits for the next message.
    pub dialogue_ttl_seconds: i64,
    /// Roll checks one clerk may make per clock hour while filing reports (whether the
    /// citizen is already on the roll of the clerk's commune); beyond it reports are filed
    /// without the check.
    pub max_clerk_checks_per_hour: u64,
}

impl Default for ConversationSettings {
    fn default() -> Self {
        Self {
            verification: Verification::BirthDate,
            max_lookups_per_sender_per_hour: 10,
            max_failures_per_nin_per_day: 5,
            dialogue_ttl_seconds: 15 * 60,
            max_clerk_checks_per_hour: 30,
        }
    }
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// The conversation core.
#[derive(Clone)]
pub struct Conversation {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    settings: ConversationSettings,
    recorder: Option<Arc<LookupRecorder>>,
    /// The duty desk, for voters who ask for a person (`AGENT`); without it they get a hint.
    duty: Option<crate::duty::DutyDesk>,
}

impl Conversation {
    pub fn new(
        store: Arc<dyn Store>,
        catalog: Arc<Catalog>,
        settings: ConversationSettings,
    ) -> Self {
        Self {
            store,
            catalog,
            settings,
            recorder: None,
            duty: None,
        }
    }

    /// Opens tickets of the duty desk for voters who ask for a person.
    pub fn with_duty(mut self, desk: crate::duty::DutyDesk) -> Self {
        self.duty = Some(desk);
        self
    }

    /// Counts every lookup's outcome for statistics (in memory; flushed elsewhere).
    pub fn with_recorder(mut self, recorder: Arc<LookupRecorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// The duty desk, if voters can ask for a person.
    pub fn duty(&self) -> Option<&crate::duty::DutyDesk> {
        self.duty.as_ref()
    }

    /// The message catalogues, for channels that have texts of their own.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Handles a message now.
    pub async fn handle(&self, inbound: &Inbound) -> Handled {
        self.handle_at(inbound, crate::domain::now()).await
    }

    /// Handles a message as if it arrived at `now` (tests move the clock this way).
    pub async fn handle_at(&self, inbound: &Inbound, now: Timestamp) -> Handled {
        self.handle_hinted_at(inbound, None, now).await
    }

    /// Handles a message with a language hint from the channel (Telegram: the language of the
    /// user's client), used only when nothing else tells the language: an explicit choice, the
    /// message's own script and the sender's last language all win over it. A separate entry
    /// point rather than a field of [`Inbound`], so that channels which have no hint are
    /// unaffected.
    pub async fn handle_hinted_at(
        &self,
        inbound: &Inbound,
        locale_hint: Option<Locale>,
        now: Timestamp,
    ) -> Handled {
        // The sender's state and whether a person on duty is talking with them, in one read.
        let known = self
            .store
            .sender_state_and_open_ticket(inbound.channel, &inbound.sender, now)
            .await;
        let intent = intent::parse_on(&inbound.text, date_of(now));
        self.respond(inbound, intent, locale_hint, now, known, None)
            .await
    }

    /// Handles a message delivered by a provider under `message_id` (`source` names the
    /// provider, as in [`SenderStore::first_delivery`](crate::store::SenderStore)): its id is
    /// recorded and the sender's state read in one step. `Ok(None)`: a retry, already
    /// handled. `Err`: the id could not be recorded, so nothing was done and the provider
    /// should deliver the message again.
    ///
    /// A message that asks for a lookup whatever the sender's state ([`Self::plain_lookup`]:
    /// a NIN and the birth the verification needs) has that lookup done in the same write,
    /// if the state read there lets it ([`lookup_regardless_of_state`]): one commit to wait
    /// for instead of two. The conversation then runs as for any message and takes the
    /// lookup's result where it would have asked the store for it (`verified_lookup`), so
    /// the replies are the same either way.
    pub async fn handle_delivery(
        &self,
        inbound: &Inbound,
        source: &str,
        message_id: &str,
    ) -> Result<Option<Handled>, StoreError> {
        self.handle_delivery_at(inbound, source, message_id, crate::domain::now())
            .await
    }

    /// [`Self::handle_delivery`] as if the message arrived at `now`.
    pub async fn handle_delivery_at(
        &self,
        inbound: &Inbound,
        source: &str,
        message_id: &str,
        now: Timestamp,
    ) -> Result<Option<Handled>, StoreError> {
        let intent = intent::parse_on(&inbound.text, date_of(now));
        let planned = self.plain_lookup(&intent).map(|(nin, birth)| {
            let keys = LookupKeys::of(inbound, &nin, now);
            (nin, self.birth_check(birth), keys)
        });
        let delivery = Delivery {
            source,
            message_id,
            channel: inbound.channel,
            sender: &inbound.sender,
            now,
            lookup: planned.as_ref().map(|(nin, check, keys)| LookupAhead {
                lookup: self.lookup_request(inbound, keys, nin, *check, now),
                applies: lookup_regardless_of_state,
            }),
        };
        let Some(delivered) = self.store.first_delivery_with_state(&delivery).await? else {
            return Ok(None);
        };
        let ahead = match (delivered.lookup, planned) {
            (Some(done), Some((nin, check, _))) => Some(DoneAhead { nin, check, done }),
            _ => None,
        };
        let known = Ok((delivered.state, delivered.open_ticket));
        Ok(Some(
            self.respond(inbound, intent, None, now, known, ahead).await,
        ))
    }

    /// The NIN and birth of a message that asks for a lookup whatever the sender's state:
    /// one NIN, and the birth date or year the verification needs. `numbers` looks such a
    /// message up with these whatever the pending dialogue holds (the message's own NIN and
    /// birth win over the dialogue's), unless a report is being filled in or the sender
    /// talks with a person on duty ([`lookup_regardless_of_state`]).
    fn plain_lookup(&self, intent: &Intent) -> Option<(NationalId, Option<Birth>)> {
        let Intent::Numbers(numbers) = intent else {
            return None;
        };
        if numbers.several_nins {
            return None;
        }
        let nin = numbers.nin.clone()?;
        let birth = verified_birth(self.settings.verification, numbers.birth)?;
        Some((nin, birth))
    }

    /// What a voter's birth date must be, from what the sender gave and the verification.
    fn birth_check(&self, birth: Option<Birth>) -> BirthCheck {
        match (birth, self.settings.verification) {
            (Some(Birth::Date(date)), _) => BirthCheck::Date(date),
            (Some(Birth::Year(year)), _) => BirthCheck::Year(year),
            (None, Verification::None) => BirthCheck::Any,
            (None, _) => BirthCheck::Missing,
        }
    }

    /// The store's work for a lookup of `nin` by this message's sender.
    fn lookup_request<'a>(
        &self,
        inbound: &'a Inbound,
        keys: &'a LookupKeys,
        nin: &'a NationalId,
        check: BirthCheck,
        now: Timestamp,
    ) -> Lookup<'a> {
        // A phone number that found a voter hears about changes to that voter's station
        // (unless it says STOP); a chat is asked first, with a button.
        let subscribes = inbound.channel.capabilities().subscribes_on_lookup;
        Lookup {
            admission: LookupAdmission {
                sender_key: &keys.sender_key,
                hour: keys.hour,
                max_per_sender: self.settings.max_lookups_per_sender_per_hour,
                nin_key: &keys.nin_key,
                day: keys.day,
            },
            max_failures_per_nin: self.settings.max_failures_per_nin_per_day,
            nin,
            check,
            subscription: subscribes.then_some((inbound.channel, inbound.sender.as_str())),
            now,
        }
    }

    /// The replies to a message, given what is known of its sender (or why it could not be
    /// read): a failure is answered with "service unavailable" in the message's language.
    async fn respond(
        &self,
        inbound: &Inbound,
        intent: Intent,
        locale_hint: Option<Locale>,
        now: Timestamp,
        known: Result<(SenderState, bool), StoreError>,
        ahead: Option<DoneAhead>,
    ) -> Handled {
        let detected = detect_language(&inbound.text);
        let handled = match known {
            Ok(known) => {
                self.converse(inbound, intent, locale_hint, now, known, ahead)
                    .await
            }
            Err(error) => Err(error),
        };
        match handled {
            Ok(handled) => handled,
            Err(error) => {
                tracing::error!(
                    %error,
                    channel = %inbound.channel,
                    sender = %mask_sender(&inbound.sender),
                    "conversation failed"
                );
                let locale = detected.or(locale_hint).unwrap_or(Locale::Ar);
                Handled {
                    replies: vec![self.reply(
                        locale,
                        MessageId::ServiceUnavailable,
                        FluentArgs::new(),
                    )],
                    outcome: None,
                }
            }
        }
    }

    /// `ahead`: the lookup [`Self::handle_delivery`] did with the message id, taken by
    /// `verified_lookup` instead of asking the store.
    async fn converse(
        &self,
        inbound: &Inbound,
        intent: Intent,
        locale_hint: Option<Locale>,
        now: Timestamp,
        (stored, open_ticket): (SenderState, bool),
        mut ahead: Option<DoneAhead>,
    ) -> Result<Handled, StoreError> {
        let detected = detect_language(&inbound.text);
        let mut state = stored.clone();
        let in_report = matches!(Dialogue::of(&state)?, Some(Dialogue::Reporting(_)));
        // The language is the sender's until they choose another. Only running text changes
        // it; keywords, slash commands, names and communes (the answers of a report) are
        // written alike by speakers of both languages and do not.
        let mut locale_now = None;
        match &intent {
            Intent::ChooseLanguage(locale) => {
                state.locale = Some(*locale);
                state.locale_explicit = true;
            }
            _ if state.locale_explicit => {}
            _ if in_report && state.locale.is_none() => locale_now = detected,
            _ if in_report => {}
            Intent::Numbers(_) | Intent::Unrecognised if is_running_text(&inbound.text) => {
                state.locale = detected.or(state.locale);
            }
            // A sender the service knows nothing about: a keyword in one language (AIDE,
            // OUI, توقف) is the best guess and is kept; one spelled alike in both (STOP, OK)
            // only colours this reply, after the channel's hint.
            _ if state.locale.is_none() => {
                if intent::is_neutral_keyword(&inbound.text) {
                    locale_now = detected;
                } else {
                    state.locale = detected;
                }
            }
            _ => {}
        }
        let locale = state
            .locale
            .or(locale_hint)
            .or(locale_now)
            .unwrap_or(Locale::Ar);
        if let Some(handled) = self
            .duty_step(inbound, &intent, open_ticket, &mut state, locale, now)
            .await?
        {
            not_taken(ahead.as_ref());
            if state != stored {
                self.store
                    .save_sender_state(inbound.channel, &inbound.sender, &state, now)
                    .await?;
            }
            return Ok(handled);
        }
        let dialogue = Dialogue::of(&state)?;
        let handled = match (dialogue, intent) {
            (_, Intent::ClerkEnrol(code)) => self.enrol_clerk(inbound, &code, locale, now).await?,
            (_, Intent::ClerkReport) => {
                self.start_clerk_report(inbound, &mut state, locale, now)
                    .await?
            }
            (_, Intent::ClerkReports) => self.clerk_reports(inbound, locale).await?,
            (Some(Dialogue::Reporting(draft)), intent)
                if !matches!(
                    intent,
                    Intent::ChooseLanguage(_)
                        | Intent::StopNotices
                        | Intent::StartNotices
                        | Intent::Help
                ) && !report::is_new_lookup(&draft, &intent) =>
            {
                self.report_step(inbound, intent, draft, &mut state, locale, now)
                    .await?
            }
            (Some(Dialogue::ReportOffered { nin, birth_date }), Intent::Report) => {
                self.start_self_report(inbound, &mut state, &nin, birth_date, locale, now)
                    .await?
            }
            (_, Intent::Report) => self.simple(locale, MessageId::ReportNeedsLookup),
            (_, Intent::Help) => {
                let mut help = self.simple(locale, MessageId::Help);
                self.offer_agent(inbound, &mut help, locale);
                help
            }
            (_, Intent::ChooseLanguage(_)) => self.simple(locale, MessageId::LanguageSet),
            (
                _,
                Intent::Unrecognised
                | Intent::Yes
                | Intent::No
                | Intent::AskAgent(_)
                | Intent::EndAgent,
            ) => self.simple(locale, MessageId::Hint),
            (_, Intent::StopNotices) => {
                state.notices_opt_out = true;
                self.simple(locale, MessageId::NoticesStopped)
            }
            (_, Intent::StartNotices) => {
                state.notices_opt_out = false;
                self.simple(locale, MessageId::NoticesStarted)
            }
            (_, Intent::Numbers(numbers)) => {
                self.numbers(inbound, numbers, &mut state, locale, now, &mut ahead)
                    .await?
            }
        };
        not_taken(ahead.as_ref());
        if state != stored {
            self.store
                .save_sender_state(inbound.channel, &inbound.sender, &state, now)
                .await?;
        }
        Ok(handled)
    }

    async fn numbers(
        &self,
        inbound: &Inbound,
        numbers: Numbers,
        state: &mut SenderState,
        locale: Locale,
        now: Timestamp,
        ahead: &mut Option<DoneAhead>,
    ) -> Result<Handled, StoreError> {
        if numbers.several_nins {
            return Ok(self.simple(locale, MessageId::NinOneAtATime));
        }
        // A date sent alone completes the NIN given before it, also after a "not found"
        // (the voter corrects the date they typed); a NIN sent alone completes the date kept
        // from a message whose NIN was mistyped.
        let (pending_nin, pending_birth) = match Dialogue::of(state)? {
            Some(Dialogue::AwaitingBirth { nin } | Dialogue::ReportOffered { nin, .. }) => {
                (NationalId::parse(&nin).ok(), None)
            }
            Some(Dialogue::AwaitingNin { birth }) => (None, stored_birth(&birth)),
            _ => (None, None),
        };
        let birth = numbers.birth.or(if numbers.bad_birth.is_none() {
            pending_birth
        } else {
            None
        });
        let nin = match (numbers.nin, numbers.bad_nin) {
            (Some(nin), _) => nin,
            (None, error) => {
                if let Some(problem) = numbers.bad_birth {
                    return Ok(self.simple(
                        locale,
                        birth_problem_message(self.settings.verification, problem),
                    ));
                }
                if let (Some(nin), None) = (pending_nin, error) {
                    nin
                } else {
                    // Keep a good date for the NIN to come, so the voter resends only that.
                    if let Some(birth) = birth {
                        state.dialogue = Some((
                            Dialogue::AwaitingNin {
                                birth: match birth {
                                    Birth::Date(date) => date.to_iso(),
                                    Birth::Year(year) => year.to_string(),
                                },
                            }
                            .to_json(),
                            now + self.settings.dialogue_ttl_seconds,
                        ));
                    }
                    return Ok(match error {
                        Some(error) => self.nin_wrong_length(locale, error),
                        None => self.simple(locale, MessageId::NinFirst),
                    });
                }
            }
        };
        let verification = self.settings.verification;
        let birth = match verified_birth(verification, birth) {
            Some(birth) => birth,
            None => {
                let attempted = numbers.birth.is_some();
                let message = match (verification, numbers.bad_birth, attempted) {
                    (_, Some(problem), _) => birth_problem_message(verification, problem),
                    (Verification::BirthYear, None, true) => MessageId::YearInvalid,
                    (Verification::BirthYear, None, false) => MessageId::AskBirthYear,
                    (_, None, true) => MessageId::DateInvalid,
                    (_, None, false) => MessageId::AskBirthDate,
                };
                let expires_at = now + self.settings.dialogue_ttl_seconds;
                state.dialogue = Some((
                    Dialogue::AwaitingBirth {
                        nin: nin.as_str().to_owned(),
                    }
                    .to_json(),
                    expires_at,
                ));
                return Ok(self.simple(locale, message));
            }
        };
        state.dialogue = None;
        let mut handled = self
            .lookup(inbound, &nin, birth, locale, now, ahead)
            .await?;
        if matches!(
            handled.outcome,
            Some(LookupOutcome::NotFound | LookupOutcome::VerificationFailed)
        ) {
            self.offer_report(state, &nin, birth, now);
            if inbound.channel.has_buttons() {
                for reply in &mut handled.replies {
                    reply.buttons.push(Button {
                        label: self.message(locale, MessageId::ButtonReport).text,
                        action: ButtonAction::Report,
                    });
                }
            }
        }
        if matches!(
            handled.outcome,
            Some(
                LookupOutcome::NotFound
                    | LookupOutcome::VerificationFailed
                    | LookupOutcome::RateLimitedNin
                    | LookupOutcome::RateLimitedSender
            )
        ) {
            self.offer_agent(inbound, &mut handled, locale);
        }
        Ok(handled)
    }

    /// The "talk to a person" button under the replies, where there are buttons and a duty
    /// desk: after a lookup that found nothing, after a lock, and under the help.
    fn offer_agent(&self, inbound: &Inbound, handled: &mut Handled, locale: Locale) {
        if self.duty.is_none() || !inbound.channel.has_buttons() {
            return;
        }
        if let Some(reply) = handled.replies.last_mut() {
            reply.buttons.push(Button {
                label: self.message(locale, MessageId::ButtonAgent).text,
                action: ButtonAction::AskAgent,
            });
        }
    }

    async fn lookup(
        &self,
        inbound: &Inbound,
        nin: &NationalId,
        birth: Option<Birth>,
        locale: Locale,
        now: Timestamp,
        ahead: &mut Option<DoneAhead>,
    ) -> Result<Handled, StoreError> {
        let (handled, commune) = self
            .verified_lookup(inbound, nin, birth, locale, now, ahead)
            .await?;
        if let (Some(recorder), Some(outcome)) = (&self.recorder, handled.outcome) {
            recorder.record(inbound.channel, commune.as_ref(), outcome, now);
        }
        Ok(handled)
    }

    /// The lookup itself, with the matched voter's commune (for statistics only).
    async fn verified_lookup(
        &self,
        inbound: &Inbound,
        nin: &NationalId,
        birth: Option<Birth>,
        locale: Locale,
        now: Timestamp,
        ahead: &mut Option<DoneAhead>,
    ) -> Result<(Handled, Option<CommuneCode>), StoreError> {
        let hour = now - now.rem_euclid(HOUR);
        let check = self.birth_check(birth);
        // The sender's lookup, the NIN's attempt, the voter and, if found, the subscription
        // are one write (`SenderStore::lookup`): the attempt is taken only if the sender is
        // within its limit, and the voter read only if the attempt is within the NIN's
        // budget. It may have been done already, with the message id (`handle_delivery`).
        let done = match ahead.take() {
            Some(ahead) if ahead.nin == *nin && ahead.check == check => ahead.done,
            other => {
                not_taken(other.as_ref());
                let keys = LookupKeys::of(inbound, nin, now);
                self.store
                    .lookup(&self.lookup_request(inbound, &keys, nin, check, now))
                    .await?
            }
        };
        let admitted = done.admitted;
        if admitted.sender_count > self.settings.max_lookups_per_sender_per_hour {
            let mut args = FluentArgs::new();
            args.set("minutes", (hour + HOUR - now + 59) / 60);
            args.set("channel", inbound.channel.as_str());
            return Ok((
                self.outcome(
                    self.single(locale, MessageId::RateLimitedSender, args),
                    LookupOutcome::RateLimitedSender,
                ),
                None,
            ));
        }
        if !admitted.within(
            self.settings.max_lookups_per_sender_per_hour,
            self.settings.max_failures_per_nin_per_day,
        ) {
            return Ok((
                self.outcome(
                    self.simple(locale, MessageId::RateLimitedNin),
                    LookupOutcome::RateLimitedNin,
                ),
                None,
            ));
        }
        let (voter, verified) = (done.voter, done.found);
        match voter {
            Some(voter) if verified => {
                tracing::debug!(nin = %nin, "lookup found");
                let commune = voter.place.commune.code.clone();
                let mut found = self.found(locale, &voter.place);
                if inbound.channel.has_buttons() {
                    for reply in &mut found.replies {
                        reply.buttons.push(Button {
                            label: self.message(locale, MessageId::ButtonSubscribe).text,
                            action: ButtonAction::Subscribe(nin.clone()),
                        });
                    }
                }
                Ok((self.outcome(found, LookupOutcome::Found), Some(commune)))
            }
            voter => {
                let (outcome, commune) = match voter {
                    Some(voter) => (
                        LookupOutcome::VerificationFailed,
                        Some(voter.place.commune.code),
                    ),
                    None => (LookupOutcome::NotFound, None),
                };
                Ok((
                    self.outcome(self.simple(locale, MessageId::LookupNotFound), outcome),
                    commune,
                ))
            }
        }
    }

    /// Takes one attempt of a NIN's daily failure budget before the voter is read, in one
    /// statement (`... on conflict do update ... returning count`): however many lookups of
    /// one NIN run at once, at most the budget's worth get past this, where reading the count
    /// first and adding a failure after let several through. `false`: the NIN is locked for
    /// the day. A lookup that succeeds gives its attempt back.
    pub(crate) async fn take_nin_attempt(
        &self,
        nin: &NationalId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let day = now - now.rem_euclid(DAY);
        let attempts = self
            .store
            .increment_counter(&counter_key("nin-failures", nin.as_str()), day)
            .await?;
        Ok(attempts <= self.settings.max_failures_per_nin_per_day)
    }

    /// Gives back the attempt a successful lookup took: only failures count against a NIN.
    pub(crate) async fn give_back_nin_attempt(
        &self,
        nin: &NationalId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let day = now - now.rem_euclid(DAY);
        self.store
            .release_counter(&counter_key("nin-failures", nin.as_str()), day)
            .await
    }

    /// "The NIN has 18 digits, you sent N".
    fn nin_wrong_length(&self, locale: Locale, error: crate::domain::NationalIdError) -> Handled {
        let digits = match error {
            crate::domain::NationalIdError::TooShort { digits }
            | crate::domain::NationalIdError::TooLong { digits } => digits,
            crate::domain::NationalIdError::NotANumber => 0,
        };
        let mut args = FluentArgs::new();
        args.set("count", digits);
        self.single(locale, MessageId::NinWrongLength, args)
    }

    fn found(&self, locale: Locale, place: &PollingPlace) -> Handled {
        let mut args = FluentArgs::new();
        args.set("centre", place.centre.name.get(locale).to_owned());
        args.set("address", place.centre.address.get(locale).to_owned());
        args.set("station", place.station.get());
        args.set(
            "kind",
            match place.kind {
                StationKind::Women => "women",
                StationKind::Mixed => "mixed",
            },
        );
        let mut reply = self.reply(locale, MessageId::LookupFound, args);
        reply.venue = place.centre.coordinates.map(|coordinates| Venue {
            title: place.centre.name.get(locale).to_owned(),
            address: place.centre.address.get(locale).to_owned(),
            coordinates,
        });
        Handled {
            replies: vec![reply],
            outcome: None,
        }
    }

    fn reply(&self, locale: Locale, message: MessageId, mut args: FluentArgs<'_>) -> Reply {
        args.set("verify", self.settings.verification.catalogue_key());
        Reply {
            locale,
            message,
            text: self.catalog.render(locale, message, &args),
            venue: None,
            buttons: Vec::new(),
        }
    }

    /// Renders a catalogue message with the arguments every message may use (`$verify`), for
    /// channels that add messages of their own (Telegram's greeting, hints and buttons).
    pub fn message(&self, locale: Locale, message: MessageId) -> Reply {
        self.reply(locale, message, FluentArgs::new())
    }

    fn single(&self, locale: Locale, message: MessageId, args: FluentArgs<'_>) -> Handled {
        Handled {
            replies: vec![self.reply(locale, message, args)],
            outcome: None,
        }
    }

    fn simple(&self, locale: Locale, message: MessageId) -> Handled {
        self.single(locale, message, FluentArgs::new())
    }

    fn outcome(&self, handled: Handled, outcome: LookupOutcome) -> Handled {
        Handled {
            outcome: Some(outcome),
            ..handled
        }
    }
}

/// The birth a lookup is made with, from the one given (in the message or kept from an
/// earlier one): `Some(None)` when the verification needs none, `None` when what was given
/// is not what it needs (the sender is asked for it).
fn verified_birth(verification: Verification, birth: Option<Birth>) -> Option<Option<Birth>> {
    match (verification, birth) {
        (Verification::None, _) => Some(None),
        (Verification::BirthDate, Some(Birth::Date(date))) => Some(Some(Birth::Date(date))),
        (Verification::BirthYear, Some(Birth::Date(date))) => Some(Some(Birth::Year(date.year()))),
        (Verification::BirthYear, Some(Birth::Year(year))) => Some(Some(Birth::Year(year))),
        (Verification::BirthDate, Some(Birth::Year(_))) | (_, None) => None,
    }
}

/// Whether a sender's state lets a [plain lookup](Conversation::plain_lookup) be done before
/// the conversation has seen it: no pending dialogue that reads a message otherwise (a
/// report being filled in takes a citizen's NIN and date, when a clerk files it; the duty
/// desk's question takes a commune), and no ticket open. The dialogues left only complete
/// a NIN or a birth the message already holds. With a ticket open a lookup still reaches
/// the bot (`duty.rs`, `reaches_the_bot`), but the duty desk's step reads the ticket
/// first: such rare messages are left to the two steps, so this rule does not depend on
/// the desk's. Run by the store, inside its write.
fn lookup_regardless_of_state(state: &SenderState, open_ticket: bool) -> bool {
    !open_ticket
        && matches!(
            Dialogue::of(state),
            Ok(None
                | Some(
                    Dialogue::AwaitingBirth { .. }
                        | Dialogue::AwaitingNin { .. }
                        | Dialogue::ReportOffered { .. }
                ))
        )
}

/// A lookup done ahead with the message id, for `verified_lookup` to take.
struct DoneAhead {
    nin: NationalId,
    check: BirthCheck,
    done: LookupDone,
}

/// A lookup done ahead that the conversation did not take: its counters were counted for a
/// lookup the sender did not get. `plain_lookup` and `lookup_regardless_of_state` promise
/// this never happens; the tests run every SMS through this path and fail here if it does.
fn not_taken(ahead: Option<&DoneAhead>) {
    if let Some(ahead) = ahead {
        tracing::error!(
            nin = %ahead.nin,
            "a lookup done with the message id was not the conversation's"
        );
        debug_assert!(false, "a lookup done ahead was not taken");
    }
}

/// A lookup's counter keys and windows, owned for the [`Lookup`] that borrows them.
struct LookupKeys {
    sender_key: String,
    nin_key: String,
    hour: Timestamp,
    day: Timestamp,
}

impl LookupKeys {
    fn of(inbound: &Inbound, nin: &NationalId, now: Timestamp) -> Self {
        Self {
            sender_key: counter_key("sender", &format!("{}:{}", inbound.channel, inbound.sender)),
            nin_key: counter_key("nin-failures", nin.as_str()),
            hour: now - now.rem_euclid(HOUR),
            day: now - now.rem_euclid(DAY),
        }
    }
}

/// The reply to a date that was written but cannot be used.
fn birth_problem_message(verification: Verification, problem: BirthProblem) -> MessageId {
    match (verification, problem) {
        (_, BirthProblem::AmbiguousCentury) => MessageId::DateYearAmbiguous,
        (Verification::BirthYear, BirthProblem::Unreadable) => MessageId::YearInvalid,
        (_, BirthProblem::Unreadable) => MessageId::DateInvalid,
    }
}

/// A birth kept in a dialogue: an ISO date or a year.
fn stored_birth(stored: &str) -> Option<Birth> {
    match crate::domain::BirthDate::from_iso(stored) {
        Ok(date) => Some(Birth::Date(date)),
        Err(_) => stored.parse().ok().map(Birth::Year),
    }
}

/// The calendar day of a timestamp (UTC), which decides the century of a two-digit year.
fn date_of(now: Timestamp) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .date_naive()
}

/// Whether a message is running text, which tells its writer's language: words of letters
/// other than slash commands, short capitalised acronyms (`NIN`, `CNI`) and the name of a
/// commune alone ("Oran", "Ain Benian" are written alike by speakers of both languages).
fn is_running_text(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic() && c != '/' && c != '\'' && c != '’')
        .filter(|word| !word.starts_with('/'))
        .filter(|word| word.chars().any(char::is_alphabetic))
        .filter(|word| {
            let acronym = word.chars().count() <= 4 && word.chars().all(|c| c.is_ascii_uppercase());
            !acronym
        })
        .collect();
    !words.is_empty() && !crate::reports::communes::is_commune_name(&words.join(" "))
}

/// The language of a message's words. A slash command (`/stop`, `/help@MaktabBot`) is written
/// in Latin letters whatever the sender's language, so it says nothing about it.
fn detect_language(text: &str) -> Option<Locale> {
    if !text.contains('/') {
        return Locale::detect(text);
    }
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|word| !word.starts_with('/'))
        .collect();
    Locale::detect(&words.join(" "))
}

/// Counter keys hold a hash, not the NIN or phone number itself: the counters table must not
/// become a second copy of personal data.
fn counter_key(kind: &str, value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_commands_do_not_tell_the_language_but_dates_and_words_do() {
        assert_eq!(detect_language("/stop"), None);
        assert_eq!(detect_language("/help@MaktabBot"), None);
        assert_eq!(detect_language("/aide svp"), Some(Locale::Fr));
        assert_eq!(detect_language("مولود في 15/03/1990"), Some(Locale::Ar));
        assert_eq!(detect_language("né le 15/03/1990"), Some(Locale::Fr));
    }

    #[test]
    fn words_are_running_text_but_acronyms_commands_and_commune_names_are_not() {
        assert!(is_running_text("mon NIN est 109870123456789012"));
        assert!(is_running_text("رقمي 109870123456789012"));
        assert!(is_running_text("bonjour"));
        assert!(!is_running_text("Oran"));
        assert!(!is_running_text("ain benian"));
        assert!(!is_running_text("وهران"));
        assert!(!is_running_text("NIN 109870123456789012"));
        assert!(!is_running_text("/start"));
        assert!(!is_running_text("109870123456789012 15/03/1990"));
    }
}
