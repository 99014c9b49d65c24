//! Channels: how voters reach the conversation core. Each channel only translates between a
//! provider's wire format and the core's [`Inbound`](crate::conversation::Inbound) and
//! [`Reply`](crate::conversation::Reply) values, authenticates the provider, drops retried
//! deliveries, and sends the replies back.
//!
//! - [`sms`]: SMS gateways (Kannel, Twilio, Infobip and a generic signed webhook), inbound
//!   webhooks, each provider's sending API and its lane of the outbox, delivery reports.
//! - [`telegram`]: the Telegram bot: webhook with a durable inbox, buttons, map pins,
//!   subscriptions, sending through teloxide's `Bot`, its lane of the outbox.
//!
//! Everything that leaves goes through the outbox ([`crate::notices`]): a channel hands
//! replies it cannot carry in the webhook's own response to
//! [`OutboxStore::enqueue_reply`](crate::store::OutboxStore::enqueue_reply) and rings the
//! [`OutboxBell`](crate::notices::OutboxBell); its lane sender (a
//! [`NoticeSender`](crate::notices::NoticeSender)) sends them, with the channel's notices, at
//! the channel's one rate.
//!
//! # Adding a channel (WhatsApp, say)
//!
//! 1. A variant of [`Channel`](crate::domain::Channel) and its row in
//!    [`Channel::capabilities`](crate::domain::Channel::capabilities) (does a lookup
//!    subscribe, do clerks work there, are messages counted in segments, buttons, map pins):
//!    the conversation core and the outbox ask these, never the channel's name.
//! 2. One folder here, `channels/whatsapp/`: its configuration (a `config` struct read from
//!    `maktab.toml` and `MAKTAB_WHATSAPP_*`), its inbound route with its own state (like
//!    [`sms::routes`] and [`sms::SmsState`]) that authenticates the caller, drops retried
//!    message ids (`Store::first_delivery`), turns the message into an
//!    [`Inbound`](crate::conversation::Inbound) and enqueues the replies, and its lane sender
//!    (like [`sms::lane::SmsNotices`]) mapping the provider's answers onto
//!    [`SendOutcome`](crate::notices::SendOutcome).
//! 3. One registration in `server.rs`: merge its router and add its lane to the dispatcher
//!    (`Dispatcher::with_lane`) with the provider's rate.
//! 4. Its locale texts, if it has words of its own (`locales/{ar,fr}/whatsapp.ftl`); the
//!    catalogue test checks both languages.

pub mod sms;
pub mod telegram;
