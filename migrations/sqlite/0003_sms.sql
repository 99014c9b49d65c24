-- Outbound SMS: one row per message handed to a provider, with its delivery status. The text
-- itself is not kept (it can hold a voter's polling place); the catalogue message id and the
-- segment count are enough for statistics and billing checks.
create table sms_outbound (
    id integer primary key autoincrement,
    provider text not null check (provider in ('kannel', 'twilio', 'infobip', 'generic')),
    recipient text not null,
    -- The catalogue message id (`lookup-found`, ...) or a campaign's name.
    message text not null,
    segments integer not null,
    -- 'pending' until the provider answers, then 'accepted', later 'delivered' or 'failed'.
    status text not null check (status in ('pending', 'accepted', 'delivered', 'failed')),
    reason text,
    -- The provider's id for the message (Twilio's sid, Infobip's messageId); for Kannel and
    -- the generic webhook, Maktab's own id, which they echo in delivery reports.
    provider_message_id text,
    attempts integer not null default 0,
    created_at integer not null,
    updated_at integer not null
);

create index sms_outbound_by_provider_id on sms_outbound (provider, provider_message_id);
