//! Per-instance state and the bookkeeping around it: adopting newly expanded instances,
//! releasing dependants, skipping after failures, and re-checking inputs before a run.

use super::Scheduler;
use crate::cache::Manifest;
use crate::events::{Event, Id};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum St {
    Waiting,
    Ready,
    Runnable,
    Running,
    Done,
    Failed,
    Skipped,
    /// Would run: a dry run's answer for an instance that is not cached.
    WouldRun,
}

pub(super) struct Slot {
    pub st: St,
    /// Dependencies not yet done.
    pub remaining: usize,
    pub dependants: Vec<usize>,
    pub output: Option<String>,
    pub manifest: Option<Arc<Manifest>>,
    /// Attempts started (`retries:` allows more after a failed one).
    pub attempts: u32,
}

impl Scheduler<'_> {
    /// Takes newly expanded instances into the schedule.
    pub(super) fn adopt(&mut self, new: &[usize]) {
        for &i in new {
            let inst = &self.x.instances[i];
            self.ids.push(Id::from(inst.id.as_str()));
            self.prepared.push(None);
            let deps: Vec<usize> = inst.deps.iter().flatten().copied().collect();
            let gone = |d: usize| matches!(self.slots[d].st, St::Failed | St::Skipped);
            let remaining = deps.iter().filter(|&&d| self.slots[d].st != St::Done && !(gone(d) && self.tolerates(inst.node, d))).count();
            let blocked = deps.iter().find(|&&d| gone(d) && !self.tolerates(inst.node, d)).copied();
            for &d in &deps {
                self.slots[d].dependants.push(i);
            }
            self.slots.push(Slot { st: St::Waiting, remaining, dependants: Vec::new(), output: None, manifest: None, attempts: 0 });
            if let Some(d) = blocked {
                let because = format!("{} did not run", self.ids[d]);
                self.skip(i, &because);
            } else if remaining == 0 {
                self.slots[i].st = St::Ready;
                self.ready.push_back(i);
            }
        }
    }

    pub(super) fn done(&mut self, i: usize, output: String, manifest: Arc<Manifest>) {
        let slot = &mut self.slots[i];
        slot.st = St::Done;
        slot.output = Some(output.clone());
        slot.manifest = Some(manifest);
        let inst = &self.x.instances[i];
        if let Some(results) = &mut self.results {
            let node = &self.spec.nodes[inst.node].name;
            if let Err(e) = results.link(node, inst.value.as_deref(), &self.out_root.join(&output)) {
                self.bus.emit(Event::Warning { message: format!("results link for {}: {e}", inst.id) });
            }
        }
        for k in 0..self.slots[i].dependants.len() {
            let d = self.slots[i].dependants[k];
            let s = &mut self.slots[d];
            if s.st == St::Waiting {
                s.remaining -= 1;
                if s.remaining == 0 {
                    s.st = St::Ready;
                    self.ready.push_back(d);
                }
            }
        }
        self.provide_sets(i);
    }

    /// If this instance produces a set, reads it and expands the nodes waiting for it.
    fn provide_sets(&mut self, i: usize) {
        let node = &self.spec.nodes[self.x.instances[i].node].name;
        let pending: Vec<(&str, &str)> =
            self.x.pending_sets().into_iter().filter(|(_, n, _)| n == node).map(|(s, _, f)| (s, f)).collect();
        for (set, file) in pending {
            let dir = self.out_root.join(self.slots[i].output.as_deref().unwrap());
            match self.x.provide_set_from(set, node, &dir, file) {
                Ok(new) => {
                    let mut counts: Vec<(usize, usize)> = Vec::new();
                    for &n in &new {
                        let node = self.x.instances[n].node;
                        match counts.iter_mut().find(|(k, _)| *k == node) {
                            Some(c) => c.1 += 1,
                            None => counts.push((node, 1)),
                        }
                    }
                    for (node, count) in counts {
                        self.bus.emit(Event::Expanded { node: self.spec.nodes[node].name.clone(), count });
                    }
                    self.adopt(&new);
                }
                // A dry run notes why the set stays unknown; the producer stays cached.
                Err(e) if self.dry.is_some() => {
                    self.dry.as_mut().expect("a dry run").set_errors.insert(set.to_owned(), e);
                }
                Err(e) => return self.fail(i, e, None),
            }
        }
    }

    fn skip(&mut self, i: usize, because: &str) {
        self.slots[i].st = St::Skipped;
        self.summary.skipped += 1;
        let node = self.node_names[self.x.instances[i].node].clone();
        self.bus.emit(Event::Skipped { id: self.ids[i].clone(), node, because: because.to_owned() });
    }

    /// Whether instances of `node` run without instance `d` when it fails (`partial`).
    pub(super) fn tolerates(&self, node: usize, d: usize) -> bool {
        let need = &self.spec.nodes[self.x.instances[d].node].name;
        self.spec.nodes[node].partial.iter().any(|p| p == need)
    }

    pub(super) fn skip_dependants(&mut self, i: usize, because: &str) {
        let mut stack: Vec<(usize, usize)> = self.slots[i].dependants.iter().map(|&d| (d, i)).collect();
        while let Some((d, gone)) = stack.pop() {
            if self.slots[d].st == St::Waiting && self.tolerates(self.x.instances[d].node, gone) {
                // A partial gather: one input fewer to wait for.
                self.slots[d].remaining -= 1;
                if self.slots[d].remaining == 0 {
                    self.slots[d].st = St::Ready;
                    self.ready.push_back(d);
                }
                continue;
            }
            if matches!(self.slots[d].st, St::Waiting | St::Ready | St::Runnable) {
                self.skip(d, because);
                stack.extend(self.slots[d].dependants.iter().map(|&x| (x, d)));
            }
        }
        self.ready.retain(|&r| self.slots[r].st == St::Ready);
        self.runnable.retain(|&r| self.slots[r].st == St::Runnable);
    }

    /// Re-hashes the stored outputs an instance is about to read (once per run each). A
    /// corrupt one is evicted and its producers rerun; the instance waits for them again.
    pub(super) fn inputs_intact(&mut self, i: usize) -> bool {
        let deps: Vec<usize> = self.x.instances[i].deps.iter().flatten().copied().collect();
        let mut intact = true;
        for d in deps {
            if matches!(self.slots[d].st, St::Failed | St::Skipped) {
                continue; // a tolerated gap of a partial gather
            }
            let Some(digest) = self.slots[d].output.clone() else {
                intact = false;
                continue;
            };
            if self.verified.contains(&digest) {
                continue;
            }
            match self.cache.verify(&digest) {
                Ok(_) => {
                    self.verified.insert(digest);
                }
                Err(e) => {
                    self.corrupt(&digest, e);
                    intact = false;
                    // Every instance that produced these bytes must produce them again.
                    for p in 0..self.slots.len() {
                        if self.slots[p].output.as_deref() == Some(digest.as_str()) {
                            self.undo_done(p);
                        }
                    }
                }
            }
        }
        if !intact {
            let remaining = self.x.instances[i].deps.iter().flatten().filter(|&&d| self.slots[d].st != St::Done).count();
            let s = &mut self.slots[i];
            s.remaining = remaining;
            s.st = if remaining == 0 { St::Ready } else { St::Waiting };
            if remaining == 0 {
                self.ready.push_back(i);
            }
        }
        intact
    }

    /// Puts a done instance back in the queue and its dependants back to waiting for it.
    fn undo_done(&mut self, p: usize) {
        let s = &mut self.slots[p];
        s.output = None;
        s.manifest = None;
        s.st = St::Ready;
        self.ready.push_back(p);
        for k in 0..self.slots[p].dependants.len() {
            let d = self.slots[p].dependants[k];
            let s = &mut self.slots[d];
            match s.st {
                St::Waiting => s.remaining += 1,
                St::Ready | St::Runnable => {
                    s.st = St::Waiting;
                    s.remaining = 1;
                }
                _ => {}
            }
        }
        self.ready.retain(|&r| self.slots[r].st == St::Ready);
        self.runnable.retain(|&r| self.slots[r].st == St::Runnable);
    }

    /// After a stop: everything not started is reported, and nodes never expanded named.
    pub(super) fn finish_unstarted(&mut self) {
        let because = if self.summary.interrupted { "the run was interrupted" } else { "the run stopped after a failure" };
        for i in 0..self.slots.len() {
            if matches!(self.slots[i].st, St::Waiting | St::Ready | St::Runnable) {
                self.skip(i, because);
            }
        }
        for (n, v) in self.x.by_node.iter().enumerate() {
            if v.is_none() {
                self.summary.unexpanded.push(self.spec.nodes[n].name.clone());
            }
        }
    }
}
