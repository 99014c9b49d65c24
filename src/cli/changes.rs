//! `maktab changes list|show|approve|reject`: reviewing change sets.

use anyhow::Context;
use clap::Subcommand;

use super::{office, time};
use crate::config::Config;
use crate::domain::CommuneCode;
use crate::store::ChangeSetStatus;

/// Change sets listed at most.
const MAX_LISTED: u32 = 100;

/// Change set review.
#[derive(Debug, Subcommand)]
pub enum ChangesCommand {
    /// List change sets, newest first.
    List {
        /// Only pending, approved, rejected or superseded ones.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a change set: counts, station flows, changed places and the first voters (NINs
    /// masked).
    Show {
        id: i64,
        /// How many voter changes to list.
        #[arg(long, default_value_t = 20)]
        voters: u32,
    },
    /// Approve: the new version becomes current and subscribers of affected voters are told.
    Approve { id: i64 },
    /// Reject: the new version is discarded.
    Reject { id: i64 },
}

pub(super) async fn run(config: &Config, command: ChangesCommand) -> anyhow::Result<()> {
    let (office, operator) = office(config).await?;
    match command {
        ChangesCommand::List { status } => {
            let status = status
                .map(|s| s.parse::<ChangeSetStatus>().map_err(anyhow::Error::msg))
                .transpose()?;
            let list = office.change_sets(&operator, status, MAX_LISTED).await?;
            for change_set in list.change_sets {
                let communes: Vec<&str> = change_set
                    .communes
                    .iter()
                    .map(CommuneCode::as_str)
                    .collect();
                // The imports' ids, not version numbers: offices are told "version N" only
                // for versions that became current, and a pending import has none yet.
                println!(
                    "#{:<4} {:<10} {:<5} import {} -> import {}  {}  by {}  [{}] {}",
                    change_set.id,
                    change_set.status.as_str(),
                    change_set.kind.as_str(),
                    change_set.base_version,
                    change_set.new_version,
                    time(change_set.created_at),
                    change_set.created_by,
                    communes.join(","),
                    change_set.summary
                );
            }
        }
        ChangesCommand::Show { id, voters } => {
            let detail = office.change_set(&operator, id, voters, 0).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&detail.change_set)
                    .context("showing the change set")?
            );
            for place in detail.places {
                println!(
                    "  {} {}/{}{}",
                    place.change,
                    place.commune,
                    place.centre,
                    place.station.map(|s| format!("/{s}")).unwrap_or_default()
                );
            }
            for change in detail.voters {
                println!(
                    "  {:?} {} {} -> {}",
                    change.change,
                    change.nin,
                    change.from.as_deref().unwrap_or("-"),
                    change.to.as_deref().unwrap_or("-")
                );
            }
        }
        ChangesCommand::Approve { id } => {
            let approval = office.approve(&operator, id).await?;
            println!(
                "Change set {id} approved: now current. Campaign {} will send {} notices.",
                approval.campaign, approval.notices
            );
        }
        ChangesCommand::Reject { id } => {
            office.reject(&operator, id).await?;
            println!("Change set {id} rejected: its version was discarded.");
        }
    }
    Ok(())
}
