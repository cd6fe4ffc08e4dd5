//! `dag gc`: removes the outputs that none of the last runs used.

use dag_engine::cache::{Cache, LockMode};
use dag_engine::error::Error;
use std::path::Path;

pub fn gc(cache: &Path, keep_runs: usize, dry_run: bool) -> Result<(), Error> {
    let mut c = Cache::open(cache, LockMode::Wait, |owner| eprintln!("waiting for the dag run holding {}{owner}…", cache.display()))?;
    let r = c.gc(keep_runs, dry_run)?;
    crate::stdout::outln!(
        "{}{} outputs removed ({:.1} MB), {} kept (used by the last {} runs), {} action records dropped, {} older runs' traces deleted",
        if dry_run { "dry run: " } else { "" },
        r.outputs_removed,
        r.bytes_freed as f64 / 1e6,
        r.outputs_kept,
        r.runs_considered,
        r.actions_removed,
        r.histories_removed
    );
    Ok(())
}
