-- The audit log becomes a hash chain: each entry keeps the hash of the entry before it and
-- its own, sha256(prev_hash || canonical content), computed by Maktab (see
-- src/store/admin.rs). Entries written before this migration are sealed once at start-up,
-- since SQLite has no SHA-256 function; from then on no entry changes.
alter table audit_log add column prev_hash text;
alter table audit_log add column hash text;

-- Updates are refused, except sealing an entry that has no hashes yet, content unchanged.
drop trigger audit_log_no_update;
create trigger audit_log_no_update before update on audit_log
when old.hash is not null or old.prev_hash is not null
    or new.hash is null or new.prev_hash is null
    or new.id is not old.id or new.at is not old.at or new.actor is not old.actor
    or new.action is not old.action or new.communes is not old.communes
    or new.details is not old.details
begin
    select raise(abort, 'the audit log is append-only');
end;

-- `insert or replace` deletes the row it replaces without firing delete triggers (unless
-- recursive_triggers is on, which Maktab cannot rely on for every connection), so an insert
-- that names an existing id is refused before it happens.
create trigger audit_log_no_replace before insert on audit_log
when exists (select 1 from audit_log where id = new.id)
begin
    select raise(abort, 'the audit log is append-only');
end;

-- Every new entry joins the chain.
create trigger audit_log_chained before insert on audit_log
when new.hash is null or new.prev_hash is null
begin
    select raise(abort, 'an audit entry needs its chain hashes');
end;
