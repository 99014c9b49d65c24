-- Change sets per commune (each covers one commune; a national file makes one per commune it
-- changes) and version numbers given only to versions that become current, so a rejected or
-- discarded import does not use one up. `imports.id` stays the internal key that change sets
-- and data rows refer to; `number` is what offices are told ("version 5").
alter table imports add column number integer;

update imports set number = (
    select count(*) from imports earlier
    where earlier.kind = imports.kind and earlier.status = 'accepted' and earlier.id <= imports.id
) where status = 'accepted';

-- The change sets of one import (one per commune it changes), and a commune's pending one.
create index change_sets_by_new_version on change_sets (new_version);
create index change_sets_by_status on change_sets (kind, status);
