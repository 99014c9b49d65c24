-- One outbox for every message that leaves Maktab: replies to voters join the notices of
-- campaigns (the same table and meanings as migrations/sqlite/0010_outbox_replies.sql). A
-- reply has no campaign; `provider` names the SMS provider it goes back through; `message`
-- names what is sent and `segments` what it costs. The records of `sms_outbound` move here
-- and that table goes; its pending rows never kept their text, so they are recorded as failed.
alter table outbox alter column campaign_id drop not null;
alter table outbox add column provider text;
alter table outbox add column message text;
alter table outbox add column segments bigint;
alter table outbox add column created_at bigint;
update outbox set created_at = updated_at;
alter table outbox alter column created_at set not null;

insert into outbox (campaign_id, channel, provider, recipient, locale, body, message, segments,
                    status, attempts, next_attempt_at, provider_message_id, last_error,
                    created_at, updated_at)
select null, 'sms', provider, recipient, 'ar', '', message, segments,
       case status when 'pending' then 'failed' when 'accepted' then 'sent' else status end,
       attempts, created_at, provider_message_id,
       case status when 'pending' then 'not sent before the upgrade; its text was not kept'
                   else reason end,
       created_at, updated_at
from sms_outbound;

drop table sms_outbound;

create index outbox_by_provider_id on outbox (provider_message_id);
create index outbox_by_recipient on outbox (recipient, id);
