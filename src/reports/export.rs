//! The CSV export of reports for the revision of the lists: UTF-8 with a byte order mark, so
//! spreadsheets open the Arabic names correctly, and every field quoted by the `csv` writer
//! where it needs to be (names with commas, quotes or line breaks). Every cell is also made
//! safe to open: a spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (or a tab or
//! carriage return before one) as a formula, and names come from citizens by SMS and from
//! map imports, so such a cell gets a leading `'`, as OWASP advises against CSV injection.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::domain::{Commune, CommuneCode, Timestamp};
use crate::store::Report;

/// The byte order mark spreadsheets look for to read a CSV file as UTF-8.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The header row.
pub const COLUMNS: [&str; 14] = [
    "report_id",
    "nin",
    "birth_date",
    "full_name",
    "commune_code",
    "commune_ar",
    "commune_fr",
    "status",
    "sources",
    "filed_at",
    "handled_at",
    "handled_by",
    "resolved_at",
    // The report's number in its commune, as the clerk and the office read it.
    "report_number",
];

fn iso(at: Option<Timestamp>) -> String {
    at.and_then(|at| chrono::DateTime::from_timestamp(at, 0))
        .map(|at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `cell` as a spreadsheet shows it without running it: a leading `'` before a first
/// character that would start a formula.
///
/// ```
/// use maktab::reports::export::safe_cell;
///
/// assert_eq!(safe_cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
/// assert_eq!(safe_cell("-Nadia Khelifi"), "'-Nadia Khelifi");
/// assert_eq!(safe_cell("Nadia - Khelifi"), "Nadia - Khelifi");
/// ```
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Writes one record, every cell made safe by [`safe_cell`].
fn write_safe<W: std::io::Write, const N: usize>(
    writer: &mut csv::Writer<W>,
    cells: [&str; N],
) -> Result<(), csv::Error> {
    writer.write_record(cells.map(safe_cell).iter().map(|c| c.as_ref()))
}

/// The reports as a CSV file, with the communes' names from `communes`.
pub fn to_csv(reports: &[Report], communes: &[Commune]) -> Result<Vec<u8>, csv::Error> {
    let names: HashMap<&CommuneCode, &Commune> = communes.iter().map(|c| (&c.code, c)).collect();
    let mut writer = csv::Writer::from_writer(UTF8_BOM.to_vec());
    write_safe(&mut writer, COLUMNS)?;
    for report in reports {
        let commune = names.get(&report.commune);
        let mut sources: Vec<&str> = report.sources.iter().map(|s| s.kind.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        write_safe(
            &mut writer,
            [
                report.id.to_string().as_str(),
                report.nin.as_str(),
                report.birth_date.to_iso().as_str(),
                report.full_name.as_str(),
                report.commune.as_str(),
                commune.map_or("", |c| c.name.ar.as_str()),
                commune.map_or("", |c| c.name.fr.as_str()),
                report.status.as_str(),
                sources.join(";").as_str(),
                iso(Some(report.created_at)).as_str(),
                iso(report.handled_at).as_str(),
                report.handled_by.as_deref().unwrap_or_default(),
                iso(report.resolved_at).as_str(),
                report.number.to_string().as_str(),
            ],
        )?;
    }
    writer
        .into_inner()
        .map_err(|error| error.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_formula_start_gets_a_quote_and_other_cells_are_unchanged() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(safe_cell(cell), format!("'{cell}"));
        }
        for cell in ["", "Nadia", "1-2", "a=b", "بن علي", " =1"] {
            assert!(matches!(safe_cell(cell), Cow::Borrowed(_)), "{cell:?}");
        }
    }
}
