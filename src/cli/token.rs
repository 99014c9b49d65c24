//! `maktab token create|list|revoke`: admin API tokens.

use clap::Subcommand;

use super::{communes, office, time};
use crate::config::Config;
use crate::domain::{CommuneCode, Role};
use crate::office::tokens::describe;

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

pub(super) async fn run(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    let (office, operator) = office(config).await?;
    match command {
        TokenCommand::Create {
            role,
            communes: codes,
            expires,
            name,
        } => {
            let issued = office
                .create_token(&operator, &name, role, communes(&codes)?, expires)
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
            for token in office.tokens(&operator).await? {
                let codes: Vec<&str> = token.communes.iter().map(CommuneCode::as_str).collect();
                println!(
                    "{:>4}  {:<8} {:<17} {:<24} {:<20} {}",
                    token.id,
                    describe(&token, now),
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
            office.revoke_token(&operator, id).await?;
            println!("Token {id} revoked.");
        }
    }
    Ok(())
}
