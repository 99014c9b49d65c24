//! A lookup's writes on PostgreSQL: the whole lookup is one statement with data-modifying
//! CTEs ([`LOOKUP`]), which SQLite does not have (there the shared statements run one after
//! another in one job of the group commit, `sqlite/senders.rs`).
//!
//! Exactness is the single statement's: each counter is `insert ... on conflict do update
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

/// The lookup, one statement: the sender's counter, the voter with its birth checked, the
/// NIN's attempt, and the found lookup's subscription. One round trip, where it was five
/// (`begin`, the admission, the voter, the found write, `commit`: bench/README.md,
/// `sms_webhook`, fifth round). Built once from the shared voter query ([`FIND_VOTER`],
/// whose one parameter, `$1`, becomes `$7`).
///
/// - `$1`, `$2`: the sender's counter and its hour; `$5` the sender's limit.
/// - `$3`, `$4`: the NIN's counter and its day; `$6` the NIN's budget of attempts.
/// - `$7`: the NIN; `$8`: the birth as a `like` pattern over the ISO date
///   ([`BirthCheck::iso_pattern`](crate::store::BirthCheck::iso_pattern)).
/// - `$9`: whether to subscribe; `$10`, `$11`: the channel and the sender; `$12`: now.
///
/// The NIN's counter counts failed attempts. Its upsert carries whether the voter matched
/// in the inserted row's count (0 matched, 1 not): against the row it locks, a match within
/// the budget adds nothing and anything else adds one. So the budget is decided on the
/// latest committed count under the row's lock, as the separate statements did, and
/// concurrent lookups of one NIN, on any number of instances, take turns on that row. A
/// statement cannot update a row twice, so the attempt is no longer taken and then given
/// back: the count is the same, and the row's lock is held for one statement, not for a
/// transaction of four round trips. The voter is read whatever the counters say (one
/// snapshot for the statement); it is only returned to the conversation when admitted
/// ([`lookup_from_row`]).
static LOOKUP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "with sender as (
             insert into rate_counters (key, window_start, count) values ($1, $2, 1)
             on conflict (key, window_start) do update set count = rate_counters.count + 1
             returning count
         ), voter as (
             {}
         ), matched as (
             select coalesce((select birth_date like $8 from voter), false) as yes
         ), nin as (
             insert into rate_counters (key, window_start, count)
             select $3, $4, case when matched.yes and $6 > 0 then 0 else 1 end
             from sender, matched where sender.count <= $5
             on conflict (key, window_start) do update set count = rate_counters.count
                 + case when excluded.count = 0 and rate_counters.count < $6 then 0 else 1 end
             returning count
         ), subscribed as (
             insert into subscriptions (channel, sender, nin, created_at)
             select $10, $11, $7, $12 from nin, matched
             where $9 and matched.yes and nin.count <= $6
             on conflict (channel, sender, nin) do nothing
         )
         select (select count from sender) as sender_count,
                (select count from nin) as nin_count,
                matched.yes as matched, voter.birth_date is not null as voter_read, voter.*
         from matched left join voter on true",
        FIND_VOTER.replace("$1", "$7")
    )
});

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

/// `SenderStore::lookup`: [`LOOKUP`], one statement in its own transaction.
pub(super) async fn lookup(store: &PostgresStore, lookup: &Lookup<'_>) -> Result<LookupDone> {
    let mut connection = store.pool.acquire().await?;
    lookup_in(&mut connection, lookup).await
}

/// [`LOOKUP`] on `connection`, in the caller's transaction if it holds one.
async fn lookup_in(connection: &mut sqlx::PgConnection, lookup: &Lookup<'_>) -> Result<LookupDone> {
    let admission = &lookup.admission;
    let limit = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let (channel, sender) = lookup
        .subscription
        .map_or(("", ""), |(channel, sender)| (channel.as_str(), sender));
    let row = sqlx::query(LOOKUP.as_str())
        .bind(admission.sender_key)
        .bind(admission.hour)
        .bind(admission.nin_key)
        .bind(admission.day)
        .bind(limit(admission.max_per_sender))
        .bind(limit(lookup.max_failures_per_nin))
        .bind(lookup.nin.as_str())
        .bind(lookup.check.iso_pattern())
        .bind(lookup.subscription.is_some())
        .bind(channel)
        .bind(sender)
        .bind(lookup.now)
        .fetch_one(&mut *connection)
        .await?;
    lookup_from_row(&row, lookup)
}

/// A row of [`LOOKUP`] as the lookup's outcome.
///
/// The NIN's count is its attempts that failed; the attempt's number is one more when this
/// one matched within the budget (the statement added nothing for it). The voter is kept
/// only when the counts admit it, and found is decided by [`BirthCheck::accepts`], as on
/// SQLite; the statement's own match (its pattern) decided the writes, and the two agree
/// (the conformance tests check each kind of check on both backends).
///
/// [`BirthCheck::accepts`]: crate::store::BirthCheck::accepts
fn lookup_from_row(row: &sqlx::postgres::PgRow, lookup: &Lookup<'_>) -> Result<LookupDone> {
    let count = |n: i64| u64::try_from(n).map_err(corrupt);
    let matched: bool = row.try_get("matched")?;
    let failures: Option<i64> = row.try_get("nin_count")?;
    let attempt = failures.map(count).transpose()?.map(|n| {
        if matched && n < lookup.max_failures_per_nin {
            n + 1
        } else {
            n
        }
    });
    let admitted = Admitted {
        sender_count: count(row.try_get("sender_count")?)?,
        nin_count: attempt,
    };
    let voter = if lookup.admits(&admitted) && row.try_get::<bool, _>("voter_read")? {
        Some(voter_from_row(row)?)
    } else {
        None
    };
    let found = voter
        .as_ref()
        .is_some_and(|voter| lookup.check.accepts(voter.birth_date));
    if voter.is_some() && found != matched {
        tracing::error!(
            found,
            matched,
            "the lookup's birth pattern and its check disagree"
        );
        debug_assert!(false, "the lookup's birth pattern and its check disagree");
    }
    Ok(LookupDone {
        admitted,
        voter,
        found,
    })
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
