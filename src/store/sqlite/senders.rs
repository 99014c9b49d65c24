//! The writes on every lookup's path, on SQLite: the message id, and the lookup itself (its
//! admission, the voter, the found lookup's write), each one direct job of the group commit
//! (`writer.rs`), so that a lookup waits for two commits and each batch of them is one trip
//! to the writer's thread.
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

use super::readers::first_row;
use super::shared::roll::{FIND_VOTER, voter_from_row};
use super::shared::senders::{FIRST_DELIVERY, RELEASE, SUBSCRIBE};
use super::{SqliteStore, corrupt};
use crate::domain::Timestamp;
use crate::store::{Admitted, Lookup, LookupDone, Result};

const ADMIT: &str = "insert into rate_counters (key, window_start, count)
     select $1, $2, 1
     union all
     select $3, $4, 1
      where coalesce((select count from rate_counters where key = $1 and window_start = $2), 0) < $5
     on conflict (key, window_start) do update set count = rate_counters.count + 1
     returning key, count";

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
                .prepare_cached(FIRST_DELIVERY)?
                .execute(named_params! {
                    "$1": source, "$2": message_id, "$3": now,
                })?;
            Ok(inserted == 1)
        })
        .await
}

/// The lookup's work, one direct job: the admission (one statement), the voter (read on the
/// writer's connection, inside the job), and the found lookup's two statements
/// (`SenderStore::release_counter`'s and `add_subscription`'s), all in the job's savepoint.
///
/// The voter is read here rather than on a reader (`readers.rs`) because the three steps
/// are one unit: an attempt taken, the voter compared, the attempt given back. As one job
/// they are one commit to wait for instead of two, one hop to the writer's thread instead
/// of two and a read between, and the read finds its pages in the writer's own page cache,
/// which SQLite keeps across the writer's commits; a reader's cache is emptied whenever
/// another connection committed, which here is every batch (bench/README.md,
/// `sms_webhook`, third round).
pub(super) async fn lookup(store: &SqliteStore, lookup: &Lookup<'_>) -> Result<LookupDone> {
    let request = *lookup;
    let (sender_key, nin_key) = (
        request.admission.sender_key.to_owned(),
        request.admission.nin_key.to_owned(),
    );
    let (hour, day, now) = (request.admission.hour, request.admission.day, request.now);
    let limit = i64::try_from(request.admission.max_per_sender).unwrap_or(i64::MAX);
    let nin = request.nin.as_str().to_owned();
    let subscription = request
        .subscription
        .map(|(channel, sender)| (channel.as_str(), sender.to_owned()));
    let check = request.check;
    let (max_per_sender, max_failures_per_nin) = (
        request.admission.max_per_sender,
        request.max_failures_per_nin,
    );
    store
        .writer
        .write_direct(move |connection| {
            let admitted = admit(connection, &sender_key, hour, &nin_key, day, limit)?;
            if !admitted.within(max_per_sender, max_failures_per_nin) {
                return Ok(LookupDone {
                    admitted,
                    voter: None,
                    found: false,
                });
            }
            let voter = first_row(connection, FIND_VOTER, &[("$1", &nin)], |row| {
                voter_from_row(row)
            })?;
            let found = voter
                .as_ref()
                .is_some_and(|voter| check.accepts(voter.birth_date));
            if found {
                connection
                    .prepare_cached(RELEASE)?
                    .execute(named_params! {"$1": nin_key, "$2": day})?;
                if let Some((channel, sender)) = &subscription {
                    connection
                        .prepare_cached(SUBSCRIBE)?
                        .execute(named_params! {
                            "$1": channel, "$2": sender, "$3": nin, "$4": now,
                        })?;
                }
            }
            Ok(LookupDone {
                admitted,
                voter,
                found,
            })
        })
        .await
}

/// The admission's statement: the sender's counter and, within its limit, the NIN's.
fn admit(
    connection: &rusqlite::Connection,
    sender_key: &str,
    hour: Timestamp,
    nin_key: &str,
    day: Timestamp,
    limit: i64,
) -> Result<Admitted> {
    let mut statement = connection.prepare_cached(ADMIT)?;
    let mut rows = statement.query(named_params! {
        "$1": sender_key, "$2": hour, "$3": nin_key, "$4": day, "$5": limit,
    })?;
    let (mut sender_count, mut nin_count) = (None, None);
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        let count = u64::try_from(row.get::<_, i64>(1)?).map_err(corrupt)?;
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
