//! Delimited text: the encoding is recognised (byte order mark, valid UTF-8, or the look of
//! the legacy bytes) and decoded to UTF-8 as the file streams in; records are split by an
//! RFC 4180 parser that counts lines as an editor does (`\n`, `\r\n` and a lone `\r` each end
//! one line, inside quotes too), so each record knows the line it starts on.

use std::io::{self, BufRead, BufReader, Read};

use encoding_rs::{CoderResult, Decoder};

use super::{ReadError, Record, TextEncoding};

/// Non-ASCII bytes needed before a file that is not UTF-8 is read as a legacy encoding: with
/// fewer, a stray byte in a UTF-8 file is more likely, and is reported on its line.
const LEGACY_EVIDENCE: usize = 4;

/// Which encoding the bytes are in, and the length of the byte order mark to skip.
fn detect(sample: &[u8], complete: bool) -> TextEncoding {
    if sample.starts_with(b"\xEF\xBB\xBF") {
        return TextEncoding::Utf8;
    }
    if sample.starts_with(b"\xFF\xFE") {
        return TextEncoding::Utf16Le;
    }
    if sample.starts_with(b"\xFE\xFF") {
        return TextEncoding::Utf16Be;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => return TextEncoding::Utf8,
        // The sample may end inside a character.
        Err(error) if !complete && error.error_len().is_none() => return TextEncoding::Utf8,
        Err(_) => {}
    }
    let high: Vec<u8> = sample.iter().copied().filter(|b| *b >= 0x80).collect();
    if high.len() < LEGACY_EVIDENCE {
        return TextEncoding::Utf8;
    }
    // Windows-1256 keeps the French letters of Windows-1252 (é è à ç ê ô...) at the same
    // places and puts Arabic letters where 1252 has mostly capitals and rare letters: bytes
    // that read as Arabic letters in 1256 are the evidence.
    let (decoded, _) = encoding_rs::WINDOWS_1256.decode_without_bom_handling(&high);
    let arabic = decoded
        .chars()
        .filter(|c| ('\u{0621}'..='\u{064A}').contains(c))
        .count();
    if arabic * 3 >= high.len() {
        TextEncoding::Windows1256
    } else {
        TextEncoding::Windows1252
    }
}

/// The delimiter of the header line: the most frequent of `,` `;` tab outside quotes (`,` if
/// none or a tie).
fn detect_delimiter(header: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in header.bytes() {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                for (delimiter, count) in &mut counts {
                    if byte == *delimiter {
                        *count += 1;
                    }
                }
            }
            _ => {}
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    counts
        .iter()
        .find(|(_, n)| *n == best && best > 0)
        .map_or(b',', |(delimiter, _)| *delimiter)
}

/// A `Read` of the file's text as UTF-8, whatever its encoding; malformed input becomes
/// U+FFFD, which validation reports on its line.
struct Decoded<'a> {
    inner: Box<dyn Read + Send + 'a>,
    decoder: Decoder,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    finished: bool,
}

impl Read for Decoded<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.finished {
                return Ok(0);
            }
            if self.start == self.end && !self.eof {
                let n = self.inner.read(&mut self.buffer)?;
                self.eof = n == 0;
                self.start = 0;
                self.end = n;
            }
            let (result, read, written, _) =
                self.decoder
                    .decode_to_utf8(&self.buffer[self.start..self.end], out, self.eof);
            self.start += read;
            if self.eof && result == CoderResult::InputEmpty {
                self.finished = true;
            }
            if written > 0 || self.finished {
                return Ok(written);
            }
            if result == CoderResult::OutputFull {
                return Err(io::Error::other("decoding buffer too small"));
            }
        }
    }
}

/// Records of delimited text.
pub(super) struct TextRecords<'a> {
    input: BufReader<Decoded<'a>>,
    encoding: TextEncoding,
    delimiter: u8,
    /// The line the next byte is on.
    line: u64,
    /// The last byte was a `\r`: a `\n` right after it ends the same line.
    after_cr: bool,
    /// Raw bytes of the record being built (valid UTF-8: the decoder's output, cut only at
    /// ASCII delimiters).
    bytes: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a cell.
    Start,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted cell: the end of the quote, or the first of `""`.
    QuoteInQuoted,
}

impl<'a> TextRecords<'a> {
    pub(super) fn open(
        sample: Vec<u8>,
        complete: bool,
        rest: Box<dyn Read + Send + 'a>,
        encoding: Option<TextEncoding>,
        delimiter: Option<u8>,
    ) -> Result<(Self, TextEncoding, u8), ReadError> {
        let encoding = encoding.unwrap_or_else(|| detect(&sample, complete));
        let delimiter = match delimiter {
            Some(delimiter) => delimiter,
            None => {
                let (header, _) = encoding.encoding().decode_with_bom_removal(&sample);
                detect_delimiter(&header)
            }
        };
        let decoded = Decoded {
            inner: Box::new(io::Cursor::new(sample).chain(rest)),
            decoder: encoding.encoding().new_decoder_with_bom_removal(),
            buffer: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            eof: false,
            finished: false,
        };
        Ok((
            Self {
                input: BufReader::with_capacity(64 * 1024, decoded),
                encoding,
                delimiter,
                line: 1,
                after_cr: false,
                bytes: Vec::new(),
            },
            encoding,
            delimiter,
        ))
    }

    pub(super) fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// Reads the next non-blank record.
    pub(super) fn read_record(&mut self, record: &mut Record) -> Result<bool, ReadError> {
        loop {
            match self.read_one(record)? {
                None => return Ok(false),
                Some(true) => return Ok(true),
                Some(false) => {} // a blank line
            }
        }
    }

    /// One record: `Some(false)` for a blank line, `None` at the end of the file.
    fn read_one(&mut self, record: &mut Record) -> Result<Option<bool>, ReadError> {
        let start_line = self.line;
        record.clear(start_line);
        // The record's buffers are reused from one record to the next.
        self.bytes = std::mem::take(&mut record.text).into_bytes();
        self.bytes.clear();
        let mut ends: Vec<usize> = std::mem::take(&mut record.ends);
        let mut state = State::Start;
        let mut consumed_any = false;
        let delimiter = self.delimiter;
        let mut done = false;
        while !done {
            let buffer = self.input.fill_buf()?;
            if buffer.is_empty() {
                break;
            }
            let mut used = 0;
            for &byte in buffer {
                used += 1;
                if self.after_cr {
                    self.after_cr = false;
                    if byte == b'\n' {
                        // The `\r` already counted this line. Inside quotes the `\n` is text;
                        // otherwise the `\r` ended the previous record.
                        if state == State::Quoted {
                            self.bytes.push(byte);
                        }
                        continue;
                    }
                }
                consumed_any = true;
                match (state, byte) {
                    (State::Quoted, b'"') => state = State::QuoteInQuoted,
                    (State::Quoted, b'\n') => {
                        self.line += 1;
                        self.bytes.push(byte);
                    }
                    (State::Quoted, b'\r') => {
                        self.line += 1;
                        self.after_cr = true;
                        self.bytes.push(byte);
                    }
                    (State::Quoted, _) => self.bytes.push(byte),
                    (State::QuoteInQuoted, b'"') => {
                        self.bytes.push(b'"');
                        state = State::Quoted;
                    }
                    (State::Start, b'"') => state = State::Quoted,
                    (_, b) if b == delimiter => {
                        ends.push(self.bytes.len());
                        state = State::Start;
                    }
                    (_, b'\n') => {
                        self.line += 1;
                        done = true;
                        break;
                    }
                    (_, b'\r') => {
                        self.line += 1;
                        self.after_cr = true;
                        done = true;
                        break;
                    }
                    // Text after a closing quote is kept, as spreadsheets read it.
                    (_, b) => {
                        self.bytes.push(b);
                        state = State::Unquoted;
                    }
                }
            }
            self.input.consume(used);
        }
        if state == State::Quoted {
            record.ends = ends;
            return Err(ReadError::Malformed {
                line: start_line,
                message: "a quoted cell that starts on this line is never closed (a \" is missing)"
                    .to_owned(),
            });
        }
        if !consumed_any {
            record.ends = ends;
            return Ok(None);
        }
        ends.push(self.bytes.len());
        let blank = ends.len() == 1 && self.bytes.is_empty();
        match String::from_utf8(std::mem::take(&mut self.bytes)) {
            Ok(text) => {
                record.text = text;
            }
            Err(error) => {
                // Cannot happen (the decoder writes UTF-8); kept lossless if it ever did.
                record.text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            }
        }
        record.ends = ends;
        Ok(Some(!blank))
    }
}
