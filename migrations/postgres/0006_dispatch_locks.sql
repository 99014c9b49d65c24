-- One dispatcher per channel for the whole deployment, so the channel's rate limit holds for
-- all instances together. The holder renews its lock every round; if it dies, the lock
-- expires and another instance takes the channel over.
create table dispatch_locks (
    channel text primary key,
    holder text not null,
    expires_at bigint not null
);
