//! What PostgreSQL writes its own way for the map and the roll; the rest is
//! `store/shared/roll.rs`. A roll import is one transaction that streams voters with `COPY`,
//! and a map's rows are passed as arrays (`unnest`), syntaxes SQLite lacks.
//!
//! SQLite writes a roll in chunks because its single writer lock would stop every other
//! write for the whole import. PostgreSQL's row versions let lookups read the current roll
//! while the new one is written, so here the import is a single transaction: if the file is
//! rejected, the importer dies or the connection drops, PostgreSQL rolls everything back and
//! no clean-up is ever needed.
//!
//! The voters are not copied straight into `roll_voters`: they arrive in file order, NINs
//! all over the primary key, and each row inserted at a random place of a B-tree that outgrows
//! `shared_buffers` costs a page read and a full-page image in the WAL. One `COPY` streams
//! the whole file into a temporary table of the transaction (no index, no WAL, dropped at
//! the commit or with a rollback), and one `insert … select … order by commune_code, nin` then
//! appends the new version to the primary key in key order; only the NIN index takes its rows
//! at random (`bench/README.md`, `import`, has the figures).

use sqlx::PgConnection;
use tokio::sync::mpsc;

use super::PostgresStore;
use crate::domain::{CommuneCode, ElectoralMap, Voter};
use crate::store::{ImportCounts, NewImport, PlaceChange, Result, RollBatch, StoreError};

/// The import's staging table: the columns of `roll_voters` but the version, no index, private
/// to the import's connection and gone with its transaction, committed or not.
const CREATE_STAGING: &str = "create temporary table roll_import_staging (nin text not null, birth_date date not null, sex text,
     commune_code text not null, centre_code text not null, station integer not null) on commit drop";

const COPY_STAGING: &str = "copy roll_import_staging (nin, birth_date, sex, commune_code, centre_code, station) from stdin";

/// The staged voters into the new version in key order (commune, then NIN), so the primary
/// key grows at its end. `collate "C"` compares bytes, cheaper than the database's collation
/// (sorting 1,000,000 NINs took 1.7 s against 2.6 to 3.5 s under `C.UTF-8` here). A NIN is 18
/// ASCII digits (`NationalId::parse`) and an Algerian commune code 4, which every collation
/// orders alike, so the order is the index's; a code with letters would only land a little
/// less in order, never elsewhere.
const INSERT_STAGED: &str = "insert into roll_voters (roll_version, nin, birth_date, sex, commune_code, centre_code, station)
     select $1, nin, birth_date, sex, commune_code, centre_code, station
     from roll_import_staging order by commune_code collate \"C\", nin collate \"C\"";

/// Appends one field of `COPY`'s text format, escaping what the format reserves.
fn push_copy_field(buffer: &mut Vec<u8>, value: &str) {
    for byte in value.bytes() {
        match byte {
            b'\\' => buffer.extend_from_slice(b"\\\\"),
            b'\t' => buffer.extend_from_slice(b"\\t"),
            b'\n' => buffer.extend_from_slice(b"\\n"),
            b'\r' => buffer.extend_from_slice(b"\\r"),
            other => buffer.push(other),
        }
    }
}

/// One voter as a line of `COPY`'s text format (tab-separated, `\N` for null).
fn push_copy_row(buffer: &mut Vec<u8>, voter: &Voter) {
    push_copy_field(buffer, voter.nin.as_str());
    buffer.push(b'\t');
    push_copy_field(buffer, &voter.birth_date.to_iso());
    buffer.push(b'\t');
    match voter.sex {
        Some(sex) => push_copy_field(buffer, sex.as_str()),
        None => buffer.extend_from_slice(b"\\N"),
    }
    buffer.push(b'\t');
    push_copy_field(buffer, voter.station.commune.as_str());
    buffer.push(b'\t');
    push_copy_field(buffer, voter.station.centre.as_str());
    buffer.push(b'\t');
    buffer.extend_from_slice(voter.station.station.get().to_string().as_bytes());
    buffer.push(b'\n');
}

/// What ends a roll import's stream when the file was valid (`RollBatch::Commit`'s fields).
struct Commit {
    counts: ImportCounts,
    map_version: i64,
    replaced_communes: Vec<CommuneCode>,
}

/// Streams every batch into the staging table with one `COPY` (one per batch cost a round
/// trip and a statement start each: 2,400 at 24 million voters); `None` when the importer
/// abandoned the import (dropped its end of the channel without `Commit`).
async fn copy_voters(
    conn: &mut PgConnection,
    batches: &mut mpsc::Receiver<RollBatch>,
) -> Result<Option<Commit>> {
    let mut copy = conn.copy_in_raw(COPY_STAGING).await?;
    let mut buffer = Vec::new();
    loop {
        match batches.recv().await {
            Some(RollBatch::Voters(voters)) => {
                buffer.clear();
                for voter in &voters {
                    push_copy_row(&mut buffer, voter);
                }
                if let Err(error) = copy.send(buffer.as_slice()).await {
                    // Leave the connection usable for the rollback that follows.
                    let _ = copy.abort("maktab: sending the roll failed").await;
                    return Err(error.into());
                }
            }
            Some(RollBatch::Commit {
                counts,
                map_version,
                replaced_communes,
            }) => {
                copy.finish().await?;
                return Ok(Some(Commit {
                    counts,
                    map_version,
                    replaced_communes,
                }));
            }
            None => {
                let _ = copy.abort("maktab: roll import abandoned").await;
                return Ok(None);
            }
        }
    }
}

impl PostgresStore {
    /// Writes a roll import's voters and accepts it (see `RollStore::import_roll`); returns
    /// the new version.
    pub(super) async fn write_roll(
        &self,
        import: &NewImport,
        mut batches: mpsc::Receiver<RollBatch>,
    ) -> Result<i64> {
        // Any error returns early and drops `tx`, which rolls the import back, the staging
        // table with it.
        let mut tx = self.pool.begin().await?;
        let version: i64 = sqlx::query_scalar(
            "insert into imports (kind, status, created_at, source, actor) values ('roll', 'staging', $1, $2, $3) returning id",
        )
        .bind(import.at)
        .bind(&import.source)
        .bind(&import.actor)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::raw_sql(CREATE_STAGING).execute(&mut *tx).await?;
        let Some(commit) = copy_voters(&mut tx, &mut batches).await? else {
            tx.rollback().await?;
            return Err(StoreError::ImportAbandoned);
        };
        sqlx::query(INSERT_STAGED)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        Self::accept_roll(
            &mut tx,
            version,
            commit.counts,
            commit.map_version,
            &commit.replaced_communes,
            &import.actor,
            import.at,
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Writes a new map version's communes, centres and stations.
    pub(super) async fn insert_map(
        conn: &mut PgConnection,
        version: i64,
        map: &ElectoralMap,
    ) -> Result<()> {
        // One statement per table, the rows passed as arrays: a national map (tens of
        // thousands of stations) is three round trips, not tens of thousands.
        let communes = &map.communes;
        sqlx::query(
            "insert into map_communes (map_version, code, name_ar, name_fr)
             select $1, * from unnest($2::text[], $3::text[], $4::text[])",
        )
        .bind(version)
        .bind(
            communes
                .iter()
                .map(|c| c.code.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(
            communes
                .iter()
                .map(|c| c.name.ar.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            communes
                .iter()
                .map(|c| c.name.fr.clone())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *conn)
        .await?;
        let centres = &map.centres;
        sqlx::query(
            "insert into map_centres (map_version, commune_code, code, name_ar, name_fr, address_ar, address_fr, latitude, longitude)
             select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                      $8::float8[], $9::float8[])",
        )
        .bind(version)
        .bind(centres.iter().map(|c| c.commune.as_str().to_owned()).collect::<Vec<_>>())
        .bind(centres.iter().map(|c| c.code.as_str().to_owned()).collect::<Vec<_>>())
        .bind(centres.iter().map(|c| c.name.ar.clone()).collect::<Vec<_>>())
        .bind(centres.iter().map(|c| c.name.fr.clone()).collect::<Vec<_>>())
        .bind(centres.iter().map(|c| c.address.ar.clone()).collect::<Vec<_>>())
        .bind(centres.iter().map(|c| c.address.fr.clone()).collect::<Vec<_>>())
        .bind(centres.iter().map(|c| c.coordinates.map(|x| x.latitude)).collect::<Vec<_>>())
        .bind(centres.iter().map(|c| c.coordinates.map(|x| x.longitude)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        let stations = &map.stations;
        sqlx::query(
            "insert into map_stations (map_version, commune_code, centre_code, number, kind)
             select $1, * from unnest($2::text[], $3::text[], $4::integer[], $5::text[])",
        )
        .bind(version)
        .bind(
            stations
                .iter()
                .map(|s| s.at.commune.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(
            stations
                .iter()
                .map(|s| s.at.centre.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(
            stations
                .iter()
                .map(|s| i32::from(s.at.station.get()))
                .collect::<Vec<_>>(),
        )
        .bind(stations.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Writes a map change set's place changes.
    pub(super) async fn insert_place_changes(
        conn: &mut PgConnection,
        change_set: i64,
        changes: &[PlaceChange],
    ) -> Result<()> {
        // One statement for all the place changes, as for the map itself.
        sqlx::query(
            "insert into change_set_places (change_set_id, seq, change, commune_code, centre_code, station, old_value, new_value)
             select $1, seq, change, commune, centre, station, old::jsonb, new::jsonb
             from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::integer[],
                         $7::text[], $8::text[]) as t(seq, change, commune, centre, station, old, new)",
        )
        .bind(change_set)
        .bind((0..changes.len()).map(|seq| i64::try_from(seq).unwrap_or(i64::MAX)).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.change.clone()).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.commune.clone()).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.centre.clone()).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.station.map(i32::from)).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.old.as_ref().map(|v| v.to_string())).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.new.as_ref().map(|v| v.to_string())).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// `RollStore::find_voter`: the shared statement through the pool.
pub(super) async fn find_voter(
    store: &PostgresStore,
    nin: &crate::domain::NationalId,
) -> Result<Option<crate::store::RegisteredVoter>> {
    sqlx::query(super::shared::roll::FIND_VOTER)
        .bind(nin.as_str())
        .fetch_optional(&store.pool)
        .await?
        .map(|row| super::shared::roll::voter_from_row(&row))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_fields_escape_backslashes_tabs_and_line_breaks() {
        let mut buffer = Vec::new();
        push_copy_field(&mut buffer, "a\\b\tc\nd\re");
        assert_eq!(buffer, b"a\\\\b\\tc\\nd\\re");
    }
}
