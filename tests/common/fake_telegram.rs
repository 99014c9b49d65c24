//! A fake Telegram Bot API on loopback, speaking the real wire format: requests arrive at
//! `/bot{token}/{method}` as JSON (or multipart form data, as teloxide sends `setWebhook`), and
//! answers are `{"ok":true,"result":...}` or `{"ok":false,"error_code":...,"description":...}`.
//! Every call is recorded. Switches make it answer 429 with `retry_after`, 403 "bot was
//! blocked by the user" for a chat, or hold sends until released.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

/// The bot's username as `getMe` reports it.
pub const BOT_USERNAME: &str = "MaktabTestBot";
pub const BOT_ID: i64 = 7_000_000_001;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The token from the path (`/bot{token}/...`).
    pub token: String,
    pub params: Value,
    pub at: Instant,
}

impl Call {
    pub fn chat_id(&self) -> Option<i64> {
        self.params["chat_id"].as_i64()
    }

    pub fn text(&self) -> &str {
        self.params["text"].as_str().unwrap_or_default()
    }

    /// The `callback_data` of every inline button, row by row.
    pub fn callback_data(&self) -> Vec<String> {
        self.buttons().into_iter().map(|(_, data)| data).collect()
    }

    /// (label, callback_data) of every inline button.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.params["reply_markup"]["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|button| {
                (
                    button["text"].as_str().unwrap_or_default().to_owned(),
                    button["callback_data"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }
}

#[derive(Default)]
struct Switches {
    /// The next this-many sends answer 429 with this `retry_after`.
    rate_limited: u32,
    retry_after: u32,
    blocked: HashSet<i64>,
}

struct Fake {
    calls: Mutex<Vec<Call>>,
    switches: Mutex<Switches>,
    hold: watch::Sender<bool>,
    webhook: Mutex<Map<String, Value>>,
    next_message_id: AtomicI64,
}

/// The running fake server.
pub struct FakeTelegram {
    pub address: SocketAddr,
    fake: Arc<Fake>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let fake = Arc::new(Fake {
            calls: Mutex::new(Vec::new()),
            switches: Mutex::new(Switches::default()),
            hold: watch::channel(false).0,
            webhook: Mutex::new(Map::new()),
            next_message_id: AtomicI64::new(1000),
        });
        let router = Router::new()
            .route("/{bot}/{method}", post(method))
            .with_state(Arc::clone(&fake));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            address,
            fake,
            server,
        }
    }

    /// The base URL to give teloxide (`Bot::set_api_url`).
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.address)).unwrap()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.fake.calls.lock().unwrap().clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.method == method)
            .collect()
    }

    /// Waits (at most 15 s) until `method` was called at least `count` times.
    pub async fn wait_for(&self, method: &str, count: usize) -> Vec<Call> {
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            let calls = self.calls_to(method);
            if calls.len() >= count {
                return calls;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT_LIMIT:?} for {count} {method} call(s); got {calls:#?}\nall calls: {:#?}",
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for a message to `chat` satisfying `accept`, and returns it.
    pub async fn wait_for_message(&self, chat: i64, accept: impl Fn(&Call) -> bool) -> Call {
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            if let Some(call) = self
                .calls_to("sendMessage")
                .into_iter()
                .find(|call| call.chat_id() == Some(chat) && accept(call))
            {
                return call;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT_LIMIT:?} for a message to {chat}; calls: {:#?}",
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Messages and venues sent to `chat`, in order.
    pub fn sent_to(&self, chat: i64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.chat_id() == Some(chat))
            .collect()
    }

    /// The next `times` sends answer 429 Too Many Requests with `retry_after` seconds.
    pub fn rate_limit_next(&self, times: u32, retry_after: u32) {
        let mut switches = self.fake.switches.lock().unwrap();
        switches.rate_limited = times;
        switches.retry_after = retry_after;
    }

    /// Sends to `chat` answer 403: the user blocked the bot.
    pub fn block_chat(&self, chat: i64) {
        self.fake.switches.lock().unwrap().blocked.insert(chat);
    }

    pub fn unblock_chat(&self, chat: i64) {
        self.fake.switches.lock().unwrap().blocked.remove(&chat);
    }

    /// Sends and button acknowledgements are recorded but not answered until
    /// [`FakeTelegram::release_sends`].
    pub fn hold_sends(&self) {
        self.fake.hold.send_replace(true);
    }

    pub fn release_sends(&self) {
        self.fake.hold.send_replace(false);
    }
}

/// How long a test waits for an expected call before failing. Generous: replies to one chat
/// are paced a second apart, and a loaded machine (the whole suite at once) slows them further.
const WAIT_LIMIT: Duration = Duration::from_secs(60);

const METHODS: &[&str] = &[
    "getMe",
    "sendMessage",
    "sendVenue",
    "answerCallbackQuery",
    "editMessageReplyMarkup",
    "setWebhook",
    "setMyCommands",
    "getWebhookInfo",
];

fn canonical(method: &str) -> String {
    METHODS
        .iter()
        .find(|known| known.eq_ignore_ascii_case(method))
        .map_or_else(|| method.to_owned(), |known| (*known).to_owned())
}

fn ok(result: Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

fn error(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({
        "ok": false,
        "error_code": status.as_u16(),
        "description": description,
    });
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    (status, axum::Json(body)).into_response()
}

async fn method(
    State(fake): State<Arc<Fake>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(token) = bot.strip_prefix("bot") else {
        return error(StatusCode::NOT_FOUND, "Not Found", None);
    };
    // Method names are case-insensitive in the Bot API, and teloxide sends `SendMessage`:
    // record them as the documentation spells them.
    let method = canonical(&method);
    let params = parse_params(&headers, &body);
    fake.calls.lock().unwrap().push(Call {
        method: method.clone(),
        token: token.to_owned(),
        params: params.clone(),
        at: Instant::now(),
    });
    match method.as_str() {
        "getMe" => ok(json!({
            "id": BOT_ID,
            "is_bot": true,
            "first_name": "Maktab",
            "username": BOT_USERNAME,
            "can_join_groups": true,
            "can_read_all_group_messages": false,
            "supports_inline_queries": false,
            "can_connect_to_business": false,
            "has_main_web_app": false,
        })),
        "sendMessage" | "sendVenue" => send(&fake, &method, &params).await,
        "answerCallbackQuery" => {
            // Held like sends: the one call a worker still waits on while handling an update.
            let mut held = fake.hold.subscribe();
            let _ = held.wait_for(|hold| !*hold).await;
            ok(json!(true))
        }
        "setMyCommands" => ok(json!(true)),
        // The edited message, as Telegram answers it (its text is not kept here).
        "editMessageReplyMarkup" => ok(json!({
            "message_id": params["message_id"],
            "from": { "id": BOT_ID, "is_bot": true, "first_name": "Maktab", "username": BOT_USERNAME },
            "chat": { "id": params["chat_id"], "first_name": "Voter", "type": "private" },
            "date": 1_793_700_000,
            "text": "…",
        })),
        "setWebhook" => {
            *fake.webhook.lock().unwrap() = params.as_object().cloned().unwrap_or_default();
            ok(json!(true))
        }
        "getWebhookInfo" => {
            let webhook = fake.webhook.lock().unwrap().clone();
            let mut info = json!({
                "url": webhook.get("url").cloned().unwrap_or(json!("")),
                "has_custom_certificate": false,
                "pending_update_count": 0,
            });
            for field in ["max_connections", "allowed_updates"] {
                if let Some(value) = webhook.get(field) {
                    info[field] = value.clone();
                }
            }
            ok(info)
        }
        _ => error(StatusCode::NOT_FOUND, "Not Found: method not found", None),
    }
}

async fn send(fake: &Fake, method: &str, params: &Value) -> Response {
    let chat = params["chat_id"].as_i64().unwrap_or_default();
    {
        let mut switches = fake.switches.lock().unwrap();
        if switches.blocked.contains(&chat) {
            return error(
                StatusCode::FORBIDDEN,
                "Forbidden: bot was blocked by the user",
                None,
            );
        }
        if switches.rate_limited > 0 {
            switches.rate_limited -= 1;
            let seconds = switches.retry_after;
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too Many Requests: retry after {seconds}"),
                Some(json!({ "retry_after": seconds })),
            );
        }
    }
    let mut held = fake.hold.subscribe();
    let _ = held.wait_for(|hold| !*hold).await;
    let chat_json = if chat < 0 {
        json!({ "id": chat, "title": "Quartier", "type": "supergroup" })
    } else {
        json!({ "id": chat, "first_name": "Voter", "type": "private" })
    };
    let mut message = json!({
        "message_id": fake.next_message_id.fetch_add(1, Ordering::SeqCst),
        "from": { "id": BOT_ID, "is_bot": true, "first_name": "Maktab", "username": BOT_USERNAME },
        "chat": chat_json,
        "date": 1_793_700_000,
    });
    if method == "sendVenue" {
        let location = json!({ "latitude": params["latitude"], "longitude": params["longitude"] });
        message["venue"] = json!({
            "location": location,
            "title": params["title"],
            "address": params["address"],
        });
        message["location"] = location;
    } else {
        message["text"] = params["text"].clone();
        if let Some(markup) = params.get("reply_markup") {
            message["reply_markup"] = markup.clone();
        }
    }
    ok(message)
}

/// JSON bodies as they are; multipart form fields as an object, each value read as JSON when
/// it is JSON (numbers, arrays) and as a string otherwise.
fn parse_params(headers: &HeaderMap, body: &[u8]) -> Value {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(boundary) = content_type
        .split(';')
        .find_map(|part| part.trim().strip_prefix("boundary="))
    {
        let text = String::from_utf8_lossy(body);
        let mut fields = Map::new();
        for part in text.split(&format!("--{}", boundary.trim_matches('"'))) {
            let Some((head, value)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let Some(name) = head
                .split("name=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
            else {
                continue;
            };
            let value = value.strip_suffix("\r\n").unwrap_or(value);
            let parsed = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
            fields.insert(name.to_owned(), parsed);
        }
        return Value::Object(fields);
    }
    serde_json::from_slice(body).unwrap_or_else(|_| json!({}))
}
