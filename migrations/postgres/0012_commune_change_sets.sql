-- Change sets per commune (each covers one commune; a national file makes one per commune it
-- changes) and version numbers given only to versions that become current, so a rejected or
-- discarded import does not use one up. The same as migrations/sqlite/0013; the index by
-- new_version exists since 0005.
alter table imports add column number bigint;

update imports set number = (
    select count(*) from imports earlier
    where earlier.kind = imports.kind and earlier.status = 'accepted' and earlier.id <= imports.id
) where status = 'accepted';

create index change_sets_by_status on change_sets (kind, status);
