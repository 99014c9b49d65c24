//! Channels: how voters reach the conversation core. Each channel only translates between a
//! provider's wire format and the core's [`Inbound`](crate::conversation::Inbound) and
//! [`Reply`](crate::conversation::Reply) values, authenticates the provider, drops retried
//! deliveries, and sends the replies back.
//!
//! - [`sms`]: SMS gateways (Kannel, Twilio, Infobip and a generic signed webhook), inbound
//!   webhooks, outbound sending with throttling and retries, delivery reports.
//! - [`telegram`]: the Telegram bot: webhook with a durable inbox, buttons, map pins,
//!   subscriptions, sending through teloxide's `Bot`.

pub mod sms;
pub mod telegram;
