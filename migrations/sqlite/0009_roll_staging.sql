-- Voters of a roll import while it is being written, before the commit copies them into
-- roll_voters in NIN order. Written straight into roll_voters, a national roll's chunks landed
-- all over its B-tree (NINs arrive in no order), so every chunk rewrote thousands of pages;
-- here each chunk appends to the ends of 1,000 ranges (the NIN's first three digits), and the
-- commit copies range after range, which appends to the new version's B-tree in key order.
create table roll_staging (
    import_id integer not null,
    -- The first three digits of the NIN.
    bucket integer not null,
    -- Arrival order within the import.
    seq integer not null,
    nin text not null,
    birth_date text not null,
    sex text,
    commune_code text not null,
    centre_code text not null,
    station integer not null,
    primary key (import_id, bucket, seq)
) without rowid;
