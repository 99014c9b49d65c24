//! The duty desk's way to Telegram chats: a new ticket pushed to an agent with its "take it"
//! button, an agent's answer to a voter who wrote on Telegram. Each is one outbox row in the
//! stored form of a Telegram reply, sent by the Telegram lane like every other message.

use async_trait::async_trait;
use std::sync::Arc;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::sender::ChatMessage;
use super::updates::CallbackData;
use crate::domain::{Channel, Timestamp};
use crate::duty::{ChatOutbox, ChatPush};
use crate::notices::OutboxBell;
use crate::store::{NewReply, Store, StoreError};

/// Writes the duty desk's chat messages to the outbox and wakes the Telegram lane.
pub struct TelegramChats {
    store: Arc<dyn Store>,
    bell: OutboxBell,
}

impl TelegramChats {
    pub fn new(store: Arc<dyn Store>, bell: OutboxBell) -> Self {
        Self { store, bell }
    }
}

#[async_trait]
impl ChatOutbox for TelegramChats {
    async fn push(&self, chat: &str, push: &ChatPush, now: Timestamp) -> Result<(), StoreError> {
        let keyboard = push.take.map(|ticket| {
            InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
                push.take_label.clone().unwrap_or_default(),
                CallbackData::Take(ticket).encode(),
            )]])
        });
        let message = ChatMessage {
            text: push.text.clone(),
            keyboard,
            venue: None,
        };
        let body = serde_json::to_string(&message)
            .map_err(|error| StoreError::Corrupt(format!("telegram duty message: {error}")))?;
        self.store
            .enqueue_reply(
                &NewReply {
                    channel: Channel::Telegram,
                    provider: None,
                    recipient: chat,
                    locale: push.locale,
                    body: &body,
                    message: push.message,
                    segments: 1,
                },
                now,
            )
            .await?;
        self.bell.ring();
        Ok(())
    }
}
