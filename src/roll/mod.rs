//! The electoral map and roll as municipalities deliver them: CSV import with validation
//! against the legal rules, all or nothing, and the deterministic demo data set.

pub mod demo;
mod import;

pub use import::{
    ImportError, ImportOptions, ImportOutcome, LineError, MAX_REPORTED_ERRORS, ValidationReport,
    import_map, import_roll,
};
