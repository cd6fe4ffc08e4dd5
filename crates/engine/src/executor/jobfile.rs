//! A job written down for another process, usually on another machine: what `dag exec`
//! needs to run one instance there (its command or task, its inputs, its output folder) and
//! the result it leaves behind for the process that holds the cache.
//!
//! The remote side only computes into the job's staging folder; the run that holds the cache
//! stores the output (its scheduler is the store's one writer), so the cache lock means what
//! it says.

use super::{local, Cancel, Job, Work};
use crate::task::{Device, Registry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The file in the staging folder that holds the job.
pub const JOB: &str = "job.json";
/// The file in the staging folder that `dag exec` writes when the job has ended.
pub const RESULT: &str = "result.json";

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum WorkFile {
    Shell { command: String },
    /// The version guards against a different `dag` binary on the other side: the cache
    /// key holds the version, so an older task's output must not be stored under it.
    Task { kind: String, version: u32, params: serde_json::Value },
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    pub id: String,
    pub value: Option<String>,
    pub work: WorkFile,
    pub staging: PathBuf,
    pub log: PathBuf,
    pub workdir: PathBuf,
    pub inputs: BTreeMap<String, Vec<PathBuf>>,
    /// `cpu` or `cuda:N`, an ordinal among the devices the other side makes visible.
    pub device: String,
    /// The node's `resources.cpu_fallback` (absent in job files of older runs: false).
    #[serde(default)]
    pub cpu_fallback: bool,
    pub cpus: u32,
    /// The node's `timeout:` in seconds, enforced there as here (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
}

/// How a job ended, as `dag exec` reports it.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct JobResult {
    pub error: Option<String>,
    /// What the job used, measured on the node (absent from older `dag exec`s).
    #[serde(default)]
    pub usage: super::usage::Usage,
    /// The job was stopped by SIGTERM on its node: Slurm ended it (scancel, its time limit,
    /// preemption), and its error says only that it was interrupted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signalled: bool,
}

impl JobFile {
    /// The job as the other side will run it, on `device` there.
    pub fn new(job: &Job, device: Device) -> JobFile {
        let work = match &job.work {
            Work::Shell { command } => WorkFile::Shell { command: command.clone() },
            Work::Task { task, params } => WorkFile::Task { kind: task.kind().to_owned(), version: task.version(), params: params.clone() },
        };
        JobFile {
            id: job.id.to_string(),
            value: job.value.clone(),
            work,
            staging: job.staging.clone(),
            log: job.log.clone(),
            workdir: job.workdir.clone(),
            inputs: job.inputs.clone(),
            device: device.to_string(),
            cpu_fallback: job.cpu_fallback,
            cpus: job.cpus,
            timeout_s: job.timeout.map(|t| t.as_secs_f64()),
        }
    }

    pub fn read(path: &Path) -> Result<JobFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: not a dag job file: {e}", path.display()))
    }

    /// The job to hand to the local executor; the GPUs are whatever this process sees.
    fn into_job(self, registry: &Registry) -> Result<Job, String> {
        let work = match self.work {
            WorkFile::Shell { command } => Work::Shell { command },
            WorkFile::Task { kind, version, params } => {
                let task = registry.get(&kind).ok_or_else(|| format!("this dag binary has no task `{kind}`: run the same dag on every machine"))?;
                if task.version() != version {
                    return Err(format!("task `{kind}` is version {} in this dag binary but {version} in the run that sent the job: run the same dag on every machine", task.version()));
                }
                Work::Task { task: task.clone(), params }
            }
        };
        let device = match self.device.as_str() {
            "cpu" => Device::Cpu,
            d => Device::Cuda(d.strip_prefix("cuda:").and_then(|i| i.parse().ok()).ok_or_else(|| format!("unknown device `{d}`"))?),
        };
        Ok(Job {
            id: Arc::from(self.id.as_str()),
            value: self.value,
            work,
            staging: self.staging,
            log: self.log,
            workdir: self.workdir,
            inputs: self.inputs,
            device,
            cpu_fallback: self.cpu_fallback,
            visible_devices: None,
            cpus: self.cpus,
            mem_gb: 0.0,
            gpus: 0,
            timeout: self.timeout_s.filter(|t| t.is_finite() && *t > 0.0).map(std::time::Duration::from_secs_f64),
            usage: Default::default(),
        })
    }
}

/// `dag exec`: runs the job the file describes and writes its result beside it. Returns the
/// job's error, if any, after the result is written; SIGTERM (Slurm's `scancel`) stops the
/// job as Ctrl-C stops a local run.
pub async fn exec(path: &Path, registry: &Registry) -> Result<(), String> {
    let file = JobFile::read(path)?;
    let result_path = file.staging.join(RESULT);
    let mut used = super::usage::Usage::default();
    let signalled = Arc::new(AtomicBool::new(false));
    let outcome = match file.into_job(registry) {
        Ok(job) => {
            std::fs::create_dir_all(job.staging.join("out")).map_err(|e| format!("{}: {e}", job.staging.display()))?;
            let (tx, rx) = tokio::sync::watch::channel(false);
            let cancel = Cancel { flag: Arc::new(AtomicBool::new(false)), watch: rx };
            let (flag, got) = (cancel.flag.clone(), signalled.clone());
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                if term.recv().await.is_some() {
                    got.store(true, Ordering::Relaxed);
                    flag.store(true, Ordering::Relaxed);
                    let _ = tx.send(true);
                }
            });
            let r = local::run_work(&job, cancel).await.map_err(|e| e.to_string());
            used = job.measured();
            if r.is_err() && !signalled.load(Ordering::Relaxed) {
                // Slurm's SIGTERM reaches the command and this process together: the
                // command's death may be seen before the signal's listener has run. A
                // moment for it, on failures only, so the result says who ended the job.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            r
        }
        Err(e) => Err(e),
    };
    let result = JobResult { error: outcome.as_ref().err().cloned(), usage: used, signalled: outcome.is_err() && signalled.load(Ordering::Relaxed) };
    let tmp = result_path.with_extension("json.tmp");
    // Written whole and renamed: the run polling for it never reads half a file.
    std::fs::write(&tmp, serde_json::to_vec(&result).expect("json"))
        .and_then(|()| std::fs::rename(&tmp, &result_path))
        .map_err(|e| format!("{}: {e}", result_path.display()))?;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_file_names_its_task_and_version_and_is_refused_by_another_version() {
        let mut registry = Registry::default();
        crate::builtin::register(&mut registry);
        let task = registry.iter().next().expect("a built-in task").clone();
        let file = |version: u32| JobFile {
            id: "a[1]".into(),
            value: Some("1".into()),
            work: WorkFile::Task { kind: task.kind().into(), version, params: serde_json::json!({}) },
            staging: "s".into(),
            log: "l".into(),
            workdir: ".".into(),
            inputs: BTreeMap::new(),
            device: "cuda:0".into(),
            cpu_fallback: false,
            cpus: 2,
            timeout_s: None,
        };
        let text = serde_json::to_string(&file(task.version())).unwrap();
        let back: JobFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back, file(task.version()));
        let job = back.into_job(&registry).unwrap();
        assert_eq!((job.device, job.cpus, job.visible_devices), (Device::Cuda(0), 2, None));
        let e = file(task.version() + 1).into_job(&registry).err().unwrap();
        assert!(e.contains("run the same dag on every machine"), "{e}");
        let mut unknown = file(1);
        unknown.work = WorkFile::Task { kind: "nope".into(), version: 1, params: serde_json::json!({}) };
        assert!(unknown.into_job(&registry).err().unwrap().contains("no task `nope`"));
    }
}
