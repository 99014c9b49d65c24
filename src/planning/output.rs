//! The planner's files: `map.csv` and `roll.csv` in the import formats, `stations.csv` (one
//! row per station, its range "from … to …" and its ballots) and `centres.csv` (what each
//! centre needs), then the HTML reports. CSV files start with a byte order mark, which the
//! import accepts and spreadsheets need to show Arabic. Every name cell (voters' names in
//! `roll.csv`, the ranges in `stations.csv`) is neutralised against spreadsheet formulas with
//! the project's [`safe_cell`]. `map.csv` is written as it was read: the import stores its
//! texts and voters are shown them, so a quote added here would rename a centre (and notify
//! its voters); the input map held the same cells. Codes, numbers and dates are checked
//! values and stay as they are (a negative longitude must stay a number).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{
    Entry, NAME_COLUMNS, PlanError, PlanSummary, Planned, ROLL_REQUIRED, StationPlan, input,
    report, sort_name,
};
use crate::domain::{BirthDate, NationalId, Sex};
use crate::reports::export::{UTF8_BOM, safe_cell};

/// A CSV file being written.
struct Csv {
    writer: csv::Writer<BufWriter<File>>,
    path: PathBuf,
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> PlanError + '_ {
    move |source| PlanError::Write {
        file: path.display().to_string(),
        source,
    }
}

fn csv_error(path: &Path) -> impl Fn(csv::Error) -> PlanError + '_ {
    move |error| PlanError::Write {
        file: path.display().to_string(),
        source: match error.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => std::io::Error::other(format!("{other:?}")),
        },
    }
}

impl Csv {
    fn create(out: &Path, name: &str, header: &[&str]) -> Result<Self, PlanError> {
        let path = out.join(name);
        let mut file =
            BufWriter::with_capacity(1 << 16, File::create(&path).map_err(write_error(&path))?);
        file.write_all(UTF8_BOM).map_err(write_error(&path))?;
        let mut csv = Self {
            writer: csv::Writer::from_writer(file),
            path,
        };
        csv.row(header)?;
        Ok(csv)
    }

    fn row<I, T>(&mut self, cells: I) -> Result<(), PlanError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer
            .write_record(cells)
            .map_err(csv_error(&self.path))
    }

    fn finish(self) -> Result<PathBuf, PlanError> {
        let path = self.path;
        let file = self
            .writer
            .into_inner()
            .map_err(|e| write_error(&path)(e.into_error()))?;
        file.into_inner()
            .map_err(|e| write_error(&path)(e.into_error()))?
            .sync_all()
            .map_err(write_error(&path))?;
        Ok(path)
    }
}

const MAP_COLUMNS: [&str; 12] = [
    "commune_code",
    "commune_ar",
    "commune_fr",
    "centre_code",
    "centre_ar",
    "centre_fr",
    "address_ar",
    "address_fr",
    "latitude",
    "longitude",
    "station",
    "kind",
];

const STATION_COLUMNS: [&str; 8] = [
    "commune_code",
    "centre_code",
    "station",
    "kind",
    "voters",
    "first",
    "last",
    "ballots",
];

const CENTRE_COLUMNS: [&str; 6] = [
    "commune_code",
    "centre_code",
    "stations",
    "voters",
    "ballots",
    "cards",
];

/// Writes every file and sums the plan up.
pub(super) fn write_all(
    planned: &Planned,
    entries: &[Entry],
    names: &[(&'static str, &'static str)],
    roll: &Path,
    out: &Path,
) -> Result<PlanSummary, PlanError> {
    std::fs::create_dir_all(out).map_err(write_error(out))?;
    let mut files = Vec::new();
    let range_names = write_roll(planned, entries, names, roll, out, &mut files)?;
    files.push(write_map(planned, out)?);
    files.push(write_stations(planned, &range_names, out)?);
    files.push(write_centres(planned, out)?);
    for (c, commune) in planned.map.communes.iter().enumerate() {
        let path = out.join(format!("report-{}.html", commune.code));
        let html = report::render(planned, c, &range_names);
        std::fs::write(&path, html).map_err(write_error(&path))?;
        files.push(path);
    }
    let totals = &planned.totals;
    Ok(PlanSummary {
        communes: planned.map.communes.len() as u64,
        commune_codes: planned
            .map
            .communes
            .iter()
            .map(|c| c.code.clone())
            .collect(),
        centres: planned.map.centres.len() as u64,
        stations: totals.iter().map(|t| u64::from(t.stations)).sum(),
        new_stations: planned
            .stations
            .iter()
            .filter(|s| s.origin != super::Origin::Existing)
            .count() as u64,
        voters: totals.iter().map(|t| t.voters).sum(),
        moved: totals.iter().map(|t| t.moved).sum(),
        placed: totals.iter().map(|t| t.placed).sum(),
        ballots: totals.iter().map(|t| t.ballots).sum(),
        warnings: planned.warnings.clone(),
        files,
    })
}

/// Reads the roll a second time and writes it with the new stations; returns the names that
/// open and close the stations' ranges.
fn write_roll(
    planned: &Planned,
    entries: &[Entry],
    names: &[(&'static str, &'static str)],
    roll: &Path,
    out: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<HashMap<u32, String>, PlanError> {
    let mut wanted: HashMap<u32, String> = planned
        .stations
        .iter()
        .flat_map(|s| [s.first, s.last])
        .flatten()
        .map(|entry| (entry, String::new()))
        .collect();
    let mut header: Vec<&str> = vec![
        "nin",
        "birth_date",
        "sex",
        "commune_code",
        "centre_code",
        "station",
    ];
    for (family, given) in names {
        header.extend([*family, *given]);
    }
    let mut csv = Csv::create(out, "roll.csv", &header)?;
    let mut index = 0usize;
    let mut failure: Option<PlanError> = None;
    let mut cells: Vec<String> = Vec::with_capacity(header.len());
    input::read_rows(
        roll,
        ROLL_REQUIRED,
        |row| {
            if failure.is_some() {
                return;
            }
            // The first pass accepted every row, so rows and entries pair up one to one.
            let nin = NationalId::parse(row.get("nin")).ok();
            let birth = BirthDate::parse(row.get("birth_date")).ok();
            let (Some(entry), Some(nin), Some(birth)) = (entries.get(index), nin, birth) else {
                failure = Some(PlanError::Changed(roll.display().to_string()));
                return;
            };
            if entry.nin != nin.dedup_key() {
                failure = Some(PlanError::Changed(roll.display().to_string()));
                return;
            }
            let centre = &planned.map.centres[entry.centre as usize];
            let commune = &planned.map.communes[centre.commune];
            cells.clear();
            cells.push(nin.as_str().to_owned());
            cells.push(birth.to_iso());
            cells.push(entry.sex.map_or("", Sex::as_str).to_owned());
            cells.push(commune.code.as_str().to_owned());
            cells.push(centre.code.as_str().to_owned());
            cells.push(planned.assigned[index].to_string());
            for (family, given) in names {
                cells.push(safe_cell(row.get(family)).into_owned());
                cells.push(safe_cell(row.get(given)).into_owned());
            }
            if let Some(name) = wanted.get_mut(&(index as u32)) {
                let (family, given) = sort_name(row, &NAME_COLUMNS);
                *name = format!("{family} {given}").trim().to_owned();
            }
            if let Err(error) = csv.row(&cells) {
                failure = Some(error);
            }
            index += 1;
        },
        |_| {},
    )?;
    if let Some(error) = failure {
        return Err(error);
    }
    if index != entries.len() {
        return Err(PlanError::Changed(roll.display().to_string()));
    }
    files.push(csv.finish()?);
    Ok(wanted)
}

fn write_map(planned: &Planned, out: &Path) -> Result<PathBuf, PlanError> {
    let mut header: Vec<&str> = MAP_COLUMNS.to_vec();
    if planned.map.has_rooms {
        header.push("rooms");
    }
    let mut csv = Csv::create(out, "map.csv", &header)?;
    for station in &planned.stations {
        let centre = &planned.map.centres[station.centre];
        let commune = &planned.map.communes[centre.commune];
        let [
            centre_ar,
            centre_fr,
            address_ar,
            address_fr,
            latitude,
            longitude,
            rooms,
        ] = &centre.texts;
        let number = station.number.to_string();
        let mut cells = vec![
            commune.code.as_str(),
            &commune.ar,
            &commune.fr,
            centre.code.as_str(),
            centre_ar,
            centre_fr,
            address_ar,
            address_fr,
            latitude,
            longitude,
            &number,
            station.kind.as_str(),
        ];
        if planned.map.has_rooms {
            cells.push(rooms);
        }
        csv.row(&cells)?;
    }
    csv.finish()
}

fn range_name(names: &HashMap<u32, String>, entry: Option<u32>) -> &str {
    entry.and_then(|e| names.get(&e)).map_or("", String::as_str)
}

fn write_stations(
    planned: &Planned,
    names: &HashMap<u32, String>,
    out: &Path,
) -> Result<PathBuf, PlanError> {
    let mut csv = Csv::create(out, "stations.csv", &STATION_COLUMNS)?;
    for station in &planned.stations {
        let StationPlan {
            centre,
            number,
            kind,
            voters,
            first,
            last,
            ballots,
            ..
        } = station;
        let centre = &planned.map.centres[*centre];
        let commune = &planned.map.communes[centre.commune];
        csv.row([
            commune.code.as_str(),
            centre.code.as_str(),
            &number.to_string(),
            kind.as_str(),
            &voters.to_string(),
            &safe_cell(range_name(names, *first)),
            &safe_cell(range_name(names, *last)),
            &ballots.to_string(),
        ])?;
    }
    csv.finish()
}

fn write_centres(planned: &Planned, out: &Path) -> Result<PathBuf, PlanError> {
    let mut csv = Csv::create(out, "centres.csv", &CENTRE_COLUMNS)?;
    for (centre, totals) in planned.map.centres.iter().zip(&planned.totals) {
        let commune = &planned.map.communes[centre.commune];
        csv.row([
            commune.code.as_str(),
            centre.code.as_str(),
            &totals.stations.to_string(),
            &totals.voters.to_string(),
            &totals.ballots.to_string(),
            &totals.cards().to_string(),
        ])?;
    }
    csv.finish()
}
