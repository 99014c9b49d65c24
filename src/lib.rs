//! Maktab ("مكتب", the polling station) tells Algerian voters where they vote. A voter sends
//! their national ID number and birth date by SMS or Telegram, in Arabic or French, and gets
//! their polling centre, its address and their station number. Municipalities import their
//! electoral map and roll; the service keeps only what it needs to answer.
//!
//! # Layout
//!
//! - [`domain`]: values parsed once at the edge (`NationalId`, `BirthDate`, `Locale`,
//!   `Channel`) and the electoral map and roll with their rules.
//! - [`conversation`]: the channel-agnostic core turning an `Inbound` message into `Reply`
//!   values: intent parsing, the stored dialogue, verification and abuse limits.
//! - [`channels`]: each channel's webhook, wire format and sending (`channels::telegram`: the
//!   Telegram bot).
//! - [`i18n`]: the Fluent catalogues in `locales/`, CLDR plurals, SMS segment counting.
//! - [`roll`]: CSV import of the map and roll with validation, and the demo data set.
//! - [`store`]: the storage trait and its SQLite implementation.
//! - [`server`]: the HTTP router, health probes and graceful shutdown.
//! - [`config`], [`cli`]: configuration and the command line.

pub mod channels;
pub mod cli;
pub mod config;
pub mod conversation;
pub mod domain;
pub mod i18n;
pub mod roll;
pub mod server;
pub mod store;
