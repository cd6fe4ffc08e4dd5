//! Sets × node templates → concrete instances such as `n4[DUKE_001]`.
//!
//! Expansion is incremental: a node that iterates over a set produced by another node (or
//! needs such a node) is expanded only once that set's values are known.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::spec::{Action, SetSource, Spec};
use crate::template::{shell_quote, Template, Var};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Instance {
    pub id: String,
    /// Index into `spec.nodes`.
    pub node: usize,
    pub value: Option<String>,
    /// For each entry of the node's `needs`, the needed instances (indices), in set order.
    pub deps: Vec<Vec<usize>>,
}

pub struct Expansion<'s> {
    spec: &'s Spec,
    order: Vec<usize>,
    pub instances: Vec<Instance>,
    /// Instances of each node; `None` until the node is expanded.
    pub by_node: Vec<Option<Vec<usize>>>,
    sets: HashMap<String, Vec<String>>,
}

pub fn instance_id(node: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{node}[{v}]"),
        None => node.to_owned(),
    }
}

impl<'s> Expansion<'s> {
    /// Resolves every static set (reporting all problems at once) and expands what it can.
    pub fn new(spec: &'s Spec) -> Result<Self, Diagnostics> {
        let mut errors = Vec::new();
        let mut sets = HashMap::new();
        for set in spec.sets.values() {
            match static_values(&set.source) {
                Ok(Some(values)) => {
                    sets.insert(set.name.clone(), values);
                }
                Ok(None) => {}
                Err(e) => errors.push(spec.diagnostic(set.pos, format!("set `{}`: {e}", set.name))),
            }
        }
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        let mut x = Expansion {
            spec,
            order: crate::graph::topo_order(spec),
            instances: Vec::new(),
            by_node: vec![None; spec.nodes.len()],
            sets,
        };
        x.expand_ready();
        Ok(x)
    }

    /// Sets still waiting for their producing node: (set name, node, file).
    pub fn pending_sets(&self) -> Vec<(&'s str, &'s str, &'s str)> {
        self.spec
            .sets
            .values()
            .filter(|s| !self.sets.contains_key(&s.name))
            .filter_map(|s| match &s.source {
                SetSource::FromNode { node, file } => Some((s.name.as_str(), node.as_str(), file.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Reads a produced set from its file in the producing instance's output (`dir`) and
    /// supplies it: what `run` and `plan` both do, so they agree on a bad set file.
    pub fn provide_set_from(&mut self, set: &str, producer: &str, dir: &Path, file: &str) -> Result<Vec<usize>, String> {
        let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("set `{set}` is read from `{file}` in the output of {producer}: {e}"))?;
        self.provide_set(set, text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
    }

    /// Supplies a set's values once its producing node has run; duplicates are an error.
    pub fn provide_set(&mut self, set: &str, values: Vec<String>) -> Result<Vec<usize>, String> {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = values.iter().find(|v| !seen.insert(v.as_str())) {
            return Err(format!("set `{set}` lists `{dup}` twice"));
        }
        self.sets.insert(set.to_owned(), values);
        Ok(self.expand_ready())
    }

    pub fn set_values(&self, set: &str) -> Option<&[String]> {
        self.sets.get(set).map(Vec::as_slice)
    }

    /// Expands every node whose set is known and whose needed nodes are expanded.
    fn expand_ready(&mut self) -> Vec<usize> {
        let first_new = self.instances.len();
        let spec = self.spec;
        for &n in &self.order.clone() {
            if self.by_node[n].is_some() {
                continue;
            }
            let node = &spec.nodes[n];
            let values: Option<Vec<Option<String>>> = match &node.foreach {
                None => Some(vec![None]),
                Some(set) => self.sets.get(set).map(|v| v.iter().cloned().map(Some).collect()),
            };
            let need_idx: Option<Vec<usize>> = node.needs.iter().map(|m| spec.nodes.iter().position(|x| &x.name == m)).collect();
            let (Some(values), Some(need_idx)) = (values, need_idx) else { continue };
            if need_idx.iter().any(|&m| self.by_node[m].is_none()) {
                continue;
            }
            // Needs over the same set pair one to one; otherwise gather every instance.
            let pairing: Vec<Option<HashMap<&str, usize>>> = need_idx
                .iter()
                .map(|&m| {
                    let up = &spec.nodes[m];
                    (node.foreach.is_some() && up.foreach == node.foreach).then(|| {
                        self.by_node[m].as_ref().unwrap().iter().map(|&i| (self.instances[i].value.as_deref().unwrap(), i)).collect()
                    })
                })
                .collect();
            let mut mine = Vec::with_capacity(values.len());
            let mut new = Vec::with_capacity(values.len());
            for value in values {
                let deps = need_idx
                    .iter()
                    .zip(&pairing)
                    .map(|(&m, pair)| match pair {
                        Some(p) => p.get(value.as_deref().unwrap()).map(|&i| vec![i]).unwrap_or_default(),
                        None => self.by_node[m].clone().unwrap(),
                    })
                    .collect();
                mine.push(self.instances.len() + new.len());
                new.push(Instance { id: instance_id(&node.name, value.as_deref()), node: n, value, deps });
            }
            self.instances.extend(new);
            self.by_node[n] = Some(mine);
        }
        (first_new..self.instances.len()).collect()
    }

    pub fn is_complete(&self) -> bool {
        self.by_node.iter().all(Option::is_some)
    }
}

fn static_values(source: &SetSource) -> Result<Option<Vec<String>>, String> {
    Ok(Some(match source {
        SetSource::Range(n) => (0..*n).map(|i| i.to_string()).collect(),
        SetSource::Values(v) => v.clone(),
        SetSource::Csv { file, column } => read_csv_column(file, column)?,
        SetSource::Glob(pattern) => {
            let paths = glob::glob(pattern).map_err(|e| format!("bad glob pattern: {e}"))?;
            let mut out: Vec<String> = paths.filter_map(Result::ok).map(|p| p.display().to_string()).collect();
            out.sort();
            out
        }
        SetSource::FromNode { .. } => return Ok(None),
    }))
}

fn read_csv_column(file: &Path, column: &str) -> Result<Vec<String>, String> {
    let mut rdr = csv::Reader::from_path(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let headers = rdr.headers().map_err(|e| format!("{}: {e}", file.display()))?.clone();
    let col = headers
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| format!("{} has no column `{column}` (columns: {})", file.display(), headers.iter().collect::<Vec<_>>().join(", ")))?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("{}: {e}", file.display()))?;
        let v = rec.get(col).unwrap_or("").trim().to_owned();
        if v.is_empty() {
            return Err(format!("{} line {}: empty `{column}`", file.display(), i + 2));
        }
        if !seen.insert(v.clone()) {
            return Err(format!("{} line {}: `{v}` appears twice in `{column}`", file.display(), i + 2));
        }
        out.push(v);
    }
    Ok(out)
}

/// Renders `{…}` inside every string of a JSON value. A string that is exactly one
/// placeholder takes the resolved value's JSON type (so numbers stay numbers).
pub fn render_json(v: &serde_json::Value, resolve: &dyn Fn(&Var) -> Option<serde_json::Value>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::String(s) => {
            let Ok(t) = Template::parse(s) else { return v.clone() };
            if let Some(val) = t.sole_var().and_then(resolve) {
                return val;
            }
            J::String(t.render(|var| resolve(var).map(|j| json_text(&j))))
        }
        J::Array(a) => J::Array(a.iter().map(|x| render_json(x, resolve)).collect()),
        J::Object(o) => J::Object(o.iter().map(|(k, x)| (k.clone(), render_json(x, resolve))).collect()),
        _ => v.clone(),
    }
}

fn json_text(j: &serde_json::Value) -> String {
    match j {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What an instance does, with parameters and its set value resolved — but not the
/// run-specific paths, so it can be hashed.
pub fn resolved_params(spec: &Spec, inst: &Instance) -> serde_json::Value {
    let node = &spec.nodes[inst.node];
    match &node.action {
        Action::Shell(t) => serde_json::json!({ "command": t.render(|v| plain_var(spec, inst, v).map(|s| shell_quote(&s))) }),
        Action::Task { with, .. } => render_json(with, &|v| match v {
            Var::Param(p) => spec.params.get(p).map(|p| p.value.clone()),
            Var::Set(_) => inst.value.clone().map(serde_json::Value::String),
            _ => None,
        }),
    }
}

/// The value of a parameter or set placeholder as text.
fn plain_var(spec: &Spec, inst: &Instance, v: &Var) -> Option<String> {
    match v {
        Var::Param(p) => spec.params.get(p).map(|p| p.text.clone()),
        Var::Set(_) => inst.value.clone(),
        _ => None,
    }
}

/// The external input files named by the node's `inputs:`.
pub fn input_paths(spec: &Spec, inst: &Instance) -> Vec<PathBuf> {
    spec.nodes[inst.node].inputs.iter().map(|t| PathBuf::from(t.render(|v| plain_var(spec, inst, v)))).collect()
}

/// The command to run, with `{out}` and `{inputs…}` pointing at real paths.
pub fn shell_command(spec: &Spec, inst: &Instance, template: &Template, out: &Path, inputs: &BTreeMap<String, Vec<PathBuf>>) -> String {
    let files = |paths: &mut dyn Iterator<Item = &PathBuf>| paths.map(|p| shell_quote(&p.to_string_lossy())).collect::<Vec<_>>().join(" ");
    template.render(|v| match v {
        Var::Out => Some(shell_quote(&out.to_string_lossy())),
        Var::Inputs(None) => Some(files(&mut inputs.values().flatten())),
        Var::Inputs(Some(n)) => Some(files(&mut inputs.get(n).into_iter().flatten())),
        other => plain_var(spec, inst, other).map(|s| shell_quote(&s)),
    })
}

pub fn missing_input_error(spec: &Spec, inst: &Instance, path: &Path) -> Diagnostic {
    spec.diagnostic(spec.nodes[inst.node].pos, format!("{}: input file {} does not exist", inst.id, path.display()))
}

#[cfg(test)]
#[path = "expand_tests.rs"]
mod tests;
