-- Voters and men per station of each roll version, written with the version (in the
-- transaction that makes it), so the dashboard and the map import's check read a few
-- thousand rows instead of grouping 24,000,000 voters on every page load.
create table roll_station_loads (
    roll_version integer not null,
    commune_code text not null,
    centre_code text not null,
    station integer not null,
    voters integer not null,
    men integer not null,
    primary key (roll_version, commune_code, centre_code, station)
);

-- Versions that exist already (the current and previous rolls, pending ones).
insert into roll_station_loads (roll_version, commune_code, centre_code, station, voters, men)
select roll_version, commune_code, centre_code, station, count(*),
       sum(case when sex = 'M' then 1 else 0 end)
from roll_voters
group by roll_version, commune_code, centre_code, station;
