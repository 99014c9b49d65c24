//! `maktab campaigns list|show|broadcast|confirm|pause|resume|cancel`: notice campaigns.

use anyhow::Context;
use clap::Subcommand;

use super::{commune, office, time};
use crate::config::Config;
use crate::domain::CentreCode;
use crate::office::campaigns::Control;
use crate::store::Audience;

/// Campaigns listed at most.
const MAX_LISTED: u32 = 100;

/// Campaigns of notices.
#[derive(Debug, Subcommand)]
pub enum CampaignsCommand {
    /// List campaigns, newest first.
    List,
    /// Show a campaign and its progress (pending, sent, delivered, failed...).
    Show { id: i64 },
    /// Write a broadcast to the subscribers of a commune, centre or station; prints the
    /// recipients per channel and the SMS cost, and leaves it as a draft to confirm.
    Broadcast {
        #[arg(long, value_name = "CODE")]
        commune: String,
        #[arg(long, value_name = "CODE")]
        centre: Option<String>,
        /// Needs --centre.
        #[arg(long)]
        station: Option<u16>,
        /// Reach whoever reported a citizen of the commune missing from the roll and is still
        /// waiting, instead of subscribers (no --centre or --station).
        #[arg(long, conflicts_with_all = ["centre", "station"])]
        reporters: bool,
        /// The Arabic text.
        #[arg(long)]
        ar: String,
        /// The French text.
        #[arg(long)]
        fr: String,
    },
    /// Confirm a draft broadcast: it starts sending.
    Confirm { id: i64 },
    /// Pause a sending campaign.
    Pause { id: i64 },
    /// Resume a paused campaign.
    Resume { id: i64 },
    /// Cancel a campaign: what is not sent yet never will be.
    Cancel { id: i64 },
}

pub(super) async fn run(config: &Config, command: CampaignsCommand) -> anyhow::Result<()> {
    let (office, operator) = office(config).await?;
    // Pause, resume and cancel end the same way; every other command returns first.
    let (id, action) = match command {
        CampaignsCommand::List => {
            for campaign in office.campaigns(&operator, MAX_LISTED).await?.campaigns {
                println!(
                    "#{:<4} {:<9} {:<10} {}  by {}  {}",
                    campaign.id,
                    campaign.kind,
                    campaign.status.as_str(),
                    time(campaign.created_at),
                    campaign.created_by,
                    campaign.audience
                );
            }
            return Ok(());
        }
        CampaignsCommand::Show { id } => {
            let detail = office.campaign(&operator, id).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&detail.campaign).context("showing the campaign")?
            );
            for (status, count) in detail.progress {
                println!("  {status:<10} {count:>8}");
            }
            return Ok(());
        }
        CampaignsCommand::Broadcast {
            commune: code,
            centre,
            station,
            reporters,
            ar,
            fr,
        } => {
            let audience = Audience {
                commune: commune(&code)?,
                centre: centre
                    .map(|c| CentreCode::parse(&c).with_context(|| format!("--centre {c:?}")))
                    .transpose()?,
                station,
                reporters,
            };
            let draft = office
                .create_broadcast(&operator, &audience, &ar, &fr)
                .await?;
            let id = draft.campaign;
            println!(
                "Broadcast {id} drafted. Recipients: {:?}; SMS segments: {}.",
                draft.preview.recipients, draft.preview.sms_segments
            );
            println!("Nothing is sent until you run: maktab campaigns confirm {id}");
            return Ok(());
        }
        CampaignsCommand::Confirm { id } => {
            let notices = office.confirm_broadcast(&operator, id).await?;
            println!("Campaign {id} confirmed: {notices} notices queued.");
            return Ok(());
        }
        CampaignsCommand::Pause { id } => (id, Control::Pause),
        CampaignsCommand::Resume { id } => (id, Control::Resume),
        CampaignsCommand::Cancel { id } => (id, Control::Cancel),
    };
    office.control_campaign(&operator, id, action).await?;
    println!("Campaign {id}: {} done.", action.as_str());
    Ok(())
}
