//! `maktab user create|list|disable|reset-password`: console users. Passwords come from
//! standard input (`--password-stdin`), never from the command line, where `ps` and the shell
//! history would show them.

use std::io::Read;

use anyhow::Context;
use clap::Subcommand;

use super::{communes, office, time};
use crate::config::Config;
use crate::domain::{CommuneCode, Role};

/// Console user management.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a console user; the initial password is read from standard input.
    Create {
        /// The name the user signs in with (a-z, 0-9, '.', '_', '-', '@').
        #[arg(long)]
        login: String,
        /// national, commune_admin, clerk_supervisor or observer.
        #[arg(long)]
        role: Role,
        /// A commune the user covers (repeat for several); not for national users, optional
        /// for observers (none: every commune, read only).
        #[arg(long = "commune", value_name = "CODE")]
        communes: Vec<String>,
        /// Read the password from standard input (required: passwords are never arguments).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List console users (never their password hashes).
    List,
    /// Disable a user; their sessions end at once.
    Disable {
        /// The user's login.
        login: String,
    },
    /// Give a user a new password, read from standard input; their sessions end.
    ResetPassword {
        /// The user's login.
        login: String,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

/// The password on standard input, without the line end `echo` or a file adds.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the password from standard input")?;
    let password = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    Ok(password.to_owned())
}

pub(super) async fn run(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let (office, operator) = office(config).await?;
    match command {
        UserCommand::Create {
            login,
            role,
            communes: codes,
            password_stdin: _,
        } => {
            let password = password_from_stdin()?;
            let id = office
                .create_user(&operator, &login, role, communes(&codes)?, &password)
                .await?;
            println!("User {login} created (user:{id}, {role}).");
        }
        UserCommand::List => {
            println!(
                "{:>4}  {:<9} {:<17} {:<24} {:<5} login",
                "id", "state", "role", "communes", "totp"
            );
            for user in office.users(&operator).await? {
                let codes: Vec<&str> = user.communes.iter().map(CommuneCode::as_str).collect();
                let state = match user.disabled_at {
                    Some(at) => format!("disabled {}", time(at)),
                    None => "active".to_owned(),
                };
                println!(
                    "{:>4}  {:<9} {:<17} {:<24} {:<5} {}",
                    user.id,
                    state,
                    user.role.as_str(),
                    if codes.is_empty() {
                        "all".to_owned()
                    } else {
                        codes.join(",")
                    },
                    if user.totp_secret.is_some() {
                        "yes"
                    } else {
                        "no"
                    },
                    user.login
                );
            }
        }
        UserCommand::Disable { login } => {
            office.disable_user(&operator, &login).await?;
            println!("User {login} disabled; their sessions are ended.");
        }
        UserCommand::ResetPassword { login, .. } => {
            let password = password_from_stdin()?;
            office.reset_password(&operator, &login, &password).await?;
            println!("Password of {login} changed; their sessions are ended.");
        }
    }
    Ok(())
}
