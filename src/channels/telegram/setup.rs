//! The operator's side of the bot: `maktab telegram setup` registers the webhook and the command
//! menu in both languages, `maktab telegram info` shows what Telegram knows of the webhook.

use std::fmt::Write as _;

use teloxide::payloads::{SetMyCommandsSetters, SetWebhookSetters};
use teloxide::prelude::Requester;
use teloxide::types::{AllowedUpdate, BotCommand, WebhookInfo};

use super::webhook::PATH;
use super::{Telegram, TelegramError};
use crate::domain::Locale;
use crate::i18n::{Catalog, MessageId};

/// The update kinds the bot acts on, asked of Telegram so it sends nothing else.
pub const ALLOWED_UPDATES: [AllowedUpdate; 4] = [
    AllowedUpdate::Message,
    AllowedUpdate::EditedMessage,
    AllowedUpdate::CallbackQuery,
    AllowedUpdate::MyChatMember,
];

/// What `setup` did.
#[derive(Debug, Clone)]
pub struct SetupReport {
    pub webhook_url: url::Url,
    /// Languages the command menu was set for (`None`: the default, for every other language).
    pub command_languages: Vec<Option<Locale>>,
}

/// The webhook URL for a public base URL: `{public_url}/webhooks/telegram`.
pub fn webhook_url(public_url: &url::Url) -> Result<url::Url, TelegramError> {
    let base = public_url.as_str().trim_end_matches('/');
    url::Url::parse(&format!("{base}{PATH}")).map_err(|error| TelegramError::Url {
        name: "public_url",
        message: error.to_string(),
    })
}

/// The command menu in one language.
pub fn commands(catalog: &Catalog, locale: Locale) -> Vec<BotCommand> {
    let args = fluent_bundle::FluentArgs::new();
    [
        ("start", MessageId::TelegramCommandStart),
        ("help", MessageId::TelegramCommandHelp),
        ("language", MessageId::TelegramCommandLanguage),
        ("stop", MessageId::TelegramCommandStop),
    ]
    .into_iter()
    .map(|(command, description)| {
        BotCommand::new(command, catalog.render(locale, description, &args))
    })
    .collect()
}

/// Calls `setWebhook` (URL, secret, allowed updates, max connections) and `setMyCommands` for
/// Arabic, French and the default (Arabic, the service's default language).
pub async fn set_up(telegram: &Telegram, catalog: &Catalog) -> Result<SetupReport, TelegramError> {
    let settings = telegram.settings();
    let public_url = settings
        .public_url
        .as_ref()
        .ok_or(TelegramError::Missing("public_url"))?;
    let url = webhook_url(public_url)?;
    let bot = telegram.bot();
    bot.set_webhook(url.clone())
        .secret_token(settings.webhook_secret.expose())
        .allowed_updates(ALLOWED_UPDATES)
        .max_connections(settings.max_connections)
        .await?;
    let mut command_languages = Vec::new();
    for language in [None, Some(Locale::Ar), Some(Locale::Fr)] {
        let menu = commands(catalog, language.unwrap_or(Locale::Ar));
        let mut request = bot.set_my_commands(menu);
        if let Some(locale) = language {
            request = request.language_code(locale.code());
        }
        request.await?;
        command_languages.push(language);
    }
    Ok(SetupReport {
        webhook_url: url,
        command_languages,
    })
}

/// `getWebhookInfo`.
pub async fn info(telegram: &Telegram) -> Result<WebhookInfo, TelegramError> {
    Ok(telegram.bot().get_webhook_info().await?)
}

/// The webhook information as `maktab telegram info` prints it.
pub fn describe(info: &WebhookInfo) -> String {
    let mut text = String::new();
    let url = info.url.as_ref().map_or("(none)", url::Url::as_str);
    let _ = writeln!(text, "url: {url}");
    let _ = writeln!(text, "pending updates: {}", info.pending_update_count);
    if let Some(max) = info.max_connections {
        let _ = writeln!(text, "max connections: {max}");
    }
    if let Some(allowed) = &info.allowed_updates {
        let names: Vec<String> = allowed
            .iter()
            .map(|kind| {
                serde_json::to_value(kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("{kind:?}"))
            })
            .collect();
        let _ = writeln!(text, "allowed updates: {}", names.join(", "));
    }
    if let Some(ip) = info.ip_address {
        let _ = writeln!(text, "ip address: {ip}");
    }
    match (&info.last_error_date, &info.last_error_message) {
        (Some(date), Some(message)) => {
            let _ = writeln!(text, "last error: {} {message}", date.to_rfc3339());
        }
        (None, Some(message)) => {
            let _ = writeln!(text, "last error: {message}");
        }
        _ => {
            let _ = writeln!(text, "last error: none");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_url_is_the_public_url_and_the_route() {
        for base in ["https://maktab.example.dz", "https://maktab.example.dz/"] {
            let url = webhook_url(&url::Url::parse(base).unwrap()).unwrap();
            assert_eq!(url.as_str(), "https://maktab.example.dz/webhooks/telegram");
        }
        let url = webhook_url(&url::Url::parse("https://example.dz/maktab/").unwrap()).unwrap();
        assert_eq!(url.as_str(), "https://example.dz/maktab/webhooks/telegram");
    }

    #[test]
    fn the_command_menu_exists_in_both_languages_within_telegrams_limits() {
        let catalog = Catalog::load().unwrap();
        for locale in Locale::ALL {
            let menu = commands(&catalog, locale);
            assert_eq!(menu.len(), 4);
            for command in menu {
                let length = command.description.chars().count();
                assert!((3..=256).contains(&length), "{command:?}");
                assert!(command.command.bytes().all(|b| b.is_ascii_lowercase()));
            }
        }
        assert_ne!(
            commands(&catalog, Locale::Ar)[0].description,
            commands(&catalog, Locale::Fr)[0].description
        );
    }
}
