//! The composition root of `casework`: command line → configuration → logs → the command.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = casework_server::cli::Cli::parse();
    casework_server::cli::run(cli)
}
