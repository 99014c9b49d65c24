//! What SQLite writes its own way for the map and the roll; the rest is
//! `store/shared/roll.rs`. A roll is staged in chunks and then copied in key order, and a map
//! is written row by row: SQLite has no arrays to pass many rows in one statement, and each
//! chunk is its own transaction so that the single write lock is never held for long.

use std::collections::BTreeSet;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::mpsc;

use super::SqliteStore;
use crate::domain::{ElectoralMap, Voter};
use crate::store::{NewImport, PlaceChange, Result, RollBatch, StoreError};

/// Rows per insert statement: 9 parameters each stays far below SQLite's variable limit.
const ROWS_PER_INSERT: usize = 1000;

/// Rows copied from staging into `roll_voters` per transaction: a large commune (200,000
/// voters) is copied in several, so lookups, whose writes need the lock too, never wait long.
const ROWS_PER_PUBLISH: i64 = 20_000;

/// What one roll import has staged so far.
struct Staged {
    /// The last `seq` written.
    last_seq: i64,
    /// The communes that hold rows, in the order of the primary key (bytes, SQLite's `binary`
    /// collation): each is copied at the commit.
    communes: BTreeSet<String>,
}

impl Staged {
    fn new() -> Self {
        Self {
            last_seq: 0,
            communes: BTreeSet::new(),
        }
    }
}

impl SqliteStore {
    /// Appends validated voters to the import's staging rows, in one transaction per batch.
    async fn stage_voters(
        &self,
        version: i64,
        voters: &mut [Voter],
        staged: &mut Staged,
    ) -> Result<()> {
        // In commune order each batch appends once to the end of each commune's staged rows.
        voters.sort_unstable_by(|a, b| a.station.commune.cmp(&b.station.commune));
        let mut tx = self.begin_write().await?;
        for chunk in voters.chunks(ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "insert into roll_staging (import_id, commune_code, seq, nin, birth_date, sex, centre_code, station) ",
            );
            insert.push_values(chunk, |mut row, voter| {
                staged.last_seq += 1;
                row.push_bind(version)
                    .push_bind(voter.station.commune.as_str().to_owned())
                    .push_bind(staged.last_seq)
                    .push_bind(voter.nin.as_str().to_owned())
                    .push_bind(voter.birth_date.to_iso())
                    .push_bind(voter.sex.map(|s| s.as_str()))
                    .push_bind(voter.station.centre.as_str().to_owned())
                    .push_bind(i64::from(voter.station.station.get()));
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        for voter in voters.iter() {
            if !staged.communes.contains(voter.station.commune.as_str()) {
                staged
                    .communes
                    .insert(voter.station.commune.as_str().to_owned());
            }
        }
        Ok(())
    }

    /// Copies the staged voters into `roll_voters` commune after commune, each in NIN order,
    /// so the version's B-tree (keyed by version, commune and NIN) is written by appending;
    /// at most [`ROWS_PER_PUBLISH`] rows per transaction, so lookups (whose counters need the
    /// write lock too) never wait long. The rows stay invisible until the version is
    /// accepted.
    async fn publish_staged(&self, version: i64, staged: &Staged) -> Result<()> {
        for commune in &staged.communes {
            loop {
                let mut tx = self.begin_write().await?;
                let copied = sqlx::query(
                    "insert into roll_voters (roll_version, commune_code, nin, birth_date, sex, centre_code, station)
                     select import_id, commune_code, nin, birth_date, sex, centre_code, station
                     from roll_staging where import_id = $1 and commune_code = $2
                     order by nin limit $3",
                )
                .bind(version)
                .bind(commune)
                .bind(ROWS_PER_PUBLISH)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // NINs are unique in a version (the import checked them), so the staged rows
                // up to the last NIN copied are exactly the ones copied.
                let last: Option<String> = sqlx::query_scalar(
                    "select max(nin) from roll_voters where roll_version = $1 and commune_code = $2",
                )
                .bind(version)
                .bind(commune)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "delete from roll_staging where import_id = $1 and commune_code = $2 and nin <= $3",
                )
                .bind(version)
                .bind(commune)
                .bind(last)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                if copied < ROWS_PER_PUBLISH as u64 {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Writes a roll import's voters and accepts it (see `RollStore::import_roll`); returns
    /// the new version.
    pub(super) async fn write_roll(
        &self,
        import: &NewImport,
        mut batches: mpsc::Receiver<RollBatch>,
    ) -> Result<i64> {
        // Written in chunks, each its own transaction, so that a national roll does not hold
        // SQLite's single write lock for minutes while voters are being answered. The rows stay
        // invisible (no current version points at them) until the final commit.
        let version: i64 = sqlx::query_scalar(
            "insert into imports (kind, status, created_at, source, actor) values ('roll', 'staging', $1, $2, $3) returning id",
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
                        let mut tx = self.begin_write().await?;
                        Self::accept_roll(
                            &mut tx,
                            version,
                            counts,
                            map_version,
                            &replaced_communes,
                            &import.actor,
                            import.at,
                        )
                        .await?;
                        tx.commit().await?;
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
        Ok(version)
    }

    /// Writes a new map version's communes, centres and stations.
    pub(super) async fn insert_map(
        conn: &mut SqliteConnection,
        version: i64,
        map: &ElectoralMap,
    ) -> Result<()> {
        for commune in &map.communes {
            sqlx::query("insert into map_communes (map_version, code, name_ar, name_fr) values ($1, $2, $3, $4)")
                .bind(version)
                .bind(commune.code.as_str())
                .bind(&commune.name.ar)
                .bind(&commune.name.fr)
                .execute(&mut *conn)
                .await?;
        }
        for centre in &map.centres {
            sqlx::query(
                "insert into map_centres (map_version, commune_code, code, name_ar, name_fr, address_ar, address_fr, latitude, longitude)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
            .execute(&mut *conn)
            .await?;
        }
        for station in &map.stations {
            sqlx::query(
                "insert into map_stations (map_version, commune_code, centre_code, number, kind) values ($1, $2, $3, $4, $5)",
            )
            .bind(version)
            .bind(station.at.commune.as_str())
            .bind(station.at.centre.as_str())
            .bind(i64::from(station.at.station.get()))
            .bind(station.kind.as_str())
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Writes a map change set's place changes.
    pub(super) async fn insert_place_changes(
        conn: &mut SqliteConnection,
        change_set: i64,
        changes: &[PlaceChange],
    ) -> Result<()> {
        for (seq, change) in changes.iter().enumerate() {
            sqlx::query(
                "insert into change_set_places (change_set_id, seq, change, commune_code, centre_code, station, old_value, new_value)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(change_set)
            .bind(i64::try_from(seq).unwrap_or(i64::MAX))
            .bind(&change.change)
            .bind(&change.commune)
            .bind(&change.centre)
            .bind(change.station.map(i64::from))
            .bind(change.old.as_ref().map(|v| v.to_string()))
            .bind(change.new.as_ref().map(|v| v.to_string()))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// `RollStore::find_voter`: the shared statement on a plain reader (`readers.rs`).
pub(super) async fn find_voter(
    store: &SqliteStore,
    nin: &crate::domain::NationalId,
) -> Result<Option<crate::store::RegisteredVoter>> {
    store.readers.read(|connection| {
        super::readers::first_row(
            connection,
            super::shared::roll::FIND_VOTER,
            &[("$1", &nin.as_str())],
            |row| super::shared::roll::voter_from_row(row),
        )
    })
}
