-- Electoral map and roll, kept as numbered versions so that a later version can be compared
-- with the one before it. Only the current and the previous version of each kind are kept.

create table imports (
    id integer primary key autoincrement,
    kind text not null check (kind in ('map', 'roll')),
    -- 'staging' while a roll is being written in chunks; 'pending' when complete but waiting
    -- for its change set to be approved; 'accepted' once approved (or the first version);
    -- 'rejected' when its change set was rejected (its data is then removed).
    status text not null check (status in ('staging', 'pending', 'accepted', 'rejected')),
    created_at integer not null,
    source text not null,
    actor text not null,
    -- For a roll: the map version it was validated against.
    map_version integer,
    communes integer not null default 0,
    centres integer not null default 0,
    stations integer not null default 0,
    voters integer not null default 0
);

create table current_versions (
    kind text primary key check (kind in ('map', 'roll')),
    import_id integer not null references imports (id)
);

create table map_communes (
    map_version integer not null,
    code text not null,
    name_ar text not null,
    name_fr text not null,
    primary key (map_version, code)
) without rowid;

create table map_centres (
    map_version integer not null,
    commune_code text not null,
    code text not null,
    name_ar text not null,
    name_fr text not null,
    address_ar text not null,
    address_fr text not null,
    latitude real,
    longitude real,
    primary key (map_version, commune_code, code)
) without rowid;

create table map_stations (
    map_version integer not null,
    commune_code text not null,
    centre_code text not null,
    number integer not null,
    kind text not null check (kind in ('mixed', 'women')),
    primary key (map_version, commune_code, centre_code, number)
) without rowid;

-- Only the columns needed to answer and to check the rules: no names, no addresses.
create table roll_voters (
    roll_version integer not null,
    nin text not null,
    birth_date text not null,
    sex text check (sex in ('M', 'F')),
    commune_code text not null,
    centre_code text not null,
    station integer not null,
    primary key (roll_version, nin)
) without rowid;

-- What Maktab remembers of each sender: language and the pending dialogue, if any.
create table senders (
    channel text not null,
    sender text not null,
    locale text,
    locale_explicit integer not null default 0,
    dialogue text,
    dialogue_expires_at integer,
    -- STOP / ARRET / توقف: no notices at all until START / ابدأ.
    notices_opt_out integer not null default 0,
    updated_at integer not null,
    primary key (channel, sender)
) without rowid;

-- Who asked to hear about changes to which voter's station: an SMS number that found a voter,
-- or a Telegram chat that pressed "notify me".
create table subscriptions (
    channel text not null,
    sender text not null,
    nin text not null,
    created_at integer not null,
    primary key (channel, sender, nin)
) without rowid;

create index subscriptions_by_nin on subscriptions (nin);

-- Message ids already handled, per source (an SMS provider, Telegram): providers retry
-- webhooks, and a retried message must not be answered or counted twice.
create table inbound_seen (
    source text not null,
    message_id text not null,
    received_at integer not null,
    primary key (source, message_id)
) without rowid;

-- Fixed-window counters for the abuse limits (per sender, per NIN).
create table rate_counters (
    key text not null,
    window_start integer not null,
    count integer not null,
    primary key (key, window_start)
) without rowid;
