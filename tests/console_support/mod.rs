//! What the console tests share: the real server on port 0 over a fresh database holding the
//! demo data, console users, and a small cookie-keeping HTTP client over the plain-socket
//! helper of `tests/common` (so the tests see the headers exactly as sent).
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use maktab::config::Config;
use maktab::domain::{CommuneCode, Role};
use maktab::office::{Office, Principal};

use crate::common::{HttpResponse, ServerApp, TestDb, http, office_with};

/// Passwords of the test users.
pub const PASSWORD: &str = "a long test password";

/// The server over the demo data.
pub struct ConsoleApp {
    pub db: TestDb,
    pub server: ServerApp,
    pub office: Office,
}

impl ConsoleApp {
    /// Boots the server with the demo loaded and the configuration `configure` writes (the
    /// two-person rule on, TOTP for national users off unless asked).
    pub async fn spawn(configure: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::empty().await;
        let demo = maktab::roll::demo::generate();
        maktab::roll::demo::load(Arc::clone(&db.store), &demo)
            .await
            .unwrap();
        let mut config = Config::default();
        config.changes.two_person_rule = true;
        config.console.national_totp = false;
        configure(&mut config);
        let server = ServerApp::spawn(&db, &config).await;
        let office = office_with(&db.store, true);
        Self { db, server, office }
    }

    pub fn address(&self) -> SocketAddr {
        self.server.address
    }

    /// A console user with [`PASSWORD`].
    pub async fn user(&self, login: &str, role: Role, communes: &[&str]) {
        let communes = communes
            .iter()
            .map(|c| CommuneCode::parse(c).unwrap())
            .collect();
        self.office
            .create_user(&Principal::command_line(), login, role, communes, PASSWORD)
            .await
            .unwrap();
    }

    /// A client signed in as `login`.
    pub async fn signed_in(&self, login: &str) -> Client {
        let mut client = Client::new(self.address());
        let response = client.log_in(login, PASSWORD).await;
        assert_eq!(response.status, 303, "{}", response.body);
        client
    }
}

/// The value of `name="csrf"` in a page.
pub fn csrf(body: &str) -> String {
    let start = body
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {body}"))
        + "name=\"csrf\" value=\"".len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// A browser-like client: keeps the cookies it is given.
pub struct Client {
    pub address: SocketAddr,
    pub cookies: Vec<(String, String)>,
}

impl Client {
    pub fn new(address: SocketAddr) -> Self {
        Self {
            address,
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &HttpResponse) {
        for (name, value) in &response.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap();
            let (key, val) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != key);
            if !value.contains("Max-Age=0") {
                self.cookies.push((key.to_owned(), val.to_owned()));
            }
        }
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> HttpResponse {
        let cookie = self.cookie_header();
        let mut headers = vec![("Cookie", cookie.as_str())];
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type));
        }
        let response = http(self.address, method, path, &headers, body).await;
        self.keep(&response);
        response
    }

    pub async fn get(&mut self, path: &str) -> HttpResponse {
        self.request("GET", path, None, b"").await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> HttpResponse {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.request(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        )
        .await
    }

    /// A multipart upload of `file` with the other fields.
    pub async fn post_file(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: &str,
    ) -> HttpResponse {
        let boundary = "maktabtestboundary7d1";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"roll.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
        ));
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.request("POST", path, Some(&content_type), body.as_bytes())
            .await
    }

    /// Signs in through the form, as a browser would (the form's token and cookie first).
    pub async fn log_in(&mut self, login: &str, password: &str) -> HttpResponse {
        let form = self.get("/console/").await;
        let token = csrf(&form.body);
        self.post_form(
            "/console/login",
            &[("csrf", &token), ("login", login), ("password", password)],
        )
        .await
    }

    /// A page's CSRF token (the session's).
    pub async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        csrf(&page.body)
    }
}

/// The demo roll with one voter's birth date broken on the given line (1-based, header is
/// line 1).
pub fn roll_with_bad_line(line: usize) -> String {
    let demo = maktab::roll::demo::generate();
    demo.roll_csv
        .lines()
        .enumerate()
        .map(|(i, row)| {
            if i + 1 == line {
                let mut cells: Vec<&str> = row.split(',').collect();
                cells[1] = "1990-13-45";
                cells.join(",")
            } else {
                row.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The demo roll with the first voter of `commune` moved to another station of its centre.
pub fn roll_with_a_move() -> String {
    let demo = maktab::roll::demo::generate();
    let mut lines: Vec<String> = demo.roll_csv.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let station = header.iter().position(|h| *h == "station").unwrap();
    let sex = header.iter().position(|h| *h == "sex").unwrap();
    let row = lines
        .iter()
        .skip(1)
        .position(|l| l.split(',').nth(sex) == Some("M"))
        .unwrap()
        + 1;
    let mut cells: Vec<String> = lines[row].split(',').map(str::to_owned).collect();
    let current: u32 = cells[station].parse().unwrap();
    cells[station] = if current == 1 { "2" } else { "1" }.to_owned();
    lines[row] = cells.join(",");
    lines.join("\n") + "\n"
}
