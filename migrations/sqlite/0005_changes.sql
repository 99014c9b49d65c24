-- Change sets: what a new version of the map or the roll changes, reviewed before it applies;
-- then campaigns and the outbox that tell the voters who asked.

create table change_sets (
    id integer primary key autoincrement,
    kind text not null check (kind in ('map', 'roll')),
    -- The current version when the change set was made, and the pending one it would apply.
    base_version integer not null,
    new_version integer not null,
    status text not null check (status in ('pending', 'approved', 'rejected', 'superseded')),
    created_at integer not null,
    created_by text not null,
    -- Comma-separated communes the new version's file covered (who may approve it).
    communes text not null default '',
    decided_at integer,
    decided_by text,
    -- Counts and station flows, as JSON.
    summary text not null
);

-- Voters whose assignment changes, with where they were and where they go.
create table change_set_voters (
    change_set_id integer not null,
    nin text not null,
    change text not null check (change in ('added', 'removed', 'moved')),
    old_commune text,
    old_centre text,
    old_station integer,
    new_commune text,
    new_centre text,
    new_station integer,
    primary key (change_set_id, nin)
) without rowid;

-- Centres and stations that change in a new map.
create table change_set_places (
    change_set_id integer not null,
    seq integer not null,
    change text not null,
    commune_code text not null,
    centre_code text not null,
    station integer,
    old_value text,
    new_value text,
    primary key (change_set_id, seq)
) without rowid;

-- A campaign is one batch of notices: the notices of an approved change set, or a broadcast.
create table campaigns (
    id integer primary key autoincrement,
    kind text not null check (kind in ('change', 'broadcast')),
    -- 'preparing' until every recipient has its outbox row (resumed after a crash), 'draft'
    -- for a broadcast awaiting confirmation.
    status text not null check (status in ('preparing', 'draft', 'sending', 'paused', 'cancelled', 'done')),
    change_set_id integer,
    audience text not null,
    text_ar text,
    text_fr text,
    created_at integer not null,
    created_by text not null,
    confirmed_at integer,
    confirmed_by text
);

-- One row per message to send. Claimed with a lease, so a dispatcher that dies mid-send only
-- delays (and at worst repeats) the rows it held.
create table outbox (
    id integer primary key autoincrement,
    campaign_id integer not null,
    channel text not null,
    recipient text not null,
    locale text not null,
    body text not null,
    status text not null check (status in ('pending', 'sending', 'sent', 'delivered', 'failed', 'skipped', 'cancelled')),
    attempts integer not null default 0,
    next_attempt_at integer not null,
    lease_until integer,
    provider_message_id text,
    last_error text,
    updated_at integer not null
);

create index outbox_due on outbox (status, next_attempt_at);
create index outbox_by_campaign on outbox (campaign_id, status);
