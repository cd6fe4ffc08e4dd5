//! Executors compute one prepared job into its staging folder and write its log. They never
//! store (the scheduler, which owns the cache, is the store's one writer) and never print.

pub mod arrays;
pub mod jobfile;
pub mod local;
pub mod sacct;
pub mod slurm;
pub mod squeue;
pub mod usage;

use crate::task::{Device, DynTask};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub enum Work {
    /// A command for bash, with every path already substituted.
    Shell { command: String },
    Task { task: Arc<dyn DynTask>, params: serde_json::Value },
}

/// Everything needed to run one instance, independent of the scheduler's state.
pub struct Job {
    pub id: Arc<str>,
    pub value: Option<String>,
    pub work: Work,
    /// `staging/out` is the fresh output folder.
    pub staging: PathBuf,
    pub log: PathBuf,
    pub workdir: PathBuf,
    /// For tasks: each needed node's output folders.
    pub inputs: BTreeMap<String, Vec<PathBuf>>,
    pub device: Device,
    /// The node's `resources.cpu_fallback`, for the task where it runs.
    pub cpu_fallback: bool,
    /// CUDA_VISIBLE_DEVICES for shell commands: the GPU ordinals the job holds here, or
    /// `None` to keep what the environment says (Slurm sets it for the GPUs it allocated).
    pub visible_devices: Option<String>,
    pub cpus: u32,
    /// The memory and the number of GPUs the job holds (what a batch system must allocate).
    pub mem_gb: f64,
    pub gpus: usize,
    /// The node's `timeout:`: an attempt that runs longer is stopped and fails.
    pub timeout: Option<std::time::Duration>,
    /// What the attempt used, as the executor measured it where it ran (it fills this in,
    /// whether the job succeeds or not; the scheduler reads it for the trace).
    pub usage: std::sync::Mutex<usage::Usage>,
}

impl Job {
    pub fn record(&self, u: usage::Usage) {
        *self.usage.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = u;
    }
    pub fn measured(&self) -> usage::Usage {
        self.usage.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// Shared between the scheduler and running jobs: set once to stop everything.
#[derive(Clone)]
pub struct Cancel {
    pub flag: Arc<AtomicBool>,
    pub watch: tokio::sync::watch::Receiver<bool>,
}

impl Cancel {
    /// Resolves once stopping is asked for (or the scheduler that would ask is gone): the
    /// branch a running job races its work against.
    pub async fn requested(&mut self) {
        let _ = self.watch.wait_for(|c| *c).await;
    }
}

/// Why a job left no output. The scheduler reports it (its text) as the instance's failure;
/// the kind says where it went wrong.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Stopped on request (Ctrl-C here, `scancel` or SIGTERM there); the text says what stopped.
    #[error("{0}")]
    Interrupted(String),
    /// The command or the task failed, or its log or staging folder could not be written.
    #[error("{0}")]
    Task(String),
    /// The output was computed but could not be stored.
    #[error("{0}")]
    Store(String),
    /// The batch system refused or lost the job, or its files could not be handed over.
    #[error("{0}")]
    Remote(String),
    /// The batch system will never run it as asked (it asks for more than a partition has):
    /// another attempt would wait in vain.
    #[error("{0}")]
    Refused(String),
    /// It ran longer than its node's `timeout:` and was stopped.
    #[error("timed out after {}", crate::spec::duration::show(*.0))]
    TimedOut(std::time::Duration),
}

impl JobError {
    /// Whether another attempt may succeed (`retries:`): a failed command or task, a lost
    /// batch job (or an sbatch that failed to answer) or a time limit may be transient; a stop
    /// that was asked for, a job the cluster will never start, or a store that cannot be
    /// written, is not.
    pub fn retryable(&self) -> bool {
        matches!(self, JobError::Task(_) | JobError::Remote(_) | JobError::TimedOut(_))
    }
}

/// A job's computation, boxed so that executors can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where jobs run: here ([`Local`]), as batch jobs of a Slurm cluster ([`slurm::Slurm`]), or
/// wherever a test puts them.
pub trait Executor: Send + Sync {
    /// Computes `job` into `job.staging/out`, writing its log; the error says why it failed.
    /// Resolves early, with an error, once `cancel` is requested.
    fn run<'a>(&'a self, job: &'a Job, cancel: Cancel) -> BoxFuture<'a, Result<(), JobError>>;

    /// Where a job holding `device` runs, for the logs.
    fn place(&self, device: Device) -> String {
        device.to_string()
    }

    /// Where jobs run, for the start of a run's output; `None` for this machine.
    fn describe(&self) -> Option<String> {
        None
    }

    /// Whether this executor runs nothing ([`DryRun`]): the scheduler then resolves every
    /// instance it can and stops short of launching any (a launch would write a staging
    /// folder into a cache that a dry run opens read-only).
    fn dry_run(&self) -> bool {
        false
    }
}

/// Runs nothing: the scheduler driven by it is `dag plan` (`Scheduler::plan`), which thereby
/// resolves instances exactly as `run` does.
pub struct DryRun;

impl Executor for DryRun {
    fn run<'a>(&'a self, job: &'a Job, _cancel: Cancel) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move { Err(JobError::Refused(format!("{} was handed to the dry-run executor, which runs nothing", job.id))) })
    }

    fn dry_run(&self) -> bool {
        true
    }
}

/// This machine: shell commands as child processes, tasks on blocking threads.
pub struct Local;

impl Executor for Local {
    fn run<'a>(&'a self, job: &'a Job, cancel: Cancel) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(local::run_work(job, cancel))
    }
}
