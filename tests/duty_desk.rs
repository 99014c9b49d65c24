//! The duty desk (issue 16) end to end: a voter over SMS asks for a person, agents on duty get
//! the ticket on Telegram (the fake Bot API), the first to press "take it" owns it, the
//! answer reaches the voter by SMS through the provider fake; clerks' incidents jump the
//! queue; escalation under a controlled clock; out-of-hours answers; two instances on one
//! PostgreSQL take a ticket once.

#![allow(clippy::unwrap_used)]

mod common;
mod console_support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::fake_telegram::{BOT_ID, BOT_USERNAME, Call, FakeTelegram};
use common::*;
use maktab::config::Secret;
use maktab::conversation::{ButtonAction, Conversation, ConversationSettings, Inbound};
use maktab::domain::{Channel, CommuneCode, Locale, Timestamp};
use maktab::duty::{Actor, ChatOutbox, ChatPush, DutyDesk, DutyError, DutySettings, roster};
use maktab::i18n::{Catalog, MessageId};
use maktab::notices::OutboxBell;
use maktab::office::Principal;
use maktab::office::tickets::TicketFilter;
use maktab::store::{
    DutyAgent, INCIDENT_PRIORITY, IncidentKind, NewAuditEntry, NewShift, NewTicket, Store,
    StoreError, TicketKind, TicketQuery, TicketStatus,
};
use serde_json::{Value, json};

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const TG_SECRET: &str = "wh_secret-0123456789";
const SMS_SECRET: &str = "generic-secret";
const VOTER: &str = "0550123456";
const VOTER_E164: &str = "+213550123456";
const SAMIRA: i64 = 900_001;
const KARIM: i64 = 900_002;
const NATIONAL_AGENT: i64 = 900_003;
const CLERK_CHAT: i64 = 900_010;

fn alger() -> CommuneCode {
    CommuneCode::parse("1601").unwrap()
}

fn now() -> Timestamp {
    maktab::domain::now()
}

fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: now(),
        actor: "test (cli:test)".to_owned(),
        action: action.to_owned(),
        communes: vec![alger()],
        details: json!({}),
    }
}

/// An agent with a Telegram chat, on duty in `cell` from `starts_at` for two hours.
async fn on_duty(store: &Arc<dyn Store>, agent: &str, chat: i64, cell: &str, starts_at: Timestamp) {
    store
        .save_duty_agent(&DutyAgent {
            agent: agent.to_owned(),
            name: agent.replace(':', "-"),
            chat: chat.to_string(),
            locale: Locale::Fr,
        })
        .await
        .unwrap();
    store
        .add_shift(
            &NewShift {
                cell: cell.to_owned(),
                starts_at,
                ends_at: starts_at + 2 * 3600,
                agent: agent.to_owned(),
                created_by: "test".to_owned(),
                created_at: now(),
            },
            audit("duty.shift_add"),
        )
        .await
        .unwrap();
}

// ---- The server with SMS (generic, through a provider fake) and Telegram (fake Bot API) ----

struct Desk {
    app: TestApp,
    telegram: FakeTelegram,
    sms: FakeProvider,
    http: reqwest::Client,
}

impl Desk {
    async fn start() -> Self {
        let telegram = FakeTelegram::start().await;
        let sms = FakeProvider::start(200, r#"{"ok":true}"#).await;
        let send_url = format!("{}/send", sms.base);
        let api_url = telegram.url().to_string();
        let app = spawn_app_with(move |config| {
            config.sms.generic.secret = Some(Secret::new(SMS_SECRET));
            config.sms.generic.send_url = Some(send_url);
            config.sms.generic.from = Some("3030".to_owned());
            config.telegram.bot_token = Some(Secret::new(TOKEN));
            config.telegram.webhook_secret = Some(Secret::new(TG_SECRET));
            config.telegram.api_url = api_url;
            config.telegram.bot_username = Some(BOT_USERNAME.to_owned());
        })
        .await;
        Self {
            app,
            telegram,
            sms,
            http: reqwest::Client::new(),
        }
    }

    /// An SMS from the voter, through the generic webhook.
    async fn sms(&self, id: &str, text: &str) {
        let body = json!({ "id": id, "from": VOTER, "to": "3030", "text": text }).to_string();
        let response = self
            .http
            .post(self.app.url("/webhooks/sms/generic"))
            .header("content-type", "application/json")
            .header(
                maktab::channels::sms::generic::SIGNATURE_HEADER,
                maktab::channels::sms::generic::sign(SMS_SECRET, body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }

    /// The texts of the SMS the provider fake received, in order.
    fn sms_sent(&self) -> Vec<String> {
        self.sms
            .received()
            .iter()
            .map(|r| r.json()["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn sms_wait(&self, count: usize) -> Vec<String> {
        self.sms.wait_for(count).await;
        self.sms_sent()
    }

    async fn post(&self, update: &Value) {
        let response = self
            .http
            .post(self.app.url("/webhooks/telegram"))
            .header("content-type", "application/json")
            .header("X-Telegram-Bot-Api-Secret-Token", TG_SECRET)
            .json(update)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }

    /// Waits for a message to `chat` whose text contains `part`.
    async fn message_to(&self, chat: i64, part: &str) -> Call {
        let part = part.to_owned();
        self.telegram
            .wait_for_message(chat, move |call| call.text().contains(&part))
            .await
    }

    /// Waits for the button acknowledgement of `update_id`'s press.
    async fn acknowledgement(&self, update_id: u32) -> Call {
        let id = format!("q{update_id}");
        for _ in 0..250 {
            if let Some(call) = self
                .telegram
                .calls_to("answerCallbackQuery")
                .into_iter()
                .find(|call| call.params["callback_query_id"] == id.as_str())
            {
                return call;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!(
            "no answerCallbackQuery for {id}: {:#?}",
            self.telegram.calls()
        );
    }
}

fn user(id: i64) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": "Agent", "language_code": "fr" })
}

fn chat(id: i64) -> Value {
    json!({ "id": id, "first_name": "Agent", "type": "private" })
}

fn bot_message(chat_id: i64, text: &str) -> Value {
    json!({
        "message_id": 5000,
        "from": { "id": BOT_ID, "is_bot": true, "first_name": "Maktab", "username": BOT_USERNAME },
        "chat": chat(chat_id),
        "date": 1_793_700_000,
        "text": text,
    })
}

/// A text message; with `reply_to`, a reply to the bot's message of that text.
fn text(update_id: u32, from: i64, text: &str, reply_to: Option<&str>) -> Value {
    let mut message = json!({
        "message_id": 100 + update_id,
        "from": user(from),
        "chat": chat(from),
        "date": 1_793_700_000,
        "text": text,
    });
    if text.starts_with('/') {
        let length = text
            .split_whitespace()
            .next()
            .unwrap()
            .encode_utf16()
            .count();
        message["entities"] = json!([{ "offset": 0, "length": length, "type": "bot_command" }]);
    }
    if let Some(replied) = reply_to {
        message["reply_to_message"] = bot_message(from, replied);
    }
    json!({ "update_id": update_id, "message": message })
}

/// A press of the button `data` under the bot's message `sent`.
fn press(update_id: u32, from: i64, sent: &Call, data: &str) -> Value {
    let mut message = bot_message(from, sent.text());
    message["reply_markup"] = sent.params["reply_markup"].clone();
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("q{update_id}"),
            "from": user(from),
            "message": message,
            "chat_instance": "-89157",
            "data": data,
        }
    })
}

#[tokio::test]
async fn a_voter_over_sms_reaches_the_agent_who_takes_the_ticket_and_answers_by_sms() {
    let desk = Desk::start().await;
    let store = desk.app.store();
    let started = now() - 60;
    on_duty(&store, "user:1", SAMIRA, "1601", started).await;
    on_duty(&store, "user:2", KARIM, "1601", started).await;

    // A lookup tells the voter's commune (and subscribes the number).
    desk.sms("s1", &format!("mon NIN {NIN_MIXED} né le {BIRTH_MIXED}"))
        .await;
    assert!(desk.sms_wait(1).await[0].contains("Bureau de vote 1"));

    desk.sms("s2", "AGENT ma carte indique un autre bureau")
        .await;
    let opened = desk.sms_wait(2).await;
    assert!(opened[1].starts_with("Demande 1 transmise"), "{opened:?}");
    let ticket = store
        .open_ticket_of(Channel::Sms, VOTER_E164)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ticket.id, ticket.commune.as_str()), (1, "1601"));

    // Both agents on duty get it, with the button that takes it and the voter's words; the
    // number is masked.
    let to_samira = desk.message_to(SAMIRA, "#1 Nouvelle demande").await;
    let to_karim = desk.message_to(KARIM, "#1 Nouvelle demande").await;
    assert_eq!(to_samira.callback_data(), vec!["take:1".to_owned()]);
    assert!(
        to_samira
            .text()
            .contains("ma carte indique un autre bureau")
    );
    assert!(
        !to_samira.text().contains("550123456"),
        "{}",
        to_samira.text()
    );

    desk.post(&press(1, SAMIRA, &to_samira, "take:1")).await;
    desk.message_to(SAMIRA, "#1 est à vous").await;
    desk.post(&press(2, KARIM, &to_karim, "take:1")).await;
    let refused = desk.acknowledgement(2).await;
    assert_eq!(refused.params["text"], "Déjà prise par un autre agent.");
    let taken = store.ticket(1).await.unwrap().unwrap();
    assert_eq!(taken.owner.as_deref(), Some("user:1"));

    // The voter writes again: the message goes to the ticket's owner, not to the bot.
    desk.sms("s3", "merci, j'attends").await;
    let forwarded = desk.message_to(SAMIRA, "merci, j'attends").await;
    assert!(forwarded.text().starts_with("#1 Message de"));
    // A lookup still works while the ticket is open.
    desk.sms("s4", &format!("mon NIN {NIN_MIXED} né le {BIRTH_MIXED}"))
        .await;
    let sent = desk.sms_wait(3).await;
    assert!(sent[2].contains("Bureau de vote 1"), "{sent:?}");

    // Replying to the pushed message answers the voter by SMS.
    let answer = "Votre bureau reste le 1 au centre Ecole Emir Abdelkader.";
    desk.post(&text(3, SAMIRA, answer, Some(to_samira.text())))
        .await;
    desk.message_to(SAMIRA, "#1 Réponse envoyée").await;
    let sent = desk.sms_wait(4).await;
    assert_eq!(sent[3], answer);
    let delivered = &desk.sms.received()[3].json();
    assert_eq!(delivered["to"], VOTER_E164);

    // An answer beyond two SMS segments is refused, and nothing goes out.
    let long = "x".repeat(400);
    desk.post(&text(4, SAMIRA, &long, Some(to_samira.text())))
        .await;
    desk.message_to(SAMIRA, "trop longue (3 SMS").await;
    // Karim, who does not own it, cannot answer it.
    desk.post(&text(5, KARIM, "je prends", Some(to_karim.text())))
        .await;
    desk.message_to(KARIM, "#1 n'est pas à vous").await;
    desk.post(&text(
        6,
        SAMIRA,
        "/note rappeler demain",
        Some(to_samira.text()),
    ))
    .await;
    desk.message_to(SAMIRA, "#1 Note enregistrée").await;

    // FIN ends it: the voter is told, the agent too.
    desk.sms("s5", "FIN").await;
    let sent = desk.sms_wait(5).await;
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert!(sent[4].starts_with("Demande 1 terminée"), "{sent:?}");
    desk.message_to(SAMIRA, "#1 Le demandeur a terminé").await;
    let closed = store.ticket(1).await.unwrap().unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    assert!(closed.first_answer_at.is_some());

    let messages = store.ticket_messages(1).await.unwrap();
    let origins: Vec<&str> = messages.iter().map(|m| m.origin.as_str()).collect();
    assert_eq!(origins, ["voter", "voter", "agent", "note"]);

    // Every take, answer and note is in the audit log with the agent's identity.
    let entries = store
        .audit_entries(&maktab::store::AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.action.starts_with("ticket."))
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    for action in ["ticket.take", "ticket.reply", "ticket.note"] {
        assert!(
            actions.contains(&(action, "user-1 (user:1)")),
            "{action}: {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_clerks_incident_from_telegram_jumps_the_queue() {
    let desk = Desk::start().await;
    let store = desk.app.store();
    on_duty(&store, "user:1", SAMIRA, "1601", now() - 60).await;
    let office = office(&store);
    let operator = Principal::command_line();
    let invitation = office
        .invite_clerk(&operator, &alger(), None)
        .await
        .unwrap();

    // A voter's ticket comes first in time.
    desk.sms("s1", &format!("mon NIN {NIN_MIXED} né le {BIRTH_MIXED}"))
        .await;
    desk.sms("s2", "AGENT").await;
    desk.sms_wait(2).await;

    desk.post(&text(
        1,
        CLERK_CHAT,
        &format!("/clerk {}", invitation.code),
        None,
    ))
    .await;
    desk.telegram.wait_for_message(CLERK_CHAT, |_| true).await;
    desk.post(&text(2, CLERK_CHAT, "/incident", None)).await;
    let kinds = desk.message_to(CLERK_CHAT, "Quel incident").await;
    assert_eq!(
        kinds.callback_data(),
        [
            "inc:centre_closed",
            "inc:missing_material",
            "inc:list_error",
            "inc:other"
        ]
    );
    desk.post(&press(3, CLERK_CHAT, &kinds, "inc:centre_closed"))
        .await;
    let centres = desk.message_to(CLERK_CHAT, "Dans quel centre").await;
    assert_eq!(
        centres.callback_data(),
        ["incc:centre_closed:C01", "incc:centre_closed:C02"]
    );
    desk.post(&press(4, CLERK_CHAT, &centres, "incc:centre_closed:C02"))
        .await;
    desk.message_to(CLERK_CHAT, "Incident 2 enregistré").await;
    let pushed = desk
        .message_to(SAMIRA, "#2 Nouvelle alerte : centre fermé")
        .await;
    assert!(pushed.text().contains("centre C02"), "{}", pushed.text());

    let queue = office
        .tickets(&operator, &TicketFilter::default(), 100)
        .await
        .unwrap();
    let order: Vec<(i64, TicketKind)> = queue.tickets.iter().map(|t| (t.id, t.kind)).collect();
    assert_eq!(order, [(2, TicketKind::Incident), (1, TicketKind::Voter)]);
    assert_eq!(queue.tickets[0].priority, INCIDENT_PRIORITY);
    assert_eq!(
        queue.tickets[0].incident_kind,
        Some(IncidentKind::CentreClosed)
    );
}

// ---- The desk over a store, with a recording chat outbox and a controlled clock ----

/// Records what the desk writes to Telegram chats.
#[derive(Default)]
struct Chats(Mutex<Vec<(String, ChatPush)>>);

#[async_trait]
impl ChatOutbox for Chats {
    async fn push(&self, chat: &str, push: &ChatPush, _now: Timestamp) -> Result<(), StoreError> {
        self.0.lock().unwrap().push((chat.to_owned(), push.clone()));
        Ok(())
    }
}

impl Chats {
    fn to(&self, chat: i64) -> Vec<ChatPush> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(to, _)| *to == chat.to_string())
            .map(|(_, push)| push.clone())
            .collect()
    }
}

fn desk_over(store: &Arc<dyn Store>, chats: &Arc<Chats>) -> DutyDesk {
    DutyDesk::new(
        Arc::clone(store),
        Arc::new(Catalog::load().unwrap()),
        DutySettings {
            sms_provider: Some("generic".to_owned()),
            ..DutySettings::default()
        },
        OutboxBell::default(),
    )
    .with_chats(Some(Arc::clone(chats) as Arc<dyn ChatOutbox>))
}

fn conversation(store: &Arc<dyn Store>, desk: DutyDesk) -> Conversation {
    Conversation::new(
        Arc::clone(store),
        Arc::new(Catalog::load().unwrap()),
        ConversationSettings::default(),
    )
    .with_duty(desk)
}

async fn say(
    talk: &Conversation,
    channel: Channel,
    sender: &str,
    text: &str,
    at: Timestamp,
) -> Vec<(MessageId, String)> {
    let inbound = Inbound {
        channel,
        sender: sender.to_owned(),
        text: text.to_owned(),
    };
    talk.handle_at(&inbound, at)
        .await
        .replies
        .into_iter()
        .map(|reply| (reply.message, reply.text))
        .collect()
}

fn voter_ticket(sender: &str, kind: TicketKind) -> NewTicket {
    NewTicket {
        commune: alger(),
        channel: Channel::Sms,
        sender: sender.to_owned(),
        sender_masked: "+213******56".to_owned(),
        locale: Locale::Fr,
        kind,
        incident_kind: (kind == TicketKind::Incident).then_some(IncidentKind::MissingMaterial),
        centre: None,
        priority: if kind == TicketKind::Incident {
            INCIDENT_PRIORITY
        } else {
            0
        },
        first_message: None,
    }
}

#[tokio::test]
async fn out_of_hours_the_voter_is_told_when_duty_resumes() {
    let db = TestDb::with_roll().await;
    let chats = Arc::new(Chats::default());
    let talk = conversation(&db.store, desk_over(&db.store, &chats));
    let at = 1_800_000_000;
    let resumes = at + 10 * 3600;
    on_duty(&db.store, "user:1", SAMIRA, "1601", resumes).await;

    // Without a lookup, the commune is asked and matched like the report dialogue's.
    let asked = say(
        &talk,
        Channel::Sms,
        VOTER_E164,
        "CONSEILLER bureau fermé",
        at,
    )
    .await;
    assert_eq!(asked[0].0, MessageId::DutyAskCommune);
    let opened = say(&talk, Channel::Sms, VOTER_E164, "Alger Centre", at + 5).await;
    assert_eq!(opened[0].0, MessageId::DutyOpenedLater, "{opened:?}");
    assert!(
        opened[0].1.contains(&roster::local_time(resumes)),
        "{opened:?}"
    );
    // Nobody is on duty: nobody was told yet.
    assert!(chats.to(SAMIRA).is_empty());

    let ticket = db
        .store
        .open_ticket_of(Channel::Sms, VOTER_E164)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.commune, alger());
    let messages = db.store.ticket_messages(ticket.id).await.unwrap();
    assert_eq!(messages[0].body, "bureau fermé");

    // In Arabic, with nobody on the roster at all.
    let arabic = say(&talk, Channel::Telegram, "4242", "موظف", at).await;
    assert_eq!(arabic[0].0, MessageId::DutyAskCommune);
    let told = say(&talk, Channel::Telegram, "4242", "1601", at).await;
    assert_eq!(told[0].0, MessageId::DutyOpenedLater);
    assert!(told[0].1.contains("المداومة"), "{told:?}");
    let ended = say(&talk, Channel::Telegram, "4242", "إنهاء", at).await;
    assert_eq!(ended[0].0, MessageId::DutyEnded);
    let again = say(&talk, Channel::Telegram, "4242", "إنهاء", at).await;
    assert_eq!(again[0].0, MessageId::DutyNoTicket);
}

#[tokio::test]
async fn on_telegram_a_person_is_offered_after_a_failed_lookup_and_in_the_help() {
    let db = TestDb::with_roll().await;
    let chats = Arc::new(Chats::default());
    let talk = conversation(&db.store, desk_over(&db.store, &chats));
    let inbound = |text: &str| Inbound {
        channel: Channel::Telegram,
        sender: "4242".to_owned(),
        text: text.to_owned(),
    };
    let not_found = talk
        .handle(&inbound(&format!("{NIN_UNKNOWN} {BIRTH_MIXED}")))
        .await;
    let actions: Vec<&ButtonAction> = not_found.replies[0]
        .buttons
        .iter()
        .map(|b| &b.action)
        .collect();
    assert!(actions.contains(&&ButtonAction::AskAgent), "{actions:?}");
    let help = talk.handle(&inbound("/help")).await;
    assert!(
        help.replies[0]
            .buttons
            .iter()
            .any(|b| b.action == ButtonAction::AskAgent)
    );
    // SMS has no buttons.
    let sms = talk
        .handle(&Inbound {
            channel: Channel::Sms,
            ..inbound("AIDE")
        })
        .await;
    assert!(sms.replies[0].buttons.is_empty());
}

#[tokio::test]
async fn a_ticket_nobody_answers_escalates_once_to_the_wilaya_and_national_cells() {
    let db = TestDb::with_roll().await;
    let chats = Arc::new(Chats::default());
    let desk = desk_over(&db.store, &chats);
    let at = 1_800_000_000;
    on_duty(&db.store, "user:1", SAMIRA, "1601", at - 60).await;
    on_duty(&db.store, "user:3", NATIONAL_AGENT, "national", at - 60).await;
    on_duty(&db.store, "user:4", KARIM, "w16", at - 60).await;

    let voter = desk
        .open(&voter_ticket("+213550000001", TicketKind::Voter), at)
        .await
        .unwrap();
    let answered = desk
        .open(&voter_ticket("+213550000002", TicketKind::Voter), at)
        .await
        .unwrap();
    let incident = desk
        .open(&voter_ticket("+213550000003", TicketKind::Incident), at)
        .await
        .unwrap();
    let samira = Actor {
        id: "user:1".to_owned(),
        name: "Samira".to_owned(),
    };
    desk.take(answered.ticket.id, &samira, at + 60)
        .await
        .unwrap();
    desk.reply(answered.ticket.id, &samira, "Nous regardons.", at + 120)
        .await
        .unwrap();

    // Four minutes in, nothing is due; at five the incident goes; at fifteen the voter's.
    assert_eq!(desk.escalate(at + 4 * 60).await.unwrap(), 0);
    assert_eq!(desk.escalate(at + 5 * 60).await.unwrap(), 1);
    assert_eq!(desk.escalate(at + 14 * 60).await.unwrap(), 0);
    assert_eq!(desk.escalate(at + 15 * 60).await.unwrap(), 1);
    assert_eq!(desk.escalate(at + 60 * 60).await.unwrap(), 0, "once each");

    let national: Vec<String> = chats
        .to(NATIONAL_AGENT)
        .iter()
        .map(|p| p.text.clone())
        .collect();
    assert_eq!(national.len(), 2, "{national:?}");
    assert!(national[0].starts_with(&format!("#{} ESCALADE", incident.ticket.id)));
    assert!(national[1].starts_with(&format!(
        "#{} ESCALADE : sans réponse depuis 15 min",
        voter.ticket.id
    )));
    assert_eq!(chats.to(KARIM).len(), 2, "the wilaya's cell too");
    // The commune's agent got the three new tickets, not the escalations.
    assert_eq!(
        chats
            .to(SAMIRA)
            .iter()
            .filter(|p| p.text.contains("ESCALADE"))
            .count(),
        0
    );
    let escalated = db.store.ticket(voter.ticket.id).await.unwrap().unwrap();
    assert_eq!(escalated.escalation_level, 1);
}

#[tokio::test]
async fn an_agents_answer_by_sms_is_refused_beyond_two_segments_and_observers_only_read() {
    let db = TestDb::with_roll().await;
    let chats = Arc::new(Chats::default());
    let desk = desk_over(&db.store, &chats);
    let office = office(&db.store).with_duty(desk.clone());
    let opened = desk
        .open(&voter_ticket("+213550000009", TicketKind::Voter), now())
        .await
        .unwrap();
    let id = opened.ticket.id;
    let operator = Principal::command_line();
    let refused = office.reply_ticket(&operator, id, &"م".repeat(141)).await;
    assert!(
        matches!(&refused, Err(maktab::office::OfficeError::Rejected(m)) if m.contains("3 SMS segments")),
        "{refused:?}"
    );
    office
        .reply_ticket(&operator, id, &"م".repeat(134))
        .await
        .unwrap();
    // The office owns it now; the detail shows its messages to it only.
    let detail = office.ticket(&operator, id).await.unwrap();
    assert_eq!(detail.messages.unwrap().len(), 1);
    let observer = Principal {
        id: "token:9".to_owned(),
        name: "observers".to_owned(),
        role: maktab::domain::Role::Observer,
        communes: Vec::new(),
        expires_at: None,
    };
    let seen = office.ticket(&observer, id).await.unwrap();
    assert!(seen.messages.is_none());
    assert_eq!(seen.ticket.sender, "+213******56");
    assert!(office.close_ticket(&observer, id).await.is_err());
    let oran = Principal {
        id: "token:10".to_owned(),
        name: "Oran".to_owned(),
        role: maktab::domain::Role::CommuneAdmin,
        communes: vec![CommuneCode::parse("3101").unwrap()],
        expires_at: None,
    };
    assert!(matches!(
        office.ticket(&oran, id).await,
        Err(maktab::office::OfficeError::NotFound(_))
    ));
    office.close_ticket(&operator, id).await.unwrap();
    let stats = office.duty_stats(&operator, None, Some(0)).await.unwrap();
    assert_eq!((stats.opened, stats.closed, stats.backlog), (1, 1, 0));
    assert_eq!(stats.first_answer.count, 1);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs PostgreSQL (MAKTAB_TEST_POSTGRES_URL, set by .ci/run)"]
async fn two_instances_on_one_postgresql_take_a_ticket_once_and_escalate_it_once() {
    let (db, database) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    let other: Arc<dyn Store> = maktab::store::connect(&database.url).await.unwrap();
    let chats = Arc::new(Chats::default());
    let first = desk_over(&db.store, &chats);
    let second = desk_over(&other, &chats);
    let at = now();
    for round in 0..20 {
        let opened = first
            .open(
                &voter_ticket(&format!("+2135500001{round:02}"), TicketKind::Voter),
                at,
            )
            .await
            .unwrap();
        let id = opened.ticket.id;
        let a = Actor {
            id: "user:1".to_owned(),
            name: "a".to_owned(),
        };
        let b = Actor {
            id: "user:2".to_owned(),
            name: "b".to_owned(),
        };
        let (one, two) = tokio::join!(first.take(id, &a, at), second.take(id, &b, at));
        let owners = [one.is_ok(), two.is_ok()];
        assert_eq!(owners.iter().filter(|ok| **ok).count(), 1, "round {round}");
        let refused = if one.is_ok() { two } else { one };
        assert!(
            matches!(refused, Err(DutyError::Taken { .. })),
            "{refused:?}"
        );
    }
    // Twenty untaken tickets, two instances escalating at once: each goes once.
    for round in 0..20 {
        first
            .open(
                &voter_ticket(&format!("+2135500002{round:02}"), TicketKind::Voter),
                at,
            )
            .await
            .unwrap();
    }
    let late = at + 16 * 60;
    let (one, two) = tokio::join!(first.escalate(late), second.escalate(late));
    assert_eq!(one.unwrap() + two.unwrap(), 40);
    let all = db
        .store
        .tickets(&TicketQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(all.iter().all(|t| t.escalation_level == 1));
}

fn maktab(db: &TestDb, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_maktab"))
        .args(args)
        .env("MAKTAB_DATABASE_URL", &db.url)
        .env("MAKTAB_TELEGRAM_BOT_TOKEN", TOKEN)
        .env("MAKTAB_TELEGRAM_WEBHOOK_SECRET", TG_SECRET)
        .env_remove("MAKTAB_LOG")
        .env_remove("RUST_LOG")
        .env_remove("MAKTAB_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "maktab {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_keeps_the_roster_and_answers_closes_and_counts_tickets() {
    let db = TestDb::with_roll().await;
    let user = db
        .store
        .create_user(
            maktab::store::NewUser {
                login: "samira".to_owned(),
                role: maktab::domain::Role::CommuneAdmin,
                communes: vec![alger()],
                password_hash: "unused".to_owned(),
                created_at: now(),
            },
            audit("user.create"),
        )
        .await
        .unwrap()
        .unwrap();
    let agent = format!("user:{user}");
    let added = maktab(
        &db,
        &[
            "duty",
            "add",
            "--cell",
            "1601",
            "--agent",
            &agent,
            "--chat",
            "9001",
            "--from",
            "2026-01-01 08:00",
            "--until",
            "2099-01-01 08:00",
            "--locale",
            "fr",
        ],
    );
    assert!(added.starts_with("Shift added: #1"), "{added}");
    assert!(maktab(&db, &["duty", "now"]).contains(&agent));

    let chats = Arc::new(Chats::default());
    let desk = desk_over(&db.store, &chats);
    let mut ticket = voter_ticket("4242", TicketKind::Voter);
    ticket.channel = Channel::Telegram;
    ticket.first_message = Some("mon NIN 109870123456789012, où voter ?".to_owned());
    let opened = desk.open(&ticket, now()).await.unwrap();
    assert_eq!(chats.to(9001).len(), 1, "the agent on duty was told");

    let listed = maktab(&db, &["tickets", "list", "--status", "open"]);
    assert!(
        listed.starts_with(&format!("#{}", opened.ticket.id)),
        "{listed}"
    );
    let hidden = maktab(&db, &["tickets", "show", "1"]);
    assert!(hidden.contains("owner only"), "{hidden}");
    let replied = maktab(
        &db,
        &["tickets", "reply", "1", "Bonjour,", "le", "centre", "C01"],
    );
    assert!(replied.contains("queued"), "{replied}");
    let waiting = db.store.outbox_waiting().await.unwrap();
    assert_eq!(waiting.get("telegram"), Some(&1), "{waiting:?}");
    let shown = maktab(&db, &["tickets", "show", "1"]);
    assert!(shown.contains("Bonjour, le centre C01"), "{shown}");
    assert!(
        shown.contains("****************12"),
        "the NIN is masked: {shown}"
    );
    assert!(!shown.contains("109870123456789012"), "{shown}");
    maktab(&db, &["tickets", "close", "1"]);
    assert!(maktab(&db, &["tickets", "list", "--status", "open"]).is_empty());
    let stats = maktab(&db, &["duty", "stats"]);
    assert!(stats.contains("opened 1, closed 1, backlog 0"), "{stats}");
    assert!(maktab(&db, &["duty", "remove", "1"]).contains("removed"));
    assert!(maktab(&db, &["duty", "now"]).contains("Nobody is on duty now."));
}

#[tokio::test]
async fn the_console_queue_takes_answers_with_a_canned_reply_notes_and_closes() {
    let telegram = FakeTelegram::start().await;
    let api_url = telegram.url().to_string();
    let app = spawn_app_with(move |config| {
        config.telegram.bot_token = Some(Secret::new(TOKEN));
        config.telegram.webhook_secret = Some(Secret::new(TG_SECRET));
        config.telegram.api_url = api_url;
    })
    .await;
    let store = app.store();
    office(&store)
        .create_user(
            &Principal::command_line(),
            "alger",
            maktab::domain::Role::CommuneAdmin,
            vec![alger()],
            console_support::PASSWORD,
        )
        .await
        .unwrap();
    let chats = Arc::new(Chats::default());
    let desk = desk_over(&store, &chats);
    let mut ticket = voter_ticket("4242", TicketKind::Voter);
    ticket.channel = Channel::Telegram;
    ticket.locale = Locale::Ar;
    ticket.first_message = Some("بطاقتي تحمل مكتبا آخر".to_owned());
    desk.open(&ticket, now()).await.unwrap();

    let mut alger = console_support::Client::new(app.address);
    assert_eq!(
        alger
            .log_in("alger", console_support::PASSWORD)
            .await
            .status,
        303
    );
    let queue = alger.get("/console/tickets").await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(
        queue.body.contains(r#"href="/console/tickets/1""#),
        "{}",
        queue.body
    );
    let before = alger.get("/console/tickets/1").await;
    assert!(before.body.contains(r#"id="take""#));
    assert!(
        !before.body.contains("بطاقتي تحمل"),
        "messages are the owner's only"
    );

    let token = alger.csrf("/console/tickets/1").await;
    let taken = alger
        .post_form("/console/tickets/1/take", &[("csrf", &token)])
        .await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    let owned = alger.get("/console/tickets/1").await;
    assert!(
        owned.body.contains("بطاقتي تحمل مكتبا آخر"),
        "{}",
        owned.body
    );

    let canned = "نتحقق من وضعيتك وسنعود إليك هنا قريبا.";
    assert!(
        owned.body.contains(canned),
        "the canned replies are offered"
    );
    let replied = alger
        .post_form(
            "/console/tickets/1/reply",
            &[("csrf", &token), ("text", ""), ("canned", canned)],
        )
        .await;
    assert_eq!(replied.status, 303, "{}", replied.body);
    telegram
        .wait_for_message(4242, |call| call.text() == canned)
        .await;
    let noted = alger
        .post_form(
            "/console/tickets/1/note",
            &[("csrf", &token), ("text", "rappeler demain")],
        )
        .await;
    assert_eq!(noted.status, 303);
    let closed = alger
        .post_form("/console/tickets/1/close", &[("csrf", &token)])
        .await;
    assert_eq!(closed.status, 303);
    let ticket = store.ticket(1).await.unwrap().unwrap();
    assert_eq!(ticket.status, TicketStatus::Closed);
    let user = store.user_by_login("alger").await.unwrap().unwrap();
    assert_eq!(ticket.owner, Some(format!("user:{}", user.id)));

    // The roster page adds and lists a shift of this user, under the day's follow-up: the
    // ticket just answered and closed is counted, with the agent who took it.
    let roster = alger.get("/console/duty").await;
    assert_eq!(roster.status, 200, "{}", roster.body);
    assert!(
        roster.body.contains(r#"data-opened="1""#) && roster.body.contains("duty-agents-table"),
        "{}",
        roster.body
    );
    let agent = format!("user:{}", user.id);
    let added = alger
        .post_form(
            "/console/duty",
            &[
                ("csrf", &token),
                ("cell", "1601"),
                ("agent", &agent),
                ("chat", "9001"),
                ("from", "2026-01-01T08:00"),
                ("until", "2099-01-01T08:00"),
                ("locale", "fr"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let roster = alger.get("/console/duty").await;
    assert!(roster.body.contains(&agent), "{}", roster.body);
    // Another commune's cell is refused.
    let refused = alger
        .post_form(
            "/console/duty",
            &[
                ("csrf", &token),
                ("cell", "31000"),
                ("agent", &agent),
                ("from", "2026-01-01T08:00"),
                ("until", "2099-01-01T08:00"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}
