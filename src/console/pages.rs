//! Every console page and form: each handler reads its input, calls one or a few [`Office`]
//! methods as the signed-in user, and renders a template of `templates/console/`. Refusals
//! come from the office ([`OfficeError`]) and are shown as a page with the matching status:
//! 403 for another commune's object or a role that may not act, 404, 409, 400.
//!
//! Forms answer with a redirect (303) to the page that shows their effect, so that reloading
//! does not post twice; the few that show a one-time result (an invitation code, an import's
//! report, a broadcast's preview) render it directly.

// Handlers answer `Result<Response, Response>`: the error is the page sent back, built once
// per request; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fluent_bundle::FluentArgs;
use serde::Deserialize;

use super::chart::{self, Bar};
use super::session::{self, AnySession, LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, Signed};
use super::{ConsoleState, Texts};
use crate::domain::{CentreCode, CommuneCode, Locale, Role, StationKind};
use crate::i18n::sms::count_segments;
use crate::office::audit::AuditFilter;
use crate::office::campaigns::Control;
use crate::office::error::with_causes;
use crate::office::principal::allows;
use crate::office::reports::ReportFilter;
use crate::office::stats::LookupFilter;
use crate::office::users::{LoginRefusal, SecondFactor};
use crate::office::{OfficeError, Permission, Principal};
use crate::store::{Audience, ChangeSetStatus};

pub(super) type Page = Result<Response, Response>;

/// What every page's frame shows: language and direction, the user, the navigation.
pub struct Chrome {
    pub lang: &'static str,
    pub dir: &'static str,
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    /// The current path, for the language switch to come back to.
    pub path: String,
    /// Seconds after which the page reloads itself (the dashboard).
    pub refresh: Option<u32>,
    texts: Arc<Texts>,
    locale: Locale,
}

/// A link of the navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

impl Chrome {
    /// A text of the page's language.
    pub fn t(&self, id: &str) -> String {
        self.texts.render(self.locale, id, None)
    }

    /// A text with one argument.
    pub fn t1(&self, id: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), value.to_owned());
        self.texts.render(self.locale, id, Some(&args))
    }

    /// A time as people read it (UTC).
    pub fn time(&self, at: impl std::borrow::Borrow<i64>) -> String {
        let at = *at.borrow();
        chrono::DateTime::from_timestamp(at, 0).map_or_else(
            || at.to_string(),
            |t| t.format("%Y-%m-%d %H:%M").to_string(),
        )
    }
}

fn chrome(
    state: &ConsoleState,
    locale: Locale,
    principal: Option<(&Principal, &str)>,
    title: &str,
    path: &str,
) -> Chrome {
    let texts = Arc::clone(&state.texts);
    let (lang, dir) = match locale {
        Locale::Ar => ("ar", "rtl"),
        Locale::Fr => ("fr", "ltr"),
    };
    let mut nav = Vec::new();
    if let Some((principal, _)) = principal {
        let role = principal.role;
        let links: [(&'static str, &str, Permission); 11] = [
            ("/console/dashboard", "nav-dashboard", Permission::Monitor),
            ("/console/changes", "nav-changes", Permission::Monitor),
            ("/console/imports", "nav-imports", Permission::Monitor),
            ("/console/plan", "nav-plan", Permission::Import),
            ("/console/notices", "nav-notices", Permission::Monitor),
            ("/console/reports", "nav-reports", Permission::Reports),
            ("/console/clerks", "nav-clerks", Permission::Reports),
            ("/console/tickets", "nav-tickets", Permission::Reports),
            ("/console/duty", "nav-duty", Permission::Reports),
            ("/console/audit", "nav-audit", Permission::Monitor),
            ("/console/users", "nav-users", Permission::Users),
        ];
        for (href, id, permission) in links {
            if allows(role, permission) {
                nav.push(NavItem {
                    href,
                    label: texts.render(locale, id, None),
                    current: path.starts_with(href),
                });
            }
        }
    }
    Chrome {
        lang,
        dir,
        title: texts.render(locale, title, None),
        user: principal.map(|(p, _)| format!("{} · {}", p.name, p.role)),
        csrf: principal
            .map(|(_, csrf)| csrf.to_owned())
            .unwrap_or_default(),
        nav,
        path: path.to_owned(),
        refresh: None,
        texts,
        locale,
    }
}

pub(super) fn signed_chrome(
    state: &ConsoleState,
    signed: &Signed,
    title: &str,
    path: &str,
) -> Chrome {
    chrome(
        state,
        signed.locale,
        Some((&signed.session.principal, &signed.session.csrf)),
        title,
        path,
    )
}

fn render(template: &impl Template) -> Page {
    render_with(StatusCode::OK, template)
}

pub(super) fn render_with(status: StatusCode, template: &impl Template) -> Page {
    match template.render() {
        Ok(html) => Ok((status, Html(html)).into_response()),
        Err(error) => {
            tracing::error!(%error, "console template failed");
            Err((StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    c: Chrome,
    status: u16,
    message: String,
}

/// An office refusal as a page with its status. Internal failures are logged and shown as a
/// generic text.
pub(super) fn failure(state: &ConsoleState, signed: &Signed, error: &OfficeError) -> Response {
    let (status, message) = match error {
        OfficeError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
        OfficeError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
        OfficeError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
        OfficeError::Rejected(m) => (StatusCode::BAD_REQUEST, m.clone()),
        OfficeError::ImportRejected(_) | OfficeError::Unreadable(_) => {
            (StatusCode::BAD_REQUEST, error.to_string())
        }
        OfficeError::Store(_) | OfficeError::Internal(_) => {
            tracing::error!(error = %with_causes(error), "console action failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                state.texts.render(signed.locale, "error-internal", None),
            )
        }
    };
    let page = ErrorPage {
        c: signed_chrome(state, signed, "error-title", ""),
        status: status.as_u16(),
        message,
    };
    match render_with(status, &page) {
        Ok(response) | Err(response) => response,
    }
}

/// Runs an office call, turning its refusal into the error page.
macro_rules! office {
    ($state:expr, $signed:expr, $call:expr) => {
        match $call.await {
            Ok(value) => value,
            Err(error) => return Err(failure(&$state, &$signed, &error)),
        }
    };
}

fn see_other(to: &str) -> Page {
    Ok(Redirect::to(to).into_response())
}

// After `office!`, which the duty desk's pages use too.
pub mod duty;

// ---- Signing in and out, language. ----

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    c: Chrome,
    login_csrf: String,
    error: Option<String>,
}

pub(super) fn random_token() -> Result<String, Response> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "no randomness").into_response())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn login_page(
    state: &ConsoleState,
    locale: Locale,
    status: StatusCode,
    error: Option<&str>,
) -> Page {
    let token = random_token()?;
    let page = LoginPage {
        c: chrome(state, locale, None, "login-title", "/console/"),
        login_csrf: token.clone(),
        error: error.map(|id| state.texts.render(locale, id, None)),
    };
    let mut response = render_with(status, &page)?;
    let cookie = session::set_cookie(LOGIN_COOKIE, &token, state.settings.secure_cookies, None);
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /console/`: the sign-in form, or the dashboard for a signed-in user.
pub async fn entry(State(state): State<ConsoleState>, headers: HeaderMap) -> Page {
    if let Ok(Some(session)) = session::current(&state, &headers).await {
        return match session.second_factor {
            SecondFactor::None => see_other(home(&session.principal)),
            _ => see_other("/console/second-factor"),
        };
    }
    login_page(&state, session::locale(&headers), StatusCode::OK, None)
}

/// Where a user starts: the dashboard, or the reports for those who only follow reports.
fn home(principal: &Principal) -> &'static str {
    if allows(principal.role, Permission::Monitor) {
        "/console/dashboard"
    } else {
        "/console/reports"
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/login`.
pub async fn login(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<LoginForm>,
) -> Page {
    let locale = session::locale(&headers);
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let doubled: bool = !expected.is_empty()
        && subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), form.csrf.as_bytes()).into();
    if !doubled {
        return login_page(&state, locale, StatusCode::FORBIDDEN, Some("login-expired"));
    }
    let address = session::peer(&extensions);
    let outcome = match state
        .office
        .log_in(
            &state.settings.policy,
            &form.login,
            &form.password,
            &address,
        )
        .await
    {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::error!(error = %with_causes(&error), "console sign-in failed");
            return login_page(
                &state,
                locale,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("error-internal"),
            );
        }
    };
    match outcome {
        Ok(opened) => {
            let to = match opened.second_factor {
                SecondFactor::None => "/console/dashboard",
                _ => "/console/second-factor",
            };
            let cookie = session::set_cookie(
                SESSION_COOKIE,
                &opened.secret,
                state.settings.secure_cookies,
                None,
            );
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response())
        }
        // One text for an unknown login, a wrong password and a disabled user.
        Err(LoginRefusal::Invalid) => login_page(
            &state,
            locale,
            StatusCode::UNAUTHORIZED,
            Some("login-invalid"),
        ),
        Err(LoginRefusal::TooManyAttempts) => login_page(
            &state,
            locale,
            StatusCode::TOO_MANY_REQUESTS,
            Some("login-too-many"),
        ),
    }
}

/// `POST /console/logout`.
pub async fn logout(State(state): State<ConsoleState>, AnySession(signed): AnySession) -> Page {
    office!(state, signed, state.office.log_out(&signed.session));
    let cookie = session::set_cookie(SESSION_COOKIE, "", state.settings.secure_cookies, Some(0));
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/console/")).into_response())
}

#[derive(Template)]
#[template(path = "console/second_factor.html")]
struct SecondFactorPage {
    c: Chrome,
    enrol: bool,
    secret: String,
    url: String,
    /// The URL as a QR code for the authenticator app (inline SVG).
    qr: String,
    error: Option<String>,
}

/// `GET /console/second-factor`: the code, or the enrolment of an authenticator.
pub async fn second_factor(
    State(state): State<ConsoleState>,
    AnySession(signed): AnySession,
) -> Page {
    second_factor_page(&state, &signed, None)
}

fn second_factor_page(state: &ConsoleState, signed: &Signed, error: Option<&str>) -> Page {
    let enrol = match signed.session.second_factor {
        SecondFactor::None => return see_other(home(&signed.session.principal)),
        SecondFactor::Code => false,
        SecondFactor::Enrol => true,
    };
    let (secret, url) = if enrol {
        let enrolment = crate::office::users::new_totp_secret(&signed.session.user.login)
            .map_err(|e| failure(state, signed, &e))?;
        (enrolment.secret, enrolment.url)
    } else {
        (String::new(), String::new())
    };
    let page = SecondFactorPage {
        c: signed_chrome(state, signed, "totp-title", "/console/second-factor"),
        enrol,
        qr: if enrol {
            super::qr::svg(&url, 200).unwrap_or_default()
        } else {
            String::new()
        },
        secret,
        url,
        error: error.map(|id| state.texts.render(signed.locale, id, None)),
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    render_with(status, &page)
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
    #[serde(default)]
    secret: String,
}

/// `POST /console/second-factor`.
pub async fn give_second_factor(
    State(state): State<ConsoleState>,
    AnySession(signed): AnySession,
    Form(form): Form<CodeForm>,
) -> Page {
    match signed.session.second_factor {
        SecondFactor::None => see_other(home(&signed.session.principal)),
        SecondFactor::Enrol => {
            let done = office!(
                state,
                signed,
                state
                    .office
                    .enrol_second_factor(&signed.session, form.secret.trim(), &form.code)
            );
            if done {
                see_other(home(&signed.session.principal))
            } else {
                second_factor_page(&state, &signed, Some("totp-invalid"))
            }
        }
        SecondFactor::Code => {
            let given = office!(
                state,
                signed,
                state.office.give_second_factor(
                    &state.settings.policy,
                    &signed.session,
                    &form.code
                )
            );
            match given {
                Ok(()) => see_other(home(&signed.session.principal)),
                Err(LoginRefusal::Invalid) => {
                    second_factor_page(&state, &signed, Some("totp-invalid"))
                }
                Err(LoginRefusal::TooManyAttempts) => {
                    second_factor_page(&state, &signed, Some("login-too-many"))
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// `GET /console/lang/{ar|fr}?back=PATH`: sets the language cookie and goes back.
pub async fn switch_language(
    State(state): State<ConsoleState>,
    Path(lang): Path<String>,
    Query(back): Query<Back>,
) -> Page {
    let lang = if lang == "fr" { "fr" } else { "ar" };
    // Only a path of the console: never an open redirect.
    let back = back
        .back
        .filter(|b| b.starts_with("/console/") && !b.starts_with("//") && !b.contains("://"))
        .unwrap_or_else(|| "/console/".to_owned());
    let mut cookie = session::set_cookie(LANG_COOKIE, lang, state.settings.secure_cookies, None);
    cookie.push_str("; Max-Age=31536000");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response())
}

// ---- Dashboard. ----

/// One commune's line of the dashboard.
pub struct CommuneRow {
    pub code: String,
    pub name: String,
    pub voters: u64,
    pub centres: usize,
    pub stations: usize,
    pub near: usize,
    pub over: usize,
    pub women: usize,
    pub women_share: String,
    pub lookups: u64,
    pub not_found: String,
    pub open_reports: String,
    pub campaigns: u64,
}

/// One hour's line of the lookup table.
pub struct HourRow {
    pub hour: String,
    pub by_outcome: Vec<u64>,
    pub by_channel: Vec<u64>,
    pub total: u64,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    outcomes: Vec<(String, &'static str)>,
    channels: Vec<(String, &'static str)>,
    outcome_chart: String,
    channel_chart: String,
    hours: Vec<HourRow>,
    total: u64,
    communes: Vec<CommuneRow>,
    max_per_station: u32,
}

#[derive(Deserialize)]
pub struct CommuneQuery {
    commune: Option<String>,
}

fn parse_commune(
    state: &ConsoleState,
    signed: &Signed,
    code: Option<&str>,
) -> Result<Option<CommuneCode>, Response> {
    match code.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(code) => CommuneCode::parse(code).map(Some).map_err(|e| {
            failure(
                state,
                signed,
                &OfficeError::Rejected(format!("commune: {e}")),
            )
        }),
    }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

/// `GET /console/dashboard[?commune=CODE]`: lookups of the last 48 hours and the communes.
pub async fn dashboard(
    State(state): State<ConsoleState>,
    signed: Signed,
    Query(query): Query<CommuneQuery>,
) -> Page {
    let principal = &signed.session.principal;
    if !allows(principal.role, Permission::Monitor) {
        return see_other(home(principal));
    }
    let commune = parse_commune(&state, &signed, query.commune.as_deref())?;
    let now = crate::domain::now();
    let first_hour = now - now.rem_euclid(3600) - 47 * 3600;
    let lookups = office!(
        state,
        signed,
        state.office.lookup_stats(
            principal,
            &LookupFilter {
                since: Some(first_hour),
                until: None,
                commune: commune.clone(),
                channel: None,
            }
        )
    );
    let roll = office!(
        state,
        signed,
        state.office.roll_stats(principal, commune.as_ref())
    );
    let open_reports = if allows(principal.role, Permission::Reports) {
        let stats = office!(
            state,
            signed,
            state.office.report_stats(principal, commune.as_ref())
        );
        let mut open: BTreeMap<String, u64> = BTreeMap::new();
        for count in stats
            .counts
            .iter()
            .filter(|c| c.status == crate::store::ReportStatus::Open)
        {
            // A report filed by a citizen and a clerk counts under each source: keep the
            // larger, a lower bound of the reports.
            let entry = open.entry(count.commune.as_str().to_owned()).or_default();
            *entry = (*entry).max(count.reports);
        }
        Some(open)
    } else {
        None
    };
    let campaigns = office!(state, signed, state.office.campaigns(principal, 200));
    let mut running: BTreeMap<String, u64> = BTreeMap::new();
    for campaign in campaigns.campaigns.iter().filter(|c| {
        matches!(
            c.status,
            crate::store::CampaignStatus::Sending | crate::store::CampaignStatus::Paused
        )
    }) {
        if let Ok(audience) = serde_json::from_value::<Audience>(campaign.audience.clone()) {
            *running
                .entry(audience.commune.as_str().to_owned())
                .or_default() += 1;
        }
    }

    let outcome_names = [
        "found",
        "not_found",
        "verification_failed",
        "rate_limited_sender",
        "rate_limited_nin",
    ];
    let channel_names = ["sms", "telegram"];
    let mut hours: Vec<HourRow> = (0..48)
        .map(|i| HourRow {
            hour: chrono::DateTime::from_timestamp(first_hour + i * 3600, 0)
                .map_or_else(String::new, |t| t.format("%d/%m %H:00").to_string()),
            by_outcome: vec![0; outcome_names.len()],
            by_channel: vec![0; channel_names.len()],
            total: 0,
        })
        .collect();
    let mut per_commune: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in &lookups.rows {
        let Ok(index) = usize::try_from((row.hour - first_hour) / 3600) else {
            continue;
        };
        let Some(hour) = hours.get_mut(index) else {
            continue;
        };
        if let Some(i) = outcome_names.iter().position(|o| *o == row.outcome) {
            hour.by_outcome[i] += row.count;
        }
        if let Some(i) = channel_names.iter().position(|c| *c == row.channel) {
            hour.by_channel[i] += row.count;
        }
        hour.total += row.count;
        let entry = per_commune.entry(row.commune.clone()).or_default();
        entry.0 += row.count;
        if row.outcome != "found" {
            entry.1 += row.count;
        }
    }
    let bars = |pick: fn(&HourRow) -> &Vec<u64>| -> Vec<Bar> {
        hours
            .iter()
            .map(|h| Bar {
                label: h.hour.clone(),
                values: pick(h).clone(),
            })
            .collect()
    };
    let c = {
        let mut c = signed_chrome(&state, &signed, "dashboard-title", "/console/dashboard");
        c.refresh = Some(60);
        c
    };
    let outcome_chart = chart::stacked_bars(&c.t("dashboard-by-outcome"), &bars(|h| &h.by_outcome));
    let channel_chart = chart::stacked_bars(&c.t("dashboard-by-channel"), &bars(|h| &h.by_channel));
    let outcomes = outcome_names
        .iter()
        .enumerate()
        .map(|(i, o)| {
            (
                c.t(&format!("outcome-{}", o.replace('_', "-"))),
                chart::colour(i),
            )
        })
        .collect();
    let channels = channel_names
        .iter()
        .enumerate()
        .map(|(i, ch)| (c.t(&format!("channel-{ch}")), chart::colour(i)))
        .collect();
    let limit = u64::from(roll.max_voters_per_station);
    let near_limit = limit * 9 / 10;
    let communes = roll
        .communes
        .iter()
        .map(|commune| {
            let stations: Vec<_> = commune.centres.iter().flat_map(|c| &c.stations).collect();
            let women = stations
                .iter()
                .filter(|s| s.kind == StationKind::Women)
                .count();
            let (lookups, not_found) = per_commune.get(&commune.code).copied().unwrap_or((0, 0));
            CommuneRow {
                code: commune.code.clone(),
                name: match signed.locale {
                    Locale::Ar => commune.name_ar.clone(),
                    Locale::Fr => commune.name_fr.clone(),
                },
                voters: commune.voters,
                centres: commune.centres.len(),
                stations: stations.len(),
                near: stations
                    .iter()
                    .filter(|s| s.voters >= near_limit && s.voters <= limit)
                    .count(),
                over: stations.iter().filter(|s| s.voters > limit).count(),
                women,
                women_share: percent(women as u64, stations.len() as u64),
                lookups,
                not_found: percent(not_found, lookups),
                open_reports: open_reports.as_ref().map_or_else(
                    || "—".to_owned(),
                    |open| open.get(&commune.code).copied().unwrap_or(0).to_string(),
                ),
                campaigns: running.get(&commune.code).copied().unwrap_or(0),
            }
        })
        .collect();
    let hours: Vec<HourRow> = hours.into_iter().filter(|h| h.total > 0).collect();
    render(&DashboardPage {
        c,
        outcomes,
        channels,
        outcome_chart,
        channel_chart,
        total: lookups.total,
        hours,
        communes,
        max_per_station: roll.max_voters_per_station,
    })
}

// ---- Change sets. ----

/// A change set as listed.
pub struct ChangeRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub created_at: i64,
    pub created_by: String,
    pub communes: String,
    pub decided_by: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "console/changes.html")]
struct ChangesPage {
    c: Chrome,
    rows: Vec<ChangeRow>,
}

fn summary_text(summary: &serde_json::Value) -> String {
    let Some(map) = summary.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(_, v)| v.is_number())
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn change_row(change: &crate::store::ChangeSet) -> ChangeRow {
    ChangeRow {
        id: change.id,
        kind: change.kind.as_str().to_owned(),
        status: change.status.as_str().to_owned(),
        created_at: change.created_at,
        created_by: change.created_by.clone(),
        communes: change
            .communes
            .iter()
            .map(CommuneCode::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        decided_by: change.decided_by.clone().unwrap_or_default(),
        summary: summary_text(&change.summary),
    }
}

/// `GET /console/changes`.
pub async fn changes(State(state): State<ConsoleState>, signed: Signed) -> Page {
    let list = office!(
        state,
        signed,
        state
            .office
            .change_sets(&signed.session.principal, None, 100)
    );
    render(&ChangesPage {
        c: signed_chrome(&state, &signed, "changes-title", "/console/changes"),
        rows: list.change_sets.iter().map(change_row).collect(),
    })
}

/// A changed place, as shown.
pub struct PlaceRow {
    pub change: String,
    pub place: String,
    pub old: String,
    pub new: String,
}

#[derive(Template)]
#[template(path = "console/change.html")]
struct ChangePage {
    c: Chrome,
    row: ChangeRow,
    pending: bool,
    may_decide: bool,
    flows: Vec<(String, String, String)>,
    places: Vec<PlaceRow>,
    voters: Vec<crate::office::changes::VoterChangeView>,
}

fn short_json(value: Option<&serde_json::Value>) -> String {
    match value {
        None => String::new(),
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(" · "),
        Some(other) => other.to_string(),
    }
}

/// `GET /console/changes/{id}`.
pub async fn change(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Page {
    let principal = &signed.session.principal;
    let detail = office!(state, signed, state.office.change_set(principal, id, 50, 0));
    let flows = detail
        .change_set
        .summary
        .get("flows")
        .and_then(|f| f.as_array())
        .map(|flows| {
            flows
                .iter()
                .take(50)
                .map(|flow| {
                    let field = |name: &str| {
                        flow.get(name)
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                            .unwrap_or_default()
                    };
                    (field("from"), field("to"), field("voters"))
                })
                .collect()
        })
        .unwrap_or_default();
    let places = detail
        .places
        .iter()
        .map(|p| PlaceRow {
            change: p.change.clone(),
            place: match p.station {
                Some(station) => format!("{} / {} / {station}", p.commune, p.centre),
                None => format!("{} / {}", p.commune, p.centre),
            },
            old: short_json(p.old.as_ref()),
            new: short_json(p.new.as_ref()),
        })
        .collect();
    render(&ChangePage {
        c: signed_chrome(&state, &signed, "change-title", "/console/changes"),
        pending: detail.change_set.status == ChangeSetStatus::Pending,
        may_decide: allows(principal.role, Permission::Import),
        row: change_row(&detail.change_set),
        flows,
        places,
        voters: detail.voters,
    })
}

/// `POST /console/changes/{id}/{approve|reject}`.
pub async fn decide(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((id, decision)): Path<(i64, String)>,
) -> Page {
    let principal = &signed.session.principal;
    match decision.as_str() {
        "approve" => {
            office!(state, signed, state.office.approve(principal, id));
        }
        "reject" => {
            office!(state, signed, state.office.reject(principal, id));
        }
        _ => {
            return Err(failure(
                &state,
                &signed,
                &OfficeError::NotFound(format!("no decision {decision:?}")),
            ));
        }
    }
    see_other(&format!("/console/changes/{id}"))
}

// ---- Imports. ----

/// An import's outcome as shown after an upload.
pub struct ImportResult {
    pub ok: bool,
    pub dry_run: bool,
    pub rows: u64,
    pub counts: String,
    pub version: String,
    pub change_set: Option<i64>,
    /// Valid, but the same as the current version: nothing to review.
    pub unchanged: bool,
    pub errors: Vec<(String, String)>,
    pub error_count: u64,
    pub message: String,
}

#[derive(Template)]
#[template(path = "console/imports.html")]
struct ImportsPage {
    c: Chrome,
    may_import: bool,
    result: Option<ImportResult>,
    versions: Vec<crate::store::ImportRecord>,
}

pub(super) async fn imports_page(
    state: &ConsoleState,
    signed: &Signed,
    result: Option<ImportResult>,
    status: StatusCode,
) -> Page {
    let principal = &signed.session.principal;
    let list = office!(state, signed, state.office.imports(principal));
    render_with(
        status,
        &ImportsPage {
            c: signed_chrome(state, signed, "imports-title", "/console/imports"),
            may_import: allows(principal.role, Permission::Import),
            result,
            versions: list.imports,
        },
    )
}

/// `GET /console/imports`.
pub async fn imports(State(state): State<ConsoleState>, signed: Signed) -> Page {
    imports_page(&state, &signed, None, StatusCode::OK).await
}

// ---- Audit log. ----

#[derive(Deserialize, Default)]
pub struct AuditQueryForm {
    action: Option<String>,
    actor: Option<String>,
    commune: Option<String>,
    before: Option<i64>,
    /// Verify the whole chain (`verify=1`): it reads every entry, which takes seconds on a
    /// national log, so the page does it when asked, not on every view.
    verify: Option<String>,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    c: Chrome,
    action: String,
    actor: String,
    commune: String,
    /// The chain was verified for this view.
    verified: bool,
    chain_ok: bool,
    chain_checked: u64,
    chain_broken: String,
    entries: Vec<(i64, i64, String, String, String, String)>,
    next: Option<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `GET /console/audit?action=&actor=&commune=&before=`.
pub async fn audit(
    State(state): State<ConsoleState>,
    signed: Signed,
    Query(query): Query<AuditQueryForm>,
) -> Page {
    let principal = &signed.session.principal;
    let commune = parse_commune(&state, &signed, query.commune.as_deref())?;
    let action = non_empty(query.action);
    let actor = non_empty(query.actor);
    let page = office!(
        state,
        signed,
        state.office.audit(
            principal,
            AuditFilter {
                action: action.clone(),
                actor: actor.clone(),
                commune: commune.clone(),
                since: None,
                until: None,
                before_id: query.before,
                limit: 100,
            }
        )
    );
    let verification = if query.verify.is_some() {
        Some(office!(state, signed, state.office.verify_audit(principal)))
    } else {
        None
    };
    let next = page.next_before_id.map(|before| {
        serde_urlencoded::to_string([
            ("action", action.clone().unwrap_or_default()),
            ("actor", actor.clone().unwrap_or_default()),
            (
                "commune",
                commune
                    .as_ref()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            ("before", before.to_string()),
        ])
        .unwrap_or_default()
    });
    render(&AuditPage {
        c: signed_chrome(&state, &signed, "audit-title", "/console/audit"),
        action: action.unwrap_or_default(),
        actor: actor.unwrap_or_default(),
        commune: commune.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        verified: verification.is_some(),
        chain_ok: verification.as_ref().is_none_or(|v| v.broken.is_none()),
        chain_checked: verification.as_ref().map_or(0, |v| v.checked),
        chain_broken: match verification.and_then(|v| v.broken_id.zip(v.broken)) {
            Some((id, why)) => format!("{id}: {why}"),
            None => String::new(),
        },
        entries: page
            .entries
            .iter()
            .map(|e| {
                (
                    e.id,
                    e.at,
                    e.actor.clone(),
                    e.action.clone(),
                    e.communes
                        .iter()
                        .map(CommuneCode::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    e.details.to_string(),
                )
            })
            .collect(),
        next,
    })
}

// ---- Notices. ----

/// A campaign as listed, with its progress.
pub struct CampaignRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub audience: String,
    pub created_by: String,
    pub progress: Vec<(String, u64)>,
    pub done: u64,
    pub total: u64,
    pub controls: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "console/notices.html")]
struct NoticesPage {
    c: Chrome,
    may_broadcast: bool,
    communes: Vec<String>,
    campaigns: Vec<CampaignRow>,
}

/// `GET /console/notices`: the composer and the campaigns.
pub async fn notices(State(state): State<ConsoleState>, signed: Signed) -> Page {
    let principal = &signed.session.principal;
    let list = office!(state, signed, state.office.campaigns(principal, 30));
    let mut campaigns = Vec::new();
    for campaign in list.campaigns {
        let detail = office!(state, signed, state.office.campaign(principal, campaign.id));
        let total: u64 = detail.progress.values().sum();
        let done: u64 = ["sent", "delivered", "failed", "skipped"]
            .iter()
            .map(|s| detail.progress.get(*s).copied().unwrap_or(0))
            .sum();
        use crate::store::CampaignStatus as S;
        let controls = match campaign.status {
            S::Sending => vec!["pause", "cancel"],
            S::Paused => vec!["resume", "cancel"],
            S::Draft => vec!["cancel"],
            _ => Vec::new(),
        };
        campaigns.push(CampaignRow {
            id: campaign.id,
            kind: campaign.kind.clone(),
            status: campaign.status.to_string(),
            audience: short_json(Some(&campaign.audience)),
            created_by: campaign.created_by.clone(),
            progress: detail.progress.into_iter().collect(),
            done,
            total,
            controls,
        });
    }
    render(&NoticesPage {
        c: signed_chrome(&state, &signed, "notices-title", "/console/notices"),
        may_broadcast: allows(principal.role, Permission::Broadcast),
        communes: principal
            .communes
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        campaigns,
    })
}

#[derive(Deserialize)]
pub struct DraftForm {
    commune: String,
    #[serde(default)]
    centre: String,
    #[serde(default)]
    station: String,
    #[serde(default)]
    reporters: Option<String>,
    text_ar: String,
    text_fr: String,
}

#[derive(Template)]
#[template(path = "console/preview.html")]
struct PreviewPage {
    c: Chrome,
    id: i64,
    text_ar: String,
    text_fr: String,
    segments_ar: usize,
    segments_fr: usize,
    recipients: Vec<(String, u64)>,
    sms_segments: u64,
}

/// `POST /console/notices`: writes a draft broadcast and shows its preview.
pub async fn draft(
    State(state): State<ConsoleState>,
    signed: Signed,
    Form(form): Form<DraftForm>,
) -> Page {
    let bad = |m: String| failure(&state, &signed, &OfficeError::Rejected(m));
    let commune =
        CommuneCode::parse(form.commune.trim()).map_err(|e| bad(format!("commune: {e}")))?;
    let centre = match form.centre.trim() {
        "" => None,
        code => Some(CentreCode::parse(code).map_err(|e| bad(format!("centre: {e}")))?),
    };
    let station = match form.station.trim() {
        "" => None,
        number => Some(
            number
                .parse::<u16>()
                .map_err(|e| bad(format!("station: {e}")))?,
        ),
    };
    let audience = Audience {
        commune,
        centre,
        station,
        reporters: form.reporters.is_some(),
    };
    let draft = office!(
        state,
        signed,
        state.office.create_broadcast(
            &signed.session.principal,
            &audience,
            &form.text_ar,
            &form.text_fr
        )
    );
    render(&PreviewPage {
        c: signed_chrome(&state, &signed, "preview-title", "/console/notices"),
        id: draft.campaign,
        segments_ar: count_segments(&form.text_ar).segments,
        segments_fr: count_segments(&form.text_fr).segments,
        text_ar: form.text_ar,
        text_fr: form.text_fr,
        recipients: draft.preview.recipients.into_iter().collect(),
        sms_segments: draft.preview.sms_segments,
    })
}

/// `POST /console/notices/{id}/confirm`.
pub async fn confirm(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Page {
    office!(
        state,
        signed,
        state
            .office
            .confirm_broadcast(&signed.session.principal, id)
    );
    see_other("/console/notices")
}

/// `POST /console/campaigns/{id}/{pause|resume|cancel}`.
pub async fn control(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((id, action)): Path<(i64, String)>,
) -> Page {
    let Some(control) = Control::parse(&action) else {
        return Err(failure(
            &state,
            &signed,
            &OfficeError::NotFound(format!("no action {action:?}")),
        ));
    };
    office!(
        state,
        signed,
        state
            .office
            .control_campaign(&signed.session.principal, id, control)
    );
    see_other("/console/notices")
}

// ---- Reports. ----

#[derive(Deserialize, Default)]
pub struct ReportQueryForm {
    commune: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportsPage {
    c: Chrome,
    commune: String,
    status: String,
    from: String,
    to: String,
    export: String,
    reports: Vec<crate::office::reports::ReportView>,
    counts: Vec<(String, String, String, u64)>,
}

fn report_filter(
    state: &ConsoleState,
    signed: &Signed,
    query: &ReportQueryForm,
) -> Result<ReportFilter, Response> {
    Ok(ReportFilter {
        commune: parse_commune(state, signed, query.commune.as_deref())?,
        status: non_empty(query.status.clone()),
        from: non_empty(query.from.clone()),
        to: non_empty(query.to.clone()),
    })
}

/// `GET /console/reports?commune=&status=&from=&to=`.
pub async fn reports(
    State(state): State<ConsoleState>,
    signed: Signed,
    Query(query): Query<ReportQueryForm>,
) -> Page {
    let principal = &signed.session.principal;
    let filter = report_filter(&state, &signed, &query)?;
    let list = office!(
        state,
        signed,
        state.office.reports(principal, &filter, 200, 0)
    );
    let stats = office!(
        state,
        signed,
        state
            .office
            .report_stats(principal, filter.commune.as_ref())
    );
    let export = serde_urlencoded::to_string([
        ("commune", query.commune.clone().unwrap_or_default()),
        ("status", query.status.clone().unwrap_or_default()),
        ("from", query.from.clone().unwrap_or_default()),
        ("to", query.to.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    render(&ReportsPage {
        c: signed_chrome(&state, &signed, "reports-title", "/console/reports"),
        commune: query.commune.unwrap_or_default(),
        status: query.status.unwrap_or_default(),
        from: query.from.unwrap_or_default(),
        to: query.to.unwrap_or_default(),
        export,
        reports: list.reports,
        counts: stats
            .counts
            .iter()
            .map(|c| {
                (
                    c.commune.as_str().to_owned(),
                    c.source.as_str().to_owned(),
                    c.status.as_str().to_owned(),
                    c.reports,
                )
            })
            .collect(),
    })
}

/// `GET /console/reports/export?…`: the CSV the revision of the lists works from.
pub async fn export(
    State(state): State<ConsoleState>,
    signed: Signed,
    Query(query): Query<ReportQueryForm>,
) -> Page {
    let filter = report_filter(&state, &signed, &query)?;
    let export = office!(
        state,
        signed,
        state
            .office
            .export_reports(&signed.session.principal, &filter)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reports.csv\"",
            ),
        ],
        export.csv,
    )
        .into_response())
}

/// `POST /console/reports/handle` (`id` repeated).
pub async fn handle(
    State(state): State<ConsoleState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Page {
    let ids: Vec<i64> = form
        .iter()
        .filter(|(k, _)| k == "id")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    office!(
        state,
        signed,
        state.office.mark_handled(&signed.session.principal, &ids)
    );
    see_other("/console/reports")
}

// ---- Clerks. ----

#[derive(Template)]
#[template(path = "console/clerks.html")]
struct ClerksPage {
    c: Chrome,
    communes: Vec<String>,
    /// Code, deep link, the link's QR code (inline SVG; empty without a link), expiry.
    invitation: Option<(String, String, String, i64)>,
    clerks: Vec<crate::store::Clerk>,
}

async fn clerks_page(
    state: &ConsoleState,
    signed: &Signed,
    invitation: Option<(String, String, String, i64)>,
) -> Page {
    let principal = &signed.session.principal;
    let list = office!(state, signed, state.office.clerks(principal, None));
    render(&ClerksPage {
        c: signed_chrome(state, signed, "clerks-title", "/console/clerks"),
        communes: principal
            .communes
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        invitation,
        clerks: list.clerks,
    })
}

/// `GET /console/clerks`.
pub async fn clerks(State(state): State<ConsoleState>, signed: Signed) -> Page {
    clerks_page(&state, &signed, None).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    commune: String,
}

/// `POST /console/clerks`: invites a clerk and shows the code once, with the bot's deep link.
pub async fn invite(
    State(state): State<ConsoleState>,
    signed: Signed,
    Form(form): Form<InviteForm>,
) -> Page {
    let commune = parse_commune(&state, &signed, Some(&form.commune))?.ok_or_else(|| {
        failure(
            &state,
            &signed,
            &OfficeError::Rejected("commune: required".to_owned()),
        )
    })?;
    let invitation = office!(
        state,
        signed,
        state
            .office
            .invite_clerk(&signed.session.principal, &commune, None)
    );
    let link = state
        .settings
        .bot_username
        .as_ref()
        .map_or_else(String::new, |bot| {
            let start: String = invitation
                .code
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            format!("https://t.me/{bot}?start={start}")
        });
    let qr = if link.is_empty() {
        String::new()
    } else {
        super::qr::svg(&link, 200).unwrap_or_default()
    };
    clerks_page(
        &state,
        &signed,
        Some((invitation.code, link, qr, invitation.expires_at)),
    )
    .await
}

/// `POST /console/clerks/{id}/revoke`.
pub async fn revoke(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Page {
    office!(
        state,
        signed,
        state.office.revoke_clerk(&signed.session.principal, id)
    );
    see_other("/console/clerks")
}

// ---- Users. ----

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    c: Chrome,
    users: Vec<crate::store::UserRecord>,
    roles: Vec<&'static str>,
}

/// `GET /console/users` (national).
pub async fn users(State(state): State<ConsoleState>, signed: Signed) -> Page {
    let users = office!(state, signed, state.office.users(&signed.session.principal));
    render(&UsersPage {
        c: signed_chrome(&state, &signed, "users-title", "/console/users"),
        users,
        roles: vec!["national", "commune_admin", "clerk_supervisor", "observer"],
    })
}

#[derive(Deserialize)]
pub struct UserForm {
    login: String,
    role: String,
    #[serde(default)]
    communes: String,
    password: String,
}

/// `POST /console/users`: creates a user.
pub async fn create_user(
    State(state): State<ConsoleState>,
    signed: Signed,
    Form(form): Form<UserForm>,
) -> Page {
    let bad = |m: String| failure(&state, &signed, &OfficeError::Rejected(m));
    let role: Role = form
        .role
        .parse()
        .map_err(|e: crate::domain::UnknownRole| bad(e.to_string()))?;
    let communes = form
        .communes
        .split([',', ' '])
        .filter(|c| !c.is_empty())
        .map(|c| CommuneCode::parse(c).map_err(|e| bad(format!("commune {c:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    office!(
        state,
        signed,
        state.office.create_user(
            &signed.session.principal,
            &form.login,
            role,
            communes,
            &form.password
        )
    );
    see_other("/console/users")
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

/// `POST /console/users/{login}/{disable|reset}`.
pub async fn change_user(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((login, action)): Path<(String, String)>,
    Form(form): Form<ResetForm>,
) -> Page {
    let principal = &signed.session.principal;
    match action.as_str() {
        "disable" => {
            office!(state, signed, state.office.disable_user(principal, &login));
        }
        "reset" => {
            office!(
                state,
                signed,
                state
                    .office
                    .reset_password(principal, &login, &form.password)
            );
        }
        _ => {
            return Err(failure(
                &state,
                &signed,
                &OfficeError::NotFound(format!("no action {action:?}")),
            ));
        }
    }
    see_other("/console/users")
}
