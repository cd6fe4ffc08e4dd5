//! `nodes:` — each a shell command or a built-in task, with its needs and resources.

use super::{Action, Checker, NodeDef, Resources, NODE_KEYS, RESOURCE_KEYS};
use crate::diagnostic::suggest;
use crate::yaml::{Value, Yaml};

impl Checker<'_> {
    pub(super) fn nodes(&mut self, y: &Yaml) -> Vec<NodeDef> {
        let registry = self.registry;
        let mut nodes = Vec::new();
        for (k, v) in self.mapping(y, "`nodes`", &[]) {
            let what = format!("node `{}`", k.name);
            if !k.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') || k.name.is_empty() {
                self.error(k.pos, format!("{what}: names may use letters, digits, `_` and `-` only"));
                continue;
            }
            let map = self.mapping(v, &what, NODE_KEYS);
            let get = |key: &str| map.iter().find(|(k, _)| k.name == key).map(|(_, v)| v);
            let foreach = get("foreach").and_then(|f| self.string(f, "`foreach`"));
            let foreach_pos = get("foreach").map_or(k.pos, |f| f.pos);
            let (needs, needs_pos): (Vec<String>, Vec<_>) = match get("needs") {
                None => (Vec::new(), Vec::new()),
                Some(n) => match &n.value {
                    Value::Str(s) => (vec![s.clone()], vec![n.pos]),
                    Value::Seq(items) => items.iter().filter_map(|i| Some((self.string(i, "entries of `needs`")?, i.pos))).unzip(),
                    _ => {
                        self.error(n.pos, format!("`needs` must be a node name or a list of them, found {}", n.kind()));
                        (Vec::new(), Vec::new())
                    }
                },
            };
            let partial: Vec<String> = match get("partial") {
                None => Vec::new(),
                Some(n) => match &n.value {
                    Value::Str(_) => self.string(n, "`partial`").into_iter().collect(),
                    Value::Seq(items) => items.iter().filter_map(|i| self.string(i, "entries of `partial`")).collect(),
                    _ => {
                        self.error(n.pos, format!("`partial` must be a list of needed nodes, found {}", n.kind()));
                        Vec::new()
                    }
                },
            };
            if let Some(p) = partial.iter().find(|p| !needs.contains(p)) {
                self.error(get("partial").map_or(k.pos, |n| n.pos), format!("{what}: `partial` names `{p}`, which is not among its `needs`"));
            }
            let inputs = match get("inputs") {
                None => Vec::new(),
                Some(i) => match &i.value {
                    Value::Seq(items) => items.iter().filter_map(|i| self.template(i, "`inputs`")).collect(),
                    Value::Str(_) => self.template(i, "`inputs`").into_iter().collect(),
                    _ => {
                        self.error(i.pos, "`inputs` must be a list of file paths");
                        Vec::new()
                    }
                },
            };
            let resources = get("resources").map(|r| self.resources(r)).unwrap_or_default();
            let retries = get("retries").and_then(|r| match r.value {
                Value::Int(n) if (0..=100).contains(&n) => Some(n as u32),
                _ => {
                    self.error(r.pos, "`retries` must be a whole number from 0 to 100: how many times a failed attempt is run again");
                    None
                }
            });
            let timeout = get("timeout").and_then(|t| {
                let text = match &t.value {
                    Value::Str(s) => s.clone(),
                    Value::Int(n) => n.to_string(),
                    Value::Float(f) => f.to_string(),
                    _ => String::new(),
                };
                super::duration::parse(&text).map_err(|e| self.error(t.pos, format!("`timeout`: {e}"))).ok()
            });
            let action = match (get("shell"), get("task")) {
                (Some(_), Some(t)) => {
                    self.error(t.pos, format!("{what} has both `shell` and `task`; give one"));
                    None
                }
                (None, None) => {
                    self.error_help(k.pos, format!("{what} has neither `shell` nor `task`"), format!("built-in tasks: {}", registry.kinds().join(", ")));
                    None
                }
                (Some(s), None) => {
                    if let Some(w) = get("with") {
                        self.error(w.pos, "`with` gives a built-in task's parameters; a `shell` node uses `{params.X}` in its command");
                    }
                    self.template(s, "`shell`").map(Action::Shell)
                }
                (None, Some(t)) => self.task(t, get("with")),
            };
            // A node whose action is wrong is still checked for its other references (and the
            // spec is rejected anyway), so one mistake does not cascade into "unknown node".
            let action = action.unwrap_or(Action::Shell(crate::template::Template { parts: Vec::new(), at: None, text: String::new() }));
            nodes.push(NodeDef { name: k.name.clone(), pos: k.pos, foreach, needs, foreach_pos, needs_pos, action, inputs, resources, partial, retries, timeout });
        }
        nodes
    }

    fn task(&mut self, t: &Yaml, with: Option<&Yaml>) -> Option<Action> {
        let registry = self.registry;
        let kind = self.string(t, "`task`")?;
        let Some(task) = registry.get(&kind) else {
            let help = match suggest(&kind, registry.kinds()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("built-in tasks: {}", registry.kinds().join(", ")),
            };
            self.error_help(t.pos, format!("unknown task `{kind}`"), help);
            return None;
        };
        let task = super::TaskRef(task.clone());
        let with_json = match with {
            None => serde_json::Value::Object(Default::default()),
            Some(w) if w.as_map().is_some() => {
                // Check each string as a template now; it is rendered per instance later.
                for (k, v) in w.as_map().unwrap() {
                    if let Value::Str(_) = v.value {
                        self.template(v, &format!("`with.{}`", k.name));
                    }
                }
                w.to_json()
            }
            Some(w) => {
                self.error(w.pos, format!("`with` must be a mapping, found {}", w.kind()));
                return None;
            }
        };
        Some(Action::Task { task, with: with_json, with_yaml: with.cloned() })
    }

    fn resources(&mut self, y: &Yaml) -> Resources {
        let mut r = Resources::default();
        for (k, v) in self.mapping(y, "`resources`", RESOURCE_KEYS) {
            match (k.name.as_str(), &v.value) {
                ("cpu", Value::Int(n)) if *n >= 1 => r.cpu = *n as u32,
                ("gpu", Value::Int(n)) if *n >= 0 => r.gpu = *n as u32,
                ("mem_gb", Value::Int(n)) if *n >= 0 => r.mem_gb = *n as f64,
                ("mem_gb", Value::Float(f)) if *f >= 0.0 => r.mem_gb = *f,
                ("mem_gb", Value::Seq(items)) => {
                    // One value per attempt: a retry after running out of memory asks for more.
                    let steps: Vec<f64> = items.iter().filter_map(|i| match i.value {
                        Value::Int(n) if n >= 0 => Some(n as f64),
                        Value::Float(f) if f >= 0.0 => Some(f),
                        _ => None,
                    }).collect();
                    if steps.is_empty() || steps.len() != items.len() {
                        self.error(v.pos, "`mem_gb` must be a non-negative number, or a list of them (one per attempt: `[4, 8, 16]`)");
                    } else {
                        r.mem_gb = steps[0];
                        r.mem_gb_attempts = steps;
                    }
                }
                ("cpu_fallback", Value::Bool(b)) => r.cpu_fallback = *b,
                ("cpu_fallback", _) => self.error(v.pos, "`cpu_fallback` must be true or false"),
                ("cpu", _) => self.error(v.pos, "`cpu` must be an integer ≥ 1"),
                (name, _) if RESOURCE_KEYS.contains(&name) => self.error(v.pos, format!("`{name}` must be a non-negative number")),
                _ => {}
            }
        }
        r
    }
}
