//! Senders: language, pending dialogue, and the abuse-limit counters. Each write is one
//! statement, so concurrent PostgreSQL instances never lose an update: counters are an upsert
//! that returns the new count. Writes go through the backend's `write` (SQLite: a job of the
//! group commit, `sqlite/writer.rs`; PostgreSQL: a pooled connection); the statements are
//! free functions over a connection so that a backend can run several in one job.

use std::str::FromStr;

use async_trait::async_trait;

use super::{Backend, Columns, Connection, corrupt};
use crate::domain::{Channel, Locale, NationalId, Timestamp};
use crate::store::{Delivered, Delivery, Lookup, LookupDone, Result, SenderState, SenderStore};

pub(crate) const INCREMENT: &str =
    "insert into rate_counters (key, window_start, count) values ($1, $2, 1)
     on conflict (key, window_start) do update set count = rate_counters.count + 1
     returning count";

/// A counter's count, no row if it was never taken.
pub(crate) const COUNT: &str =
    "select count from rate_counters where key = $1 and window_start = $2";

pub(crate) const RELEASE: &str = "update rate_counters set count = count - 1
     where key = $1 and window_start = $2 and count > 0";

pub(crate) const SUBSCRIBE: &str =
    "insert into subscriptions (channel, sender, nin, created_at) values ($1, $2, $3, $4)
     on conflict (channel, sender, nin) do nothing";

/// Records an inbound message id once: two instances receiving the same retried webhook race
/// on the primary key, and exactly one insert succeeds (the other affects zero rows).
pub(crate) const FIRST_DELIVERY: &str =
    "insert into inbound_seen (source, message_id, received_at) values ($1, $2, $3)
     on conflict (source, message_id) do nothing";

/// Adds one to a fixed-window counter, returning the new count.
async fn increment(connection: &mut Connection, key: &str, window_start: Timestamp) -> Result<u64> {
    let count: i64 = sqlx::query_scalar(INCREMENT)
        .bind(key)
        .bind(window_start)
        .fetch_one(&mut *connection)
        .await?;
    u64::try_from(count).map_err(corrupt)
}

/// Takes one back from a fixed-window counter, never below zero.
async fn release(connection: &mut Connection, key: &str, window_start: Timestamp) -> Result<()> {
    sqlx::query(RELEASE)
        .bind(key)
        .bind(window_start)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Subscribes a sender to a voter's station (idempotent).
async fn subscribe(
    connection: &mut Connection,
    channel: Channel,
    sender: &str,
    nin: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(SUBSCRIBE)
        .bind(channel.as_str())
        .bind(sender)
        .bind(nin)
        .bind(now)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// A sender's row as [`SenderState`]; an expired dialogue is left out.
pub(in super::super) fn state_from_row(row: &impl Columns, now: Timestamp) -> Result<SenderState> {
    let locale = row
        .text("locale")?
        .as_deref()
        .map(Locale::from_str)
        .transpose()
        .map_err(corrupt)?;
    let expires_at: Option<Timestamp> = row.bigint("dialogue_expires_at")?;
    let dialogue = match (row.text("dialogue")?, expires_at) {
        (Some(dialogue), Some(expires_at)) if expires_at > now => Some((dialogue, expires_at)),
        _ => None,
    };
    Ok(SenderState {
        locale,
        locale_explicit: row.flag("locale_explicit")?,
        dialogue,
        notices_opt_out: row.flag("notices_opt_out")?,
    })
}

/// The sender's state and whether a ticket of theirs is open, in one row whether or not the
/// sender is known (the flag is the outer row's); `known` tells whether the state columns
/// are a sender's. Read through sqlx on PostgreSQL and through a plain connection on SQLite
/// (`sqlite/readers.rs`).
pub(in super::super) const STATE_AND_OPEN_TICKET: &str =
    "select s.locale, s.locale_explicit, s.dialogue, s.dialogue_expires_at,
            s.notices_opt_out, s.sender is not null as known,
            exists (select 1 from tickets t
                    where t.channel = $1 and t.sender = $2 and t.status = 'open') as open_ticket
     from (select 1 as one) as here
     left join senders s on s.channel = $1 and s.sender = $2";

/// A row of [`STATE_AND_OPEN_TICKET`].
pub(in super::super) fn state_and_ticket_from_row(
    row: &impl Columns,
    now: Timestamp,
) -> Result<(SenderState, bool)> {
    let state = if row.flag("known")? {
        state_from_row(row, now)?
    } else {
        SenderState::default()
    };
    Ok((state, row.flag("open_ticket")?))
}

#[async_trait]
impl SenderStore for Backend {
    async fn sender_state(
        &self,
        channel: Channel,
        sender: &str,
        now: Timestamp,
    ) -> Result<SenderState> {
        let row = sqlx::query(
            "select locale, locale_explicit, dialogue, dialogue_expires_at, notices_opt_out
             from senders where channel = $1 and sender = $2",
        )
        .bind(channel.as_str())
        .bind(sender)
        .fetch_optional(&self.pool)
        .await?;
        row.map_or_else(
            || Ok(SenderState::default()),
            |row| state_from_row(&row, now),
        )
    }

    async fn sender_state_and_open_ticket(
        &self,
        channel: Channel,
        sender: &str,
        now: Timestamp,
    ) -> Result<(SenderState, bool)> {
        super::super::senders::state_and_open_ticket(self, channel, sender, now).await
    }

    async fn save_sender_state(
        &self,
        channel: Channel,
        sender: &str,
        state: &SenderState,
        now: Timestamp,
    ) -> Result<()> {
        let (dialogue, expires_at) = match &state.dialogue {
            Some((dialogue, expires_at)) => (Some(dialogue.as_str()), Some(*expires_at)),
            None => (None, None),
        };
        let (channel, sender, locale, explicit, opt_out) = (
            channel.as_str(),
            sender.to_owned(),
            state.locale.map(Locale::code),
            state.locale_explicit,
            state.notices_opt_out,
        );
        let dialogue = dialogue.map(str::to_owned);
        self.write(move |connection| {
            Box::pin(async move {
                sqlx::query(
                    "insert into senders (channel, sender, locale, locale_explicit, dialogue, dialogue_expires_at, notices_opt_out, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8)
                     on conflict (channel, sender) do update set
                         locale = excluded.locale, locale_explicit = excluded.locale_explicit,
                         dialogue = excluded.dialogue, dialogue_expires_at = excluded.dialogue_expires_at,
                         notices_opt_out = excluded.notices_opt_out, updated_at = excluded.updated_at",
                )
                .bind(channel)
                .bind(&sender)
                .bind(locale)
                .bind(explicit)
                .bind(dialogue)
                .bind(expires_at)
                .bind(opt_out)
                .bind(now)
                .execute(&mut *connection)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn add_subscription(
        &self,
        channel: Channel,
        sender: &str,
        nin: &NationalId,
        now: Timestamp,
    ) -> Result<()> {
        let (sender, nin) = (sender.to_owned(), nin.as_str().to_owned());
        self.write(move |connection| {
            Box::pin(async move { subscribe(connection, channel, &sender, &nin, now).await })
        })
        .await
    }

    async fn subscriptions(&self, channel: Channel, sender: &str) -> Result<Vec<NationalId>> {
        let nins: Vec<String> = sqlx::query_scalar(
            "select nin from subscriptions where channel = $1 and sender = $2 order by created_at, nin",
        )
        .bind(channel.as_str())
        .bind(sender)
        .fetch_all(&self.pool)
        .await?;
        nins.iter()
            .map(|nin| NationalId::parse(nin).map_err(corrupt))
            .collect()
    }

    async fn first_delivery(&self, source: &str, message_id: &str, now: Timestamp) -> Result<bool> {
        // On every message's path, so each backend runs it its own fastest way.
        super::super::senders::first_delivery(self, source, message_id, now).await
    }

    async fn prune_inbound_seen(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("delete from inbound_seen where received_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn increment_counter(&self, key: &str, window_start: Timestamp) -> Result<u64> {
        let key = key.to_owned();
        self.write(move |connection| {
            Box::pin(async move { increment(connection, &key, window_start).await })
        })
        .await
    }

    async fn release_counter(&self, key: &str, window_start: Timestamp) -> Result<()> {
        let key = key.to_owned();
        self.write(move |connection| {
            Box::pin(async move { release(connection, &key, window_start).await })
        })
        .await
    }

    async fn first_delivery_with_state(
        &self,
        delivery: &Delivery<'_>,
    ) -> Result<Option<Delivered>> {
        super::super::senders::first_delivery_with_state(self, delivery).await
    }

    async fn lookup(&self, lookup: &Lookup<'_>) -> Result<LookupDone> {
        super::super::senders::lookup(self, lookup).await
    }

    async fn counter(&self, key: &str, window_start: Timestamp) -> Result<u64> {
        let count: Option<i64> = sqlx::query_scalar(COUNT)
            .bind(key)
            .bind(window_start)
            .fetch_optional(&self.pool)
            .await?;
        u64::try_from(count.unwrap_or(0)).map_err(corrupt)
    }

    async fn prune_counters(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("delete from rate_counters where window_start < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn forget_expired_dialogues(&self, now: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "update senders set dialogue = null, dialogue_expires_at = null
             where dialogue_expires_at < $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
