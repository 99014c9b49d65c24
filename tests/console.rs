//! The web console over HTTP, without a browser: the sign-in form's contract and its cookies,
//! the security headers, CSRF refusals, one text for a wrong login and a wrong password,
//! sign-in limits, a commune user's 403 on another commune, an observer who cannot change
//! anything, and the main flows (upload with a bad line, approval by a second user, a
//! broadcast, the reports export). `console_browser.rs` drives the same pages in Chromium.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;
mod console_support;

use console_support::*;
use maktab::domain::Role;

#[tokio::test]
async fn the_entry_is_a_login_form_in_arabic_with_strict_headers_and_cookies() {
    let app = ConsoleApp::spawn(|_| {}).await;
    let mut client = Client::new(app.address());
    let page = client.get("/console/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(r#"<html lang="ar" dir="rtl">"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"name="login""#) && page.body.contains(r#"name="password""#));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(!page.body.contains("<script>"), "no inline script");
    let cookie = page.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let css = client.get("/console/static/console.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("cache-control").unwrap().contains("max-age"));
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    // Signed out, every page leads to the sign-in.
    let dashboard = client.get("/console/dashboard").await;
    assert_eq!(dashboard.status, 303);
    assert_eq!(dashboard.header("location"), Some("/console/"));
}

#[tokio::test]
async fn cookies_are_secure_behind_an_https_public_url() {
    let app = ConsoleApp::spawn(|config| {
        config.console.public_url = Some("https://maktab.example.dz".to_owned());
    })
    .await;
    app.user("amina", Role::CommuneAdmin, &["16000"]).await;
    let mut client = Client::new(app.address());
    let response = client.log_in("amina", PASSWORD).await;
    assert_eq!(response.status, 303, "{}", response.body);
    let cookie = response.header("set-cookie").unwrap();
    assert!(cookie.starts_with("maktab_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Secure"),
        "{cookie}"
    );
}

/// A page without its random tokens, to compare two answers.
fn without_tokens(body: &str) -> String {
    body.split("value=\"")
        .map(|piece| piece.split_once('"').map_or(piece, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join("")
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_login_read_the_same() {
    let app = ConsoleApp::spawn(|_| {}).await;
    app.user("amina", Role::CommuneAdmin, &["16000"]).await;
    let wrong = Client::new(app.address())
        .log_in("amina", "not the password")
        .await;
    let unknown = Client::new(app.address())
        .log_in("nobody", "not the password")
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, wrong.status);
    assert!(wrong.body.contains("login-error"), "{}", wrong.body);
    assert_eq!(without_tokens(&wrong.body), without_tokens(&unknown.body));
    assert!(
        wrong
            .header("set-cookie")
            .is_none_or(|c| !c.contains("maktab_session"))
    );
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_login() {
    let app = ConsoleApp::spawn(|config| config.console.attempts_per_login = 3).await;
    app.user("amina", Role::CommuneAdmin, &["16000"]).await;
    for _ in 0..3 {
        let refused = Client::new(app.address())
            .log_in("amina", "guess guess guess")
            .await;
        assert_eq!(refused.status, 401);
    }
    let blocked = Client::new(app.address()).log_in("amina", PASSWORD).await;
    assert_eq!(blocked.status, 429, "{}", blocked.body);
}

#[tokio::test]
async fn posts_without_the_sessions_csrf_token_are_refused() {
    let app = ConsoleApp::spawn(|_| {}).await;
    app.user("chief", Role::National, &[]).await;
    let mut client = app.signed_in("chief").await;
    let token = client.csrf("/console/notices").await;
    let form = [
        ("commune", "16000"),
        ("text_ar", "تجربة"),
        ("text_fr", "essai"),
    ];
    let without = client.post_form("/console/notices", &form).await;
    assert_eq!(without.status, 403, "{}", without.body);
    let mut forged = form.to_vec();
    forged.push(("csrf", "0000"));
    let forged = client.post_form("/console/notices", &forged).await;
    assert_eq!(forged.status, 403);
    let upload = client
        .post_file("/console/imports", &[("kind", "roll")], "nin\n")
        .await;
    assert_eq!(upload.status, 403, "an upload needs ?csrf= too");
    let logout = client.post_form("/console/logout", &[]).await;
    assert_eq!(logout.status, 403);
    // Nothing was written: no campaign.
    let list = app
        .office
        .campaigns(&maktab::office::Principal::command_line(), 10)
        .await
        .unwrap();
    assert!(list.campaigns.is_empty());
    // The sign-in form without its doubled token is refused too.
    let mut bare = Client::new(app.address());
    let login = bare
        .post_form(
            "/console/login",
            &[("login", "chief"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(login.status, 403);
    // With the token it works.
    let mut forged = form.to_vec();
    forged.push(("csrf", &token));
    let ok = client.post_form("/console/notices", &forged).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn a_commune_user_gets_403_on_another_communes_pages_and_objects() {
    let app = ConsoleApp::spawn(|_| {}).await;
    app.user("oran", Role::CommuneAdmin, &["31000"]).await;
    app.user("chief", Role::National, &[]).await;
    app.user("chief2", Role::National, &[]).await;
    // An Alger change set, by a national user.
    let mut chief = app.signed_in("chief").await;
    let token = chief.csrf("/console/imports").await;
    let upload = chief
        .post_file(
            &format!("/console/imports?csrf={token}"),
            &[("kind", "roll")],
            &roll_with_a_move(),
        )
        .await;
    assert_eq!(upload.status, 200, "{}", upload.body);
    let change: i64 = upload
        .body
        .split("/console/changes/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .parse()
        .unwrap();

    let mut oran = app.signed_in("oran").await;
    let own = oran.get("/console/dashboard").await;
    assert_eq!(own.status, 200);
    assert!(own.body.contains(r#"data-commune="31000""#));
    assert!(
        !own.body.contains(r#"data-commune="16000""#),
        "only its own commune"
    );
    for path in [
        "/console/dashboard?commune=16000".to_owned(),
        format!("/console/changes/{change}"),
        "/console/reports?commune=16000".to_owned(),
        "/console/audit?commune=16000".to_owned(),
        "/console/users".to_owned(),
    ] {
        let page = oran.get(&path).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
        assert!(
            page.body.contains(r#"lang="ar""#),
            "an error page in the user's language"
        );
    }
    let token = oran.csrf("/console/notices").await;
    let approve = oran
        .post_form(
            &format!("/console/changes/{change}/approve"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(approve.status, 403);
    let broadcast = oran
        .post_form(
            "/console/notices",
            &[
                ("csrf", &token),
                ("commune", "16000"),
                ("text_ar", "x"),
                ("text_fr", "x"),
            ],
        )
        .await;
    assert_eq!(broadcast.status, 403);
}

#[tokio::test]
async fn an_observer_sees_but_cannot_change_anything() {
    let app = ConsoleApp::spawn(|_| {}).await;
    app.user("watcher", Role::Observer, &[]).await;
    let mut watcher = app.signed_in("watcher").await;
    let dashboard = watcher.get("/console/dashboard").await;
    assert_eq!(dashboard.status, 200);
    assert!(
        dashboard.body.contains(r#"data-commune="16000""#),
        "a national observer sees all"
    );
    let token = csrf(&dashboard.body);
    let imports = watcher.get("/console/imports").await;
    assert_eq!(imports.status, 200);
    assert!(
        !imports.body.contains("import-form"),
        "no upload form for an observer"
    );
    let notices = watcher.get("/console/notices").await;
    assert!(!notices.body.contains(r#"id="compose""#));
    let attempts = [
        watcher
            .post_file(
                &format!("/console/imports?csrf={token}"),
                &[("kind", "roll")],
                &roll_with_a_move(),
            )
            .await,
        watcher
            .post_form(
                "/console/notices",
                &[
                    ("csrf", &token),
                    ("commune", "16000"),
                    ("text_ar", "x"),
                    ("text_fr", "x"),
                ],
            )
            .await,
        watcher
            .post_form("/console/changes/1/approve", &[("csrf", &token)])
            .await,
        watcher
            .post_form("/console/clerks", &[("csrf", &token), ("commune", "16000")])
            .await,
        watcher
            .post_form("/console/reports/handle", &[("csrf", &token), ("id", "1")])
            .await,
        watcher
            .post_form(
                "/console/users",
                &[
                    ("csrf", &token),
                    ("login", "x1"),
                    ("role", "national"),
                    ("password", PASSWORD),
                ],
            )
            .await,
    ];
    for attempt in attempts {
        assert_eq!(attempt.status, 403, "{}", attempt.body);
    }
    let list = app
        .office
        .imports(&maktab::office::Principal::command_line())
        .await
        .unwrap();
    assert!(list.imports.iter().all(|i| !i.pending), "nothing imported");
}

#[tokio::test]
async fn a_bad_row_is_shown_with_its_line_and_a_second_user_approves_the_reimport() {
    let app = ConsoleApp::spawn(|_| {}).await;
    app.user("chief", Role::National, &[]).await;
    app.user("chief2", Role::National, &[]).await;
    let mut chief = app.signed_in("chief").await;
    let token = chief.csrf("/console/imports").await;
    let bad = chief
        .post_file(
            &format!("/console/imports?csrf={token}"),
            &[("kind", "roll"), ("dry_run", "1")],
            &roll_with_bad_line(7),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains(r#"<td class="line">7</td>"#),
        "{}",
        bad.body
    );
    assert!(bad.body.contains(r#"id="errors-hint""#), "{}", bad.body);
    // The reason reads in the page's language (Arabic first), with the value as written.
    assert!(
        bad.body.contains("ليس تاريخ ميلاد صحيحًا") && bad.body.contains("1990-13-45"),
        "{}",
        bad.body
    );
    // The same file sent with the form's other button comes back as the rows to fix, with
    // their line and the reason, to open in Excel; nothing is imported.
    let rows = chief
        .post_file(
            &format!("/console/imports/errors?csrf={token}"),
            &[("kind", "roll"), ("dry_run", "1")],
            &roll_with_bad_line(7),
        )
        .await;
    assert_eq!(rows.status, 200, "{}", rows.body);
    assert_eq!(rows.header("x-maktab-error-count"), Some("1"));
    assert!(
        rows.header("content-disposition")
            .is_some_and(|d| d.contains("maktab-roll-errors.csv")),
        "a download"
    );
    let lines: Vec<&str> = rows.body.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 2, "the header and the bad row: {}", rows.body);
    assert!(lines[0].ends_with(",line,error"), "{}", lines[0]);
    assert!(
        lines[1].contains("1990-13-45") && lines[1].contains(",7,"),
        "{}",
        lines[1]
    );
    // Without the session's token it is refused, as every other form.
    let forged = chief
        .post_file(
            "/console/imports/errors",
            &[("kind", "roll")],
            &roll_with_bad_line(7),
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    // Dry run, then the real import.
    let dry = chief
        .post_file(
            &format!("/console/imports?csrf={token}"),
            &[("kind", "roll"), ("dry_run", "1")],
            &roll_with_a_move(),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(dry.body.contains(r#"data-ok="true""#) && !dry.body.contains("change-link"));
    let real = chief
        .post_file(
            &format!("/console/imports?csrf={token}"),
            &[("kind", "roll")],
            &roll_with_a_move(),
        )
        .await;
    assert_eq!(real.status, 200, "{}", real.body);
    let change: i64 = real
        .body
        .split("href=\"/console/changes/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    let detail = chief.get(&format!("/console/changes/{change}")).await;
    assert!(
        detail.body.contains("chief (user:"),
        "the importer's identity: {}",
        detail.body
    );
    let own = chief
        .post_form(
            &format!("/console/changes/{change}/approve"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(own.status, 403, "two-person rule: {}", own.body);
    let mut second = app.signed_in("chief2").await;
    let token2 = second.csrf(&format!("/console/changes/{change}")).await;
    let approved = second
        .post_form(
            &format!("/console/changes/{change}/approve"),
            &[("csrf", &token2)],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let detail = second.get(&format!("/console/changes/{change}")).await;
    assert!(
        detail.body.contains(r#"data-status="approved""#),
        "{}",
        detail.body
    );
    assert!(detail.body.contains("chief2 (user:"));
    // Both are in the audit log with their identities, and the chain holds.
    let audit = second.get("/console/audit?action=changes").await;
    assert!(audit.body.contains("chief2 (user:"));
    assert!(
        !audit.body.contains("chain-status") && audit.body.contains(r#"id="verify-chain""#),
        "the chain is verified when asked, not on every view"
    );
    let verified = second.get("/console/audit?verify=1").await;
    assert!(
        verified
            .body
            .contains(r#"id="chain-status" data-ok="true""#),
        "{}",
        verified.body
    );
}

#[tokio::test]
async fn a_broadcast_is_previewed_confirmed_and_reports_export_as_csv() {
    let app = ConsoleApp::spawn(|_| {}).await;
    app.user("alger", Role::CommuneAdmin, &["16000"]).await;
    let mut alger = app.signed_in("alger").await;
    let token = alger.csrf("/console/notices").await;
    let preview = alger
        .post_form(
            "/console/notices",
            &[
                ("csrf", &token),
                ("commune", "16000"),
                ("text_ar", "تذكير: الانتخابات يوم الخميس"),
                ("text_fr", "Rappel : le vote a lieu jeudi"),
            ],
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview.body.contains(r#"id="sms-segments""#));
    let confirm = preview
        .body
        .split("action=\"/console/notices/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let confirmed = alger
        .post_form(
            &format!("/console/notices/{confirm}/confirm"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let list = alger.get("/console/notices").await;
    assert!(
        list.body.contains(&format!("id=\"campaign-{confirm}\"")),
        "{}",
        list.body
    );
    assert!(
        !list
            .body
            .contains(&format!("id=\"campaign-{confirm}\" data-status=\"draft\""))
    );
    let export = alger.get("/console/reports/export?commune=16000").await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert!(
        export
            .header("content-type")
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        export
            .header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
}

#[tokio::test]
async fn the_language_switch_sets_french_left_to_right() {
    let app = ConsoleApp::spawn(|_| {}).await;
    let mut client = Client::new(app.address());
    let switched = client.get("/console/lang/fr?back=/console/").await;
    assert_eq!(switched.status, 303);
    assert_eq!(switched.header("location"), Some("/console/"));
    let page = client.get("/console/").await;
    assert!(
        page.body.contains(r#"<html lang="fr" dir="ltr">"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("Identifiant"));
    // Never a redirect off the console.
    let away = client
        .get("/console/lang/ar?back=https://evil.example")
        .await;
    assert_eq!(away.header("location"), Some("/console/"));
}

#[tokio::test]
async fn a_national_user_enrols_totp_before_reaching_any_page() {
    let app = ConsoleApp::spawn(|config| config.console.national_totp = true).await;
    app.user("chief", Role::National, &[]).await;
    let mut chief = Client::new(app.address());
    let signed = chief.log_in("chief", PASSWORD).await;
    assert_eq!(signed.header("location"), Some("/console/second-factor"));
    let dashboard = chief.get("/console/dashboard").await;
    assert_eq!(dashboard.header("location"), Some("/console/second-factor"));
    let enrol = chief.get("/console/second-factor").await;
    assert!(
        enrol.body.contains("id=\"totp-qr\"><svg role=\"img\""),
        "the authenticator's QR code: {}",
        enrol.body
    );
    let secret = enrol
        .body
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let token = csrf(&enrol.body);
    let code = maktab::office::users::totp_code(&secret, maktab::domain::now()).unwrap();
    let done = chief
        .post_form(
            "/console/second-factor",
            &[("csrf", &token), ("secret", &secret), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(chief.get("/console/dashboard").await.status, 200);
    // The next sign-in asks for a code, and a wrong one is refused.
    let mut again = Client::new(app.address());
    again.log_in("chief", PASSWORD).await;
    let page = again.get("/console/second-factor").await;
    let token = csrf(&page.body);
    let wrong = again
        .post_form(
            "/console/second-factor",
            &[("csrf", &token), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(again.get("/console/dashboard").await.status, 303);
}

#[tokio::test]
async fn a_clerk_invitation_shows_the_bots_deep_link_and_its_qr_code() {
    let app = ConsoleApp::spawn(|config| {
        config.telegram.bot_username = Some("maktab_test_bot".to_owned());
    })
    .await;
    app.user("alger", Role::CommuneAdmin, &["16000"]).await;
    let mut alger = app.signed_in("alger").await;
    let token = alger.csrf("/console/clerks").await;
    let page = alger
        .post_form("/console/clerks", &[("csrf", &token), ("commune", "16000")])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let code = page
        .body
        .split("id=\"invitation-code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap();
    let start: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
    assert!(
        page.body
            .contains(&format!("https://t.me/maktab_test_bot?start={start}")),
        "{}",
        page.body
    );
    let qr = page
        .body
        .split("id=\"invitation-qr\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no QR code: {}", page.body));
    assert!(qr.starts_with("<svg role=\"img\" class=\"qr\""), "{qr}");
    assert!(
        !page.body.contains("&lt;svg"),
        "the SVG is markup, not text"
    );
}

/// A multipart body of text fields and `(field, file name, content)` files.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &str)]) -> (String, Vec<u8>) {
    let boundary = "maktabplanboundary42";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    for (name, file, content) in files {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

const PLAN_MAP: &str = "commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,latitude,longitude,station,kind\n\
16000,الجزائر الوسطى,Alger Centre,C09,مدرسة التخطيط,Ecole du Plan,1 شارع,1 Rue,,,1,mixed\n";

fn plan_roll(bad_line: Option<usize>) -> String {
    let mut csv = String::from(
        "nin,birth_date,sex,commune_code,centre_code,station,family_name,given_name\n",
    );
    for (i, family) in ["Zerrouki", "Amrani", "Belkacem", "Haddad", "Kaci"]
        .iter()
        .enumerate()
    {
        let date = if bad_line == Some(i + 2) {
            "1980-02-31"
        } else {
            "1980-02-01"
        };
        csv.push_str(&format!(
            "30000000000000000{i},{date},M,16000,C09,1,{family},Ali\n"
        ));
    }
    csv
}

#[tokio::test]
async fn an_office_plans_its_stations_in_the_console_and_downloads_the_files() {
    let app = ConsoleApp::spawn(|_| {}).await;
    app.user("alger", Role::CommuneAdmin, &["16000"]).await;
    app.user("oran", Role::CommuneAdmin, &["31000"]).await;
    app.user("watcher", Role::Observer, &[]).await;
    let mut alger = app.signed_in("alger").await;
    let form = alger.get("/console/plan").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains(r#"href="/console/plan""#), "in the menu");
    let token = csrf(&form.body);
    let (content_type, body) = multipart(
        &[("max_per_station", "2"), ("strategy", "keep")],
        &[
            ("map", "carte.csv", PLAN_MAP),
            ("roll", "liste.csv", &plan_roll(None)),
        ],
    );
    let plan = alger
        .request(
            "POST",
            &format!("/console/plan?csrf={token}"),
            Some(&content_type),
            &body,
        )
        .await;
    assert_eq!(plan.status, 200, "{}", plan.body);
    assert_eq!(plan.header("content-type"), Some("application/zip"));
    assert!(
        plan.header("x-maktab-plan")
            .is_some_and(|p| p.contains("voters=5") && p.contains("stations=3")),
        "five voters at two per station: {:?}",
        plan.header("x-maktab-plan")
    );
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(plan.bytes.clone())).unwrap();
    let mut names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort();
    for wanted in [
        "centres.csv",
        "map.csv",
        "report-16000.html",
        "roll.csv",
        "stations.csv",
    ] {
        assert!(names.iter().any(|n| n == wanted), "{wanted} in {names:?}");
    }
    let mut roll = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("roll.csv").unwrap(), &mut roll).unwrap();
    let stations: std::collections::BTreeSet<&str> = roll
        .lines()
        .skip(1)
        .filter_map(|row| row.split(',').nth(5))
        .collect();
    assert_eq!(stations.len(), 3, "{roll}");
    // Alphabetical: Amrani and Belkacem keep station 1.
    assert!(
        roll.lines()
            .any(|r| r.contains("Amrani") && r.split(',').nth(5) == Some("1")),
        "{roll}"
    );
    let log = app
        .office
        .audit(
            &maktab::office::Principal::command_line(),
            maktab::office::audit::AuditFilter {
                action: Some("plan".to_owned()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        log.entries
            .iter()
            .any(|e| e.action == "plan.run" && e.actor.starts_with("alger (user:")),
        "the plan is audited"
    );

    // A bad row: the page shows the roll's line, and no file comes back.
    let (content_type, body) = multipart(
        &[("max_per_station", "2")],
        &[
            ("map", "carte.csv", PLAN_MAP),
            ("roll", "liste.csv", &plan_roll(Some(4))),
        ],
    );
    let bad = alger
        .request(
            "POST",
            &format!("/console/plan?csrf={token}"),
            Some(&content_type),
            &body,
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains(r#"<td class="line">4</td>"#),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("(roll)"), "{}", bad.body);

    // Another commune's office may not plan Alger Centre; an observer may not plan at all.
    let mut oran = app.signed_in("oran").await;
    let token = oran.csrf("/console/plan").await;
    let (content_type, body) = multipart(
        &[],
        &[
            ("map", "carte.csv", PLAN_MAP),
            ("roll", "liste.csv", &plan_roll(None)),
        ],
    );
    let refused = oran
        .request(
            "POST",
            &format!("/console/plan?csrf={token}"),
            Some(&content_type),
            &body,
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let mut watcher = app.signed_in("watcher").await;
    assert_eq!(watcher.get("/console/plan").await.status, 403);
}
