//! The electoral map and roll: versioned tables, read and switched the same way on both
//! backends. How many rows are written at once is each backend's own (`roll.rs` of each):
//! SQLite stages a roll in chunks and writes a map row by row, because its single write
//! lock would stop every other write for a whole import; PostgreSQL streams a roll with
//! `COPY` in one transaction and passes a map's rows as arrays.

use async_trait::async_trait;
use sqlx::Row;
use tokio::sync::mpsc;

use super::changes::{discard_version, number_version, pending_for};
use super::{
    Backend, Columns, Connection, DbRow, change_set_communes, communes_column, corrupt, required,
};
use crate::domain::{
    Bilingual, BirthDate, Centre, CentreCode, Commune, CommuneCode, Coordinates, ElectoralMap,
    NationalId, PollingPlace, Station, StationKind, StationNumber, StationRef, Timestamp,
};
use crate::store::{
    ImportCounts, ImportKind, ImportRecord, MapVersion, NewImport, PlaceChange, RegisteredVoter,
    Result, RollBatch, RollStore, StationLoad, StoreError,
};

impl Backend {
    async fn current_version(&self, kind: ImportKind) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("select import_id from current_versions where kind = $1")
                .bind(kind.as_str())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Removes what no one reads any more. For the map: keeps the current and the previous
    /// version (and pending ones); older ones go, the current one never, even if imports
    /// committed out of id order. For the roll: an import's rows of a commune are kept while
    /// they are the commune's slice or a pending change set of the commune needs them; the
    /// others (a commune re-imported since, a national file's communes that did not change)
    /// go, in chunks so that SQLite's single write lock is never held for long.
    pub(crate) async fn prune_versions(&self, kind: ImportKind) -> Result<()> {
        if kind == ImportKind::Roll {
            return self.prune_roll().await;
        }
        let keep: Vec<i64> = sqlx::query_scalar(
            "select id from imports where kind = $1 and status = 'accepted' order by id desc limit 2",
        )
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await?;
        let Some(&oldest_kept) = keep.last() else {
            return Ok(());
        };
        let mut tx = self.begin_write().await?;
        for statement in [
            "delete from map_communes where map_version < $1
             and map_version is distinct from (select import_id from current_versions where kind = 'map')
             and map_version not in (select new_version from change_sets where kind = 'map' and status = 'pending')",
            "delete from map_centres where map_version < $1
             and map_version is distinct from (select import_id from current_versions where kind = 'map')
             and map_version not in (select new_version from change_sets where kind = 'map' and status = 'pending')",
            "delete from map_stations where map_version < $1
             and map_version is distinct from (select import_id from current_versions where kind = 'map')
             and map_version not in (select new_version from change_sets where kind = 'map' and status = 'pending')",
        ] {
            sqlx::query(statement)
                .bind(oldest_kept)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The roll's part of `prune_versions`. Every (import, commune) that holds rows has its
    /// station loads (tallied when the import is accepted), so the loads list the candidates
    /// without reading the voters; an import still being written has none and is left alone.
    async fn prune_roll(&self) -> Result<()> {
        let mut needed = std::collections::HashSet::new();
        for row in sqlx::query("select commune_code, import_id from roll_slices")
            .fetch_all(&self.pool)
            .await?
        {
            needed.insert((
                row.try_get::<i64, _>("import_id")?,
                row.try_get::<String, _>("commune_code")?,
            ));
        }
        for row in sqlx::query(
            "select new_version, communes from change_sets where kind = 'roll' and status = 'pending'",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let version: i64 = row.try_get("new_version")?;
            for commune in change_set_communes(&row)? {
                needed.insert((version, commune));
            }
        }
        let held = sqlx::query(
            "select distinct roll_version, commune_code from roll_station_loads order by roll_version, commune_code",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in held {
            let pair = (
                row.try_get::<i64, _>("roll_version")?,
                row.try_get::<String, _>("commune_code")?,
            );
            if needed.contains(&pair) {
                continue;
            }
            loop {
                let mut tx = self.begin_write().await?;
                let removed = sqlx::query(
                    "delete from roll_voters where roll_version = $1 and commune_code = $2
                     and nin in (select nin from roll_voters where roll_version = $1 and commune_code = $2 limit 20000)",
                )
                .bind(pair.0)
                .bind(&pair.1)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if removed == 0 {
                    sqlx::query(
                        "delete from roll_station_loads where roll_version = $1 and commune_code = $2",
                    )
                    .bind(pair.0)
                    .bind(&pair.1)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                if removed == 0 {
                    break;
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn import_record(&self, id: i64) -> Result<ImportRecord> {
        let row = sqlx::query(
            "select id, kind, status, number, created_at, source, actor, communes, centres, stations, voters,
                    (select max(c.id) from change_sets c where c.new_version = imports.id) as change_set
             from imports where id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        import_from_row(&row)
    }

    /// Completes the roll written so far, inside a write transaction: it becomes the current
    /// roll if there is none yet, otherwise a pending version with a change set of the voters
    /// added, removed and moved.
    pub(crate) async fn accept_roll(
        conn: &mut Connection,
        version: i64,
        counts: ImportCounts,
        map_version: i64,
        replaced_communes: &[CommuneCode],
        actor: &str,
        at: Timestamp,
    ) -> Result<()> {
        // Serialises the switch of versions with map imports, other roll imports and
        // approvals (they write `current_versions` and `roll_slices`), so the map check and
        // the comparison below see the latest committed versions.
        Self::lock_current_versions(conn).await?;
        if let Some((id, commune)) = pending_for(conn, ImportKind::Roll, replaced_communes).await? {
            return Err(StoreError::ChangeSetPending {
                id,
                commune: commune.to_string(),
            });
        }
        let current_map: Option<i64> =
            sqlx::query_scalar("select import_id from current_versions where kind = 'map'")
                .fetch_optional(&mut *conn)
                .await?;
        if current_map != Some(map_version) {
            return Err(StoreError::MapChanged);
        }
        // The version holds the file's voters only: communes the file does not cover keep
        // their slices, so nothing is copied.
        tally_station_loads(conn, version, replaced_communes).await?;
        sqlx::query(
            "update imports set status = 'accepted', map_version = $1, communes = $2, centres = $3, stations = $4, voters = $5
             where id = $6",
        )
        .bind(map_version)
        .bind(count(counts.communes))
        .bind(count(counts.centres))
        .bind(count(counts.stations))
        .bind(count(counts.voters))
        .bind(version)
        .execute(&mut *conn)
        .await?;
        let base: Option<i64> =
            sqlx::query_scalar("select import_id from current_versions where kind = 'roll'")
                .fetch_optional(&mut *conn)
                .await?;
        match base {
            None => {
                // The first roll: every commune it holds answers from it.
                sqlx::query(
                    "insert into roll_slices (commune_code, import_id)
                     select distinct commune_code, roll_version from roll_station_loads where roll_version = $1",
                )
                .bind(version)
                .execute(&mut *conn)
                .await?;
                make_current(conn, ImportKind::Roll, version).await
            }
            Some(base) => {
                sqlx::query("update imports set status = 'pending' where id = $1")
                    .bind(version)
                    .execute(&mut *conn)
                    .await?;
                // One change set per commune the file changes: the differences are listed
                // once, under a first change set, then dealt out by commune (a voter who
                // moves between two communes is listed in both).
                let first = insert_change_set(
                    conn,
                    ImportKind::Roll,
                    base,
                    version,
                    actor,
                    at,
                    replaced_communes,
                )
                .await?;
                diff_rolls(conn, first, version, replaced_communes).await?;
                let mut changed: Vec<String> = sqlx::query_scalar(
                    "select new_commune from change_set_voters where change_set_id = $1 and new_commune is not null
                     union
                     select old_commune from change_set_voters where change_set_id = $1 and old_commune is not null",
                )
                .bind(first)
                .fetch_all(&mut *conn)
                .await?;
                // Only the communes of the file are this import's to change: a voter who
                // moved in from another commune is listed under the commune they joined.
                changed.retain(|c| replaced_communes.iter().any(|r| r.as_str() == c));
                changed.sort();
                let Some((own, others)) = changed.split_first() else {
                    // Nothing changed: there is nothing to review, so no change set (an
                    // empty one would hold the file's communes until someone decided it),
                    // and the version is discarded without a number; the import says so.
                    for statement in [
                        "delete from change_set_voters where change_set_id = $1",
                        "delete from change_sets where id = $1",
                    ] {
                        sqlx::query(statement)
                            .bind(first)
                            .execute(&mut *conn)
                            .await?;
                    }
                    return discard_version(conn, ImportKind::Roll, version).await;
                };
                for commune in others {
                    let code = CommuneCode::parse(commune).map_err(corrupt)?;
                    let change_set = insert_change_set(
                        conn,
                        ImportKind::Roll,
                        base,
                        version,
                        actor,
                        at,
                        std::slice::from_ref(&code),
                    )
                    .await?;
                    sqlx::query(
                        "insert into change_set_voters (change_set_id, nin, change, old_commune, old_centre, old_station, new_commune, new_centre, new_station)
                         select $1, nin, change, old_commune, old_centre, old_station, new_commune, new_centre, new_station
                         from change_set_voters
                         where change_set_id = $2 and (new_commune = $3 or old_commune = $3)",
                    )
                    .bind(change_set)
                    .bind(first)
                    .bind(commune)
                    .execute(&mut *conn)
                    .await?;
                    set_roll_summary(conn, change_set, &code).await?;
                }
                let own = CommuneCode::parse(own).map_err(corrupt)?;
                sqlx::query(
                    "delete from change_set_voters where change_set_id = $1
                     and new_commune is distinct from $2 and old_commune is distinct from $2",
                )
                .bind(first)
                .bind(own.as_str())
                .execute(&mut *conn)
                .await?;
                sqlx::query("update change_sets set communes = $1 where id = $2")
                    .bind(communes_column(std::slice::from_ref(&own)))
                    .bind(first)
                    .execute(&mut *conn)
                    .await?;
                set_roll_summary(conn, first, &own).await?;
                Ok(())
            }
        }
    }
}

/// Counts a roll version's voters and men per station of `communes` into
/// `roll_station_loads`, once its rows are complete, in the transaction that writes them: the
/// only scan of the version for its loads (readers take the few thousand rows of the table).
/// One statement per commune, each reading the commune's rows by index: grouping a national
/// version at once sorted all its rows in one temporary B-tree (on SQLite in memory, over a
/// gigabyte at 24,000,000 voters).
pub(super) async fn tally_station_loads(
    conn: &mut Connection,
    version: i64,
    communes: &[CommuneCode],
) -> Result<()> {
    for commune in communes {
        for statement in [
            "delete from roll_station_loads where roll_version = $1 and commune_code = $2",
            "insert into roll_station_loads (roll_version, commune_code, centre_code, station, voters, men)
             select roll_version, commune_code, centre_code, station, count(*),
                    sum(case when sex = 'M' then 1 else 0 end)
             from roll_voters where roll_version = $1 and commune_code = $2
             group by roll_version, commune_code, centre_code, station",
        ] {
            sqlx::query(statement)
                .bind(version)
                .bind(commune.as_str())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Writes a roll change set's summary: its commune, the voters added, removed and moved, and
/// the flows between stations.
async fn set_roll_summary(
    conn: &mut Connection,
    change_set: i64,
    commune: &CommuneCode,
) -> Result<()> {
    let mut summary = roll_summary(conn, change_set).await?;
    if let Some(fields) = summary.as_object_mut() {
        fields.insert("commune".to_owned(), commune.as_str().into());
    }
    sqlx::query(concat!(
        "update change_sets set summary = $1",
        as_jsonb!(),
        " where id = $2"
    ))
    .bind(summary.to_string())
    .bind(change_set)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a pending change set from `base` to `new`; its summary is filled in by the caller.
async fn insert_change_set(
    conn: &mut Connection,
    kind: ImportKind,
    base: i64,
    new: i64,
    actor: &str,
    at: Timestamp,
    communes: &[CommuneCode],
) -> Result<i64> {
    Ok(sqlx::query_scalar(concat!(
        "insert into change_sets (kind, base_version, new_version, status, created_at, created_by, communes, summary)
         values ($1, $2, $3, 'pending', $4, $5, $6, '{}'",
        as_jsonb!(),
        ") returning id"
    ))
    .bind(kind.as_str())
    .bind(base)
    .bind(new)
    .bind(at)
    .bind(actor)
    .bind(communes_column(communes))
    .fetch_one(conn)
    .await?)
}

/// Lists the voters the new version adds, removes and moves against the current roll (each
/// voter's row in its commune's slice), and summarises the flows between stations (a station
/// split shows as one station sending voters to another while keeping some). Removed are the
/// current voters of the file's communes that the file does not hold.
async fn diff_rolls(
    conn: &mut Connection,
    change_set: i64,
    new: i64,
    replaced_communes: &[CommuneCode],
) -> Result<()> {
    sqlx::query(
        "insert into change_set_voters (change_set_id, nin, change, old_commune, old_centre, old_station, new_commune, new_centre, new_station)
         select $1, n.nin, case when o.nin is null then 'added' else 'moved' end,
                o.commune_code, o.centre_code, o.station, n.commune_code, n.centre_code, n.station
         from roll_voters n
         left join roll_voters o on o.nin = n.nin and o.roll_version <> n.roll_version
              and exists (select 1 from roll_slices sl
                          where sl.commune_code = o.commune_code and sl.import_id = o.roll_version)
         where n.roll_version = $2
           and (o.nin is null or o.commune_code <> n.commune_code or o.centre_code <> n.centre_code or o.station <> n.station)",
    )
    .bind(change_set)
    .bind(new)
    .execute(&mut *conn)
    .await?;
    // One commune at a time, each read through its slice (no list parameter, which the
    // dialects pass differently).
    for commune in replaced_communes {
        sqlx::query(
            "insert into change_set_voters (change_set_id, nin, change, old_commune, old_centre, old_station)
             select $1, o.nin, 'removed', o.commune_code, o.centre_code, o.station
             from roll_slices sl
             join roll_voters o on o.roll_version = sl.import_id and o.commune_code = sl.commune_code
             where sl.commune_code = $3
               and not exists (select 1 from roll_voters n where n.roll_version = $2 and n.nin = o.nin)",
        )
        .bind(change_set)
        .bind(new)
        .bind(commune.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Counts and station flows of a roll change set.
async fn roll_summary(conn: &mut Connection, change_set: i64) -> Result<serde_json::Value> {
    let mut counts = serde_json::Map::new();
    for row in sqlx::query(
        "select change, count(*) as n from change_set_voters where change_set_id = $1 group by change",
    )
    .bind(change_set)
    .fetch_all(&mut *conn)
    .await?
    {
        counts.insert(
            row.try_get::<String, _>("change")?,
            row.try_get::<i64, _>("n")?.into(),
        );
    }
    let flows: Vec<serde_json::Value> = sqlx::query(
        "select old_commune || '/' || old_centre || '/' || old_station as source,
                new_commune || '/' || new_centre || '/' || new_station as target, count(*) as voters
         from change_set_voters where change_set_id = $1 and change = 'moved'
         group by source, target order by voters desc limit 200",
    )
    .bind(change_set)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| -> Result<serde_json::Value> {
        Ok(serde_json::json!({
            "from": row.try_get::<String, _>("source")?,
            "to": row.try_get::<String, _>("target")?,
            "voters": row.try_get::<i64, _>("voters")?,
        }))
    })
    .collect::<Result<_>>()?;
    Ok(serde_json::json!({
        "voters_added": counts.get("added").cloned().unwrap_or(0.into()),
        "voters_removed": counts.get("removed").cloned().unwrap_or(0.into()),
        "voters_moved": counts.get("moved").cloned().unwrap_or(0.into()),
        "flows": flows,
    }))
}

/// A count for an `integer`/`bigint` column.
pub(crate) fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn make_current(conn: &mut Connection, kind: ImportKind, version: i64) -> Result<()> {
    sqlx::query(
        "insert into current_versions (kind, import_id) values ($1, $2)
         on conflict (kind) do update set import_id = excluded.import_id",
    )
    .bind(kind.as_str())
    .bind(version)
    .execute(&mut *conn)
    .await?;
    number_version(conn, kind, version).await
}

fn import_from_row(row: &DbRow) -> Result<ImportRecord> {
    let kind = match row.try_get::<&str, _>("kind")? {
        "map" => ImportKind::Map,
        "roll" => ImportKind::Roll,
        other => return Err(corrupt(format!("import kind {other:?}"))),
    };
    let unsigned = |name: &str| -> Result<u64> {
        let n: i64 = row.try_get(name)?;
        u64::try_from(n).map_err(|_| corrupt(format!("{name} = {n}")))
    };
    Ok(ImportRecord {
        version: row.try_get("id")?,
        number: row.try_get("number")?,
        kind,
        created_at: row.try_get("created_at")?,
        source: row.try_get("source")?,
        actor: row.try_get("actor")?,
        counts: ImportCounts {
            communes: unsigned("communes")?,
            centres: unsigned("centres")?,
            stations: unsigned("stations")?,
            voters: unsigned("voters")?,
        },
        pending: row.try_get::<&str, _>("status")? == "pending",
        change_set: row.try_get("change_set")?,
    })
}

fn commune_code(row: &impl Columns, column: &str) -> Result<CommuneCode> {
    CommuneCode::parse(&required(row.text(column)?, column)?).map_err(corrupt)
}

/// A commune of `map_communes` (columns `code`, `name_ar`, `name_fr`).
fn commune_from_row(row: &DbRow) -> Result<Commune> {
    Ok(Commune {
        code: commune_code(row, "code")?,
        name: Bilingual {
            ar: row.try_get("name_ar")?,
            fr: row.try_get("name_fr")?,
        },
    })
}

fn centre_code(row: &impl Columns, column: &str) -> Result<CentreCode> {
    CentreCode::parse(&required(row.text(column)?, column)?).map_err(corrupt)
}

fn station_number(row: &impl Columns, column: &str) -> Result<StationNumber> {
    let n = required(row.integer(column)?, column)?;
    u16::try_from(n)
        .map_err(corrupt)
        .and_then(|n| StationNumber::new(n).map_err(corrupt))
}

fn station_kind(row: &impl Columns, column: &str) -> Result<StationKind> {
    StationKind::parse(&required(row.text(column)?, column)?).map_err(corrupt)
}

fn coordinates(row: &impl Columns) -> Result<Option<Coordinates>> {
    let latitude = row.real("latitude")?;
    let longitude = row.real("longitude")?;
    Ok(latitude
        .zip(longitude)
        .map(|(latitude, longitude)| Coordinates {
            latitude,
            longitude,
        }))
}

fn centre_from_row(row: &impl Columns) -> Result<Centre> {
    let text = |column| required(row.text(column)?, column);
    Ok(Centre {
        commune: commune_code(row, "commune_code")?,
        code: centre_code(row, "centre_code")?,
        name: Bilingual {
            ar: text("centre_ar")?,
            fr: text("centre_fr")?,
        },
        address: Bilingual {
            ar: text("address_ar")?,
            fr: text("address_fr")?,
        },
        coordinates: coordinates(row)?,
    })
}

/// A voter by NIN, with their place on the current map: the roll's newest version holding
/// the NIN among those the communes' slices point at. Read by `find_voter`, through sqlx on
/// PostgreSQL and through a plain connection on SQLite (`sqlite/readers.rs`).
pub(in super::super) const FIND_VOTER: &str = concat!(
    "select ",
    iso_date!("v.birth_date"),
    " as birth_date, v.commune_code, v.centre_code, v.station,
            m.name_ar as commune_ar, m.name_fr as commune_fr,
            c.name_ar as centre_ar, c.name_fr as centre_fr, c.address_ar, c.address_fr,
            c.latitude, c.longitude, s.kind
     from roll_voters v
     join roll_slices sl on sl.commune_code = v.commune_code and sl.import_id = v.roll_version
     join current_versions cm on cm.kind = 'map'
     join map_communes m on m.map_version = cm.import_id and m.code = v.commune_code
     join map_centres c on c.map_version = cm.import_id and c.commune_code = v.commune_code
          and c.code = v.centre_code
     join map_stations s on s.map_version = cm.import_id and s.commune_code = v.commune_code
          and s.centre_code = v.centre_code and s.number = v.station
     where v.nin = $1
     order by v.roll_version desc limit 1"
);

/// A row of [`FIND_VOTER`] as the voter it names.
pub(in super::super) fn voter_from_row(row: &impl Columns) -> Result<RegisteredVoter> {
    let text = |column| required(row.text(column)?, column);
    let birth_date = BirthDate::from_iso(&text("birth_date")?).map_err(corrupt)?;
    let centre = centre_from_row(row)?;
    Ok(RegisteredVoter {
        birth_date,
        place: PollingPlace {
            commune: Commune {
                code: centre.commune.clone(),
                name: Bilingual {
                    ar: text("commune_ar")?,
                    fr: text("commune_fr")?,
                },
            },
            centre,
            station: station_number(row, "station")?,
            kind: station_kind(row, "kind")?,
        },
    })
}

#[async_trait]
impl RollStore for Backend {
    async fn communes(&self) -> Result<Vec<Commune>> {
        sqlx::query(concat!(
            "select m.code, m.name_ar, m.name_fr from map_communes m
             join current_versions c on c.kind = 'map' and m.map_version = c.import_id
             order by m.code",
            byte_order!()
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(commune_from_row)
        .collect()
    }

    async fn current_map(&self) -> Result<Option<MapVersion>> {
        // One snapshot for the three reads, so a map imported meanwhile is not half seen.
        let mut tx = self.begin_snapshot().await?;
        let version: Option<i64> =
            sqlx::query_scalar("select import_id from current_versions where kind = 'map'")
                .fetch_optional(&mut *tx)
                .await?;
        let Some(version) = version else {
            return Ok(None);
        };
        let communes = sqlx::query(concat!(
            "select code, name_ar, name_fr from map_communes where map_version = $1 order by code",
            byte_order!()
        ))
        .bind(version)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(commune_from_row)
        .collect::<Result<Vec<_>>>()?;
        let centres = sqlx::query(concat!(
            "select commune_code, code as centre_code, name_ar as centre_ar, name_fr as centre_fr,
                    address_ar, address_fr, latitude, longitude
             from map_centres where map_version = $1
             order by commune_code",
            byte_order!(),
            ", code",
            byte_order!()
        ))
        .bind(version)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(centre_from_row)
        .collect::<Result<Vec<_>>>()?;
        let stations = sqlx::query(concat!(
            "select commune_code, centre_code, number, kind from map_stations where map_version = $1
             order by commune_code",
            byte_order!(),
            ", centre_code",
            byte_order!(),
            ", number"
        ))
        .bind(version)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            Ok(Station {
                at: StationRef {
                    commune: commune_code(row, "commune_code")?,
                    centre: centre_code(row, "centre_code")?,
                    station: station_number(row, "number")?,
                },
                kind: station_kind(row, "kind")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Some(MapVersion {
            version,
            map: ElectoralMap {
                communes,
                centres,
                stations,
            },
        }))
    }

    async fn current_import(&self, kind: ImportKind) -> Result<Option<ImportRecord>> {
        let Some(id) = self.current_version(kind).await? else {
            return Ok(None);
        };
        let mut record = self.import_record(id).await?;
        if kind == ImportKind::Roll {
            // The roll answered from is every commune's slice, not this import alone: its
            // counts come from the slices' station loads (a few thousand rows).
            let row = sqlx::query(
                "select cast(coalesce(sum(l.voters), 0) as bigint) as voters, count(distinct l.commune_code) as communes,
                        count(distinct l.commune_code || '/' || l.centre_code) as centres,
                        count(*) as stations
                 from roll_slices sl
                 join roll_station_loads l on l.roll_version = sl.import_id and l.commune_code = sl.commune_code",
            )
            .fetch_one(&self.pool)
            .await?;
            let get = |name: &str| -> Result<u64> {
                u64::try_from(row.try_get::<i64, _>(name)?).map_err(corrupt)
            };
            record.counts = ImportCounts {
                communes: get("communes")?,
                centres: get("centres")?,
                stations: get("stations")?,
                voters: get("voters")?,
            };
        }
        Ok(Some(record))
    }

    async fn imports(&self, limit: u32) -> Result<Vec<ImportRecord>> {
        sqlx::query(
            "select id, kind, status, number, created_at, source, actor, communes, centres, stations, voters,
                    (select max(c.id) from change_sets c where c.new_version = imports.id) as change_set
             from imports where status in ('accepted', 'pending') order by id desc limit $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(import_from_row)
        .collect()
    }

    async fn station_loads(&self) -> Result<Vec<StationLoad>> {
        sqlx::query(
            "select l.commune_code, l.centre_code, l.station, l.voters, l.men
             from roll_slices sl
             join roll_station_loads l on l.roll_version = sl.import_id and l.commune_code = sl.commune_code",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let voters: i64 = row.try_get("voters")?;
            let men: i64 = row.try_get("men")?;
            Ok(StationLoad {
                at: StationRef {
                    commune: commune_code(row, "commune_code")?,
                    centre: centre_code(row, "centre_code")?,
                    station: station_number(row, "station")?,
                },
                voters: u64::try_from(voters).map_err(corrupt)?,
                men: u64::try_from(men).map_err(corrupt)?,
            })
        })
        .collect()
    }

    async fn import_map(
        &self,
        import: NewImport,
        map: &ElectoralMap,
        counts: ImportCounts,
        changes: &[PlaceChange],
    ) -> Result<ImportRecord> {
        let mut tx = self.begin_write().await?;
        // As for a roll: orders this import against other map and roll imports and against
        // approvals, so the base version read here is still current at commit.
        Self::lock_current_versions(&mut tx).await?;
        if let Some((id, commune)) = pending_for(&mut tx, ImportKind::Map, &import.communes).await?
        {
            return Err(StoreError::ChangeSetPending {
                id,
                commune: commune.to_string(),
            });
        }
        let base: Option<i64> =
            sqlx::query_scalar("select import_id from current_versions where kind = 'map'")
                .fetch_optional(&mut *tx)
                .await?;
        let version: i64 = sqlx::query_scalar(
            "insert into imports (kind, status, created_at, source, actor, communes, centres, stations, voters)
             values ('map', $1, $2, $3, $4, $5, $6, $7, 0) returning id",
        )
        .bind(if base.is_some() { "pending" } else { "accepted" })
        .bind(import.at)
        .bind(&import.source)
        .bind(&import.actor)
        .bind(count(counts.communes))
        .bind(count(counts.centres))
        .bind(count(counts.stations))
        .fetch_one(&mut *tx)
        .await?;
        Self::insert_map(&mut tx, version, map).await?;
        match base {
            None => make_current(&mut tx, ImportKind::Map, version).await?,
            Some(base) => {
                // One change set per commune the file changes.
                let mut by_commune: std::collections::BTreeMap<&str, Vec<PlaceChange>> =
                    std::collections::BTreeMap::new();
                for change in changes {
                    by_commune
                        .entry(change.commune.as_str())
                        .or_default()
                        .push(change.clone());
                }
                // Nothing changed: nothing to review, as for a roll (no change set, the
                // version discarded without a number).
                if by_commune.is_empty() {
                    discard_version(&mut tx, ImportKind::Map, version).await?;
                }
                for (commune, changes) in by_commune {
                    let communes = vec![CommuneCode::parse(commune).map_err(corrupt)?];
                    let change_set = insert_change_set(
                        &mut tx,
                        ImportKind::Map,
                        base,
                        version,
                        &import.actor,
                        import.at,
                        &communes,
                    )
                    .await?;
                    Self::insert_place_changes(&mut tx, change_set, &changes).await?;
                    let mut by_change = serde_json::Map::new();
                    for change in &changes {
                        let entry = by_change.entry(change.change.clone()).or_insert(0.into());
                        *entry = (entry.as_u64().unwrap_or(0) + 1).into();
                    }
                    sqlx::query(concat!(
                        "update change_sets set summary = $1",
                        as_jsonb!(),
                        " where id = $2"
                    ))
                    .bind(
                        serde_json::json!({
                            "commune": commune,
                            "places": changes.len(),
                            "by_change": by_change,
                        })
                        .to_string(),
                    )
                    .bind(change_set)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        self.prune_versions(ImportKind::Map).await?;
        self.import_record(version).await
    }

    async fn import_roll(
        &self,
        import: NewImport,
        batches: mpsc::Receiver<RollBatch>,
    ) -> Result<ImportRecord> {
        let version = self.write_roll(&import, batches).await?;
        self.prune_versions(ImportKind::Roll).await?;
        self.import_record(version).await
    }

    async fn find_voter(&self, nin: &NationalId) -> Result<Option<RegisteredVoter>> {
        super::super::roll::find_voter(self, nin).await
    }
}
