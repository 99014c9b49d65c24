//! The duty desk's console pages: the ticket queue (`/console/tickets`), a ticket with its
//! take, answer (with canned replies in both languages), note and close forms, and the duty
//! roster (`/console/duty`). Each handler is one office call as the signed-in user.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::{Chrome, Page, failure, non_empty, parse_commune, render, see_other, signed_chrome};
use crate::console::ConsoleState;
use crate::console::session::Signed;
use crate::office::OfficeError;
use crate::office::tickets::{ShiftInput, TicketFilter, TicketView};
use crate::store::{Shift, TicketMessage};

/// The canned replies offered under a ticket, by catalogue id (both languages are shown: the
/// agent picks the voter's).
const CANNED: [&str; 4] = [
    "canned-checking",
    "canned-card",
    "canned-centre",
    "canned-report",
];

#[derive(Template)]
#[template(path = "console/tickets.html")]
struct TicketsPage {
    c: Chrome,
    commune: String,
    status: String,
    tickets: Vec<TicketView>,
}

#[derive(Deserialize)]
pub struct TicketsQuery {
    commune: Option<String>,
    status: Option<String>,
}

/// `GET /console/tickets?commune=&status=`: the queue, incidents first.
pub async fn tickets(
    State(state): State<ConsoleState>,
    signed: Signed,
    Query(query): Query<TicketsQuery>,
) -> Page {
    let status = non_empty(query.status.clone()).unwrap_or_else(|| "open".to_owned());
    let filter = TicketFilter {
        commune: parse_commune(&state, &signed, query.commune.as_deref())?,
        status: Some(status.clone()).filter(|s| s != "all"),
    };
    let list = office!(
        state,
        signed,
        state
            .office
            .tickets(&signed.session.principal, &filter, 500)
    );
    render(&TicketsPage {
        c: signed_chrome(&state, &signed, "tickets-title", "/console/tickets"),
        commune: query.commune.unwrap_or_default(),
        status,
        tickets: list.tickets,
    })
}

#[derive(Template)]
#[template(path = "console/ticket.html")]
struct TicketPage {
    c: Chrome,
    ticket: TicketView,
    messages: Option<Vec<TicketMessage>>,
    /// (label, Arabic text, French text) of each canned reply.
    canned: Vec<(String, String, String)>,
}

/// `GET /console/tickets/{id}`.
pub async fn ticket(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Page {
    let detail = office!(
        state,
        signed,
        state.office.ticket(&signed.session.principal, id)
    );
    let canned = CANNED
        .iter()
        .map(|id| {
            (
                state
                    .texts
                    .render(signed.locale, &format!("{id}-label"), None),
                state.texts.render(crate::domain::Locale::Ar, id, None),
                state.texts.render(crate::domain::Locale::Fr, id, None),
            )
        })
        .collect();
    render(&TicketPage {
        c: signed_chrome(&state, &signed, "ticket-title", "/console/tickets"),
        ticket: detail.ticket,
        messages: detail.messages,
        canned,
    })
}

#[derive(Deserialize)]
pub struct TicketForm {
    #[serde(default)]
    text: String,
    /// A canned reply chosen instead of typed text.
    #[serde(default)]
    canned: String,
}

/// `POST /console/tickets/{id}/{action}`: take, reply, note or close.
pub async fn act(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<TicketForm>,
) -> Page {
    let principal = &signed.session.principal;
    let text = if form.text.trim().is_empty() {
        form.canned
    } else {
        form.text
    };
    match action.as_str() {
        "take" => {
            office!(state, signed, state.office.take_ticket(principal, id));
        }
        "reply" => {
            office!(
                state,
                signed,
                state.office.reply_ticket(principal, id, &text)
            );
        }
        "note" => {
            office!(
                state,
                signed,
                state.office.note_ticket(principal, id, &text)
            );
        }
        "close" => {
            office!(state, signed, state.office.close_ticket(principal, id));
        }
        other => {
            return Err(failure(
                &state,
                &signed,
                &OfficeError::NotFound(format!("no ticket action {other:?}")),
            ));
        }
    }
    see_other(&format!("/console/tickets/{id}"))
}

#[derive(Template)]
#[template(path = "console/duty.html")]
struct DutyPage {
    c: Chrome,
    shifts: Vec<Shift>,
    now: i64,
    /// The last 24 hours' follow-up of the principal's communes.
    stats: crate::office::tickets::DutyStats,
}

impl DutyPage {
    /// Seconds as whole minutes (rounded up) for the follow-up table, or a dash when nothing
    /// was measured.
    fn minutes(&self, seconds: &Option<i64>) -> String {
        seconds.map_or_else(
            || "–".to_owned(),
            |s| (s.max(0) + 59).div_euclid(60).to_string(),
        )
    }
}

/// `GET /console/duty`: the roster, with who is on duty now.
pub async fn duty(State(state): State<ConsoleState>, signed: Signed) -> Page {
    let list = office!(
        state,
        signed,
        state.office.shifts(&signed.session.principal, None)
    );
    let stats = office!(
        state,
        signed,
        state
            .office
            .duty_stats(&signed.session.principal, None, None)
    );
    render(&DutyPage {
        c: signed_chrome(&state, &signed, "duty-title", "/console/duty"),
        shifts: list.shifts,
        now: crate::domain::now(),
        stats,
    })
}

#[derive(Deserialize)]
pub struct ShiftForm {
    cell: String,
    agent: String,
    /// `YYYY-MM-DDTHH:MM`, Algerian time (what `datetime-local` sends).
    from: String,
    until: String,
    #[serde(default)]
    chat: String,
    #[serde(default)]
    locale: String,
}

/// A `datetime-local` value in Algerian time (UTC+1).
fn local(value: &str) -> Result<i64, OfficeError> {
    chrono::NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M")
        .map(|t| t.and_utc().timestamp() - 3600)
        .map_err(|_| OfficeError::Rejected(format!("{value:?}: expected a date and a time")))
}

/// `POST /console/duty`: adds a shift.
pub async fn add_shift(
    State(state): State<ConsoleState>,
    signed: Signed,
    Form(form): Form<ShiftForm>,
) -> Page {
    let times = local(&form.from).and_then(|from| Ok((from, local(&form.until)?)));
    let (starts_at, ends_at) = times.map_err(|error| failure(&state, &signed, &error))?;
    let input = ShiftInput {
        cell: form.cell,
        starts_at,
        ends_at,
        agent: form.agent,
        chat: non_empty(Some(form.chat)),
        locale: non_empty(Some(form.locale)),
    };
    office!(
        state,
        signed,
        state.office.add_shift(&signed.session.principal, &input)
    );
    see_other("/console/duty")
}

/// `POST /console/duty/{id}/remove`.
pub async fn remove_shift(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Page {
    office!(
        state,
        signed,
        state.office.remove_shift(&signed.session.principal, id)
    );
    see_other("/console/duty")
}
