//! A dry run: what `run` would do for every instance, and why. Printable and serialisable.

use crate::cache::Cache;
use crate::events::EventBus;
use crate::executor::DryRun;
use crate::expand::Expansion;
use crate::hash::HashInputs;
use crate::keys::KeyError;
use crate::scheduler::{GpuPool, RunOptions, Scheduler};
use crate::spec::Spec;
use crate::statcache::StatCache;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Cached,
    Run,
    /// Depends on an upstream result that is not known before running.
    Pending,
}

#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub id: String,
    pub node: String,
    pub status: Status,
    pub reason: Option<String>,
    #[serde(skip)]
    pub key: Option<String>,
    #[serde(skip)]
    pub inputs: Option<HashInputs>,
    #[serde(skip)]
    pub output: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub cached: usize,
    pub run: usize,
    pub pending: usize,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub nodes: Vec<Entry>,
    pub summary: Counts,
}

/// What `run` would do for every instance, and why: the scheduler itself, driven by the
/// dry-run executor (`Scheduler::plan`), from the instances and input files of the run's
/// check. Nothing is written to the cache.
pub fn plan(spec: &Spec, cache: &mut Cache, stat: &mut StatCache, x: Expansion<'_>, listed: Vec<Result<Vec<PathBuf>, KeyError>>) -> Plan {
    let opts = RunOptions {
        cpus: 1,
        mem_gb: f64::INFINITY,
        gpus: GpuPool::Fixed(Vec::new()),
        // Everything that can be resolved is: a failure stops nothing in a plan.
        keep_going: true,
        results: None,
        workdir: PathBuf::new(),
        executor: Arc::new(DryRun),
        retries: 0,
    };
    let bus = EventBus::new(Vec::new());
    let p = Scheduler::new(spec, cache, stat, &opts, &bus, x).with_listed_inputs(listed).plan();
    bus.close();
    p
}

/// Why an instance has no cache entry, by comparing with the inputs of its last run.
pub(crate) fn reason(cache: &Cache, spec: &Spec, id: &str, key: &str, now: &HashInputs) -> String {
    let Some(last) = last_run(cache, spec, id) else { return "no cache entry (never run)".into() };
    if last.0 == key {
        return "its output is no longer in the cache (collected or evicted)".into();
    }
    let reasons = now.reasons_since(&last.1);
    if reasons.is_empty() { "no cache entry for these inputs".into() } else { reasons.join("; ") }
}

/// The key and hash inputs recorded the last time this instance ran.
pub fn last_run(cache: &Cache, spec: &Spec, id: &str) -> Option<(String, HashInputs, Option<String>)> {
    let text = std::fs::read(cache.explain_path(&spec.name, id)).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let inputs = serde_json::from_value(v.get("inputs")?.clone()).ok()?;
    Some((v.get("key")?.as_str()?.to_owned(), inputs, v.get("output").and_then(|o| o.as_str()).map(str::to_owned)))
}

impl Plan {
    /// A readable listing: one line per node, then the instances that run, with reasons.
    pub fn render(&self, all: bool) -> String {
        let mut out = String::new();
        let mut nodes: Vec<&str> = Vec::new();
        for e in &self.nodes {
            if !nodes.contains(&e.node.as_str()) {
                nodes.push(&e.node);
            }
        }
        for node in nodes {
            let mine: Vec<&Entry> = self.nodes.iter().filter(|e| e.node == node).collect();
            let count = |s| mine.iter().filter(|e| e.status == s).count();
            out.push_str(&format!(
                "{node}: {} instance{} — {} cached, {} run, {} pending\n",
                mine.len(),
                if mine.len() == 1 { "" } else { "s" },
                count(Status::Cached),
                count(Status::Run),
                count(Status::Pending)
            ));
            let interesting: Vec<&&Entry> = mine.iter().filter(|e| all || e.status != Status::Cached).collect();
            let limit = if all { usize::MAX } else { 10 };
            for e in interesting.iter().take(limit) {
                let status = match e.status {
                    Status::Cached => "cached ",
                    Status::Run => "run    ",
                    Status::Pending => "pending",
                };
                out.push_str(&format!("  {status} {}{}\n", e.id, e.reason.as_ref().map(|r| format!("  ({r})")).unwrap_or_default()));
            }
            if interesting.len() > limit {
                out.push_str(&format!("  … and {} more (--all lists every instance)\n", interesting.len() - limit));
            }
        }
        out.push_str(&format!("summary: {} cached, {} run, {} pending\n", self.summary.cached, self.summary.run, self.summary.pending));
        out
    }
}
