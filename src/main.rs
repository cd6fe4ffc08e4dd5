//! `dag`: parses the command line, runs the command, and maps its error to the exit code
//! (the one place that does: see `Error::exit_code`).

mod cli;
mod commands;
mod helper;
mod stdout;
mod wiring;

use clap::Parser;
use dag_engine::error::Error;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(e) = commands::run(cli) {
        match &e {
            Error::RunFailed | Error::Interrupted | Error::Child(_) => {}
            // Diagnostics carry their own `file:line:col: error:` prefixes.
            Error::Diagnostics(_) | Error::Spec(dag_engine::spec::SpecError::Invalid(_)) => eprintln!("{e}"),
            _ => eprintln!("error: {e}"),
        }
        std::process::exit(e.exit_code());
    }
}
