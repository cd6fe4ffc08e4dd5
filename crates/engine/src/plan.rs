//! A dry run: what `run` would do for every instance, and why. Printable and serialisable.

use crate::cache::Cache;
use crate::diagnostic::Diagnostics;
use crate::expand::Expansion;
use crate::hash::HashInputs;
use crate::keys::{hash_inputs, instance_files, params_used, KeyError};
use crate::spec::Spec;
use crate::statcache::StatCache;
use serde::Serialize;

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

pub fn plan(spec: &Spec, cache: &Cache, stat: &mut StatCache) -> Result<Plan, Diagnostics> {
    let mut x = Expansion::new(spec)?;
    let uses: Vec<_> = (0..spec.nodes.len()).map(|n| params_used(spec, n)).collect();
    let mut entries: Vec<Entry> = Vec::new();
    let mut missing = Vec::new();
    let mut set_errors: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    // The input files of the instances that need nothing upstream are always hashed: list
    // them once and hash them in parallel first, as `run` does, instead of one at a time below.
    let mut root_files: Vec<Option<Result<Vec<std::path::PathBuf>, KeyError>>> =
        x.instances.iter().map(|inst| inst.deps.iter().all(Vec::is_empty).then(|| instance_files(spec, inst))).collect();
    let all: Vec<std::path::PathBuf> = root_files.iter().flatten().filter_map(|f| f.as_ref().ok()).flatten().cloned().collect();
    stat.prefetch(&all, std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut i = 0;
    while i < x.instances.len() {
        let inst = x.instances[i].clone();
        let node = spec.nodes[inst.node].name.clone();
        let mut entry = Entry { id: inst.id.clone(), node, status: Status::Pending, reason: None, key: None, inputs: None, output: None };
        let deps: Vec<usize> = inst.deps.iter().flatten().copied().collect();
        if let Some(&d) = deps.iter().find(|&&d| entries[d].status != Status::Cached) {
            entry.reason = Some(format!("waits for {}", entries[d].id));
        } else {
            let upstream = |d: usize| (entries[d].id.clone(), entries[d].output.clone().unwrap());
            let files = root_files.get_mut(i).and_then(Option::take).unwrap_or_else(|| instance_files(spec, &inst));
            match files.and_then(|files| hash_inputs(spec, &inst, &uses[inst.node], files, upstream, stat)) {
                Err(KeyError::Input { path, .. }) => {
                    missing.push(crate::expand::missing_input_error(spec, &inst, &path));
                }
                Err(e) => entry.reason = Some(e.to_string()),
                Ok(hi) => {
                    let key = hi.key();
                    let hit = cache.lookup(&key).map(|r| r.output.clone());
                    match hit.as_ref().map(|o| (o, cache.quick_check(o))) {
                        Some((o, Ok(_))) => {
                            entry.status = Status::Cached;
                            entry.output = Some(o.clone());
                        }
                        Some((_, Err(e))) => {
                            entry.status = Status::Run;
                            entry.reason = Some(format!("cached output is damaged ({e})"));
                        }
                        None => {
                            entry.status = Status::Run;
                            entry.reason = Some(reason(cache, spec, &inst.id, &key, &hi));
                        }
                    }
                    entry.key = Some(key);
                    entry.inputs = Some(hi);
                }
            }
        }
        let cached_output = entry.output.clone();
        entries.push(entry);
        if let Some(out) = cached_output {
            let producer = &spec.nodes[inst.node].name;
            for (set, _, file) in x.pending_sets().into_iter().filter(|(_, n, _)| n == producer) {
                // `run` fails the producing instance on a bad set file; the plan says why the
                // nodes over the set stay unknown.
                if let Err(e) = x.provide_set_from(set, producer, &cache.out_path(&out), file) {
                    set_errors.insert(set.to_owned(), e);
                }
            }
        }
        i += 1;
    }
    if !missing.is_empty() {
        return Err(Diagnostics(missing));
    }
    for (n, v) in x.by_node.iter().enumerate() {
        if v.is_none() {
            let node = &spec.nodes[n];
            let set = node.foreach.clone().unwrap_or_default();
            let reason = match x.pending_sets().iter().find(|(s, _, _)| *s == set) {
                Some((_, src, _)) if set_errors.contains_key(&set) => format!("{} (`run` fails {src} on it)", set_errors[&set]),
                Some((_, src, _)) => format!("instances are known once `{src}` has produced set `{set}`"),
                None => "depends on nodes whose instances are not known yet".into(),
            };
            let id = if node.foreach.is_some() { format!("{}[*]", node.name) } else { node.name.clone() };
            entries.push(Entry { id, node: node.name.clone(), status: Status::Pending, reason: Some(reason), key: None, inputs: None, output: None });
        }
    }
    let mut summary = Counts::default();
    for e in &entries {
        match e.status {
            Status::Cached => summary.cached += 1,
            Status::Run => summary.run += 1,
            Status::Pending => summary.pending += 1,
        }
    }
    Ok(Plan { nodes: entries, summary })
}

/// Why an instance has no cache entry, by comparing with the inputs of its last run.
fn reason(cache: &Cache, spec: &Spec, id: &str, key: &str, now: &HashInputs) -> String {
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
