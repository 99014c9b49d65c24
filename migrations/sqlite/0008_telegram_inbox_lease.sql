-- A lease on each row of the Telegram inbox, so that several instances sharing one database
-- never resume the same update: the instance that accepted or claimed a row holds it
-- (claimed_by) until lease_until, and renews the lease while the update waits or is handled.
-- A row nobody holds (released at a clean shutdown, or accepted before this migration) or
-- whose lease ran out (its holder died) is claimed by the next instance that looks. The
-- inbox holds only updates in flight, a few rows: no index.
alter table telegram_updates add column claimed_by text;
alter table telegram_updates add column lease_until integer;
