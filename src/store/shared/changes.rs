//! Change sets, one per commune, so the country's 1,541 offices decide independently.
//! Approving a roll change set points the commune's slice (`roll_slices`) at the import's rows
//! of that commune: one row written, whatever the size of the national roll. Approving a map
//! change set makes the import's version current when it holds nothing else unapproved and is
//! still based on the current version, and otherwise a new version of the current map with
//! the commune's data taken from the import's ("rebased"; a map is a few thousand rows).
//!
//! On PostgreSQL, approving and rejecting lock the change set's row, and
//! approving also locks `current_versions` as imports do, so two officers (or an officer and
//! an import) acting at once on different instances are ordered and the second sees the
//! first's outcome; SQLite's `begin immediate` holds its single write lock for the same end.
//! SQL that the dialects write differently is spelled by the backend's fragment macros
//! (`byte_order!`, `for_update!`, `as_jsonb!`, `as_date!`).

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::Row;

use super::{Backend, Connection, DbRow, Integer, change_set_communes, corrupt, insert_audit};
use crate::domain::{
    Bilingual, Centre, CentreCode, Channel, Commune, CommuneCode, Coordinates, Locale, NationalId,
    PollingPlace, StationKind, StationNumber, StationRef, Timestamp,
};
use crate::store::{
    ChangeRecipient, ChangeSet, ChangeSetStatus, ChangeStore, ImportKind, NewAuditEntry,
    PlaceChange, RemovedRecipient, Result, StoreError, VoterChange, VoterChangeKind,
};

/// The columns of a change set, for `change_set_from_row`, then `$rest`.
macro_rules! select_change_sets {
    ($($rest:expr),*) => {
        concat!(
            "select id, kind, base_version, new_version, status, created_at, created_by, communes,
                    decided_at, decided_by, cast(summary as text) as summary
             from change_sets ",
            $($rest),*
        )
    };
}

fn change_set_from_row(row: &DbRow) -> Result<ChangeSet> {
    let kind = match row.try_get::<&str, _>("kind")? {
        "map" => ImportKind::Map,
        "roll" => ImportKind::Roll,
        other => return Err(corrupt(format!("change set kind {other:?}"))),
    };
    Ok(ChangeSet {
        id: row.try_get("id")?,
        kind,
        base_version: row.try_get("base_version")?,
        new_version: row.try_get("new_version")?,
        status: ChangeSetStatus::from_str(row.try_get("status")?).map_err(corrupt)?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        communes: change_set_communes(row)?
            .iter()
            .map(|c| CommuneCode::parse(c).map_err(corrupt))
            .collect::<Result<_>>()?,
        decided_at: row.try_get("decided_at")?,
        decided_by: row.try_get("decided_by")?,
        summary: serde_json::from_str(row.try_get("summary")?).map_err(corrupt)?,
    })
}

/// One change set, its row locked until the transaction ends.
async fn lock_change_set(conn: &mut Connection, id: i64) -> Result<Option<ChangeSet>> {
    sqlx::query(select_change_sets!("where id = $1", for_update!()))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(change_set_from_row)
        .transpose()
}

fn station_ref(row: &DbRow, prefix: &str) -> Result<Option<StationRef>> {
    let commune: Option<&str> = row.try_get(format!("{prefix}_commune").as_str())?;
    let centre: Option<&str> = row.try_get(format!("{prefix}_centre").as_str())?;
    let station: Option<Integer> = row.try_get(format!("{prefix}_station").as_str())?;
    match (commune, centre, station) {
        (Some(commune), Some(centre), Some(station)) => Ok(Some(StationRef {
            commune: CommuneCode::parse(commune).map_err(corrupt)?,
            centre: CentreCode::parse(centre).map_err(corrupt)?,
            station: u16::try_from(station)
                .map_err(corrupt)
                .and_then(|n| StationNumber::new(n).map_err(corrupt))?,
        })),
        _ => Ok(None),
    }
}

/// The pending change set of `kind` that covers one of `communes`, with that commune: an
/// import of these communes must wait for it. Called under `lock_current_versions`.
pub(super) async fn pending_for(
    conn: &mut Connection,
    kind: ImportKind,
    communes: &[CommuneCode],
) -> Result<Option<(i64, CommuneCode)>> {
    let pending = sqlx::query(select_change_sets!(
        "where kind = $1 and status = 'pending' order by id"
    ))
    .bind(kind.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for row in &pending {
        let change_set = change_set_from_row(row)?;
        if let Some(commune) = change_set.communes.iter().find(|c| communes.contains(c)) {
            return Ok(Some((change_set.id, commune.clone())));
        }
    }
    Ok(None)
}

/// Gives a version that becomes current the next version number of its kind.
pub(super) async fn number_version(conn: &mut Connection, kind: ImportKind, id: i64) -> Result<()> {
    sqlx::query(
        "update imports set number = (select coalesce(max(number), 0) + 1 from imports where kind = $1)
         where id = $2",
    )
    .bind(kind.as_str())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes a version's data and marks it rejected (discarded): its change sets were rejected,
/// or (a map) applied through rebased versions, or it changed nothing.
pub(super) async fn discard_version(
    conn: &mut Connection,
    kind: ImportKind,
    version: i64,
) -> Result<()> {
    // A version some commune answers from (a national file partly approved) is kept:
    // `prune_versions` removes its rows that no slice reads.
    let number: Option<i64> = sqlx::query_scalar("select number from imports where id = $1")
        .bind(version)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    if number.is_some() {
        return Ok(());
    }
    let statements: &[&str] = match kind {
        ImportKind::Roll => &[
            "delete from roll_voters where roll_version = $1",
            "delete from roll_station_loads where roll_version = $1",
        ],
        ImportKind::Map => &[
            "delete from map_communes where map_version = $1",
            "delete from map_centres where map_version = $1",
            "delete from map_stations where map_version = $1",
        ],
    };
    for statement in statements {
        sqlx::query(*statement)
            .bind(version)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("update imports set status = 'rejected' where id = $1")
        .bind(version)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the map is no longer the one a roll version was validated against.
async fn roll_map_changed(conn: &mut Connection, version: i64) -> Result<bool> {
    let validated: Option<i64> =
        sqlx::query_scalar("select map_version from imports where id = $1")
            .bind(version)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    let current: Option<i64> =
        sqlx::query_scalar("select import_id from current_versions where kind = 'map'")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(validated != current)
}

/// How many change sets an import made.
async fn self_siblings(conn: &mut Connection, version: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("select count(*) from change_sets where new_version = $1")
            .bind(version)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Whether a version still has change sets awaiting a decision.
async fn has_pending(conn: &mut Connection, version: i64) -> Result<bool> {
    let pending: i64 = sqlx::query_scalar(
        "select count(*) from change_sets where new_version = $1 and status = 'pending'",
    )
    .bind(version)
    .fetch_one(&mut *conn)
    .await?;
    Ok(pending > 0)
}

/// Whether `commune`'s data of `kind` changed after `change_set` was made: a change set of it
/// made later was approved (of the same kind, which an import of the commune cannot make
/// while `change_set` is pending, so this guards against what the rule does not cover), or,
/// for the map under a roll change set, one decided since it was made.
async fn commune_changed_since(
    conn: &mut Connection,
    kind: ImportKind,
    commune: &CommuneCode,
    change_set: &ChangeSet,
) -> Result<bool> {
    let rows = if kind == change_set.kind {
        sqlx::query(select_change_sets!(
            "where kind = $1 and status = 'approved' and id > $2"
        ))
        .bind(kind.as_str())
        .bind(change_set.id)
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query(select_change_sets!(
            "where kind = $1 and status = 'approved' and decided_at >= $2"
        ))
        .bind(kind.as_str())
        .bind(change_set.created_at)
        .fetch_all(&mut *conn)
        .await?
    };
    for row in &rows {
        if change_set_from_row(row)?.communes.contains(commune) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Makes a new accepted map version: the `current` version with `commune`'s data taken from
/// the change set's version. Returns its id. (The map is small: a few thousand rows per
/// version, where the roll's slices avoid copying 24,000,000 voters.)
async fn rebase(
    conn: &mut Connection,
    change_set: &ChangeSet,
    current: i64,
    commune: &CommuneCode,
    by: &str,
    at: Timestamp,
) -> Result<i64> {
    let version: i64 = sqlx::query_scalar(
        "insert into imports (kind, status, created_at, source, actor, communes, centres, stations, voters)
         values ('map', 'accepted', $1, $2, $3, 0, 0, 0, 0) returning id",
    )
    .bind(at)
    .bind(format!("change set {} of commune {commune}", change_set.id))
    .bind(by)
    .fetch_one(&mut *conn)
    .await?;
    for statement in [
        "insert into map_communes (map_version, code, name_ar, name_fr)
         select $1, code, name_ar, name_fr from map_communes
         where (map_version = $2 and code = $4) or (map_version = $3 and code <> $4)",
        "insert into map_centres (map_version, commune_code, code, name_ar, name_fr, address_ar, address_fr, latitude, longitude)
         select $1, commune_code, code, name_ar, name_fr, address_ar, address_fr, latitude, longitude from map_centres
         where (map_version = $2 and commune_code = $4) or (map_version = $3 and commune_code <> $4)",
        "insert into map_stations (map_version, commune_code, centre_code, number, kind)
         select $1, commune_code, centre_code, number, kind from map_stations
         where (map_version = $2 and commune_code = $4) or (map_version = $3 and commune_code <> $4)",
    ] {
        sqlx::query(statement)
            .bind(version)
            .bind(change_set.new_version)
            .bind(current)
            .bind(commune.as_str())
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "update imports set
             communes = (select count(*) from map_communes where map_version = $1),
             centres = (select count(*) from map_centres where map_version = $1),
             stations = (select count(*) from map_stations where map_version = $1)
         where id = $1",
    )
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(version)
}

/// Points `commune`'s slice at `version`'s rows. A voter those rows hold who is in another
/// commune's slice moved here: that row goes, so each NIN is in one slice (the latest
/// approved file wins, as a re-imported commune's file always has), and the loads of the
/// slices it left are counted again.
async fn apply_roll_slice(
    conn: &mut Connection,
    version: i64,
    commune: &CommuneCode,
) -> Result<()> {
    let left: Vec<(i64, String)> = sqlx::query(
        "select distinct o.roll_version, o.commune_code
         from roll_voters n
         join roll_voters o on o.nin = n.nin and o.commune_code <> n.commune_code
         join roll_slices sl on sl.commune_code = o.commune_code and sl.import_id = o.roll_version
         where n.roll_version = $1 and n.commune_code = $2",
    )
    .bind(version)
    .bind(commune.as_str())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("roll_version")?, row.try_get("commune_code")?)))
    .collect::<Result<_>>()?;
    for (from_version, from_commune) in &left {
        sqlx::query(
            "delete from roll_voters where roll_version = $1 and commune_code = $2
             and nin in (select nin from roll_voters where roll_version = $3 and commune_code = $4)",
        )
        .bind(from_version)
        .bind(from_commune)
        .bind(version)
        .bind(commune.as_str())
        .execute(&mut *conn)
        .await?;
        let from_commune = CommuneCode::parse(from_commune).map_err(corrupt)?;
        super::roll::tally_station_loads(conn, *from_version, std::slice::from_ref(&from_commune))
            .await?;
    }
    sqlx::query(
        "insert into roll_slices (commune_code, import_id) values ($1, $2)
         on conflict (commune_code) do update set import_id = excluded.import_id",
    )
    .bind(commune.as_str())
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl ChangeStore for Backend {
    async fn change_sets(
        &self,
        status: Option<ChangeSetStatus>,
        limit: u32,
    ) -> Result<Vec<ChangeSet>> {
        sqlx::query(select_change_sets!(
            "where (cast($1 as text) is null or status = $1) order by id desc limit $2"
        ))
        .bind(status.map(ChangeSetStatus::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(change_set_from_row)
        .collect()
    }

    async fn change_set(&self, id: i64) -> Result<Option<ChangeSet>> {
        sqlx::query(select_change_sets!("where id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(change_set_from_row)
            .transpose()
    }

    async fn pending_change_set(&self, kind: ImportKind) -> Result<Option<ChangeSet>> {
        sqlx::query(select_change_sets!(
            "where kind = $1 and status = 'pending' order by id desc limit 1"
        ))
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(change_set_from_row)
        .transpose()
    }

    async fn version_change_sets(&self, version: i64) -> Result<Vec<ChangeSet>> {
        sqlx::query(select_change_sets!("where new_version = $1 order by id"))
            .bind(version)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(change_set_from_row)
            .collect()
    }

    async fn voter_changes(&self, id: i64, limit: u32, offset: u64) -> Result<Vec<VoterChange>> {
        sqlx::query(concat!(
            "select nin, change, old_commune, old_centre, old_station, new_commune, new_centre, new_station
             from change_set_voters where change_set_id = $1 order by nin",
            byte_order!(),
            " limit $2 offset $3"
        ))
        .bind(id)
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(VoterChange {
                nin: NationalId::parse(row.try_get("nin")?).map_err(corrupt)?,
                change: match row.try_get::<&str, _>("change")? {
                    "added" => VoterChangeKind::Added,
                    "removed" => VoterChangeKind::Removed,
                    "moved" => VoterChangeKind::Moved,
                    other => return Err(corrupt(format!("voter change {other:?}"))),
                },
                old: station_ref(row, "old")?,
                new: station_ref(row, "new")?,
            })
        })
        .collect()
    }

    async fn place_changes(&self, id: i64) -> Result<Vec<PlaceChange>> {
        sqlx::query(
            "select change, commune_code, centre_code, station,
                    cast(old_value as text) as old_value, cast(new_value as text) as new_value
             from change_set_places where change_set_id = $1 order by seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let json = |column: &str| -> Result<Option<serde_json::Value>> {
                row.try_get::<Option<&str>, _>(column)?
                    .map(|text| serde_json::from_str(text).map_err(corrupt))
                    .transpose()
            };
            let station: Option<Integer> = row.try_get("station")?;
            Ok(PlaceChange {
                change: row.try_get("change")?,
                commune: row.try_get("commune_code")?,
                centre: row.try_get("centre_code")?,
                station: station.map(u16::try_from).transpose().map_err(corrupt)?,
                old: json("old_value")?,
                new: json("new_value")?,
            })
        })
        .collect()
    }

    async fn approve_change_set(
        &self,
        id: i64,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        // Imports take the same lock before they read the current version, so none can make
        // another version current between the check below and this commit.
        Self::lock_current_versions(&mut tx).await?;
        let change_set = lock_change_set(&mut tx, id)
            .await?
            .ok_or(StoreError::NotPending(id))?;
        if change_set.status != ChangeSetStatus::Pending {
            return Err(StoreError::NotPending(id));
        }
        let current: Option<i64> =
            sqlx::query_scalar("select import_id from current_versions where kind = $1")
                .bind(change_set.kind.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let kind = change_set.kind;
        let stale = match change_set.communes.as_slice() {
            // A commune's change set is stale once the commune's data changed since it was
            // made; a roll's also when the commune's map did (its stations may differ).
            [commune] => {
                commune_changed_since(&mut tx, kind, commune, &change_set).await?
                    || (kind == ImportKind::Roll
                        && roll_map_changed(&mut tx, change_set.new_version).await?
                        && commune_changed_since(&mut tx, ImportKind::Map, commune, &change_set)
                            .await?)
            }
            // Change sets made before they were per commune: stale once anything changed.
            _ => current != Some(change_set.base_version),
        };
        let Some(current) = current.filter(|_| !stale) else {
            sqlx::query(
                "update change_sets set status = 'superseded', decided_at = $1 where id = $2",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if !has_pending(&mut tx, change_set.new_version).await? {
                discard_version(&mut tx, kind, change_set.new_version).await?;
            }
            tx.commit().await?;
            return Err(StoreError::Superseded(id));
        };
        let applied = match kind {
            ImportKind::Roll => {
                // The commune answers from the import's rows from now on: its slice points at
                // them, and nothing is copied.
                for commune in &change_set.communes {
                    apply_roll_slice(&mut tx, change_set.new_version, commune).await?;
                }
                let numbered: Option<i64> =
                    sqlx::query_scalar("select number from imports where id = $1")
                        .bind(change_set.new_version)
                        .fetch_one(&mut *tx)
                        .await?;
                if numbered.is_none() {
                    number_version(&mut tx, kind, change_set.new_version).await?;
                }
                sqlx::query("update imports set status = 'accepted' where id = $1")
                    .bind(change_set.new_version)
                    .execute(&mut *tx)
                    .await?;
                change_set.new_version
            }
            ImportKind::Map => {
                let siblings = self_siblings(&mut tx, change_set.new_version).await?;
                let applied = if current == change_set.base_version && siblings == 1 {
                    // The version holds this commune's change alone, over the current version.
                    sqlx::query("update imports set status = 'accepted' where id = $1")
                        .bind(change_set.new_version)
                        .execute(&mut *tx)
                        .await?;
                    change_set.new_version
                } else {
                    let [commune] = change_set.communes.as_slice() else {
                        return Err(corrupt(format!(
                            "change set {id} covers several communes and its version others"
                        )));
                    };
                    rebase(&mut tx, &change_set, current, commune, by, at).await?
                };
                number_version(&mut tx, kind, applied).await?;
                applied
            }
        };
        sqlx::query("update current_versions set import_id = $1 where kind = $2")
            .bind(applied)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update change_sets set status = 'approved', decided_at = $1, decided_by = $2 where id = $3",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if applied != change_set.new_version
            && !has_pending(&mut tx, change_set.new_version).await?
        {
            discard_version(&mut tx, kind, change_set.new_version).await?;
        }
        // Reported citizens the approved roll now holds are registered: their reports are
        // resolved here, in the same transaction, and the campaign tells their reporters. The
        // birth date must match too, or a report would reveal the place of a voter whose date
        // the reporter could not give (such a report stays open for the office to look at).
        if change_set.kind == ImportKind::Roll {
            sqlx::query(concat!(
                "update reports set status = 'resolved', resolved_at = $1, resolved_change_set = $2,
                     full_name = '', updated_at = $1
                 where status in ('open', 'handled')
                   and exists (select 1 from roll_voters v where v.roll_version = $3
                               and v.nin = reports.nin and v.birth_date = reports.birth_date",
                as_date!(),
                " and exists (select 1 from roll_slices sl
                              where sl.commune_code = v.commune_code and sl.import_id = v.roll_version))"
            ))
            .bind(at)
            .bind(id)
            .bind(applied)
            .execute(&mut *tx)
            .await?;
        }
        let campaign: i64 = sqlx::query_scalar(concat!(
            "insert into campaigns (kind, status, change_set_id, audience, created_at, created_by)
             values ('change', 'preparing', $1, $2",
            as_jsonb!(),
            ", $3, $4) returning id"
        ))
        .bind(id)
        .bind(serde_json::json!({ "change_set": id }).to_string())
        .bind(at)
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = audit;
        if let Some(details) = audit.details.as_object_mut() {
            details.insert("campaign".to_owned(), campaign.into());
        }
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        self.prune_versions(kind).await?;
        Ok(campaign)
    }

    async fn reject_change_set(
        &self,
        id: i64,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let change_set = lock_change_set(&mut tx, id)
            .await?
            .filter(|c| c.status == ChangeSetStatus::Pending)
            .ok_or(StoreError::NotPending(id))?;
        sqlx::query(
            "update change_sets set status = 'rejected', decided_at = $1, decided_by = $2 where id = $3",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        // Other communes' change sets of the same import still need its data.
        if !has_pending(&mut tx, change_set.new_version).await? {
            discard_version(&mut tx, change_set.kind, change_set.new_version).await?;
        }
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn removed_recipients(&self, id: i64) -> Result<Vec<RemovedRecipient>> {
        let rows = sqlx::query(concat!(
            "select s.channel, s.sender, coalesce(snd.locale, 'ar') as locale, c.nin, c.old_commune,
                    coalesce(m.name_ar, c.old_commune) as commune_ar, coalesce(m.name_fr, c.old_commune) as commune_fr
             from change_set_voters c
             join subscriptions s on s.nin = c.nin
             left join senders snd on snd.channel = s.channel and snd.sender = s.sender
             left join current_versions cm on cm.kind = 'map'
             left join map_communes m on m.map_version = cm.import_id and m.code = c.old_commune
             where c.change_set_id = $1 and c.change = 'removed'
               and not coalesce(snd.notices_opt_out, false)
               and not exists (select 1 from roll_voters v
                               join roll_slices sl on sl.commune_code = v.commune_code and sl.import_id = v.roll_version
                               where v.nin = c.nin)
             order by s.channel",
            byte_order!(),
            ", s.sender",
            byte_order!(),
            ", c.nin",
            byte_order!()
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RemovedRecipient {
                    channel: Channel::from_str(row.try_get("channel")?).map_err(corrupt)?,
                    recipient: row.try_get("sender")?,
                    locale: Locale::from_str(row.try_get("locale")?).map_err(corrupt)?,
                    nin: NationalId::parse(row.try_get("nin")?).map_err(corrupt)?,
                    commune: Commune {
                        code: CommuneCode::parse(row.try_get("old_commune")?).map_err(corrupt)?,
                        name: Bilingual {
                            ar: row.try_get("commune_ar")?,
                            fr: row.try_get("commune_fr")?,
                        },
                    },
                })
            })
            .collect()
    }

    async fn change_recipients(&self, id: i64) -> Result<Vec<ChangeRecipient>> {
        // Roll change sets: subscribers of moved voters. Map change sets: subscribers of
        // voters whose centre or station reads differently now.
        let [first, second, third, fourth] = PlaceChange::CONCERNING_VOTERS;
        let rows = sqlx::query(concat!(
            "with affected(nin) as (
                 select c.nin from change_set_voters c where c.change_set_id = $1 and c.change = 'moved'
                 union
                 select v.nin from change_set_places p
                 join roll_slices sl on sl.commune_code = p.commune_code
                 join roll_voters v on v.roll_version = sl.import_id and v.commune_code = p.commune_code
                      and v.centre_code = p.centre_code and (p.station is null or v.station = p.station)
                 where p.change_set_id = $1 and p.change in ($2, $3, $4, $5)
             )
             select s.channel, s.sender, coalesce(snd.locale, 'ar') as locale, v.nin,
                    v.commune_code, v.centre_code, v.station,
                    m.name_ar as commune_ar, m.name_fr as commune_fr,
                    c.name_ar as centre_ar, c.name_fr as centre_fr, c.address_ar, c.address_fr,
                    c.latitude, c.longitude, st.kind
             from affected a
             join subscriptions s on s.nin = a.nin
             left join senders snd on snd.channel = s.channel and snd.sender = s.sender
             join roll_voters v on v.nin = a.nin
             join roll_slices sl on sl.commune_code = v.commune_code and sl.import_id = v.roll_version
             join current_versions cm on cm.kind = 'map'
             join map_communes m on m.map_version = cm.import_id and m.code = v.commune_code
             join map_centres c on c.map_version = cm.import_id and c.commune_code = v.commune_code and c.code = v.centre_code
             join map_stations st on st.map_version = cm.import_id and st.commune_code = v.commune_code
                  and st.centre_code = v.centre_code and st.number = v.station
             where not coalesce(snd.notices_opt_out, false)
             order by s.channel",
            byte_order!(),
            ", s.sender",
            byte_order!(),
            ", v.nin",
            byte_order!()
        ))
        .bind(id)
        .bind(first)
        .bind(second)
        .bind(third)
        .bind(fourth)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let latitude: Option<f64> = row.try_get("latitude")?;
                let longitude: Option<f64> = row.try_get("longitude")?;
                let commune = CommuneCode::parse(row.try_get("commune_code")?).map_err(corrupt)?;
                let station: Integer = row.try_get("station")?;
                Ok(ChangeRecipient {
                    channel: Channel::from_str(row.try_get("channel")?).map_err(corrupt)?,
                    recipient: row.try_get("sender")?,
                    locale: Locale::from_str(row.try_get("locale")?).map_err(corrupt)?,
                    nin: NationalId::parse(row.try_get("nin")?).map_err(corrupt)?,
                    place: PollingPlace {
                        commune: Commune {
                            code: commune.clone(),
                            name: Bilingual {
                                ar: row.try_get("commune_ar")?,
                                fr: row.try_get("commune_fr")?,
                            },
                        },
                        centre: Centre {
                            commune,
                            code: CentreCode::parse(row.try_get("centre_code")?)
                                .map_err(corrupt)?,
                            name: Bilingual {
                                ar: row.try_get("centre_ar")?,
                                fr: row.try_get("centre_fr")?,
                            },
                            address: Bilingual {
                                ar: row.try_get("address_ar")?,
                                fr: row.try_get("address_fr")?,
                            },
                            coordinates: latitude.zip(longitude).map(|(latitude, longitude)| {
                                Coordinates {
                                    latitude,
                                    longitude,
                                }
                            }),
                        },
                        station: u16::try_from(station)
                            .map_err(corrupt)
                            .and_then(|n| StationNumber::new(n).map_err(corrupt))?,
                        kind: StationKind::parse(row.try_get("kind")?).map_err(corrupt)?,
                    },
                })
            })
            .collect()
    }
}
