//! The `maktab` command line: every command, its help text, and the glue that opens the
//! configured database and runs the library code.

use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::channels::telegram::{self, Telegram, TelegramSettings};
use crate::config::Config;
use crate::conversation::{Conversation, Inbound};
use crate::domain::Channel;
use crate::i18n::Catalog;
use crate::roll::{self, ImportError, ImportOptions, ImportOutcome, demo};
use crate::server::{self, App};
use crate::store::{self, Store};

/// Maktab tells voters where they vote, over SMS and Telegram, in Arabic and French.
#[derive(Debug, Parser)]
#[command(name = "maktab", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file (default: ./maktab.toml if present). MAKTAB_* variables override it.
    #[arg(long, global = true, env = "MAKTAB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: webhooks, admin API and health probes. Applies migrations and creates
    /// the SQLite file if missing. Stops cleanly on SIGINT or SIGTERM.
    Serve {
        /// Load the demo data first if the database holds no map and no roll.
        #[arg(long)]
        demo: bool,
    },
    /// Load the demo data (real commune names, synthetic centres and voters) into an empty
    /// database and print NIN and birth-date pairs to try with `maktab ask`.
    Demo,
    /// Run one message through the conversation core and print the replies exactly as the
    /// voter would get them.
    Ask {
        /// The channel the message comes from.
        #[arg(long, default_value = "sms", value_name = "sms|telegram")]
        channel: Channel,
        /// The sender's id on that channel (a phone number or a Telegram chat id).
        #[arg(long, default_value = "cli", value_name = "ID")]
        from: String,
        /// The message text, as the voter would type it.
        #[arg(required = true, num_args = 1.., value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Import the electoral map or the roll from a CSV file (formats in the README).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Operate the Telegram bot (needs MAKTAB_TELEGRAM_BOT_TOKEN and
    /// MAKTAB_TELEGRAM_WEBHOOK_SECRET, or the [telegram] section of maktab.toml).
    #[command(subcommand)]
    Telegram(TelegramCommand),
}

/// Telegram operator commands.
#[derive(Debug, Subcommand)]
pub enum TelegramCommand {
    /// Register the webhook with Telegram (setWebhook: {public_url}/webhooks/telegram, the
    /// secret, the update kinds the bot uses, max_connections) and the command menu in
    /// Arabic and French (setMyCommands). Needs MAKTAB_TELEGRAM_PUBLIC_URL too. Safe to run
    /// again.
    Setup,
    /// Print what Telegram knows of the webhook (getWebhookInfo): URL, pending updates, last
    /// delivery error.
    Info,
}

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

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref(), |name| std::env::var(name).ok())?;
    let serving = matches!(cli.command, Command::Serve { .. });
    init_logging(&config, serving);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { demo } => serve(&config, demo).await,
            Command::Demo => load_demo(&config).await,
            Command::Ask {
                channel,
                from,
                text,
            } => ask(&config, channel, from, text.join(" ")).await,
            Command::Import(ImportCommand::Map(args)) => {
                import(&config, ImportTarget::Map, &args).await
            }
            Command::Import(ImportCommand::Roll(args)) => {
                import(&config, ImportTarget::Roll, &args).await
            }
            Command::Telegram(command) => telegram_command(&config, command).await,
        }
    })
}

/// Logs go to stderr. Outside `serve`, only warnings unless MAKTAB_LOG or RUST_LOG ask for more,
/// so that `maktab ask` prints just the replies.
fn init_logging(config: &Config, serving: bool) {
    let explicit = std::env::var("MAKTAB_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok());
    let filter = match (explicit, serving) {
        (Some(filter), _) => filter,
        (None, true) => config.log.clone(),
        (None, false) => "warn".to_owned(),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

async fn open(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    store::connect(&config.database_url)
        .await
        .with_context(|| format!("cannot open the database {}", config.database_url))
}

fn conversation(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Conversation> {
    let catalog = Catalog::load().context("message catalogues")?;
    Ok(Conversation::new(
        store,
        Arc::new(catalog),
        config.conversation(),
    ))
}

async fn serve(config: &Config, with_demo: bool) -> anyhow::Result<()> {
    let store = open(config).await?;
    if with_demo {
        load_demo_into(Arc::clone(&store)).await?;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(address = %listener.local_addr()?, database = %config.database_url, "maktab serving");
    let telegram = telegram_bot(config)?;
    if telegram.is_none() {
        tracing::info!("telegram not configured: POST /webhooks/telegram answers 404");
    }
    let app = App {
        store: Arc::clone(&store),
        conversation: conversation(config, store)?,
        telegram,
    };
    server::serve(listener, app, server::shutdown_signal()).await?;
    tracing::info!("maktab stopped");
    Ok(())
}

/// The configured Telegram bot, if any.
fn telegram_bot(config: &Config) -> anyhow::Result<Option<Telegram>> {
    TelegramSettings::from_config(&config.telegram)?
        .map(Telegram::new)
        .transpose()
        .context("telegram")
}

async fn telegram_command(config: &Config, command: TelegramCommand) -> anyhow::Result<()> {
    let Some(bot) = telegram_bot(config)? else {
        bail!(
            "telegram is not configured: set MAKTAB_TELEGRAM_BOT_TOKEN and MAKTAB_TELEGRAM_WEBHOOK_SECRET (or [telegram] in maktab.toml)"
        );
    };
    match command {
        TelegramCommand::Setup => {
            if bot.settings().public_url.is_none() {
                bail!(
                    "telegram setup needs the public URL of the service: set MAKTAB_TELEGRAM_PUBLIC_URL (or telegram.public_url)"
                );
            }
            let catalog = Catalog::load().context("message catalogues")?;
            let report = telegram::setup::set_up(&bot, &catalog)
                .await
                .context("telegram setup")?;
            println!("webhook set: {}", report.webhook_url);
            let languages: Vec<&str> = report
                .command_languages
                .iter()
                .map(|language| language.map_or("default", |l| l.code()))
                .collect();
            println!("command menu set for: {}", languages.join(", "));
        }
        TelegramCommand::Info => {
            let info = telegram::setup::info(&bot)
                .await
                .context("telegram getWebhookInfo")?;
            print!("{}", telegram::setup::describe(&info));
        }
    }
    Ok(())
}

async fn load_demo(config: &Config) -> anyhow::Result<()> {
    let store = open(config).await?;
    load_demo_into(store).await
}

async fn load_demo_into(store: Arc<dyn Store>) -> anyhow::Result<()> {
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
            println!("The database already holds a map or a roll: demo data not loaded.")
        }
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

async fn ask(config: &Config, channel: Channel, from: String, text: String) -> anyhow::Result<()> {
    let store = open(config).await?;
    let conversation = conversation(config, store)?;
    let handled = conversation
        .handle(&Inbound {
            channel,
            sender: from,
            text,
        })
        .await;
    for reply in handled.replies {
        println!("{}", reply.text);
        if let Some(venue) = reply.venue {
            println!(
                "[venue] {} | {} | {:.5},{:.5}",
                venue.title, venue.address, venue.coordinates.latitude, venue.coordinates.longitude
            );
        }
        for button in reply.buttons {
            println!("[button] {}", button.label);
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum ImportTarget {
    Map,
    Roll,
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

async fn import(config: &Config, target: ImportTarget, args: &ImportArgs) -> anyhow::Result<()> {
    let store = open(config).await?;
    let file =
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let bar = progress_bar(&args.file, &file);
    let input = bar.wrap_read(file);
    let options = ImportOptions {
        dry_run: args.dry_run,
        max_voters_per_station: config.import.max_voters_per_station,
        source: args.file.display().to_string(),
        actor: std::env::var("USER").map_or_else(
            |_| "command line".to_owned(),
            |user| format!("{user} (command line)"),
        ),
    };
    let outcome = match target {
        ImportTarget::Map => roll::import_map(store.as_ref(), input, &options).await,
        ImportTarget::Roll => roll::import_roll(store, input, &options).await,
    };
    bar.finish_and_clear();
    let kind = match target {
        ImportTarget::Map => "map",
        ImportTarget::Roll => "roll",
    };
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
        Err(ImportError::Rejected(report)) => {
            eprint!("{report}");
            bail!(
                "the {kind} file was rejected with {} error(s); the database was not changed",
                report.error_count
            )
        }
        Err(error) => Err(error.into()),
    }
}
