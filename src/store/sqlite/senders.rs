//! A lookup's two writes on SQLite, each one job of the group commit (`writer.rs`), so that
//! a lookup waits for two commits however many statements it writes.
//!
//! The admission is one statement: both counters in one multi-row upsert, the NIN's row
//! only if the sender's count before it was under the limit. That condition reads the
//! table the statement writes, which is exact here and not on PostgreSQL: SQLite evaluates
//! the `select` before inserting its rows, and no other write runs between (the writer runs
//! one statement at a time, on the only connection writing requests' counters). PostgreSQL,
//! with writers on many connections, chains the two upserts in a CTE instead
//! (`postgres/senders.rs`), where the NIN's upsert reads what the sender's returned.

use sqlx::Row;

use super::{SqliteStore, corrupt};
use crate::domain::{Channel, Timestamp};
use crate::store::{Admitted, FoundLookup, LookupAdmission, Result};

const ADMIT: &str = "insert into rate_counters (key, window_start, count)
     select $1, $2, 1
     union all
     select $3, $4, 1
      where coalesce((select count from rate_counters where key = $1 and window_start = $2), 0) < $5
     on conflict (key, window_start) do update set count = rate_counters.count + 1
     returning key, count";

pub(super) async fn admit_lookup(
    store: &SqliteStore,
    admission: &LookupAdmission<'_>,
) -> Result<Admitted> {
    let (sender_key, hour) = (admission.sender_key.to_owned(), admission.hour);
    let (nin_key, day) = (admission.nin_key.to_owned(), admission.day);
    let limit = i64::try_from(admission.max_per_sender).unwrap_or(i64::MAX);
    store
        .write(move |connection| {
            Box::pin(async move {
                let rows = sqlx::query(ADMIT)
                    .bind(&sender_key)
                    .bind(hour)
                    .bind(&nin_key)
                    .bind(day)
                    .bind(limit)
                    .fetch_all(&mut *connection)
                    .await?;
                let (mut sender_count, mut nin_count) = (None, None);
                for row in &rows {
                    let key: &str = row.try_get("key")?;
                    let count = u64::try_from(row.try_get::<i64, _>("count")?).map_err(corrupt)?;
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
        })
        .await
}

/// The found lookup's two statements (`SenderStore::release_counter`'s and
/// `add_subscription`'s, the subscription only when `$7`) as one query text inside its own savepoint: sqlx runs a
/// text of several statements in one trip to the connection's thread, binding `$N` in each
/// to the N-th argument.
const FOUND: &str = "savepoint job;
     update rate_counters set count = count - 1
     where key = $1 and window_start = $2 and count > 0;
     insert into subscriptions (channel, sender, nin, created_at)
     select $3, $4, $5, $6 where $7
     on conflict (channel, sender, nin) do nothing;
     release job";

/// A [`FoundLookup`] the writer can own.
struct OwnedFound {
    nin_key: String,
    day: Timestamp,
    subscription: Option<(Channel, String, String)>,
    now: Timestamp,
}

#[allow(
    dead_code,
    reason = "SQLite runs the steps; PostgreSQL has one statement for them"
)]
impl OwnedFound {
    fn of(found: &FoundLookup<'_>) -> Self {
        Self {
            nin_key: found.nin_key.to_owned(),
            day: found.day,
            subscription: found.subscription.map(|(channel, sender, nin)| {
                (channel, sender.to_owned(), nin.as_str().to_owned())
            }),
            now: found.now,
        }
    }
}

pub(super) async fn record_found(store: &SqliteStore, found: &FoundLookup<'_>) -> Result<()> {
    let found = OwnedFound::of(found);
    store
        .write_in_own_savepoint(move |connection| {
            Box::pin(async move {
                let (channel, sender, nin) = match &found.subscription {
                    Some((channel, sender, nin)) => {
                        (channel.as_str(), sender.as_str(), nin.as_str())
                    }
                    None => ("", "", ""),
                };
                sqlx::query(FOUND)
                    .bind(&found.nin_key)
                    .bind(found.day)
                    .bind(channel)
                    .bind(sender)
                    .bind(nin)
                    .bind(found.now)
                    .bind(found.subscription.is_some())
                    .execute(&mut *connection)
                    .await?;
                Ok(())
            })
        })
        .await
}
