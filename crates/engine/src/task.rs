//! The contract between the engine and built-in tasks, and the registry of task kinds.
//!
//! A task declares typed parameters (checked when the spec is loaded), a version (part of
//! the cache key: bump it when the task's output for the same inputs changes) and a blocking
//! `run` that writes into `ctx.out`. The study registers its tasks; the engine never names them.

use super::params::{decode, ParamError};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where an in-process task should compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda(usize),
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{0}")]
    Failed(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cancelled")]
    Cancelled,
}

impl TaskError {
    pub fn msg(m: impl Into<String>) -> Self {
        TaskError::Failed(m.into())
    }
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TaskError + '_ {
        move |source| TaskError::Io { path: path.to_owned(), source }
    }
    /// Any other error about a file (CSV, JSON, …), prefixed with the file's path.
    pub fn at<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> TaskError + '_ {
        move |e| TaskError::Failed(format!("{}: {e}", path.display()))
    }
}

/// What a running task may see: its output folder, its inputs, its device and CPU share.
pub struct TaskCtx<'a> {
    pub instance: &'a str,
    /// The set value of this instance, for `foreach` nodes.
    pub value: Option<&'a str>,
    pub out: &'a Path,
    /// For each needed node, the output folders of the needed instances in set order.
    pub inputs: &'a BTreeMap<String, Vec<PathBuf>>,
    pub device: Device,
    /// The node allows the CPU when its GPU cannot be used (`resources.cpu_fallback`): a task
    /// handed a GPU that proves unusable where it runs (a batch job's node whose libtorch has
    /// no CUDA) runs on the CPU instead, and says so.
    pub cpu_fallback: bool,
    pub cpus: u32,
    pub log: &'a mut dyn Write,
    pub cancel: &'a AtomicBool,
    /// What helper processes used for this task (see `HelperUsage`).
    pub helpers: &'a HelperUsage,
}

pub use crate::executor::usage::HelperProbe;

/// A task that hands its work to a helper process of its own (the study's libtorch worker)
/// adds what the helper used for it here (measured with a `HelperProbe`), so that the trace
/// counts it with the task's own thread: CPU seconds add up, peaks keep the largest.
#[derive(Debug, Default)]
pub struct HelperUsage(std::sync::Mutex<Option<(f64, f64)>>);

impl HelperUsage {
    pub fn add(&self, cpu_s: f64, peak_rss_mb: f64) {
        let mut u = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *u = Some(u.map_or((cpu_s, peak_rss_mb), |(c, p)| (c + cpu_s, p.max(peak_rss_mb))));
    }
    /// CPU seconds and peak MB, if any helper was measured.
    pub fn get(&self) -> Option<(f64, f64)> {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TaskCtx<'_> {
    /// Long loops call this between steps so Ctrl-C stops them promptly.
    pub fn check_cancelled(&self) -> Result<(), TaskError> {
        if self.cancel.load(Ordering::Relaxed) { Err(TaskError::Cancelled) } else { Ok(()) }
    }

    /// The single output folder of a needed node that runs once.
    pub fn input(&self, node: &str) -> Result<&Path, TaskError> {
        match self.inputs.get(node).map(Vec::as_slice) {
            Some([one]) => Ok(one),
            Some(many) => Err(TaskError::msg(format!("expected one instance of `{node}` among the inputs, found {}", many.len()))),
            None => Err(TaskError::msg(format!("this task needs `{node}` (add it to the node's `needs`)"))),
        }
    }
}

/// A built-in task with typed parameters.
pub trait Task: Send + Sync + 'static {
    type Params: DeserializeOwned;
    const KIND: &'static str;
    const VERSION: u32;
    const DESCRIPTION: &'static str;

    /// External files the parameters name; hashed by content into the cache key.
    fn input_files(_params: &Self::Params) -> Vec<PathBuf> {
        Vec::new()
    }

    /// Every value the type allows but the task cannot use (a batch of 0, a fraction of 10):
    /// called when the spec is checked, so such a value fails before anything runs.
    fn validate(_params: &Self::Params) -> Vec<ParamError> {
        Vec::new()
    }

    fn run(&self, params: Self::Params, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError>;
}

/// The object-safe face of `Task` that the engine stores and calls.
pub trait DynTask: Send + Sync {
    fn kind(&self) -> &'static str;
    fn version(&self) -> u32;
    fn description(&self) -> &'static str;
    fn check(&self, params: &serde_json::Value) -> Result<(), Vec<ParamError>>;
    fn input_files(&self, params: &serde_json::Value) -> Result<Vec<PathBuf>, String>;
    fn run(&self, params: &serde_json::Value, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError>;
}

fn typed<T: Task>(params: &serde_json::Value) -> Result<T::Params, Vec<ParamError>> {
    let p = decode::<T::Params>(params).map_err(|e| vec![e])?;
    let refused = T::validate(&p);
    if refused.is_empty() { Ok(p) } else { Err(refused) }
}

fn joined(errors: Vec<ParamError>) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl<T: Task> DynTask for T {
    fn kind(&self) -> &'static str {
        T::KIND
    }
    fn version(&self) -> u32 {
        T::VERSION
    }
    fn description(&self) -> &'static str {
        T::DESCRIPTION
    }
    fn check(&self, params: &serde_json::Value) -> Result<(), Vec<ParamError>> {
        typed::<T>(params).map(drop)
    }
    fn input_files(&self, params: &serde_json::Value) -> Result<Vec<PathBuf>, String> {
        typed::<T>(params).map(|p| T::input_files(&p)).map_err(joined)
    }
    fn run(&self, params: &serde_json::Value, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let p = typed::<T>(params).map_err(|e| TaskError::msg(format!("parameters of `{}`: {}", T::KIND, joined(e))))?;
        Task::run(self, p, ctx)
    }
}

#[derive(Clone, Default)]
pub struct Registry {
    tasks: BTreeMap<&'static str, Arc<dyn DynTask>>,
}

impl Registry {
    pub fn register<T: Task>(&mut self, task: T) -> &mut Self {
        self.tasks.insert(T::KIND, Arc::new(task));
        self
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn DynTask>> {
        self.tasks.get(kind)
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        self.tasks.keys().copied().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn DynTask>> {
        self.tasks.values()
    }
}
