//! `maktab audit`: the audit log, newest first.

use clap::Args;

use super::{commune, office, time};
use crate::config::Config;
use crate::domain::CommuneCode;
use crate::office::audit::AuditFilter;

/// Filters of `maktab audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this action or action prefix (e.g. `import`, `token.create`).
    #[arg(long)]
    pub action: Option<String>,
    /// Only entries by this actor (token name).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only entries concerning this commune.
    #[arg(long, value_name = "CODE")]
    pub commune: Option<String>,
    /// How many entries.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

pub(super) async fn run(config: &Config, args: AuditArgs) -> anyhow::Result<()> {
    let (office, operator) = office(config).await?;
    let filter = AuditFilter {
        action: args.action,
        actor: args.actor,
        commune: args.commune.as_deref().map(commune).transpose()?,
        limit: args.limit,
        ..AuditFilter::default()
    };
    for entry in office.audit(&operator, filter).await?.entries {
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
