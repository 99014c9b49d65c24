//! The `maktab` command line: every command and its help text. Each command group has its
//! file, with its arguments beside its handler; office commands are thin callers of the
//! [`office`](crate::office), acting as [`Principal::command_line`].
//!
//! Errors go back to `main` as `anyhow::Error`; [`describe_error`] prints them with their
//! whole chain of causes, so that a database failure shows what the database said.
//!
//! Standard output may be a pipe its reader closes early (`maktab audit | head -1`). The
//! commands print with `println!` and `print!`, which here are the macros below rather than
//! std's: std's panic on a closed pipe (exit 101), ours end the process quietly with success,
//! since the reader has all it asked for. This is one place for every command, and needs no
//! `unsafe` (restoring the default SIGPIPE action would, and would end with 141, not 0).

/// [`std::println`] that ends the process quietly when standard output is closed.
macro_rules! println {
    () => {
        $crate::cli::write_out(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::print_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// [`std::print`] that ends the process quietly when standard output is closed.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::cli::print_out(format_args!($($arg)*))
    };
}

mod ask;
mod audit;
mod campaigns;
mod changes;
mod clerk;
mod import;
mod plan;
mod reports;
mod serve;
mod stats;
mod telegram;
mod tickets;
mod token;
mod user;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

pub use ask::AskArgs;
pub use audit::AuditArgs;
pub use campaigns::CampaignsCommand;
pub use changes::ChangesCommand;
pub use clerk::ClerkCommand;
pub use import::{ImportArgs, ImportCommand};
pub use plan::{PlanArgs, StrategyArg};
pub use reports::{ReportFilters, ReportsCommand};
pub use serve::ServeArgs;
pub use stats::StatsArgs;
pub use telegram::TelegramCommand;
pub use tickets::{DutyCommand, TicketsCommand};
pub use token::TokenCommand;
pub use user::UserCommand;

use crate::config::Config;
use crate::domain::CommuneCode;
use crate::i18n::Catalog;
use crate::office::{Office, Principal, Rules};
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
    Serve(ServeArgs),
    /// Load the demo data (real commune names, synthetic centres and voters) into an empty
    /// database and print NIN and birth-date pairs to try with `maktab ask`.
    Demo,
    /// Run one message through the conversation core and print the replies exactly as the
    /// voter would get them.
    Ask(AskArgs),
    /// Import the electoral map or the roll from a CSV file (formats in the README).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Plan the stations: split and balance them within the legal limit, keep women's
    /// stations, and count the ballots and cards each centre needs. Writes files to import.
    Plan(PlanArgs),
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
    /// Create, list and disable web console users, and reset their passwords.
    #[command(subcommand)]
    User(UserCommand),
    /// Invite, list and revoke the clerks who file reports in the field (via the Telegram bot).
    #[command(subcommand)]
    Clerk(ClerkCommand),
    /// The duty desk's tickets: the queue, a ticket, answering, notes, closing.
    #[command(subcommand)]
    Tickets(TicketsCommand),
    /// The duty roster: shifts, who is on duty now, the desk's statistics.
    #[command(subcommand)]
    Duty(DutyCommand),
    /// Reports of citizens missing from the roll: list, export for the revision, mark handled.
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// Show the audit log (every import, dry run and token change), newest first; `audit
    /// verify` checks its hash chain.
    Audit(AuditArgs),
    /// Show lookup statistics and how full the stations are.
    Stats(StatsArgs),
    /// Print the admin API's OpenAPI 3 document (JSON), the one `GET /api/v1/openapi.json`
    /// serves.
    Openapi,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref(), |name| std::env::var(name).ok())?;
    let serving = matches!(cli.command, Command::Serve(_));
    init_logging(&config, serving);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::serve(&config, args).await,
            Command::Demo => serve::demo(&config).await,
            Command::Ask(args) => ask::ask(&config, args).await,
            Command::Import(command) => import::run(&config, command).await,
            Command::Plan(args) => plan::run(&config, args),
            Command::Telegram(command) => telegram::run(&config, command).await,
            Command::Changes(command) => changes::run(&config, command).await,
            Command::Campaigns(command) => campaigns::run(&config, command).await,
            Command::Token(command) => token::run(&config, command).await,
            Command::User(command) => user::run(&config, command).await,
            Command::Clerk(command) => clerk::run(&config, command).await,
            Command::Reports(command) => reports::run(&config, command).await,
            Command::Tickets(command) => tickets::run_tickets(&config, command).await,
            Command::Duty(command) => tickets::run_duty(&config, command).await,
            Command::Audit(args) => audit::run(&config, args).await,
            Command::Stats(args) => stats::run(&config, args).await,
            Command::Openapi => print_openapi(),
        }
    })
}

/// `maktab openapi`: the document `GET /api/v1/openapi.json` serves, without a database or a
/// token, so that CI can validate it on a bare checkout.
fn print_openapi() -> anyhow::Result<()> {
    use utoipa::OpenApi as _;
    let document = crate::admin::openapi::ApiDoc::openapi()
        .to_pretty_json()
        .context("cannot write the OpenAPI document")?;
    println!("{document}");
    Ok(())
}

/// Writes formatted text to standard output (what `println!` and `print!` expand to here).
pub(crate) fn print_out(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    if let Err(error) = std::io::stdout().lock().write_fmt(text) {
        stdout_failed(&error);
    }
}

/// Writes bytes to standard output, as [`print_out`] does text.
pub(crate) fn write_out(bytes: &[u8]) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_all(bytes).and_then(|()| out.flush()) {
        stdout_failed(&error);
    }
}

/// Standard output failed. A closed pipe ends the command with success: whatever it was doing
/// is done (commands print after they act), and the reader took what it wanted. Anything
/// else (a full disk) is a failure, said on stderr.
fn stdout_failed(error: &std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {error}");
    std::process::exit(1);
}

/// An error with its whole chain of causes, as `main` prints it.
pub fn describe_error(error: &anyhow::Error) -> String {
    crate::office::error::with_causes(error.as_ref())
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

/// The configured database.
async fn open(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    store::connect(&config.database_url).await.with_context(|| {
        format!(
            "cannot open the database {}",
            without_password(&config.database_url)
        )
    })
}

/// The office over the configured database, and the command line's principal.
async fn office(config: &Config) -> anyhow::Result<(Office, Principal)> {
    let store = open(config).await?;
    let catalog = Catalog::load().context("message catalogues")?;
    let office = Office::new(store, Arc::new(catalog), Rules::from_config(config));
    Ok((office, Principal::command_line()))
}

/// Parses `--commune` values.
fn communes(codes: &[String]) -> anyhow::Result<Vec<CommuneCode>> {
    codes.iter().map(|code| commune(code)).collect()
}

/// Parses one `--commune` value.
fn commune(code: &str) -> anyhow::Result<CommuneCode> {
    CommuneCode::parse(code).with_context(|| format!("--commune {code:?}"))
}

/// A timestamp as people read it.
fn time(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0).map_or_else(
        || timestamp.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// The database URL as it may be logged: a PostgreSQL URL's password replaced by `***` (a
/// service's log is read by more people than its configuration); a URL that cannot be
/// parsed is shown only if it has no `@`, since otherwise nobody can tell what in it is
/// secret.
pub(super) fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Only fails for URLs that cannot have a password, which this one has.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        // Without an `@` there is no user or password in it to hide.
        Err(_) if !url.contains('@') => url.to_owned(),
        Err(_) => "(a database URL that is not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn the_logged_database_url_has_no_password() {
        assert_eq!(
            without_password("postgres://maktab:s3cret@db.internal:5432/maktab?max_connections=16"),
            "postgres://maktab:***@db.internal:5432/maktab?max_connections=16"
        );
        assert_eq!(
            without_password("postgres://db.internal/maktab"),
            "postgres://db.internal/maktab"
        );
        assert_eq!(without_password("sqlite://maktab.db"), "sqlite://maktab.db");
        assert!(!without_password("postgres://u:s3cret@[bad").contains("s3cret"));
        assert_eq!(without_password("maktab.db"), "maktab.db");
    }
}
