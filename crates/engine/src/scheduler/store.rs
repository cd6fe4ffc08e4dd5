//! Storing a finished job's output: the scheduler's, and only the scheduler's, write to the
//! store. Executors leave the output in the job's staging folder, wherever they computed it;
//! the run that holds the cache moves it into the store and writes the explanation beside it.
//! (The action record that names the output follows in `Scheduler::complete`.)

use crate::cache::{remove_staging, store_output, Manifest, ManifestIndex};
use crate::executor::{Cancel, Executor, Job, JobError};
use std::path::PathBuf;
use std::sync::Arc;
use crate::executor::usage::Usage;
use std::time::{Instant, SystemTime};

/// What storing needs, taken from the cache before the job starts: the store's root, its
/// manifest index, and the explanation to write (path and record) for `plan`/`why`.
pub struct StoreTo {
    pub root: PathBuf,
    pub manifests: ManifestIndex,
    pub explain: (PathBuf, serde_json::Value),
}

pub struct Outcome {
    pub result: Result<(String, Arc<Manifest>), JobError>,
    pub secs: f64,
    /// When the attempt started (after any pause before a retry).
    pub start: SystemTime,
    pub usage: Usage,
}

/// Runs `job` on `executor`, then stores its output; a failed job's staging folder is removed.
pub async fn run_and_store(executor: &dyn Executor, job: Job, to: StoreTo, cancel: Cancel) -> Outcome {
    let (start, began) = (Instant::now(), SystemTime::now());
    let result = match executor.run(&job, cancel).await {
        Ok(()) => store(job.staging.clone(), to).await,
        Err(e) => Err(e),
    };
    if result.is_err() {
        remove_staging(&job.staging);
    }
    let mut usage = job.measured();
    if usage.executor.is_empty() {
        usage.executor = "local".into();
    }
    Outcome { result, secs: start.elapsed().as_secs_f64(), start: began, usage }
}

async fn store(staging: PathBuf, to: StoreTo) -> Result<(String, Arc<Manifest>), JobError> {
    tokio::task::spawn_blocking(move || {
        let stored = store_output(&to.root, &staging, &to.manifests).map_err(|e| JobError::Store(e.to_string()))?;
        let (path, mut record) = to.explain;
        record["output"] = serde_json::Value::String(stored.0.clone());
        // The explanation is a convenience; failing to write it must not fail the job.
        let _ = std::fs::write(&path, serde_json::to_vec_pretty(&record).unwrap_or_default());
        Ok(stored)
    })
    .await
    .unwrap_or_else(|e| Err(JobError::Store(format!("storing the output panicked: {e}"))))
}
