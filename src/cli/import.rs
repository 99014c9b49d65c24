//! `maktab import map|roll FILE [--dry-run]`: import the electoral map or the roll (CSV,
//! tab-separated text or `.xlsx`, the encoding detected or named), with a progress bar on a
//! terminal and the validation report on stderr; `--errors-out FILE` writes the offending
//! rows as CSV.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use super::office;
use crate::config::Config;
use crate::office::OfficeError;
use crate::office::imports::ImportRequest;
use crate::roll::ImportOutcome;
use crate::roll::reader::{Format, ReadOptions, TextEncoding, parse_delimiter};
use crate::store::ImportKind;

/// What to import.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import map.csv: one row per polling station.
    Map(ImportArgs),
    /// Import roll.csv: one row per voter, checked against the current map.
    Roll(ImportArgs),
}

/// Options of an import.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file: CSV (`,` or `;`), tab-separated text or an Excel workbook (.xlsx), with a
    /// header row in any column order.
    pub file: PathBuf,
    /// Validate and report without changing the database.
    #[arg(long)]
    pub dry_run: bool,
    /// csv, tsv or xlsx (default: detected from the name and the bytes).
    #[arg(long, value_parser = Format::parse)]
    pub format: Option<Format>,
    /// utf-8, utf-16le, utf-16be, windows-1256 or windows-1252 (default: detected).
    #[arg(long, value_parser = TextEncoding::parse)]
    pub encoding: Option<TextEncoding>,
    /// The delimiter of a text file: , ; tab or | (default: detected from the header).
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// The workbook's sheet to read (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// If the file is rejected, write its offending rows here as CSV, with `line` and `error`
    /// columns, to fix them in the spreadsheet.
    #[arg(long, value_name = "FILE")]
    pub errors_out: Option<PathBuf>,
}

impl ImportArgs {
    fn read_options(&self) -> ReadOptions {
        ReadOptions {
            format: self.format,
            delimiter: self.delimiter,
            encoding: self.encoding,
            sheet: self.sheet.clone(),
            file_name: Some(self.file.display().to_string()),
            content_type: None,
        }
    }
}

fn progress_bar(path: &Path, file: &File) -> ProgressBar {
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    // Drawn only when stderr is a terminal; hidden in scripts and CI.
    let bar = ProgressBar::new(size);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(path.display().to_string());
    bar
}

pub(super) async fn run(config: &Config, command: ImportCommand) -> anyhow::Result<()> {
    let (kind, args) = match command {
        ImportCommand::Map(args) => (ImportKind::Map, args),
        ImportCommand::Roll(args) => (ImportKind::Roll, args),
    };
    let (office, operator) = office(config).await?;
    let file =
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let bar = progress_bar(&args.file, &file);
    let input = bar.wrap_read(file);
    let request = ImportRequest {
        dry_run: args.dry_run,
        source: args.file.display().to_string(),
        read: args.read_options(),
        keep_every_error: args.errors_out.is_some(),
    };
    let outcome = office
        .import_file(&operator, kind, Box::new(input), &request)
        .await;
    bar.finish_and_clear();
    let kind = kind.as_str();
    match outcome {
        Ok(ImportOutcome {
            report,
            record,
            change_sets,
        }) => {
            let counts = report.counts;
            let what = format!(
                "{} rows: {} communes, {} centres, {} stations, {} voters",
                report.rows, counts.communes, counts.centres, counts.stations, counts.voters
            );
            match record {
                None => println!("dry run: the {kind} file is valid ({what}); nothing was changed"),
                Some(record) => match record.number {
                    Some(number) if !record.pending => {
                        println!("{kind} accepted as version {number}: {what}")
                    }
                    _ if change_sets.is_empty() => println!(
                        "the {kind} file is valid ({what}) but changes nothing in the current version: nothing to review"
                    ),
                    _ => {
                        let pending: Vec<String> = change_sets
                            .iter()
                            .map(|c| {
                                let communes: Vec<&str> =
                                    c.communes.iter().map(|c| c.as_str()).collect();
                                format!(
                                    "pending change set {} of commune {}",
                                    c.id,
                                    communes.join(",")
                                )
                            })
                            .collect();
                        println!(
                            "the {kind} file is valid ({what}): {}; review with `maktab changes show ID`, then approve or reject it",
                            pending.join(", ")
                        );
                    }
                },
            }
            Ok(())
        }
        Err(OfficeError::ImportRejected(report)) => {
            eprint!("{report}");
            if let Some(path) = &args.errors_out {
                let file = File::open(&args.file)
                    .with_context(|| format!("cannot open {}", args.file.display()))?;
                let out = std::io::BufWriter::new(
                    File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                );
                let rows = crate::roll::write_error_rows(file, &request.read, &report.errors, out)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("{rows} offending row(s) written to {}", path.display());
            }
            bail!(
                "the {kind} file was rejected with {} error(s); the database was not changed",
                report.error_count
            )
        }
        Err(error) => Err(error.into()),
    }
}
