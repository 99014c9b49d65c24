-- The audit log becomes a hash chain: each entry keeps the hash of the entry before it and
-- its own, sha256(prev_hash || canonical content), computed by Maktab (see
-- src/store/admin.rs; the canonical form of the details is not one SQL produces). Entries
-- written before this migration are sealed once at start-up; from then on no entry changes.
-- Writers take `lock table audit_log in share row exclusive mode`, so the chain stays linear
-- across instances.
alter table audit_log add column prev_hash text, add column hash text;

-- Updates, deletes and truncation are refused, except sealing an entry that has no hashes
-- yet, content unchanged. The triggers of 0002 call this function.
create or replace function audit_log_append_only() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE'
        and old.hash is null and old.prev_hash is null
        and new.hash is not null and new.prev_hash is not null
        and new.id = old.id and new.at = old.at and new.actor = old.actor
        and new.action = old.action and new.communes = old.communes
        and new.details = old.details then
        return new;
    end if;
    raise exception 'the audit log is append-only';
end;
$$;

-- Every new entry joins the chain.
create function audit_log_chained() returns trigger language plpgsql as $$
begin
    if new.hash is null or new.prev_hash is null then
        raise exception 'an audit entry needs its chain hashes';
    end if;
    return new;
end;
$$;

create trigger audit_log_chained before insert on audit_log
    for each row execute function audit_log_chained();
