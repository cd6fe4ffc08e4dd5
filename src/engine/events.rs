//! The scheduler's only output. Reporters (progress bars, logs, the summary) subscribe;
//! the scheduler never prints and never waits for a reporter.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

pub type Id = Arc<str>;

#[derive(Clone, Debug)]
pub enum Event {
    RunStarted { pipeline: String, nodes: Vec<(String, Option<usize>)>, cpus: u32, gpus: Vec<usize> },
    /// A node's instances became known (a set produced at run time).
    Expanded { node: String, count: usize },
    Cached { id: Id, node: Id },
    Started { id: Id, node: Id, device: String },
    Finished { id: Id, node: Id, secs: f64 },
    Failed { id: Id, node: Id, error: String, log: Option<PathBuf> },
    /// Not run because something it depends on failed, or the run was stopped.
    Skipped { id: Id, node: Id, because: String },
    Warning { message: String },
    RunFinished(Summary),
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

/// Fans events out to reporters, each on its own thread.
pub struct EventBus {
    senders: Vec<Sender<Arc<Event>>>,
    threads: Vec<JoinHandle<()>>,
}

impl EventBus {
    pub fn new(reporters: Vec<Box<dyn Reporter>>) -> EventBus {
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        for mut r in reporters {
            let (tx, rx): (Sender<Arc<Event>>, Receiver<Arc<Event>>) = channel();
            senders.push(tx);
            threads.push(std::thread::spawn(move || {
                for ev in rx {
                    r.handle(&ev);
                }
                r.finish();
            }));
        }
        EventBus { senders, threads }
    }

    pub fn emit(&self, event: Event) {
        let ev = Arc::new(event);
        for s in &self.senders {
            let _ = s.send(ev.clone());
        }
    }

    /// Ends the stream and waits until every reporter has drawn its last line.
    pub fn close(self) {
        drop(self.senders);
        for t in self.threads {
            let _ = t.join();
        }
    }
}
