//! `dag stats`: the study's survival statistics on any cohort table.

use crate::cli::StatsArgs;
use dag_engine::error::Error;
use dag_study::statistics::{analyse, render_text, table::Table, Config, StatsError};

pub fn stats(a: StatsArgs) -> Result<(), Error> {
    // As a pipeline's `table:` would name it, so that the task's own checks apply.
    let cfg = Config { table: Some(a.file.clone()), ..a.config };
    super::validated::<dag_study::statistics::task::SurvivalStats>(&cfg)?;
    std::fs::File::open(&a.file).map_err(|source| Error::Io { path: a.file.clone(), source })?;
    let table = Table::read(&a.file).map_err(|e| stats_error(e.into()))?;
    let v = analyse(&table, &cfg).map_err(stats_error)?;
    if a.json {
        crate::stdout::outln!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        crate::stdout::out!("{}", render_text(&v, &table, &cfg));
    }
    Ok(())
}

/// The README's exit codes: a request the table cannot answer (an option, a column it lacks)
/// is usage (2); a table whose data is bad (a cell that is not a number, no events) is bad
/// data (4), as a file that cannot be opened is.
fn stats_error(e: StatsError) -> Error {
    if e.is_usage() { Error::Usage(e.to_string()) } else { Error::BadData(e.to_string()) }
}
