-- A version's voters are keyed by commune, then NIN: a commune's slice is one range of the
-- table, which is what imports, approvals, tallies, notices and pruning read, and the index
-- `roll_voters_by_commune` (the same key) goes, so an import writes one B-tree fewer. NINs
-- stay unique in a version (the import rejects a file that repeats one); lookups find a NIN
-- through `roll_voters_by_nin`.
create table roll_voters_new (
    roll_version integer not null,
    commune_code text not null,
    nin text not null,
    birth_date text not null,
    sex text check (sex in ('M', 'F')),
    centre_code text not null,
    station integer not null,
    primary key (roll_version, commune_code, nin)
) without rowid;

insert into roll_voters_new (roll_version, commune_code, nin, birth_date, sex, centre_code, station)
select roll_version, commune_code, nin, birth_date, sex, centre_code, station
from roll_voters order by roll_version, commune_code, nin;

drop table roll_voters;
alter table roll_voters_new rename to roll_voters;
create index roll_voters_by_nin on roll_voters (nin);

-- Staged voters by commune, in arrival order: each chunk of an import appends to the end of
-- each commune's rows, and the commit copies commune after commune (see
-- src/store/sqlite/roll.rs). Staging rows live only during an import; one that died is
-- removed when the store opens.
drop table roll_staging;
create table roll_staging (
    import_id integer not null,
    commune_code text not null,
    -- Arrival order within the import.
    seq integer not null,
    nin text not null,
    birth_date text not null,
    sex text,
    centre_code text not null,
    station integer not null,
    primary key (import_id, commune_code, seq)
) without rowid;
