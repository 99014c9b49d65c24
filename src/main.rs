//! The `maktab` binary: parse the command line, run it, report failure on stderr.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = maktab::cli::Cli::parse();
    match maktab::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", maktab::cli::describe_error(&error));
            ExitCode::FAILURE
        }
    }
}
