//! The one reader of import files, whatever a municipality saved them as: CSV with `,` or
//! `;` (what Excel writes in French locales), tab-separated text (Excel's "Unicode text"),
//! or an `.xlsx` workbook; text in UTF-8 (with or without a byte order mark), UTF-16 LE or
//! BE with a byte order mark, Windows-1256 (Arabic Windows) or Windows-1252. Each is detected
//! from the bytes and the file name or content type, or named by the importer.
//!
//! What it yields is the same for every format: [`Record`]s of text cells, each with the line
//! the user sees (the header is line 1): the file's line in an editor for text files,
//! whatever the line endings and however many blank lines come before, the line where a
//! record starts when a quoted cell spans lines, and the sheet's row for a workbook. The
//! `csv` crate's own line count is one low after CRLF endings and after blank lines
//! (rust-csv issues 395 and 208), so text is split here, by a small RFC 4180 parser that
//! counts lines itself. Validation (`super::import`) only ever sees cells and lines.
//!
//! A file that is none of these (an `.xls` or `.ods` workbook, a PDF, UTF-16 without a byte
//! order mark, binary data) is refused with one error naming what was found.

mod sheet;
mod text;

use std::fmt;
use std::io::Read;

use serde::Serialize;
use thiserror::Error;

/// Bytes read ahead to recognise the format and the encoding.
const SAMPLE: u64 = 64 * 1024;

/// The layout of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text: the delimiter is detected from the header unless given.
    Csv,
    /// Tab-separated text.
    Tsv,
    /// An Excel workbook (Office Open XML).
    Xlsx,
}

impl Format {
    /// `csv`, `tsv` or `xlsx` (also `txt` for tab or comma text).
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "csv" | "txt" => Ok(Self::Csv),
            "tsv" | "tab" => Ok(Self::Tsv),
            "xlsx" | "xlsm" => Ok(Self::Xlsx),
            other => Err(format!("unknown format {other:?}: give csv, tsv or xlsx")),
        }
    }
}

/// The text encodings accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// Arabic Windows.
    Windows1256,
    /// Western European Windows (French).
    Windows1252,
}

impl TextEncoding {
    /// Names as people and tools write them: `utf-8`, `utf-16le`, `windows-1256`, `cp1256`,
    /// `1256`, `latin1`...
    pub fn parse(name: &str) -> Result<Self, String> {
        let folded: String = name
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        match folded.as_str() {
            "utf8" | "utf8bom" | "utf8sig" => Ok(Self::Utf8),
            "utf16le" | "utf16" | "unicode" => Ok(Self::Utf16Le),
            "utf16be" => Ok(Self::Utf16Be),
            "windows1256" | "cp1256" | "1256" | "arabic" => Ok(Self::Windows1256),
            "windows1252" | "cp1252" | "1252" | "latin1" | "iso88591" => Ok(Self::Windows1252),
            _ => Err(format!(
                "unknown encoding {name:?}: give utf-8, utf-16le, utf-16be, windows-1256 or windows-1252"
            )),
        }
    }

    /// The name shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
            Self::Windows1256 => "Windows-1256",
            Self::Windows1252 => "Windows-1252",
        }
    }

    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            Self::Utf8 => encoding_rs::UTF_8,
            Self::Utf16Le => encoding_rs::UTF_16LE,
            Self::Utf16Be => encoding_rs::UTF_16BE,
            Self::Windows1256 => encoding_rs::WINDOWS_1256,
            Self::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a delimiter option: one character, or `tab`, `comma`, `semicolon`.
pub fn parse_delimiter(name: &str) -> Result<u8, String> {
    match name {
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "|" | "pipe" => Ok(b'|'),
        other => Err(format!("unknown delimiter {other:?}: give , ; tab or |")),
    }
}

/// How to read a file; everything left out is detected.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub format: Option<Format>,
    pub delimiter: Option<u8>,
    pub encoding: Option<TextEncoding>,
    /// The workbook's sheet to read (default: the first).
    pub sheet: Option<String>,
    /// The file's name as the user gave it (its extension is a hint).
    pub file_name: Option<String>,
    /// The upload's content type (a hint).
    pub content_type: Option<String>,
}

impl ReadOptions {
    /// The format the name or content type announces, if any.
    fn hinted_format(&self) -> Result<Option<Format>, ReadError> {
        if let Some(format) = self.format {
            return Ok(Some(format));
        }
        let extension = self
            .file_name
            .as_deref()
            .and_then(|name| name.rsplit_once('.'))
            .map(|(_, ext)| ext.to_ascii_lowercase());
        match extension.as_deref() {
            Some("xlsx" | "xlsm") => return Ok(Some(Format::Xlsx)),
            Some("tsv" | "tab") => return Ok(Some(Format::Tsv)),
            Some("csv" | "txt") => return Ok(Some(Format::Csv)),
            Some("xls") => return Err(unsupported(LEGACY_EXCEL)),
            Some("ods") => return Err(unsupported(OPEN_DOCUMENT)),
            _ => {}
        }
        let content_type = self.content_type.as_deref().map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        Ok(match content_type.as_deref() {
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") => {
                Some(Format::Xlsx)
            }
            Some("text/tab-separated-values") => Some(Format::Tsv),
            Some("application/vnd.oasis.opendocument.spreadsheet") => {
                return Err(unsupported(OPEN_DOCUMENT));
            }
            // Browsers on Windows send `application/vnd.ms-excel` for `.csv` files too, so it
            // decides nothing; the bytes do.
            _ => None,
        })
    }
}

const LEGACY_EXCEL: &str =
    "an Excel 97-2003 workbook (.xls): save it as an Excel workbook (.xlsx) or as CSV";
const OPEN_DOCUMENT: &str =
    "an OpenDocument spreadsheet (.ods): save it as an Excel workbook (.xlsx) or as CSV";

fn unsupported(found: &str) -> ReadError {
    ReadError::Unsupported(found.to_owned())
}

/// How the file was read, for the report (`CSV, Windows-1256, ';'`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FileFormat {
    /// `csv`, `tsv` or `xlsx`.
    pub format: String,
    /// The text encoding (absent for a workbook).
    pub encoding: Option<String>,
    /// The delimiter (absent for a workbook).
    pub delimiter: Option<String>,
    /// The sheet read (workbooks only).
    pub sheet: Option<String>,
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.format)?;
        if let Some(encoding) = &self.encoding {
            write!(f, ", {encoding}")?;
        }
        if let Some(delimiter) = &self.delimiter {
            write!(f, ", delimiter {delimiter}")?;
        }
        if let Some(sheet) = &self.sheet {
            write!(f, ", sheet {sheet:?}")?;
        }
        Ok(())
    }
}

/// Why a file cannot be read at all.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is none of the accepted formats; the text names what it is.
    #[error("the file is {0}")]
    Unsupported(String),
    #[error("the workbook has no sheet named {wanted:?}; its sheets are: {found}")]
    NoSheet { wanted: String, found: String },
    #[error("cannot read the Excel workbook: {0}")]
    Workbook(String),
    /// A problem that stops reading at a line (a quote never closed).
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
}

/// One record: its cells and the line (or sheet row) where it starts.
#[derive(Debug, Clone, Default)]
pub struct Record {
    line: u64,
    text: String,
    ends: Vec<usize>,
    /// Cells the reader could not turn into text faithfully, with why (an 18-digit number
    /// that Excel kept to 15 digits, an error value).
    problems: Vec<(usize, String)>,
}

impl Record {
    /// The line the user sees (header = 1), or the sheet's row.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// How many cells.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the record has no cells.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Cell `i`, as read (untrimmed).
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    /// The cells in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Why cell `i` could not be read faithfully, if so.
    pub fn problem(&self, i: usize) -> Option<&str> {
        self.problems
            .iter()
            .find(|(cell, _)| *cell == i)
            .map(|(_, why)| why.as_str())
    }

    /// Whether every cell is empty or white space (spreadsheets write such rows).
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty() && self.problems.is_empty()
    }

    fn clear(&mut self, line: u64) {
        self.line = line;
        self.text.clear();
        self.ends.clear();
        self.problems.clear();
    }

    fn push_cell(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }
}

/// A reader of one import file.
pub struct Reader<'a> {
    source: Source<'a>,
    found: FileFormat,
}

enum Source<'a> {
    Text(text::TextRecords<'a>),
    Sheet(sheet::SheetRecords),
}

impl<'a> Reader<'a> {
    /// Recognises the file and prepares to read its records (a workbook is read whole here;
    /// text streams).
    pub fn open(input: impl Read + Send + 'a, options: &ReadOptions) -> Result<Self, ReadError> {
        let mut input = input;
        let mut sample = Vec::new();
        (&mut input).take(SAMPLE).read_to_end(&mut sample)?;
        let hinted = options.hinted_format()?;
        let zip = sample.starts_with(b"PK\x03\x04");
        if let Some(found) = foreign(&sample) {
            return Err(unsupported(found));
        }
        let complete = (sample.len() as u64) < SAMPLE;
        if zip || hinted == Some(Format::Xlsx) {
            let mut bytes = sample;
            input.read_to_end(&mut bytes)?;
            if !bytes.starts_with(b"PK\x03\x04") {
                return Err(unsupported(
                    "not an Excel workbook, although its name or type says .xlsx (a workbook is a ZIP archive)",
                ));
            }
            let (records, sheet) = sheet::SheetRecords::open(bytes, options.sheet.as_deref())?;
            return Ok(Self {
                source: Source::Sheet(records),
                found: FileFormat {
                    format: "xlsx".to_owned(),
                    encoding: None,
                    delimiter: None,
                    sheet: Some(sheet),
                },
            });
        }
        let forced_tab = (hinted == Some(Format::Tsv)).then_some(b'\t');
        let (records, encoding, delimiter) = text::TextRecords::open(
            sample,
            complete,
            Box::new(input),
            options.encoding,
            options.delimiter.or(forced_tab),
        )?;
        let format = if delimiter == b'\t' { "tsv" } else { "csv" };
        Ok(Self {
            source: Source::Text(records),
            found: FileFormat {
                format: format.to_owned(),
                encoding: Some(encoding.as_str().to_owned()),
                delimiter: Some(delimiter_name(delimiter)),
                sheet: None,
            },
        })
    }

    /// How the file is being read.
    pub fn found(&self) -> &FileFormat {
        &self.found
    }

    /// The text encoding, for text files.
    pub fn encoding(&self) -> Option<TextEncoding> {
        match &self.source {
            Source::Text(records) => Some(records.encoding()),
            Source::Sheet(_) => None,
        }
    }

    /// Reads the next record into `record`; `false` at the end. Blank lines of a text file
    /// are skipped (and counted).
    pub fn read_record(&mut self, record: &mut Record) -> Result<bool, ReadError> {
        match &mut self.source {
            Source::Text(records) => records.read_record(record),
            Source::Sheet(records) => Ok(records.read_record(record)),
        }
    }
}

fn delimiter_name(delimiter: u8) -> String {
    match delimiter {
        b'\t' => "tab".to_owned(),
        other => char::from(other).to_string(),
    }
}

/// What a file is when it is none of the accepted formats, from its first bytes.
fn foreign(sample: &[u8]) -> Option<&'static str> {
    if sample.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Some(LEGACY_EXCEL);
    }
    if sample.starts_with(b"PK\x03\x04")
        && sample.get(30..).is_some_and(|rest| {
            rest.starts_with(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet")
        })
    {
        return Some(OPEN_DOCUMENT);
    }
    if sample.starts_with(b"PK\x03\x04") {
        return None;
    }
    if sample.starts_with(b"%PDF") {
        return Some("a PDF document: export the list from its spreadsheet as CSV or .xlsx");
    }
    if sample.starts_with(b"\xFF\xFE\x00\x00") || sample.starts_with(b"\x00\x00\xFE\xFF") {
        return Some("UTF-32 text: save it as UTF-8 or UTF-16 (\"Unicode text\")");
    }
    if sample.starts_with(b"\xFF\xFE") || sample.starts_with(b"\xFE\xFF") {
        return None;
    }
    let nuls = sample.iter().filter(|&&b| b == 0).count();
    // A stray NUL in a text file is reported on its line; many make it binary.
    if nuls * 100 > sample.len() {
        // ASCII in UTF-16 is a NUL in every other byte: NULs all on one side of the pairs.
        let odd = sample
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count();
        let even = nuls - odd;
        if odd.max(even) * 10 >= nuls * 9 {
            return Some(
                "UTF-16 text without a byte order mark: save it again as \"Unicode text\" (which writes one) or as UTF-8",
            );
        }
        return Some("binary data, not text (it holds NUL bytes): export the list as CSV or .xlsx");
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn read_all(bytes: &[u8], options: &ReadOptions) -> (FileFormat, Vec<(u64, Vec<String>)>) {
        let mut reader = Reader::open(Cursor::new(bytes.to_vec()), options).unwrap();
        let mut record = Record::default();
        let mut records = Vec::new();
        while reader.read_record(&mut record).unwrap() {
            records.push((record.line(), record.iter().map(str::to_owned).collect()));
        }
        (reader.found().clone(), records)
    }

    #[test]
    fn lines_are_what_an_editor_shows_for_lf_crlf_cr_blank_lines_and_quoted_line_breaks() {
        for ending in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "1,2", "", "", "3,4", "\"x", "y\",5", "6,7"].join(ending);
            let (_, records) = read_all(text.as_bytes(), &ReadOptions::default());
            let lines: Vec<u64> = records.iter().map(|(line, _)| *line).collect();
            assert_eq!(lines, [1, 2, 5, 6, 8], "{ending:?}");
            assert_eq!(records[3].1[0], format!("x{ending}y"), "{ending:?}");
        }
    }

    #[test]
    fn quotes_are_unescaped_and_delimiters_inside_quotes_kept() {
        let (_, records) = read_all(
            b"a;b\n\"Cit\xc3\xa9 \"\"Emir\"\"; 1\";2\n",
            &ReadOptions::default(),
        );
        assert_eq!(records[1].1, ["Cité \"Emir\"; 1", "2"]);
    }

    #[test]
    fn the_delimiter_is_the_most_frequent_of_the_header() {
        let (found, _) = read_all(b"a;b;c,d\n", &ReadOptions::default());
        assert_eq!(found.delimiter.as_deref(), Some(";"));
        let (found, _) = read_all(b"a\tb\tc\n", &ReadOptions::default());
        assert_eq!(found.format, "tsv");
        let (found, records) = read_all(
            b"a;b\n1;2\n",
            &ReadOptions {
                delimiter: Some(b','),
                ..ReadOptions::default()
            },
        );
        assert_eq!(found.delimiter.as_deref(), Some(","));
        assert_eq!(records[1].1, ["1;2"]);
    }

    #[test]
    fn encodings_are_detected_from_the_byte_order_mark_or_the_bytes() {
        let arabic = "commune_ar,centre_ar\nالجزائر الوسطى,مدرسة الأمير عبد القادر\n";
        // encoding_rs encodes only into UTF-8 and legacy encodings: UTF-16 is written here.
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for unit in arabic.encode_utf16() {
            le.extend(unit.to_le_bytes());
            be.extend(unit.to_be_bytes());
        }
        let (cp1256, _, unmappable) = encoding_rs::WINDOWS_1256.encode(arabic);
        assert!(!unmappable);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(arabic.as_bytes());
        for (bytes, encoding) in [
            (arabic.as_bytes().to_vec(), "UTF-8"),
            (bom, "UTF-8"),
            (le, "UTF-16LE"),
            (be, "UTF-16BE"),
            (cp1256.into_owned(), "Windows-1256"),
        ] {
            let (found, records) = read_all(&bytes, &ReadOptions::default());
            assert_eq!(found.encoding.as_deref(), Some(encoding));
            assert_eq!(records[0].1, ["commune_ar", "centre_ar"], "{encoding}");
            assert_eq!(records[1].1[0], "الجزائر الوسطى", "{encoding}");
        }
        let french = "commune_fr,centre_fr\nAlger Centre,École Frères Bélaïd à Hussein-Dey\n";
        let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode(french);
        let (found, records) = read_all(&cp1252, &ReadOptions::default());
        assert_eq!(found.encoding.as_deref(), Some("Windows-1252"));
        assert_eq!(records[1].1[1], "École Frères Bélaïd à Hussein-Dey");
    }

    #[test]
    fn files_of_other_kinds_are_named() {
        for (bytes, named) in [
            (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest".to_vec(), ".xls"),
            (b"%PDF-1.7\n".to_vec(), "PDF"),
            (b"n\0i\0n\0,\0".to_vec(), "without a byte order mark"),
            (b"\x01\x02\0\0\x07\x08\x09\0\x10".to_vec(), "binary"),
        ] {
            let error = Reader::open(Cursor::new(bytes), &ReadOptions::default())
                .err()
                .unwrap()
                .to_string();
            assert!(error.contains(named), "{error}");
        }
        let error = ReadOptions {
            file_name: Some("liste.ods".to_owned()),
            ..ReadOptions::default()
        }
        .hinted_format()
        .unwrap_err()
        .to_string();
        assert!(error.contains("OpenDocument"), "{error}");
    }

    #[test]
    fn an_unclosed_quote_names_the_line_it_opens_on() {
        let error = Reader::open(
            Cursor::new(b"a,b\n1,2\n\"3,4\n5,6\n".to_vec()),
            &ReadOptions::default(),
        )
        .and_then(|mut reader| {
            let mut record = Record::default();
            while reader.read_record(&mut record)? {}
            Ok(())
        })
        .unwrap_err();
        assert!(
            matches!(error, ReadError::Malformed { line: 3, .. }),
            "{error}"
        );
    }
}
