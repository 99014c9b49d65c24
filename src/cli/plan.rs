//! `maktab plan --map MAP --roll ROLL --out DIR`: station planning from the office's files
//! (see [`crate::planning`]). It reads and writes files only; the database is not opened.
//! The files written are then imported with `maktab import map` and `maktab import roll`.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, ValueEnum};

use crate::config::Config;
use crate::planning::{self, PlanError, PlanOptions, Strategy};

/// How to assign voters to stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// Stations within the limit keep every voter; overfull ones are split into new
    /// stations numbered after the centre's last, in alphabetical ranges (fewest moves).
    Keep,
    /// Every centre's voters (women apart where the centre has women's stations) are cut
    /// into ceil(n / max) balanced alphabetical ranges.
    Rebalance,
}

/// Options of `maktab plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The electoral map (map.csv format; an optional `rooms` column per centre).
    #[arg(long, value_name = "MAP")]
    pub map: PathBuf,
    /// The full roll export, with the voters' names (family_name/given_name, or their _ar
    /// and _fr variants); a voter without a station is placed in their centre. Names are
    /// read to sort and written only to DIR, never stored.
    #[arg(long, value_name = "ROLL")]
    pub roll: PathBuf,
    /// Where to write map.csv, roll.csv, stations.csv, centres.csv and report-<commune>.html.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Most voters in one station (default: the configured legal limit, 500).
    #[arg(long, value_name = "N")]
    pub max_per_station: Option<u32>,
    #[arg(long, value_enum, default_value = "keep")]
    pub strategy: StrategyArg,
    /// Ballots printed beyond each station's voters, in percent.
    #[arg(long, value_name = "P", default_value_t = 10)]
    pub reserve_percent: u32,
    /// Ballots come in packs of N: each station's count is rounded up to whole packs.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub pack: u32,
    /// Warn about a station under N voters that could merge with a sibling.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub min_per_station: u32,
}

pub(super) fn run(config: &Config, args: PlanArgs) -> anyhow::Result<()> {
    let options = PlanOptions {
        max_per_station: args
            .max_per_station
            .unwrap_or(config.import.max_voters_per_station),
        strategy: match args.strategy {
            StrategyArg::Keep => Strategy::Keep,
            StrategyArg::Rebalance => Strategy::Rebalance,
        },
        reserve_percent: args.reserve_percent,
        pack: args.pack,
        min_per_station: args.min_per_station,
    };
    match planning::plan(&args.map, &args.roll, &args.out, &options) {
        Ok(summary) => {
            for warning in &summary.warnings {
                eprintln!("warning: {warning}");
            }
            println!(
                "planned {} voters in {} stations ({} new) of {} centres in {} communes: {} voters move, {} placed, {} ballots",
                summary.voters,
                summary.stations,
                summary.new_stations,
                summary.centres,
                summary.communes,
                summary.moved,
                summary.placed,
                summary.ballots
            );
            for file in &summary.files {
                println!("wrote {}", file.display());
            }
            Ok(())
        }
        Err(PlanError::Rejected {
            file,
            errors,
            total,
        }) => {
            for error in &errors {
                eprintln!("{file}: {error}");
            }
            let unlisted = total.saturating_sub(errors.len() as u64);
            if unlisted > 0 {
                eprintln!("... and {unlisted} more errors");
            }
            bail!("{file} was rejected with {total} error(s); nothing was written")
        }
        Err(error) => Err(error.into()),
    }
}
