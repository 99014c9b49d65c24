-- Admin API: tokens, the append-only audit log and lookup statistics.

-- Only a hash of each token's secret is kept; the token itself is shown once, at creation.
create table api_tokens (
    id integer primary key autoincrement,
    name text not null,
    role text not null check (role in ('national', 'commune_admin', 'clerk_supervisor')),
    -- Comma-separated commune codes; empty for national tokens.
    communes text not null default '',
    secret_hash text not null,
    created_at integer not null,
    expires_at integer,
    revoked_at integer
);

-- Append-only: who did what, when, to which communes, with counts. No route or command
-- changes it, and the triggers refuse updates and deletes from anywhere else.
create table audit_log (
    id integer primary key autoincrement,
    at integer not null,
    actor text not null,
    action text not null,
    -- Comma-separated commune codes the action concerns (empty: national or none).
    communes text not null default '',
    details text not null
);

create index audit_log_by_action on audit_log (action, id);

create trigger audit_log_no_update before update on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;

create trigger audit_log_no_delete before delete on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;

-- Lookups per hour, channel, commune (empty when no voter matched) and outcome. Written in
-- batches by each instance, adding to the counts.
create table lookup_stats (
    hour integer not null,
    channel text not null,
    commune_code text not null,
    outcome text not null,
    count integer not null,
    primary key (hour, channel, commune_code, outcome)
) without rowid;
