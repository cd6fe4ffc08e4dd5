use clap::Parser;

fn main() {
    let cli = dag::cli::Cli::parse();
    if let Err(e) = dag::app::run(cli) {
        use dag::engine::error::Error;
        match &e {
            Error::RunFailed | Error::Interrupted | Error::Child(_) => {}
            // Diagnostics carry their own `file:line:col: error:` prefixes.
            Error::Diagnostics(_) | Error::Spec(dag::engine::spec::SpecError::Invalid(_)) => eprintln!("{e}"),
            _ => eprintln!("error: {e}"),
        }
        std::process::exit(e.exit_code());
    }
}
