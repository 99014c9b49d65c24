//! `maktab import map|roll FILE [--dry-run]`: import the electoral map or the roll, with a
//! progress bar on a terminal and the validation report on stderr.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use super::office;
use crate::config::Config;
use crate::office::OfficeError;
use crate::roll::ImportOutcome;
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
    /// The CSV file (UTF-8, header row, any column order).
    pub file: PathBuf,
    /// Validate and report without changing the database.
    #[arg(long)]
    pub dry_run: bool,
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
    let outcome = office
        .import(
            &operator,
            kind,
            Box::new(input),
            args.dry_run,
            &args.file.display().to_string(),
        )
        .await;
    bar.finish_and_clear();
    let kind = kind.as_str();
    match outcome {
        Ok(ImportOutcome { report, record }) => {
            let counts = report.counts;
            let what = format!(
                "{} rows: {} communes, {} centres, {} stations, {} voters",
                report.rows, counts.communes, counts.centres, counts.stations, counts.voters
            );
            match record {
                Some(record) => println!("{kind} accepted as version {}: {what}", record.version),
                None => println!("dry run: the {kind} file is valid ({what}); nothing was changed"),
            }
            Ok(())
        }
        Err(OfficeError::ImportRejected(report)) => {
            eprint!("{report}");
            bail!(
                "the {kind} file was rejected with {} error(s); the database was not changed",
                report.error_count
            )
        }
        Err(error) => Err(error.into()),
    }
}
