//! The scheduler's only output. Reporters (progress bars, logs, the summary) subscribe;
//! the scheduler never prints and never waits for a reporter.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub type Id = Arc<str>;

#[derive(Clone, Debug)]
pub enum Event {
    /// `gpus` is `None` while not yet counted (they are, when a node first needs one);
    /// `remote` describes where jobs run when that is not this machine's pools.
    RunStarted { pipeline: String, nodes: Vec<(String, Option<usize>)>, cpus: u32, gpus: Option<Vec<usize>>, remote: Option<String> },
    /// A node's instances became known (a set produced at run time).
    Expanded { node: String, count: usize },
    Cached { id: Id, node: Id },
    Started { id: Id, node: Id, device: String },
    Finished { id: Id, node: Id, secs: f64 },
    Failed { id: Id, node: Id, error: String, log: Option<PathBuf> },
    /// One attempt ended (before its Finished, Retrying or Failed): for the trace.
    Attempt(Arc<AttemptRecord>),
    /// Attempt `attempt` of `of` failed and the instance runs again; `log` is that attempt's.
    Retrying { id: Id, node: Id, attempt: u32, of: u32, error: String, log: Option<PathBuf> },
    /// Not run because something it depends on failed, or the run was stopped.
    Skipped { id: Id, node: Id, because: String },
    Warning { message: String },
    RunFinished(Summary),
}

/// One row of the trace: an instance's attempt, or its cached output (attempt 0).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct AttemptRecord {
    pub id: String,
    pub node: String,
    pub attempt: u32,
    pub status: AttemptStatus,
    /// Seconds since the Unix epoch.
    pub start: f64,
    pub wall_s: f64,
    #[serde(flatten)]
    pub usage: crate::executor::usage::Usage,
    /// The GPU ordinals it held, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<usize>,
}

#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    Cached,
    Ran,
    Failed,
    TimedOut,
    Interrupted,
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub ran: usize,
    pub cached: usize,
    pub failed: Vec<Failure>,
    pub skipped: usize,
    /// Nodes never expanded because the set they iterate over was not produced.
    pub unexpanded: Vec<String>,
    pub interrupted: bool,
    pub secs: f64,
    /// Instances that needed more than one attempt, with how many they had, succeeded or not.
    pub retried: Vec<(Id, u32)>,
}

#[derive(Clone, Debug)]
pub struct Failure {
    pub id: Id,
    pub error: String,
    pub log: Option<PathBuf>,
}

impl Summary {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && !self.interrupted && self.unexpanded.is_empty() && self.skipped == 0
    }
}

pub trait Reporter: Send + 'static {
    fn handle(&mut self, event: &Event);
    /// Called once the stream has ended.
    fn finish(&mut self) {}
}

/// Fans events out to reporters, each on its own thread. Events are handed over in
/// batches (at `flush`, or every `BATCH` events): waking a reporter thread per event cost
/// more than the whole of a no-op run's real work.
/// What a reporter thread receives at once.
type Batch = Vec<Arc<Event>>;

pub struct EventBus {
    senders: Vec<Sender<Batch>>,
    threads: Vec<JoinHandle<()>>,
    pending: Mutex<Vec<Arc<Event>>>,
}

const BATCH: usize = 512;

impl EventBus {
    pub fn new(reporters: Vec<Box<dyn Reporter>>) -> EventBus {
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        for mut r in reporters {
            let (tx, rx) = channel::<Batch>();
            senders.push(tx);
            threads.push(std::thread::spawn(move || {
                for batch in rx {
                    for ev in batch {
                        r.handle(&ev);
                    }
                }
                r.finish();
            }));
        }
        EventBus { senders, threads, pending: Mutex::new(Vec::new()) }
    }

    pub fn emit(&self, event: Event) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.push(Arc::new(event));
        if pending.len() >= BATCH {
            self.send(std::mem::take(&mut *pending));
        }
    }

    /// Hands what has been emitted to the reporters; the scheduler calls it before it waits.
    pub fn flush(&self) {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if !batch.is_empty() {
            self.send(batch);
        }
    }

    fn send(&self, batch: Vec<Arc<Event>>) {
        for s in &self.senders {
            let _ = s.send(batch.clone());
        }
    }

    /// Ends the stream and waits until every reporter has drawn its last line.
    pub fn close(self) {
        self.flush();
        drop(self.senders);
        for t in self.threads {
            let _ = t.join();
        }
    }
}
