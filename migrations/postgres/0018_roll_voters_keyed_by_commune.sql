-- A version's voters are keyed by commune, then NIN: a commune's slice is one range of the
-- key, which is what imports, approvals, tallies, notices and pruning read, and the index
-- `roll_voters_by_commune` (its prefix) goes, so an import writes one index fewer. NINs stay
-- unique in a version (the import rejects a file that repeats one); lookups find a NIN
-- through `roll_voters_by_nin`.
alter table roll_voters drop constraint roll_voters_pkey;
alter table roll_voters add primary key (roll_version, commune_code, nin);
drop index roll_voters_by_commune;
