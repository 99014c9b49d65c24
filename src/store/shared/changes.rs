//! Change sets. On PostgreSQL, approving and rejecting lock the change set's row, and
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
    PlaceChange, Result, StoreError, VoterChange, VoterChangeKind,
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
        if current != Some(change_set.base_version) {
            sqlx::query(
                "update change_sets set status = 'superseded', decided_at = $1 where id = $2",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Err(StoreError::Superseded(id));
        }
        sqlx::query("update imports set status = 'accepted' where id = $1")
            .bind(change_set.new_version)
            .execute(&mut *tx)
            .await?;
        sqlx::query("update current_versions set import_id = $1 where kind = $2")
            .bind(change_set.new_version)
            .bind(change_set.kind.as_str())
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
                ")"
            ))
            .bind(at)
            .bind(id)
            .bind(change_set.new_version)
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
        self.prune_versions(change_set.kind).await?;
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
        let statements: &[&str] = match change_set.kind {
            ImportKind::Roll => &["delete from roll_voters where roll_version = $1"],
            ImportKind::Map => &[
                "delete from map_communes where map_version = $1",
                "delete from map_centres where map_version = $1",
                "delete from map_stations where map_version = $1",
            ],
        };
        for statement in statements {
            sqlx::query(*statement)
                .bind(change_set.new_version)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("update imports set status = 'rejected' where id = $1")
            .bind(change_set.new_version)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update change_sets set status = 'rejected', decided_at = $1, decided_by = $2 where id = $3",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(())
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
                 join current_versions cr on cr.kind = 'roll'
                 join roll_voters v on v.roll_version = cr.import_id and v.commune_code = p.commune_code
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
             join current_versions cr on cr.kind = 'roll'
             join roll_voters v on v.roll_version = cr.import_id and v.nin = a.nin
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
