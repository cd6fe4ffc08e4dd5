//! The dry run (`dag plan`, `dag why`): the scheduler driven by [`DryRun`], resolving every
//! instance it can exactly as a run does (`resolve_ready`), and launching none. An instance
//! that is not cached would run; whatever needs it waits for it; a set that a cached output
//! provides expands its nodes, as in a run.
//!
//! [`DryRun`]: crate::executor::DryRun

use super::{Prepared, Scheduler, St};
use crate::plan::{Counts, Entry, Plan, Status};
use std::collections::HashMap;

/// What a dry run learns instead of running.
#[derive(Default)]
pub(super) struct Dry {
    /// Why each instance that would run would run.
    reasons: HashMap<usize, String>,
    /// Sets whose file (in a cached output) `run` would refuse, with why.
    pub set_errors: HashMap<String, String>,
}

impl Scheduler<'_> {
    /// Marks an instance that is not cached as what would run, and why.
    pub(super) fn would_run(&mut self, i: usize, p: Prepared, reason: String) {
        self.prepared[i] = Some(p);
        self.slots[i].st = St::WouldRun;
        self.dry.as_mut().expect("only a dry run has instances that would run").reasons.insert(i, reason);
    }

    /// Resolves what can be known without running, and says so for every instance (in the
    /// order a run knows them), then for every node whose instances are not known yet.
    pub fn plan(mut self) -> Plan {
        assert!(self.dry.is_some(), "Scheduler::plan needs the dry-run executor");
        let hashers = std::thread::available_parallelism().map_or(1, |n| n.get());
        // (A plan keeps going past failures, so nothing sets `stopping`; were it set, the
        // ready queue would no longer drain.)
        while !self.ready.is_empty() && !self.stopping {
            self.resolve_ready(hashers);
        }
        let dry = self.dry.take().expect("checked above");
        let failed: HashMap<&str, &str> = self.summary.failed.iter().map(|f| (&*f.id, f.error.as_str())).collect();
        let mut nodes = Vec::with_capacity(self.slots.len() + 1);
        for (i, slot) in self.slots.iter().enumerate() {
            let inst = &self.x.instances[i];
            let mut e = Entry { id: inst.id.clone(), node: self.spec.nodes[inst.node].name.clone(), status: Status::Pending, reason: None, key: None, inputs: None, output: None };
            if let Some(p) = &self.prepared[i] {
                e.key = Some(p.key.clone());
                e.inputs = Some(p.inputs.clone());
            }
            match slot.st {
                St::Done => {
                    e.status = Status::Cached;
                    e.output = slot.output.clone();
                }
                St::WouldRun => {
                    e.status = Status::Run;
                    e.reason = dry.reasons.get(&i).cloned();
                }
                // It cannot be keyed (an input cannot be read): it would fail.
                St::Failed => e.reason = failed.get(inst.id.as_str()).map(|s| (*s).to_owned()),
                // Waiting for what would run (or fail) first.
                _ => {
                    let first = inst.deps.iter().flatten().find(|&&d| self.slots[d].st != St::Done);
                    e.reason = first.map(|&d| format!("waits for {}", self.ids[d]));
                }
            }
            nodes.push(e);
        }
        for (n, v) in self.x.by_node.iter().enumerate() {
            if v.is_some() {
                continue;
            }
            let node = &self.spec.nodes[n];
            let set = node.foreach.clone().unwrap_or_default();
            let reason = match self.x.pending_sets().iter().find(|(s, _, _)| *s == set) {
                Some((_, src, _)) if dry.set_errors.contains_key(&set) => format!("{} (`run` fails {src} on it)", dry.set_errors[&set]),
                Some((_, src, _)) => format!("instances are known once `{src}` has produced set `{set}`"),
                None => "depends on nodes whose instances are not known yet".into(),
            };
            let id = if node.foreach.is_some() { format!("{}[*]", node.name) } else { node.name.clone() };
            nodes.push(Entry { id, node: node.name.clone(), status: Status::Pending, reason: Some(reason), key: None, inputs: None, output: None });
        }
        let mut summary = Counts::default();
        for e in &nodes {
            match e.status {
                Status::Cached => summary.cached += 1,
                Status::Run => summary.run += 1,
                Status::Pending => summary.pending += 1,
            }
        }
        Plan { nodes, summary }
    }
}
