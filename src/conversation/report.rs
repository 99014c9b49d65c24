//! Reporting a citizen missing from the roll, as a dialogue: the citizen after a lookup that
//! found nothing (SIGNALER / تبليغ, or the Telegram button), or an enrolled clerk with
//! `/report` for a citizen in front of them. One question per message, each answer checked
//! before the next; nothing is stored as a report until the final OUI / نعم, after a message
//! that says why the data is kept. Abandoned drafts expire with the dialogue.

use fluent_bundle::FluentArgs;
use serde::{Deserialize, Serialize};

use super::intent::{Birth, BirthProblem, Intent};
use super::{Conversation, Dialogue, Handled, Inbound, LookupOutcome, counter_key};
use crate::domain::{BirthDate, Channel, CommuneCode, Locale, NationalId, PhoneNumber, Timestamp};
use crate::i18n::MessageId;
use crate::i18n::sms::count_segments;
use crate::reports::clerks;
use crate::reports::communes::{self, Candidate, CommuneMatch};
use crate::store::{
    EnrolRefusal, FollowUpContact, NewReport, ReportQuery, ReportSourceKind, SenderState,
    StoreError,
};

/// Reports one sender may file per day (a citizen reports themselves once; a few more allow
/// for a shared family phone).
const MAX_SELF_REPORTS_PER_DAY: u64 = 3;
/// Wrong invitation codes one chat may try per hour.
const MAX_ENROL_ATTEMPTS_PER_HOUR: u64 = 5;
/// Reports shown by /myreports.
const MY_REPORTS_SHOWN: u32 = 10;
/// A full name is at most this long (longer is a message pasted by mistake).
const MAX_NAME_CHARS: usize = 100;

/// The question a report draft waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStage {
    /// Clerks only: the citizen's NIN.
    Nin,
    BirthDate,
    /// Citizens only: clerks file for their own commune.
    Commune,
    /// Several communes matched: a number from the list.
    ChooseCommune,
    FullName,
    /// Clerks only: a phone for the follow-up, or none.
    Phone,
    Confirm,
}

/// A report being filled in, kept in the sender's dialogue until it is filed or expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDraft {
    pub stage: ReportStage,
    pub nin: Option<String>,
    /// ISO date.
    pub birth_date: Option<String>,
    pub commune: Option<String>,
    /// The commune's name as the citizen chose it, Arabic then French: a commune outside the
    /// map is named by the national list only.
    #[serde(default)]
    pub commune_name: Option<(String, String)>,
    /// The communes offered at [`ReportStage::ChooseCommune`], by code.
    #[serde(default)]
    pub choices: Vec<String>,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    /// Set when a clerk files the report.
    pub clerk_id: Option<i64>,
}

impl ReportDraft {
    fn self_report(nin: &str, birth_date: Option<String>) -> Self {
        Self {
            stage: if birth_date.is_some() {
                ReportStage::Commune
            } else {
                ReportStage::BirthDate
            },
            nin: Some(nin.to_owned()),
            birth_date,
            commune: None,
            commune_name: None,
            choices: Vec::new(),
            full_name: None,
            phone: None,
            clerk_id: None,
        }
    }

    fn by_clerk(clerk_id: i64, commune: &CommuneCode) -> Self {
        Self {
            stage: ReportStage::Nin,
            nin: None,
            birth_date: None,
            commune: Some(commune.as_str().to_owned()),
            commune_name: None,
            choices: Vec::new(),
            full_name: None,
            phone: None,
            clerk_id: Some(clerk_id),
        }
    }

    fn is_clerk(&self) -> bool {
        self.clerk_id.is_some()
    }
}

/// A plausible full name: letters (any script), spaces, hyphens and apostrophes, at least
/// two words. Returned with its spaces tidied.
fn full_name(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let name = words.join(" ");
    let letters = name.chars().filter(|c| c.is_alphabetic()).count();
    let valid = words.len() >= 2
        && letters >= 4
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.'));
    valid.then_some(name)
}

/// One line of a choice: number, name and wilaya (or the map's code when the national list
/// does not place it).
fn commune_line(index: usize, commune: &Candidate, locale: Locale) -> String {
    let place = commune
        .wilaya
        .as_ref()
        .map_or_else(|| commune.code.to_string(), |w| w.get(locale).to_owned());
    format!("{}. {} ({place})", index + 1, commune.name.get(locale))
}

/// How a chosen commune is named in the confirmation: name and wilaya, or name and code.
fn commune_label(commune: &Candidate, locale: Locale) -> String {
    match &commune.wilaya {
        Some(wilaya) if wilaya.get(locale) != commune.name.get(locale) => {
            format!("{} ({})", commune.name.get(locale), wilaya.get(locale))
        }
        Some(_) => commune.name.get(locale).to_owned(),
        None => format!("{} ({})", commune.name.get(locale), commune.code),
    }
}

impl Conversation {
    /// The message that follows a lookup that found nothing: offers the report, keeping the
    /// NIN (and the birth date, if a full one was given) for it.
    pub(super) fn offer_report(
        &self,
        state: &mut SenderState,
        nin: &NationalId,
        birth: Option<Birth>,
        now: Timestamp,
    ) {
        let birth_date = match birth {
            Some(Birth::Date(date)) => Some(date.to_iso()),
            _ => None,
        };
        state.dialogue = Some((
            Dialogue::ReportOffered {
                nin: nin.as_str().to_owned(),
                birth_date,
            }
            .to_json(),
            now + self.settings.dialogue_ttl_seconds,
        ));
    }

    /// SIGNALER after an offer: the first question of the citizen's report, unless the
    /// sender has filed as many reports today as allowed (said now, before any question).
    pub(super) async fn start_self_report(
        &self,
        inbound: &Inbound,
        state: &mut SenderState,
        nin: &str,
        birth_date: Option<String>,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Handled, StoreError> {
        let (key, day) = self_report_counter(inbound, now);
        if self.store.counter(&key, day).await? >= MAX_SELF_REPORTS_PER_DAY {
            state.dialogue = None;
            return Ok(self.report_limit(inbound, locale));
        }
        let draft = ReportDraft::self_report(nin, birth_date);
        let message = match draft.stage {
            ReportStage::BirthDate => MessageId::ReportAskBirthDate,
            _ => MessageId::ReportAskCommune,
        };
        self.keep_draft(state, draft, now);
        Ok(self.simple(locale, message))
    }

    fn report_limit(&self, inbound: &Inbound, locale: Locale) -> Handled {
        let mut args = FluentArgs::new();
        args.set("channel", inbound.channel.as_str());
        self.single(locale, MessageId::ReportLimit, args)
    }

    /// The choice between communes, with as many of them as fit in two SMS segments (the
    /// longest names of the country allow two or three in Arabic).
    pub(super) fn commune_choice(
        &self,
        found: &[Candidate],
        locale: Locale,
    ) -> (Handled, Vec<String>) {
        let render = |shown: &[Candidate]| {
            let lines: Vec<String> = shown
                .iter()
                .enumerate()
                .map(|(i, c)| commune_line(i, c, locale))
                .collect();
            let mut args = FluentArgs::new();
            args.set("choices", lines.join("\n"));
            self.single(locale, MessageId::ReportChooseCommune, args)
        };
        let fits = |handled: &Handled| {
            handled
                .replies
                .iter()
                .all(|reply| count_segments(&reply.text).segments <= 2)
        };
        let mut shown = found.len().min(communes::MAX_CHOICES);
        while shown > 1 && !fits(&render(&found[..shown])) {
            shown -= 1;
        }
        let codes = found[..shown]
            .iter()
            .map(|c| c.code.as_str().to_owned())
            .collect();
        (render(&found[..shown]), codes)
    }

    fn keep_draft(&self, state: &mut SenderState, draft: ReportDraft, now: Timestamp) {
        state.dialogue = Some((
            Dialogue::Reporting(draft).to_json(),
            now + self.settings.dialogue_ttl_seconds,
        ));
    }

    /// `/clerk CODE` from a Telegram chat.
    pub(super) async fn enrol_clerk(
        &self,
        inbound: &Inbound,
        code: &str,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Handled, StoreError> {
        if !inbound.channel.capabilities().hosts_clerks {
            return Ok(self.simple(locale, MessageId::ClerkTelegramOnly));
        }
        let hour = now - now.rem_euclid(super::HOUR);
        let attempts_key = counter_key("clerk-enrol", &inbound.sender);
        let attempts = self.store.counter(&attempts_key, hour).await?;
        let refused = self.simple(locale, MessageId::ClerkCodeRefused);
        if attempts >= MAX_ENROL_ATTEMPTS_PER_HOUR {
            return Ok(refused);
        }
        let Some(code) = clerks::normalize_code(code) else {
            self.store.increment_counter(&attempts_key, hour).await?;
            return Ok(refused);
        };
        match self
            .store
            .enrol_clerk(&clerks::hash_code(&code), &inbound.sender, now)
            .await?
        {
            Ok(clerk) => {
                tracing::info!(clerk = clerk.id, commune = %clerk.commune, "clerk enrolled");
                let name = self
                    .store
                    .communes()
                    .await?
                    .into_iter()
                    .find(|c| c.code == clerk.commune)
                    .map_or_else(
                        || clerk.commune.to_string(),
                        |c| c.name.get(locale).to_owned(),
                    );
                let mut args = FluentArgs::new();
                args.set("commune", name);
                Ok(self.single(locale, MessageId::ClerkEnrolled, args))
            }
            Err(refusal) => {
                let reason = match refusal {
                    EnrolRefusal::UnknownCode => "unknown or used code",
                    EnrolRefusal::Expired => "expired code",
                    EnrolRefusal::Revoked => "revoked invitation",
                };
                tracing::info!(reason, "clerk enrolment refused");
                self.store.increment_counter(&attempts_key, hour).await?;
                Ok(refused)
            }
        }
    }

    /// `/report` from an enrolled clerk: the first question of a report for a citizen.
    pub(super) async fn start_clerk_report(
        &self,
        inbound: &Inbound,
        state: &mut SenderState,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Handled, StoreError> {
        if !inbound.channel.capabilities().hosts_clerks {
            return Ok(self.simple(locale, MessageId::ClerkTelegramOnly));
        }
        let Some(clerk) = self.store.clerk_by_chat(&inbound.sender).await? else {
            return Ok(self.simple(locale, MessageId::ClerkNotEnrolled));
        };
        self.keep_draft(state, ReportDraft::by_clerk(clerk.id, &clerk.commune), now);
        Ok(self.simple(locale, MessageId::ClerkAskNin))
    }

    /// `/myreports`: the clerk's latest reports, NINs masked, no names.
    pub(super) async fn clerk_reports(
        &self,
        inbound: &Inbound,
        locale: Locale,
    ) -> Result<Handled, StoreError> {
        if !inbound.channel.capabilities().hosts_clerks {
            return Ok(self.simple(locale, MessageId::ClerkTelegramOnly));
        }
        let Some(clerk) = self.store.clerk_by_chat(&inbound.sender).await? else {
            return Ok(self.simple(locale, MessageId::ClerkNotEnrolled));
        };
        let reports = self
            .store
            .reports(&ReportQuery {
                clerk_id: Some(clerk.id),
                limit: MY_REPORTS_SHOWN,
                ..ReportQuery::default()
            })
            .await?;
        if reports.is_empty() {
            return Ok(self.simple(locale, MessageId::ClerkReportsEmpty));
        }
        let mut args = FluentArgs::new();
        args.set("count", reports.len());
        let mut reply = self.reply(locale, MessageId::ClerkReportsHeader, args);
        for report in &reports {
            let filed = chrono::DateTime::from_timestamp(report.created_at, 0)
                .map(|at| at.format("%d/%m/%Y").to_string())
                .unwrap_or_default();
            let mut args = FluentArgs::new();
            args.set("id", report.number);
            args.set("nin", report.nin.masked());
            args.set("date", filed);
            args.set("status", report.status.as_str());
            reply.text.push('\n');
            reply
                .text
                .push_str(&self.reply(locale, MessageId::ClerkReportLine, args).text);
        }
        Ok(Handled {
            replies: vec![reply],
            outcome: None,
        })
    }

    /// The next answer of a report draft.
    pub(super) async fn report_step(
        &self,
        inbound: &Inbound,
        intent: Intent,
        mut draft: ReportDraft,
        state: &mut SenderState,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Handled, StoreError> {
        if intent == Intent::No && draft.stage != ReportStage::Phone {
            state.dialogue = None;
            return Ok(self.simple(locale, MessageId::ReportCancelled));
        }
        let clerk = draft.is_clerk();
        let text = inbound.text.trim();
        let (next, message) = match draft.stage {
            ReportStage::Nin => match &intent {
                Intent::Numbers(numbers) if numbers.nin.is_some() => {
                    draft.nin = numbers.nin.as_ref().map(|nin| nin.as_str().to_owned());
                    match numbers.birth {
                        Some(Birth::Date(date)) => {
                            draft.birth_date = Some(date.to_iso());
                            (ReportStage::FullName, MessageId::ClerkAskName)
                        }
                        _ => (ReportStage::BirthDate, MessageId::ClerkAskBirthDate),
                    }
                }
                Intent::Numbers(numbers) => {
                    // Only a NIN is asked here: eight digits are a short NIN, not a date.
                    let error = numbers.bad_nin.unwrap_or_else(|| {
                        let digits = crate::domain::normalize_digits(text)
                            .chars()
                            .filter(char::is_ascii_digit)
                            .count();
                        crate::domain::NationalIdError::TooShort { digits }
                    });
                    return Ok(self.nin_wrong_length(locale, error));
                }
                _ => (ReportStage::Nin, MessageId::ClerkAskNin),
            },
            ReportStage::BirthDate => match &intent {
                Intent::Numbers(numbers) => match numbers.birth {
                    Some(Birth::Date(date)) => {
                        draft.birth_date = Some(date.to_iso());
                        if clerk {
                            (ReportStage::FullName, MessageId::ClerkAskName)
                        } else {
                            (ReportStage::Commune, MessageId::ReportAskCommune)
                        }
                    }
                    _ if numbers.bad_birth == Some(BirthProblem::AmbiguousCentury) => {
                        (ReportStage::BirthDate, MessageId::DateYearAmbiguous)
                    }
                    _ => (ReportStage::BirthDate, MessageId::DateInvalid),
                },
                _ if clerk => (ReportStage::BirthDate, MessageId::ClerkAskBirthDate),
                _ => (ReportStage::BirthDate, MessageId::ReportAskBirthDate),
            },
            ReportStage::Commune | ReportStage::ChooseCommune => {
                let all = communes::directory(&self.store.communes().await?);
                let number = crate::domain::normalize_digits(text)
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n < 100);
                let offered: Vec<Candidate> = draft
                    .choices
                    .iter()
                    .filter_map(|code| all.iter().find(|c| c.code.as_str() == code))
                    .cloned()
                    .collect();
                let chosen = match (draft.stage, number) {
                    (ReportStage::ChooseCommune, Some(n)) => Some(
                        n.checked_sub(1)
                            .and_then(|i| offered.get(i))
                            .map(|c| CommuneMatch::One(c.clone()))
                            // A number that was not offered: the same choice again.
                            .unwrap_or_else(|| CommuneMatch::Several(offered.clone())),
                    ),
                    _ => None,
                };
                match chosen.unwrap_or_else(|| communes::find(&all, text)) {
                    CommuneMatch::One(commune) => {
                        draft.commune = Some(commune.code.as_str().to_owned());
                        draft.commune_name = Some((
                            commune_label(&commune, Locale::Ar),
                            commune_label(&commune, Locale::Fr),
                        ));
                        draft.choices.clear();
                        (ReportStage::FullName, MessageId::ReportAskName)
                    }
                    CommuneMatch::Several(found) => {
                        let (handled, codes) = self.commune_choice(&found, locale);
                        draft.choices = codes;
                        draft.stage = ReportStage::ChooseCommune;
                        self.keep_draft(state, draft, now);
                        return Ok(handled);
                    }
                    CommuneMatch::TooMany => (draft.stage, MessageId::ReportCommuneTooMany),
                    CommuneMatch::NotFound => (draft.stage, MessageId::ReportCommuneUnknown),
                }
            }
            ReportStage::FullName => match full_name(text) {
                Some(name) => {
                    draft.full_name = Some(name);
                    if clerk {
                        (ReportStage::Phone, MessageId::ClerkAskPhone)
                    } else {
                        draft.stage = ReportStage::Confirm;
                        return self.confirm(draft, state, locale, now).await;
                    }
                }
                None => (ReportStage::FullName, MessageId::ReportNameInvalid),
            },
            ReportStage::Phone => {
                let none = intent == Intent::No || matches!(text, "0" | "-" | "٠");
                if none {
                    draft.phone = None;
                } else {
                    match PhoneNumber::parse(text) {
                        Ok(phone) => draft.phone = Some(phone.as_str().to_owned()),
                        Err(_) => {
                            self.keep_draft(state, draft, now);
                            return Ok(self.simple(locale, MessageId::ClerkPhoneInvalid));
                        }
                    }
                }
                draft.stage = ReportStage::Confirm;
                return self.confirm(draft, state, locale, now).await;
            }
            ReportStage::Confirm => {
                if intent == Intent::Yes {
                    return self.file(inbound, draft, state, locale, now).await;
                }
                return self.confirm(draft, state, locale, now).await;
            }
        };
        if clerk
            && next == ReportStage::FullName
            && let Some(found) = self.already_registered(&draft, locale, now).await?
        {
            state.dialogue = None;
            return Ok(found);
        }
        draft.stage = next;
        self.keep_draft(state, draft, now);
        Ok(self.simple(locale, message))
    }

    /// For a clerk: the citizen's place if the roll of the clerk's own commune already holds
    /// their NIN and birth date, which saves a report that would change nothing.
    ///
    /// The check is a lookup and is limited like one, so that it cannot walk the roll: a
    /// per-clerk budget per hour, the per-NIN lock of failed verifications, and every failure
    /// counted against the NIN. A voter of another commune, a wrong birth date, an unknown
    /// NIN, a locked NIN and a spent budget all read the same: the report goes on, and the
    /// revision of the lists sorts it out.
    async fn already_registered(
        &self,
        draft: &ReportDraft,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Option<Handled>, StoreError> {
        let nin = draft
            .nin
            .as_deref()
            .and_then(|nin| NationalId::parse(nin).ok());
        let birth_date = draft
            .birth_date
            .as_deref()
            .and_then(|iso| BirthDate::from_iso(iso).ok());
        let (Some(nin), Some(birth_date), Some(clerk_id), Some(commune)) =
            (nin, birth_date, draft.clerk_id, draft.commune.as_deref())
        else {
            return Ok(None);
        };
        let hour = now - now.rem_euclid(super::HOUR);
        let budget_key = counter_key("clerk-checks", &clerk_id.to_string());
        let checks = self.store.increment_counter(&budget_key, hour).await?;
        if checks > self.settings.max_clerk_checks_per_hour {
            tracing::info!(clerk = clerk_id, "clerk roll checks spent for this hour");
            return Ok(None);
        }
        if !self.take_nin_attempt(&nin, now).await? {
            return Ok(None);
        }
        let voter = self.store.find_voter(&nin).await?;
        let outcome = match &voter {
            Some(voter) if voter.birth_date == birth_date => LookupOutcome::Found,
            Some(_) => LookupOutcome::VerificationFailed,
            None => LookupOutcome::NotFound,
        };
        if outcome == LookupOutcome::Found {
            self.give_back_nin_attempt(&nin, now).await?;
        }
        Ok(voter
            .filter(|_| outcome == LookupOutcome::Found)
            .filter(|voter| voter.place.commune.code.as_str() == commune)
            .map(|voter| self.found(locale, &voter.place)))
    }

    /// The summary to confirm: commune and birth date (a masked NIN for clerks), never the
    /// name, and why the data is kept.
    async fn confirm(
        &self,
        draft: ReportDraft,
        state: &mut SenderState,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Handled, StoreError> {
        let commune_code = draft.commune.clone().unwrap_or_default();
        let commune = match &draft.commune_name {
            Some((ar, fr)) => match locale {
                Locale::Ar => ar.clone(),
                Locale::Fr => fr.clone(),
            },
            None => self
                .store
                .communes()
                .await?
                .into_iter()
                .find(|c| c.code.as_str() == commune_code)
                .map_or(commune_code.clone(), |c| c.name.get(locale).to_owned()),
        };
        let date = draft
            .birth_date
            .as_deref()
            .and_then(|iso| BirthDate::from_iso(iso).ok())
            .map(|date| date.to_string())
            .unwrap_or_default();
        let mut args = FluentArgs::new();
        args.set("commune", commune);
        args.set("date", date);
        let message = if draft.is_clerk() {
            let nin = draft
                .nin
                .as_deref()
                .and_then(|nin| NationalId::parse(nin).ok())
                .map(|nin| nin.masked())
                .unwrap_or_default();
            args.set("nin", nin);
            args.set("phone", if draft.phone.is_some() { "yes" } else { "no" });
            MessageId::ClerkConfirm
        } else {
            MessageId::ReportConfirm
        };
        self.keep_draft(state, draft, now);
        Ok(self.single(locale, message, args))
    }

    /// OUI: the report is stored (or added to the report of the same NIN).
    async fn file(
        &self,
        inbound: &Inbound,
        draft: ReportDraft,
        state: &mut SenderState,
        locale: Locale,
        now: Timestamp,
    ) -> Result<Handled, StoreError> {
        state.dialogue = None;
        let corrupt = || StoreError::Corrupt("incomplete report draft".to_owned());
        let nin = draft
            .nin
            .as_deref()
            .and_then(|nin| NationalId::parse(nin).ok())
            .ok_or_else(corrupt)?;
        let birth_date = draft
            .birth_date
            .as_deref()
            .and_then(|iso| BirthDate::from_iso(iso).ok())
            .ok_or_else(corrupt)?;
        let commune = draft
            .commune
            .as_deref()
            .and_then(|code| CommuneCode::parse(code).ok())
            .ok_or_else(corrupt)?;
        let full_name = draft.full_name.clone().ok_or_else(corrupt)?;
        let (source, follow_up) = match draft.clerk_id {
            Some(clerk_id) => {
                // A clerk revoked while filling in the report cannot file it.
                let active = self.store.clerk_by_chat(&inbound.sender).await?;
                if active.is_none_or(|clerk| clerk.id != clerk_id) {
                    return Ok(self.simple(locale, MessageId::ClerkNotEnrolled));
                }
                let phone = draft.phone.clone().map(|recipient| FollowUpContact {
                    channel: Channel::Sms,
                    recipient,
                    locale,
                });
                (ReportSourceKind::Clerk, phone)
            }
            None => {
                // Checked again: reports started in parallel dialogues (SMS and a second
                // offer) must not pass the limit together.
                let (key, day) = self_report_counter(inbound, now);
                if self.store.increment_counter(&key, day).await? > MAX_SELF_REPORTS_PER_DAY {
                    return Ok(self.report_limit(inbound, locale));
                }
                let own = FollowUpContact {
                    channel: inbound.channel,
                    recipient: inbound.sender.clone(),
                    locale,
                };
                (ReportSourceKind::Citizen, Some(own))
            }
        };
        let filed = self
            .store
            .file_report(
                &NewReport {
                    nin: nin.clone(),
                    birth_date,
                    commune,
                    full_name,
                    source,
                    clerk_id: draft.clerk_id,
                    follow_up,
                    locale,
                },
                now,
            )
            .await?;
        tracing::info!(
            report = filed.report_id,
            new = filed.new_report,
            source = source.as_str(),
            nin = %nin,
            "report filed"
        );
        if draft.is_clerk() {
            let mut args = FluentArgs::new();
            args.set("id", filed.number);
            Ok(self.single(locale, MessageId::ClerkReportFiled, args))
        } else {
            Ok(self.simple(locale, MessageId::ReportFiled))
        }
    }
}

/// The counter of a sender's own reports today, and the day it counts.
fn self_report_counter(inbound: &Inbound, now: Timestamp) -> (String, Timestamp) {
    let day = now - now.rem_euclid(super::DAY);
    let key = counter_key(
        "reports",
        &format!("{}:{}", inbound.channel, inbound.sender),
    );
    (key, day)
}

/// Whether a message in the middle of a report draft is a fresh lookup instead (a full NIN
/// where no NIN is asked): the draft is then dropped and the lookup answered.
pub(super) fn is_new_lookup(draft: &ReportDraft, intent: &Intent) -> bool {
    matches!(intent, Intent::Numbers(numbers) if numbers.nin.is_some())
        && !matches!(draft.stage, ReportStage::Nin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_need_two_words_of_letters_in_any_script() {
        assert_eq!(
            full_name("  Benali   Amina "),
            Some("Benali Amina".to_owned())
        );
        assert_eq!(full_name("أمينة بن علي"), Some("أمينة بن علي".to_owned()));
        assert_eq!(
            full_name("Aït-Ahmed Lounès"),
            Some("Aït-Ahmed Lounès".to_owned())
        );
        assert_eq!(full_name("Amina"), None);
        assert_eq!(full_name("109870123456789012"), None);
        assert_eq!(full_name("Amina 1990"), None);
        assert_eq!(full_name(&"ab ".repeat(60)), None);
    }

    #[test]
    fn the_draft_round_trips_through_the_stored_dialogue() {
        let dialogue = Dialogue::Reporting(ReportDraft::self_report(
            "109870123456789012",
            Some("1990-03-15".to_owned()),
        ));
        let stored = dialogue.to_json();
        assert_eq!(Dialogue::from_json(&stored).unwrap(), dialogue);
        assert!(stored.contains("\"stage\":\"commune\""), "{stored}");
    }
}
