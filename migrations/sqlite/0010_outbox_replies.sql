-- One outbox for every message that leaves Maktab. Replies to voters join the notices of
-- campaigns here, so a reply is a durable row before the webhook answers and one sender per
-- provider sends both within one rate limit. A reply has no campaign; `provider` names the
-- SMS provider it goes back through (a notice gets its lane's provider when it is claimed);
-- `message` names what is sent (a catalogue id) and `segments` what it costs. A reply's
-- text is kept only until it is sent or given up (it holds a voter's polling place).
--
-- SQLite cannot drop a column's `not null`, so the table is rebuilt. The records of
-- `sms_outbound` move here and that table goes: its pending rows never kept their text and
-- cannot be sent again, so they are recorded as failed.
create table outbox_new (
    id integer primary key autoincrement,
    campaign_id integer,
    channel text not null,
    provider text,
    recipient text not null,
    locale text not null,
    body text not null,
    message text,
    segments integer,
    status text not null check (status in ('pending', 'sending', 'sent', 'delivered', 'failed', 'skipped', 'cancelled')),
    attempts integer not null default 0,
    next_attempt_at integer not null,
    lease_until integer,
    provider_message_id text,
    last_error text,
    created_at integer not null,
    updated_at integer not null
);

insert into outbox_new (id, campaign_id, channel, recipient, locale, body, status, attempts,
                        next_attempt_at, lease_until, provider_message_id, last_error,
                        created_at, updated_at)
select id, campaign_id, channel, recipient, locale, body, status, attempts, next_attempt_at,
       lease_until, provider_message_id, last_error, updated_at, updated_at
from outbox;

insert into outbox_new (campaign_id, channel, provider, recipient, locale, body, message,
                        segments, status, attempts, next_attempt_at, provider_message_id,
                        last_error, created_at, updated_at)
select null, 'sms', provider, recipient, 'ar', '', message, segments,
       case status when 'pending' then 'failed' when 'accepted' then 'sent' else status end,
       attempts, created_at, provider_message_id,
       case status when 'pending' then 'not sent before the upgrade; its text was not kept'
                   else reason end,
       created_at, updated_at
from sms_outbound;

drop table outbox;
drop table sms_outbound;
alter table outbox_new rename to outbox;

create index outbox_due on outbox (status, next_attempt_at);
create index outbox_by_campaign on outbox (campaign_id, status);
-- Delivery reports name the provider's id.
create index outbox_by_provider_id on outbox (provider_message_id);
-- Outbound history per number, newest first.
create index outbox_by_recipient on outbox (recipient, id);
