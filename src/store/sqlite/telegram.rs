//! The Telegram inbox's claim in SQLite; the rest of the channel's tables is in
//! `store/shared/telegram.rs`.

/// Claims for `$1`, until `$2 + $3`, at most `$4` inbox rows (see
/// `TelegramStore::claim_updates`). SQLite has no `for update skip locked` and needs none:
/// this one statement runs under its single write lock, so two claims never take the same
/// row.
pub(super) const CLAIM_UPDATES: &str = "
    update telegram_updates set claimed_by = $1, lease_until = $2 + $3
    where update_id in (
        select update_id from telegram_updates
        where claimed_by is null or lease_until < $2
        order by update_id
        limit $4)
    returning update_id, chat_id";
