//! Reading the planner's input files row by row, through the import reader
//! ([`crate::roll::reader`]): the same formats (CSV with `,` or `;`, tab text, `.xlsx`), the
//! same encodings (UTF-8, UTF-16, Windows-1256 and -1252) and the same line numbers (the line
//! an editor shows, the sheet's row) as `maktab import`, so that the office plans from the file
//! it would import.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::roll::LineError;
use crate::roll::reader::{ReadError, ReadOptions, Reader, Record};

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Unreadable { file: String, source: ReadError },
    #[error("{file} lacks required column(s): {columns}")]
    MissingColumns { file: String, columns: String },
}

/// The header of a file: column name (lower case, trimmed, without BOM) to position.
#[derive(Debug, Clone, Default)]
pub struct Header {
    positions: HashMap<String, usize>,
}

impl Header {
    /// Whether the file has this column.
    pub fn has(&self, column: &str) -> bool {
        self.positions.contains_key(column)
    }
}

/// One data row: its line in the file and its cells.
pub struct Row<'a> {
    pub line: u64,
    header: &'a Header,
    record: &'a Record,
}

impl Row<'_> {
    /// Whether the file has this column.
    pub fn has(&self, column: &str) -> bool {
        self.header.has(column)
    }

    /// The trimmed cell of a column, empty if the file lacks the column.
    pub fn get(&self, column: &str) -> &str {
        self.header
            .positions
            .get(column)
            .and_then(|&i| self.record.get(i))
            .map_or("", str::trim)
    }
}

/// Reads `path` (header row, any column order), checking that it has the `required` columns,
/// and hands every data row to `visit`. Rows the reader could not read faithfully, or whose
/// cell count differs from the header's, go to `invalid` with their line; blank lines are
/// skipped. Returns the header.
pub fn read_rows(
    path: &Path,
    required: &[&str],
    mut visit: impl FnMut(&Row<'_>),
    mut invalid: impl FnMut(LineError),
) -> Result<Header, InputError> {
    let file = path.display().to_string();
    let unreadable = |source| InputError::Unreadable {
        file: file.clone(),
        source,
    };
    let input = File::open(path).map_err(|source| InputError::Io {
        file: file.clone(),
        source,
    })?;
    let options = ReadOptions {
        file_name: Some(file.clone()),
        ..ReadOptions::default()
    };
    let mut reader =
        Reader::open(BufReader::with_capacity(1 << 16, input), &options).map_err(unreadable)?;
    let mut record = Record::default();
    if !reader.read_record(&mut record).map_err(unreadable)? {
        return Err(InputError::MissingColumns {
            file,
            columns: required.join(", "),
        });
    }
    let header = Header {
        positions: record
            .iter()
            .enumerate()
            .map(|(i, name)| (name.trim().to_lowercase(), i))
            .collect(),
    };
    let columns = record.len();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !header.has(c))
        .collect();
    if !missing.is_empty() {
        return Err(InputError::MissingColumns {
            file,
            columns: missing.join(", "),
        });
    }
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            // A quote never closed: nothing after it can be read.
            Err(ReadError::Malformed { line, message }) => {
                invalid(LineError {
                    line: Some(line),
                    message,
                    ..LineError::default()
                });
                break;
            }
            Err(error) => return Err(unreadable(error)),
        }
        if record.is_blank() {
            continue;
        }
        let line = record.line();
        if let Some(problem) = (0..record.len()).find_map(|i| record.problem(i)) {
            invalid(LineError {
                line: Some(line),
                message: problem.to_owned(),
                ..LineError::default()
            });
            continue;
        }
        if record.len() != columns {
            invalid(LineError {
                line: Some(line),
                message: format!(
                    "expected {columns} fields as in the header, found {}",
                    record.len()
                ),
                ..LineError::default()
            });
            continue;
        }
        visit(&Row {
            line,
            header: &header,
            record: &record,
        });
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn lines(content: &str) -> (Vec<(u64, String)>, Vec<LineError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, content).unwrap();
        let (mut rows, mut bad) = (Vec::new(), Vec::new());
        read_rows(
            &path,
            &["a"],
            |row| rows.push((row.line, row.get("a").to_owned())),
            |e| bad.push(e),
        )
        .unwrap();
        (rows, bad)
    }

    #[test]
    fn lines_are_those_an_editor_shows_with_lf_crlf_blank_lines_and_quoted_breaks() {
        let lf = "\u{feff}A,b\nx,1\n\ny,2\n\"multi\nline\",3\nz\n";
        let crlf = lf.replace('\n', "\r\n");
        for content in [lf.to_owned(), crlf] {
            let (rows, bad) = lines(&content);
            assert_eq!(
                rows.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
                [2, 4, 5],
                "{content:?}"
            );
            assert_eq!(rows[0].1, "x");
            assert_eq!(bad.len(), 1);
            assert_eq!(bad[0].line, Some(7), "{content:?}");
            assert!(bad[0].message.contains("expected 2 fields"));
        }
    }

    #[test]
    fn a_semicolon_file_in_windows_1256_is_read_as_the_import_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roll.csv");
        let (bytes, _, _) =
            encoding_rs::WINDOWS_1256.encode("A;family_name\r\nx;بن علي\r\n\r\ny;آل خليفة\r\n");
        std::fs::write(&path, &bytes).unwrap();
        let mut rows = Vec::new();
        read_rows(
            &path,
            &["a", "family_name"],
            |row| rows.push((row.line, row.get("family_name").to_owned())),
            |e| panic!("{e:?}"),
        )
        .unwrap();
        assert_eq!(rows, [(2, "بن علي".to_owned()), (4, "آل خليفة".to_owned())]);
    }

    #[test]
    fn a_missing_column_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, "x,y\n1,2\n").unwrap();
        let error = read_rows(&path, &["x", "nin"], |_| {}, |_| {}).unwrap_err();
        assert!(error.to_string().contains("lacks required column(s): nin"));
    }
}
