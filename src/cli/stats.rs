//! `maktab stats`: lookups of the last hours and how full the stations are.

use clap::Args;

use super::{commune, office};
use crate::config::Config;
use crate::office::stats::LookupFilter;

/// Options of `maktab stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only this commune.
    #[arg(long, value_name = "CODE")]
    pub commune: Option<String>,
    /// Lookups of the last this many hours.
    #[arg(long, default_value_t = 24)]
    pub hours: u32,
}

pub(super) async fn run(config: &Config, args: StatsArgs) -> anyhow::Result<()> {
    let (office, operator) = office(config).await?;
    let commune = args.commune.as_deref().map(commune).transpose()?;
    let hours = args.hours;
    let since = crate::domain::now() - i64::from(hours) * 3600;
    let summary = office
        .lookup_stats(
            &operator,
            &LookupFilter {
                since: Some(since - since.rem_euclid(3600)),
                commune: commune.clone(),
                ..LookupFilter::default()
            },
        )
        .await?;
    println!("Lookups, last {hours} hours: {}", summary.total);
    for (outcome, count) in &summary.by_outcome {
        println!("  {outcome:<22} {count:>10}");
    }
    for (channel, count) in &summary.by_channel {
        println!("  channel {channel:<14} {count:>10}");
    }
    let roll = office.roll_stats(&operator, commune.as_ref()).await?;
    println!(
        "\nRoll: {} voters; stations near the limit of {}: {}, over it: {}",
        roll.voters,
        roll.max_voters_per_station,
        roll.stations_near_limit,
        roll.stations_over_limit
    );
    println!(
        "{:<10} {:<30} {:>8} {:>8} {:>9}",
        "commune", "name", "centres", "stations", "voters"
    );
    for commune in &roll.communes {
        let stations: usize = commune.centres.iter().map(|c| c.stations.len()).sum();
        println!(
            "{:<10} {:<30} {:>8} {:>8} {:>9}",
            commune.code,
            commune.name_fr,
            commune.centres.len(),
            stations,
            commune.voters
        );
    }
    Ok(())
}
