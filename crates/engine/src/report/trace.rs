//! The run's trace, always on: one JSON line per attempt (and per cached instance) in
//! `cache/runs/STAMP-PID.trace.jsonl`, and at the end the run's record in `STAMP-PID.run.json`.
//! A reporter like the others: it sees only events. `dag trace` and `dag runs` read them back.

use crate::events::{AttemptRecord, AttemptStatus, Event, Reporter};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What `dag runs` lists of a run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct RunRecord {
    pub pipeline: String,
    pub start: f64,
    pub secs: f64,
    pub ran: usize,
    pub cached: usize,
    pub failed: usize,
    pub skipped: usize,
    pub retried: usize,
    pub interrupted: bool,
    /// The command line, the dag version, this machine and its pools.
    pub command: Vec<String>,
    pub version: String,
    #[serde(default)]
    pub host: Option<String>,
    pub cpus: u32,
    #[serde(default)]
    pub gpus: Option<Vec<usize>>,
    #[serde(default)]
    pub remote: Option<String>,
}

impl RunRecord {
    /// The exit code the run gave: 0 if all went well, 130 if interrupted, 1 otherwise.
    pub fn exit(&self) -> i32 {
        if self.interrupted {
            130
        } else if self.failed > 0 || self.skipped > 0 {
            1
        } else {
            0
        }
    }
}

pub struct TraceReporter {
    stem: PathBuf,
    out: Option<std::io::BufWriter<std::fs::File>>,
    run: Option<RunRecord>,
    warned: bool,
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl TraceReporter {
    /// A trace of the run starting now, under the cache's `runs/`.
    pub fn new(cache_root: &Path) -> TraceReporter {
        let now = SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let stem = cache_root.join("runs").join(format!("{:020}-{}", now.as_nanos(), std::process::id()));
        TraceReporter { stem, out: None, run: None, warned: false }
    }

    fn row(&mut self, r: &AttemptRecord) {
        if self.out.is_none() && !self.warned {
            let path = self.stem.with_extension("trace.jsonl");
            match std::fs::File::create(&path) {
                Ok(f) => self.out = Some(std::io::BufWriter::new(f)),
                Err(e) => {
                    // The trace is a record, not the work: a run goes on without it.
                    self.warned = true;
                    tracing::warn!("cannot write the trace {}: {e}", path.display());
                }
            }
        }
        if let Some(out) = &mut self.out {
            let _ = serde_json::to_writer(&mut *out, r);
            let _ = out.write_all(b"\n");
        }
    }
}

impl Reporter for TraceReporter {
    fn handle(&mut self, ev: &Event) {
        match ev {
            Event::RunStarted { pipeline, cpus, gpus, remote, .. } => {
                self.run = Some(RunRecord {
                    pipeline: pipeline.clone(),
                    start: unix(SystemTime::now()),
                    secs: 0.0,
                    ran: 0,
                    cached: 0,
                    failed: 0,
                    skipped: 0,
                    retried: 0,
                    interrupted: false,
                    command: std::env::args().collect(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    host: crate::executor::usage::hostname(),
                    cpus: *cpus,
                    gpus: gpus.clone(),
                    remote: remote.clone(),
                })
            }
            Event::Cached { id, node } => {
                let row = AttemptRecord { id: id.to_string(), node: node.to_string(), attempt: 0, status: AttemptStatus::Cached, start: unix(SystemTime::now()), wall_s: 0.0, usage: Default::default(), gpus: Vec::new() };
                self.row(&row);
            }
            Event::Attempt(r) => self.row(r),
            Event::RunFinished(s) => {
                if let Some(out) = &mut self.out {
                    let _ = out.flush();
                }
                if let Some(mut run) = self.run.take() {
                    (run.secs, run.ran, run.cached, run.failed, run.skipped, run.retried, run.interrupted) = (s.secs, s.ran, s.cached, s.failed.len(), s.skipped, s.retried.len(), s.interrupted);
                    let path = self.stem.with_extension("run.json");
                    let _ = std::fs::write(&path, serde_json::to_vec_pretty(&run).unwrap_or_default());
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        if let Some(out) = &mut self.out {
            let _ = out.flush();
        }
    }
}

/// A run's history (the `runs/` folder, a trace) that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct HistoryError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// A run kept in the cache: its record (None while running, or if it was killed) and trace.
pub struct StoredRun {
    pub stem: PathBuf,
    pub record: Option<RunRecord>,
}

impl StoredRun {
    pub fn trace(&self) -> Result<Vec<AttemptRecord>, HistoryError> {
        let path = self.stem.with_extension("trace.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(HistoryError { path, source }),
        };
        // A run killed mid-line leaves a torn last line: skipped, not fatal.
        Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
    }
}

/// The runs in the cache's `runs/`, oldest first (`dag runs` numbers them from 1).
pub fn stored_runs(cache_root: &Path) -> Result<Vec<StoredRun>, HistoryError> {
    let dir = cache_root.join("runs");
    let stems = crate::cache::history_stems(&dir).map_err(|source| HistoryError { path: dir.clone(), source })?;
    Ok(stems
        .into_iter()
        .map(|stem| {
            let record = std::fs::read(stem.with_extension("run.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
            StoredRun { stem, record }
        })
        .collect())
}
