//! The tokio scheduler: a ready queue over the instance graph, weighted CPU/memory/GPU
//! pools, cache lookups, early cutoff, dynamic expansion, keep-going and clean stops.
//! It talks to the world only through events.

mod dry;
mod launch;
mod pools;
mod slots;
mod store;
#[cfg(test)]
mod tests;

pub use pools::{Grant, Pools, Take};

use crate::cache::{ActionRecord, Cache, CacheError};
use crate::events::{AttemptRecord, AttemptStatus, Event, EventBus, Failure, Id, Summary};
use crate::executor::{Cancel, Executor, JobError};
use crate::expand::Expansion;
use crate::hash::HashInputs;
use crate::keys::{hash_inputs, instance_files, params_used, KeyError};
use crate::spec::Spec;
use crate::statcache::StatCache;
use slots::{Slot, St};
use store::Outcome;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The GPU ordinals a run may hand out.
pub enum GpuPool {
    Fixed(Vec<usize>),
    /// Found by asking (libtorch, in another process) the first time an instance needs a GPU:
    /// a run that needs none, a no-op run above all, never pays the second that costs.
    Probe(Box<dyn Fn() -> Result<Vec<usize>, String> + Send + Sync>),
}

pub struct RunOptions {
    pub cpus: u32,
    pub mem_gb: f64,
    pub gpus: GpuPool,
    pub keep_going: bool,
    /// Where the readable `results/` tree goes; `None` for no links.
    pub results: Option<PathBuf>,
    pub workdir: PathBuf,
    pub executor: Arc<dyn Executor>,
    /// Attempts after a failed one, for nodes that do not say (`retries:`).
    pub retries: u32,
}

struct Prepared {
    key: String,
    inputs: HashInputs,
}

pub struct Scheduler<'a> {
    spec: &'a Spec,
    cache: &'a mut Cache,
    stat: &'a mut StatCache,
    opts: &'a RunOptions,
    bus: &'a EventBus,
    x: Expansion<'a>,
    slots: Vec<Slot>,
    prepared: Vec<Option<Prepared>>,
    ids: Vec<Id>,
    node_names: Vec<Id>,
    node_uses: Vec<BTreeMap<String, serde_json::Value>>,
    ready: VecDeque<usize>,
    runnable: VecDeque<usize>,
    verified: HashSet<String>,
    used_keys: Vec<String>,
    summary: Summary,
    stopping: bool,
    out_root: PathBuf,
    results: Option<crate::results::ResultsTree>,
    /// Input files listed before the run (by its check), per instance, taken when it is ready.
    listed: Vec<Option<Result<Vec<PathBuf>, KeyError>>>,
    /// What a dry run learns instead of running (`Executor::dry_run`); `None` in a real run.
    dry: Option<dry::Dry>,
}

impl<'a> Scheduler<'a> {
    pub fn new(
        spec: &'a Spec,
        cache: &'a mut Cache,
        stat: &'a mut StatCache,
        opts: &'a RunOptions,
        bus: &'a EventBus,
        x: Expansion<'a>,
    ) -> Self {
        let out_root = std::fs::canonicalize(cache.root()).unwrap_or_else(|_| cache.root().to_owned()).join("out");
        let node_names = spec.nodes.iter().map(|n| Id::from(n.name.as_str())).collect();
        let node_uses = (0..spec.nodes.len()).map(|n| params_used(spec, n)).collect();
        let results = opts.results.as_ref().map(|r| {
            let abs = std::path::absolute(r).unwrap_or_else(|_| r.clone());
            let key = crate::hash::sha256_hex(abs.to_string_lossy().as_bytes());
            crate::results::ResultsTree::load(r, cache.root().join(format!("results-{}.index", &key[..16])))
        });
        let mut s = Scheduler {
            spec,
            cache,
            stat,
            opts,
            bus,
            x,
            slots: Vec::new(),
            prepared: Vec::new(),
            ids: Vec::new(),
            node_names,
            node_uses,
            ready: VecDeque::new(),
            runnable: VecDeque::new(),
            verified: HashSet::new(),
            used_keys: Vec::new(),
            summary: Summary::default(),
            stopping: false,
            out_root,
            results,
            listed: Vec::new(),
            dry: opts.executor.dry_run().then(dry::Dry::default),
        };
        let all: Vec<usize> = (0..s.x.instances.len()).collect();
        s.adopt(&all);
        s
    }

    /// The instances' input files as the run's check listed them (`keys::list_inputs`, in
    /// instance order), so that they are not listed again.
    pub fn with_listed_inputs(mut self, listed: Vec<Result<Vec<PathBuf>, KeyError>>) -> Self {
        self.listed = listed.into_iter().map(Some).collect();
        self
    }

    /// Runs to completion (or failure, or interrupt) and returns the summary.
    pub async fn run(mut self) -> Result<Summary, CacheError> {
        let start = Instant::now();
        let counts = self.x.by_node.iter().map(|v| v.as_ref().map(Vec::len));
        let nodes = self.spec.nodes.iter().map(|n| n.name.clone()).zip(counts).collect();
        let known = match &self.opts.gpus {
            GpuPool::Fixed(g) => Some(g.clone()),
            GpuPool::Probe(_) => None,
        };
        self.bus.emit(Event::RunStarted { pipeline: self.spec.name.clone(), nodes, cpus: self.opts.cpus, gpus: known.clone(), remote: self.opts.executor.describe() });
        let mut pools = Pools::new(self.opts.cpus, self.opts.mem_gb, known.clone().unwrap_or_default());
        let mut gpus_known = known.is_some();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Grant, Outcome)>();
        let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
        let cancel = Cancel { flag: Arc::new(AtomicBool::new(false)), watch: cancel_rx };
        let mut running = 0usize;
        let mut last_sync = Instant::now();
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        // Hashing input files is I/O and sha256; never more threads than cores, whatever the pools say.
        let hashers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(self.opts.cpus as usize);
        loop {
            self.resolve_ready(hashers);
            let mut k = 0;
            while !self.stopping && k < self.runnable.len() && pools.cpu_free() > 0 {
                let i = self.runnable[k];
                // `mem_gb: [4, 8, 16]`: a retry asks for the next value.
                let resources = &self.spec.nodes[self.x.instances[i].node].resources.for_attempt(self.slots[i].attempts + 1);
                if resources.gpu > 0 && !gpus_known {
                    gpus_known = true;
                    self.probe_gpus(&mut pools);
                }
                match pools.try_take(resources) {
                    Take::Wait => k += 1,
                    Take::Never(why) => {
                        self.runnable.remove(k);
                        self.fail(i, why, None);
                    }
                    Take::Granted(grant) => {
                        self.runnable.remove(k);
                        if self.inputs_intact(i) {
                            self.launch(i, grant, &tx, &cancel);
                            running += 1;
                        } else {
                            pools.give_back(grant);
                        }
                    }
                }
            }
            if running == 0 && (self.stopping || (self.ready.is_empty() && self.runnable.is_empty())) {
                break;
            }
            // Instances put back in the queue (a corrupt input was found) need no event.
            if !self.stopping && !self.ready.is_empty() {
                continue;
            }
            self.bus.flush();
            tokio::select! {
                Some((i, grant, outcome)) = rx.recv() => {
                    running -= 1;
                    let gpus = grant.gpus.clone();
                    pools.give_back(grant);
                    self.complete(i, gpus, outcome);
                    if last_sync.elapsed() > Duration::from_millis(250) {
                        self.cache.sync()?;
                        last_sync = Instant::now();
                    }
                }
                _ = &mut ctrl_c, if !self.summary.interrupted => {
                    self.summary.interrupted = true;
                    self.stopping = true;
                    cancel.flag.store(true, Ordering::Relaxed);
                    let _ = cancel_tx.send(true);
                    self.bus.emit(Event::Warning { message: "interrupted: stopping running jobs; everything finished so far is kept".into() });
                }
            }
        }
        self.finish_unstarted();
        self.cache.sync()?;
        let keys: Vec<&str> = self.used_keys.iter().map(String::as_str).collect();
        self.cache.note_run(&keys)?;
        if let Some(Err(e)) = self.results.as_mut().map(|r| r.save()) {
            self.bus.emit(Event::Warning { message: format!("could not save the results index: {e}") });
        }
        if let Err(e) = self.stat.save() {
            self.bus.emit(Event::Warning { message: format!("could not save the file digest table: {e}") });
        }
        self.summary.secs = start.elapsed().as_secs_f64();
        Ok(self.summary)
    }

    /// Every ready instance resolved: cached (its dependants released), or queued to run
    /// (`runnable`; in a dry run, marked as what would run). The ready instances' input files,
    /// listed once, are hashed in parallel first; then every key is looked up and every cache
    /// hit's quick check runs at once (in parallel). Instances that become ready meanwhile
    /// wait for the next call. `run` and `plan` share this: they agree by construction.
    fn resolve_ready(&mut self, hashers: usize) {
        let batch: Vec<(usize, Result<Vec<PathBuf>, KeyError>)> = if self.stopping {
            Vec::new()
        } else {
            let ready: Vec<usize> = self.ready.drain(..).collect();
            ready.into_iter().map(|i| (i, self.listed.get_mut(i).and_then(Option::take).unwrap_or_else(|| instance_files(self.spec, &self.x.instances[i])))).collect()
        };
        let all: Vec<PathBuf> = batch.iter().filter_map(|(_, f)| f.as_ref().ok()).flatten().cloned().collect();
        self.stat.prefetch(&all, hashers);
        let mut keyed = Vec::with_capacity(batch.len());
        for (i, files) in batch {
            // After a failure without --keep-going, what is left stays ready: reported as not run.
            if !self.stopping {
                keyed.extend(self.key(i, files));
            }
        }
        let hits: Vec<&str> = keyed.iter().filter_map(|k| k.2.as_deref()).collect();
        let mut checks = self.cache.quick_check_many(&hits, hashers).into_iter();
        for (i, p, output) in keyed {
            let check = output.map(|o| (checks.next().expect("one check per hit"), o));
            self.prepared_to(i, p, check);
        }
    }

    /// The instance's key, and the output the cache holds under it if any; on failure (an
    /// input cannot be read) the instance fails and `None` comes back.
    fn key(&mut self, i: usize, files: Result<Vec<PathBuf>, KeyError>) -> Option<(usize, Prepared, Option<String>)> {
        let inst = &self.x.instances[i];
        let (ids, slots) = (&self.ids, &self.slots);
        let hi = files.and_then(|files| {
            hash_inputs(self.spec, inst, &self.node_uses[inst.node], files, |d| {
                // A failed input of a partial gather is part of the key as missing, so the node
                // reruns once it succeeds.
                (ids[d].to_string(), slots[d].output.clone().unwrap_or_else(|| "missing".to_owned()))
            }, self.stat)
        });
        let hi = match hi {
            Ok(h) => h,
            Err(e) => {
                let line = self.spec.nodes[inst.node].pos.line;
                self.fail(i, format!("{e} (node `{}` at {}:{line})", self.node_names[inst.node], self.spec.file.display()), None);
                return None;
            }
        };
        let key = hi.key();
        let output = self.cache.lookup(&key).map(|r| r.output.clone());
        Some((i, Prepared { key, inputs: hi }, output))
    }

    /// Cached, when the stored output passed its quick check; otherwise queued to run (a
    /// damaged output is evicted first).
    fn prepared_to(&mut self, i: usize, p: Prepared, check: Option<(Result<Arc<crate::cache::Manifest>, CacheError>, String)>) {
        match check {
            Some((Ok(manifest), output)) => {
                self.used_keys.push(p.key.clone());
                self.prepared[i] = Some(p);
                self.summary.cached += 1;
                let node = self.x.instances[i].node;
                self.bus.emit(Event::Cached { id: self.ids[i].clone(), node: self.node_names[node].clone() });
                return self.done(i, output, manifest);
            }
            // A dry run evicts nothing: it says what `run` would do.
            Some((Err(e), _)) if self.dry.is_some() => return self.would_run(i, p, format!("cached output is damaged ({e})")),
            Some((Err(e), output)) => self.corrupt(&output, e),
            None if self.dry.is_some() => {
                let reason = crate::plan::reason(self.cache, self.spec, &self.ids[i], &p.key, &p.inputs);
                return self.would_run(i, p, reason);
            }
            None => {}
        }
        self.prepared[i] = Some(p);
        self.slots[i].st = St::Runnable;
        self.runnable.push_back(i);
    }

    fn probe_gpus(&mut self, pools: &mut Pools) {
        if let GpuPool::Probe(probe) = &self.opts.gpus {
            match probe() {
                Ok(gpus) => pools.add_gpus(gpus),
                Err(e) => self.bus.emit(Event::Warning { message: format!("could not count the GPUs ({e}); running without") }),
            }
        }
    }

    fn corrupt(&mut self, digest: &str, e: CacheError) {
        self.bus.emit(Event::Warning { message: format!("{e}; evicted, it will be recomputed") });
        self.cache.evict(digest);
        self.verified.remove(digest);
    }

    fn complete(&mut self, i: usize, grant_gpus: Vec<usize>, outcome: Outcome) {
        let node = self.x.instances[i].node;
        let attempts = self.slots[i].attempts;
        let status = match &outcome.result {
            Ok(_) => AttemptStatus::Ran,
            Err(JobError::TimedOut(_)) => AttemptStatus::TimedOut,
            Err(JobError::Interrupted(_)) => AttemptStatus::Interrupted,
            Err(_) => AttemptStatus::Failed,
        };
        let start = outcome.start.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        self.bus.emit(Event::Attempt(Arc::new(AttemptRecord {
            id: self.ids[i].to_string(),
            node: self.node_names[node].to_string(),
            attempt: attempts,
            status,
            start,
            wall_s: outcome.secs,
            usage: outcome.usage,
            gpus: grant_gpus,
        })));
        let allowed = 1 + self.spec.nodes[node].retries.unwrap_or(self.opts.retries);
        let again = matches!(&outcome.result, Err(e) if e.retryable()) && attempts < allowed && !self.stopping;
        if attempts > 1 && !again {
            self.summary.retried.push((self.ids[i].clone(), attempts));
        }
        match outcome.result {
            Ok((digest, manifest)) => {
                let key = self.prepared[i].as_ref().unwrap().key.clone();
                let rec = ActionRecord { key: key.clone(), output: digest.clone(), secs: outcome.secs, instance: self.ids[i].to_string() };
                if let Err(e) = self.cache.record(rec) {
                    return self.fail(i, e.to_string(), None);
                }
                self.used_keys.push(key);
                self.verified.insert(digest.clone());
                self.summary.ran += 1;
                self.bus.emit(Event::Finished { id: self.ids[i].clone(), node: self.node_names[node].clone(), secs: outcome.secs });
                self.done(i, digest, manifest);
            }
            Err(error) if again => {
                // The failed attempt's log is kept beside the next one's; its output is gone.
                let log = self.cache.log_path(&self.spec.nodes[node].name, &self.x.instances[i].id);
                let kept = log.with_extension(format!("attempt-{attempts}.log"));
                let kept = std::fs::rename(&log, &kept).ok().map(|()| kept);
                self.bus.emit(Event::Retrying { id: self.ids[i].clone(), node: self.node_names[node].clone(), attempt: attempts, of: allowed, error: error.to_string(), log: kept });
                self.slots[i].st = St::Runnable;
                self.runnable.push_front(i);
            }
            Err(error) => {
                let log = self.cache.log_path(&self.spec.nodes[node].name, &self.x.instances[i].id);
                self.fail(i, error.to_string(), Some(log));
            }
        }
    }

    fn fail(&mut self, i: usize, error: String, log: Option<PathBuf>) {
        self.slots[i].st = St::Failed;
        let node = self.node_names[self.x.instances[i].node].clone();
        self.summary.failed.push(Failure { id: self.ids[i].clone(), error: error.clone(), log: log.clone() });
        self.bus.emit(Event::Failed { id: self.ids[i].clone(), node, error, log });
        let because = format!("{} failed", self.ids[i]);
        self.skip_dependants(i, &because);
        if !self.opts.keep_going {
            self.stopping = true;
        }
    }
}
