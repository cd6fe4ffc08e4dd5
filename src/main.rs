use clap::Parser;

fn main() {
    let cli = dag::cli::Cli::parse();
    if let Err(e) = dag::app::run(cli) {
        if !matches!(e, dag::engine::error::Error::RunFailed | dag::engine::error::Error::Interrupted) {
            eprintln!("error: {e}");
        }
        std::process::exit(e.exit_code());
    }
}
