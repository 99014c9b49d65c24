//! `maktab telegram setup|info`: register the webhook and the command menu, and show what
//! Telegram knows of the webhook.

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::channels::telegram::{self, Telegram};
use crate::config::Config;
use crate::i18n::Catalog;

/// Telegram operator commands.
#[derive(Debug, Subcommand)]
pub enum TelegramCommand {
    /// Register the webhook with Telegram (setWebhook: {public_url}/webhooks/telegram, the
    /// secret, the update kinds the bot uses, max_connections) and the command menu in
    /// Arabic and French (setMyCommands). Needs MAKTAB_TELEGRAM_PUBLIC_URL too. Safe to run
    /// again.
    Setup,
    /// Print what Telegram knows of the webhook (getWebhookInfo): URL, pending updates, last
    /// delivery error.
    Info,
}

/// The configured Telegram bot, if any.
pub(super) fn bot(config: &Config) -> anyhow::Result<Option<Telegram>> {
    Telegram::from_config(&config.telegram).context("telegram")
}

pub(super) async fn run(config: &Config, command: TelegramCommand) -> anyhow::Result<()> {
    let Some(bot) = bot(config)? else {
        bail!(
            "telegram is not configured: set MAKTAB_TELEGRAM_BOT_TOKEN and MAKTAB_TELEGRAM_WEBHOOK_SECRET (or [telegram] in maktab.toml)"
        );
    };
    match command {
        TelegramCommand::Setup => {
            if bot.settings().public_url.is_none() {
                bail!(
                    "telegram setup needs the public URL of the service: set MAKTAB_TELEGRAM_PUBLIC_URL (or telegram.public_url)"
                );
            }
            let catalog = Catalog::load().context("message catalogues")?;
            let report = telegram::setup::set_up(&bot, &catalog)
                .await
                .context("telegram setup")?;
            println!("webhook set: {}", report.webhook_url);
            let languages: Vec<&str> = report
                .command_languages
                .iter()
                .map(|language| language.map_or("default", |l| l.code()))
                .collect();
            println!("command menu set for: {}", languages.join(", "));
        }
        TelegramCommand::Info => {
            let info = telegram::setup::info(&bot)
                .await
                .context("telegram getWebhookInfo")?;
            print!("{}", telegram::setup::describe(&info));
        }
    }
    Ok(())
}
