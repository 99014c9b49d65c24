//! The same roll as municipalities save it: UTF-8 with LF, UTF-8 with CRLF and a byte order
//! mark, `;`-separated Windows-1256, UTF-16 LE tab-separated text (Excel's "Unicode text")
//! and an `.xlsx` workbook written here, with Arabic names and centre names in ignored
//! columns and a blank line. Each is accepted with the same voters, and with one bad row each
//! is rejected at the same line (the sheet's row for the workbook): through the library, the
//! command line (with the file of offending rows) and the admin API.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use maktab::config::Config;
use maktab::domain::{NationalId, Role};
use maktab::office::Principal;
use maktab::roll::reader::ReadOptions;
use maktab::roll::{ImportError, ImportOptions};

const HEADER: [&str; 8] = [
    "nin",
    "nom_ar",
    "birth_date",
    "sex",
    "commune_code",
    "centre_code",
    "centre_ar",
    "station",
];

/// The rows of the roll (`None`: a blank line); with `bad`, row 6 of the file (after the
/// blank line 4) has a NIN one digit short.
fn rows(bad: bool) -> Vec<Option<[&'static str; 8]>> {
    vec![
        Some([
            "109870123456789012",
            "كريمة بن علي",
            "1990-03-15",
            "M",
            "1601",
            "C01",
            "مدرسة الأمير عبد القادر",
            "1",
        ]),
        Some([
            "000000000000000042",
            "فاطمة الزهراء",
            "1985-12-01",
            "F",
            "1601",
            "C01",
            "مدرسة الأمير عبد القادر",
            "2",
        ]),
        None,
        Some([
            "209870123456789099",
            "عبد الرحمن",
            "1970-01-20",
            "",
            "1601",
            "C02",
            "متوسطة العربي بن مهيدي",
            "1",
        ]),
        Some([
            if bad {
                "30987012345678901"
            } else {
                "309870123456789010"
            },
            "يوسف، الشلفي",
            "2001-07-05",
            "M",
            "1601",
            "C02",
            "متوسطة العربي بن مهيدي",
            "2",
        ]),
    ]
}

/// The line (and sheet row) of the bad row.
const BAD_LINE: u64 = 6;

fn delimited(bad: bool, delimiter: &str, ending: &str) -> String {
    let mut text = HEADER.join(delimiter);
    text.push_str(ending);
    for row in rows(bad) {
        if let Some(cells) = row {
            let cells: Vec<String> = cells
                .iter()
                .map(|cell| {
                    if cell.contains(delimiter) || cell.contains('،') {
                        format!("\"{cell}\"")
                    } else {
                        (*cell).to_owned()
                    }
                })
                .collect();
            text.push_str(&cells.join(delimiter));
        }
        text.push_str(ending);
    }
    text
}

fn xlsx(bad: bool) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("القائمة").unwrap();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (col, name) in HEADER.iter().enumerate() {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    for (i, row) in rows(bad).into_iter().enumerate() {
        let r = i as u32 + 1;
        let Some(cells) = row else { continue };
        for (col, cell) in cells.iter().enumerate() {
            let col = col as u16;
            match HEADER[col as usize] {
                // Numbers and dates as an office types them: Excel keeps them as such.
                "station" | "commune_code" => {
                    sheet
                        .write_number(r, col, cell.parse::<f64>().unwrap())
                        .unwrap();
                }
                "birth_date" => {
                    let parts: Vec<&str> = cell.split('-').collect();
                    let at = ExcelDateTime::from_ymd(
                        parts[0].parse().unwrap(),
                        parts[1].parse().unwrap(),
                        parts[2].parse().unwrap(),
                    )
                    .unwrap();
                    sheet
                        .write_datetime_with_format(r, col, &at, &date)
                        .unwrap();
                }
                _ if cell.is_empty() => {}
                _ => {
                    sheet.write_string(r, col, *cell).unwrap();
                }
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    bytes
}

/// `(name, file name, bytes)` of every format.
fn files(bad: bool) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(delimited(bad, ",", "\r\n").into_bytes());
    let semicolons = delimited(bad, ";", "\r\n");
    let (cp1256, _, unmappable) = encoding_rs::WINDOWS_1256.encode(&semicolons);
    assert!(!unmappable, "the Arabic names exist in Windows-1256");
    vec![
        (
            "UTF-8 LF",
            "roll.csv",
            delimited(bad, ",", "\n").into_bytes(),
        ),
        ("UTF-8 CRLF BOM", "roll.csv", bom),
        ("Windows-1256 ;", "roll.csv", cp1256.into_owned()),
        (
            "UTF-16 LE TSV",
            "roll.txt",
            utf16le_with_bom(&delimited(bad, "\t", "\r\n")),
        ),
        ("XLSX", "roll.xlsx", xlsx(bad)),
    ]
}

fn read(file_name: &str) -> ReadOptions {
    ReadOptions {
        file_name: Some(file_name.to_owned()),
        ..ReadOptions::default()
    }
}

async fn import(
    db: &TestDb,
    bytes: Vec<u8>,
    file_name: &str,
) -> Result<maktab::roll::ImportOutcome, ImportError> {
    let options = ImportOptions {
        read: read(file_name),
        ..options(false)
    };
    maktab::roll::import_roll(Arc::clone(&db.store), std::io::Cursor::new(bytes), &options).await
}

const NINS: [&str; 4] = [
    "109870123456789012",
    "000000000000000042",
    "209870123456789099",
    "309870123456789010",
];

#[tokio::test]
async fn every_format_gives_the_same_voters_and_the_same_bad_line() {
    for (name, file_name, bytes) in files(false) {
        let db = TestDb::empty().await;
        db.import_map(MAP_CSV).await.unwrap();
        let outcome = import(&db, bytes, file_name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(outcome.report.rows, 4, "{name}: the blank line is no row");
        assert_eq!(outcome.report.counts.voters, 4, "{name}");
        for nin in NINS {
            let voter = db
                .store
                .find_voter(&NationalId::parse(nin).unwrap())
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{name}: {nin} is on the roll"));
            assert_eq!(voter.place.commune.code.as_str(), "1601", "{name}");
        }
        let last = db
            .store
            .find_voter(&NationalId::parse(NINS[3]).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            last.birth_date.to_string(),
            "05/07/2001",
            "{name}: the date as typed"
        );
        assert_eq!(
            (last.place.centre.code.as_str(), last.place.station.get()),
            ("C02", 2),
            "{name}"
        );
    }
    for (name, file_name, bytes) in files(true) {
        let db = TestDb::empty().await;
        db.import_map(MAP_CSV).await.unwrap();
        let report = match import(&db, bytes, file_name).await {
            Err(ImportError::Rejected(report)) => report,
            other => panic!("{name}: expected a rejection, got {other:?}"),
        };
        assert_eq!(report.error_count, 1, "{name}: {report}");
        assert_eq!(report.errors[0].line, Some(BAD_LINE), "{name}: {report}");
        assert!(
            report.errors[0].message.starts_with("nin:"),
            "{name}: {report}"
        );
        let read_as = report.read_as.unwrap();
        let expected = match name {
            "XLSX" => ("xlsx", None, None),
            "UTF-16 LE TSV" => ("tsv", Some("UTF-16LE"), Some("tab")),
            "Windows-1256 ;" => ("csv", Some("Windows-1256"), Some(";")),
            _ => ("csv", Some("UTF-8"), Some(",")),
        };
        assert_eq!(
            (
                read_as.format.as_str(),
                read_as.encoding.as_deref(),
                read_as.delimiter.as_deref()
            ),
            expected,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_semicolon_file_read_with_a_comma_names_what_the_header_held() {
    let db = TestDb::with_roll().await;
    let options = ImportOptions {
        read: ReadOptions {
            delimiter: Some(b','),
            ..ReadOptions::default()
        },
        ..options(false)
    };
    let bytes = delimited(false, ";", "\r\n").into_bytes();
    let outcome =
        maktab::roll::import_roll(Arc::clone(&db.store), std::io::Cursor::new(bytes), &options)
            .await;
    let Err(ImportError::MissingColumns(message)) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(message.contains("delimiter ,"), "{message}");
    assert!(
        message.contains("1 column(s): \"nin;nom_ar;birth_date"),
        "{message}"
    );
}

#[tokio::test]
async fn an_xls_workbook_and_utf16_without_bom_are_refused_with_one_clear_error() {
    let db = TestDb::with_roll().await;
    let xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0".to_vec();
    let error = import(&db, xls, "roll.xls").await.unwrap_err().to_string();
    assert!(error.contains("Excel 97-2003 workbook (.xls)"), "{error}");
    let mut no_bom = utf16le_with_bom(&delimited(false, "\t", "\r\n"));
    no_bom.drain(..2);
    let error = import(&db, no_bom, "roll.txt")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("UTF-16 text without a byte order mark"),
        "{error}"
    );
}

fn maktab(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maktab"));
    command
        .env("MAKTAB_DATABASE_URL", database_url)
        .env_remove("MAKTAB_LOG")
        .env_remove("RUST_LOG")
        .env_remove("MAKTAB_CONFIG");
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_reads_every_format_and_writes_the_offending_rows() {
    for ((name, file_name, good), (_, _, bad)) in files(false).into_iter().zip(files(true)) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("maktab.db").display());
        let map = dir.path().join("map.csv");
        std::fs::write(&map, MAP_CSV).unwrap();
        let output = maktab(&url)
            .args(["import", "map"])
            .arg(&map)
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {output:?}");

        let file = dir.path().join(file_name);
        std::fs::write(&file, &bad).unwrap();
        let errors = dir.path().join("errors.csv");
        let output = maktab(&url)
            .args(["import", "roll"])
            .arg(&file)
            .arg("--errors-out")
            .arg(&errors)
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(!output.status.success(), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("line {BAD_LINE}: nin:")),
            "{name}: {stderr}"
        );
        let written = std::fs::read_to_string(&errors).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(
            lines[0],
            "\u{feff}nin,nom_ar,birth_date,sex,commune_code,centre_code,centre_ar,station,line,error",
            "{name}"
        );
        assert_eq!(lines.len(), 2, "{name}: {written}");
        assert!(
            lines[1].starts_with("30987012345678901,يوسف، الشلفي,2001-07-05,M,1601,C02,متوسطة العربي بن مهيدي,2,6,\"nin: a national identification number has 18 digits"),
            "{name}: {}",
            lines[1]
        );

        std::fs::write(&file, &good).unwrap();
        let output = maktab(&url)
            .args(["import", "roll"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.contains("4 voters"), "{name}: {stdout}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_takes_every_format_by_file_name_or_content_type() {
    let db = TestDb::empty().await;
    db.import_map(MAP_CSV).await.unwrap();
    let token = office(&db.store)
        .create_token(
            &Principal::command_line(),
            "national",
            Role::National,
            vec![],
            None,
        )
        .await
        .unwrap()
        .token;
    let app = ServerApp::spawn(&db, &Config::default()).await;
    let auth = format!("Bearer {token}");
    for ((name, file_name, good), (_, _, bad)) in files(false).into_iter().zip(files(true)) {
        // The workbook by its content type, the text files by their name.
        let (path, content_type) = if file_name.ends_with(".xlsx") {
            (
                "/api/v1/imports/roll?dry_run=true".to_owned(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        } else {
            (
                format!("/api/v1/imports/roll?dry_run=true&filename={file_name}"),
                "application/octet-stream",
            )
        };
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", content_type),
        ];
        let response = http(app.address, "POST", &path, &headers, &good).await;
        assert_eq!(response.status, 200, "{name}: {}", response.body);
        assert_eq!(response.json()["report"]["counts"]["voters"], 4, "{name}");
        let response = http(app.address, "POST", &path, &headers, &bad).await;
        assert_eq!(response.status, 422, "{name}: {}", response.body);
        let body = response.json();
        assert_eq!(
            body["report"]["errors"][0]["line"], BAD_LINE,
            "{name}: {body}"
        );

        let errors_path = path.replace("/roll?", "/roll/errors?");
        let response = http(app.address, "POST", &errors_path, &headers, &bad).await;
        assert_eq!(response.status, 200, "{name}: {}", response.body);
        assert_eq!(response.header("x-maktab-error-count"), Some("1"), "{name}");
        let lines: Vec<&str> = response.body.lines().collect();
        assert_eq!(lines.len(), 2, "{name}: {}", response.body);
        assert!(lines[1].contains(",6,\"nin:"), "{name}: {}", lines[1]);
    }
    app.stop().await;
}
