//! The electoral map and roll in SQLite: versioned tables, chunked roll imports staged and
//! then copied in NIN order.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use tokio::sync::mpsc;

use super::{SqliteStore, corrupt};
use crate::domain::Timestamp;
use crate::domain::{
    Bilingual, BirthDate, Centre, CentreCode, Commune, CommuneCode, Coordinates, ElectoralMap,
    NationalId, PollingPlace, Station, StationKind, StationNumber, StationRef, Voter,
};
use crate::store::{
    ImportCounts, ImportKind, ImportRecord, MapVersion, NewImport, PlaceChange, RegisteredVoter,
    Result, RollBatch, RollStore, StationLoad, StoreError,
};

/// Rows per insert statement: 9 parameters each stays far below SQLite's variable limit.
const ROWS_PER_INSERT: usize = 1000;

/// Staging ranges: the NIN's first three digits (see migrations/sqlite/0009_roll_staging.sql).
const STAGING_BUCKETS: usize = 1000;

fn staging_bucket(nin: &NationalId) -> usize {
    nin.as_str()
        .get(..3)
        .and_then(|prefix| prefix.parse().ok())
        .unwrap_or(0)
}

/// What one roll import has staged so far.
struct Staged {
    /// The last `seq` written.
    last_seq: i64,
    /// The ranges that hold rows: only those are copied at the commit, so a commune's small
    /// roll is not 1,000 transactions.
    used: [bool; STAGING_BUCKETS],
}

impl Staged {
    fn new() -> Self {
        Self {
            last_seq: 0,
            used: [false; STAGING_BUCKETS],
        }
    }
}

impl SqliteStore {
    async fn current_version(&self, kind: ImportKind) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("select import_id from current_versions where kind = ?")
                .bind(kind.as_str())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Appends validated voters to the import's staging rows, in one transaction per batch.
    async fn stage_voters(
        &self,
        version: i64,
        voters: &mut [Voter],
        staged: &mut Staged,
    ) -> Result<()> {
        // In key order each batch touches each staging range once.
        voters.sort_unstable_by(|a, b| a.nin.cmp(&b.nin));
        let mut tx = self.begin_write().await?;
        for chunk in voters.chunks(ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "insert into roll_staging (import_id, bucket, seq, nin, birth_date, sex, commune_code, centre_code, station) ",
            );
            insert.push_values(chunk, |mut row, voter| {
                let bucket = staging_bucket(&voter.nin);
                staged.used[bucket] = true;
                staged.last_seq += 1;
                row.push_bind(version)
                    .push_bind(i64::try_from(bucket).unwrap_or_default())
                    .push_bind(staged.last_seq)
                    .push_bind(voter.nin.as_str().to_owned())
                    .push_bind(voter.birth_date.to_iso())
                    .push_bind(voter.sex.map(|s| s.as_str()))
                    .push_bind(voter.station.commune.as_str().to_owned())
                    .push_bind(voter.station.centre.as_str().to_owned())
                    .push_bind(i64::from(voter.station.station.get()));
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Copies the staged voters into `roll_voters`, one NIN range per transaction in key
    /// order, so the version's B-tree is written by appending and lookups (whose counters need
    /// the write lock too) never wait long. The rows stay invisible until the version is
    /// accepted.
    async fn publish_staged(&self, version: i64, staged: &Staged) -> Result<()> {
        for bucket in (0..STAGING_BUCKETS).filter(|bucket| staged.used[*bucket]) {
            let bucket = i64::try_from(bucket).unwrap_or_default();
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "insert into roll_voters (roll_version, nin, birth_date, sex, commune_code, centre_code, station)
                 select import_id, nin, birth_date, sex, commune_code, centre_code, station
                 from roll_staging where import_id = ? and bucket = ? order by nin",
            )
            .bind(version)
            .bind(bucket)
            .execute(&mut *tx)
            .await?;
            sqlx::query("delete from roll_staging where import_id = ? and bucket = ?")
                .bind(version)
                .bind(bucket)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    async fn accept_roll(
        &self,
        version: i64,
        counts: ImportCounts,
        map_version: i64,
        replaced_communes: &[CommuneCode],
        actor: &str,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let current_map: Option<i64> =
            sqlx::query_scalar("select import_id from current_versions where kind = 'map'")
                .fetch_optional(&mut *tx)
                .await?;
        if current_map != Some(map_version) {
            return Err(StoreError::MapChanged);
        }
        // Communes the file does not cover keep their voters. A NIN the file assigns anew
        // (a voter who moved commune) keeps the file's row: the carried copy is skipped.
        let replaced: Vec<&str> = replaced_communes.iter().map(CommuneCode::as_str).collect();
        let carried = sqlx::query(
            "insert into roll_voters (roll_version, nin, birth_date, sex, commune_code, centre_code, station)
             select ?, v.nin, v.birth_date, v.sex, v.commune_code, v.centre_code, v.station
             from current_versions cr join roll_voters v on v.roll_version = cr.import_id
             where cr.kind = 'roll' and v.commune_code not in (select value from json_each(?))
             on conflict (roll_version, nin) do nothing",
        )
        .bind(version)
        .bind(serde_json::to_string(&replaced).unwrap_or_else(|_| "[]".to_owned()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let counts = if carried == 0 {
            counts
        } else {
            let row = sqlx::query(
                "select count(*) as voters, count(distinct commune_code) as communes,
                        count(distinct commune_code || '/' || centre_code) as centres,
                        count(distinct commune_code || '/' || centre_code || '/' || station) as stations
                 from roll_voters where roll_version = ?",
            )
            .bind(version)
            .fetch_one(&mut *tx)
            .await?;
            let get = |name: &str| -> Result<u64> {
                u64::try_from(row.try_get::<i64, _>(name)?).map_err(corrupt)
            };
            ImportCounts {
                communes: get("communes")?,
                centres: get("centres")?,
                stations: get("stations")?,
                voters: get("voters")?,
            }
        };
        sqlx::query(
            "update imports set status = 'accepted', map_version = ?, communes = ?, centres = ?, stations = ?, voters = ? where id = ?",
        )
        .bind(map_version)
        .bind(count(counts.communes))
        .bind(count(counts.centres))
        .bind(count(counts.stations))
        .bind(count(counts.voters))
        .bind(version)
        .execute(&mut *tx)
        .await?;
        let base: Option<i64> =
            sqlx::query_scalar("select import_id from current_versions where kind = 'roll'")
                .fetch_optional(&mut *tx)
                .await?;
        match base {
            None => make_current(&mut tx, ImportKind::Roll, version).await?,
            Some(base) => {
                sqlx::query("update imports set status = 'pending' where id = ?")
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
                let change_set = insert_change_set(
                    &mut tx,
                    ImportKind::Roll,
                    base,
                    version,
                    actor,
                    at,
                    replaced_communes,
                )
                .await?;
                let summary = diff_rolls(&mut tx, change_set, base, version).await?;
                sqlx::query("update change_sets set summary = ? where id = ?")
                    .bind(summary.to_string())
                    .bind(change_set)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Keeps the current and the previous version of a kind; older ones go.
    pub(super) async fn prune_versions(&self, kind: ImportKind) -> Result<()> {
        let keep: Vec<i64> = sqlx::query_scalar(
            "select id from imports where kind = ? and status = 'accepted' order by id desc limit 2",
        )
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await?;
        let Some(&oldest_kept) = keep.last() else {
            return Ok(());
        };
        let tables: &[&str] = match kind {
            ImportKind::Roll => &["delete from roll_voters where roll_version < ?"],
            ImportKind::Map => &[
                "delete from map_communes where map_version < ?",
                "delete from map_centres where map_version < ?",
                "delete from map_stations where map_version < ?",
            ],
        };
        let mut tx = self.begin_write().await?;
        for statement in tables {
            sqlx::query(*statement)
                .bind(oldest_kept)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn import_record(&self, id: i64) -> Result<ImportRecord> {
        let row = sqlx::query(
            "select id, kind, status, created_at, source, actor, communes, centres, stations, voters,
                    (select max(c.id) from change_sets c where c.new_version = imports.id) as change_set
             from imports where id = ?",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        import_from_row(&row)
    }
}

/// Records a pending change set from `base` to `new`; its summary is filled in by the caller.
async fn insert_change_set(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    kind: ImportKind,
    base: i64,
    new: i64,
    actor: &str,
    at: Timestamp,
    communes: &[CommuneCode],
) -> Result<i64> {
    let communes: Vec<&str> = communes.iter().map(CommuneCode::as_str).collect();
    Ok(sqlx::query_scalar(
        "insert into change_sets (kind, base_version, new_version, status, created_at, created_by, communes, summary)
         values (?, ?, ?, 'pending', ?, ?, ?, '{}') returning id",
    )
    .bind(kind.as_str())
    .bind(base)
    .bind(new)
    .bind(at)
    .bind(actor)
    .bind(communes.join(","))
    .fetch_one(&mut **tx)
    .await?)
}

/// Lists the voters added, removed and moved between two roll versions, and summarises the
/// flows between stations (a station split shows as one station sending voters to another
/// while keeping some).
async fn diff_rolls(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    change_set: i64,
    base: i64,
    new: i64,
) -> Result<serde_json::Value> {
    sqlx::query(
        "insert into change_set_voters (change_set_id, nin, change, old_commune, old_centre, old_station, new_commune, new_centre, new_station)
         select ?1, n.nin, case when o.nin is null then 'added' else 'moved' end,
                o.commune_code, o.centre_code, o.station, n.commune_code, n.centre_code, n.station
         from roll_voters n left join roll_voters o on o.roll_version = ?2 and o.nin = n.nin
         where n.roll_version = ?3
           and (o.nin is null or o.commune_code <> n.commune_code or o.centre_code <> n.centre_code or o.station <> n.station)",
    )
    .bind(change_set)
    .bind(base)
    .bind(new)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "insert into change_set_voters (change_set_id, nin, change, old_commune, old_centre, old_station)
         select ?1, o.nin, 'removed', o.commune_code, o.centre_code, o.station
         from roll_voters o
         where o.roll_version = ?2
           and not exists (select 1 from roll_voters n where n.roll_version = ?3 and n.nin = o.nin)",
    )
    .bind(change_set)
    .bind(base)
    .bind(new)
    .execute(&mut **tx)
    .await?;
    let mut counts = serde_json::Map::new();
    for row in sqlx::query("select change, count(*) as n from change_set_voters where change_set_id = ? group by change")
        .bind(change_set)
        .fetch_all(&mut **tx)
        .await?
    {
        counts.insert(row.try_get::<String, _>("change")?, row.try_get::<i64, _>("n")?.into());
    }
    let flows: Vec<serde_json::Value> = sqlx::query(
        "select old_commune || '/' || old_centre || '/' || old_station as source,
                new_commune || '/' || new_centre || '/' || new_station as target, count(*) as voters
         from change_set_voters where change_set_id = ? and change = 'moved'
         group by source, target order by voters desc limit 200",
    )
    .bind(change_set)
    .fetch_all(&mut **tx)
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

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn make_current(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    kind: ImportKind,
    version: i64,
) -> Result<()> {
    sqlx::query(
        "insert into current_versions (kind, import_id) values (?, ?) on conflict (kind) do update set import_id = excluded.import_id",
    )
    .bind(kind.as_str())
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn import_from_row(row: &SqliteRow) -> Result<ImportRecord> {
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

fn commune_code(row: &SqliteRow, column: &str) -> Result<CommuneCode> {
    CommuneCode::parse(row.try_get(column)?).map_err(corrupt)
}

/// A commune of `map_communes` (columns `code`, `name_ar`, `name_fr`).
fn commune_from_row(row: &SqliteRow) -> Result<Commune> {
    Ok(Commune {
        code: commune_code(row, "code")?,
        name: Bilingual {
            ar: row.try_get("name_ar")?,
            fr: row.try_get("name_fr")?,
        },
    })
}

fn centre_code(row: &SqliteRow, column: &str) -> Result<CentreCode> {
    CentreCode::parse(row.try_get(column)?).map_err(corrupt)
}

fn station_number(row: &SqliteRow, column: &str) -> Result<StationNumber> {
    let n: i64 = row.try_get(column)?;
    u16::try_from(n)
        .map_err(corrupt)
        .and_then(|n| StationNumber::new(n).map_err(corrupt))
}

fn station_kind(row: &SqliteRow, column: &str) -> Result<StationKind> {
    StationKind::parse(row.try_get(column)?).map_err(corrupt)
}

fn coordinates(row: &SqliteRow) -> Result<Option<Coordinates>> {
    let latitude: Option<f64> = row.try_get("latitude")?;
    let longitude: Option<f64> = row.try_get("longitude")?;
    Ok(latitude
        .zip(longitude)
        .map(|(latitude, longitude)| Coordinates {
            latitude,
            longitude,
        }))
}

fn centre_from_row(row: &SqliteRow) -> Result<Centre> {
    Ok(Centre {
        commune: commune_code(row, "commune_code")?,
        code: centre_code(row, "centre_code")?,
        name: Bilingual {
            ar: row.try_get("centre_ar")?,
            fr: row.try_get("centre_fr")?,
        },
        address: Bilingual {
            ar: row.try_get("address_ar")?,
            fr: row.try_get("address_fr")?,
        },
        coordinates: coordinates(row)?,
    })
}

#[async_trait]
impl RollStore for SqliteStore {
    async fn communes(&self) -> Result<Vec<Commune>> {
        sqlx::query(
            "select m.code, m.name_ar, m.name_fr from map_communes m
             join current_versions c on c.kind = 'map' and m.map_version = c.import_id
             order by m.code",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(commune_from_row)
        .collect()
    }

    async fn current_map(&self) -> Result<Option<MapVersion>> {
        let Some(version) = self.current_version(ImportKind::Map).await? else {
            return Ok(None);
        };
        let communes = sqlx::query(
            "select code, name_ar, name_fr from map_communes where map_version = ? order by code",
        )
        .bind(version)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(commune_from_row)
        .collect::<Result<Vec<_>>>()?;
        let centres = sqlx::query(
            "select commune_code, code as centre_code, name_ar as centre_ar, name_fr as centre_fr, address_ar, address_fr, latitude, longitude
             from map_centres where map_version = ? order by commune_code, code",
        )
        .bind(version)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(centre_from_row)
        .collect::<Result<Vec<_>>>()?;
        let stations = sqlx::query(
            "select commune_code, centre_code, number, kind from map_stations where map_version = ?
             order by commune_code, centre_code, number",
        )
        .bind(version)
        .fetch_all(&self.pool)
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
        match self.current_version(kind).await? {
            Some(id) => Ok(Some(self.import_record(id).await?)),
            None => Ok(None),
        }
    }

    async fn imports(&self, limit: u32) -> Result<Vec<ImportRecord>> {
        sqlx::query(
            "select id, kind, status, created_at, source, actor, communes, centres, stations, voters,
                    (select max(c.id) from change_sets c where c.new_version = imports.id) as change_set
             from imports where status in ('accepted', 'pending') order by id desc limit ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(import_from_row)
        .collect()
    }

    async fn station_loads(&self) -> Result<Vec<StationLoad>> {
        let Some(version) = self.current_version(ImportKind::Roll).await? else {
            return Ok(Vec::new());
        };
        sqlx::query(
            "select commune_code, centre_code, station, count(*) as voters,
                    sum(case when sex = 'M' then 1 else 0 end) as men
             from roll_voters where roll_version = ?
             group by commune_code, centre_code, station",
        )
        .bind(version)
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
        let base: Option<i64> =
            sqlx::query_scalar("select import_id from current_versions where kind = 'map'")
                .fetch_optional(&mut *tx)
                .await?;
        let version: i64 = sqlx::query_scalar(
            "insert into imports (kind, status, created_at, source, actor, communes, centres, stations, voters)
             values ('map', ?, ?, ?, ?, ?, ?, ?, 0) returning id",
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
        for commune in &map.communes {
            sqlx::query("insert into map_communes (map_version, code, name_ar, name_fr) values (?, ?, ?, ?)")
                .bind(version)
                .bind(commune.code.as_str())
                .bind(&commune.name.ar)
                .bind(&commune.name.fr)
                .execute(&mut *tx)
                .await?;
        }
        for centre in &map.centres {
            sqlx::query(
                "insert into map_centres (map_version, commune_code, code, name_ar, name_fr, address_ar, address_fr, latitude, longitude)
                 values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(version)
            .bind(centre.commune.as_str())
            .bind(centre.code.as_str())
            .bind(&centre.name.ar)
            .bind(&centre.name.fr)
            .bind(&centre.address.ar)
            .bind(&centre.address.fr)
            .bind(centre.coordinates.map(|c| c.latitude))
            .bind(centre.coordinates.map(|c| c.longitude))
            .execute(&mut *tx)
            .await?;
        }
        for station in &map.stations {
            sqlx::query(
                "insert into map_stations (map_version, commune_code, centre_code, number, kind) values (?, ?, ?, ?, ?)",
            )
            .bind(version)
            .bind(station.at.commune.as_str())
            .bind(station.at.centre.as_str())
            .bind(i64::from(station.at.station.get()))
            .bind(station.kind.as_str())
            .execute(&mut *tx)
            .await?;
        }
        match base {
            None => make_current(&mut tx, ImportKind::Map, version).await?,
            Some(base) => {
                let change_set = insert_change_set(
                    &mut tx,
                    ImportKind::Map,
                    base,
                    version,
                    &import.actor,
                    import.at,
                    &import.communes,
                )
                .await?;
                for (seq, change) in changes.iter().enumerate() {
                    sqlx::query(
                        "insert into change_set_places (change_set_id, seq, change, commune_code, centre_code, station, old_value, new_value)
                         values (?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(change_set)
                    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                    .bind(&change.change)
                    .bind(&change.commune)
                    .bind(&change.centre)
                    .bind(change.station.map(i64::from))
                    .bind(change.old.as_ref().map(|v| v.to_string()))
                    .bind(change.new.as_ref().map(|v| v.to_string()))
                    .execute(&mut *tx)
                    .await?;
                }
                let mut by_change = serde_json::Map::new();
                for change in changes {
                    let entry = by_change.entry(change.change.clone()).or_insert(0.into());
                    *entry = (entry.as_u64().unwrap_or(0) + 1).into();
                }
                sqlx::query("update change_sets set summary = ? where id = ?")
                    .bind(
                        serde_json::json!({ "places": changes.len(), "by_change": by_change })
                            .to_string(),
                    )
                    .bind(change_set)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        self.prune_versions(ImportKind::Map).await?;
        self.import_record(version).await
    }

    async fn import_roll(
        &self,
        import: NewImport,
        mut batches: mpsc::Receiver<RollBatch>,
    ) -> Result<ImportRecord> {
        // Written in chunks, each its own transaction, so that a national roll does not hold
        // SQLite's single write lock for minutes while voters are being answered. The rows stay
        // invisible (no current version points at them) until the final commit.
        let version: i64 = sqlx::query_scalar(
            "insert into imports (kind, status, created_at, source, actor) values ('roll', 'staging', ?, ?, ?) returning id",
        )
        .bind(import.at)
        .bind(&import.source)
        .bind(&import.actor)
        .fetch_one(&self.pool)
        .await?;
        let outcome = async {
            let mut staged = Staged::new();
            while let Some(batch) = batches.recv().await {
                match batch {
                    RollBatch::Voters(mut voters) => {
                        self.stage_voters(version, &mut voters, &mut staged).await?
                    }
                    RollBatch::Commit {
                        counts,
                        map_version,
                        replaced_communes,
                    } => {
                        self.publish_staged(version, &staged).await?;
                        self.accept_roll(
                            version,
                            counts,
                            map_version,
                            &replaced_communes,
                            &import.actor,
                            import.at,
                        )
                        .await?;
                        return Ok(());
                    }
                }
            }
            Err(StoreError::ImportAbandoned)
        }
        .await;
        if let Err(error) = outcome {
            self.discard_staging(version).await?;
            return Err(error);
        }
        self.prune_versions(ImportKind::Roll).await?;
        self.import_record(version).await
    }

    async fn find_voter(&self, nin: &NationalId) -> Result<Option<RegisteredVoter>> {
        let row = sqlx::query(
            "select v.birth_date, v.commune_code, v.centre_code, v.station,
                    m.name_ar as commune_ar, m.name_fr as commune_fr,
                    c.name_ar as centre_ar, c.name_fr as centre_fr, c.address_ar, c.address_fr,
                    c.latitude, c.longitude, s.kind
             from current_versions cr
             join roll_voters v on v.roll_version = cr.import_id and v.nin = ?
             join current_versions cm on cm.kind = 'map'
             join map_communes m on m.map_version = cm.import_id and m.code = v.commune_code
             join map_centres c on c.map_version = cm.import_id and c.commune_code = v.commune_code
                  and c.code = v.centre_code
             join map_stations s on s.map_version = cm.import_id and s.commune_code = v.commune_code
                  and s.centre_code = v.centre_code and s.number = v.station
             where cr.kind = 'roll'",
        )
        .bind(nin.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let birth_date = BirthDate::from_iso(row.try_get("birth_date")?).map_err(corrupt)?;
        let centre = centre_from_row(&row)?;
        Ok(Some(RegisteredVoter {
            birth_date,
            place: PollingPlace {
                commune: Commune {
                    code: centre.commune.clone(),
                    name: Bilingual {
                        ar: row.try_get("commune_ar")?,
                        fr: row.try_get("commune_fr")?,
                    },
                },
                centre,
                station: station_number(&row, "station")?,
                kind: station_kind(&row, "kind")?,
            },
        }))
    }
}
