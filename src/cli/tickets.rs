//! `maktab tickets ...` and `maktab duty ...`: the duty desk from the command line (the queue,
//! a ticket, answering and closing; the roster, who is on duty now, the desk's statistics).
//! Answers go to the outbox; the running service's dispatcher sends them.

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use super::{commune, open, time};
use crate::channels::sms::SmsGateway;
use crate::channels::telegram::duty::TelegramChats;
use crate::config::Config;
use crate::domain::Timestamp;
use crate::duty::{ChatOutbox, DutyDesk};
use crate::i18n::Catalog;
use crate::notices::OutboxBell;
use crate::office::tickets::{Percentiles, ShiftInput, TicketFilter, TicketView};
use crate::office::{Office, Principal, Rules};
use crate::store::Shift;

/// Tickets of the duty desk.
#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// The queue: incidents first, then oldest first.
    List {
        #[arg(long, value_name = "CODE")]
        commune: Option<String>,
        /// open or closed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// One ticket (its messages only once you own it: take it or answer it).
    Show { id: i64 },
    /// Take a ticket.
    Take { id: i64 },
    /// Answer the voter on their channel (an SMS answer takes at most 2 segments).
    Reply {
        id: i64,
        /// The answer (several words are joined with spaces).
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// An internal note.
    Note {
        id: i64,
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Close a ticket (the voter is told).
    Close { id: i64 },
}

/// The duty roster.
#[derive(Debug, Subcommand)]
pub enum DutyCommand {
    /// Add a shift: who (user:N or clerk:N) is on duty for a cell (a commune code, wNN for a
    /// wilaya's cell, national) from one time to another (Algerian time, `2026-12-12 08:00`).
    Add {
        #[arg(long)]
        cell: String,
        #[arg(long)]
        agent: String,
        #[arg(long, value_name = "TIME")]
        from: String,
        #[arg(long, value_name = "TIME")]
        until: String,
        /// The agent's Telegram chat id, where tickets reach them (a clerk's is known).
        #[arg(long)]
        chat: Option<String>,
        /// ar or fr: the language of the agent's messages.
        #[arg(long)]
        locale: Option<String>,
    },
    /// Shifts not yet over.
    List {
        #[arg(long)]
        cell: Option<String>,
    },
    /// Remove a shift.
    Remove { id: i64 },
    /// Who is on duty now.
    Now {
        #[arg(long)]
        cell: Option<String>,
    },
    /// Opened and closed per commune and hour, time to the first answer and to closing,
    /// backlog, per agent, incidents by kind.
    Stats {
        #[arg(long, value_name = "CODE")]
        commune: Option<String>,
        /// Over the last this many hours.
        #[arg(long, default_value_t = 24)]
        hours: i64,
    },
}

/// The office with a duty desk that writes to the configured channels.
async fn duty_office(config: &Config) -> anyhow::Result<(Office, Principal)> {
    let store = open(config).await?;
    let catalog = Arc::new(Catalog::load().context("message catalogues")?);
    let sms = SmsGateway::from_config(&config.sms).context("SMS configuration")?;
    let provider = sms.notice_provider().map(|p| p.as_str().to_owned());
    let bell = OutboxBell::default();
    let chats = config.telegram.bot_token.is_some().then(|| {
        Arc::new(TelegramChats::new(Arc::clone(&store), bell.clone())) as Arc<dyn ChatOutbox>
    });
    let desk = DutyDesk::new(
        Arc::clone(&store),
        Arc::clone(&catalog),
        crate::server::duty_settings(config, provider),
        bell,
    )
    .with_chats(chats);
    let office = Office::new(store, catalog, Rules::from_config(config)).with_duty(desk);
    Ok((office, Principal::command_line()))
}

fn line(ticket: &TicketView) -> String {
    let kind = match (&ticket.incident_kind, ticket.kind.as_str()) {
        (Some(kind), _) => format!("incident:{kind}"),
        (None, kind) => kind.to_owned(),
    };
    format!(
        "#{:<5} {:<6} {:<24} commune {:<6} {:<8} {:<14} {} owner {}{}",
        ticket.id,
        ticket.status.as_str(),
        kind,
        ticket.commune,
        ticket.channel,
        ticket.sender,
        time(ticket.created_at),
        ticket.owner_name.as_deref().unwrap_or("-"),
        if ticket.escalation_level > 0 {
            "  ESCALATED"
        } else {
            ""
        }
    )
}

pub(super) async fn run_tickets(config: &Config, command: TicketsCommand) -> anyhow::Result<()> {
    let (office, operator) = duty_office(config).await?;
    match command {
        TicketsCommand::List {
            commune: code,
            status,
            limit,
        } => {
            let filter = TicketFilter {
                commune: code.as_deref().map(commune).transpose()?,
                status,
            };
            for ticket in office.tickets(&operator, &filter, limit).await?.tickets {
                println!("{}", line(&ticket));
            }
        }
        TicketsCommand::Show { id } => {
            let detail = office.ticket(&operator, id).await?;
            println!("{}", line(&detail.ticket));
            match detail.messages {
                Some(messages) => {
                    for message in messages {
                        println!(
                            "  {} {:<5} {}: {}",
                            time(message.created_at),
                            message.origin.as_str(),
                            message.author.as_deref().unwrap_or("voter"),
                            message.body
                        );
                    }
                }
                None => println!("  (messages are shown to the ticket's owner only)"),
            }
        }
        TicketsCommand::Take { id } => {
            let ticket = office.take_ticket(&operator, id).await?;
            println!("Ticket {} is yours.", ticket.id);
        }
        TicketsCommand::Reply { id, text } => {
            office.reply_ticket(&operator, id, &text.join(" ")).await?;
            println!("Answer to ticket {id} queued for the voter.");
        }
        TicketsCommand::Note { id, text } => {
            office.note_ticket(&operator, id, &text.join(" ")).await?;
            println!("Note added to ticket {id}.");
        }
        TicketsCommand::Close { id } => {
            office.close_ticket(&operator, id).await?;
            println!("Ticket {id} closed.");
        }
    }
    Ok(())
}

/// A time as an officer types it, in Algerian time (UTC+1): `2026-12-12 08:00` or
/// `2026-12-12T08:00`; or a Unix timestamp.
fn local_time(value: &str) -> anyhow::Result<Timestamp> {
    if let Ok(timestamp) = value.trim().parse::<Timestamp>() {
        return Ok(timestamp);
    }
    let text = value.trim().replace('T', " ");
    let naive = chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M")
        .with_context(|| format!("{value:?}: expected YYYY-MM-DD HH:MM (Algerian time)"))?;
    Ok(naive.and_utc().timestamp() - 3600)
}

fn shift_line(shift: &Shift) -> String {
    format!(
        "#{:<5} {:<9} {:<12} {} .. {}",
        shift.id,
        shift.cell,
        shift.agent,
        crate::duty::roster::local_time(shift.starts_at),
        crate::duty::roster::local_time(shift.ends_at)
    )
}

fn seconds(p: &Percentiles) -> String {
    let show = |s: Option<i64>| s.map_or_else(|| "-".to_owned(), |s| format!("{s} s"));
    format!("p50 {}, p90 {} (of {})", show(p.p50), show(p.p90), p.count)
}

pub(super) async fn run_duty(config: &Config, command: DutyCommand) -> anyhow::Result<()> {
    let (office, operator) = duty_office(config).await?;
    match command {
        DutyCommand::Add {
            cell,
            agent,
            from,
            until,
            chat,
            locale,
        } => {
            let input = ShiftInput {
                cell,
                starts_at: local_time(&from)?,
                ends_at: local_time(&until)?,
                agent,
                chat,
                locale,
            };
            let shift = office.add_shift(&operator, &input).await?;
            println!("Shift added: {}", shift_line(&shift));
        }
        DutyCommand::List { cell } => {
            for shift in office.shifts(&operator, cell.as_deref()).await?.shifts {
                println!("{}", shift_line(&shift));
            }
        }
        DutyCommand::Remove { id } => {
            office.remove_shift(&operator, id).await?;
            println!("Shift {id} removed.");
        }
        DutyCommand::Now { cell } => {
            let shifts = office.on_duty(&operator, cell.as_deref()).await?.shifts;
            if shifts.is_empty() {
                println!("Nobody is on duty now.");
            }
            for shift in shifts {
                println!("{}", shift_line(&shift));
            }
        }
        DutyCommand::Stats {
            commune: code,
            hours,
        } => {
            let code = code.as_deref().map(commune).transpose()?;
            let from = crate::domain::now() - hours.max(1) * 3600;
            let stats = office
                .duty_stats(&operator, code.as_ref(), Some(from))
                .await?;
            println!("Since {}:", time(stats.from));
            println!(
                "  opened {}, closed {}, backlog {} ({} unanswered), escalated {}",
                stats.opened, stats.closed, stats.backlog, stats.unanswered, stats.escalated
            );
            println!("  first answer: {}", seconds(&stats.first_answer));
            println!("  to close:     {}", seconds(&stats.to_close));
            for (kind, count) in &stats.incidents {
                println!("  incidents {kind}: {count}");
            }
            for agent in &stats.per_agent {
                println!(
                    "  agent {} ({}): taken {}, closed {}, first answer {}",
                    agent.name,
                    agent.agent,
                    agent.taken,
                    agent.closed,
                    seconds(&agent.first_answer)
                );
            }
            for hour in &stats.per_hour {
                println!(
                    "  {} commune {}: opened {}, closed {}",
                    time(hour.hour),
                    hour.commune,
                    hour.opened,
                    hour.closed
                );
            }
        }
    }
    Ok(())
}
