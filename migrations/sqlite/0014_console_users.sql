-- Console users and their server-side sessions (issue 15). Numbered 0014: 0013 belongs to
-- another branch; sqlx applies whatever is not yet applied, in order, so the gap is harmless.

-- A person who signs in to the web console. Only an Argon2id hash of the password is kept.
-- `communes` is comma-separated text in both databases: the table is small and read by id or
-- login, so PostgreSQL's arrays would buy nothing and cost the SQL both backends share.
create table console_users (
    id integer primary key autoincrement,
    login text not null unique,
    role text not null check (role in ('national', 'commune_admin', 'clerk_supervisor', 'observer')),
    communes text not null default '',
    password_hash text not null,
    -- Base32 TOTP secret once the user enrolled a second factor (RFC 6238).
    totp_secret text,
    created_at integer not null,
    disabled_at integer
);

-- A signed-in browser. The cookie carries a random secret; only its SHA-256 is stored, so a
-- copy of the database does not let anyone in. Ended sessions are kept until pruned.
create table console_sessions (
    id text primary key,
    user_id integer not null references console_users (id),
    -- The token every form of this session carries (checked on every POST).
    csrf text not null,
    -- The password was right but the second factor is still to be given.
    pending_second_factor boolean not null default false,
    created_at integer not null,
    last_seen integer not null,
    ended_at integer
);

create index console_sessions_by_user on console_sessions (user_id);
