-- Report numbers run 1, 2, 3... per commune, so an office reads its register without gaps
-- (ids are global and skip values a conflicting insert used). The last number of each
-- commune is one row, taken with an upsert in the filing transaction: concurrent filings
-- get consecutive numbers, and a filing that rolls back gives its number back.
alter table reports add column number integer not null default 0;

update reports set number = (
    select count(*) from reports earlier
    where earlier.commune_code = reports.commune_code and earlier.id <= reports.id
);

create table report_numbers (
    commune_code text primary key,
    last integer not null
) without rowid;

insert into report_numbers (commune_code, last)
select commune_code, max(number) from reports group by commune_code;

create unique index reports_by_number on reports (commune_code, number);
