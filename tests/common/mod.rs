//! Shared test fixtures: a fresh SQLite database per test, a small map and roll, and helpers
//! to talk to the conversation core.
#![allow(dead_code)]

use std::sync::Arc;

use maktab::conversation::{Conversation, ConversationSettings, Handled, Inbound};
use maktab::domain::{Channel, DEFAULT_MAX_VOTERS_PER_STATION, Timestamp};
use maktab::i18n::Catalog;
use maktab::roll::{self, ImportError, ImportOptions, ImportOutcome};
use maktab::store::{self, Store};
use tempfile::TempDir;

/// A voter of [`ROLL_CSV`] in a mixed station with coordinates.
pub const NIN_MIXED: &str = "109870123456789012";
pub const BIRTH_MIXED: &str = "15/03/1990";
/// A voter in a women's station.
pub const NIN_WOMEN: &str = "000000000000000042";
pub const BIRTH_WOMEN: &str = "01/12/1985";
/// A voter whose centre has no coordinates.
pub const NIN_NO_COORDS: &str = "209870123456789099";
pub const BIRTH_NO_COORDS: &str = "20/01/1970";
/// On no roll.
pub const NIN_UNKNOWN: &str = "555555555555555555";

pub const MAP_CSV: &str = "\
commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,latitude,longitude,station,kind
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة الأمير عبد القادر,Ecole Emir Abdelkader,12 شارع الاستقلال,12 Rue de l'Indépendance,36.7762,3.0585,1,mixed
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة الأمير عبد القادر,Ecole Emir Abdelkader,12 شارع الاستقلال,12 Rue de l'Indépendance,36.7762,3.0585,2,women
1601,الجزائر الوسطى,Alger Centre,C02,متوسطة العربي بن مهيدي,CEM Larbi Ben M'hidi,5 شارع أول نوفمبر,5 Boulevard du 1er Novembre,,,1,
1601,الجزائر الوسطى,Alger Centre,C02,متوسطة العربي بن مهيدي,CEM Larbi Ben M'hidi,5 شارع أول نوفمبر,5 Boulevard du 1er Novembre,,,2,mixed
";

pub const ROLL_CSV: &str = "\
nin,birth_date,sex,commune_code,centre_code,station
109870123456789012,1990-03-15,M,1601,C01,1
000000000000000042,1985-12-01,F,1601,C01,2
209870123456789099,1970-01-20,,1601,C02,1
";

/// A fresh database in its own directory, removed when the test ends.
pub struct TestDb {
    pub dir: TempDir,
    pub url: String,
    pub store: Arc<dyn Store>,
}

impl TestDb {
    /// An empty, migrated database.
    pub async fn empty() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("maktab.db").display());
        let store = store::connect(&url).await.expect("open the test database");
        Self { dir, url, store }
    }

    /// A database holding [`MAP_CSV`] and [`ROLL_CSV`].
    pub async fn with_roll() -> Self {
        let db = Self::empty().await;
        db.import_map(MAP_CSV).await.expect("fixture map imports");
        db.import_roll(ROLL_CSV)
            .await
            .expect("fixture roll imports");
        db
    }

    /// Opens the same file again, as a restarted process would.
    pub async fn reopen(&self) -> Arc<dyn Store> {
        store::connect(&self.url)
            .await
            .expect("reopen the test database")
    }

    pub async fn import_map(&self, csv: &str) -> Result<ImportOutcome, ImportError> {
        roll::import_map(self.store.as_ref(), csv.as_bytes(), &options(false)).await
    }

    pub async fn import_roll(&self, csv: &str) -> Result<ImportOutcome, ImportError> {
        self.import_roll_with(csv, &options(false)).await
    }

    pub async fn import_roll_with(
        &self,
        csv: &str,
        options: &ImportOptions,
    ) -> Result<ImportOutcome, ImportError> {
        let bytes = std::io::Cursor::new(csv.as_bytes().to_vec());
        roll::import_roll(Arc::clone(&self.store), bytes, options).await
    }

    /// Approves every pending change set from the command line, as an officer would.
    pub async fn approve_pending(&self) -> Vec<(i64, u64)> {
        let office = office(&self.store);
        let operator = maktab::office::Principal::command_line();
        let mut approved = Vec::new();
        for change_set in self
            .store
            .change_sets(Some(maktab::store::ChangeSetStatus::Pending), 100)
            .await
            .expect("change sets")
        {
            let done = office
                .approve(&operator, change_set.id)
                .await
                .expect("approve");
            approved.push((done.campaign, done.notices));
        }
        approved
    }

    pub fn talk(&self) -> Talk {
        self.talk_with(ConversationSettings::default())
    }

    pub fn talk_with(&self, settings: ConversationSettings) -> Talk {
        Talk::new(Arc::clone(&self.store), settings)
    }
}

/// The office over a test store, with the default rules (no two-person rule).
pub fn office(store: &Arc<dyn Store>) -> maktab::office::Office {
    office_with(store, false)
}

/// The office over a test store, with or without the two-person rule.
pub fn office_with(store: &Arc<dyn Store>, two_person_rule: bool) -> maktab::office::Office {
    maktab::office::Office::new(
        Arc::clone(store),
        Arc::new(Catalog::load().expect("catalogues load")),
        maktab::office::Rules {
            two_person_rule,
            max_voters_per_station: DEFAULT_MAX_VOTERS_PER_STATION,
        },
    )
}

pub fn options(dry_run: bool) -> ImportOptions {
    ImportOptions {
        allowed_communes: None,
        dry_run,
        max_voters_per_station: DEFAULT_MAX_VOTERS_PER_STATION,
        source: "test.csv".to_owned(),
        actor: "test".to_owned(),
        read: Default::default(),
        keep_every_error: false,
    }
}

/// A conversation with a clock the test controls.
pub struct Talk {
    pub conversation: Conversation,
    pub now: Timestamp,
}

/// A fixed Tuesday, 2026-11-03 10:00:00 UTC: the start of an hour.
pub const START: Timestamp = 1_793_700_000;

impl Talk {
    pub fn new(store: Arc<dyn Store>, settings: ConversationSettings) -> Self {
        let catalog = Arc::new(Catalog::load().expect("catalogues load"));
        Self {
            conversation: Conversation::new(store, catalog, settings),
            now: START,
        }
    }

    /// Sends one SMS from `sender` at the current test time.
    pub async fn sms(&self, sender: &str, text: &str) -> Handled {
        self.send(Channel::Sms, sender, text).await
    }

    pub async fn send(&self, channel: Channel, sender: &str, text: &str) -> Handled {
        let inbound = Inbound {
            channel,
            sender: sender.to_owned(),
            text: text.to_owned(),
        };
        self.conversation.handle_at(&inbound, self.now).await
    }

    /// The single reply's text.
    pub async fn text(&self, sender: &str, text: &str) -> String {
        let handled = self.sms(sender, text).await;
        assert_eq!(handled.replies.len(), 1, "{handled:?}");
        handled.replies[0].text.clone()
    }
}

/// A response read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body's bytes as sent, for binary answers (zip files); not de-chunked.
    pub bytes: Vec<u8>,
}

impl HttpResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a plain socket (no client library: the tests see exactly what
/// goes over the wire). Runs on a blocking thread.
pub async fn http(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    use std::io::{Read, Write};
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let body = body.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
        stream.write_all(request.as_bytes()).expect("write head");
        // The server may answer (413, 401) and close before reading a large body.
        let _ = stream.write_all(&body);
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let bytes = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|at| raw[at + 4..].to_vec())
            .unwrap_or_default();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {raw:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        };
        HttpResponse {
            status,
            headers,
            body,
            bytes,
        }
    })
    .await
    .expect("request thread")
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The real server on port 0 over a given test database, stopped when dropped.
pub struct ServerApp {
    pub address: std::net::SocketAddr,
    pub app: maktab::server::App,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl ServerApp {
    pub async fn spawn(db: &TestDb, config: &maktab::config::Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let app = maktab::server::App::new(Arc::clone(&db.store), config).expect("app");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(maktab::server::serve(listener, None, app.clone(), async {
            let _ = stopped.await;
        }));
        Self {
            address,
            app,
            stop: Some(stop),
            server: Some(server),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        http(self.address, "GET", path, &headers, b"").await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &[u8]) -> HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        headers.push(("Content-Type", "text/csv"));
        http(self.address, "POST", path, &headers, body).await
    }

    /// POSTs a JSON body.
    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        headers.push(("Content-Type", "application/json"));
        let body = serde_json::to_vec(body).expect("JSON body");
        http(self.address, "POST", path, &headers, &body).await
    }

    /// Stops the server gracefully (statistics flushed) and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server");
        }
    }
}

impl Drop for ServerApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// ---- The real server on port 0, and fake SMS providers on loopback. ----

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Mutex;

use maktab::config::SmsConfig;
use maktab::server::{self, App};

/// The real server on a free loopback port over a fresh database holding the fixture roll.
pub struct TestApp {
    pub address: SocketAddr,
    /// `http://127.0.0.1:PORT`, also the configured `public_url`.
    pub base: String,
    pub db: TestDb,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.db.store)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Boots the server with the SMS settings `configure` writes; `public_url` is set to the
/// server's own address before `configure` runs.
pub async fn spawn_app(configure: impl FnOnce(&mut SmsConfig)) -> TestApp {
    spawn_app_with(|config| configure(&mut config.sms)).await
}

/// Boots the server as `maktab serve` does ([`App::from_config`]) from the default
/// configuration that `configure` adjusts; `sms.public_url` is the server's own address.
pub async fn spawn_app_with(configure: impl FnOnce(&mut maktab::config::Config)) -> TestApp {
    let db = TestDb::with_roll().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("local address");
    let base = format!("http://{address}");
    let mut config = maktab::config::Config::default();
    config.sms.public_url = Some(base.clone());
    configure(&mut config);
    let app = App::from_config(Arc::clone(&db.store), &config).expect("a valid configuration");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, None, app, async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        base,
        db,
        client: reqwest::Client::new(),
        stop: Some(stop),
    }
}

/// One request a fake provider received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The form (or query) parameters, decoded.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).expect("a form body")
    }

    pub fn query_pairs(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.query).expect("a query string")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// A provider's API on loopback: records every request and answers from a script, then with
/// the default answer.
#[derive(Clone)]
pub struct FakeProvider {
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<(u16, String)>>>,
    default: Arc<(u16, String)>,
}

impl FakeProvider {
    pub async fn start(default_status: u16, default_body: &str) -> Self {
        let fake = Self {
            base: String::new(),
            received: Arc::default(),
            script: Arc::default(),
            default: Arc::new((default_status, default_body.to_owned())),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let state = fake.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  body: axum::body::Bytes| {
                let state = state.clone();
                async move {
                    state.received.lock().unwrap().push(Received {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                        query: uri.query().unwrap_or_default().to_owned(),
                        headers,
                        body: body.to_vec(),
                    });
                    let next = state.script.lock().unwrap().pop_front();
                    let (status, body) = next.unwrap_or_else(|| (*state.default).clone());
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            },
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, ..fake }
    }

    /// Answers the next requests with these, in order.
    pub fn then(&self, status: u16, body: &str) -> &Self {
        self.script
            .lock()
            .unwrap()
            .push_back((status, body.to_owned()));
        self
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until `count` requests arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} requests, the fake provider got {}",
            self.received().len()
        );
    }
}

/// The text with its ASCII digits in Arabic-Indic form.
pub fn arabic_indic(text: &str) -> String {
    text.chars()
        .map(|c| {
            c.to_digit(10)
                .and_then(|d| char::from_u32(0x0660 + d))
                .unwrap_or(c)
        })
        .collect()
}
pub mod fake_telegram;

/// The PostgreSQL server for tests, from `MAKTAB_TEST_POSTGRES_URL`
/// (`postgres://postgres:postgres@127.0.0.1:5432/postgres`). `None` (the test is skipped,
/// with the reason printed) when it is unset, unless `CI` is set: CI must run them.
pub fn postgres_server() -> Option<String> {
    match std::env::var("MAKTAB_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI is set but MAKTAB_TEST_POSTGRES_URL is not: the PostgreSQL tests must run in CI \
             (.ci/run starts PostgreSQL 15 and sets it)"
        ),
        _ => {
            eprintln!(
                "skipped: MAKTAB_TEST_POSTGRES_URL is not set (e.g. \
                 postgres://postgres:postgres@127.0.0.1:5432/postgres), so this PostgreSQL test does not run"
            );
            None
        }
    }
}

/// The same server URL naming another database, keeping any `?parameters`.
fn with_database(server: &str, database: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut url = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// A fresh PostgreSQL database of its own, so tests run in parallel; dropped (closing any
/// connection still open) when this value is dropped, even if the test failed.
pub struct PgDatabase {
    pub server: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    /// Creates `maktab_test_<random>`, or `None` if the tests are skipped.
    pub async fn create() -> Option<Self> {
        use sqlx::Connection;
        let server = postgres_server()?;
        let name = format!(
            "maktab_test_{:016x}",
            getrandom::u64().expect("random name")
        );
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("connect to MAKTAB_TEST_POSTGRES_URL {server}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        admin.close().await.expect("close the admin connection");
        let url = with_database(&server, &name);
        Some(Self { server, name, url })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on itself: a thread with
        // its own small runtime does the clean-up.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("clean-up runtime");
            runtime.block_on(async {
                use sqlx::Connection;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "drop database if exists {name} with (force)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

impl TestDb {
    /// An empty, migrated PostgreSQL database; keep the [`PgDatabase`] alive as long as the
    /// store. `None` when PostgreSQL tests are skipped.
    pub async fn postgres() -> Option<(Self, PgDatabase)> {
        let database = PgDatabase::create().await?;
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = store::connect(&database.url)
            .await
            .expect("open the PostgreSQL test database");
        let url = database.url.clone();
        Some((Self { dir, url, store }, database))
    }

    /// A PostgreSQL database holding [`MAP_CSV`] and [`ROLL_CSV`].
    pub async fn postgres_with_roll() -> Option<(Self, PgDatabase)> {
        let (db, database) = Self::postgres().await?;
        db.import_map(MAP_CSV).await.expect("fixture map imports");
        db.import_roll(ROLL_CSV)
            .await
            .expect("fixture roll imports");
        Some((db, database))
    }
}
