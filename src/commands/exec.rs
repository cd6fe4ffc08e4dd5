//! `dag exec JOB`: one job written by `dag run --executor slurm`, as each batch job runs it.

use dag_engine::error::Error;
use dag_engine::task::Registry;
use std::path::Path;

pub fn exec(registry: &Registry, job: &Path) -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|source| Error::Io { path: "tokio runtime".into(), source })?;
    // The job's own error is in its log and its result file, where `dag run` reads it.
    rt.block_on(dag_engine::executor::jobfile::exec(job, registry)).map_err(|e| {
        eprintln!("error: {e}");
        Error::RunFailed
    })
}
