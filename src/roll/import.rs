//! Validation and diffing of `map.csv` and `roll.csv` (columns in the README), whatever file
//! format `super::reader` read them from. Every row is validated; errors carry the line (or
//! sheet row) the user sees; a file with any error is rejected whole and the database stays
//! exactly as it was. An accepted file becomes the new current version, or a pending change
//! set when a version is already current.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::sync::Arc;

use fluent_bundle::FluentArgs;
use serde::Serialize;
use thiserror::Error;
use tokio::sync::mpsc;
use unicode_normalization::UnicodeNormalization;

use super::reader::{FileFormat, ReadError, ReadOptions, Reader, Record, TextEncoding};
use crate::domain::{
    Bilingual, BirthDate, Centre, CentreCode, Commune, CommuneCode, Coordinates, ElectoralMap,
    Locale, NationalId, Sex, Station, StationKind, StationNumber, StationRef, Voter,
};
use crate::i18n::sms::{SmsEncoding, count_segments};
use crate::i18n::{Catalog, MessageId};
use crate::store::{
    ChangeSet, ChangeSetStatus, ImportCounts, ImportRecord, NewImport, PlaceChange, RollBatch,
    Store, StoreError,
};

/// How many errors a report lists; the rest are only counted.
pub const MAX_REPORTED_ERRORS: usize = 50;

/// Voters per batch handed to the store while the file is still being read.
const BATCH: usize = 10_000;

/// The codes a [`LineError`] may carry: each has its text in the console's catalogues
/// (`import-error-CODE`, in Arabic and French, with the error's `args`), which a test checks.
pub const LINE_ERROR_CODES: &[&str] = &[
    "out-of-scope",
    "width",
    "encoding",
    "forbidden",
    "sms-budget",
    "empty",
    "too-long",
    "invalid-nin",
    "invalid-birth-date",
    "invalid-sex",
    "invalid-code",
    "invalid-station",
    "invalid-kind",
    "coordinates",
    "commune-names-differ",
    "centre-differs",
    "station-duplicate",
    "station-missing-with-voters",
    "station-women-with-men",
    "no-rows",
    "commune-not-in-map",
    "centre-not-in-map",
    "station-not-in-map",
    "man-in-womens-station",
    "duplicate-nin",
    "over-limit",
];

/// One problem in an import file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineError {
    /// The line in the file as an editor shows it (the header is line 1), or the sheet's row
    /// of a workbook; `None` for a problem of the whole file.
    pub line: Option<u64>,
    /// The problem in English (the API's and the command line's language).
    pub message: String,
    /// What the problem is, as one of [`LINE_ERROR_CODES`], for a caller that tells it in the
    /// user's language with `args` (the console does); absent for the rare problems told in
    /// English only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub code: Option<&'static str>,
    /// The values the coded message names (column, value, line of the first occurrence…).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub args: BTreeMap<&'static str, String>,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => write!(f, "file: {}", self.message),
        }
    }
}

/// What validation found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ValidationReport {
    /// Data rows read (the header excluded).
    pub rows: u64,
    /// The first [`MAX_REPORTED_ERRORS`] errors by line (every error, when
    /// [`ImportOptions::keep_every_error`] asked for them, for the file of offending rows).
    pub errors: Vec<LineError>,
    /// All errors, including those not listed.
    pub error_count: u64,
    /// Rows of communes the importer may not change (an authorisation failure).
    pub out_of_scope: u64,
    /// What the file holds (the new version also keeps other communes' data unchanged).
    pub counts: ImportCounts,
    /// The communes the file covers, whose data it replaces.
    #[schema(value_type = Vec<String>)]
    pub communes: Vec<CommuneCode>,
    /// How the file was read (format, encoding, delimiter or sheet); boxed to keep the
    /// report, which travels inside error values, small.
    pub read_as: Option<Box<FileFormat>>,
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.errors {
            writeln!(f, "{error}")?;
        }
        let unlisted = self.error_count.saturating_sub(self.errors.len() as u64);
        if unlisted > 0 {
            writeln!(f, "... and {unlisted} more errors")?;
        }
        Ok(())
    }
}

/// Why an import did not happen.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not in a format the reader accepts, or is malformed as a whole.
    #[error(transparent)]
    Unreadable(ReadError),
    #[error("the file lacks required column(s): {0}")]
    MissingColumns(String),
    #[error("no electoral map has been imported yet: import the map before the roll")]
    NoMap,
    #[error("the file was rejected with {} error(s); nothing was changed", .0.error_count)]
    Rejected(ValidationReport),
    /// The file changes a commune whose change set of the same kind awaits a decision.
    #[error(
        "pending change set {id} of commune {commune}: approve or reject it before importing this commune again"
    )]
    ChangeSetPending { id: i64, commune: String },
    #[error(transparent)]
    Store(StoreError),
}

/// How to run an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Validate and report only.
    pub dry_run: bool,
    pub max_voters_per_station: u32,
    /// The file name or upload it came from, kept with the version.
    pub source: String,
    /// Who imports it.
    pub actor: String,
    /// The communes the importer may change (`None`: all). Rows of other communes are errors.
    pub allowed_communes: Option<Vec<CommuneCode>>,
    /// How to read the file (format, encoding, delimiter, sheet); detected when left out.
    pub read: ReadOptions,
    /// List every error in [`ValidationReport::errors`], not only the first
    /// [`MAX_REPORTED_ERRORS`].
    pub keep_every_error: bool,
}

impl From<StoreError> for ImportError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::ChangeSetPending { id, commune } => Self::ChangeSetPending { id, commune },
            other => Self::Store(other),
        }
    }
}

impl From<ReadError> for ImportError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Io(io) => Self::Io(io),
            other => Self::Unreadable(other),
        }
    }
}

impl ImportOptions {
    /// Checks a row's commune against the importer's scope; `false` (with an error) if outside.
    fn in_scope(&self, commune: &CommuneCode, line: u64, errors: &mut Errors) -> bool {
        match &self.allowed_communes {
            Some(allowed) if !allowed.contains(commune) => {
                errors.out_of_scope += 1;
                errors.coded(
                    Some(line),
                    "out-of-scope",
                    &[("commune", commune.to_string())],
                    format!(
                        "commune_code: {commune} is outside the communes this importer may change"
                    ),
                );
                false
            }
            _ => true,
        }
    }
}

/// An import that passed validation.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub report: ValidationReport,
    /// The import; `None` for a dry run. It is current (and numbered) when it was the first
    /// of its kind; otherwise its changes wait in `change_sets`.
    pub record: Option<ImportRecord>,
    /// The pending change sets the import made, one per commune it changes; empty for a
    /// first import, a dry run, or a file that changes nothing.
    pub change_sets: Vec<ChangeSet>,
}

impl ImportOutcome {
    async fn stored(
        store: &dyn Store,
        report: ValidationReport,
        record: Option<ImportRecord>,
    ) -> Result<Self, ImportError> {
        let change_sets = match &record {
            Some(record) => store
                .version_change_sets(record.version)
                .await?
                .into_iter()
                .filter(|c| c.status == ChangeSetStatus::Pending)
                .collect(),
            None => Vec::new(),
        };
        Ok(Self {
            report,
            record,
            change_sets,
        })
    }
}

/// Errors kept in line order, the first [`MAX_REPORTED_ERRORS`] only.
#[derive(Default)]
struct Errors {
    kept: Vec<LineError>,
    total: u64,
    out_of_scope: u64,
    /// Every error, if asked for.
    every: Option<Vec<LineError>>,
    read_as: Option<FileFormat>,
}

impl Errors {
    fn new(options: &ImportOptions) -> Self {
        Self {
            every: options.keep_every_error.then(Vec::new),
            ..Self::default()
        }
    }

    fn add(&mut self, line: Option<u64>, message: impl Into<String>) {
        self.push(LineError {
            line,
            message: message.into(),
            ..LineError::default()
        });
    }

    /// Adds a problem the console can tell in the user's language: its code and the values
    /// its text names, beside the English message.
    fn coded(
        &mut self,
        line: Option<u64>,
        code: &'static str,
        args: &[(&'static str, String)],
        message: String,
    ) {
        debug_assert!(LINE_ERROR_CODES.contains(&code), "{code} is not listed");
        self.push(LineError {
            line,
            message,
            code: Some(code),
            args: args.iter().cloned().collect(),
        });
    }

    fn push(&mut self, error: LineError) {
        self.total += 1;
        if let Some(every) = &mut self.every {
            every.push(error.clone());
        }
        if self.kept.len() < MAX_REPORTED_ERRORS {
            self.kept.push(error);
        } else if let Some(last) = self.kept.iter_mut().max_by_key(|e| e.line) {
            // Errors found after the scan (station totals) may precede kept ones.
            if error.line < last.line {
                *last = error;
            }
        }
    }

    fn into_report(
        mut self,
        rows: u64,
        counts: ImportCounts,
        communes: Vec<CommuneCode>,
    ) -> ValidationReport {
        self.kept.sort_by_key(|e| e.line);
        if let Some(mut every) = self.every {
            every.sort_by_key(|e| e.line);
            self.kept = every;
        }
        let mut communes = communes;
        communes.sort();
        ValidationReport {
            communes,
            rows,
            errors: self.kept,
            error_count: self.total,
            out_of_scope: self.out_of_scope,
            counts,
            read_as: self.read_as.map(Box::new),
        }
    }
}

/// The header of an import file: column name to position. Names are matched without case or
/// surrounding spaces; a byte order mark is ignored; unknown columns are ignored.
struct Columns {
    positions: HashMap<String, usize>,
    width: usize,
    /// The columns the import reads, with their positions: only their cells are checked for
    /// forbidden characters (a municipality's full export may carry anything elsewhere).
    read: Vec<(&'static str, usize)>,
    /// Text files must have a cell per header column in every row; a sheet's row simply ends
    /// at its last filled cell.
    exact_width: bool,
    /// The text encoding, named in the error for a cell that is not valid in it.
    encoding: Option<TextEncoding>,
}

impl Columns {
    /// Reads the header, the first record.
    fn read(
        reader: &mut Reader<'_>,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Self, ImportError> {
        let mut header = Record::default();
        let found = reader.found().clone();
        if !reader.read_record(&mut header)? {
            header = Record::default();
        }
        let names: Vec<String> = header
            .iter()
            .map(|name| {
                name.trim_start_matches('\u{feff}')
                    .trim()
                    .to_ascii_lowercase()
            })
            .collect();
        let positions: HashMap<String, usize> = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|name| !positions.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            // Naming what was found and how the file was read tells a `;` file read with `,`
            // (one long column) or a title row above the header apart from a real omission.
            let shown: Vec<String> = names.iter().take(12).map(|n| format!("{n:?}")).collect();
            return Err(ImportError::MissingColumns(format!(
                "{} (read as {found}; the header row, line {}, has {} column(s): {}{})",
                missing.join(", "),
                header.line().max(1),
                names.len(),
                shown.join(", "),
                if names.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            )));
        }
        let read = required
            .iter()
            .chain(optional)
            .filter_map(|&name| positions.get(name).map(|&i| (name, i)))
            .collect();
        Ok(Self {
            positions,
            width: names.len(),
            read,
            exact_width: found.format != "xlsx",
            encoding: reader.encoding(),
        })
    }
}

/// One data row.
struct Row<'a> {
    columns: &'a Columns,
    record: &'a Record,
}

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        self.columns
            .positions
            .get(name)
            .and_then(|&i| self.record.get(i))
            .map_or("", |s| s.trim())
    }
}

/// Reads every record, handing each row with its line number to `visit`. Malformed records
/// (cells not valid in the file's encoding, wrong field count) are reported and skipped;
/// rows with every cell empty (spreadsheets write them) are skipped.
fn for_each_row(
    reader: &mut Reader<'_>,
    columns: &Columns,
    errors: &mut Errors,
    mut visit: impl FnMut(u64, &Row<'_>, &mut Errors),
) -> Result<u64, ImportError> {
    errors.read_as = Some(reader.found().clone());
    let mut record = Record::default();
    let mut rows = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(ReadError::Malformed { line, message }) => {
                // Nothing after an unclosed quote can be told apart: reading stops here.
                errors.add(Some(line), message);
                rows += 1;
                break;
            }
            Err(other) => return Err(other.into()),
        }
        if record.is_blank() {
            continue;
        }
        rows += 1;
        let line = record.line();
        if columns.exact_width && record.len() != columns.width {
            errors.coded(
                Some(line),
                "width",
                &[
                    ("expected", columns.width.to_string()),
                    ("found", record.len().to_string()),
                ],
                format!(
                    "expected {} fields as in the header, found {}",
                    columns.width,
                    record.len()
                ),
            );
            continue;
        }
        let mut clean = true;
        for &(name, i) in &columns.read {
            let Some(cell) = record.get(i) else { continue };
            if let Some(problem) = record.problem(i) {
                errors.add(Some(line), format!("{name}: {problem}"));
                clean = false;
            } else if cell.contains('\u{fffd}') {
                let encoding = columns.encoding.unwrap_or(TextEncoding::Utf8);
                errors.coded(
                    Some(line),
                    "encoding",
                    &[("column", name.to_owned()), ("encoding", encoding.to_string())],
                    format!(
                        "{name}: not valid {encoding} (the file was read as {encoding}: save it as UTF-8, or name its encoding)"
                    ),
                );
                clean = false;
            } else if let Some((what, c, at)) = forbidden_in(cell) {
                let code_point = format!("U+{:04X}", u32::from(c));
                errors.coded(
                    Some(line),
                    "forbidden",
                    &[
                        ("column", name.to_owned()),
                        ("character", code_point.clone()),
                        ("position", at.to_string()),
                    ],
                    format!("{name}: contains {what} ({code_point}) at character {at}: remove it"),
                );
                clean = false;
            }
        }
        if clean {
            visit(
                line,
                &Row {
                    columns,
                    record: &record,
                },
                errors,
            );
        }
    }
    Ok(rows)
}

const MAP_COLUMNS: &[&str] = &[
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

const ROLL_COLUMNS: &[&str] = &[
    "nin",
    "birth_date",
    "commune_code",
    "centre_code",
    "station",
];

/// What a character may not be in an imported cell: control characters (a NUL or a line
/// break inside a centre's name would travel to voters' phones) and the bidirectional
/// overrides and isolates that make text display as something other than what it holds
/// (Trojan Source). A tab is allowed and folded into a space in names.
fn forbidden(c: char) -> Option<&'static str> {
    match c {
        '\t' => None,
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' => Some("a control character"),
        '\u{202A}'..='\u{202E}' => Some("a bidirectional override"),
        '\u{2066}'..='\u{2069}' => Some("a bidirectional isolate"),
        _ => None,
    }
}

/// The first forbidden character of a cell: what it is, the character, its position
/// (counted from 1).
fn forbidden_in(cell: &str) -> Option<(&'static str, char, usize)> {
    cell.chars()
        .enumerate()
        .find_map(|(i, c)| forbidden(c).map(|what| (what, c, i + 1)))
}

/// Longest accepted value of each text column, in UTF-16 units (what UCS-2 SMS count; the
/// same as characters for Arabic and French). Commune names reach voters in the report
/// dialogue; the longest official one has 25 characters. Centre and address reach voters in
/// every lookup reply and change notice: their exact budget is [`SmsBudget`]'s, these caps
/// only bound what it has to render.
const TEXT_LIMITS: &[(&str, usize)] = &[
    ("commune_ar", 30),
    ("commune_fr", 30),
    ("centre_ar", 120),
    ("centre_fr", 120),
    ("address_ar", 120),
    ("address_fr", 120),
];

/// The SMS segments any reply or notice may take.
const SMS_SEGMENTS: usize = 2;

/// The messages that show a voter a centre, its address and a station.
const PLACE_MESSAGES: [MessageId; 3] = [
    MessageId::LookupFound,
    MessageId::NoticeStationChanged,
    MessageId::NoticeRegistered,
];

/// Checks, for each centre and station of a map, that every message showing that place to a
/// voter fits in [`SMS_SEGMENTS`] segments, in both languages, rendered from the catalogues
/// themselves, so the check follows the wording. Whether French fits depends on its letters
/// (one `ê` turns the SMS into UCS-2, 134 instead of 306 units for 2 segments), so a fixed
/// length per field would be either too strict or wrong.
struct SmsBudget {
    catalog: Option<Catalog>,
    /// Centre, kind and the station number's digit count already checked.
    checked: HashSet<(CommuneCode, CentreCode, StationKind, usize)>,
}

impl SmsBudget {
    fn new(errors: &mut Errors) -> Self {
        let catalog = Catalog::load()
            .map_err(|error| {
                errors.add(None, format!("cannot check the SMS budget: {error}"));
            })
            .ok();
        Self {
            catalog,
            checked: HashSet::new(),
        }
    }

    fn check(
        &mut self,
        centre: &Centre,
        kind: StationKind,
        station: StationNumber,
        line: u64,
        errors: &mut Errors,
    ) {
        let Some(catalog) = &self.catalog else {
            return;
        };
        let number = station.get();
        let key = (
            centre.commune.clone(),
            centre.code.clone(),
            kind,
            number.to_string().len(),
        );
        if !self.checked.insert(key) {
            return;
        }
        for locale in Locale::ALL {
            let (centre_column, address_column) = match locale {
                Locale::Ar => ("centre_ar", "address_ar"),
                Locale::Fr => ("centre_fr", "address_fr"),
            };
            let mut args = FluentArgs::new();
            args.set("centre", centre.name.get(locale));
            args.set("address", centre.address.get(locale));
            args.set("station", number);
            args.set("kind", kind.as_str());
            let worst = PLACE_MESSAGES
                .iter()
                .map(|&id| count_segments(&catalog.render(locale, id, &args)))
                .max_by_key(|count| count.units);
            let Some(count) = worst else { continue };
            let budget = match count.encoding {
                SmsEncoding::Gsm7 => 153 * SMS_SEGMENTS,
                SmsEncoding::Ucs2 => 67 * SMS_SEGMENTS,
            };
            if count.segments > SMS_SEGMENTS {
                let (unit, hint) = match count.encoding {
                    SmsEncoding::Gsm7 => ("GSM-7 septets", ""),
                    SmsEncoding::Ucs2 if locale == Locale::Fr => (
                        "UCS-2 units",
                        " (a letter such as ê â î ô û ç œ or a curly quote makes French SMS UCS-2, halving its room)",
                    ),
                    SmsEncoding::Ucs2 => ("UCS-2 units", ""),
                };
                let over = count.units - budget;
                errors.coded(
                    Some(line),
                    "sms-budget",
                    &[
                        ("columns", format!("{centre_column}, {address_column}")),
                        ("segments", count.segments.to_string()),
                        ("over", over.to_string()),
                    ],
                    format!(
                        "{centre_column} and {address_column}: a reply showing this station takes {} SMS segments ({} {unit}, {} over the {budget} of {SMS_SEGMENTS} segments): shorten them by {} characters together{hint}",
                        count.segments,
                        count.units,
                        count.units - budget,
                        count.units - budget,
                    ),
                );
            }
        }
    }
}

/// The limit of any other text column.
const MAX_TEXT: usize = 200;

/// Names and addresses as stored: NFC (so that the same name typed on two systems compares
/// equal and counts the same), without tatweel (U+0640, a stretching of the line that carries
/// no letter), every run of white space one space. Matching folds further (see
/// `domain::text::fold`); this is what voters are shown.
fn clean_text(value: &str) -> String {
    let mut clean = String::with_capacity(value.len());
    let mut space = false;
    for c in value.nfc().filter(|&c| c != '\u{0640}') {
        if c.is_whitespace() {
            space = !clean.is_empty();
        } else {
            if space {
                clean.push(' ');
                space = false;
            }
            clean.push(c);
        }
    }
    clean
}

fn text(row: &Row<'_>, column: &str, line: u64, errors: &mut Errors) -> Option<String> {
    let value = clean_text(row.get(column));
    let limit = TEXT_LIMITS
        .iter()
        .find(|(name, _)| *name == column)
        .map_or(MAX_TEXT, |&(_, limit)| limit);
    let length = value.encode_utf16().count();
    if value.is_empty() {
        errors.coded(
            Some(line),
            "empty",
            &[("column", column.to_owned())],
            format!("{column}: is empty"),
        );
        None
    } else if length > limit {
        errors.coded(
            Some(line),
            "too-long",
            &[
                ("column", column.to_owned()),
                ("length", length.to_string()),
                ("limit", limit.to_string()),
                ("over", (length - limit).to_string()),
            ],
            format!(
                "{column}: {length} characters, {} over the limit of {limit} that keeps every reply to voters within 2 SMS segments: shorten it",
                length - limit
            ),
        );
        None
    } else {
        Some(value)
    }
}

/// A cell parsed by `parse`; a value it refuses is reported with the column's code (what the
/// column expects) and the value as written.
fn field<T, E: fmt::Display>(
    row: &Row<'_>,
    column: &'static str,
    parse: impl FnOnce(&str) -> Result<T, E>,
    line: u64,
    errors: &mut Errors,
) -> Option<T> {
    let value = row.get(column);
    parse(value)
        .map_err(|error| {
            let code = match column {
                "nin" => "invalid-nin",
                "birth_date" => "invalid-birth-date",
                "sex" => "invalid-sex",
                "station" => "invalid-station",
                "kind" => "invalid-kind",
                _ => "invalid-code",
            };
            errors.coded(
                Some(line),
                code,
                &[("column", column.to_owned()), ("value", value.to_owned())],
                format!("{column}: {error}"),
            );
        })
        .ok()
}

fn coordinates(row: &Row<'_>, line: u64, errors: &mut Errors) -> Option<Option<Coordinates>> {
    let (latitude, longitude) = (row.get("latitude"), row.get("longitude"));
    if latitude.is_empty() && longitude.is_empty() {
        return Some(None);
    }
    let parse = |value: &str, limit: f64| {
        value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && v.abs() <= limit)
    };
    match (parse(latitude, 90.0), parse(longitude, 180.0)) {
        (Some(latitude), Some(longitude)) => Some(Some(Coordinates {
            latitude,
            longitude,
        })),
        _ => {
            errors.coded(
                Some(line),
                "coordinates",
                &[
                    ("latitude", latitude.to_owned()),
                    ("longitude", longitude.to_owned()),
                ],
                format!("latitude/longitude: {latitude:?}, {longitude:?} are not decimal degrees (give both or neither)"),
            );
            None
        }
    }
}

/// Validates `map.csv` and, unless it is a dry run, stores it as the new current map.
pub async fn import_map(
    store: &dyn Store,
    input: impl Read + Send,
    options: &ImportOptions,
) -> Result<ImportOutcome, ImportError> {
    let mut reader = Reader::open(input, &options.read)?;
    let columns = Columns::read(&mut reader, MAP_COLUMNS, &["latitude", "longitude", "kind"])?;
    let mut errors = Errors::new(options);
    let mut budget = SmsBudget::new(&mut errors);
    let mut communes: HashMap<CommuneCode, (Commune, u64)> = HashMap::new();
    let mut centres: HashMap<(CommuneCode, CentreCode), (Centre, u64)> = HashMap::new();
    let mut stations: HashMap<StationRef, (Station, u64)> = HashMap::new();
    let rows = for_each_row(&mut reader, &columns, &mut errors, |line, row, errors| {
        let commune = field(row, "commune_code", CommuneCode::parse, line, errors);
        let centre = field(row, "centre_code", CentreCode::parse, line, errors);
        let number = field(row, "station", StationNumber::parse, line, errors);
        let kind = field(row, "kind", StationKind::parse, line, errors);
        let commune_name = (
            text(row, "commune_ar", line, errors),
            text(row, "commune_fr", line, errors),
        );
        let centre_name = (
            text(row, "centre_ar", line, errors),
            text(row, "centre_fr", line, errors),
        );
        let address = (
            text(row, "address_ar", line, errors),
            text(row, "address_fr", line, errors),
        );
        let place = coordinates(row, line, errors);
        if let Some(commune) = &commune
            && !options.in_scope(commune, line, errors)
        {
            return;
        }
        let (
            Some(commune),
            Some(centre),
            Some(number),
            Some(kind),
            (Some(commune_ar), Some(commune_fr)),
            (Some(centre_ar), Some(centre_fr)),
            (Some(address_ar), Some(address_fr)),
            Some(place),
        ) = (
            commune,
            centre,
            number,
            kind,
            commune_name,
            centre_name,
            address,
            place,
        )
        else {
            return;
        };
        let this_commune = Commune {
            code: commune.clone(),
            name: Bilingual {
                ar: commune_ar,
                fr: commune_fr,
            },
        };
        match communes.get(&commune) {
            Some((known, first)) if *known != this_commune => errors.coded(
                Some(line),
                "commune-names-differ",
                &[
                    ("commune", commune.to_string()),
                    ("first", first.to_string()),
                ],
                format!(
                    "commune {commune}: names differ from line {first} for the same commune_code"
                ),
            ),
            Some(_) => {}
            None => {
                communes.insert(commune.clone(), (this_commune, line));
            }
        }
        let this_centre = Centre {
            commune: commune.clone(),
            code: centre.clone(),
            name: Bilingual {
                ar: centre_ar,
                fr: centre_fr,
            },
            address: Bilingual {
                ar: address_ar,
                fr: address_fr,
            },
            coordinates: place,
        };
        budget.check(&this_centre, kind, number, line, errors);
        let centre_key = (commune.clone(), centre.clone());
        match centres.get(&centre_key) {
            Some((known, first)) if *known != this_centre => errors.coded(
                Some(line),
                "centre-differs",
                &[("centre", format!("{commune}/{centre}")), ("first", first.to_string())],
                format!("centre {commune}/{centre}: name, address or coordinates differ from line {first}"),
            ),
            Some(_) => {}
            None => {
                centres.insert(centre_key, (this_centre, line));
            }
        }
        let at = StationRef {
            commune,
            centre,
            station: number,
        };
        match stations.get(&at) {
            Some((_, first)) => errors.coded(
                Some(line),
                "station-duplicate",
                &[("station", at.to_string()), ("first", first.to_string())],
                format!("station {at}: duplicate of line {first}"),
            ),
            None => {
                stations.insert(at.clone(), (Station { at, kind }, line));
            }
        }
    })?;
    // The current roll must still fit the new map: a station that holds voters cannot vanish,
    // and a station cannot become a women's station while men are assigned to it.
    // Only the communes in the file are replaced; the others keep their current map.
    let current = store.current_map().await?;
    for load in store.station_loads().await? {
        if !communes.contains_key(&load.at.commune) {
            continue;
        }
        match stations.get(&load.at) {
            None if load.voters > 0 => errors.coded(
                None,
                "station-missing-with-voters",
                &[("station", load.at.to_string()), ("voters", load.voters.to_string())],
                format!(
                    "station {} is missing but holds {} voters in the current roll: move them with a roll import first",
                    load.at, load.voters
                ),
            ),
            Some((station, line)) if station.kind == StationKind::Women && load.men > 0 => errors.coded(
                Some(*line),
                "station-women-with-men",
                &[("station", load.at.to_string()), ("men", load.men.to_string())],
                format!(
                    "station {}: cannot become a women's station while the current roll assigns {} men to it",
                    load.at, load.men
                ),
            ),
            _ => {}
        }
    }
    let counts = ImportCounts {
        communes: communes.len() as u64,
        centres: centres.len() as u64,
        stations: stations.len() as u64,
        voters: 0,
    };
    if rows == 0 {
        errors.coded(None, "no-rows", &[], "the file has no data rows".to_owned());
    }
    let report = errors.into_report(rows, counts, communes.keys().cloned().collect());
    if report.error_count > 0 {
        return Err(ImportError::Rejected(report));
    }
    if options.dry_run {
        return ImportOutcome::stored(store, report, None).await;
    }
    let replaced: HashSet<CommuneCode> = communes.keys().cloned().collect();
    let mut map = ElectoralMap {
        communes: sorted_by_line(communes),
        centres: sorted_by_line(centres),
        stations: sorted_by_line(stations),
    };
    let current_map = current.as_ref().map(|c| c.map.clone());
    if let Some(current) = current {
        let kept = |commune: &CommuneCode| !replaced.contains(commune);
        map.communes
            .extend(current.map.communes.into_iter().filter(|c| kept(&c.code)));
        map.centres
            .extend(current.map.centres.into_iter().filter(|c| kept(&c.commune)));
        map.stations.extend(
            current
                .map
                .stations
                .into_iter()
                .filter(|s| kept(&s.at.commune)),
        );
    }
    let counts = ImportCounts {
        communes: map.communes.len() as u64,
        centres: map.centres.len() as u64,
        stations: map.stations.len() as u64,
        voters: 0,
    };
    let changes = match &current_map {
        Some(current) => diff_maps(current, &map),
        None => Vec::new(),
    };
    let import = NewImport {
        communes: report.communes.clone(),
        ..new_import(options)
    };
    let record = store.import_map(import, &map, counts, &changes).await?;
    ImportOutcome::stored(store, report, Some(record)).await
}

fn sorted_by_line<K, V>(items: HashMap<K, (V, u64)>) -> Vec<V> {
    let mut items: Vec<(V, u64)> = items.into_values().collect();
    items.sort_by_key(|(_, line)| *line);
    items.into_iter().map(|(item, _)| item).collect()
}

fn new_import(options: &ImportOptions) -> NewImport {
    NewImport {
        source: options.source.clone(),
        actor: options.actor.clone(),
        at: crate::domain::now(),
        communes: Vec::new(),
    }
}

/// The NINs of a roll in file order, for finding duplicates in 8 bytes per voter (the key)
/// instead of a map entry per voter: a national roll of 24,000,000 voters needs about 200 MB
/// here, not 1 GiB. Sorting 32-bit hashes of the keys finds the few hashes seen twice (chance
/// collisions included, some tens of thousands at 24 million), one sixteenth of the hash space
/// at a time so the hashes being sorted take 6 MB rather than 96; only NINs with such a hash
/// are then compared exactly, in file order, so each repeat is reported with the line of the
/// first.
#[derive(Default)]
struct NinIndex {
    keys: Vec<u64>,
    /// `(ordinal, line)` wherever the line stops being the previous one plus one (after blank
    /// lines, cells spanning lines, rows without a valid NIN): the line of any ordinal follows.
    lines: Vec<(usize, u64)>,
}

impl NinIndex {
    fn push(&mut self, key: u64, line: u64) {
        let ordinal = self.keys.len();
        let continues = self
            .lines
            .last()
            .is_some_and(|&(at, first)| first + (ordinal - at) as u64 == line);
        if !continues {
            self.lines.push((ordinal, line));
        }
        self.keys.push(key);
    }

    fn line(&self, ordinal: usize) -> u64 {
        let i = self.lines.partition_point(|&(at, _)| at <= ordinal);
        self.lines
            .get(i.wrapping_sub(1))
            .map_or(0, |&(at, line)| line + (ordinal - at) as u64)
    }

    fn hash(key: u64) -> u32 {
        // Fibonacci hashing: the high half of the product mixes every digit of the NIN.
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
    }

    /// `(line, line of the first, key)` for every repeated NIN, in file order.
    fn duplicates(self) -> Vec<(u64, u64, u64)> {
        let mut candidates: HashSet<u32> = HashSet::new();
        let mut hashes: Vec<u32> = Vec::new();
        for part in 0..HASH_PARTS {
            hashes.clear();
            hashes.extend(
                self.keys
                    .iter()
                    .map(|&k| Self::hash(k))
                    .filter(|&h| h >> HASH_PART_SHIFT == part),
            );
            hashes.sort_unstable();
            candidates.extend(
                hashes
                    .windows(2)
                    .filter(|pair| pair[0] == pair[1])
                    .map(|pair| pair[0]),
            );
        }
        drop(hashes);
        let mut first: HashMap<u64, usize> = HashMap::new();
        let mut repeats = Vec::new();
        for (ordinal, &key) in self.keys.iter().enumerate() {
            if !candidates.contains(&Self::hash(key)) {
                continue;
            }
            match first.get(&key) {
                Some(&at) => repeats.push((self.line(ordinal), self.line(at), key)),
                None => {
                    first.insert(key, ordinal);
                }
            }
        }
        repeats
    }
}

/// The duplicate check sorts the hashes whose top 4 bits are `part`, for each of the 16 parts.
const HASH_PARTS: u32 = 16;
const HASH_PART_SHIFT: u32 = 28;

/// What is known of one station while a roll is read.
struct StationTally {
    kind: StationKind,
    voters: u32,
    /// The line of the first voter over the limit.
    first_over: Option<u64>,
}

/// Validates `roll.csv` against the current map and, unless it is a dry run, stores it as the
/// new current roll. Voters are written while the file is read (the national roll does not
/// fit comfortably in memory); if any error turns up, everything written is discarded.
pub async fn import_roll(
    store: Arc<dyn Store>,
    input: impl Read + Send + 'static,
    options: &ImportOptions,
) -> Result<ImportOutcome, ImportError> {
    let map = store.current_map().await?.ok_or(ImportError::NoMap)?;
    let (sender, receiver) = mpsc::channel::<RollBatch>(4);
    let writer = (!options.dry_run).then(|| {
        let store = Arc::clone(&store);
        let import = new_import(options);
        tokio::spawn(async move { store.import_roll(import, receiver).await })
    });
    let dry_run = options.dry_run;
    let scope = options.clone();
    let validation = tokio::task::spawn_blocking(move || {
        validate_roll(
            input,
            &map.map,
            &scope,
            |batch| {
                // The writer is gone only if it failed; its error is reported below.
                !dry_run && sender.blocking_send(batch).is_ok()
            },
            map.version,
        )
    });
    let report = validation
        .await
        .map_err(|join| ImportError::Io(std::io::Error::other(join.to_string())))?;
    let record = match writer {
        Some(writer) => Some(
            writer
                .await
                .map_err(|join| ImportError::Io(std::io::Error::other(join.to_string()))),
        ),
        None => None,
    };
    let report = report?;
    if report.error_count > 0 {
        return Err(ImportError::Rejected(report));
    }
    let record = match record {
        None => None,
        Some(written) => Some(written??),
    };
    ImportOutcome::stored(store.as_ref(), report, record).await
}

fn validate_roll(
    input: impl Read + Send,
    map: &ElectoralMap,
    scope: &ImportOptions,
    mut send: impl FnMut(RollBatch) -> bool,
    map_version: i64,
) -> Result<ValidationReport, ImportError> {
    let max_per_station = scope.max_voters_per_station;
    let mut file_communes: HashSet<CommuneCode> = HashSet::new();
    let mut reader = Reader::open(input, &scope.read)?;
    let columns = Columns::read(&mut reader, ROLL_COLUMNS, &["sex"])?;
    let communes: HashSet<&CommuneCode> = map.communes.iter().map(|c| &c.code).collect();
    let centres: HashSet<(&CommuneCode, &CentreCode)> =
        map.centres.iter().map(|c| (&c.commune, &c.code)).collect();
    let mut stations: HashMap<StationRef, StationTally> = map
        .stations
        .iter()
        .map(|s| {
            (
                s.at.clone(),
                StationTally {
                    kind: s.kind,
                    voters: 0,
                    first_over: None,
                },
            )
        })
        .collect();
    let mut seen = NinIndex::default();
    let mut errors = Errors::new(scope);
    let mut batch: Vec<Voter> = Vec::with_capacity(BATCH);
    let mut sending = true;
    let rows = for_each_row(&mut reader, &columns, &mut errors, |line, row, errors| {
        let nin = field(row, "nin", NationalId::parse, line, errors);
        let birth_date = field(row, "birth_date", BirthDate::parse, line, errors);
        let sex = field(row, "sex", Sex::parse_optional, line, errors);
        let commune = field(row, "commune_code", CommuneCode::parse, line, errors);
        let centre = field(row, "centre_code", CentreCode::parse, line, errors);
        let number = field(row, "station", StationNumber::parse, line, errors);
        if let Some(nin) = &nin {
            seen.push(nin.dedup_key(), line);
        }
        let (Some(commune), Some(centre), Some(number)) = (commune, centre, number) else {
            return;
        };
        if !scope.in_scope(&commune, line, errors) {
            return;
        }
        if !file_communes.contains(&commune) {
            file_communes.insert(commune.clone());
        }
        let at = StationRef {
            commune,
            centre,
            station: number,
        };
        let Some(tally) = stations.get_mut(&at) else {
            if !communes.contains(&at.commune) {
                errors.coded(
                    Some(line),
                    "commune-not-in-map",
                    &[("commune", at.commune.to_string())],
                    format!("commune_code: {} is not in the electoral map", at.commune),
                );
            } else if !centres.contains(&(&at.commune, &at.centre)) {
                errors.coded(
                    Some(line),
                    "centre-not-in-map",
                    &[
                        ("centre", at.centre.to_string()),
                        ("commune", at.commune.to_string()),
                    ],
                    format!(
                        "centre_code: {} is not a centre of commune {} in the map",
                        at.centre, at.commune
                    ),
                );
            } else {
                errors.coded(
                    Some(line),
                    "station-not-in-map",
                    &[
                        ("station", at.station.to_string()),
                        ("centre", format!("{}/{}", at.commune, at.centre)),
                    ],
                    format!(
                        "station: {} is not a station of centre {}/{} in the map",
                        at.station, at.commune, at.centre
                    ),
                );
            }
            return;
        };
        tally.voters += 1;
        if tally.voters > max_per_station && tally.first_over.is_none() {
            tally.first_over = Some(line);
        }
        if tally.kind == StationKind::Women && sex == Some(Some(Sex::M)) {
            errors.coded(
                Some(line),
                "man-in-womens-station",
                &[("station", at.to_string())],
                format!("sex: M in women's station {at}"),
            );
        }
        let (Some(nin), Some(birth_date), Some(sex)) = (nin, birth_date, sex) else {
            return;
        };
        if sending && errors.total == 0 {
            batch.push(Voter {
                nin,
                birth_date,
                sex,
                station: at,
            });
            if batch.len() == BATCH {
                sending = send(RollBatch::Voters(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(BATCH),
                )));
            }
        }
    })?;
    for (line, first, key) in seen.duplicates() {
        let nin = NationalId::parse(&format!("{key:018}"))
            .map_or_else(|_| "this NIN".to_owned(), |nin| nin.to_string());
        errors.coded(
            Some(line),
            "duplicate-nin",
            &[("nin", nin.clone()), ("first", first.to_string())],
            format!("nin: {nin} duplicate of line {first}"),
        );
    }
    let mut used_communes = HashSet::new();
    let mut used_centres = HashSet::new();
    let mut used_stations = 0u64;
    let mut voters = 0u64;
    for (at, tally) in &stations {
        if let Some(line) = tally.first_over {
            errors.coded(
                Some(line),
                "over-limit",
                &[
                    ("station", at.to_string()),
                    ("voters", tally.voters.to_string()),
                    ("limit", max_per_station.to_string()),
                ],
                format!(
                    "station {at}: {} voters, more than the limit of {max_per_station} (this line is voter {})",
                    tally.voters,
                    max_per_station + 1
                ),
            );
        }
        if tally.voters > 0 {
            used_communes.insert(&at.commune);
            used_centres.insert((&at.commune, &at.centre));
            used_stations += 1;
            voters += u64::from(tally.voters);
        }
    }
    if rows == 0 {
        errors.coded(None, "no-rows", &[], "the file has no data rows".to_owned());
    }
    let counts = ImportCounts {
        communes: used_communes.len() as u64,
        centres: used_centres.len() as u64,
        stations: used_stations,
        voters,
    };
    let report = errors.into_report(rows, counts, file_communes.iter().cloned().collect());
    if report.error_count == 0 && sending {
        if !batch.is_empty() {
            sending = send(RollBatch::Voters(batch));
        }
        if sending {
            let replaced_communes = report.communes.clone();
            send(RollBatch::Commit {
                counts,
                map_version,
                replaced_communes,
            });
        }
    }
    Ok(report)
}

/// What a new map changes compared with the current one, commune by commune, centre by
/// centre and station by station, for the change sets (one per commune) an officer reviews.
pub fn diff_maps(old: &ElectoralMap, new: &ElectoralMap) -> Vec<PlaceChange> {
    use serde_json::json;
    let mut changes = Vec::new();
    let old_communes: HashMap<&CommuneCode, &Commune> =
        old.communes.iter().map(|c| (&c.code, c)).collect();
    for commune in &new.communes {
        let (change, before) = match old_communes.get(&commune.code) {
            None => ("commune_added", None),
            Some(before) if before.name != commune.name => {
                ("commune_renamed", Some(json!(before.name)))
            }
            Some(_) => continue,
        };
        changes.push(PlaceChange {
            change: change.to_owned(),
            commune: commune.code.as_str().to_owned(),
            centre: String::new(),
            station: None,
            old: before,
            new: Some(json!(commune.name)),
        });
    }
    let place = |change: &str,
                 commune: &CommuneCode,
                 centre: &CentreCode,
                 station: Option<u16>,
                 old,
                 new| PlaceChange {
        change: change.to_owned(),
        commune: commune.as_str().to_owned(),
        centre: centre.as_str().to_owned(),
        station,
        old,
        new,
    };
    let old_centres: HashMap<(&CommuneCode, &CentreCode), &Centre> = old
        .centres
        .iter()
        .map(|c| ((&c.commune, &c.code), c))
        .collect();
    let new_centres: HashMap<(&CommuneCode, &CentreCode), &Centre> = new
        .centres
        .iter()
        .map(|c| ((&c.commune, &c.code), c))
        .collect();
    for centre in &new.centres {
        match old_centres.get(&(&centre.commune, &centre.code)) {
            None => changes.push(place(
                "centre_added",
                &centre.commune,
                &centre.code,
                None,
                None,
                Some(json!(centre.name)),
            )),
            Some(before) => {
                if before.name != centre.name {
                    changes.push(place(
                        "centre_renamed",
                        &centre.commune,
                        &centre.code,
                        None,
                        Some(json!(before.name)),
                        Some(json!(centre.name)),
                    ));
                }
                if before.address != centre.address {
                    changes.push(place(
                        "centre_address_changed",
                        &centre.commune,
                        &centre.code,
                        None,
                        Some(json!(before.address)),
                        Some(json!(centre.address)),
                    ));
                }
                if before.coordinates != centre.coordinates {
                    changes.push(place(
                        "centre_moved",
                        &centre.commune,
                        &centre.code,
                        None,
                        Some(json!(before.coordinates)),
                        Some(json!(centre.coordinates)),
                    ));
                }
            }
        }
    }
    for centre in &old.centres {
        if !new_centres.contains_key(&(&centre.commune, &centre.code)) {
            changes.push(place(
                "centre_removed",
                &centre.commune,
                &centre.code,
                None,
                Some(json!(centre.name)),
                None,
            ));
        }
    }
    let old_stations: HashMap<&StationRef, StationKind> = old.station_kinds();
    let new_stations: HashMap<&StationRef, StationKind> = new.station_kinds();
    for station in &new.stations {
        let at = &station.at;
        match old_stations.get(at) {
            None => changes.push(place(
                "station_added",
                &at.commune,
                &at.centre,
                Some(at.station.get()),
                None,
                Some(json!(station.kind)),
            )),
            Some(kind) if *kind != station.kind => changes.push(place(
                "station_kind_changed",
                &at.commune,
                &at.centre,
                Some(at.station.get()),
                Some(json!(kind)),
                Some(json!(station.kind)),
            )),
            Some(_) => {}
        }
    }
    for station in &old.stations {
        if !new_stations.contains_key(&station.at) {
            let at = &station.at;
            changes.push(place(
                "station_removed",
                &at.commune,
                &at.centre,
                Some(at.station.get()),
                Some(json!(station.kind)),
                None,
            ));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_nins_are_found_in_every_part_of_the_hash_space_with_both_lines() {
        let mut seen = NinIndex::default();
        // 200,000 keys (their hashes fill all 16 parts), line = ordinal + 2 (after the
        // header); three repeats, and a gap in the lines (a blank line) before the last.
        let key = |i: u64| i.wrapping_mul(0x2545_F491_4F6C_DD1D) % 1_000_000_000_000_000_000;
        for i in 0..200_000 {
            seen.push(key(i), i + 2);
        }
        seen.push(key(17), 200_002);
        seen.push(key(150_000), 200_003);
        seen.push(key(17), 200_010);
        let parts: HashSet<u32> = (0..200_000)
            .map(|i| NinIndex::hash(key(i)) >> HASH_PART_SHIFT)
            .collect();
        assert_eq!(parts.len(), HASH_PARTS as usize);
        assert_eq!(
            seen.duplicates(),
            vec![
                (200_002, 19, key(17)),
                (200_003, 150_002, key(150_000)),
                (200_010, 19, key(17)),
            ]
        );
    }

    fn centre(ar: &str, fr: &str, address_ar: &str, address_fr: &str) -> Centre {
        Centre {
            commune: CommuneCode::parse("1601").unwrap(),
            code: CentreCode::parse("C01").unwrap(),
            name: Bilingual {
                ar: ar.to_owned(),
                fr: fr.to_owned(),
            },
            address: Bilingual {
                ar: address_ar.to_owned(),
                fr: address_fr.to_owned(),
            },
            coordinates: None,
        }
    }

    fn budget_errors(centre: &Centre, kind: StationKind, station: u16) -> Vec<LineError> {
        let mut errors = Errors::default();
        let mut budget = SmsBudget::new(&mut errors);
        budget.check(
            centre,
            kind,
            StationNumber::new(station).unwrap(),
            7,
            &mut errors,
        );
        errors.kept
    }

    #[test]
    fn a_place_that_fits_two_segments_passes_and_one_character_more_is_named() {
        // Arabic is always UCS-2: the women's change notice is the longest message; at 9999
        // its fixed text leaves this much room for centre and address together.
        let fits = centre(&"م".repeat(40), "Ecole", &"م".repeat(59), "Rue");
        assert!(budget_errors(&fits, StationKind::Women, 9999).is_empty());
        let over = centre(&"م".repeat(40), "Ecole", &"م".repeat(60), "Rue");
        let errors = budget_errors(&over, StationKind::Women, 9999);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, Some(7));
        assert!(
            errors[0].message.starts_with("centre_ar and address_ar: a reply showing this station takes 3 SMS segments (135 UCS-2 units, 1 over the 134"),
            "{}",
            errors[0].message
        );
        // The same lengths with station 12 fit.
        assert!(budget_errors(&over, StationKind::Women, 12).is_empty());
    }

    #[test]
    fn french_gets_the_gsm7_room_unless_a_letter_forces_ucs2() {
        let long = "Ecole primaire Chahid Larbi Ben M'hidi de la cite des Freres";
        let plain = centre("مدرسة", long, "شارع", long);
        assert!(budget_errors(&plain, StationKind::Mixed, 12).is_empty());
        let accented = centre("مدرسة", &long.replace("cite", "cité ô"), "شارع", long);
        let errors = budget_errors(&accented, StationKind::Mixed, 12);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].message.starts_with("centre_fr and address_fr:")
                && errors[0].message.contains("UCS-2")
                && errors[0].message.contains("ê â î ô"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn names_are_nfc_without_tatweel_and_with_single_spaces() {
        // "é" as e + combining acute becomes one character.
        assert_eq!(clean_text("  Ecole\u{0301}  \t Emir   "), "Ecolé Emir");
        assert_eq!(clean_text("زمالة  الأمير"), "زمالة الأمير");
        assert_eq!(clean_text("بجايـــة"), "بجاية");
        assert_eq!(clean_text("ـ ـ"), "");
    }

    #[test]
    fn control_characters_and_bidi_controls_are_found_tabs_are_not() {
        assert_eq!(forbidden_in("Alger\tCentre"), None);
        assert_eq!(
            forbidden_in("Alger Centre ‏"),
            None,
            "a mark is not an override"
        );
        for (cell, what) in [
            ("Alger\u{0}", "a control character (U+0000) at character 6"),
            ("a\nb", "a control character (U+000A) at character 2"),
            (
                "\u{202E}ertneC",
                "a bidirectional override (U+202E) at character 1",
            ),
            (
                "x\u{2066}y",
                "a bidirectional isolate (U+2066) at character 2",
            ),
            ("\u{85}", "a control character (U+0085)"),
        ] {
            let (kind, c, at) = forbidden_in(cell).unwrap();
            let found = format!("{kind} (U+{:04X}) at character {at}", u32::from(c));
            assert!(found.contains(what), "{cell:?}: {found}");
        }
    }
}
