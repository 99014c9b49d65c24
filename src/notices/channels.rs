//! The notice senders of the real channels: SMS through the configured provider's outbound
//! path, Telegram through the bot's sender. Each maps its channel's outcomes onto
//! [`SendOutcome`] so the dispatcher can retry, stop, or move on.

use std::sync::Arc;

use async_trait::async_trait;

use super::{ChannelLimits, NoticeSender, SendOutcome};
use crate::channels::sms::outbound::Outbound;
use crate::channels::sms::{Provider, SmsGateway};
use crate::channels::telegram::Telegram;
use crate::channels::telegram::sender::{Delivery, TelegramSender};
use crate::config::SmsConfig;
use crate::domain::{Locale, PhoneNumber};
use crate::i18n::sms::count_segments;
use crate::store::{DeliveryStatus, Store};

/// SMS notices through one provider.
pub struct SmsNotices {
    outbound: Arc<Outbound>,
}

impl SmsNotices {
    /// The provider notices go through and its rate: the first configured of Kannel (an
    /// operator connection), Infobip, Twilio, then the generic aggregator.
    pub fn from_gateway(gateway: &SmsGateway, config: &SmsConfig) -> Option<(Self, ChannelLimits)> {
        [
            (Provider::Kannel, config.kannel.segments_per_second),
            (Provider::Infobip, config.infobip.segments_per_second),
            (Provider::Twilio, config.twilio.segments_per_second),
            (Provider::Generic, config.generic.segments_per_second),
        ]
        .into_iter()
        .find_map(|(provider, rate)| {
            gateway.outbound(provider).map(|outbound| {
                (
                    Self { outbound },
                    ChannelLimits {
                        per_second: rate,
                        per_recipient: None,
                    },
                )
            })
        })
    }
}

#[async_trait]
impl NoticeSender for SmsNotices {
    async fn send(&self, recipient: &str, _locale: Locale, body: &str) -> SendOutcome {
        let Ok(to) = PhoneNumber::parse(recipient) else {
            return SendOutcome::Permanent {
                error: "not a phone number".to_owned(),
                unreachable: true,
            };
        };
        match self.outbound.send(&to, body, "notice").await {
            Ok(outcome) if outcome.status == DeliveryStatus::Failed => {
                let reason = outcome.reason.unwrap_or_default();
                // The outbound path already retried temporary failures; what it gave up on
                // after retries may still pass later, a refusal will not.
                if reason.starts_with("gave up after") {
                    SendOutcome::Temporary(reason)
                } else {
                    SendOutcome::Permanent {
                        error: reason,
                        unreachable: false,
                    }
                }
            }
            Ok(outcome) => SendOutcome::Sent {
                provider_id: outcome.provider_message_id,
            },
            Err(error) => SendOutcome::Temporary(error.to_string()),
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
    async fn send(&self, recipient: &str, _locale: Locale, body: &str) -> SendOutcome {
        let Ok(chat_id) = recipient.parse::<i64>() else {
            return SendOutcome::Permanent {
                error: "not a Telegram chat id".to_owned(),
                unreachable: true,
            };
        };
        match self.sender.send_text(chat_id, body).await {
            Ok(Delivery::Sent) => SendOutcome::Sent { provider_id: None },
            Ok(Delivery::Unreachable) => SendOutcome::Permanent {
                error: "the chat blocked the bot".to_owned(),
                unreachable: true,
            },
            // The sender already waited out `retry_after` a few times.
            Err(error) => SendOutcome::Temporary(error.to_string()),
        }
    }
}
