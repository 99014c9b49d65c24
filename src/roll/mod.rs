//! The electoral map and roll as municipalities deliver them: one reader for every file
//! format they keep (`reader`: CSV, tab-separated text, Excel workbooks, in the encodings of
//! Windows PCs), validation against the legal rules, all or nothing, and diffing into change
//! sets (`import`), the file of offending rows (`errors`), and the deterministic demo data set.

pub mod demo;
mod errors;
mod import;
pub mod reader;

pub use errors::write_error_rows;
pub use import::{
    ImportError, ImportOptions, ImportOutcome, LINE_ERROR_CODES, LineError, MAX_REPORTED_ERRORS,
    ValidationReport, import_map, import_roll,
};
