//! Executors run one prepared job and store its output; they never print.

pub mod jobfile;
pub mod local;
pub mod slurm;
pub mod squeue;

use crate::cache::{Manifest, ManifestIndex};
use crate::task::{Device, DynTask};
use std::collections::BTreeMap;
use std::path::PathBuf;
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
    pub cache_root: PathBuf,
    pub manifests: ManifestIndex,
    /// For tasks: each needed node's output folders.
    pub inputs: BTreeMap<String, Vec<PathBuf>>,
    pub device: Device,
    /// CUDA_VISIBLE_DEVICES for shell commands: the GPU ordinals the job holds here, or
    /// `None` to keep what the environment says (Slurm sets it for the GPUs it allocated).
    pub visible_devices: Option<String>,
    pub cpus: u32,
    /// The memory and the number of GPUs the job holds (what a batch system must allocate).
    pub mem_gb: f64,
    pub gpus: usize,
    /// Written beside the output once stored, so `plan`/`why` can explain the next run.
    pub explain: (PathBuf, serde_json::Value),
}

pub struct Outcome {
    pub result: Result<(String, Arc<Manifest>), String>,
    pub secs: f64,
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

/// Where jobs run: here, or as batch jobs of a Slurm cluster.
pub enum Executor {
    Local,
    Slurm(Box<slurm::Slurm>),
}

impl Executor {
    pub async fn run(&self, job: Job, cancel: Cancel) -> Outcome {
        match self {
            Executor::Local => local::run(job, cancel).await,
            Executor::Slurm(s) => s.run(job, cancel).await,
        }
    }

    /// Where a job holding `device` runs, for the logs: the device here, or Slurm's node.
    pub fn place(&self, device: Device) -> String {
        match (self, device) {
            (Executor::Local, d) => d.to_string(),
            (Executor::Slurm(_), Device::Cpu) => "slurm".to_owned(),
            (Executor::Slurm(_), Device::Cuda(_)) => "slurm (cuda:0 of its node)".to_owned(),
        }
    }

    /// Where jobs run, for the start of a run's output; `None` for this machine.
    pub fn describe(&self) -> Option<String> {
        match self {
            Executor::Local => None,
            Executor::Slurm(s) => Some(s.describe()),
        }
    }
}
