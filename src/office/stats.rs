//! Statistics for monitoring: lookups per hour, channel, commune and outcome, and how full
//! each station of the current roll is.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use utoipa::ToSchema;

use super::Office;
use super::error::OfficeResult;
use super::principal::{Permission, Principal};
use crate::domain::{Channel, CommuneCode, StationKind, Timestamp};
use crate::store::{LookupCount, LookupStatsQuery};

/// Which lookups to count.
#[derive(Debug, Default, Clone)]
pub struct LookupFilter {
    /// From this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Default: every commune of the principal.
    pub commune: Option<CommuneCode>,
    pub channel: Option<Channel>,
}

/// Lookup counts per hour, channel, commune and outcome, with totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupStats {
    pub rows: Vec<LookupCount>,
    pub total: u64,
    pub by_outcome: BTreeMap<String, u64>,
    pub by_channel: BTreeMap<String, u64>,
    /// The empty key counts lookups that matched no voter (national scope only).
    pub by_commune: BTreeMap<String, u64>,
}

/// Totals of lookup counts.
fn summarise(rows: Vec<LookupCount>) -> LookupStats {
    let mut stats = LookupStats {
        rows: Vec::new(),
        total: 0,
        by_outcome: BTreeMap::new(),
        by_channel: BTreeMap::new(),
        by_commune: BTreeMap::new(),
    };
    for row in &rows {
        stats.total += row.count;
        *stats.by_outcome.entry(row.outcome.clone()).or_insert(0) += row.count;
        *stats.by_channel.entry(row.channel.clone()).or_insert(0) += row.count;
        *stats.by_commune.entry(row.commune.clone()).or_insert(0) += row.count;
    }
    stats.rows = rows;
    stats
}

/// How full a station is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    Ok,
    /// At least 90% of the limit.
    NearLimit,
    OverLimit,
}

/// A station's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationStats {
    pub station: u16,
    #[schema(value_type = String)]
    pub kind: StationKind,
    pub voters: u64,
    pub fill: Fill,
}

/// A centre's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct CentreStats {
    pub code: String,
    pub name_fr: String,
    pub voters: u64,
    pub stations: Vec<StationStats>,
}

/// A commune's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommuneStats {
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    pub voters: u64,
    pub centres: Vec<CentreStats>,
}

/// Voters per commune, centre and station in the current roll.
#[derive(Debug, Serialize, ToSchema)]
pub struct RollStats {
    pub max_voters_per_station: u32,
    pub voters: u64,
    pub stations_near_limit: u64,
    pub stations_over_limit: u64,
    pub communes: Vec<CommuneStats>,
}

impl Office {
    /// Lookup counts within the principal's communes. Counts are written every few seconds,
    /// so the last seconds may not be included yet.
    pub async fn lookup_stats(
        &self,
        principal: &Principal,
        filter: &LookupFilter,
    ) -> OfficeResult<LookupStats> {
        principal.require(Permission::Monitor)?;
        let communes = principal.scope(filter.commune.as_ref())?;
        let rows = self
            .store
            .lookup_counts(&LookupStatsQuery {
                since: filter.since,
                until: filter.until,
                channel: filter.channel.map(|c| c.as_str().to_owned()),
                communes,
            })
            .await?;
        Ok(summarise(rows))
    }

    /// Voters per commune, centre and station of the principal's communes (or of one).
    pub async fn roll_stats(
        &self,
        principal: &Principal,
        commune: Option<&CommuneCode>,
    ) -> OfficeResult<RollStats> {
        principal.require(Permission::Monitor)?;
        let communes = principal.scope(commune)?;
        let wanted = |code: &CommuneCode| communes.as_ref().is_none_or(|list| list.contains(code));
        let limit = self.rules.max_voters_per_station;
        let loads: BTreeMap<_, u64> = self
            .store
            .station_loads()
            .await?
            .into_iter()
            .map(|load| (load.at, load.voters))
            .collect();
        let map = self
            .store
            .current_map()
            .await?
            .map(|m| m.map)
            .unwrap_or_default();
        let near = u64::from(limit) * 9 / 10;
        // Centres by commune and stations by centre, once: a national map has 1,541 communes,
        // some 12,000 centres and 60,000 stations, too many to filter for each other.
        let mut centres_of: HashMap<&CommuneCode, Vec<&crate::domain::Centre>> = HashMap::new();
        for centre in &map.centres {
            centres_of.entry(&centre.commune).or_default().push(centre);
        }
        let mut stations_of: HashMap<
            (&CommuneCode, &crate::domain::CentreCode),
            Vec<&crate::domain::Station>,
        > = HashMap::new();
        for station in &map.stations {
            stations_of
                .entry((&station.at.commune, &station.at.centre))
                .or_default()
                .push(station);
        }
        let mut stats = RollStats {
            max_voters_per_station: limit,
            voters: 0,
            stations_near_limit: 0,
            stations_over_limit: 0,
            communes: Vec::new(),
        };
        for commune in map.communes.iter().filter(|c| wanted(&c.code)) {
            let mut commune_stats = CommuneStats {
                code: commune.code.as_str().to_owned(),
                name_ar: commune.name.ar.clone(),
                name_fr: commune.name.fr.clone(),
                voters: 0,
                centres: Vec::new(),
            };
            for centre in centres_of.get(&commune.code).into_iter().flatten() {
                let mut centre_stats = CentreStats {
                    code: centre.code.as_str().to_owned(),
                    name_fr: centre.name.fr.clone(),
                    voters: 0,
                    stations: Vec::new(),
                };
                for station in stations_of
                    .get(&(&commune.code, &centre.code))
                    .into_iter()
                    .flatten()
                {
                    let voters = loads.get(&station.at).copied().unwrap_or(0);
                    let fill = if voters > u64::from(limit) {
                        stats.stations_over_limit += 1;
                        Fill::OverLimit
                    } else if voters >= near {
                        stats.stations_near_limit += 1;
                        Fill::NearLimit
                    } else {
                        Fill::Ok
                    };
                    centre_stats.voters += voters;
                    centre_stats.stations.push(StationStats {
                        station: station.at.station.get(),
                        kind: station.kind,
                        voters,
                        fill,
                    });
                }
                commune_stats.voters += centre_stats.voters;
                commune_stats.centres.push(centre_stats);
            }
            stats.voters += commune_stats.voters;
            stats.communes.push(commune_stats);
        }
        Ok(stats)
    }
}
