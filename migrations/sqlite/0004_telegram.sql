-- Telegram: the inbox of accepted webhook updates, what is known of each chat, and the
-- subscription offers behind the "notify me" buttons.

-- Updates answered 200 but not yet fully processed. The webhook writes the raw JSON here
-- before it answers, and a worker deletes the row once the update is handled, so an accepted
-- update survives a crash and is resumed at the next start. Which update ids were already
-- accepted is recorded in inbound_seen (source 'telegram'), in the same transaction.
create table telegram_updates (
    update_id integer primary key,
    chat_id integer,
    body text not null,
    received_at integer not null
);

-- Chats that blocked the bot (my_chat_member "kicked", or a 403 when sending): nothing is sent
-- to them until they write again or unblock.
create table telegram_chats (
    chat_id integer primary key,
    blocked integer not null default 0,
    updated_at integer not null
);

-- The voter a "notify me" button refers to. The button's callback_data carries only the row id
-- (callback_data is visible to Telegram and limited to 64 bytes), never the NIN; a press is
-- honoured only from the chat the offer was made to, and only until it expires.
create table telegram_offers (
    id integer primary key autoincrement,
    chat_id integer not null,
    nin text not null,
    expires_at integer not null,
    unique (chat_id, nin)
);

create index telegram_offers_by_expiry on telegram_offers (expires_at);
