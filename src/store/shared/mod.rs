//! The storage code both backends run as written: the SQL that SQLite and PostgreSQL read
//! alike, with the Rust that binds its parameters and reads its rows.
//!
//! SQLite (from 3.23, and through sqlx 0.9) reads PostgreSQL's `$1` placeholders and the
//! literals `true` and `false`, so most statements need no second copy. This folder is
//! compiled twice: `sqlite/mod.rs` and `postgres/mod.rs` each declare it as their own
//! `shared` module (`#[path = "../shared/mod.rs"]`) next to two names, `Backend` (the
//! store) and `Db` (its sqlx database). Each copy is ordinary code over concrete types, so it
//! needs neither sqlx's generic bounds (an `Executor` bound, and `Encode`, `Decode` and
//! `Type` for every value bound or read, on every function) nor a macro that rustfmt and the
//! compiler's messages cannot see into.
//!
//! What the dialects really write differently stays in the backend's own folder, named the
//! same in both (`CLAIM_UPDATES`, `lock_current_versions`, `write_roll`, ...), with a comment
//! there saying why it differs. A few words inside a statement differ too: each backend's
//! `mod.rs` defines them as macros expanding to a string literal (`byte_order!()`,
//! `for_update!()`, `as_jsonb!()`, `as_date!()`, `iso_date!(column)`), which `concat!`
//! splices into the shared statement, and `Integer`, the Rust type of an SQL `integer`
//! column.

pub(super) mod audit;
mod changes;
mod outbox;
mod report_rows;
mod reports;
pub(super) mod roll;
pub(super) mod senders;
mod sms;
mod telegram;
mod tickets;
mod users;

use super::admin::insert_audit;
use super::changes::{change_set_communes, communes_column};
use super::notices::CLAIM_OUTBOX;
use super::telegram::CLAIM_UPDATES;
use super::{Backend, Db, Integer, corrupt};
use sqlx::Row as _;

use crate::store::{PoolStats, Result, Store};

/// A row, and a connection, of this backend's database.
type DbRow = super::Row;
type Connection = <Db as sqlx::Database>::Connection;

/// The columns of a row, as the mappings of the lookup's reads (the voter, the sender's
/// state) take them: from sqlx's row here, and on SQLite also from a row of a plain
/// connection (`sqlite/readers.rs`), so that both drivers share one mapping of each row.
pub(super) trait Columns {
    /// A text column, `None` for SQL `null`.
    fn text(&self, column: &str) -> Result<Option<String>>;
    /// An SQL `integer` column (see [`Integer`]).
    fn integer(&self, column: &str) -> Result<Option<i64>>;
    /// A `bigint` column (timestamps).
    fn bigint(&self, column: &str) -> Result<Option<i64>>;
    /// A `real` (`double precision`) column.
    fn real(&self, column: &str) -> Result<Option<f64>>;
    /// A boolean column (an integer 0 or 1 in SQLite).
    fn flag(&self, column: &str) -> Result<bool>;
}

impl Columns for DbRow {
    fn text(&self, column: &str) -> Result<Option<String>> {
        Ok(self.try_get(column)?)
    }

    #[allow(
        clippy::useless_conversion,
        reason = "`Integer` is `i64` on SQLite and `i32` on PostgreSQL"
    )]
    fn integer(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.try_get::<Option<Integer>, _>(column)?.map(i64::from))
    }

    fn bigint(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.try_get(column)?)
    }

    fn real(&self, column: &str) -> Result<Option<f64>> {
        Ok(self.try_get(column)?)
    }

    fn flag(&self, column: &str) -> Result<bool> {
        Ok(self.try_get(column)?)
    }
}

/// A column that may not be `null`.
fn required<T>(value: Option<T>, column: &str) -> Result<T> {
    value.ok_or_else(|| corrupt(format!("{column} is null")))
}

#[async_trait::async_trait]
impl Store for Backend {
    async fn ping(&self) -> Result<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }
}
