//! Excel workbooks (`.xlsx`), read with `calamine`: the first sheet or the one named, its
//! first non-empty row the header, each record numbered by its row in the sheet as Excel
//! shows it. Cells become the text a CSV export of the sheet would hold: whole numbers
//! without `.0`, dates as `YYYY-MM-DD`. An 18-digit NIN typed into a number cell has already
//! lost its last digits (Excel keeps 15): such a cell is flagged, not guessed.

use std::io::Cursor;

use calamine::{Data, Range, Reader as _, Xlsx};

use super::{ReadError, Record};

/// Digits a spreadsheet number keeps exactly.
const EXACT_DIGITS: f64 = 1e15;

/// Rows of one sheet.
pub(super) struct SheetRecords {
    range: Range<Data>,
    /// The sheet row of the range's first row (1-based).
    first_row: u64,
    next: usize,
}

impl SheetRecords {
    /// Opens the workbook and reads the sheet (its name returned with it).
    pub(super) fn open(bytes: Vec<u8>, sheet: Option<&str>) -> Result<(Self, String), ReadError> {
        let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
            .map_err(|error: calamine::XlsxError| ReadError::Workbook(error.to_string()))?;
        let names = workbook.sheet_names();
        let name = match sheet {
            Some(wanted) => names
                .iter()
                .find(|name| name.trim().eq_ignore_ascii_case(wanted.trim()))
                .cloned()
                .ok_or_else(|| ReadError::NoSheet {
                    wanted: wanted.to_owned(),
                    found: names.join(", "),
                })?,
            None => names
                .first()
                .cloned()
                .ok_or_else(|| ReadError::Workbook("it has no sheet".to_owned()))?,
        };
        let range = workbook
            .worksheet_range(&name)
            .map_err(|error| ReadError::Workbook(error.to_string()))?;
        let first_row = range.start().map_or(1, |(row, _)| u64::from(row) + 1);
        Ok((
            Self {
                range,
                first_row,
                next: 0,
            },
            name,
        ))
    }

    /// The next row that has a non-empty cell.
    pub(super) fn read_record(&mut self, record: &mut Record) -> bool {
        while let Some(row) = self.range.rows().nth(self.next) {
            let line = self.first_row + self.next as u64;
            self.next += 1;
            record.clear(line);
            for (i, cell) in row.iter().enumerate() {
                let (text, problem) = cell_text(cell);
                record.push_cell(&text);
                if let Some(problem) = problem {
                    record.problems.push((i, problem));
                }
            }
            // Cells after the last filled one are not part of the row.
            while record.len() > 1 && record.get(record.len() - 1) == Some("") {
                record.ends.pop();
            }
            if !record.is_blank() {
                return true;
            }
        }
        false
    }
}

/// A cell as text, and why it could not be read faithfully.
fn cell_text(cell: &Data) -> (String, Option<String>) {
    match cell {
        Data::Empty => (String::new(), None),
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => {
            (text.clone(), None)
        }
        Data::Int(n) => (n.to_string(), None),
        Data::Float(x) if x.fract() == 0.0 && x.abs() < EXACT_DIGITS => {
            (format!("{x:.0}"), None)
        }
        Data::Float(x) if x.fract() == 0.0 => (
            format!("{x:.0}"),
            Some(
                "is a number of more than 15 digits, which Excel has already rounded: format the column as Text and type the values again"
                    .to_owned(),
            ),
        ),
        Data::Float(x) => (x.to_string(), None),
        Data::Bool(b) => (if *b { "TRUE" } else { "FALSE" }.to_owned(), None),
        Data::DateTime(at) => {
            let (year, month, day, hour, minute, second, _) = at.to_ymd_hms_milli();
            if at.is_datetime() && (hour, minute, second) == (0, 0, 0) {
                (format!("{year:04}-{month:02}-{day:02}"), None)
            } else if at.is_datetime() {
                (
                    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"),
                    None,
                )
            } else {
                (at.as_f64().to_string(), None)
            }
        }
        Data::Error(error) => (
            format!("#{error:?}"),
            Some(format!("is an Excel error value ({error}): correct the formula or the value")),
        ),
    }
}
