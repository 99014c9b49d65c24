//! `maktab reports list|export|handle|stats`: reports of citizens missing from the roll.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{commune, office, time};
use crate::config::Config;
use crate::office::reports::ReportFilter;

/// Filters of the report listing and export.
#[derive(Debug, Args)]
pub struct ReportFilters {
    #[arg(long, value_name = "CODE")]
    commune: Option<String>,
    /// open, handled or resolved.
    #[arg(long)]
    status: Option<String>,
    /// Filed on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DAY")]
    from: Option<String>,
    /// Filed on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DAY")]
    to: Option<String>,
}

impl ReportFilters {
    fn filter(self) -> anyhow::Result<ReportFilter> {
        Ok(ReportFilter {
            commune: self.commune.as_deref().map(commune).transpose()?,
            status: self.status,
            from: self.from,
            to: self.to,
        })
    }
}

/// Reports of citizens missing from the roll.
#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// List reports, newest first (NINs masked, no names).
    List {
        #[command(flatten)]
        filters: ReportFilters,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Export reports as CSV (UTF-8 with BOM, for spreadsheets) with NINs and names, for the
    /// revision of the lists. Recorded in the audit log.
    Export {
        #[command(flatten)]
        filters: ReportFilters,
        /// Write here instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Mark open reports handled (taken into the revision).
    Handle {
        #[arg(required = true, num_args = 1..)]
        ids: Vec<i64>,
    },
    /// Reports per commune, source and status.
    Stats {
        #[arg(long, value_name = "CODE")]
        commune: Option<String>,
    },
}

pub(super) async fn run(config: &Config, command: ReportsCommand) -> anyhow::Result<()> {
    let (office, operator) = office(config).await?;
    match command {
        ReportsCommand::List { filters, limit } => {
            let list = office
                .reports(&operator, &filters.filter()?, limit, 0)
                .await?;
            for report in list.reports {
                let mut sources: Vec<&str> =
                    report.sources.iter().map(|s| s.kind.as_str()).collect();
                sources.dedup();
                // The commune is printed unpadded, as it always was.
                println!(
                    "#{:<6} {}  commune {} {:<8}  filed {}  by {}",
                    report.id,
                    report.nin,
                    report.commune,
                    report.status.as_str(),
                    time(report.created_at),
                    sources.join("+")
                );
            }
        }
        ReportsCommand::Export { filters, output } => {
            let export = office.export_reports(&operator, &filters.filter()?).await?;
            match output {
                Some(path) => {
                    std::fs::write(&path, export.csv)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("{} reports written to {}", export.rows, path.display());
                }
                None => super::write_out(&export.csv),
            }
        }
        ReportsCommand::Handle { ids } => {
            let handled = office.mark_handled(&operator, &ids).await?;
            println!("{handled} reports marked handled.");
        }
        ReportsCommand::Stats { commune: code } => {
            let code = code.as_deref().map(commune).transpose()?;
            println!(
                "{:<8} {:<6} {:<9} {:>8}",
                "commune", "source", "status", "reports"
            );
            for count in office.report_stats(&operator, code.as_ref()).await?.counts {
                println!(
                    "{:<8} {:<6} {:<9} {:>8}",
                    count.commune.as_str(),
                    count.source.as_str(),
                    count.status.as_str(),
                    count.reports
                );
            }
        }
    }
    Ok(())
}
