//! `maktab serve` and `maktab demo`: run the service, load the demo data.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::{open, without_password};
use crate::config::Config;
use crate::roll::demo;
use crate::server::{self, App};
use crate::store::Store;

/// Options of `maktab serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Load the demo data first if the database holds no map and no roll.
    #[arg(long)]
    pub demo: bool,
}

pub(super) async fn serve(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    let store = open(config).await?;
    if args.demo {
        // A service's standard output usually ends up in its log (journald, docker logs):
        // the demo voters' NINs go to it only when it is a terminal someone is looking at.
        let samples = std::io::stdout().is_terminal();
        load_demo_into(Arc::clone(&store), samples).await?;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    // Listening for SIGTERM from here on, before anyone is told the service is up.
    let shutdown = server::shutdown_signal();
    tracing::info!(address = %listener.local_addr()?, database = %without_password(&config.database_url), "maktab serving");
    let metrics_listener = match &config.metrics_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for metrics"))?;
            tracing::info!(address = %listener.local_addr()?, "metrics served on their own listener");
            Some(listener)
        }
        None => None,
    };
    let app = App::from_config(store, config)?;
    if app.telegram.is_none() {
        tracing::info!("telegram not configured: POST /webhooks/telegram answers 404");
    }
    let providers: Vec<&str> = app.sms.configured().iter().map(|p| p.as_str()).collect();
    tracing::info!(?providers, "sms webhooks");
    server::serve(listener, metrics_listener, app, shutdown).await?;
    tracing::info!("maktab stopped");
    Ok(())
}

pub(super) async fn demo(config: &Config) -> anyhow::Result<()> {
    let store = open(config).await?;
    load_demo_into(store, true).await
}

/// Loads the demo into an empty database; prints NIN and birth-date pairs to try only if it
/// was loaded (otherwise they may name no voter of this database) and `samples` allows.
async fn load_demo_into(store: Arc<dyn Store>, samples: bool) -> anyhow::Result<()> {
    let data = demo::generate();
    match demo::load(store, &data)
        .await
        .context("loading the demo data")?
    {
        demo::DemoLoad::Loaded { map, roll } => println!(
            "Demo loaded: map version {} ({} communes, {} centres, {} stations), roll version {} ({} voters).",
            map.version,
            map.counts.communes,
            map.counts.centres,
            map.counts.stations,
            roll.version,
            roll.counts.voters
        ),
        demo::DemoLoad::AlreadyHasData => {
            println!("The database already holds a map or a roll: demo data not loaded.");
            return Ok(());
        }
    }
    if !samples {
        println!("Demo voters to try are printed only on a terminal (standard output is not one).");
        return Ok(());
    }
    println!("\nTry these (synthetic voters of the demo roll):");
    for sample in &data.samples {
        let women = if sample.women_station {
            ", women's station"
        } else {
            ""
        };
        println!(
            "  maktab ask \"{} {}\"    # {}, {}, station {}{women}",
            sample.nin, sample.birth_date, sample.commune_fr, sample.centre_fr, sample.station
        );
    }
    if let Some(sample) = data.samples.first() {
        println!(
            "  maktab ask \"رقمي {} وتاريخ ميلادي {}\"",
            sample.nin, sample.birth_date
        );
    }
    Ok(())
}
