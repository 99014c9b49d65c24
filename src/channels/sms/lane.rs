//! The SMS providers' lanes of the outbox: each configured provider's sending API as the
//! dispatcher's [`NoticeSender`], its outcomes mapped onto [`SendOutcome`] so the dispatcher
//! can retry, stop, or move on.

use std::sync::Arc;

use async_trait::async_trait;

use super::outbound::{OutgoingSms, SendError, SmsSender};
use super::{Provider, SmsGateway};
use crate::domain::PhoneNumber;
use crate::i18n::sms::count_segments;
use crate::notices::{ChannelLimits, NoticeSender, SendOutcome};
use crate::store::Notice;

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
