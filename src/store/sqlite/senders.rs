//! The writes on every lookup's path, on SQLite: the message id, and the lookup itself (its
//! counters, the voter, the found lookup's subscription), direct jobs of the group commit
//! (`writer.rs`). A message that is a plain lookup is one job with its id: it waits for one
//! commit, and each batch of such jobs is one trip to the writer's thread.
//!
//! The statements bind their parameters by name (`$1` is the parameter named `$1`), as
//! sqlx does with the same text.

use rusqlite::named_params;

use super::readers::first_row;
use super::shared::Columns as _;
use super::shared::roll::{FIND_VOTER, voter_from_row};
use super::shared::senders::{
    COUNT, FIRST_DELIVERY, INCREMENT, STATE_AND_OPEN_TICKET, SUBSCRIBE, state_and_ticket_from_row,
};
use super::{SqliteStore, corrupt};
use crate::domain::Timestamp;
use crate::store::{Admitted, Delivered, Delivery, Lookup, LookupDone, Result};

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

/// The message id and, the first time, the sender's state with the open-ticket flag and the
/// lookup asked for ahead if the state lets it, one direct job: the state is read on the
/// writer's connection, whose page cache survives the commits (see `lookup` below), and a
/// plain lookup costs one trip to the writer's thread and one commit to wait for. The job is
/// one savepoint: if the lookup fails, the message id is not recorded either, and the
/// provider's retry is handled as a first delivery.
pub(super) async fn first_delivery_with_state(
    store: &SqliteStore,
    delivery: &Delivery<'_>,
) -> Result<Option<Delivered>> {
    let (source, message_id) = (delivery.source.to_owned(), delivery.message_id.to_owned());
    let (channel, sender, now) = (
        delivery.channel.as_str(),
        delivery.sender.to_owned(),
        delivery.now,
    );
    let ahead = delivery
        .lookup
        .map(|ahead| (OwnedLookup::of(&ahead.lookup), ahead.applies));
    store
        .writer
        .write_direct(move |connection| {
            let inserted = connection
                .prepare_cached(FIRST_DELIVERY)?
                .execute(named_params! {
                    "$1": source, "$2": message_id, "$3": now,
                })?;
            if inserted != 1 {
                return Ok(None);
            }
            let (state, open_ticket) = first_row(
                connection,
                STATE_AND_OPEN_TICKET,
                &[("$1", &channel), ("$2", &sender)],
                |row| state_and_ticket_from_row(row, now),
            )?
            .ok_or_else(|| corrupt("the sender's state query returned no row"))?;
            let lookup = match ahead {
                Some((lookup, applies)) if applies(&state, open_ticket) => {
                    Some(lookup_on(connection, &lookup)?)
                }
                _ => None,
            };
            Ok(Some(Delivered {
                state,
                open_ticket,
                lookup,
            }))
        })
        .await
}

/// A [`Lookup`] owned, to be moved into a direct job.
struct OwnedLookup {
    sender_key: String,
    nin_key: String,
    hour: Timestamp,
    day: Timestamp,
    now: Timestamp,
    nin: String,
    subscription: Option<(&'static str, String)>,
    check: crate::store::BirthCheck,
    max_per_sender: u64,
    max_failures_per_nin: u64,
}

impl OwnedLookup {
    fn of(lookup: &Lookup<'_>) -> Self {
        let admission = &lookup.admission;
        Self {
            sender_key: admission.sender_key.to_owned(),
            nin_key: admission.nin_key.to_owned(),
            hour: admission.hour,
            day: admission.day,
            now: lookup.now,
            nin: lookup.nin.as_str().to_owned(),
            subscription: lookup
                .subscription
                .map(|(channel, sender)| (channel.as_str(), sender.to_owned())),
            check: lookup.check,
            max_per_sender: admission.max_per_sender,
            max_failures_per_nin: lookup.max_failures_per_nin,
        }
    }
}

/// The lookup's work, one direct job: the sender's counter, the NIN's budget, the voter
/// (read on the writer's connection, inside the job), and what the outcome writes: a failed
/// attempt on the NIN's counter, or the subscription of a found lookup.
///
/// The voter is read here rather than on a reader (`readers.rs`) because the steps are one
/// unit: as one job they are one commit to wait for instead of two, one hop to the writer's
/// thread instead of two and a read between, and the read finds its pages in the writer's
/// own page cache, which SQLite keeps across the writer's commits (a reader's cache is
/// emptied whenever another connection committed, which here is every batch;
/// bench/README.md, `sms_webhook`, third round).
pub(super) async fn lookup(store: &SqliteStore, lookup: &Lookup<'_>) -> Result<LookupDone> {
    let lookup = OwnedLookup::of(lookup);
    store
        .writer
        .write_direct(move |connection| lookup_on(connection, &lookup))
        .await
}

/// The lookup's statements, inside a direct job.
///
/// The NIN's attempt is written only when it counts, as a failure. PostgreSQL takes it
/// first and gives it back on success (`postgres/senders.rs`), because other lookups of the
/// NIN may run at the same time on other connections. Here nothing else writes between the
/// job's statements (the writer runs its jobs one after another, on the only connection
/// writing requests' counters), so reading the count and then adding the failure is as
/// exact, and a found lookup writes one page fewer.
fn lookup_on(connection: &rusqlite::Connection, lookup: &OwnedLookup) -> Result<LookupDone> {
    let increment = |key: &str, window: Timestamp| -> Result<u64> {
        let count: i64 = connection
            .prepare_cached(INCREMENT)?
            .query_row(named_params! {"$1": key, "$2": window}, |row| row.get(0))?;
        u64::try_from(count).map_err(corrupt)
    };
    let mut done = LookupDone {
        admitted: Admitted {
            sender_count: increment(&lookup.sender_key, lookup.hour)?,
            nin_count: None,
        },
        voter: None,
        found: false,
    };
    if done.admitted.sender_count > lookup.max_per_sender {
        return Ok(done);
    }
    let taken = first_row(
        connection,
        COUNT,
        &[("$1", &lookup.nin_key), ("$2", &lookup.day)],
        |row| row.bigint("count"),
    )?
    .flatten();
    let attempt = u64::try_from(taken.unwrap_or(0)).map_err(corrupt)? + 1;
    done.admitted.nin_count = Some(attempt);
    if done
        .admitted
        .within(lookup.max_per_sender, lookup.max_failures_per_nin)
    {
        done.voter = first_row(connection, FIND_VOTER, &[("$1", &lookup.nin)], |row| {
            voter_from_row(row)
        })?;
        done.found = done
            .voter
            .as_ref()
            .is_some_and(|voter| lookup.check.accepts(voter.birth_date));
    }
    if done.found {
        if let Some((channel, sender)) = &lookup.subscription {
            connection
                .prepare_cached(SUBSCRIBE)?
                .execute(named_params! {
                    "$1": channel, "$2": sender, "$3": lookup.nin, "$4": lookup.now,
                })?;
        }
    } else {
        // A failed attempt, or one beyond the budget (the NIN stays locked).
        increment(&lookup.nin_key, lookup.day)?;
    }
    Ok(done)
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
