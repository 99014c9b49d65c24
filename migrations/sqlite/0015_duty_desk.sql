-- The duty desk (issue 16): tickets from voters and field staff, their messages, the duty
-- roster and the Telegram chats of duty agents.

-- A ticket: a voter who asked for a person, or an incident a clerk reported from a centre.
-- `sender` is the channel's id (phone number or chat id): replies go there. `sender_masked`
-- is what agents see. `owner` is the identity of the agent who took it (`user:N`,
-- `clerk:N`); taking is `update ... where owner is null`, so a ticket is taken once.
create table tickets (
    id integer primary key autoincrement,
    commune_code text not null,
    channel text not null,
    sender text not null,
    sender_masked text not null,
    locale text not null,
    kind text not null check (kind in ('voter', 'incident')),
    incident_kind text,
    centre_code text,
    -- Incidents first: higher is sooner.
    priority integer not null default 0,
    status text not null default 'open' check (status in ('open', 'closed')),
    owner text,
    owner_name text,
    created_at integer not null,
    first_answer_at integer,
    closed_at integer,
    closed_by text,
    -- 0: with the commune; 1: pushed to the wilaya's and the national duty cells.
    escalation_level integer not null default 0,
    escalated_at integer
);

create index tickets_queue on tickets (status, commune_code, priority, id);
create index tickets_by_sender on tickets (channel, sender, status);

create table ticket_messages (
    id integer primary key autoincrement,
    ticket_id integer not null references tickets (id),
    origin text not null check (origin in ('voter', 'agent', 'note')),
    body text not null,
    -- The agent's identity for `agent` and `note`; null for the voter.
    author text,
    created_at integer not null
);

create index ticket_messages_by_ticket on ticket_messages (ticket_id, id);

-- Who is on duty when: `cell` is a commune code, `w16` (a wilaya's cell) or `national`.
create table duty_shifts (
    id integer primary key autoincrement,
    cell text not null,
    starts_at integer not null,
    ends_at integer not null,
    agent text not null,
    created_by text not null,
    created_at integer not null
);

create index duty_shifts_by_cell on duty_shifts (cell, ends_at);

-- The Telegram chat where an agent gets tickets and answers them.
create table duty_agents (
    agent text primary key,
    name text not null,
    chat text not null unique,
    locale text not null default 'ar'
);
