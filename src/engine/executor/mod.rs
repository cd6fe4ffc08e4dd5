//! Executors run one prepared job and store its output; they never print.

pub mod local;

use crate::engine::cache::{Manifest, ManifestIndex};
use crate::engine::task::{Device, DynTask};
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
    pub gpus: Vec<usize>,
    pub cpus: u32,
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
