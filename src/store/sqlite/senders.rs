//! The writes on every lookup's path, on SQLite: the message id, the lookup's admission and
//! the found lookup's write, each one direct job of the group commit (`writer.rs`), so that a
//! lookup waits for three commits and each batch of them is one trip to the writer's thread.
//!
//! The admission is one statement: both counters in one multi-row upsert, the NIN's row
//! only if the sender's count before it was under the limit. That condition reads the
//! table the statement writes, which is exact here and not on PostgreSQL: SQLite evaluates
//! the `select` before inserting its rows, and no other write runs between (the writer runs
//! one statement at a time, on the only connection writing requests' counters). PostgreSQL,
//! with writers on many connections, chains the two upserts in a CTE instead
//! (`postgres/senders.rs`), where the NIN's upsert reads what the sender's returned.
//!
//! The statements bind their parameters by name (`$1` is the parameter named `$1`), as
//! sqlx does with the same text.

use rusqlite::named_params;

use super::shared::senders::{FIRST_DELIVERY, RELEASE, SUBSCRIBE};
use super::{SqliteStore, corrupt};
use crate::domain::Timestamp;
use crate::store::{Admitted, FoundLookup, LookupAdmission, Result, StoreError};

const ADMIT: &str = "insert into rate_counters (key, window_start, count)
     select $1, $2, 1
     union all
     select $3, $4, 1
      where coalesce((select count from rate_counters where key = $1 and window_start = $2), 0) < $5
     on conflict (key, window_start) do update set count = rate_counters.count + 1
     returning key, count";

/// A statement of a direct job failed; the job's savepoint undoes what it wrote.
fn failed(error: rusqlite::Error) -> StoreError {
    StoreError::Batch(error.to_string())
}

pub(super) async fn first_delivery(
    store: &SqliteStore,
    source: &str,
    message_id: &str,
    now: Timestamp,
) -> Result<bool> {
    let (source, message_id) = (source.to_owned(), message_id.to_owned());
    store
        .writer
        .write_direct(move |connection| {
            let inserted = connection
                .prepare_cached(FIRST_DELIVERY)
                .and_then(|mut statement| {
                    statement.execute(named_params! {
                        "$1": source, "$2": message_id, "$3": now,
                    })
                })
                .map_err(failed)?;
            Ok(inserted == 1)
        })
        .await
}

pub(super) async fn admit_lookup(
    store: &SqliteStore,
    admission: &LookupAdmission<'_>,
) -> Result<Admitted> {
    let (sender_key, hour) = (admission.sender_key.to_owned(), admission.hour);
    let (nin_key, day) = (admission.nin_key.to_owned(), admission.day);
    let limit = i64::try_from(admission.max_per_sender).unwrap_or(i64::MAX);
    store
        .writer
        .write_direct(move |connection| {
            let mut statement = connection.prepare_cached(ADMIT).map_err(failed)?;
            let mut rows = statement
                .query(named_params! {
                    "$1": sender_key, "$2": hour, "$3": nin_key, "$4": day, "$5": limit,
                })
                .map_err(failed)?;
            let (mut sender_count, mut nin_count) = (None, None);
            while let Some(row) = rows.next().map_err(failed)? {
                let key: String = row.get(0).map_err(failed)?;
                let count =
                    u64::try_from(row.get::<_, i64>(1).map_err(failed)?).map_err(corrupt)?;
                if key == sender_key {
                    sender_count = Some(count);
                } else {
                    nin_count = Some(count);
                }
            }
            Ok(Admitted {
                sender_count: sender_count
                    .ok_or_else(|| corrupt("the sender's counter was not returned"))?,
                nin_count,
            })
        })
        .await
}

/// The found lookup's two statements (`SenderStore::release_counter`'s and
/// `add_subscription`'s), in the job's savepoint.
pub(super) async fn record_found(store: &SqliteStore, found: &FoundLookup<'_>) -> Result<()> {
    let (nin_key, day, now) = (found.nin_key.to_owned(), found.day, found.now);
    let subscription = found.subscription.map(|(channel, sender, nin)| {
        (channel.as_str(), sender.to_owned(), nin.as_str().to_owned())
    });
    store
        .writer
        .write_direct(move |connection| {
            connection
                .prepare_cached(RELEASE)
                .and_then(|mut statement| {
                    statement.execute(named_params! {"$1": nin_key, "$2": day})
                })
                .map_err(failed)?;
            if let Some((channel, sender, nin)) = subscription {
                connection
                    .prepare_cached(SUBSCRIBE)
                    .and_then(|mut statement| {
                        statement.execute(named_params! {
                            "$1": channel, "$2": sender, "$3": nin, "$4": now,
                        })
                    })
                    .map_err(failed)?;
            }
            Ok(())
        })
        .await
}

/// `SenderStore::sender_state_and_open_ticket`: the shared statement on a plain reader
/// (`readers.rs`); a sender who never wrote has no row in `senders` but still one here.
pub(super) async fn state_and_open_ticket(
    store: &SqliteStore,
    channel: crate::domain::Channel,
    sender: &str,
    now: Timestamp,
) -> Result<(crate::store::SenderState, bool)> {
    store
        .readers
        .read(|connection| {
            super::readers::first_row(
                connection,
                super::shared::senders::STATE_AND_OPEN_TICKET,
                &[("$1", &channel.as_str()), ("$2", &sender)],
                |row| super::shared::senders::state_and_ticket_from_row(row, now),
            )
        })?
        .ok_or_else(|| corrupt("the sender's state query returned no row"))
}
