//! A lookup's writes on PostgreSQL: the admission and the found write each one statement
//! with data-modifying CTEs, which SQLite does not have (there the shared statements run one
//! after another in one job of the group commit, `sqlite/senders.rs`), and the lookup's
//! statements in one transaction.
//!
//! Exactness is the single statements': each counter is `insert ... on conflict do update
//! ... returning count`, which locks the counter's row and adds to the latest committed
//! count, so concurrent lookups on any number of instances never lose an increment and a
//! limit lets exactly its number through. The NIN's attempt is taken only from the row the
//! sender's increment returned within its limit (`from sender where count <= $5`), as the
//! steps do.

use sqlx::Row;

use super::shared::roll::{FIND_VOTER, voter_from_row};
use super::shared::senders::FIRST_DELIVERY;
use super::{PostgresStore, corrupt};
use crate::domain::Timestamp;
use crate::store::{Admitted, Delivered, Delivery, Lookup, LookupDone, Result};

const ADMIT: &str = "with sender as (
         insert into rate_counters (key, window_start, count) values ($1, $2, 1)
         on conflict (key, window_start) do update set count = rate_counters.count + 1
         returning count
     ), nin as (
         insert into rate_counters (key, window_start, count)
         select $3, $4, 1 from sender where sender.count <= $5
         on conflict (key, window_start) do update set count = rate_counters.count + 1
         returning count
     )
     select (select count from sender) as sender_count, (select count from nin) as nin_count";

const FOUND: &str = "with released as (
         update rate_counters set count = count - 1
         where key = $1 and window_start = $2 and count > 0
     )
     insert into subscriptions (channel, sender, nin, created_at)
     select $3, $4, $5, $6 where $7
     on conflict (channel, sender, nin) do nothing";

/// The message id, one statement on a pooled connection.
pub(super) async fn first_delivery(
    store: &PostgresStore,
    source: &str,
    message_id: &str,
    now: Timestamp,
) -> Result<bool> {
    let inserted = sqlx::query(FIRST_DELIVERY)
        .bind(source)
        .bind(message_id)
        .bind(now)
        .execute(&store.pool)
        .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The lookup's work in one transaction on one pooled connection: the admission (one
/// statement), the voter (the shared statement), the found lookup's write (one statement),
/// one commit. Before, the admission and the found write were each a commit of their own:
/// two waits for the WAL's flush per lookup, where one does. The NIN's counter row stays
/// locked from the admission to the commit, so lookups of one NIN take turns, on any number
/// of instances.
pub(super) async fn lookup(store: &PostgresStore, lookup: &Lookup<'_>) -> Result<LookupDone> {
    let mut tx = store.pool.begin().await?;
    let done = lookup_in(&mut tx, lookup).await?;
    tx.commit().await?;
    Ok(done)
}

/// The lookup's statements, inside the caller's transaction.
async fn lookup_in(tx: &mut sqlx::PgConnection, lookup: &Lookup<'_>) -> Result<LookupDone> {
    let admission = &lookup.admission;
    let row = sqlx::query(ADMIT)
        .bind(admission.sender_key)
        .bind(admission.hour)
        .bind(admission.nin_key)
        .bind(admission.day)
        .bind(i64::try_from(admission.max_per_sender).unwrap_or(i64::MAX))
        .fetch_one(&mut *tx)
        .await?;
    let sender_count: i64 = row.try_get("sender_count")?;
    let nin_count: Option<i64> = row.try_get("nin_count")?;
    let admitted = Admitted {
        sender_count: u64::try_from(sender_count).map_err(corrupt)?,
        nin_count: nin_count
            .map(|count| u64::try_from(count).map_err(corrupt))
            .transpose()?,
    };
    let mut done = LookupDone {
        admitted,
        voter: None,
        found: false,
    };
    if lookup.admits(&admitted) {
        done.voter = sqlx::query(FIND_VOTER)
            .bind(lookup.nin.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| voter_from_row(&row))
            .transpose()?;
        done.found = done
            .voter
            .as_ref()
            .is_some_and(|voter| lookup.check.accepts(voter.birth_date));
    }
    if done.found {
        let found = lookup.found();
        let (channel, sender, nin) = match found.subscription {
            Some((channel, sender, nin)) => (channel.as_str(), sender, nin.as_str()),
            None => ("", "", ""),
        };
        sqlx::query(FOUND)
            .bind(found.nin_key)
            .bind(found.day)
            .bind(channel)
            .bind(sender)
            .bind(nin)
            .bind(found.now)
            .bind(found.subscription.is_some())
            .execute(&mut *tx)
            .await?;
    }
    Ok(done)
}

/// `SenderStore::sender_state_and_open_ticket`: the shared statement through the pool.
pub(super) async fn state_and_open_ticket(
    store: &PostgresStore,
    channel: crate::domain::Channel,
    sender: &str,
    now: Timestamp,
) -> Result<(crate::store::SenderState, bool)> {
    let row = sqlx::query(super::shared::senders::STATE_AND_OPEN_TICKET)
        .bind(channel.as_str())
        .bind(sender)
        .fetch_one(&store.pool)
        .await?;
    super::shared::senders::state_and_ticket_from_row(&row, now)
}

/// The message id recorded and the sender's state read in one statement (one round trip, and
/// the two together or not at all): the shared state query, with the insert as a CTE.
static FIRST_WITH_STATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "with seen as (
             insert into inbound_seen (source, message_id, received_at) values ($3, $4, $5)
             on conflict (source, message_id) do nothing
             returning 1
         )
         select state.*, exists (select 1 from seen) as first
         from ({}) as state",
        super::shared::senders::STATE_AND_OPEN_TICKET
    )
});

/// `SenderStore::first_delivery_with_state`: one statement ([`FIRST_WITH_STATE`]) or, with a
/// lookup asked for ahead, that statement and the lookup's in one transaction: one commit
/// to wait for, where the id and the lookup apart were two.
pub(super) async fn first_delivery_with_state(
    store: &PostgresStore,
    delivery: &Delivery<'_>,
) -> Result<Option<Delivered>> {
    let Some(ahead) = delivery.lookup else {
        let mut connection = store.pool.acquire().await?;
        return first_with_state(&mut connection, delivery)
            .await
            .map(|known| {
                known.map(|(state, open_ticket)| Delivered {
                    state,
                    open_ticket,
                    lookup: None,
                })
            });
    };
    let mut tx = store.pool.begin().await?;
    let Some((state, open_ticket)) = first_with_state(&mut tx, delivery).await? else {
        // A retry: the statement wrote nothing.
        tx.rollback().await?;
        return Ok(None);
    };
    let lookup = if (ahead.applies)(&state, open_ticket) {
        Some(lookup_in(&mut tx, &ahead.lookup).await?)
    } else {
        None
    };
    tx.commit().await?;
    Ok(Some(Delivered {
        state,
        open_ticket,
        lookup,
    }))
}

/// [`FIRST_WITH_STATE`] on `connection`: `None` for a retry.
async fn first_with_state(
    connection: &mut sqlx::PgConnection,
    delivery: &Delivery<'_>,
) -> Result<Option<(crate::store::SenderState, bool)>> {
    let row = sqlx::query(FIRST_WITH_STATE.as_str())
        .bind(delivery.channel.as_str())
        .bind(delivery.sender)
        .bind(delivery.source)
        .bind(delivery.message_id)
        .bind(delivery.now)
        .fetch_one(&mut *connection)
        .await?;
    if !row.try_get::<bool, _>("first")? {
        return Ok(None);
    }
    super::shared::senders::state_and_ticket_from_row(&row, delivery.now).map(Some)
}
