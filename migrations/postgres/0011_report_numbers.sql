-- Report numbers run 1, 2, 3... per commune (the same as migrations/sqlite/0012): the last
-- number of each commune is one row, taken with an upsert in the filing transaction, which
-- locks that row until the filing commits or rolls back.
alter table reports add column number bigint not null default 0;

update reports set number = numbered.n
from (select id, row_number() over (partition by commune_code order by id) as n from reports) numbered
where numbered.id = reports.id;

create table report_numbers (
    commune_code text primary key,
    last bigint not null
);

insert into report_numbers (commune_code, last)
select commune_code, max(number) from reports group by commune_code;

create unique index reports_by_number on reports (commune_code, number);
