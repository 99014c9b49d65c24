//! The file of offending rows: after a rejected import, the rows that have errors, as they
//! were in the file, with `line` and `error` columns added, so the office fixes them in the
//! spreadsheet it keeps (the two extra columns are ignored by a new import, being unknown).
//! The file is UTF-8 CSV with a byte order mark, as the report export is, and every cell is
//! made safe to open (`reports::export::safe_cell`): names come from municipal files and a
//! cell beginning with `=` would run as a formula.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use super::reader::{ReadOptions, Reader, Record};
use super::{ImportError, LineError};
use crate::reports::export::{UTF8_BOM, safe_cell};

/// Writes the rows of `input` that `errors` name (every error of the file, as
/// `ValidationReport::errors` lists them when every error was asked for) and returns how many rows were written.
/// Errors of the whole file come first, with empty cells.
pub fn write_error_rows(
    input: impl Read + Send,
    read: &ReadOptions,
    errors: &[LineError],
    out: impl Write,
) -> Result<u64, ImportError> {
    let mut by_line: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    let mut whole_file = Vec::new();
    for error in errors {
        match error.line {
            Some(line) => by_line.entry(line).or_default().push(&error.message),
            None => whole_file.push(error.message.as_str()),
        }
    }
    let mut reader = Reader::open(input, read)?;
    let mut out = out;
    out.write_all(UTF8_BOM)?;
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(out);
    let mut record = Record::default();
    let mut header: Vec<String> = Vec::new();
    if reader.read_record(&mut record)? {
        header = record
            .iter()
            .map(|cell| safe_cell(cell).into_owned())
            .collect();
    }
    let width = header.len();
    header.push("line".to_owned());
    header.push("error".to_owned());
    writer.write_record(&header).map_err(csv_error)?;
    let mut written = 0;
    for message in whole_file {
        let mut row = vec![String::new(); width];
        row.push(String::new());
        row.push(safe_cell(message).into_owned());
        writer.write_record(&row).map_err(csv_error)?;
        written += 1;
    }
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            // The error list already names the line of an unclosed quote; it is written below.
            Err(super::reader::ReadError::Malformed { .. }) => break,
            Err(other) => return Err(other.into()),
        }
        let Some(messages) = by_line.remove(&record.line()) else {
            continue;
        };
        let mut row: Vec<String> = record.iter().map(|c| safe_cell(c).into_owned()).collect();
        row.resize(width.max(row.len()), String::new());
        row.push(record.line().to_string());
        row.push(safe_cell(&messages.join("; ")).into_owned());
        writer.write_record(&row).map_err(csv_error)?;
        written += 1;
    }
    // Lines no record starts on (after an unclosed quote): the error alone.
    for (line, messages) in by_line {
        let mut row = vec![String::new(); width];
        row.push(line.to_string());
        row.push(safe_cell(&messages.join("; ")).into_owned());
        writer.write_record(&row).map_err(csv_error)?;
        written += 1;
    }
    writer.flush()?;
    Ok(written)
}

fn csv_error(error: csv::Error) -> ImportError {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => ImportError::Io(io),
        other => ImportError::Io(std::io::Error::other(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offending_rows_keep_their_cells_gain_line_and_error_and_cannot_run_formulas() {
        let file = "nin;centre_ar\r\n1;ok\r\n\r\n=2+3;\"مدرسة\"\r\n4;fine\r\n";
        let errors = [
            LineError {
                line: Some(4),
                message: "nin: not 18 digits".to_owned(),
                ..LineError::default()
            },
            LineError {
                line: Some(4),
                message: "-second".to_owned(),
                ..LineError::default()
            },
            LineError {
                line: None,
                message: "station 1601/C01/1 is missing".to_owned(),
                ..LineError::default()
            },
        ];
        let mut out = Vec::new();
        let written =
            write_error_rows(file.as_bytes(), &ReadOptions::default(), &errors, &mut out).unwrap();
        assert_eq!(written, 2);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "\u{feff}nin,centre_ar,line,error\n,,,station 1601/C01/1 is missing\n'=2+3,مدرسة,4,nin: not 18 digits; -second\n"
        );
    }
}
