-- The current roll is kept per commune: `roll_slices` names, for each commune, the import
-- whose rows are its current voters. Approving a commune's change set points its slice at
-- the import (one row written) instead of copying the whole national roll into a new
-- version, so 1,541 offices approving in the same weeks cost what their communes hold.
-- `current_versions` keeps the last roll import applied, for its number.
create table roll_slices (
    commune_code text primary key,
    import_id bigint not null references imports (id)
);

insert into roll_slices (commune_code, import_id)
select distinct l.commune_code, l.roll_version
from roll_station_loads l
join current_versions c on c.kind = 'roll' and c.import_id = l.roll_version;

-- A voter is found by NIN across the slices (a lookup reads the one row whose import is its
-- commune's slice), and a slice's rows are read by import and commune.
create index roll_voters_by_nin on roll_voters (nin);
create index roll_voters_by_commune on roll_voters (roll_version, commune_code);
