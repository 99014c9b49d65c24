//! The outbox's SQL and row mappings, written once for both backends: the statements use `$N`
//! placeholders, which SQLite accepts too, and the tables have the same columns in both. Only
//! the claim differs (PostgreSQL adds `for update skip locked`, SQLite runs it under its one
//! write lock), so it is built from one text with the dialect's suffix.

use std::str::FromStr;

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{DeliveryStatus, Notice, NoticeResult, OutboundSms, Result, StoreError};
use crate::domain::{Channel, Locale};

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// `$1` channel, `$2` provider, `$3` recipient, `$4` locale, `$5` body, `$6` message,
/// `$7` segments, `$8` now.
pub(super) const ENQUEUE_REPLY: &str = "insert into outbox (campaign_id, channel, provider, recipient, locale, body, message, segments, status, next_attempt_at, created_at, updated_at)
     values (null, $1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8, $8)
     returning id";

/// The claim of a lane's due rows: `$1` now, `$2` lease seconds, `$3` channel, `$4` limit,
/// `$5` the lane's provider (or null), `$6` whether the lane sends notices. Replies first
/// (`campaign_id is not null` sorts false, before true, in both databases), then by due time.
/// `$lock` ends the inner select (PostgreSQL's `for update of o skip locked`).
macro_rules! claim {
    ($lock:literal) => {
        concat!(
            "update outbox set status = 'sending', lease_until = $1 + $2, attempts = attempts + 1,
                 updated_at = $1, provider = coalesce(provider, $5)
             where id in (
                 select o.id from outbox o left join campaigns c on c.id = o.campaign_id
                 where o.channel = $3
                   and ((o.campaign_id is null and coalesce(o.provider, '') = coalesce($5, ''))
                        or (o.campaign_id is not null and c.status = 'sending' and $6))
                   and ((o.status = 'pending' and o.next_attempt_at <= $1)
                        or (o.status = 'sending' and o.lease_until < $1))
                 order by o.campaign_id is not null, o.next_attempt_at, o.id
                 limit $4 ",
            $lock,
            ")
             returning id, campaign_id, channel, recipient, locale, body, attempts"
        )
    };
}

/// SQLite runs the claim under its one write lock, so two dispatchers never claim one row.
pub(super) const CLAIM_SQLITE: &str = claim!("");
/// `skip locked`: rows another dispatcher is claiming right now are left to it; the outer
/// update re-checks each locked row, so a row claimed and committed by another dispatcher in
/// between is not taken again.
pub(super) const CLAIM_POSTGRES: &str = claim!("for update of o skip locked");

/// `$1` status, `$2` now, `$3` next attempt, `$4` provider id, `$5` error, `$6` id. A sent row
/// whose delivery report already came home keeps the report's final status; a reply's text is
/// erased once the row is final (it holds a voter's polling place).
pub(super) const FINISH: &str = "update outbox set
         status = case when $1 = 'sent' and status in ('delivered', 'failed') then status else $1 end,
         lease_until = null, updated_at = $2,
         next_attempt_at = coalesce($3, next_attempt_at),
         provider_message_id = coalesce($4, provider_message_id),
         last_error = coalesce($5, last_error),
         body = case when campaign_id is null and $1 <> 'pending' then '' else body end
     where id = $6";

/// Rows still to send, per lane key (`sms:generic`, `telegram`).
pub(super) const WAITING: &str =
    "select channel || coalesce(':' || provider, '') as lane, count(*) as n
     from outbox where status in ('pending', 'sending') group by 1";

/// `$1` provider, `$2` provider's id: the newest matching SMS row.
pub(super) const REPORT_MATCH: &str = "select id from outbox
     where channel = 'sms' and provider_message_id = $2 and coalesce(provider, $1) = $1
     order by id desc limit 1";

/// `$1` status, `$2` reason, `$3` now, `$4` id, `$5` whether the status is final. A final
/// status is not overwritten by a non-final one (reports arrive out of order), nor is a row
/// still waiting to be sent moved by a report.
pub(super) const APPLY_REPORT: &str =
    "update outbox set status = $1, last_error = coalesce($2, last_error), updated_at = $3
     where id = $4 and status not in ('pending', 'sending')
       and ($5 or status not in ('delivered', 'failed'))";

macro_rules! sms_rows {
    ($rest:literal) => {
        concat!(
            "select id, coalesce(provider, '') as provider, recipient,
                    coalesce(message, '') as message, coalesce(segments, 0) as segments, status,
                    last_error, provider_message_id, attempts, created_at, updated_at
             from outbox where channel = 'sms' and ",
            $rest
        )
    };
}

/// One SMS row by id (`$1`).
pub(super) const SMS_BY_ID: &str = sms_rows!("id = $1");
/// The newest SMS rows to a recipient (`$1`), at most `$2`.
pub(super) const SMS_TO: &str = sms_rows!("recipient = $1 order by id desc limit $2");

/// The stored form of what became of a send: status, next attempt, provider id, error.
pub(super) fn finish_values(
    result: &NoticeResult,
) -> (&'static str, Option<i64>, Option<String>, Option<String>) {
    match result {
        NoticeResult::Sent { provider_id } => ("sent", None, provider_id.clone(), None),
        NoticeResult::Retry { at, error } => ("pending", Some(*at), None, Some(error.clone())),
        NoticeResult::Failed { error } => ("failed", None, None, Some(error.clone())),
        NoticeResult::Skipped { reason } => ("skipped", None, None, Some(reason.clone())),
    }
}

/// The outbox status a delivery report sets.
pub(super) fn report_status(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending | DeliveryStatus::Accepted => "sent",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Failed => "failed",
    }
}

/// Claimed rows in the order they are to be sent: replies, then notices, each by id
/// (`returning` gives no order guarantee).
pub(super) fn in_send_order(mut rows: Vec<Notice>) -> Vec<Notice> {
    rows.sort_by_key(|n| (n.campaign_id.is_some(), n.id));
    rows
}

pub(super) fn notice_from_row<'r, R>(row: &'r R) -> Result<Notice>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Notice {
        id: row.try_get("id")?,
        campaign_id: row.try_get("campaign_id")?,
        channel: Channel::from_str(row.try_get("channel")?).map_err(corrupt)?,
        recipient: row.try_get("recipient")?,
        locale: Locale::from_str(row.try_get("locale")?).map_err(corrupt)?,
        body: row.try_get("body")?,
        attempts: u32::try_from(attempts).map_err(corrupt)?,
    })
}

pub(super) fn sms_from_row<'r, R>(row: &'r R) -> Result<OutboundSms>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    let number = |name: &'static str| -> Result<u32> {
        let value: i64 = row.try_get(name)?;
        u32::try_from(value).map_err(corrupt)
    };
    Ok(OutboundSms {
        id: row.try_get("id")?,
        provider: row.try_get("provider")?,
        recipient: row.try_get("recipient")?,
        message: row.try_get("message")?,
        segments: number("segments")?,
        status: DeliveryStatus::from_outbox(row.try_get("status")?).map_err(corrupt)?,
        reason: row.try_get("last_error")?,
        provider_message_id: row.try_get("provider_message_id")?,
        attempts: number("attempts")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
