//! `dag stats`: the study's survival statistics on any cohort table.

use crate::cli::StatsArgs;
use dag_engine::error::Error;
use dag_study::statistics::{analyse, render_text, table::Table, Config};

pub fn stats(a: StatsArgs) -> Result<(), Error> {
    let cfg = Config {
        time: a.time,
        event: a.event,
        score: a.score,
        covariates: a.covariates,
        horizons: a.horizons,
        bootstrap: a.bootstrap,
        seed: a.seed,
        ties: a.ties,
        by: a.by,
        fold: a.fold,
        // As a pipeline's `table:` would name it, so that the task's own checks apply.
        table: Some(a.file.clone()),
        ..Config::default()
    };
    super::validated::<dag_study::statistics::task::SurvivalStats>(&cfg)?;
    // A file that cannot be opened is an I/O error (exit 4); one that opens but holds a bad
    // table is bad input (exit 2, README).
    std::fs::File::open(&a.file).map_err(|source| Error::Io { path: a.file.clone(), source })?;
    let table = Table::read(&a.file).map_err(|e| Error::Usage(e.to_string()))?;
    let v = analyse(&table, &cfg).map_err(|e| Error::Usage(e.to_string()))?;
    if a.json {
        crate::stdout::outln!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        crate::stdout::out!("{}", render_text(&v, &table, &cfg));
    }
    Ok(())
}
