//! Cross-references: sets, needs, placeholders, task parameters and cycles.

use super::{Action, Checker, SetSource, Spec};
use crate::diagnostic::suggest;
use crate::template::{Template, Var};
use crate::yaml::{Pos, Yaml};

impl Checker<'_> {
    pub(super) fn references(&mut self, spec: &Spec) {
        let names: Vec<&str> = spec.nodes.iter().map(|n| n.name.as_str()).collect();
        for set in spec.sets.values() {
            if let SetSource::FromNode { node, .. } = &set.source {
                match spec.node(node) {
                    None => self.unknown(set.pos, "node", node, &names, &format!("set `{}` comes from", set.name)),
                    Some(n) if n.foreach.is_some() => {
                        self.error(set.pos, format!("set `{}` comes from `{node}`, which runs once per set value; it must run once", set.name))
                    }
                    _ => {}
                }
            }
        }
        for node in &spec.nodes {
            let pos = node.pos;
            if let Some(set) = &node.foreach
                && !spec.sets.contains_key(set)
            {
                let sets: Vec<&str> = spec.sets.keys().map(String::as_str).collect();
                self.unknown(node.foreach_pos, "set", set, &sets, &format!("node `{}` iterates over", node.name));
            }
            for (need, &at) in node.needs.iter().zip(&node.needs_pos) {
                if need == &node.name {
                    self.error(at, format!("node `{}` needs itself", node.name));
                } else if spec.node(need).is_none() {
                    self.unknown(at, "node", need, &names, &format!("node `{}` needs", node.name));
                }
            }
            let mut templates: Vec<(&Template, bool)> = node.inputs.iter().map(|t| (t, false)).collect();
            let with_templates: Vec<Template>;
            match &node.action {
                Action::Shell(t) => templates.push((t, true)),
                Action::Task { task, with, with_yaml } => {
                    with_templates = strings(with).filter_map(|s| Template::parse(s).ok()).collect();
                    templates.extend(with_templates.iter().map(|t| (t, false)));
                    self.task_params(spec, node.name.as_str(), pos, with_yaml.as_ref(), task, with);
                }
            }
            for (t, is_shell) in templates {
                for (var, offset) in t.vars() {
                    let at = t.at.map_or(pos, |at| self.offset_pos(at, &t.text, offset));
                    if is_shell && matches!(var, Var::Set(_)) && t.text[..offset].ends_with('$') && node.foreach.as_deref() != Some(&var.to_string()[1..var.to_string().len() - 1]) {
                        let name = var.to_string();
                        self.error_help(at, format!("node `{}`: {name} is not a placeholder", node.name), format!("for the shell variable write ${{{name}}}"));
                        continue;
                    }
                    self.placeholder(spec, node, at, var, is_shell);
                }
            }
        }
        if let Some(cycle) = crate::graph::find_cycle(spec) {
            let pos = spec.node(&cycle[0]).map_or(Pos::default(), |n| n.pos);
            self.error(pos, format!("the nodes form a cycle: {} → {}", cycle.join(" → "), cycle[0]));
        }
    }

    fn unknown(&mut self, pos: Pos, what: &str, name: &str, known: &[&str], context: &str) {
        let help = match suggest(name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => format!("no {what}s are defined"),
            None => format!("known {what}s: {}", known.join(", ")),
        };
        self.error_help(pos, format!("{context} unknown {what} `{name}`"), help);
    }

    fn placeholder(&mut self, spec: &Spec, node: &super::NodeDef, pos: Pos, var: &Var, is_shell: bool) {
        let name = &node.name;
        match var {
            Var::Out | Var::Inputs(None) if !is_shell => {
                self.error(pos, format!("node `{name}`: {var} is only available in `shell` commands"))
            }
            Var::Inputs(Some(n)) if !is_shell => {
                self.error(pos, format!("node `{name}`: {{inputs.{n}}} is only available in `shell` commands"))
            }
            Var::Inputs(Some(n)) if !node.needs.contains(n) => self.error_help(
                pos,
                format!("node `{name}` uses {{inputs.{n}}} but does not need `{n}`"),
                format!("add `{n}` to its `needs`"),
            ),
            Var::Param(p) if !spec.params.contains_key(p) => {
                let known: Vec<&str> = spec.params.keys().map(String::as_str).collect();
                self.unknown(pos, "parameter", p, &known, &format!("node `{name}` uses"));
            }
            Var::Set(s) if node.foreach.as_deref() != Some(s.as_str()) => {
                let help = match &node.foreach {
                    Some(f) => format!("this node iterates over `{f}`; write {{{f}}}"),
                    None => format!("add `foreach: {s}` to the node, or use {{params.{s}}}"),
                };
                self.error_help(pos, format!("node `{name}` uses {{{s}}} but does not iterate over a set named `{s}`"), help);
            }
            _ => {}
        }
    }

    /// Typed parameters are checked now, with `{params.X}` resolved and set values still as
    /// placeholders, so a wrong type, a misspelt field or a value out of the task's range
    /// fails before anything runs. Each refusal points at where `with_yaml` writes the
    /// parameter (else at the node, `pos`), and one that comes from `{params.X}` says so, since
    /// that is where to change it.
    fn task_params(&mut self, spec: &Spec, node: &str, pos: Pos, with_yaml: Option<&Yaml>, task: &super::TaskRef, with: &serde_json::Value) {
        let rendered = crate::expand::render_json(with, &|v| match v {
            Var::Param(p) => spec.params.get(p).map(|p| p.value.clone()),
            _ => None,
        });
        let kind = task.kind();
        for e in task.check(&rendered).err().unwrap_or_default() {
            let at = match with_yaml {
                Some(w) if !e.path.is_empty() => w.locate(&e.path),
                _ => pos,
            };
            let msg = format!("node `{node}`: parameters of task `{kind}`: {e}");
            let from_param = with_yaml.and_then(|w| w.at_path(&e.path)).and_then(|v| v.scalar_text()).and_then(|text| {
                Template::parse(&text).ok()?.vars().find_map(|(v, _)| match v {
                    Var::Param(p) => Some(p.clone()),
                    _ => None,
                })
            });
            match from_param {
                Some(p) => self.error_help(at, msg, format!("the value comes from `params.{p}`: change it there or with `--set {p}=…`")),
                None => self.error(at, msg),
            }
        }
    }
}

fn strings(v: &serde_json::Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match v {
        serde_json::Value::String(s) => Box::new(std::iter::once(s.as_str())),
        serde_json::Value::Array(a) => Box::new(a.iter().flat_map(strings)),
        serde_json::Value::Object(o) => Box::new(o.values().flat_map(strings)),
        _ => Box::new(std::iter::empty()),
    }
}
