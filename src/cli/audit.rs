//! `maktab audit`: the audit log, newest first; `maktab audit verify` walks its hash chain.

use anyhow::bail;
use clap::{Args, Subcommand};

use super::{commune, office, time};
use crate::config::Config;
use crate::domain::CommuneCode;
use crate::office::audit::AuditFilter;

/// Filters of `maktab audit`, or a check of the log.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub check: Option<AuditCommand>,
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

/// Checks of the audit log.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the audit hash chain from the first entry; print how many entries were checked
    /// and the head hash (record it elsewhere), or exit non-zero naming the first entry that
    /// does not match.
    Verify,
}

pub(super) async fn run(config: &Config, args: AuditArgs) -> anyhow::Result<()> {
    let (office, operator) = office(config).await?;
    if let Some(AuditCommand::Verify) = args.check {
        let verification = office.verify_audit(&operator).await?;
        if let (Some(id), Some(problem)) = (verification.broken_id, verification.broken) {
            let after = verification
                .head_id
                .map_or_else(|| "the start".to_owned(), |head| format!("entry #{head}"));
            bail!(
                "audit entry #{id} {problem}; checked {} entries, the chain holds up to {after}",
                verification.checked
            );
        }
        println!(
            "audit chain holds: {} entries checked",
            verification.checked
        );
        if let (Some(id), Some(hash)) = (verification.head_id, &verification.head_hash) {
            println!("head: entry #{id} {hash}");
        }
        return Ok(());
    }
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
