//! Duty desk benchmark: a simulated election day. 10,000 tickets across 100 communes arrive
//! between 08:00 and 19:00 (more in the morning and at the evening rush); each commune has two
//! agents on duty who take the oldest ticket (incidents first) when free, answer it after
//! reading (30 to 150 s) and close it after the conversation (1 to 10 min). Every step goes
//! through the real duty desk over SQLite (open with the push to the agents, take, answer
//! into the outbox, close) on a simulated clock, and the escalation runs every simulated
//! minute. Prints the response-time figures of the day (time to the first answer and to
//! closing, p50 and p90, from the desk's own statistics) and how fast the desk ran.
//!
//! `cargo bench --bench duty`; `MAKTAB_BENCH_TICKETS` (default 10,000),
//! `MAKTAB_BENCH_COMMUNES` (default 100), `MAKTAB_BENCH_AGENTS` (per commune, default 2).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use maktab::domain::{Channel, CommuneCode, Locale, Timestamp};
use maktab::duty::{Actor, ChatOutbox, ChatPush, DutyDesk, DutySettings};
use maktab::i18n::Catalog;
use maktab::notices::OutboxBell;
use maktab::office::tickets::stats_of;
use maktab::store::{
    self, DutyAgent, INCIDENT_PRIORITY, IncidentKind, NewAuditEntry, NewShift, NewTicket,
    StoreError, TicketKind, TicketQuery,
};

mod common;
use common::env_number;

/// 08:00 in Algiers on a day of 2026 (07:00 UTC).
const DAY_START: Timestamp = 1_796_540_400;
const DAY_SECONDS: i64 = 11 * 3600;

/// Counts what the desk would send to agents' chats.
#[derive(Default)]
struct CountingChats(AtomicU64);

#[async_trait]
impl ChatOutbox for CountingChats {
    async fn push(&self, _chat: &str, _push: &ChatPush, _now: Timestamp) -> Result<(), StoreError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A small deterministic generator (xorshift), so every run simulates the same day.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }
}

/// An arrival time in the day: a third in the morning peak, a third at the evening rush.
fn arrival(random: &mut Random) -> Timestamp {
    let offset = match random.next() % 3 {
        0 => random.between(0, 3 * 3600),
        1 => random.between(8 * 3600, DAY_SECONDS - 1),
        _ => random.between(0, DAY_SECONDS - 1),
    };
    DAY_START + offset
}

/// What happens next in the simulated day, in time order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A ticket arrives (its index in the day's list).
    Open(usize),
    /// An agent of a commune is free to take the next ticket.
    Free { commune: usize, agent: usize },
    /// The agent answers the ticket they took.
    Answer {
        ticket: i64,
        commune: usize,
        agent: usize,
    },
    /// The agent closes it and is free again.
    Close {
        ticket: i64,
        commune: usize,
        agent: usize,
    },
}

#[tokio::main]
async fn main() {
    let tickets = env_number("MAKTAB_BENCH_TICKETS", 10_000) as usize;
    let communes = env_number("MAKTAB_BENCH_COMMUNES", 100) as usize;
    let agents = env_number("MAKTAB_BENCH_AGENTS", 2) as usize;
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("duty.db").display());
    let store = store::connect(&url).await.expect("database");
    let chats = Arc::new(CountingChats::default());
    let desk = DutyDesk::new(
        Arc::clone(&store),
        Arc::new(Catalog::load().expect("catalogues")),
        DutySettings {
            sms_provider: Some("generic".to_owned()),
            ..DutySettings::default()
        },
        OutboxBell::default(),
    )
    .with_chats(Some(Arc::clone(&chats) as Arc<dyn ChatOutbox>));
    println!(
        "# Maktab duty desk benchmark: {tickets} tickets, {communes} communes, {agents} agents each, one simulated day (08:00-19:00)"
    );

    let code = |c: usize| {
        CommuneCode::parse(&format!("{:02}{:02}", 1 + c / 40, 1 + c % 40)).expect("code")
    };
    let actor = |c: usize, a: usize| Actor {
        id: format!("user:{}", c * agents + a + 1),
        name: format!("agent {c}-{a}"),
    };
    for c in 0..communes {
        for a in 0..agents {
            let agent = actor(c, a);
            store
                .save_duty_agent(&DutyAgent {
                    agent: agent.id.clone(),
                    name: agent.name.clone(),
                    chat: format!("{}", 700_000 + c * agents + a),
                    locale: Locale::Ar,
                })
                .await
                .expect("agent");
            store
                .add_shift(
                    &NewShift {
                        cell: code(c).as_str().to_owned(),
                        starts_at: DAY_START,
                        ends_at: DAY_START + DAY_SECONDS + 3 * 3600,
                        agent: agent.id.clone(),
                        created_by: "bench".to_owned(),
                        created_at: DAY_START,
                    },
                    NewAuditEntry {
                        at: DAY_START,
                        actor: "bench (cli:bench)".to_owned(),
                        action: "duty.shift_add".to_owned(),
                        communes: vec![code(c)],
                        details: serde_json::json!({}),
                    },
                )
                .await
                .expect("shift");
        }
    }

    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let day: Vec<(Timestamp, usize, bool)> = (0..tickets)
        .map(|_| {
            let commune = (random.next() % communes as u64) as usize;
            // One ticket in twenty is a clerk's incident.
            (
                arrival(&mut random),
                commune,
                random.next().is_multiple_of(20),
            )
        })
        .collect();
    let mut events: BinaryHeap<Reverse<(Timestamp, Event)>> = day
        .iter()
        .enumerate()
        .map(|(i, (at, _, _))| Reverse((*at, Event::Open(i))))
        .collect();
    // Each commune's queue: (priority first, then arrival) of opened, untaken tickets.
    let mut queues: Vec<BinaryHeap<Reverse<(i64, Timestamp, i64)>>> =
        (0..communes).map(|_| BinaryHeap::new()).collect();
    let mut idle: Vec<Vec<bool>> = vec![vec![true; agents]; communes];
    let mut next_escalation = DAY_START;
    let mut escalated = 0;
    let mut steps = 0u64;
    let started = Instant::now();
    while let Some(Reverse((at, event))) = events.pop() {
        while next_escalation <= at {
            escalated += desk.escalate(next_escalation).await.expect("escalate");
            next_escalation += 60;
        }
        steps += 1;
        match event {
            Event::Open(i) => {
                let (_, commune, incident) = day[i];
                let ticket = NewTicket {
                    commune: code(commune),
                    channel: Channel::Sms,
                    sender: format!("+21355{i:07}"),
                    sender_masked: format!("+213*******{:02}", i % 100),
                    locale: Locale::Ar,
                    kind: if incident {
                        TicketKind::Incident
                    } else {
                        TicketKind::Voter
                    },
                    incident_kind: incident.then_some(IncidentKind::MissingMaterial),
                    centre: None,
                    priority: if incident { INCIDENT_PRIORITY } else { 0 },
                    first_message: Some("بطاقتي تحمل مكتبا آخر".to_owned()),
                };
                let opened = desk.open(&ticket, at).await.expect("open");
                queues[commune].push(Reverse((-ticket.priority, at, opened.ticket.id)));
                if let Some(agent) = idle[commune].iter().position(|free| *free) {
                    idle[commune][agent] = false;
                    events.push(Reverse((at, Event::Free { commune, agent })));
                }
            }
            Event::Free { commune, agent } => match queues[commune].pop() {
                Some(Reverse((_, _, ticket))) => {
                    desk.take(ticket, &actor(commune, agent), at)
                        .await
                        .expect("take");
                    let reading = random.between(30, 150);
                    events.push(Reverse((
                        at + reading,
                        Event::Answer {
                            ticket,
                            commune,
                            agent,
                        },
                    )));
                }
                None => idle[commune][agent] = true,
            },
            Event::Answer {
                ticket,
                commune,
                agent,
            } => {
                desk.reply(
                    ticket,
                    &actor(commune, agent),
                    "مكتبك هو 3 في مدرسة الأمير.",
                    at,
                )
                .await
                .expect("reply");
                let talk = random.between(60, 600);
                events.push(Reverse((
                    at + talk,
                    Event::Close {
                        ticket,
                        commune,
                        agent,
                    },
                )));
            }
            Event::Close {
                ticket,
                commune,
                agent,
            } => {
                desk.close(ticket, &actor(commune, agent), true, at)
                    .await
                    .expect("close");
                events.push(Reverse((at, Event::Free { commune, agent })));
            }
        }
    }
    let elapsed = started.elapsed();
    let all = store
        .tickets(&TicketQuery {
            limit: u32::try_from(tickets + 10).unwrap_or(u32::MAX),
            ..Default::default()
        })
        .await
        .expect("tickets");
    let stats = stats_of(&all, DAY_START);
    let minutes = |s: Option<i64>| {
        s.map_or_else(|| "-".to_owned(), |s| format!("{:.1} min", s as f64 / 60.0))
    };
    println!(
        "tickets opened {}, closed {}, incidents {}, escalated {escalated}",
        stats.opened,
        stats.closed,
        stats.incidents.values().sum::<u64>()
    );
    println!(
        "time to first answer: p50 {}, p90 {}",
        minutes(stats.first_answer.p50),
        minutes(stats.first_answer.p90)
    );
    println!(
        "time to close:        p50 {}, p90 {}",
        minutes(stats.to_close.p50),
        minutes(stats.to_close.p90)
    );
    let incidents: Vec<_> = all
        .iter()
        .filter(|t| t.kind == TicketKind::Incident)
        .cloned()
        .collect();
    let incident_stats = stats_of(&incidents, DAY_START);
    println!(
        "incidents, first answer: p50 {}, p90 {}",
        minutes(incident_stats.first_answer.p50),
        minutes(incident_stats.first_answer.p90)
    );
    let busiest = stats
        .per_hour
        .iter()
        .max_by_key(|h| h.opened)
        .map(|h| h.opened)
        .unwrap_or(0);
    println!(
        "busiest commune-hour: {busiest} tickets opened; pushes to agents' chats: {}",
        chats.0.load(Ordering::Relaxed)
    );
    println!(
        "desk steps (open, take, answer, close): {steps} in {:.1} s, {:.0} steps/s; {} escalation rounds",
        elapsed.as_secs_f64(),
        steps as f64 / elapsed.as_secs_f64(),
        (next_escalation - DAY_START) / 60
    );
}
