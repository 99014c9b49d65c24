//! The Telegram bot end to end: the real server on port 0 with a fresh SQLite database, a fake
//! Bot API on loopback, and updates shaped exactly as Telegram sends them.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::fake_telegram::{BOT_ID, BOT_USERNAME, Call, FakeTelegram};
use common::*;
use maktab::channels::telegram::sender::ChatDelivery;
use maktab::channels::telegram::{Telegram, TelegramSettings};
use maktab::domain::{Channel, Locale};
use maktab::server::{self, App};
use maktab::store::Store;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const SECRET: &str = "wh_secret-0123456789";
/// Private chats (a private chat's id is the user's id).
const AMINA: i64 = 111_000_001;
const YACINE: i64 = 111_000_002;
const GROUP: i64 = -1_001_234_567_890;
const DATE: i64 = 1_793_700_000;

// ---- Updates exactly as Telegram sends them ----

fn user(id: i64, language: &str) -> Value {
    json!({
        "id": id,
        "is_bot": false,
        "first_name": "Amina",
        "last_name": "B.",
        "username": format!("user{id}"),
        "language_code": language,
    })
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "Maktab", "username": BOT_USERNAME })
}

fn private_chat(id: i64) -> Value {
    json!({ "id": id, "first_name": "Amina", "last_name": "B.", "username": format!("user{id}"), "type": "private" })
}

fn group_chat() -> Value {
    json!({ "id": GROUP, "title": "Quartier El Mokrani", "type": "supergroup" })
}

/// A message from `chat` with the given content fields (`"text"`, `"photo"`...).
fn message(update_id: u32, chat: i64, language: &str, content: Value) -> Value {
    let mut message = json!({
        "message_id": 100 + update_id,
        "from": user(chat, language),
        "chat": private_chat(chat),
        "date": DATE,
    });
    for (key, value) in content.as_object().unwrap() {
        message[key] = value.clone();
    }
    json!({ "update_id": update_id, "message": message })
}

/// A text message; commands carry their `bot_command` entity, as Telegram sends them.
fn text(update_id: u32, chat: i64, language: &str, text: &str) -> Value {
    let mut content = json!({ "text": text });
    if text.starts_with('/') {
        let length = text
            .split_whitespace()
            .next()
            .unwrap()
            .encode_utf16()
            .count();
        content["entities"] = json!([{ "offset": 0, "length": length, "type": "bot_command" }]);
    }
    message(update_id, chat, language, content)
}

fn edited(update_id: u32, chat: i64, language: &str, new_text: &str) -> Value {
    json!({
        "update_id": update_id,
        "edited_message": {
            "message_id": 99,
            "from": user(chat, language),
            "chat": private_chat(chat),
            "date": DATE,
            "edit_date": DATE + 20,
            "text": new_text,
        }
    })
}

/// A button press under a message the bot sent earlier (`sent`).
fn press(update_id: u32, chat: i64, language: &str, sent: &Call, data: &str) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("43829{update_id}1947"),
            "from": user(chat, language),
            "message": {
                "message_id": 1000,
                "from": bot_user(),
                "chat": private_chat(chat),
                "date": DATE,
                "text": sent.text(),
                "reply_markup": sent.params["reply_markup"],
            },
            "chat_instance": "-8915742301844532181",
            "data": data,
        }
    })
}

/// The user blocked (`kicked`) or unblocked (`member`) the bot.
fn my_chat_member(update_id: u32, chat: i64, old: &str, new: &str) -> Value {
    let member = |status: &str| {
        let mut member = json!({ "user": bot_user(), "status": status });
        if status == "kicked" {
            member["until_date"] = json!(0);
        }
        member
    };
    json!({
        "update_id": update_id,
        "my_chat_member": {
            "chat": private_chat(chat),
            "from": user(chat, "ar"),
            "date": DATE,
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
    })
}

fn group_text(update_id: u32, text: &str) -> Value {
    let mut content = json!({
        "message_id": 500 + update_id,
        "from": user(YACINE, "fr"),
        "chat": group_chat(),
        "date": DATE,
        "text": text,
    });
    if text.starts_with('/') {
        let length = text
            .split_whitespace()
            .next()
            .unwrap()
            .encode_utf16()
            .count();
        content["entities"] = json!([{ "offset": 0, "length": length, "type": "bot_command" }]);
    }
    json!({ "update_id": update_id, "message": content })
}

fn photo() -> Value {
    json!({ "photo": [
        { "file_id": "AgACAgQAAxkBAAIBc2Zz", "file_unique_id": "AQADxbcxGzYJ4FJ4", "file_size": 1432, "width": 90, "height": 67 },
        { "file_id": "AgACAgQAAxkBAAIBc2Zy", "file_unique_id": "AQADxbcxGzYJ4FJy", "file_size": 54021, "width": 800, "height": 600 }
    ]})
}

fn sticker() -> Value {
    json!({ "sticker": {
        "width": 512, "height": 512, "emoji": "👍", "set_name": "HotCherry",
        "is_animated": false, "is_video": false, "type": "regular",
        "thumbnail": { "file_id": "AAMCAgADGQEAAgF", "file_unique_id": "AQADwQADVp29Cg", "file_size": 5416, "width": 128, "height": 128 },
        "file_id": "CAACAgIAAxkBAAIBZ2Zz", "file_unique_id": "AgADwQADVp29Cg", "file_size": 21024
    }})
}

fn voice() -> Value {
    json!({ "voice": {
        "duration": 3, "mime_type": "audio/ogg", "file_id": "AwACAgQAAxkBAAIBd2Zz",
        "file_unique_id": "AgADpxUAAh1s4VI", "file_size": 9312
    }})
}

fn location() -> Value {
    json!({ "location": { "latitude": 36.752887, "longitude": 3.042048 } })
}

// ---- The server under test ----

struct Running {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// The real server with Telegram configured against the fake Bot API.
struct TestBot {
    db: TestDb,
    fake: FakeTelegram,
    settings: TelegramSettings,
    running: Option<Running>,
    http: reqwest::Client,
}

fn settings(fake: &FakeTelegram) -> TelegramSettings {
    let mut settings = TelegramSettings::new(TOKEN, SECRET, fake.url());
    settings.shutdown_grace = Duration::from_millis(300);
    settings
}

async fn boot(store: Arc<dyn Store>, telegram: Option<Telegram>) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut config = maktab::config::Config::default();
    // A stop waits this long for sends Telegram holds (the tests' stops allow 10 s).
    config.notices.drain_seconds = 1;
    let app = App::new(store, &config).unwrap().with_telegram(telegram);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(listener, None, app, async {
        let _ = stopped.await;
    }));
    Running {
        address,
        stop,
        server,
    }
}

impl TestBot {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut TelegramSettings)) -> Self {
        let db = TestDb::with_roll().await;
        let fake = FakeTelegram::start().await;
        let mut settings = settings(&fake);
        adjust(&mut settings);
        let telegram = Telegram::new(settings.clone()).unwrap();
        let running = boot(Arc::clone(&db.store), Some(telegram)).await;
        Self {
            db,
            fake,
            settings,
            running: Some(running),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self) -> String {
        let address = self.running.as_ref().unwrap().address;
        format!("http://{address}/webhooks/telegram")
    }

    /// Posts an update as Telegram does; returns the status code.
    async fn post(&self, update: &Value) -> u16 {
        self.post_raw(Some(SECRET), serde_json::to_vec(update).unwrap())
            .await
    }

    async fn post_raw(&self, secret: Option<&str>, body: Vec<u8>) -> u16 {
        let mut request = self
            .http
            .post(self.url())
            .header("content-type", "application/json")
            .body(body);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// Stops the server the way SIGTERM does.
    async fn stop(&mut self) {
        let running = self.running.take().unwrap();
        running.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), running.server)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }

    /// A new process on the same database file.
    async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Boots again after [`TestBot::stop`], on the same database file.
    async fn start_again(&mut self) {
        let store = self.db.reopen().await;
        let telegram = Telegram::new(self.settings.clone()).unwrap();
        self.running = Some(boot(store, Some(telegram)).await);
    }

    /// Sends `/help` from `chat` and waits for its answer: every update of that chat posted
    /// before it (same worker lane, handled in order) is then finished.
    async fn settle(&self, update_id: u32, chat: i64) -> Call {
        assert_eq!(self.post(&text(update_id, chat, "fr", "/help")).await, 200);
        self.fake
            .wait_for_message(chat, |call| call.text().starts_with("Pour savoir"))
            .await
    }
}

// ---- Lookups ----

#[tokio::test(flavor = "multi_thread")]
async fn a_lookup_in_arabic_ends_with_the_centre_as_text_and_as_a_map_pin() {
    let bot = TestBot::start().await;
    let update = text(
        1,
        AMINA,
        "ar",
        &format!("رقمي {NIN_MIXED} مولود في {BIRTH_MIXED}"),
    );
    assert_eq!(bot.post(&update).await, 200);
    let venue = bot.fake.wait_for("sendVenue", 1).await.remove(0);
    let answer = bot.fake.calls_to("sendMessage").remove(0);
    assert_eq!(answer.chat_id(), Some(AMINA));
    assert!(
        answer.text().starts_with("مركزك: مدرسة الأمير عبد القادر"),
        "{}",
        answer.text()
    );
    assert!(answer.text().contains("المكتب رقم 1"), "{}", answer.text());
    assert!(answer.at <= venue.at, "text first, then the pin");
    assert_eq!(venue.chat_id(), Some(AMINA));
    assert_eq!(venue.params["title"], "مدرسة الأمير عبد القادر");
    assert_eq!(venue.params["address"], "12 شارع الاستقلال");
    assert_eq!(venue.params["latitude"], 36.7762);
    assert_eq!(venue.params["longitude"], 3.0585);
    // The token goes in the path, as the real Bot API wants it.
    assert_eq!(venue.token, TOKEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lookup_in_french_ends_with_the_centre_as_text_and_as_a_map_pin() {
    let bot = TestBot::start().await;
    let update = text(
        1,
        AMINA,
        "fr",
        &format!("mon NIN est {NIN_WOMEN}, née le {BIRTH_WOMEN}"),
    );
    assert_eq!(bot.post(&update).await, 200);
    let venue = bot.fake.wait_for("sendVenue", 1).await.remove(0);
    let answer = bot.fake.calls_to("sendMessage").remove(0);
    assert!(
        answer.text().starts_with("Centre : Ecole Emir Abdelkader"),
        "{}",
        answer.text()
    );
    assert!(
        answer.text().contains("Bureau 2 (femmes)"),
        "{}",
        answer.text()
    );
    assert_eq!(venue.params["title"], "Ecole Emir Abdelkader");
    assert_eq!(venue.params["address"], "12 Rue de l'Indépendance");
}

#[tokio::test(flavor = "multi_thread")]
async fn digits_only_are_answered_in_the_language_of_the_telegram_client() {
    let bot = TestBot::start().await;
    // No letters to detect a language from: the client's language_code decides.
    assert_eq!(bot.post(&text(1, AMINA, "fr-FR", NIN_NO_COORDS)).await, 200);
    let ask = bot.fake.wait_for("sendMessage", 1).await.remove(0);
    assert!(
        ask.text().starts_with("Merci. Envoyez maintenant"),
        "{}",
        ask.text()
    );
    assert_eq!(
        bot.post(&text(2, AMINA, "fr-FR", BIRTH_NO_COORDS)).await,
        200
    );
    let found = bot.fake.wait_for("sendMessage", 2).await.remove(1);
    assert!(
        found.text().starts_with("Centre : CEM Larbi Ben M'hidi"),
        "{}",
        found.text()
    );
    // That centre has no coordinates: no pin, and no venue call at all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(bot.fake.calls_to("sendVenue").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_message_is_read_again() {
    let bot = TestBot::start().await;
    assert_eq!(bot.post(&text(1, AMINA, "fr", "15/03/199")).await, 200);
    bot.fake.wait_for("sendMessage", 1).await;
    let corrected = edited(2, AMINA, "fr", &format!("{NIN_MIXED} {BIRTH_MIXED}"));
    assert_eq!(bot.post(&corrected).await, 200);
    let found = bot.fake.wait_for("sendMessage", 2).await.remove(1);
    assert!(
        found.text().starts_with("Centre : Ecole Emir Abdelkader"),
        "{}",
        found.text()
    );
    bot.fake.wait_for("sendVenue", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_between_the_nin_and_the_birth_date_still_answers() {
    let mut bot = TestBot::start().await;
    assert_eq!(bot.post(&text(1, AMINA, "ar", NIN_MIXED)).await, 200);
    let ask = bot.fake.wait_for("sendMessage", 1).await.remove(0);
    assert!(
        ask.text().starts_with("شكرا. أرسل الآن تاريخ ميلادك"),
        "{}",
        ask.text()
    );
    bot.restart().await;
    assert_eq!(bot.post(&text(2, AMINA, "ar", BIRTH_MIXED)).await, 200);
    let found = bot.fake.wait_for("sendMessage", 2).await.remove(1);
    assert!(
        found.text().starts_with("مركزك: مدرسة الأمير عبد القادر"),
        "{}",
        found.text()
    );
    bot.fake.wait_for("sendVenue", 1).await;
}

// ---- Buttons ----

#[tokio::test(flavor = "multi_thread")]
async fn start_greets_in_the_client_language_and_the_buttons_switch_language() {
    let bot = TestBot::start().await;
    assert_eq!(bot.post(&text(1, AMINA, "fr", "/start")).await, 200);
    let greeting = bot.fake.wait_for("sendMessage", 1).await.remove(0);
    assert!(
        greeting.text().starts_with("Bonjour !"),
        "{}",
        greeting.text()
    );
    assert_eq!(
        greeting.buttons(),
        vec![
            ("العربية".to_owned(), "lang:ar".to_owned()),
            ("Français".to_owned(), "lang:fr".to_owned())
        ]
    );
    assert_eq!(bot.post(&text(2, YACINE, "ar", "/start")).await, 200);
    let arabic = bot.fake.wait_for_message(YACINE, |_| true).await;
    assert!(arabic.text().starts_with("مرحبا!"), "{}", arabic.text());

    // Amina presses العربية: confirmed in Arabic, and the choice sticks over her French client.
    assert_eq!(
        bot.post(&press(3, AMINA, "fr", &greeting, "lang:ar")).await,
        200
    );
    let answered = bot.fake.wait_for("answerCallbackQuery", 1).await.remove(0);
    assert_eq!(answered.params["callback_query_id"], "4382931947");
    let confirmed = bot
        .fake
        .wait_for_message(AMINA, |call| call.text() == "سنجيبك بالعربية من الآن.")
        .await;
    assert!(confirmed.buttons().is_empty());
    let state = bot
        .db
        .store
        .sender_state(Channel::Telegram, &AMINA.to_string(), START)
        .await
        .unwrap();
    assert_eq!(
        (state.locale, state.locale_explicit),
        (Some(Locale::Ar), true)
    );
    assert_eq!(bot.post(&text(4, AMINA, "fr", NIN_MIXED)).await, 200);
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("شكرا. أرسل الآن"))
        .await;
    // /start again greets in her chosen language.
    assert_eq!(bot.post(&text(5, AMINA, "fr", "/start")).await, 200);
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("مرحبا!"))
        .await;
    // /language offers the buttons again.
    assert_eq!(bot.post(&text(6, AMINA, "fr", "/language")).await, 200);
    let menu = bot
        .fake
        .wait_for_message(AMINA, |call| {
            call.text().contains("Choisissez votre langue")
        })
        .await;
    assert_eq!(menu.callback_data(), vec!["lang:ar", "lang:fr"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_notify_me_button_subscribes_the_chat_to_that_voter_without_the_nin_in_the_button() {
    let bot = TestBot::start().await;
    let lookup = text(1, AMINA, "fr", &format!("{NIN_MIXED} {BIRTH_MIXED}"));
    assert_eq!(bot.post(&lookup).await, 200);
    let answer = bot.fake.wait_for("sendMessage", 1).await.remove(0);
    let buttons = answer.buttons();
    assert_eq!(buttons.len(), 1, "{buttons:?}");
    let (label, data) = &buttons[0];
    assert_eq!(label, "M'avertir si mon bureau change");
    assert!(data.starts_with("sub:") && data.len() <= 64, "{data}");
    assert!(
        !data.contains(NIN_MIXED) && !data.contains(&NIN_MIXED[10..]),
        "{data}"
    );
    let store = &bot.db.store;
    let chat = AMINA.to_string();
    assert!(
        store
            .subscriptions(Channel::Telegram, &chat)
            .await
            .unwrap()
            .is_empty(),
        "Telegram asks first, unlike SMS"
    );

    assert_eq!(bot.post(&press(2, AMINA, "fr", &answer, data)).await, 200);
    bot.fake
        .wait_for_message(AMINA, |call| {
            call.text().starts_with("Nous vous avertirons ici")
        })
        .await;
    assert_eq!(bot.fake.calls_to("answerCallbackQuery").len(), 1);
    // The pressed button goes from under the message.
    let edits = bot.fake.calls_to("editMessageReplyMarkup");
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].params["chat_id"], AMINA);
    assert_eq!(edits[0].params["message_id"], 1000);
    assert!(
        edits[0].params.get("reply_markup").is_none(),
        "{:?}",
        edits[0].params
    );
    let subscribed = store.subscriptions(Channel::Telegram, &chat).await.unwrap();
    assert_eq!(
        subscribed
            .iter()
            .map(|nin| nin.as_str())
            .collect::<Vec<_>>(),
        vec![NIN_MIXED]
    );

    // The same button pressed in another chat does nothing for that chat.
    assert_eq!(bot.post(&press(3, YACINE, "fr", &answer, data)).await, 200);
    bot.fake.wait_for("answerCallbackQuery", 2).await;
    let toast = bot.fake.calls_to("answerCallbackQuery").remove(1);
    assert_eq!(
        toast.params["text"],
        "Ce bouton a expiré. Refaites la recherche de votre bureau."
    );
    assert!(
        store
            .subscriptions(Channel::Telegram, &YACINE.to_string())
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- Missing from the roll ----

#[tokio::test(flavor = "multi_thread")]
async fn the_report_button_under_not_found_starts_the_report_in_the_chats_language() {
    let bot = TestBot::start().await;
    let lookup = text(1, AMINA, "ar", &format!("{NIN_UNKNOWN} {BIRTH_MIXED}"));
    assert_eq!(bot.post(&lookup).await, 200);
    let answer = bot.fake.wait_for("sendMessage", 1).await.remove(0);
    assert!(answer.text().contains("تبليغ"), "{}", answer.text());
    let buttons = answer.buttons();
    assert_eq!(
        buttons,
        vec![
            ("الإبلاغ عن عدم تسجيلي".to_owned(), "report:".to_owned()),
            // The duty desk's "talk to a person" (issue 16).
            ("التحدث مع موظف".to_owned(), "agent:".to_owned()),
        ]
    );

    assert_eq!(
        bot.post(&press(2, AMINA, "ar", &answer, "report:")).await,
        200
    );
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("في أي بلدية تسكن"))
        .await;
    for (update, reply) in [(3, "الجزائر الوسطى"), (4, "أمينة بن علي"), (5, "نعم")]
    {
        assert_eq!(bot.post(&text(update, AMINA, "ar", reply)).await, 200);
    }
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("سجلنا بلاغك"))
        .await;
    let reports = bot
        .db
        .store
        .reports(&maktab::store::ReportQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].nin.as_str(), NIN_UNKNOWN);
    assert_eq!(reports[0].commune.as_str(), "1601");
    assert_eq!(bot.fake.calls_to("answerCallbackQuery").len(), 1);
    assert_eq!(bot.fake.calls_to("editMessageReplyMarkup").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clerk_enrols_and_files_through_the_webhook() {
    let bot = TestBot::start().await;
    let invitation = office(&bot.db.store)
        .invite_clerk(
            &maktab::office::Principal::command_line(),
            &maktab::domain::CommuneCode::parse("1601").unwrap(),
            None,
        )
        .await
        .unwrap();
    let steps = [
        format!("/clerk@{BOT_USERNAME} {}", invitation.code),
        "/report".to_owned(),
        format!("{NIN_UNKNOWN} {BIRTH_MIXED}"),
        "Haddad Karim".to_owned(),
        "0".to_owned(),
        "oui".to_owned(),
    ];
    for (i, step) in steps.iter().enumerate() {
        let update = u32::try_from(i).unwrap() + 1;
        assert_eq!(bot.post(&text(update, YACINE, "fr", step)).await, 200);
    }
    bot.fake
        .wait_for_message(YACINE, |call| call.text().starts_with("Signalement No"))
        .await;
    let texts: Vec<String> = bot
        .fake
        .calls_to("sendMessage")
        .iter()
        .map(|call| call.text().to_owned())
        .collect();
    assert!(
        texts[0].starts_with("Vous voici agent de la commune Alger Centre"),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("sans téléphone")),
        "{texts:?}"
    );
    let clerk = bot
        .db
        .store
        .clerk_by_chat(&YACINE.to_string())
        .await
        .unwrap()
        .unwrap();
    let reports = bot
        .db
        .store
        .reports(&maktab::store::ReportQuery {
            clerk_id: Some(clerk.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].sources[0].channel, None, "no phone recorded");
}

// ---- Notices end ----

#[tokio::test(flavor = "multi_thread")]
async fn start_greets_in_the_language_the_chat_writes_not_the_clients() {
    let bot = TestBot::start().await;
    // Amina's client is Arabic, but she writes French.
    assert_eq!(
        bot.post(&text(1, AMINA, "ar", &format!("mon NIN est {NIN_MIXED}")))
            .await,
        200
    );
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("Merci. Envoyez"))
        .await;
    assert_eq!(bot.post(&text(2, AMINA, "ar", "/start")).await, 200);
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("Bonjour !"))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn start_after_stop_resumes_notices() {
    let bot = TestBot::start().await;
    assert_eq!(bot.post(&text(1, AMINA, "ar", "/stop")).await, 200);
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("لن تصلك"))
        .await;
    assert_eq!(bot.post(&text(2, AMINA, "ar", "/start")).await, 200);
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("ستصلك من جديد"))
        .await;
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("مرحبا!"))
        .await;
    let state = bot
        .db
        .store
        .sender_state(Channel::Telegram, &AMINA.to_string(), START)
        .await
        .unwrap();
    assert!(!state.notices_opt_out);
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_ends_notices_and_a_blocked_bot_is_sent_nothing_more() {
    let bot = TestBot::start().await;
    assert_eq!(bot.post(&text(1, AMINA, "ar", "/stop")).await, 200);
    let stopped = bot.fake.wait_for("sendMessage", 1).await.remove(0);
    assert_eq!(stopped.text(), "لن تصلك إشعارات بعد الآن. للعودة أرسل ابدأ");
    let state = bot
        .db
        .store
        .sender_state(Channel::Telegram, &AMINA.to_string(), START)
        .await
        .unwrap();
    assert!(state.notices_opt_out);

    // Yacine blocks the bot: nothing reaches him any more, notices included.
    assert_eq!(
        bot.post(&my_chat_member(2, YACINE, "member", "kicked"))
            .await,
        200
    );
    let telegram = Telegram::new(bot.settings.clone()).unwrap();
    let notices = telegram.sender(Arc::clone(&bot.db.store));
    let mut blocked = false;
    for _ in 0..200 {
        blocked = bot.db.store.chat_blocked(YACINE).await.unwrap();
        if blocked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(blocked, "my_chat_member kicked marks the chat unreachable");
    let before = bot.fake.calls().len();
    assert_eq!(
        notices
            .send_text(YACINE, "Votre bureau a changé")
            .await
            .unwrap(),
        ChatDelivery::Unreachable
    );
    assert_eq!(bot.fake.calls().len(), before, "no request was made");

    // He unblocks it: messages go through again.
    assert_eq!(
        bot.post(&my_chat_member(3, YACINE, "kicked", "member"))
            .await,
        200
    );
    for _ in 0..200 {
        if !bot.db.store.chat_blocked(YACINE).await.unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        notices
            .send_text(YACINE, "Votre bureau a changé")
            .await
            .unwrap(),
        ChatDelivery::Sent
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_when_sending_marks_the_chat_unreachable_until_it_writes_again() {
    let bot = TestBot::start().await;
    bot.fake.block_chat(AMINA);
    assert_eq!(
        bot.post(&text(1, AMINA, "fr", &format!("{NIN_MIXED} {BIRTH_MIXED}")))
            .await,
        200
    );
    bot.fake.wait_for("sendMessage", 1).await;
    let mut blocked = false;
    for _ in 0..200 {
        blocked = bot.db.store.chat_blocked(AMINA).await.unwrap();
        if blocked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(blocked);
    // The text was refused, so the pin is not even tried, and no retry either.
    assert_eq!(bot.fake.calls_to("sendMessage").len(), 1);
    assert!(bot.fake.calls_to("sendVenue").is_empty());
    let telegram = Telegram::new(bot.settings.clone()).unwrap();
    let sender = telegram.sender(Arc::clone(&bot.db.store));
    assert_eq!(
        sender.send_text(AMINA, "notice").await.unwrap(),
        ChatDelivery::Unreachable
    );
    assert_eq!(bot.fake.calls_to("sendMessage").len(), 1);

    // She unblocks and writes: she is answered.
    bot.fake.unblock_chat(AMINA);
    bot.settle(2, AMINA).await;
    assert!(!bot.db.store.chat_blocked(AMINA).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_waited_out_for_retry_after_and_the_answer_still_arrives() {
    let bot = TestBot::start().await;
    bot.fake.rate_limit_next(1, 1);
    assert_eq!(bot.post(&text(1, AMINA, "fr", "/help")).await, 200);
    let attempts = bot.fake.wait_for("sendMessage", 2).await;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].text(), attempts[1].text());
    assert!(
        attempts[1].text().starts_with("Pour savoir"),
        "{}",
        attempts[1].text()
    );
    let waited = attempts[1].at - attempts[0].at;
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_to_one_chat_are_spaced_out_without_holding_up_other_chats() {
    let bot = TestBot::start().await;
    // Chat ids four apart: they would have shared a worker in a design of four lanes.
    let other = AMINA + 4;
    for update_id in 1..=4 {
        assert_eq!(bot.post(&text(update_id, AMINA, "fr", "/help")).await, 200);
    }
    assert_eq!(bot.post(&text(5, other, "fr", "/help")).await, 200);
    let replies = bot.fake.wait_for("sendMessage", 5).await;
    let to_amina: Vec<&Call> = replies
        .iter()
        .filter(|call| call.chat_id() == Some(AMINA))
        .collect();
    let to_other = replies
        .iter()
        .find(|call| call.chat_id() == Some(other))
        .unwrap();
    assert_eq!(to_amina.len(), 4);
    // Two at once (a text and its pin may go together), then about one a second.
    let spread = to_amina[3].at - to_amina[0].at;
    assert!(spread >= Duration::from_millis(1900), "{spread:?}");
    assert!(
        to_other.at < to_amina[2].at,
        "the other chat was answered without waiting for Amina's replies"
    );
}

// ---- Other update kinds ----

#[tokio::test(flavor = "multi_thread")]
async fn photos_stickers_voice_notes_and_locations_get_a_hint_in_the_users_language() {
    let bot = TestBot::start().await;
    for (i, content) in [photo(), sticker(), voice(), location()]
        .into_iter()
        .enumerate()
    {
        let (chat, language) = if i % 2 == 0 {
            (AMINA, "fr")
        } else {
            (YACINE, "ar")
        };
        let update = message(i as u32 + 1, chat, language, content);
        assert_eq!(bot.post(&update).await, 200, "{update}");
    }
    let hints = bot.fake.wait_for("sendMessage", 4).await;
    let to = |chat| -> Vec<String> {
        hints
            .iter()
            .filter(|call| call.chat_id() == Some(chat))
            .map(|call| call.text().to_owned())
            .collect()
    };
    assert_eq!(to(AMINA).len(), 2);
    assert!(
        to(AMINA)
            .iter()
            .all(|t| t.starts_with("Je ne lis que les messages écrits")),
        "{hints:?}"
    );
    assert_eq!(to(YACINE).len(), 2);
    assert!(
        to(YACINE)
            .iter()
            .all(|t| t.starts_with("أقرأ الرسائل المكتوبة فقط")),
        "{hints:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn in_groups_only_commands_addressed_to_the_bot_are_answered() {
    let bot = TestBot::start().await;
    for (update_id, said) in [
        (1, "/help".to_owned()),
        (2, format!("{NIN_MIXED} {BIRTH_MIXED}")),
        (3, "/help@SomeOtherBot".to_owned()),
        (4, "bonjour à tous".to_owned()),
    ] {
        assert_eq!(bot.post(&group_text(update_id, &said)).await, 200);
    }
    assert_eq!(
        bot.post(&group_text(5, &format!("/help@{BOT_USERNAME}")))
            .await,
        200
    );
    let hint = bot.fake.wait_for("sendMessage", 1).await.remove(0);
    assert_eq!(hint.chat_id(), Some(GROUP));
    assert!(
        hint.text()
            .starts_with("Pour savoir où voter, écrivez-moi en privé"),
        "{}",
        hint.text()
    );
    // Same chat, same lane, in order: the four before it were handled first, and ignored.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(bot.fake.calls_to("sendMessage").len(), 1);
    assert!(bot.fake.calls_to("sendVenue").is_empty());
    // The username was asked of Telegram once, since it was not configured.
    assert_eq!(bot.fake.calls_to("getMe").len(), 1);
}

// ---- The webhook's guarantees ----

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_wrong_secret_is_401_and_nothing_is_processed() {
    let bot = TestBot::start().await;
    let update = serde_json::to_vec(&text(1, AMINA, "fr", "/help")).unwrap();
    assert_eq!(bot.post_raw(None, update.clone()).await, 401);
    assert_eq!(
        bot.post_raw(Some("wh_secret-012345678"), update.clone())
            .await,
        401
    );
    assert_eq!(
        bot.post_raw(Some(&format!("{SECRET}0")), update.clone())
            .await,
        401
    );
    assert_eq!(bot.post_raw(Some(""), update.clone()).await, 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(bot.fake.calls().is_empty(), "{:?}", bot.fake.calls());
    // Nothing was recorded either: the same update_id, properly signed, is new.
    assert_eq!(bot.post_raw(Some(SECRET), update).await, 200);
    bot.fake.wait_for("sendMessage", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_unknown_kinds_and_oversized_bodies_never_get_a_5xx() {
    let bot = TestBot::start().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_message = format!(r#"{{"update_id":90,"message":{}}}"#, "[".repeat(50_000));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("not JSON", b"hello".to_vec(), 400),
        ("empty", Vec::new(), 400),
        ("an array", b"[]".to_vec(), 400),
        ("no update_id", b"{}".to_vec(), 400),
        (
            "a string update_id",
            br#"{"update_id":"seven"}"#.to_vec(),
            400,
        ),
        (
            "a negative update_id",
            br#"{"update_id":-1,"message":{}}"#.to_vec(),
            400,
        ),
        (
            "invalid UTF-8",
            b"{\"update_id\":5,\"message\":{\"text\":\"\xff\"}}".to_vec(),
            400,
        ),
        ("deep nesting", deep.into_bytes(), 400),
        ("deep nesting in a message", deep_message.into_bytes(), 400),
        ("an update of no kind", br#"{"update_id":77}"#.to_vec(), 200),
        (
            "an unknown kind",
            br#"{"update_id":78,"brand_new_kind":{"x":1}}"#.to_vec(),
            200,
        ),
        (
            "a message teloxide cannot read",
            br#"{"update_id":79,"message":{"nonsense":true}}"#.to_vec(),
            200,
        ),
        (
            "a kind the bot does not use",
            serde_json::to_vec(&json!({"update_id": 80, "channel_post": {
                "message_id": 3, "date": DATE, "text": "x",
                "chat": {"id": -1_009_876_543_210_i64, "title": "News", "type": "channel"}}}))
            .unwrap(),
            200,
        ),
    ];
    for (what, body, expected) in cases {
        let status = bot.post_raw(Some(SECRET), body).await;
        assert_eq!(status, expected, "{what}");
    }
    // More than a megabyte is refused from its Content-Length, before the body is read. Over a
    // raw socket, sending the headers only: a client still writing a body the server will
    // never read can see the connection reset before it reads the 413.
    let address = bot.running.as_ref().unwrap().address;
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "POST /webhooks/telegram HTTP/1.1\r\nHost: localhost\r\n\
             X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            2 << 20
        )
        .unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).unwrap();
        String::from_utf8_lossy(&head).into_owned()
    })
    .await
    .unwrap();
    assert_eq!(response, "HTTP/1.1 413");
    // Still healthy, and still answering.
    bot.settle(100, AMINA).await;
    assert_eq!(bot.fake.calls_to("sendMessage").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_update_is_answered_once() {
    let bot = TestBot::start().await;
    let update = text(1, AMINA, "fr", "/help");
    assert_eq!(bot.post(&update).await, 200);
    assert_eq!(bot.post(&update).await, 200);
    assert_eq!(bot.post(&update).await, 200);
    bot.fake.wait_for("sendMessage", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bot.fake.calls_to("sendMessage").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_answers_503_and_telegrams_retry_is_answered() {
    let bot = TestBot::start_with(|settings| settings.queue_capacity = 2).await;
    assert_eq!(bot.post(&text(1, AMINA, "fr", "/start")).await, 200);
    let greeting = bot.fake.wait_for("sendMessage", 1).await.remove(0);
    bot.fake.hold_sends();
    // Replies only go to the outbox; what a worker waits on is a button's acknowledgement.
    assert_eq!(
        bot.post(&press(2, AMINA, "fr", &greeting, "lang:ar")).await,
        200
    );
    bot.fake.wait_for("answerCallbackQuery", 1).await;
    assert_eq!(bot.post(&text(3, AMINA, "ar", "/help")).await, 200);
    let third = text(4, YACINE, "fr", "/help");
    assert_eq!(
        bot.post(&third).await,
        503,
        "two accepted and unfinished: full"
    );
    bot.fake.release_sends();
    // Telegram delivers the refused update again; this time there is room.
    let mut status = 0;
    for _ in 0..100 {
        status = bot.post(&third).await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200);
    bot.fake.wait_for_message(YACINE, |_| true).await;
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("لمعرفة مكتب تصويتك"))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_accepted_before_a_crash_are_answered_after_the_restart() {
    let mut bot = TestBot::start().await;
    assert_eq!(bot.post(&text(1, AMINA, "fr", "/start")).await, 200);
    let greeting = bot.fake.wait_for("sendMessage", 1).await.remove(0);
    bot.fake.hold_sends();
    // The worker is stuck on the button's acknowledgement...
    assert_eq!(
        bot.post(&press(2, AMINA, "fr", &greeting, "lang:ar")).await,
        200
    );
    bot.fake.wait_for("answerCallbackQuery", 1).await;
    // ...so this one, accepted (200), is held only by the inbox.
    assert_eq!(bot.post(&text(3, AMINA, "ar", "/help")).await, 200);
    // The process stops before Telegram answers; the grace period runs out.
    bot.stop().await;
    let pending = bot.db.store.pending_updates().await.unwrap();
    assert_eq!(
        pending.iter().map(|p| p.update_id).collect::<Vec<_>>(),
        vec![2, 3]
    );
    bot.fake.release_sends();
    bot.start_again().await;
    bot.fake
        .wait_for_message(AMINA, |call| call.text().starts_with("لمعرفة مكتب تصويتك"))
        .await;
    // Once handled, the inbox empties.
    let mut pending = Vec::new();
    for _ in 0..200 {
        pending = bot.db.store.pending_updates().await.unwrap();
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pending.is_empty(), "{pending:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_waiting_in_the_outbox_at_a_stop_are_sent_after_the_restart() {
    let mut bot = TestBot::start().await;
    // Telegram does not answer: every reply waits in the outbox, none is lost with the
    // process.
    bot.fake.hold_sends();
    let chats: Vec<i64> = (0..20).map(|n| 111_100_000 + n).collect();
    for (n, chat) in chats.iter().enumerate() {
        let update = text(
            10 + n as u32,
            *chat,
            "fr",
            &format!("{NIN_MIXED} {BIRTH_MIXED}"),
        );
        assert_eq!(bot.post(&update).await, 200);
    }
    // Each update is finished once its reply is in the outbox: the inbox empties while
    // Telegram still holds every send.
    let mut pending = Vec::new();
    for _ in 0..500 {
        pending = bot.db.store.pending_updates().await.unwrap();
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pending.is_empty(), "{pending:?}");
    bot.stop().await;
    let waiting = bot.db.store.outbox_waiting().await.unwrap();
    assert!(
        !waiting.is_empty(),
        "the replies are still in the outbox after the stop"
    );
    bot.fake.release_sends();
    bot.start_again().await;
    for chat in &chats {
        let found = bot
            .fake
            .wait_for_message(*chat, |call| {
                call.text().starts_with("Centre : Ecole Emir Abdelkader")
            })
            .await;
        assert!(
            found
                .buttons()
                .iter()
                .any(|(_, data)| data.starts_with("sub:")),
            "the stored reply keeps its button: {:?}",
            found.buttons()
        );
    }
    // Each map pin follows its text.
    let venues = bot.fake.wait_for("sendVenue", chats.len()).await;
    for chat in &chats {
        assert!(
            venues.iter().any(|call| call.chat_id() == Some(*chat)),
            "the map pin of {chat} went with its reply"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_another_instance_holds_are_left_to_it_until_its_lease_runs_out() {
    let mut bot =
        TestBot::start_with(|settings| settings.inbox_lease = Duration::from_secs(1)).await;
    bot.stop().await;
    let now = maktab::domain::now();
    let help = |id, chat| serde_json::to_string(&text(id, chat, "fr", "/help")).unwrap();
    let store = Arc::clone(&bot.db.store);
    // A third private chat.
    let karim = 111_000_003;
    // A live instance is working on this one and keeps renewing its lease.
    store
        .accept_update(1, Some(AMINA), &help(1, AMINA), now, "live:1:a", 3600)
        .await
        .unwrap();
    // This one's instance died a minute and a half ago: its lease ran out.
    store
        .accept_update(2, Some(YACINE), &help(2, YACINE), now - 90, "dead:2:b", 30)
        .await
        .unwrap();
    // This one's instance dies now: its lease runs out in 2 seconds.
    store
        .accept_update(3, Some(karim), &help(3, karim), now, "dying:3:c", 2)
        .await
        .unwrap();
    bot.start_again().await;
    bot.fake.wait_for_message(YACINE, |_| true).await;
    assert!(
        bot.fake
            .calls_to("sendMessage")
            .iter()
            .all(|call| call.chat_id() == Some(YACINE)),
        "the leased updates wait"
    );
    bot.fake.wait_for_message(karim, |_| true).await;
    let mut pending = Vec::new();
    for _ in 0..200 {
        pending = store.pending_updates().await.unwrap();
        if pending.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        pending.iter().map(|p| p.update_id).collect::<Vec<_>>(),
        [1],
        "only the live instance's update is left, to it"
    );
    assert!(
        bot.fake
            .calls_to("sendMessage")
            .iter()
            .all(|call| call.chat_id() != Some(AMINA))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_telegram_configuration_the_webhook_is_404() {
    let db = TestDb::with_roll().await;
    let running = boot(Arc::clone(&db.store), None).await;
    let status = reqwest::Client::new()
        .post(format!("http://{}/webhooks/telegram", running.address))
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .body(serde_json::to_vec(&text(1, AMINA, "fr", "/help")).unwrap())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 404);
    running.stop.send(()).unwrap();
    running.server.await.unwrap().unwrap();
}

// ---- Operator commands ----

fn maktab(fake: &FakeTelegram) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maktab"));
    command
        .env("MAKTAB_DATABASE_URL", "sqlite::memory:")
        .env("MAKTAB_TELEGRAM_BOT_TOKEN", TOKEN)
        .env("MAKTAB_TELEGRAM_WEBHOOK_SECRET", SECRET)
        .env("MAKTAB_TELEGRAM_API_URL", fake.url().as_str())
        .env_remove("MAKTAB_TELEGRAM_PUBLIC_URL")
        .env_remove("MAKTAB_CONFIG")
        .env_remove("MAKTAB_LOG")
        .env_remove("RUST_LOG");
    command
}

async fn run(mut command: Command) -> (bool, String, String) {
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn telegram_setup_registers_the_webhook_and_the_command_menu_in_both_languages() {
    let fake = FakeTelegram::start().await;
    let mut command = maktab(&fake);
    command
        .args(["telegram", "setup"])
        .env("MAKTAB_TELEGRAM_PUBLIC_URL", "https://maktab.example.dz/")
        .env("MAKTAB_TELEGRAM_MAX_CONNECTIONS", "20");
    let (ok, out, err) = run(command).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("webhook set: https://maktab.example.dz/webhooks/telegram"),
        "{out}"
    );
    let webhook = fake.calls_to("setWebhook").remove(0);
    assert_eq!(webhook.token, TOKEN);
    assert_eq!(
        webhook.params["url"],
        "https://maktab.example.dz/webhooks/telegram"
    );
    assert_eq!(webhook.params["secret_token"], SECRET);
    assert_eq!(webhook.params["max_connections"], 20);
    assert_eq!(
        webhook.params["allowed_updates"],
        json!([
            "message",
            "edited_message",
            "callback_query",
            "my_chat_member"
        ])
    );
    let menus = fake.calls_to("setMyCommands");
    let languages: Vec<&Value> = menus.iter().map(|c| &c.params["language_code"]).collect();
    assert_eq!(languages, vec![&Value::Null, &json!("ar"), &json!("fr")]);
    let french = &menus[2].params["commands"];
    assert_eq!(
        french[0],
        json!({"command": "start", "description": "Accueil et choix de la langue"})
    );
    assert_eq!(
        menus[1].params["commands"][3]["description"],
        "إيقاف الإشعارات"
    );

    let mut command = maktab(&fake);
    command.args(["telegram", "info"]);
    let (ok, out, err) = run(command).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("url: https://maktab.example.dz/webhooks/telegram"),
        "{out}"
    );
    assert!(out.contains("pending updates: 0"), "{out}");
    assert!(
        out.contains("allowed updates: message, edited_message, callback_query, my_chat_member"),
        "{out}"
    );
    assert_eq!(fake.calls_to("getWebhookInfo").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn telegram_commands_explain_what_is_missing_and_have_help() {
    let fake = FakeTelegram::start().await;
    let mut command = maktab(&fake);
    command.args(["telegram", "setup"]);
    let (ok, _, err) = run(command).await;
    assert!(!ok);
    assert!(err.contains("MAKTAB_TELEGRAM_PUBLIC_URL"), "{err}");
    let mut command = maktab(&fake);
    command
        .args(["telegram", "info"])
        .env_remove("MAKTAB_TELEGRAM_BOT_TOKEN")
        .env_remove("MAKTAB_TELEGRAM_WEBHOOK_SECRET");
    let (ok, _, err) = run(command).await;
    assert!(!ok);
    assert!(err.contains("telegram is not configured"), "{err}");
    assert!(fake.calls().is_empty());
    for args in [
        vec!["telegram", "--help"],
        vec!["telegram", "setup", "--help"],
        vec!["telegram", "info", "--help"],
    ] {
        let mut command = maktab(&fake);
        command.args(&args);
        let (ok, out, _) = run(command).await;
        assert!(
            ok && out.contains("Usage: maktab telegram"),
            "{args:?}: {out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn maktab_serve_runs_the_bot_from_its_environment_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = maktab(&fake);
    command
        .arg("serve")
        .env(
            "MAKTAB_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("bot.db").display()),
        )
        .env("MAKTAB_LISTEN", "127.0.0.1:0")
        .env("MAKTAB_LOG", "info")
        .env("MAKTAB_TELEGRAM_BOT_USERNAME", "@MaktabTestBot")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let pid = child.id().to_string();
    // A watchdog, so that a server that never logs its address fails instead of hanging.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (address, mut stderr) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap() > 0 {
            if let Some(address) = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("address="))
                .and_then(|a| a.parse::<SocketAddr>().ok())
            {
                return (address, stderr);
            }
            line.clear();
        }
        panic!("the server logs its address");
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let post = |update: Value| {
        client
            .post(format!("http://{address}/webhooks/telegram"))
            .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
            .json(&update)
            .send()
    };
    assert_eq!(
        post(text(1, AMINA, "ar", "/start")).await.unwrap().status(),
        200
    );
    let greeting = fake.wait_for("sendMessage", 1).await.remove(0);
    assert!(greeting.text().starts_with("مرحبا!"), "{}", greeting.text());
    assert_eq!(greeting.token, TOKEN);
    // The configured username answers group commands without asking getMe.
    let status = post(group_text(2, "/help@maktabtestbot"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    fake.wait_for_message(GROUP, |_| true).await;
    assert!(fake.calls_to("getMe").is_empty());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (exit, rest) = tokio::task::spawn_blocking(move || {
        let exit = child.wait().unwrap();
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        (exit, rest)
    })
    .await
    .unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}\n{rest}");
    assert!(!rest.contains(TOKEN) && !rest.contains(SECRET), "{rest}");
    assert!(
        !rest.contains(&AMINA.to_string()),
        "chat ids are masked: {rest}"
    );
}
