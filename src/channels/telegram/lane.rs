//! The Telegram bot's lane of the outbox: the bot's sender as the dispatcher's
//! [`NoticeSender`], for conversation replies (a [`ChatMessage`] with its buttons and map pin)
//! and notices (plain text) alike, a blocked chat mapped to an unreachable recipient.

use std::sync::Arc;

use async_trait::async_trait;

use super::Telegram;
use super::sender::{ChatDelivery, ChatMessage, TelegramSender};
use crate::notices::{NoticeSender, SendOutcome};
use crate::store::{Notice, Store};

/// Telegram notices through the bot.
pub struct TelegramNotices {
    sender: TelegramSender,
}

impl TelegramNotices {
    pub fn new(telegram: &Telegram, store: Arc<dyn Store>) -> Self {
        Self {
            sender: telegram.sender(store),
        }
    }
}

#[async_trait]
impl NoticeSender for TelegramNotices {
    async fn send(&self, message: &Notice) -> SendOutcome {
        let Ok(chat_id) = message.recipient.parse::<i64>() else {
            return SendOutcome::Permanent {
                error: "not a Telegram chat id".to_owned(),
                unreachable: true,
            };
        };
        let sent = if message.campaign_id.is_some() {
            self.sender.send_text(chat_id, &message.body).await
        } else {
            let Ok(reply) = serde_json::from_str::<ChatMessage>(&message.body) else {
                return SendOutcome::Permanent {
                    error: "not a stored Telegram reply".to_owned(),
                    unreachable: false,
                };
            };
            self.sender.send_reply(chat_id, &reply).await
        };
        match sent {
            Ok(ChatDelivery::Sent) => SendOutcome::Sent { provider_id: None },
            Ok(ChatDelivery::Unreachable) => SendOutcome::Permanent {
                error: "the chat blocked the bot".to_owned(),
                unreachable: true,
            },
            // The sender already waited out `retry_after` a few times.
            Err(error) => SendOutcome::Temporary(error.to_string()),
        }
    }
}
