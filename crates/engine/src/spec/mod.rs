//! The pipeline file: parsed, checked as a whole, every problem reported with its position.

use crate::diagnostic::{suggest, Diagnostic, Diagnostics};
use crate::task::Registry;
use crate::template::Template;
use crate::yaml::{self, Key, Pos, Value, Yaml};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read pipeline {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(#[from] Diagnostics),
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub file: PathBuf,
    pub source: String,
    pub params: BTreeMap<String, Param>,
    pub sets: BTreeMap<String, SetDef>,
    /// In file order, which is also the order of ties in the schedule.
    pub nodes: Vec<NodeDef>,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub value: serde_json::Value,
    pub text: String,
    pub pos: Pos,
}

#[derive(Clone, Debug)]
pub enum SetSource {
    Range(u64),
    Values(Vec<String>),
    Csv { file: PathBuf, column: String },
    Glob(String),
    /// Lines of a file that an upstream node writes: known only once that node has run.
    FromNode { node: String, file: String },
}

#[derive(Clone, Debug)]
pub struct SetDef {
    pub name: String,
    pub source: SetSource,
    pub pos: Pos,
}

#[derive(Clone, Debug)]
pub enum Action {
    Shell(Template),
    /// The task resolved from the registry once, at checking; `with_yaml`: the mapping as
    /// written, to point a refused parameter at its line.
    Task { task: TaskRef, with: serde_json::Value, with_yaml: Option<Yaml> },
}

/// A registered task, as the checked spec holds it (so no later stage looks its kind up again).
#[derive(Clone)]
pub struct TaskRef(pub std::sync::Arc<dyn crate::task::DynTask>);

impl std::ops::Deref for TaskRef {
    type Target = dyn crate::task::DynTask;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.kind(), self.version())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resources {
    pub cpu: u32,
    pub gpu: u32,
    pub mem_gb: f64,
    /// `mem_gb: [4, 8, 16]`: the memory of each attempt in turn (the last for any after it);
    /// empty for one value. `mem_gb` is the first.
    pub mem_gb_attempts: Vec<f64>,
    /// A GPU node may run on the CPU when the pools hold no GPU.
    pub cpu_fallback: bool,
}

impl Default for Resources {
    fn default() -> Self {
        Resources { cpu: 1, gpu: 0, mem_gb: 0.0, mem_gb_attempts: Vec::new(), cpu_fallback: false }
    }
}

impl Resources {
    /// What attempt `n` (1 for the first) asks for.
    pub fn for_attempt(&self, n: u32) -> Resources {
        let mem_gb = match self.mem_gb_attempts.as_slice() {
            [] => self.mem_gb,
            steps => steps[(n.max(1) as usize - 1).min(steps.len() - 1)],
        };
        Resources { mem_gb, ..self.clone() }
    }
}

#[derive(Clone, Debug)]
pub struct NodeDef {
    pub name: String,
    pub pos: Pos,
    pub foreach: Option<String>,
    pub needs: Vec<String>,
    /// Where each entry of `foreach` and `needs` is written, for errors.
    pub foreach_pos: Pos,
    pub needs_pos: Vec<Pos>,
    pub action: Action,
    /// External files (templates), hashed by content.
    pub inputs: Vec<Template>,
    pub resources: Resources,
    /// Needs gathered from whichever of their instances succeed: with `--keep-going`, a failed
    /// instance of one of these leaves this node running without it instead of skipped.
    pub partial: Vec<String>,
    /// `retries:`: attempts after a failed one; None: the run's `--retries`.
    pub retries: Option<u32>,
    /// `timeout:`: an attempt that runs longer is stopped and fails.
    pub timeout: Option<std::time::Duration>,
}

impl Spec {
    pub fn node(&self, name: &str) -> Option<&NodeDef> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn diagnostic(&self, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, &self.source, pos, message)
    }
}

/// Reads, parses and checks a pipeline. `overrides` are `--set KEY=VALUE` pairs.
pub fn load(path: &Path, overrides: &[(String, String)], registry: &Registry) -> Result<Spec, SpecError> {
    let source = std::fs::read_to_string(path).map_err(|source| SpecError::Io { path: path.to_owned(), source })?;
    parse(path, source, overrides, registry)
}

pub fn parse(path: &Path, source: String, overrides: &[(String, String)], registry: &Registry) -> Result<Spec, SpecError> {
    let root = match yaml::parse(&source) {
        Ok(y) => y,
        Err(e) => {
            let pos = e.location().map_or_else(Pos::default, |l| Pos { line: l.line(), column: l.column() });
            let first = e.to_string().lines().next().unwrap_or("").to_owned();
            // The position is ours to print; drop the parser's own `error: line N column M:`.
            let msg = first.trim_start_matches("error: ");
            let msg = match msg.strip_prefix("line ").and_then(|m| m.split_once(": ")) {
                Some((_, rest)) => rest.to_owned(),
                None => msg.to_owned(),
            };
            return Err(Diagnostics(vec![Diagnostic::new(path, &source, pos, format!("invalid YAML: {msg}"))]).into());
        }
    };
    let mut cx = Checker { file: path, registry, source: &source, errors: Vec::new() };
    let spec = cx.spec(&root, overrides);
    if cx.errors.is_empty() {
        let mut spec = spec;
        spec.file = path.to_owned();
        spec.source = source.clone();
        Ok(spec)
    } else {
        Err(Diagnostics(cx.errors).into())
    }
}

pub(crate) struct Checker<'a> {
    file: &'a Path,
    registry: &'a Registry,
    source: &'a str,
    errors: Vec<Diagnostic>,
}

const TOP_KEYS: &[&str] = &["name", "description", "params", "sets", "nodes"];
const NODE_KEYS: &[&str] = &["description", "foreach", "needs", "partial", "shell", "task", "with", "inputs", "resources", "retries", "timeout"];
const SET_KEYS: &[&str] = &["range", "values", "csv", "column", "glob", "from", "file"];
const RESOURCE_KEYS: &[&str] = &["cpu", "gpu", "mem_gb", "cpu_fallback"];

impl Checker<'_> {
    fn error(&mut self, pos: Pos, msg: impl Into<String>) {
        self.errors.push(Diagnostic::new(self.file, self.source, pos, msg));
    }

    fn error_help(&mut self, pos: Pos, msg: impl Into<String>, help: impl Into<String>) {
        self.errors.push(Diagnostic::new(self.file, self.source, pos, msg).with_help(help));
    }

    fn mapping<'y>(&mut self, y: &'y Yaml, what: &str, allowed: &[&str]) -> &'y [(Key, Yaml)] {
        let Some(map) = y.as_map() else {
            self.error(y.pos, format!("{what} must be a mapping, found {}", y.kind()));
            return &[];
        };
        for (k, _) in map {
            if !allowed.is_empty() && !allowed.contains(&k.name.as_str()) {
                match suggest(&k.name, allowed.iter().copied()) {
                    Some(s) => self.error_help(k.pos, format!("unknown key `{}` in {what}", k.name), format!("did you mean `{s}`?")),
                    None => self.error_help(k.pos, format!("unknown key `{}` in {what}", k.name), format!("expected one of: {}", allowed.join(", "))),
                }
            }
        }
        map
    }

    fn string(&mut self, y: &Yaml, what: &str) -> Option<String> {
        match &y.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.error(y.pos, format!("{what} must be a string, found {}", y.kind()));
                None
            }
        }
    }

    fn template(&mut self, y: &Yaml, what: &str) -> Option<Template> {
        let text = self.string(y, what)?;
        match Template::parse(&text) {
            Ok(t) => Some(Template { at: Some(y.pos), ..t }),
            Err(e) => {
                self.error(self.offset_pos(y.pos, &text, e.offset), format!("in {what}: {}", e.message));
                None
            }
        }
    }

    /// The position of a byte offset inside a scalar, when the scalar sits on one line as
    /// written (plain or quoted); otherwise the scalar's own position.
    pub(super) fn offset_pos(&self, pos: Pos, text: &str, offset: usize) -> Pos {
        let line = self.source.lines().nth(pos.line.saturating_sub(1) as usize).unwrap_or("");
        let start = line.char_indices().nth(pos.column.saturating_sub(1) as usize).map_or(line.len(), |(i, _)| i);
        let rest = &line[start..];
        let skip = usize::from(rest.starts_with('"') || rest.starts_with('\''));
        if !text.contains('\n') && rest[skip..].starts_with(text) {
            Pos { line: pos.line, column: pos.column + skip as u64 + text[..offset].chars().count() as u64 }
        } else {
            pos
        }
    }

    fn spec(&mut self, root: &Yaml, overrides: &[(String, String)]) -> Spec {
        let top = self.mapping(root, "the pipeline", TOP_KEYS);
        let get = |k: &str| top.iter().find(|(key, _)| key.name == k).map(|(_, v)| v);
        let name = match get("name") {
            Some(y) => self.string(y, "`name`").unwrap_or_default(),
            None => {
                self.error(root.pos, "the pipeline needs a `name`");
                String::new()
            }
        };
        let params = get("params").map(|y| self.params(y, overrides)).unwrap_or_default();
        if get("params").is_none() {
            for (k, _) in overrides {
                self.error(root.pos, format!("--set {k}: the pipeline has no `params`"));
            }
        }
        let sets = get("sets").map(|y| self.sets(y)).unwrap_or_default();
        let nodes = match get("nodes") {
            Some(y) => self.nodes(y),
            None => {
                self.error(root.pos, "the pipeline needs `nodes`");
                Vec::new()
            }
        };
        let spec = Spec { name, file: PathBuf::new(), source: String::new(), params, sets, nodes };
        self.references(&spec);
        spec
    }

    fn params(&mut self, y: &Yaml, overrides: &[(String, String)]) -> BTreeMap<String, Param> {
        let mut params = BTreeMap::new();
        for (k, v) in self.mapping(y, "`params`", &[]) {
            match v.scalar_text() {
                Some(text) => {
                    params.insert(k.name.clone(), Param { value: v.to_json(), text, pos: v.pos });
                }
                None => self.error(v.pos, format!("parameter `{}` must be a scalar, found {}", k.name, v.kind())),
            }
        }
        for (key, raw) in overrides {
            let Some(p) = params.get_mut(key) else {
                let help = suggest(key, params.keys().map(String::as_str)).map(|s| format!("did you mean `{s}`?"));
                let d = Diagnostic::new(self.file, self.source, y.pos, format!("--set {key}: no such parameter"));
                self.errors.push(match help {
                    Some(h) => d.with_help(h),
                    None => d,
                });
                continue;
            };
            // The value is read as YAML so `--set alpha=0.1` stays a number.
            let parsed = yaml::parse(&format!("v: {raw}")).ok().and_then(|y| y.get("v").cloned());
            match parsed.and_then(|v| Some((v.to_json(), v.scalar_text()?))) {
                Some((value, text)) => {
                    p.value = value;
                    p.text = text;
                }
                None => {
                    p.value = serde_json::Value::String(raw.clone());
                    p.text = raw.clone();
                }
            }
        }
        params
    }
}

pub mod duration;
mod nodes;
mod references;
mod sets;
