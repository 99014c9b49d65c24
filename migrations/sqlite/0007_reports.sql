-- Citizens missing from the roll: their reports, and the clerks who collect them in the field.
-- Only what the revision of the lists needs: NIN, birth date, commune of residence and full
-- name (emptied once the citizen is on an approved roll), plus where to send the follow-up.

create table clerks (
    id integer primary key autoincrement,
    commune_code text not null,
    -- SHA-256 of the one-time invitation code; null once used.
    invite_hash text unique,
    invite_expires_at integer,
    invited_by text not null,
    invited_at integer not null,
    -- The Telegram chat that enrolled with the code.
    chat text unique,
    enrolled_at integer,
    revoked_at integer,
    revoked_by text
);

-- One report per NIN; every further report of it is a source.
create table reports (
    id integer primary key autoincrement,
    nin text not null unique,
    birth_date text not null,
    commune_code text not null,
    full_name text not null,
    status text not null check (status in ('open', 'handled', 'resolved')),
    created_at integer not null,
    updated_at integer not null,
    handled_at integer,
    handled_by text,
    resolved_at integer,
    -- The roll change set whose approval found the NIN on the roll.
    resolved_change_set integer
);

create index reports_by_commune on reports (commune_code, status, created_at);
create index reports_by_resolution on reports (resolved_change_set);

create table report_sources (
    id integer primary key autoincrement,
    report_id integer not null references reports (id),
    source text not null check (source in ('self', 'clerk')),
    clerk_id integer references clerks (id),
    -- Where the follow-up goes: the citizen's own channel and id, or the phone a clerk
    -- recorded (sms); both null when a clerk recorded none.
    channel text,
    recipient text,
    locale text not null,
    created_at integer not null
);

-- The same reporter reporting the same NIN again adds nothing.
create unique index report_sources_once on report_sources
    (report_id, source, coalesce(clerk_id, 0), coalesce(channel, ''), coalesce(recipient, ''));
create index report_sources_by_clerk on report_sources (clerk_id, report_id);
