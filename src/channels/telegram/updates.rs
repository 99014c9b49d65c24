//! What a Telegram `Update` means for Maktab, and how it is answered.
//!
//! [`classify`] turns an update into an [`Action`] without side effects; [`Processor`] carries
//! it out: text from a private chat goes to the conversation core exactly as an SMS would
//! (with the client's `language_code` as a hint), and the Telegram-only parts are handled here:
//! `/start` and `/language` with their language buttons, button presses, hints for photos and
//! stickers, commands addressed to the bot in groups, and chats that block the bot.
//!
//! Lookups happen in private chats only: a NIN typed in a group is ignored, and a command
//! addressed to the bot in a group gets a hint to write in private.

use std::sync::Arc;

use teloxide::Bot;
use teloxide::prelude::Requester;
use teloxide::types::{
    CallbackQueryId, ChatMemberKind, InlineKeyboardButton, InlineKeyboardMarkup, MediaKind,
    Message, MessageKind, Update, UpdateKind, User,
};
use tokio::sync::OnceCell;

use super::sender::{ChatMessage, ChatVenue, TelegramSendError, TelegramSender};
use crate::conversation::{Button, ButtonAction, Conversation, Inbound, Reply};
use crate::domain::{Channel, Locale, Timestamp, mask_sender};
use crate::i18n::MessageId;
use crate::notices::OutboxBell;
use crate::store::{IncidentKind, NewReply, Store, StoreError};

mod agents;

/// What an update asks Maktab to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Text from a private chat, for the conversation core.
    Converse {
        chat: i64,
        text: String,
        hint: Option<Locale>,
    },
    /// `/start`: greet and offer the language buttons.
    Greet { chat: i64, hint: Option<Locale> },
    /// `/language`: offer the language buttons.
    ChooseLanguage { chat: i64, hint: Option<Locale> },
    /// A photo, sticker, voice note, location... in a private chat.
    NonText { chat: i64, hint: Option<Locale> },
    /// `/command@username` in a group: answered only if `username` is this bot's.
    GroupCommand {
        chat: i64,
        username: String,
        hint: Option<Locale>,
    },
    /// A button was pressed.
    Button {
        chat: i64,
        query: CallbackQueryId,
        /// The message that carries the button (absent when Telegram no longer has it).
        message: Option<i32>,
        data: Option<String>,
        hint: Option<Locale>,
    },
    /// The user blocked the bot (`my_chat_member`, status `kicked`).
    Blocked { chat: i64 },
    /// The user unblocked the bot.
    Unblocked { chat: i64 },
    /// A duty desk command (`/close`, `/note`, `/incident`) or a reply to a ticket's message.
    /// `text` is the message as written: from a chat that is not an agent's (or a clerk's,
    /// for `/incident`) it goes to the conversation like any other.
    Duty {
        chat: i64,
        command: agents::DutyCommand,
        text: String,
        hint: Option<Locale>,
    },
    /// Nothing to do (channel posts, service messages, group chatter...).
    Ignore,
}

/// The update kinds Maktab acts on; the same list is given to `setWebhook` as
/// `allowed_updates`, and anything else that arrives is answered 200 and dropped.
pub fn is_actionable(kind: &UpdateKind) -> bool {
    matches!(
        kind,
        UpdateKind::Message(_)
            | UpdateKind::EditedMessage(_)
            | UpdateKind::CallbackQuery(_)
            | UpdateKind::MyChatMember(_)
    )
}

/// Whether teloxide failed to read an update (`UpdateKind::Error`) whose kind is one Maktab
/// acts on, judging from the raw JSON's keys.
pub fn is_unreadable_actionable(kind: &UpdateKind, raw: &[u8]) -> bool {
    if !matches!(kind, UpdateKind::Error(_)) {
        return false;
    }
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(raw) else {
        return false;
    };
    [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]
    .iter()
    .any(|key| fields.contains_key(*key))
}

/// The chat an update belongs to, to handle one chat's updates in order.
pub fn chat_of(update: &Update) -> Option<i64> {
    match &update.kind {
        UpdateKind::CallbackQuery(query) => Some(
            query
                .message
                .as_ref()
                .map_or_else(|| user_chat(&query.from), |message| message.chat().id.0),
        ),
        _ => update.chat().map(|chat| chat.id.0),
    }
}

/// In a private chat the chat id is the user id.
fn user_chat(user: &User) -> i64 {
    i64::try_from(user.id.0).unwrap_or(i64::MAX)
}

/// The locale of a Telegram client's `language_code` (`ar`, `ar-DZ`, `fr`, `fr-FR`...).
pub fn locale_of(user: Option<&User>) -> Option<Locale> {
    let code = user?.language_code.as_deref()?;
    let language = code.split(['-', '_']).next()?;
    language.parse().ok()
}

/// A bot command at the start of a message: `/name`, `/name@username`, then arguments.
#[derive(Debug, PartialEq)]
struct Command<'a> {
    /// Lower case, without the slash.
    name: String,
    username: Option<&'a str>,
}

fn parse_command(text: &str) -> Option<Command<'_>> {
    let first = text.split_whitespace().next()?;
    let body = first.strip_prefix('/')?;
    let (name, username) = match body.split_once('@') {
        Some((name, username)) => (name, Some(username)),
        None => (body, None),
    };
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| Command {
        name: name.to_ascii_lowercase(),
        username,
    })
}

/// What an update means. Pure: no store, no network.
pub fn classify(update: &Update) -> Action {
    match &update.kind {
        UpdateKind::Message(message) => classify_message(message, false),
        UpdateKind::EditedMessage(message) => classify_message(message, true),
        UpdateKind::CallbackQuery(query) => Action::Button {
            chat: chat_of(update).unwrap_or_else(|| user_chat(&query.from)),
            query: query.id.clone(),
            message: query.message.as_ref().map(|message| message.id().0),
            data: query.data.clone(),
            hint: locale_of(Some(&query.from)),
        },
        UpdateKind::MyChatMember(member) if member.chat.is_private() => {
            match member.new_chat_member.kind {
                ChatMemberKind::Banned(_) | ChatMemberKind::Left => Action::Blocked {
                    chat: member.chat.id.0,
                },
                _ => Action::Unblocked {
                    chat: member.chat.id.0,
                },
            }
        }
        _ => Action::Ignore,
    }
}

fn classify_message(message: &Message, edited: bool) -> Action {
    let chat = message.chat.id.0;
    let hint = locale_of(message.from.as_ref());
    if message.from.as_ref().is_some_and(|user| user.is_bot) {
        return Action::Ignore;
    }
    let text = message.text();
    if message.chat.is_group() || message.chat.is_supergroup() {
        // In groups only commands that name this bot are answered (once: not again when the
        // command is edited); everything else, NINs included, is other people's conversation.
        if edited {
            return Action::Ignore;
        }
        return match text.and_then(parse_command) {
            Some(Command {
                username: Some(username),
                ..
            }) => Action::GroupCommand {
                chat,
                username: username.to_owned(),
                hint,
            },
            _ => Action::Ignore,
        };
    }
    if !message.chat.is_private() {
        return Action::Ignore;
    }
    let Some(text) = text else {
        return match &message.kind {
            // An edited caption or a moved live location is not worth a second hint.
            MessageKind::Common(common) if !edited && !is_text(&common.media_kind) => {
                Action::NonText { chat, hint }
            }
            _ => Action::Ignore,
        };
    };
    if !edited && let Some(command) = agents::duty_command(text, message.reply_to_message()) {
        return Action::Duty {
            chat,
            command,
            text: text.to_owned(),
            hint,
        };
    }
    match parse_command(text) {
        Some(command) if command.name == "start" => Action::Greet { chat, hint },
        Some(command) if matches!(command.name.as_str(), "language" | "langue" | "lang") => {
            Action::ChooseLanguage { chat, hint }
        }
        // The core knows `/help` and `/stop`; `@username` is dropped so it knows them here too.
        Some(command) if matches!(command.name.as_str(), "help" | "stop") => Action::Converse {
            chat,
            text: format!("/{}", command.name),
            hint,
        },
        _ => Action::Converse {
            chat,
            text: text.to_owned(),
            hint,
        },
    }
}

fn is_text(media: &MediaKind) -> bool {
    matches!(media, MediaKind::Text(_))
}

/// Button payloads (`callback_data`, at most 64 bytes): `lang:ar`, `lang:fr`, `sub:<offer id>`,
/// `report:` (the NIN of the report is in the chat's stored dialogue), `agent:` (ask for a
/// person), `take:<ticket>` (an agent takes a ticket), `inc:<kind>` and `incc:<kind>:<centre>`
/// (a clerk's incident). An offer id refers to a row of the store, so no NIN travels through
/// Telegram's buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackData {
    Language(Locale),
    Subscribe(i64),
    Report,
    AskAgent,
    Take(i64),
    IncidentKind(IncidentKind),
    /// A centre code is at most 20 characters, so this stays within the 64 bytes.
    IncidentCentre(IncidentKind, String),
}

impl CallbackData {
    pub fn encode(&self) -> String {
        match self {
            Self::Language(locale) => format!("lang:{}", locale.code()),
            Self::Subscribe(offer) => format!("sub:{offer}"),
            Self::Report => "report:".to_owned(),
            Self::AskAgent => "agent:".to_owned(),
            Self::Take(ticket) => format!("take:{ticket}"),
            Self::IncidentKind(kind) => format!("inc:{kind}"),
            Self::IncidentCentre(kind, centre) => format!("incc:{kind}:{centre}"),
        }
    }

    pub fn decode(data: &str) -> Option<Self> {
        let (kind, value) = data.split_once(':')?;
        match kind {
            "lang" => value.parse().ok().map(Self::Language),
            "sub" => value.parse().ok().map(Self::Subscribe),
            "report" if value.is_empty() => Some(Self::Report),
            "agent" if value.is_empty() => Some(Self::AskAgent),
            "take" => value.parse().ok().map(Self::Take),
            "inc" => value.parse().ok().map(Self::IncidentKind),
            "incc" => {
                let (incident, centre) = value.split_once(':')?;
                let centre = crate::domain::CentreCode::parse(centre).ok()?;
                Some(Self::IncidentCentre(
                    incident.parse().ok()?,
                    centre.as_str().to_owned(),
                ))
            }
            _ => None,
        }
    }
}

/// Carries out actions: the conversation core, the store, the outbox (every reply is a row of
/// it, sent by the Telegram lane) and the sender (for what answers a button press itself).
pub struct Processor {
    conversation: Conversation,
    store: Arc<dyn Store>,
    sender: Arc<TelegramSender>,
    bell: OutboxBell,
    bot: Bot,
    /// The bot's username, from the configuration or asked of `getMe` the first time a group
    /// command needs it.
    username: OnceCell<String>,
    offer_ttl_seconds: i64,
}

impl Processor {
    pub fn new(
        conversation: Conversation,
        store: Arc<dyn Store>,
        sender: Arc<TelegramSender>,
        bell: OutboxBell,
        bot: Bot,
        username: Option<String>,
        offer_ttl_seconds: i64,
    ) -> Self {
        Self {
            conversation,
            store,
            sender,
            bell,
            bot,
            username: OnceCell::new_with(username),
            offer_ttl_seconds,
        }
    }

    /// The store the processor works on.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Handles one update. Errors are the sending's or the store's; the conversation core
    /// handles its own.
    pub async fn process(&self, update: &Update, now: Timestamp) -> Result<(), TelegramSendError> {
        match classify(update) {
            Action::Converse { chat, text, hint } => {
                // A chat that writes can be written to, whatever was recorded before.
                self.store.set_chat_blocked(chat, false, now).await?;
                self.converse(chat, text, hint, now).await
            }
            Action::Greet { chat, hint } => {
                self.store.set_chat_blocked(chat, false, now).await?;
                let state = self
                    .store
                    .sender_state(Channel::Telegram, &chat.to_string(), now)
                    .await?;
                // The language the chat has been answered in; the client's only for a chat
                // the service knows nothing about.
                let locale = state.locale.or(hint).unwrap_or(Locale::Ar);
                if state.notices_opt_out {
                    // The stop reply says to send START: /start resumes notices too.
                    self.converse(chat, "START".to_owned(), hint, now).await?;
                }
                let reply = self.with_language_buttons(locale, MessageId::TelegramGreeting);
                self.answer(chat, &reply, now).await
            }
            Action::ChooseLanguage { chat, hint } => {
                let locale = self.locale(chat, hint, now).await?;
                let reply = self.with_language_buttons(locale, MessageId::TelegramChooseLanguage);
                self.answer(chat, &reply, now).await
            }
            Action::NonText { chat, hint } => {
                let locale = self.locale(chat, hint, now).await?;
                let reply = self
                    .conversation
                    .message(locale, MessageId::TelegramNonText);
                self.answer(chat, &reply, now).await
            }
            Action::GroupCommand {
                chat,
                username,
                hint,
            } => {
                if !self.is_me(&username).await {
                    return Ok(());
                }
                let reply = self
                    .conversation
                    .message(hint.unwrap_or(Locale::Ar), MessageId::TelegramGroupHint);
                self.answer(chat, &reply, now).await
            }
            Action::Button {
                chat,
                query,
                message,
                data,
                hint,
            } => {
                // A pressed button has done its work: it goes before the answer is sent, so it
                // is not pressed twice.
                if let Some(message) = message
                    && data.as_deref().and_then(CallbackData::decode).is_some()
                {
                    self.sender.remove_buttons(chat, message).await;
                }
                self.button(chat, &query, data.as_deref(), hint, now).await
            }
            Action::Blocked { chat } => {
                tracing::info!(chat = %mask_sender(&chat.to_string()), "the user blocked the bot");
                Ok(self.store.set_chat_blocked(chat, true, now).await?)
            }
            Action::Unblocked { chat } => Ok(self.store.set_chat_blocked(chat, false, now).await?),
            Action::Duty {
                chat,
                command,
                text,
                hint,
            } => self.duty(chat, command, text, hint, now).await,
            Action::Ignore => Ok(()),
        }
    }

    async fn converse(
        &self,
        chat: i64,
        text: String,
        hint: Option<Locale>,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        let inbound = Inbound {
            channel: Channel::Telegram,
            sender: chat.to_string(),
            text,
        };
        let handled = self
            .conversation
            .handle_hinted_at(&inbound, hint, now)
            .await;
        for reply in &handled.replies {
            self.send(chat, reply, now).await?;
        }
        Ok(())
    }

    async fn button(
        &self,
        chat: i64,
        query: &CallbackQueryId,
        data: Option<&str>,
        hint: Option<Locale>,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        match data.and_then(CallbackData::decode) {
            Some(CallbackData::Language(locale)) => {
                self.sender.answer_callback(query, None).await?;
                // `ar` and `fr` are the core's own keywords for choosing a language, so the
                // button does exactly what typing them does (and remembers the choice).
                self.converse(chat, locale.code().to_owned(), hint, now)
                    .await
            }
            Some(CallbackData::Subscribe(offer)) => {
                let sender = chat.to_string();
                let Some(nin) = self.store.offer(chat, offer, now).await? else {
                    let locale = self.locale(chat, hint, now).await?;
                    let expired = self
                        .conversation
                        .message(locale, MessageId::TelegramOfferExpired);
                    return self
                        .sender
                        .answer_callback(query, Some(&expired.text))
                        .await;
                };
                self.sender.answer_callback(query, None).await?;
                self.store
                    .add_subscription(Channel::Telegram, &sender, &nin, now)
                    .await?;
                let mut state = self
                    .store
                    .sender_state(Channel::Telegram, &sender, now)
                    .await?;
                // Pressing "notify me" is an explicit opt-in, even after an earlier /stop.
                if state.notices_opt_out {
                    state.notices_opt_out = false;
                    self.store
                        .save_sender_state(Channel::Telegram, &sender, &state, now)
                        .await?;
                }
                tracing::debug!(chat = %mask_sender(&sender), nin = %nin, "subscribed");
                let locale = state.locale.or(hint).unwrap_or(Locale::Ar);
                let reply = self
                    .conversation
                    .message(locale, MessageId::TelegramSubscribed);
                self.answer(chat, &reply, now).await
            }
            Some(CallbackData::Report) => {
                self.sender.answer_callback(query, None).await?;
                // The button does what typing SIGNALER does; a slash command says nothing of
                // the language, so the conversation keeps the chat's.
                self.converse(chat, "/signaler".to_owned(), hint, now).await
            }
            Some(CallbackData::AskAgent) => {
                self.sender.answer_callback(query, None).await?;
                // What typing AGENT does; the keyword is neutral enough that the chat's
                // language stays.
                self.converse(chat, "AGENT".to_owned(), hint, now).await
            }
            Some(CallbackData::Take(ticket)) => self.take(chat, query, ticket, hint, now).await,
            Some(CallbackData::IncidentKind(kind)) => {
                self.sender.answer_callback(query, None).await?;
                self.incident_centres(chat, kind, hint, now).await
            }
            Some(CallbackData::IncidentCentre(kind, centre)) => {
                self.sender.answer_callback(query, None).await?;
                self.open_incident(chat, kind, Some(centre), hint, now)
                    .await
            }
            None => self.sender.answer_callback(query, None).await,
        }
    }

    /// The language to answer a chat in outside the core: what the core would use.
    async fn locale(
        &self,
        chat: i64,
        hint: Option<Locale>,
        now: Timestamp,
    ) -> Result<Locale, TelegramSendError> {
        let state = self
            .store
            .sender_state(Channel::Telegram, &chat.to_string(), now)
            .await?;
        Ok(state.locale.or(hint).unwrap_or(Locale::Ar))
    }

    fn with_language_buttons(&self, locale: Locale, message: MessageId) -> Reply {
        let mut reply = self.conversation.message(locale, message);
        for (language, label) in [
            (Locale::Ar, MessageId::ButtonArabic),
            (Locale::Fr, MessageId::ButtonFrench),
        ] {
            reply.buttons.push(Button {
                label: self.conversation.message(locale, label).text,
                action: ButtonAction::ChooseLanguage(language),
            });
        }
        reply
    }

    /// Answers outside the core: the same road as the core's replies.
    async fn answer(
        &self,
        chat: i64,
        reply: &Reply,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        self.send(chat, reply, now).await
    }

    /// Puts a reply in the outbox, whole (text, buttons, map pin), and wakes the Telegram
    /// lane. The update is finished only after this returned, so a reply survives a stop or a
    /// crash; the lane sends it within Telegram's limits, before any waiting notice, and a
    /// chat that blocked the bot is found there. (Button acknowledgements, which only change
    /// what the user already has and must come while the client waits, are still sent
    /// directly.)
    async fn send(
        &self,
        chat: i64,
        reply: &Reply,
        now: Timestamp,
    ) -> Result<(), TelegramSendError> {
        let keyboard = self.keyboard(chat, &reply.buttons, now).await?;
        let message = ChatMessage {
            text: reply.text.clone(),
            keyboard,
            venue: reply.venue.as_ref().map(ChatVenue::from),
        };
        let body = serde_json::to_string(&message)
            .map_err(|error| StoreError::Corrupt(format!("telegram reply: {error}")))?;
        let recipient = chat.to_string();
        self.store
            .enqueue_reply(
                &NewReply {
                    channel: Channel::Telegram,
                    provider: None,
                    recipient: &recipient,
                    locale: reply.locale,
                    body: &body,
                    message: reply.message.as_str(),
                    segments: 1,
                },
                now,
            )
            .await?;
        self.bell.ring();
        Ok(())
    }

    /// Language buttons side by side; each "notify me" on a row of its own.
    async fn keyboard(
        &self,
        chat: i64,
        buttons: &[Button],
        now: Timestamp,
    ) -> Result<Option<InlineKeyboardMarkup>, TelegramSendError> {
        if buttons.is_empty() {
            return Ok(None);
        }
        let mut languages = Vec::new();
        let mut rows = Vec::new();
        for button in buttons {
            match &button.action {
                ButtonAction::ChooseLanguage(locale) => {
                    languages.push(InlineKeyboardButton::callback(
                        button.label.clone(),
                        CallbackData::Language(*locale).encode(),
                    ))
                }
                ButtonAction::Subscribe(nin) => {
                    let expires_at = now + self.offer_ttl_seconds;
                    let offer = self.store.save_offer(chat, nin, expires_at).await?;
                    rows.push(vec![InlineKeyboardButton::callback(
                        button.label.clone(),
                        CallbackData::Subscribe(offer).encode(),
                    )]);
                }
                ButtonAction::Report => rows.push(vec![InlineKeyboardButton::callback(
                    button.label.clone(),
                    CallbackData::Report.encode(),
                )]),
                ButtonAction::AskAgent => rows.push(vec![InlineKeyboardButton::callback(
                    button.label.clone(),
                    CallbackData::AskAgent.encode(),
                )]),
            }
        }
        if !languages.is_empty() {
            rows.insert(0, languages);
        }
        Ok(Some(InlineKeyboardMarkup::new(rows)))
    }

    async fn is_me(&self, username: &str) -> bool {
        let mine = self
            .username
            .get_or_try_init(|| async {
                let me = self.bot.get_me().await?;
                Ok::<_, teloxide::RequestError>(me.user.username.unwrap_or_default())
            })
            .await;
        match mine {
            Ok(mine) => !mine.is_empty() && mine.eq_ignore_ascii_case(username),
            Err(error) => {
                // Not knowing who we are, stay quiet in groups; asked again next time.
                tracing::warn!(%error, "getMe failed: group command left unanswered");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: &str) -> Update {
        serde_json::from_str(json).unwrap()
    }

    fn private(text_or_media: &str, language: &str) -> Update {
        update(&format!(
            r#"{{"update_id":1,"message":{{"message_id":5,"date":1793700000,
            "from":{{"id":42,"is_bot":false,"first_name":"Amina","language_code":"{language}"}},
            "chat":{{"id":42,"first_name":"Amina","type":"private"}},{text_or_media}}}}}"#
        ))
    }

    #[test]
    fn commands_are_read_with_or_without_the_bot_username() {
        assert_eq!(
            parse_command("/help@Maktab_bot please"),
            Some(Command {
                name: "help".to_owned(),
                username: Some("Maktab_bot")
            })
        );
        assert_eq!(parse_command("/START").unwrap().name, "start");
        assert_eq!(parse_command("109870123456789012"), None);
        assert_eq!(parse_command("/ 15/03/1990"), None);
        assert_eq!(parse_command("15/03/1990"), None);
    }

    #[test]
    fn private_messages_become_conversation_start_language_or_hints() {
        assert_eq!(
            classify(&private(r#""text":"/start""#, "fr")),
            Action::Greet {
                chat: 42,
                hint: Some(Locale::Fr)
            }
        );
        assert_eq!(
            classify(&private(r#""text":"/help""#, "ar-DZ")),
            Action::Converse {
                chat: 42,
                text: "/help".to_owned(),
                hint: Some(Locale::Ar)
            }
        );
        assert_eq!(
            classify(&private(r#""text":"/language""#, "en")),
            Action::ChooseLanguage {
                chat: 42,
                hint: None
            }
        );
        assert_eq!(
            classify(&private(
                r#""location":{"latitude":36.7,"longitude":3.05}"#,
                "fr"
            )),
            Action::NonText {
                chat: 42,
                hint: Some(Locale::Fr)
            }
        );
    }

    #[test]
    fn callback_data_is_short_and_carries_no_nin() {
        for data in [
            CallbackData::Language(Locale::Ar),
            CallbackData::Language(Locale::Fr),
            CallbackData::Subscribe(i64::MAX),
            CallbackData::Report,
            CallbackData::AskAgent,
            CallbackData::Take(i64::MAX),
            CallbackData::IncidentCentre(IncidentKind::MissingMaterial, "C".repeat(20)),
        ] {
            let encoded = data.encode();
            assert!(encoded.len() <= 64, "{encoded}");
            assert_eq!(CallbackData::decode(&encoded).as_ref(), Some(&data));
        }
        assert_eq!(CallbackData::decode("sub:109870123456789012345"), None);
        assert_eq!(CallbackData::decode("lang:en"), None);
        assert_eq!(CallbackData::decode("garbage"), None);
    }

    #[test]
    fn only_the_four_kinds_of_setwebhook_are_acted_on() {
        let unknown = update(r#"{"update_id":9,"something_new":{"x":1}}"#);
        assert!(!is_actionable(&unknown.kind));
        assert_eq!(classify(&unknown), Action::Ignore);
        let poll = update(
            r#"{"update_id":10,"poll":{"id":"1","question":"q","options":[],"total_voter_count":0,
            "is_closed":true,"is_anonymous":true,"type":"regular","allows_multiple_answers":false}}"#,
        );
        assert_eq!(classify(&poll), Action::Ignore);
    }
}
