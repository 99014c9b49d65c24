//! The lane senders of the real channels: SMS through each configured provider's API,
//! Telegram through the bot's sender. Each maps its channel's outcomes onto
//! [`SendOutcome`] so the dispatcher can retry, stop, or move on.

use std::sync::Arc;

use async_trait::async_trait;

use super::{ChannelLimits, NoticeSender, SendOutcome};
use crate::channels::sms::outbound::{OutgoingSms, SendError, SmsSender};
use crate::channels::sms::{Provider, SmsGateway};
use crate::channels::telegram::Telegram;
use crate::channels::telegram::sender::{ChatDelivery, TelegramSender};
use crate::domain::PhoneNumber;
use crate::i18n::sms::count_segments;
use crate::store::{Notice, Store};

/// One SMS provider's lane sender: replies and notices through the provider's API, one attempt
/// each (the outbox row is the record, with the provider's id that delivery reports update, and
/// the dispatcher retries).
pub struct SmsNotices {
    sender: Arc<dyn SmsSender>,
}

impl SmsNotices {
    pub fn new(sender: Arc<dyn SmsSender>) -> Self {
        Self { sender }
    }

    /// The provider that carries notices and its rate: the first configured of Kannel (an
    /// operator connection), Infobip, Twilio, then the generic aggregator.
    pub fn from_gateway(gateway: &SmsGateway) -> Option<(Self, ChannelLimits)> {
        let provider = gateway.notice_provider()?;
        let (sender, limits) = sms_lane(gateway, provider)?;
        Some((sender, limits))
    }
}

/// The sender and limits of one configured provider.
pub fn sms_lane(gateway: &SmsGateway, provider: Provider) -> Option<(SmsNotices, ChannelLimits)> {
    let (sender, per_second) = gateway.sender(provider)?;
    Some((
        SmsNotices::new(sender),
        ChannelLimits {
            per_second,
            per_recipient: None,
        },
    ))
}

#[async_trait]
impl NoticeSender for SmsNotices {
    async fn send(&self, message: &Notice) -> SendOutcome {
        let Ok(to) = PhoneNumber::parse(&message.recipient) else {
            return SendOutcome::Permanent {
                error: "not a phone number".to_owned(),
                unreachable: true,
            };
        };
        let sms = OutgoingSms {
            reference: message.id,
            to,
            text: message.body.clone(),
        };
        match self.sender.send(&sms).await {
            Ok(accepted) => SendOutcome::Sent {
                provider_id: Some(accepted.provider_message_id),
            },
            Err(SendError::Temporary {
                retry_after: Some(after),
                ..
            }) => SendOutcome::RetryAfter(after),
            Err(SendError::Temporary { reason, .. }) => SendOutcome::Temporary(reason),
            Err(SendError::Permanent(error)) => SendOutcome::Permanent {
                error,
                unreachable: false,
            },
        }
    }

    fn cost(&self, body: &str) -> u32 {
        u32::try_from(count_segments(body).segments).unwrap_or(u32::MAX)
    }
}

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
        match self.sender.send_text(chat_id, &message.body).await {
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
