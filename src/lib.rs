//! Maktab ("مكتب", the polling station) tells Algerian voters where they vote. A voter sends
//! their national ID number and birth date by SMS or Telegram, in Arabic or French, and gets
//! their polling centre, its address and their station number. Municipalities import their
//! electoral map and roll; the service keeps only what it needs to answer.
//!
//! # Layout
//!
//! - [`domain`]: values parsed once at the edge (`NationalId`, `BirthDate`, `PhoneNumber`,
//!   `Locale`, `Channel`) and the electoral map and roll with their rules.
//! - [`conversation`]: the channel-agnostic core turning an `Inbound` message into `Reply`
//!   values: intent parsing, the stored dialogue, verification and abuse limits.
//! - [`channels`]: how voters reach the core: the SMS gateways (Kannel, Twilio, Infobip, a
//!   generic signed webhook) and the Telegram bot, in and out.
//! - [`i18n`]: the Fluent catalogues in `locales/`, CLDR plurals, SMS segment counting.
//! - [`notices`]: campaigns, the outbox and the dispatcher that tells voters about changes at
//!   each channel's rate.
//! - [`reports`]: citizens missing from the roll: matching the commune they name, clerk
//!   invitation codes, and the CSV export for the revision of the lists (the dialogue is in
//!   the conversation core).
//! - [`planning`]: station planning (`maktab plan`): split and balance stations within the
//!   legal limit in alphabetical ranges, count ballots and cards, write files to import.
//! - [`roll`]: CSV import of the map and roll with validation, and the demo data set.
//! - [`store`]: the storage traits and their SQLite and PostgreSQL implementations.
//! - [`duty`]: the duty desk: tickets from voters and clerks, the roster, agents' answers
//!   and escalation, used by the conversation, the Telegram channel and the office.
//! - [`office`]: every office action (imports, change sets, campaigns, reports and clerks,
//!   tokens, statistics, the audit log) as one transport-free function, with authorization
//!   (role, commune scope, two-person rule) decided there once.
//! - [`admin`]: the admin API over the office: bearer tokens, JSON handlers and the OpenAPI
//!   document.
//! - [`console`]: the web console under `/console/` over the office: sessions, bilingual
//!   server-rendered pages.
//! - [`metrics`]: the Prometheus registry and the middleware that times every request.
//! - [`server`]: wires the parts into one router; health probes and graceful shutdown.
//! - [`config`], [`cli`]: configuration and the command line.

pub mod admin;
pub mod channels;
pub mod cli;
pub mod config;
pub mod console;
pub mod conversation;
pub mod domain;
pub mod duty;
pub mod i18n;
pub mod metrics;
pub mod notices;
pub mod office;
pub mod planning;
pub mod reports;
pub mod roll;
pub mod server;
pub mod store;
