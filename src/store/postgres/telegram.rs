//! The Telegram inbox's claim in PostgreSQL; the rest of the channel's tables is in
//! `store/shared/telegram.rs`.

/// Claims for `$1`, until `$2 + $3`, at most `$4` inbox rows (see
/// `TelegramStore::claim_updates`). Several instances claim at once, so unlike SQLite this
/// needs `for update skip locked` (a syntax SQLite lacks): rows another instance is claiming
/// right now are left to it, not waited for. The outer `where` repeats the condition, so
/// that a row another instance claimed and committed in between is checked again on its new
/// version and left out.
pub(super) const CLAIM_UPDATES: &str = "
    update telegram_updates set claimed_by = $1, lease_until = $2 + $3
    where update_id in (
            select update_id from telegram_updates
            where claimed_by is null or lease_until < $2
            order by update_id
            limit $4
            for update skip locked)
      and (claimed_by is null or lease_until < $2)
    returning update_id, chat_id";
