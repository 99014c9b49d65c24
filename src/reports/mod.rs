//! Citizens missing from the roll: what the conversation and the admin API share about their
//! reports. Finding the commune a citizen names ([`communes`]), clerk invitation codes
//! ([`clerks`]) and the CSV export for the revision of the lists ([`export`]). The dialogue
//! itself lives in the conversation core, storage in [`crate::store::ReportStore`], and the
//! "you are now registered" notices in [`crate::notices::prepare`].

pub mod clerks;
pub mod communes;
pub mod export;
