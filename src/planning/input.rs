//! Reading the planner's input files row by row. Kept to one function, [`read_rows`], so that
//! the planner can move to the project's import reader (formats, encodings) in one place.
//!
//! Line numbers are counted here from the bytes read, because the `csv` crate's own count is
//! one too low after CRLF line ends and after blank lines (rust-csv issues 395 and 208): the
//! line of a record is one plus the number of line feeds before its first byte (the parser's
//! byte positions are right, but may point at the line end just before the record).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use crate::roll::LineError;

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
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

/// One data row: its line in the file and its cells, decoded as UTF-8.
pub struct Row<'a> {
    pub line: u64,
    header: &'a Header,
    fields: Vec<&'a str>,
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
            .and_then(|&i| self.fields.get(i))
            .map_or("", |cell| cell.trim())
    }
}

/// A reader that notes the offset of every line end (CR or LF) it hands on, so that the line
/// of a record can be told from its byte offset. The parser reads ahead by one buffer, so only
/// that many offsets wait in the queue at any time.
struct LineFeeds<R> {
    inner: R,
    offset: u64,
    /// Offsets of line-end bytes, `true` for a line feed, `false` for a carriage return.
    feeds: Rc<RefCell<VecDeque<(u64, bool)>>>,
}

impl<R: Read> Read for LineFeeds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut feeds = self.feeds.borrow_mut();
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                feeds.push_back((self.offset + i as u64, b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Reads `path` (UTF-8 CSV, header row, any column order, BOM accepted), checking that it
/// has the `required` columns, and hands every data row to `visit`. Rows that are not valid
/// CSV or UTF-8, or whose field count differs from the header's, go to `invalid` with their
/// line; blank lines are skipped. Returns the header.
pub fn read_rows(
    path: &Path,
    required: &[&str],
    mut visit: impl FnMut(&Row<'_>),
    mut invalid: impl FnMut(LineError),
) -> Result<Header, InputError> {
    let file = path.display().to_string();
    let io = |source| InputError::Io {
        file: file.clone(),
        source,
    };
    let feeds = Rc::new(RefCell::new(VecDeque::new()));
    let input = LineFeeds {
        inner: BufReader::with_capacity(1 << 16, File::open(path).map_err(io)?),
        offset: 0,
        feeds: Rc::clone(&feeds),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let csv_io = |error: csv::Error| match error.into_kind() {
        csv::ErrorKind::Io(source) => io(source),
        other => io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{other:?}"),
        )),
    };
    let names = reader.byte_headers().map_err(csv_io)?.clone();
    let header = Header {
        positions: names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let name = String::from_utf8_lossy(name);
                let name = name
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_ascii_lowercase();
                (name, i)
            })
            .collect(),
    };
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
    let mut lines_before = 0u64;
    let mut line_of = |mut byte: u64| {
        let mut feeds = feeds.borrow_mut();
        while let Some(&(at, feed)) = feeds.front() {
            if at < byte {
                lines_before += u64::from(feed);
            } else if at == byte {
                // The parser's position can be where it started, on the end of the previous
                // line or before blank lines it skipped; a record never starts with a line
                // end, so the run of line ends from there is before the record.
                lines_before += u64::from(feed);
                byte += 1;
            } else {
                break;
            }
            feeds.pop_front();
        }
        lines_before + 1
    };
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map(|p| line_of(p.byte()));
                match error.into_kind() {
                    csv::ErrorKind::Io(source) => return Err(io(source)),
                    other => {
                        invalid(LineError {
                            line,
                            message: format!("not valid CSV: {other:?}"),
                        });
                        continue;
                    }
                }
            }
        }
        let line = record.position().map_or(0, |p| line_of(p.byte()));
        if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
            continue;
        }
        if record.len() != names.len() {
            invalid(LineError {
                line: Some(line),
                message: format!(
                    "expected {} fields as in the header, found {}",
                    names.len(),
                    record.len()
                ),
            });
            continue;
        }
        match record
            .iter()
            .map(std::str::from_utf8)
            .collect::<Result<Vec<&str>, _>>()
        {
            Ok(fields) => visit(&Row {
                line,
                header: &header,
                fields,
            }),
            Err(_) => invalid(LineError {
                line: Some(line),
                message: "not valid UTF-8 (save the file as UTF-8)".to_owned(),
            }),
        }
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
    fn a_missing_column_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, "x,y\n1,2\n").unwrap();
        let error = read_rows(&path, &["x", "nin"], |_| {}, |_| {}).unwrap_err();
        assert!(error.to_string().contains("lacks required column(s): nin"));
    }
}
