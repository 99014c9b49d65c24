//! Station planning (`maktab plan`): from the office's map and full roll export, a new
//! assignment where no station holds more than the legal limit, women's stations hold only
//! women and every station's voters form an alphabetical range, plus what the centres need
//! (ballots, voter cards) and a printable report per commune. The files it writes go straight
//! into `maktab import map` and `maktab import roll`, whose change set (the splits) is reviewed
//! and approved as any other, and tells the subscribers of every moved voter.
//!
//! The planner works on files only and never touches the database. Voters' names are read
//! to sort them and written only to the output files: they are never stored.
//!
//! - [`collate`]: the name order (folding, ICU4X collation, one sort key per voter);
//! - [`assign`]: the strategies, one centre at a time, as a pure function;
//! - `input`: reading the CSV files row by row with true line numbers;
//! - `output` and `report`: the CSV files and the HTML report in Arabic and French.
//!
//! Memory stays proportional to the voters, not to the file: a voter is a sort key and 32
//! bytes while planning; the roll is read a second time to write the output, so names and
//! other columns are never held.

pub mod assign;
pub mod collate;
mod input;
mod output;
mod report;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use assign::{AssignError, Origin, PlannedStation, Strategy, VoterIn, plan_centre};
pub use collate::{CollatorError, NameCollator};
pub use input::InputError;

use crate::domain::{
    BirthDate, CentreCode, CommuneCode, DEFAULT_MAX_VOTERS_PER_STATION, NationalId, Sex,
    StationKind, StationNumber,
};
use crate::roll::{LineError, MAX_REPORTED_ERRORS};

/// How to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// The legal limit of voters per station.
    pub max_per_station: u32,
    pub strategy: Strategy,
    /// Ballots printed beyond the voters, in percent.
    pub reserve_percent: u32,
    /// Ballots come in packs of this many.
    pub pack: u32,
    /// A station below this size that could merge with a sibling is warned about.
    pub min_per_station: u32,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            max_per_station: DEFAULT_MAX_VOTERS_PER_STATION,
            strategy: Strategy::Keep,
            reserve_percent: 10,
            pack: 50,
            min_per_station: 50,
        }
    }
}

impl PlanOptions {
    /// Ballots for a station: its voters plus the reserve, rounded up to whole packs.
    pub fn ballots(&self, voters: u32) -> u64 {
        let voters = u64::from(voters);
        let needed = voters + (voters * u64::from(self.reserve_percent)).div_ceil(100);
        needed.div_ceil(u64::from(self.pack.max(1))) * u64::from(self.pack.max(1))
    }

    fn check(&self) -> Result<(), PlanError> {
        if self.max_per_station == 0 {
            return Err(PlanError::Options(
                "--max-per-station must be at least 1".into(),
            ));
        }
        if self.pack == 0 {
            return Err(PlanError::Options("--pack must be at least 1".into()));
        }
        if self.reserve_percent > 1000 {
            return Err(PlanError::Options(
                "--reserve-percent must be at most 1000".into(),
            ));
        }
        Ok(())
    }
}

/// Why no plan was written.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{file} was rejected with {total} error(s); nothing was written")]
    Rejected {
        file: String,
        /// The first errors by line.
        errors: Vec<LineError>,
        total: u64,
    },
    #[error("{0}")]
    Options(String),
    #[error("centre {commune}/{centre}: {source}")]
    Assign {
        commune: CommuneCode,
        centre: CentreCode,
        source: AssignError,
    },
    #[error("cannot write {file}: {source}")]
    Write {
        file: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Collator(#[from] CollatorError),
    #[error("{0} changed while it was being planned; plan again")]
    Changed(String),
}

/// Something the office should look at; the plan is written regardless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The centre needs more stations than it has rooms.
    Rooms {
        commune: CommuneCode,
        centre: CentreCode,
        rooms: u32,
        stations: u32,
    },
    /// A station under the minimum size that a sibling of its kind could take in.
    Small {
        commune: CommuneCode,
        centre: CentreCode,
        station: u16,
        voters: u32,
        sibling: u16,
        sibling_voters: u32,
    },
    /// A station of the map that the plan leaves without voters.
    Empty {
        commune: CommuneCode,
        centre: CentreCode,
        station: u16,
    },
}

impl Warning {
    fn commune(&self) -> &CommuneCode {
        match self {
            Self::Rooms { commune, .. }
            | Self::Small { commune, .. }
            | Self::Empty { commune, .. } => commune,
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rooms {
                commune,
                centre,
                rooms,
                stations,
            } => write!(
                f,
                "centre {commune}/{centre} needs {stations} stations but has {rooms} rooms"
            ),
            Self::Small {
                commune,
                centre,
                station,
                voters,
                sibling,
                sibling_voters,
            } => write!(
                f,
                "station {commune}/{centre}/{station} holds {voters} voters, under the minimum; it could merge with station {sibling} ({sibling_voters} voters)"
            ),
            Self::Empty {
                commune,
                centre,
                station,
            } => write!(
                f,
                "station {commune}/{centre}/{station} holds no voter: remove it from the map once the roll is imported"
            ),
        }
    }
}

/// What a plan did.
#[derive(Debug, Clone, Default)]
pub struct PlanSummary {
    pub communes: u64,
    /// The communes planned, as the map gives them.
    pub commune_codes: Vec<CommuneCode>,
    pub centres: u64,
    /// Stations holding voters in the plan.
    pub stations: u64,
    /// Stations the plan opens.
    pub new_stations: u64,
    pub voters: u64,
    /// Voters whose station changes.
    pub moved: u64,
    /// Voters the roll gave no station yet.
    pub placed: u64,
    pub ballots: u64,
    pub warnings: Vec<Warning>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// A commune of the map, its names as written.
struct CommuneRow {
    code: CommuneCode,
    ar: String,
    fr: String,
}

/// A centre of the map: its texts as written (they go back into `map.csv`) and its stations.
struct CentreRow {
    commune: usize,
    code: CentreCode,
    /// centre_ar, centre_fr, address_ar, address_fr, latitude, longitude, rooms.
    texts: [String; 7],
    rooms: Option<u32>,
    line: u64,
    stations: Vec<(u16, StationKind)>,
}

/// The map as read.
struct MapInput {
    communes: Vec<CommuneRow>,
    centres: Vec<CentreRow>,
    has_rooms: bool,
}

const MAP_REQUIRED: &[&str] = &[
    "commune_code",
    "commune_ar",
    "commune_fr",
    "centre_code",
    "centre_ar",
    "centre_fr",
    "address_ar",
    "address_fr",
    "station",
];

const ROLL_REQUIRED: &[&str] = &["nin", "birth_date", "commune_code", "centre_code"];

/// Name columns, in the order they are preferred for sorting: Arabic, unsuffixed, French.
const NAME_COLUMNS: [(&str, &str); 3] = [
    ("family_name_ar", "given_name_ar"),
    ("family_name", "given_name"),
    ("family_name_fr", "given_name_fr"),
];

/// Errors of one file, the first [`MAX_REPORTED_ERRORS`] kept.
#[derive(Default)]
struct Errors {
    kept: Vec<LineError>,
    total: u64,
}

impl Errors {
    fn add(&mut self, line: Option<u64>, message: impl Into<String>) {
        self.total += 1;
        if self.kept.len() < MAX_REPORTED_ERRORS {
            self.kept.push(LineError {
                line,
                message: message.into(),
                ..LineError::default()
            });
        }
    }

    fn finish(mut self, file: &Path) -> Result<(), PlanError> {
        if self.total == 0 {
            return Ok(());
        }
        self.kept.sort_by_key(|e| e.line);
        Err(PlanError::Rejected {
            file: file.display().to_string(),
            errors: self.kept,
            total: self.total,
        })
    }
}

fn parsed<T, E: fmt::Display>(
    column: &str,
    value: Result<T, E>,
    line: u64,
    errors: &mut Errors,
) -> Option<T> {
    value
        .map_err(|e| errors.add(Some(line), format!("{column}: {e}")))
        .ok()
}

fn read_map(path: &Path) -> Result<MapInput, PlanError> {
    let mut errors = Errors::default();
    let mut invalid: Vec<LineError> = Vec::new();
    let mut communes: Vec<CommuneRow> = Vec::new();
    let mut commune_index: HashMap<CommuneCode, (usize, u64)> = HashMap::new();
    let mut centres: Vec<CentreRow> = Vec::new();
    let mut centre_index: HashMap<(usize, CentreCode), usize> = HashMap::new();
    let mut stations_seen: HashMap<(usize, u16), u64> = HashMap::new();
    let header = input::read_rows(
        path,
        MAP_REQUIRED,
        |row| {
            let line = row.line;
            let commune = parsed(
                "commune_code",
                CommuneCode::parse(row.get("commune_code")),
                line,
                &mut errors,
            );
            let centre = parsed(
                "centre_code",
                CentreCode::parse(row.get("centre_code")),
                line,
                &mut errors,
            );
            let station = parsed(
                "station",
                StationNumber::parse(row.get("station")),
                line,
                &mut errors,
            );
            let kind = parsed(
                "kind",
                StationKind::parse(row.get("kind")),
                line,
                &mut errors,
            );
            let rooms = match row.get("rooms") {
                "" => Some(None),
                value => parsed(
                    "rooms",
                    value
                        .parse::<u32>()
                        .map(Some)
                        .map_err(|_| format!("{value:?} is not a number of rooms")),
                    line,
                    &mut errors,
                ),
            };
            let (Some(commune), Some(centre), Some(station), Some(kind), Some(rooms)) =
                (commune, centre, station, kind, rooms)
            else {
                return;
            };
            let (ar, fr) = (row.get("commune_ar"), row.get("commune_fr"));
            let c = match commune_index.get(&commune) {
                Some(&(c, first)) => {
                    if communes[c].ar != ar || communes[c].fr != fr {
                        errors.add(
                            Some(line),
                            format!("commune {commune}: names differ from line {first}"),
                        );
                    }
                    c
                }
                None => {
                    communes.push(CommuneRow {
                        code: commune.clone(),
                        ar: ar.to_owned(),
                        fr: fr.to_owned(),
                    });
                    commune_index.insert(commune.clone(), (communes.len() - 1, line));
                    communes.len() - 1
                }
            };
            let texts = [
                "centre_ar",
                "centre_fr",
                "address_ar",
                "address_fr",
                "latitude",
                "longitude",
                "rooms",
            ]
            .map(|column| row.get(column).to_owned());
            let at = match centre_index.get(&(c, centre.clone())) {
                Some(&at) => {
                    if centres[at].texts != texts {
                        errors.add(
                            Some(line),
                            format!(
                                "centre {commune}/{centre}: name, address, coordinates or rooms differ from line {}",
                                centres[at].line
                            ),
                        );
                    }
                    at
                }
                None => {
                    centres.push(CentreRow {
                        commune: c,
                        code: centre.clone(),
                        texts,
                        rooms,
                        line,
                        stations: Vec::new(),
                    });
                    centre_index.insert((c, centre.clone()), centres.len() - 1);
                    centres.len() - 1
                }
            };
            if let Some(first) = stations_seen.insert((at, station.get()), line) {
                errors.add(
                    Some(line),
                    format!("station {commune}/{centre}/{station}: duplicate of line {first}"),
                );
                return;
            }
            centres[at].stations.push((station.get(), kind));
        },
        |error| invalid.push(error),
    )?;
    for error in invalid {
        errors.add(error.line, error.message);
    }
    if centres.is_empty() && errors.total == 0 {
        errors.add(None, "the file has no data rows");
    }
    errors.finish(path)?;
    Ok(MapInput {
        communes,
        centres,
        has_rooms: header.has("rooms"),
    })
}

/// One voter while planning: where their sort key lies, their centre and station, their sex,
/// their NIN (to break ties between equal names) and their line.
#[derive(Clone, Copy)]
struct Entry {
    key_start: u64,
    nin: u64,
    key_len: u32,
    centre: u32,
    line: u32,
    /// The station number the roll gives, 0 for none.
    station: u16,
    sex: Option<Sex>,
}

/// The roll as read in the first pass.
struct RollInput {
    entries: Vec<Entry>,
    keys: Vec<u8>,
    /// The name columns the file has, as (family, given) pairs.
    names: Vec<(&'static str, &'static str)>,
}

/// The sort name of a row: the first (family, given) pair with a name in it.
fn sort_name<'r>(row: &'r input::Row<'_>, names: &[(&str, &str)]) -> (&'r str, &'r str) {
    names
        .iter()
        .map(|&(family, given)| (row.get(family), row.get(given)))
        .find(|(f, g)| !f.is_empty() || !g.is_empty())
        .unwrap_or(("", ""))
}

fn read_roll(path: &Path, map: &MapInput, collator: &NameCollator) -> Result<RollInput, PlanError> {
    let mut errors = Errors::default();
    let mut invalid: Vec<LineError> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut keys: Vec<u8> = Vec::new();
    let communes: HashMap<&CommuneCode, usize> = map
        .communes
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.code, i))
        .collect();
    let centres: HashMap<(usize, &CentreCode), usize> = map
        .centres
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.commune, &c.code), i))
        .collect();
    let mut names: Vec<(&'static str, &'static str)> = Vec::new();
    let mut header_seen = false;
    input::read_rows(
        path,
        ROLL_REQUIRED,
        |row| {
            let line = row.line;
            if !header_seen {
                header_seen = true;
                names = NAME_COLUMNS
                    .iter()
                    .copied()
                    .filter(|(f, g)| row.has(f) || row.has(g))
                    .collect();
            }
            let nin = parsed("nin", NationalId::parse(row.get("nin")), line, &mut errors);
            let birth = parsed(
                "birth_date",
                BirthDate::parse(row.get("birth_date")),
                line,
                &mut errors,
            );
            let sex = parsed(
                "sex",
                Sex::parse_optional(row.get("sex")),
                line,
                &mut errors,
            );
            let commune = parsed(
                "commune_code",
                CommuneCode::parse(row.get("commune_code")),
                line,
                &mut errors,
            );
            let centre = parsed(
                "centre_code",
                CentreCode::parse(row.get("centre_code")),
                line,
                &mut errors,
            );
            let station = match row.get("station") {
                "" => Some(None),
                value => {
                    parsed("station", StationNumber::parse(value), line, &mut errors).map(Some)
                }
            };
            // The place is checked even when another field is wrong, so that one pass
            // reports every problem of the row.
            let place = commune.zip(centre).and_then(|(commune, centre)| {
                let Some(&c) = communes.get(&commune) else {
                    errors.add(
                        Some(line),
                        format!("commune_code: {commune} is not in the map"),
                    );
                    return None;
                };
                let Some(&at) = centres.get(&(c, &centre)) else {
                    errors.add(
                        Some(line),
                        format!(
                            "centre_code: {centre} is not a centre of commune {commune} in the map"
                        ),
                    );
                    return None;
                };
                let Some(Some(station)) = station else {
                    return Some((at, station.flatten()));
                };
                match map.centres[at]
                    .stations
                    .iter()
                    .find(|(n, _)| *n == station.get())
                {
                    None => {
                        errors.add(
                            Some(line),
                            format!(
                                "station: {station} is not a station of centre {commune}/{centre} in the map"
                            ),
                        );
                        None
                    }
                    Some((_, StationKind::Women)) if sex == Some(Some(Sex::M)) => {
                        errors.add(
                            Some(line),
                            format!("sex: M in women's station {commune}/{centre}/{station}"),
                        );
                        None
                    }
                    Some(_) => Some((at, Some(station))),
                }
            });
            let (Some(nin), Some(_), Some(sex), Some(_), Some((at, station))) =
                (nin, birth, sex, station, place)
            else {
                return;
            };
            let (family, given) = sort_name(row, &names);
            let key_start = keys.len() as u64;
            collator.sort_key(family, given, &mut keys);
            entries.push(Entry {
                key_start,
                nin: nin.dedup_key(),
                key_len: (keys.len() as u64 - key_start) as u32,
                centre: at as u32,
                line: u32::try_from(line).unwrap_or(u32::MAX),
                station: station.map_or(0, StationNumber::get),
                sex,
            });
        },
        |error| invalid.push(error),
    )?;
    for error in invalid {
        errors.add(error.line, error.message);
    }
    // Duplicate NINs: sort the numbers alone (8 bytes a voter), then look up the few lines.
    let mut nins: Vec<u64> = entries.iter().map(|e| e.nin).collect();
    nins.sort_unstable();
    let duplicated: HashSet<u64> = nins
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    drop(nins);
    if !duplicated.is_empty() {
        let mut first: HashMap<u64, u32> = HashMap::new();
        for entry in entries.iter().filter(|e| duplicated.contains(&e.nin)) {
            match first.get(&entry.nin) {
                Some(line) => errors.add(
                    Some(u64::from(entry.line)),
                    format!("nin: duplicate of line {line}"),
                ),
                None => {
                    first.insert(entry.nin, entry.line);
                }
            }
        }
    }
    if entries.is_empty() && errors.total == 0 {
        errors.add(None, "the file has no data rows");
    }
    errors.finish(path)?;
    Ok(RollInput {
        entries,
        keys,
        names,
    })
}

/// A planned station, with the entries opening and closing its range.
struct StationPlan {
    centre: usize,
    number: u16,
    kind: StationKind,
    origin: Origin,
    voters: u32,
    first: Option<u32>,
    last: Option<u32>,
    ballots: u64,
}

/// A centre's totals.
#[derive(Default, Clone, Copy)]
struct CentreTotals {
    stations: u32,
    voters: u64,
    ballots: u64,
    moved: u64,
    placed: u64,
}

impl CentreTotals {
    /// Voter cards to print: new voters and those whose station changed.
    fn cards(&self) -> u64 {
        self.moved + self.placed
    }
}

/// The whole plan, ready to be written.
struct Planned {
    map: MapInput,
    stations: Vec<StationPlan>,
    totals: Vec<CentreTotals>,
    /// New station number of each entry.
    assigned: Vec<u16>,
    warnings: Vec<Warning>,
}

fn assign_all(map: MapInput, roll: &RollInput, options: PlanOptions) -> Result<Planned, PlanError> {
    let entries = &roll.entries;
    let key = |e: &Entry| {
        let start = e.key_start as usize;
        &roll.keys[start..start + e.key_len as usize]
    };
    let mut order: Vec<u32> = (0..entries.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        let (a, b) = (&entries[a as usize], &entries[b as usize]);
        a.centre
            .cmp(&b.centre)
            .then_with(|| key(a).cmp(key(b)))
            .then(a.nin.cmp(&b.nin))
    });
    let mut assigned = vec![0u16; entries.len()];
    let mut stations = Vec::new();
    let mut totals = vec![CentreTotals::default(); map.centres.len()];
    let mut warnings = Vec::new();
    let mut start = 0;
    let mut voters_in: Vec<VoterIn> = Vec::new();
    for (c, centre) in map.centres.iter().enumerate() {
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| entries[i as usize].centre as usize == c)
                .count();
        let members = &order[start..end];
        start = end;
        voters_in.clear();
        voters_in.extend(members.iter().map(|&i| {
            let e = &entries[i as usize];
            VoterIn {
                sex: e.sex,
                station: (e.station != 0).then_some(e.station),
            }
        }));
        let commune = &map.communes[centre.commune].code;
        let plan = plan_centre(
            &centre.stations,
            &voters_in,
            options.strategy,
            options.max_per_station,
        )
        .map_err(|source| PlanError::Assign {
            commune: commune.clone(),
            centre: centre.code.clone(),
            source,
        })?;
        let total = &mut totals[c];
        for station in &plan {
            for &local in &station.voters {
                let entry = members[local as usize];
                assigned[entry as usize] = station.number;
                match entries[entry as usize].station {
                    0 => total.placed += 1,
                    old if old != station.number => total.moved += 1,
                    _ => {}
                }
            }
            let voters = station.voters.len() as u32;
            let ballots = options.ballots(voters);
            if voters > 0 {
                total.stations += 1;
            } else if station.origin == Origin::Existing {
                warnings.push(Warning::Empty {
                    commune: commune.clone(),
                    centre: centre.code.clone(),
                    station: station.number,
                });
            }
            total.voters += u64::from(voters);
            total.ballots += ballots;
            stations.push(StationPlan {
                centre: c,
                number: station.number,
                kind: station.kind,
                origin: station.origin,
                voters,
                first: station.voters.first().map(|&l| members[l as usize]),
                last: station.voters.last().map(|&l| members[l as usize]),
                ballots,
            });
        }
        if let Some(rooms) = centre.rooms
            && total.stations > rooms
        {
            warnings.push(Warning::Rooms {
                commune: commune.clone(),
                centre: centre.code.clone(),
                rooms,
                stations: total.stations,
            });
        }
        for station in &plan {
            let voters = station.voters.len() as u32;
            if voters == 0 || voters >= options.min_per_station {
                continue;
            }
            let sibling = plan
                .iter()
                .filter(|s| {
                    s.number != station.number
                        && s.kind == station.kind
                        && !s.voters.is_empty()
                        && (s.voters.len() as u32 + voters) <= options.max_per_station
                })
                .min_by_key(|s| (s.voters.len(), s.number));
            if let Some(sibling) = sibling {
                warnings.push(Warning::Small {
                    commune: commune.clone(),
                    centre: centre.code.clone(),
                    station: station.number,
                    voters,
                    sibling: sibling.number,
                    sibling_voters: sibling.voters.len() as u32,
                });
            }
        }
    }
    Ok(Planned {
        map,
        stations,
        totals,
        assigned,
        warnings,
    })
}

/// Plans the stations of `map` for the voters of `roll` and writes `map.csv`, `roll.csv`,
/// `stations.csv`, `centres.csv` and `report-<commune>.html` into `out` (created if
/// missing). Nothing is written if either file has an error.
pub fn plan(
    map: &Path,
    roll: &Path,
    out: &Path,
    options: &PlanOptions,
) -> Result<PlanSummary, PlanError> {
    options.check()?;
    let collator = NameCollator::new()?;
    let map_input = read_map(map)?;
    let roll_input = read_roll(roll, &map_input, &collator)?;
    let planned = assign_all(map_input, &roll_input, *options)?;
    let RollInput {
        entries,
        names,
        keys,
    } = roll_input;
    drop(keys);
    output::write_all(&planned, &entries, &names, roll, out)
}
