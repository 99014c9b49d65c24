-- A version's voters are keyed by commune, then NIN: a commune's slice is one range of the
-- key, which is what imports, approvals, tallies, notices and pruning read, and the index
-- `roll_voters_by_commune` (its prefix) goes, so an import writes one index fewer. NINs stay
-- unique in a version (the import rejects a file that repeats one).
alter table roll_voters drop constraint roll_voters_pkey;
alter table roll_voters add primary key (roll_version, commune_code, nin);
drop index roll_voters_by_commune;
-- Lookups find a NIN across the slices through this index, and an import's diff asks whether
-- a NIN is in one version (`nin = … and roll_version = …`). With the NIN alone here the
-- planner could answer that by scanning the whole version through the primary key once per
-- voter of the commune: a commune's import of 16,000 voters over a roll of 1,000,000 took
-- 8.9 s on average, 2.3 s with this index (bench/README.md, approve). SQLite's index on a
-- table without rowid ends with the primary key anyway.
drop index roll_voters_by_nin;
create index roll_voters_by_nin on roll_voters (nin, roll_version);
