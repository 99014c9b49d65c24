//! `maktab clerk invite|list|revoke`: the clerks who file reports in the field.

use clap::Subcommand;

use super::{commune, office, time};
use crate::config::Config;
use crate::office::reports::DEFAULT_INVITE_HOURS;

/// Clerks.
#[derive(Debug, Subcommand)]
pub enum ClerkCommand {
    /// Print a one-time code for a clerk of a commune; the clerk sends `/clerk CODE` to the
    /// Telegram bot to enrol.
    Invite {
        #[arg(long, value_name = "CODE")]
        commune: String,
        /// How long the code can be used.
        #[arg(long, default_value_t = DEFAULT_INVITE_HOURS)]
        valid_hours: u32,
    },
    /// List clerks, newest first.
    List {
        #[arg(long, value_name = "CODE")]
        commune: Option<String>,
    },
    /// Revoke a clerk: they can no longer file reports.
    Revoke { id: i64 },
}

pub(super) async fn run(config: &Config, command: ClerkCommand) -> anyhow::Result<()> {
    let (office, operator) = office(config).await?;
    match command {
        ClerkCommand::Invite {
            commune: code,
            valid_hours,
        } => {
            let invitation = office
                .invite_clerk(&operator, &commune(&code)?, Some(valid_hours))
                .await?;
            println!(
                "Clerk {} invited for commune {code}. Give them this code, valid until {}:\n\n    {}\n\nThey send to the Telegram bot:  /clerk {}",
                invitation.clerk_id,
                time(invitation.expires_at),
                invitation.code,
                invitation.code
            );
        }
        ClerkCommand::List { commune: code } => {
            let code = code.as_deref().map(commune).transpose()?;
            for clerk in office.clerks(&operator, code.as_ref()).await?.clerks {
                let state = match (clerk.revoked_at, clerk.enrolled_at) {
                    (Some(at), _) => format!("revoked {}", time(at)),
                    (None, Some(at)) => format!("enrolled {}", time(at)),
                    (None, None) => format!(
                        "invited, code valid until {}",
                        clerk.invite_expires_at.map(time).unwrap_or_default()
                    ),
                };
                println!(
                    "#{:<4} commune {:<8} invited {} by {}  {}",
                    clerk.id,
                    clerk.commune,
                    time(clerk.invited_at),
                    clerk.invited_by,
                    state
                );
            }
        }
        ClerkCommand::Revoke { id } => {
            office.revoke_clerk(&operator, id).await?;
            println!("Clerk {id} revoked.");
        }
    }
    Ok(())
}
