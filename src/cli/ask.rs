//! `maktab ask`: one message through the conversation core, the replies printed as the voter
//! would get them.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::open;
use crate::config::Config;
use crate::conversation::{Conversation, Inbound};
use crate::domain::Channel;
use crate::i18n::Catalog;

/// Options of `maktab ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// The channel the message comes from.
    #[arg(long, default_value = "sms", value_name = "sms|telegram")]
    pub channel: Channel,
    /// The sender's id on that channel (a phone number or a Telegram chat id).
    #[arg(long, default_value = "cli", value_name = "ID")]
    pub from: String,
    /// The message text, as the voter would type it.
    #[arg(required = true, num_args = 1.., value_name = "TEXT")]
    pub text: Vec<String>,
}

pub(super) async fn ask(config: &Config, args: AskArgs) -> anyhow::Result<()> {
    let store = open(config).await?;
    let catalog = Catalog::load().context("message catalogues")?;
    let conversation = Conversation::new(store, Arc::new(catalog), config.conversation());
    let handled = conversation
        .handle(&Inbound {
            channel: args.channel,
            sender: args.from,
            text: args.text.join(" "),
        })
        .await;
    for reply in handled.replies {
        println!("{}", reply.text);
        if let Some(venue) = reply.venue {
            println!(
                "[venue] {} | {} | {:.5},{:.5}",
                venue.title, venue.address, venue.coordinates.latitude, venue.coordinates.longitude
            );
        }
        for button in reply.buttons {
            println!("[button] {}", button.label);
        }
    }
    Ok(())
}
