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
mod roll;
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
use crate::store::{PoolStats, Result, Store};

/// A row, and a connection, of this backend's database.
type DbRow = <Db as sqlx::Database>::Row;
type Connection = <Db as sqlx::Database>::Connection;

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
