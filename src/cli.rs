//! The `maktab` command line: every command, its help text, and the glue that opens the
//! configured database and runs the library code.

use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::admin::auth::{self, Principal};
use crate::channels::sms::SmsGateway;
use crate::channels::telegram::{self, Telegram, TelegramSettings};
use crate::config::Config;
use crate::conversation::{Conversation, Inbound};
use crate::domain::{Channel, CommuneCode, Role};
use crate::i18n::Catalog;
use crate::roll::{ImportError, ImportOutcome, demo};
use crate::server::{self, App};
use crate::store::{self, Store};
use crate::store::{AuditQuery, ImportKind, LookupStatsQuery};

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
    /// Review change sets (what a re-import changes) and approve or reject them.
    #[command(subcommand)]
    Changes(ChangesCommand),
    /// Follow and control notice campaigns; write broadcasts.
    #[command(subcommand)]
    Campaigns(CampaignsCommand),
    /// Create, list and revoke admin API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Invite, list and revoke the clerks who file reports in the field (via the Telegram bot).
    #[command(subcommand)]
    Clerk(ClerkCommand),
    /// Reports of citizens missing from the roll: list, export for the revision, mark handled.
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// Show the audit log (every import, dry run and token change), newest first; `audit
    /// verify` checks its hash chain.
    #[command(args_conflicts_with_subcommands = true)]
    Audit {
        #[command(subcommand)]
        check: Option<AuditCommand>,
        /// Only this action or action prefix (e.g. `import`, `token.create`).
        #[arg(long)]
        action: Option<String>,
        /// Only entries by this actor (token name).
        #[arg(long)]
        actor: Option<String>,
        /// Only entries concerning this commune.
        #[arg(long, value_name = "CODE")]
        commune: Option<String>,
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show lookup statistics and how full the stations are.
    Stats {
        /// Only this commune.
        #[arg(long, value_name = "CODE")]
        commune: Option<String>,
        /// Lookups of the last this many hours.
        #[arg(long, default_value_t = 24)]
        hours: u32,
    },
}

/// Checks of the audit log.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the audit hash chain from the first entry; print how many entries were checked
    /// and the head hash (record it elsewhere), or exit non-zero naming the first entry that
    /// does not match.
    Verify,
}

/// Clerks.
#[derive(Debug, Subcommand)]
pub enum ClerkCommand {
    /// Print a one-time code for a clerk of a commune; the clerk sends `/clerk CODE` to the
    /// Telegram bot to enrol.
    Invite {
        #[arg(long, value_name = "CODE")]
        commune: String,
        /// How long the code can be used.
        #[arg(long, default_value_t = crate::admin::reports::DEFAULT_INVITE_HOURS)]
        valid_hours: u32,
    },
    /// List clerks, newest first.
    List {
        #[arg(long, value_name = "CODE")]
        commune: Option<String>,
    },
    /// Revoke a clerk: they can no longer file reports.
    Revoke { id: i64 },
}

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
    fn params(self, limit: Option<u32>) -> crate::admin::reports::ReportParams {
        crate::admin::reports::ReportParams {
            commune: self.commune,
            status: self.status,
            from: self.from,
            to: self.to,
            limit,
            offset: None,
        }
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

/// Change set review.
#[derive(Debug, Subcommand)]
pub enum ChangesCommand {
    /// List change sets, newest first.
    List {
        /// Only pending, approved, rejected or superseded ones.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a change set: counts, station flows, changed places and the first voters (NINs
    /// masked).
    Show {
        id: i64,
        /// How many voter changes to list.
        #[arg(long, default_value_t = 20)]
        voters: u32,
    },
    /// Approve: the new version becomes current and subscribers of affected voters are told.
    Approve { id: i64 },
    /// Reject: the new version is discarded.
    Reject { id: i64 },
}

/// Campaigns of notices.
#[derive(Debug, Subcommand)]
pub enum CampaignsCommand {
    /// List campaigns, newest first.
    List,
    /// Show a campaign and its progress (pending, sent, delivered, failed...).
    Show { id: i64 },
    /// Write a broadcast to the subscribers of a commune, centre or station; prints the
    /// recipients per channel and the SMS cost, and leaves it as a draft to confirm.
    Broadcast {
        #[arg(long, value_name = "CODE")]
        commune: String,
        #[arg(long, value_name = "CODE")]
        centre: Option<String>,
        /// Needs --centre.
        #[arg(long)]
        station: Option<u16>,
        /// Reach whoever reported a citizen of the commune missing from the roll and is still
        /// waiting, instead of subscribers (no --centre or --station).
        #[arg(long, conflicts_with_all = ["centre", "station"])]
        reporters: bool,
        /// The Arabic text.
        #[arg(long)]
        ar: String,
        /// The French text.
        #[arg(long)]
        fr: String,
    },
    /// Confirm a draft broadcast: it starts sending.
    Confirm { id: i64 },
    /// Pause a sending campaign.
    Pause { id: i64 },
    /// Resume a paused campaign.
    Resume { id: i64 },
    /// Cancel a campaign: what is not sent yet never will be.
    Cancel { id: i64 },
}

/// Token management.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only a hash is stored).
    Create {
        /// national, commune_admin or clerk_supervisor.
        #[arg(long)]
        role: Role,
        /// A commune the token covers (repeat for several); not for national tokens.
        #[arg(long = "commune", value_name = "CODE")]
        communes: Vec<String>,
        /// Days until the token expires (default: never).
        #[arg(long, value_name = "DAYS")]
        expires: Option<u32>,
        /// Who or what the token is for; recorded as the actor in the audit log.
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke {
        /// The id shown by `maktab token list`.
        id: i64,
    },
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
            Command::Token(command) => token(&config, command).await,
            Command::Changes(command) => changes(&config, command).await,
            Command::Campaigns(command) => campaigns(&config, command).await,
            Command::Audit {
                check: Some(AuditCommand::Verify),
                ..
            } => audit_verify(&config).await,
            Command::Audit {
                check: None,
                action,
                actor,
                commune,
                limit,
            } => audit(&config, action, actor, commune, limit).await,
            Command::Stats { commune, hours } => stats(&config, commune, hours).await,
            Command::Clerk(command) => clerk(&config, command).await,
            Command::Reports(command) => reports(&config, command).await,
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
        // A service's standard output usually ends up in its log (journald, docker logs):
        // the demo voters' NINs go to it only when it is a terminal someone is looking at.
        let samples = std::io::stdout().is_terminal();
        load_demo_into(Arc::clone(&store), samples).await?;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(address = %listener.local_addr()?, database = %config.database_url, "maktab serving");
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
    let telegram = telegram_bot(config)?;
    if telegram.is_none() {
        tracing::info!("telegram not configured: POST /webhooks/telegram answers 404");
    }
    let sms = SmsGateway::from_config(&config.sms, Arc::clone(&store))
        .context("SMS gateway configuration")?;
    let providers: Vec<&str> = sms.configured().iter().map(|p| p.as_str()).collect();
    tracing::info!(?providers, "sms webhooks");
    let app = App::new(store, config)
        .context("message catalogues")?
        .with_sms(sms)
        .with_telegram(telegram);
    server::serve(listener, metrics_listener, app, server::shutdown_signal()).await?;
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
    let kind = match target {
        ImportTarget::Map => ImportKind::Map,
        ImportTarget::Roll => ImportKind::Roll,
    };
    let outcome = crate::admin::imports::import(
        store,
        &Principal::command_line(),
        kind,
        Box::new(input),
        args.dry_run,
        config.import.max_voters_per_station,
        &args.file.display().to_string(),
    )
    .await;
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

fn communes(codes: &[String]) -> anyhow::Result<Vec<CommuneCode>> {
    codes
        .iter()
        .map(|code| CommuneCode::parse(code).with_context(|| format!("--commune {code:?}")))
        .collect()
}

fn time(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0).map_or_else(
        || timestamp.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

async fn token(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let operator = Principal::command_line();
    match command {
        TokenCommand::Create {
            role,
            communes: codes,
            expires,
            name,
        } => {
            let issued = auth::create_token(
                store.as_ref(),
                &operator,
                &name,
                role,
                communes(&codes)?,
                expires,
            )
            .await?;
            println!(
                "Token {} created for {name:?} ({role}). It is shown only now; keep it secret:",
                issued.id
            );
            println!("{}", issued.token);
        }
        TokenCommand::List => {
            let now = crate::domain::now();
            println!(
                "{:>4}  {:<8} {:<17} {:<24} {:<20} name",
                "id", "state", "role", "communes", "expires"
            );
            for token in store.tokens().await? {
                let codes: Vec<&str> = token.communes.iter().map(CommuneCode::as_str).collect();
                println!(
                    "{:>4}  {:<8} {:<17} {:<24} {:<20} {}",
                    token.id,
                    auth::describe(&token, now),
                    token.role.as_str(),
                    if codes.is_empty() {
                        "all".to_owned()
                    } else {
                        codes.join(",")
                    },
                    token.expires_at.map_or_else(|| "never".to_owned(), time),
                    token.name
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if auth::revoke_token(store.as_ref(), &operator, id).await? {
                println!("Token {id} revoked.");
            } else {
                bail!("no active token with id {id}");
            }
        }
    }
    Ok(())
}

async fn audit(
    config: &Config,
    action: Option<String>,
    actor: Option<String>,
    commune: Option<String>,
    limit: u32,
) -> anyhow::Result<()> {
    let store = open(config).await?;
    let communes = commune.map(|c| communes(&[c])).transpose()?;
    let entries = store
        .audit_entries(&AuditQuery {
            action,
            actor,
            communes,
            limit,
            ..AuditQuery::default()
        })
        .await?;
    for entry in entries {
        let codes: Vec<&str> = entry.communes.iter().map(CommuneCode::as_str).collect();
        println!(
            "#{:<5} {}  {:<22} {:<28} [{}] {}",
            entry.id,
            time(entry.at),
            entry.action,
            entry.actor,
            codes.join(","),
            entry.details
        );
    }
    Ok(())
}

/// `maktab audit verify`.
async fn audit_verify(config: &Config) -> anyhow::Result<()> {
    let store = open(config).await?;
    let verification = store.verify_audit_chain().await?;
    match (verification.broken_id, verification.broken) {
        (Some(id), Some(problem)) => {
            let after = verification
                .head_id
                .map_or_else(|| "the start".to_owned(), |head| format!("entry #{head}"));
            bail!(
                "audit entry #{id} {problem}; checked {} entries, the chain holds up to {after}",
                verification.checked
            )
        }
        _ => {
            println!(
                "audit chain holds: {} entries checked",
                verification.checked
            );
            if let (Some(id), Some(hash)) = (verification.head_id, &verification.head_hash) {
                println!("head: entry #{id} {hash}");
            }
            Ok(())
        }
    }
}

async fn stats(config: &Config, commune: Option<String>, hours: u32) -> anyhow::Result<()> {
    let store = open(config).await?;
    let communes = commune.map(|c| communes(&[c])).transpose()?;
    let since = crate::domain::now() - i64::from(hours) * 3600;
    let rows = store
        .lookup_counts(&LookupStatsQuery {
            since: Some(since - since.rem_euclid(3600)),
            communes: communes.clone(),
            ..LookupStatsQuery::default()
        })
        .await?;
    let summary = crate::admin::routes::summarise(rows);
    println!("Lookups, last {hours} hours: {}", summary.total);
    for (outcome, count) in &summary.by_outcome {
        println!("  {outcome:<22} {count:>10}");
    }
    for (channel, count) in &summary.by_channel {
        println!("  channel {channel:<14} {count:>10}");
    }
    let roll = crate::admin::routes::roll_statistics(
        store.as_ref(),
        communes.as_deref(),
        config.import.max_voters_per_station,
    )
    .await?;
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

fn api(error: crate::admin::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

async fn clerk(config: &Config, command: ClerkCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let operator = Principal::command_line();
    match command {
        ClerkCommand::Invite {
            commune,
            valid_hours,
        } => {
            let invitation = crate::admin::reports::invite_clerk(
                store.as_ref(),
                &operator,
                &commune,
                Some(valid_hours),
            )
            .await
            .map_err(api)?;
            println!(
                "Clerk {} invited for commune {commune}. Give them this code, valid until {}:\n\n    {}\n\nThey send to the Telegram bot:  /clerk {}",
                invitation.clerk_id,
                time(invitation.expires_at),
                invitation.code,
                invitation.code
            );
        }
        ClerkCommand::List { commune } => {
            let communes = commune
                .map(|c| CommuneCode::parse(&c).with_context(|| format!("--commune {c:?}")))
                .transpose()?
                .map(|c| vec![c]);
            for clerk in store.clerks(communes.as_deref()).await? {
                let state = match (clerk.revoked_at, clerk.enrolled_at) {
                    (Some(at), _) => format!("revoked {}", time(at)),
                    (None, Some(at)) => format!("enrolled {}", time(at)),
                    (None, None) => format!(
                        "invited, code valid until {}",
                        clerk.invite_expires_at.map(time).unwrap_or_default()
                    ),
                };
                println!(
                    "#{:<4} commune {:<8} invited {} by {}  {}",
                    clerk.id,
                    clerk.commune,
                    time(clerk.invited_at),
                    clerk.invited_by,
                    state
                );
            }
        }
        ClerkCommand::Revoke { id } => {
            crate::admin::reports::revoke_clerk(store.as_ref(), &operator, id)
                .await
                .map_err(api)?;
            println!("Clerk {id} revoked.");
        }
    }
    Ok(())
}

async fn reports(config: &Config, command: ReportsCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let operator = Principal::command_line();
    match command {
        ReportsCommand::List { filters, limit } => {
            let query = filters
                .params(Some(limit))
                .query(&operator, limit)
                .map_err(api)?;
            for report in store.reports(&query).await? {
                let mut sources: Vec<&str> =
                    report.sources.iter().map(|s| s.kind.as_str()).collect();
                sources.dedup();
                println!(
                    "#{:<6} {}  commune {:<8} {:<8}  filed {}  by {}",
                    report.id,
                    report.nin.masked(),
                    report.commune,
                    report.status.as_str(),
                    time(report.created_at),
                    sources.join("+")
                );
            }
        }
        ReportsCommand::Export { filters, output } => {
            let (csv, rows) = crate::admin::reports::export_reports(
                store.as_ref(),
                &operator,
                &filters.params(None),
            )
            .await
            .map_err(api)?;
            match output {
                Some(path) => {
                    std::fs::write(&path, csv)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("{rows} reports written to {}", path.display());
                }
                None => {
                    use std::io::Write as _;
                    std::io::stdout().write_all(&csv)?;
                }
            }
        }
        ReportsCommand::Handle { ids } => {
            let handled = crate::admin::reports::mark_handled(store.as_ref(), &operator, &ids)
                .await
                .map_err(api)?;
            println!("{handled} reports marked handled.");
        }
        ReportsCommand::Stats { commune } => {
            let communes = commune
                .map(|c| CommuneCode::parse(&c).with_context(|| format!("--commune {c:?}")))
                .transpose()?
                .map(|c| vec![c]);
            println!(
                "{:<8} {:<6} {:<9} {:>8}",
                "commune", "source", "status", "reports"
            );
            for count in store.report_counts(communes.as_deref()).await? {
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

async fn changes(config: &Config, command: ChangesCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let operator = Principal::command_line();
    match command {
        ChangesCommand::List { status } => {
            let status = status
                .map(|s| {
                    s.parse::<crate::store::ChangeSetStatus>()
                        .map_err(anyhow::Error::msg)
                })
                .transpose()?;
            for change_set in store.change_sets(status, 100).await? {
                let communes: Vec<&str> = change_set
                    .communes
                    .iter()
                    .map(CommuneCode::as_str)
                    .collect();
                println!(
                    "#{:<4} {:<10} {:<5} v{} -> v{}  {}  by {}  [{}] {}",
                    change_set.id,
                    change_set.status.as_str(),
                    change_set.kind.as_str(),
                    change_set.base_version,
                    change_set.new_version,
                    time(change_set.created_at),
                    change_set.created_by,
                    communes.join(","),
                    change_set.summary
                );
            }
        }
        ChangesCommand::Show { id, voters } => {
            let Some(change_set) = store.change_set(id).await? else {
                bail!("no change set {id}");
            };
            println!("{}", serde_json::to_string_pretty(&change_set)?);
            for place in store.place_changes(id).await? {
                println!(
                    "  {} {}/{}{}",
                    place.change,
                    place.commune,
                    place.centre,
                    place.station.map(|s| format!("/{s}")).unwrap_or_default()
                );
            }
            for change in store.voter_changes(id, voters, 0).await? {
                let at = |s: &Option<crate::domain::StationRef>| {
                    s.as_ref().map_or("-".to_owned(), |s| s.to_string())
                };
                println!(
                    "  {:?} {} {} -> {}",
                    change.change,
                    change.nin.masked(),
                    at(&change.old),
                    at(&change.new)
                );
            }
        }
        ChangesCommand::Approve { id } => {
            let catalog = Catalog::load().context("message catalogues")?;
            let (campaign, notices) = crate::admin::changes::approve(
                store.as_ref(),
                &catalog,
                &operator,
                id,
                config.changes.two_person_rule,
            )
            .await
            .map_err(api)?;
            println!(
                "Change set {id} approved: now current. Campaign {campaign} will send {notices} notices."
            );
        }
        ChangesCommand::Reject { id } => {
            crate::admin::changes::reject(store.as_ref(), &operator, id)
                .await
                .map_err(api)?;
            println!("Change set {id} rejected: its version was discarded.");
        }
    }
    Ok(())
}

async fn campaigns(config: &Config, command: CampaignsCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let operator = Principal::command_line();
    match command {
        CampaignsCommand::List => {
            for campaign in store.campaigns(None, 100).await? {
                println!(
                    "#{:<4} {:<9} {:<10} {}  by {}  {}",
                    campaign.id,
                    campaign.kind,
                    campaign.status.as_str(),
                    time(campaign.created_at),
                    campaign.created_by,
                    campaign.audience
                );
            }
        }
        CampaignsCommand::Show { id } => {
            let Some(campaign) = store.campaign(id).await? else {
                bail!("no campaign {id}");
            };
            println!("{}", serde_json::to_string_pretty(&campaign)?);
            for (status, count) in store.campaign_progress(id).await? {
                println!("  {status:<10} {count:>8}");
            }
        }
        CampaignsCommand::Broadcast {
            commune,
            centre,
            station,
            reporters,
            ar,
            fr,
        } => {
            let audience = crate::store::Audience {
                commune: CommuneCode::parse(&commune)
                    .with_context(|| format!("--commune {commune:?}"))?,
                centre: centre
                    .map(|c| {
                        crate::domain::CentreCode::parse(&c)
                            .with_context(|| format!("--centre {c:?}"))
                    })
                    .transpose()?,
                station,
                reporters,
            };
            let (id, preview) = crate::admin::changes::create_broadcast(
                store.as_ref(),
                &operator,
                &audience,
                &ar,
                &fr,
            )
            .await
            .map_err(api)?;
            println!(
                "Broadcast {id} drafted. Recipients: {:?}; SMS segments: {}.",
                preview.recipients, preview.sms_segments
            );
            println!("Nothing is sent until you run: maktab campaigns confirm {id}");
        }
        CampaignsCommand::Confirm { id } => {
            let notices = crate::admin::changes::confirm_broadcast(store.as_ref(), &operator, id)
                .await
                .map_err(api)?;
            println!("Campaign {id} confirmed: {notices} notices queued.");
        }
        CampaignsCommand::Pause { id } => control(store.as_ref(), &operator, id, "pause").await?,
        CampaignsCommand::Resume { id } => control(store.as_ref(), &operator, id, "resume").await?,
        CampaignsCommand::Cancel { id } => control(store.as_ref(), &operator, id, "cancel").await?,
    }
    Ok(())
}

async fn control(
    store: &dyn Store,
    operator: &Principal,
    id: i64,
    action: &str,
) -> anyhow::Result<()> {
    crate::admin::changes::control_campaign(store, operator, id, action)
        .await
        .map_err(api)?;
    println!("Campaign {id}: {action} done.");
    Ok(())
}
