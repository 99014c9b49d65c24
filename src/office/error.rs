//! The one error type of office actions. Each variant says what went wrong in the caller's
//! terms; the transports (the admin API, the command line) decide how to show it. A storage
//! failure keeps its cause as the error's `source`, so that the command line can print the
//! whole chain and the API can log it.

use crate::roll::ValidationReport;
use crate::store::StoreError;

/// Why an office action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    /// The principal's role or communes do not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist (or the action is unknown).
    #[error("{0}")]
    NotFound(String),
    /// The object is not in a state that allows the action.
    #[error("{0}")]
    Conflict(String),
    /// The input is invalid.
    #[error("{0}")]
    Rejected(String),
    /// An import file failed validation (or held rows of communes the principal may not
    /// change: `out_of_scope` counts them). Nothing was changed.
    #[error("the file was rejected with {} error(s); nothing was changed", .0.error_count)]
    ImportRejected(ValidationReport),
    /// An import's input could not be read.
    #[error("cannot read the file")]
    Unreadable(#[source] std::io::Error),
    /// The database failed.
    #[error("the database failed")]
    Store(#[source] StoreError),
    /// Something the action needs is missing from this machine (randomness, a writer).
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for OfficeError {
    fn from(error: StoreError) -> Self {
        match error {
            // A change set someone else decided first is a state conflict, not a failure.
            StoreError::NotPending(_)
            | StoreError::Superseded(_)
            | StoreError::ChangeSetPending { .. } => Self::Conflict(error.to_string()),
            other => Self::Store(other),
        }
    }
}

impl From<crate::roll::ImportError> for OfficeError {
    fn from(error: crate::roll::ImportError) -> Self {
        use crate::roll::ImportError;
        match error {
            ImportError::Rejected(report) => Self::ImportRejected(report),
            ImportError::MissingColumns(_) | ImportError::NoMap | ImportError::Unreadable(_) => {
                Self::Rejected(error.to_string())
            }
            ImportError::ChangeSetPending { .. } => Self::Conflict(error.to_string()),
            ImportError::Io(io) => Self::Unreadable(io),
            ImportError::Store(store) => store.into(),
        }
    }
}

/// An error and its causes, `: `-separated: what the command line prints and the API logs.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Many errors repeat their source's text in their own; say it once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `Result` with [`OfficeError`].
pub type OfficeResult<T> = Result<T, OfficeError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_failure_shows_each_cause_once() {
        let error = OfficeError::from(StoreError::Corrupt("bad row".to_owned()));
        assert_eq!(
            with_causes(&error),
            "the database failed: stored value is invalid: bad row"
        );
        let conflict = OfficeError::from(StoreError::NotPending(4));
        assert!(matches!(conflict, OfficeError::Conflict(_)), "{conflict:?}");
    }
}
