//! `sets:` — the collections that `foreach` iterates over.

use super::{Checker, SetDef, SetSource, SET_KEYS};
use crate::yaml::{Value, Yaml};
use std::collections::BTreeMap;
use std::path::PathBuf;

impl Checker<'_> {
    pub(super) fn sets(&mut self, y: &Yaml) -> BTreeMap<String, SetDef> {
        let mut sets = BTreeMap::new();
        for (k, v) in self.mapping(y, "`sets`", &[]) {
            let what = format!("set `{}`", k.name);
            if matches!(k.name.as_str(), "out" | "inputs" | "params") {
                self.error(k.pos, format!("`{}` is reserved and cannot name a set", k.name));
                continue;
            }
            let map = self.mapping(v, &what, SET_KEYS);
            let get = |key: &str| map.iter().find(|(k, _)| k.name == key).map(|(_, v)| v);
            let kinds: Vec<&str> = ["range", "values", "csv", "glob", "from"].into_iter().filter(|s| get(s).is_some()).collect();
            if kinds.len() != 1 {
                self.error_help(
                    v.pos,
                    format!("{what} must have exactly one source, found {}", if kinds.is_empty() { "none".into() } else { kinds.join(" and ") }),
                    "use one of {range: N}, {values: [...]}, {csv: FILE, column: NAME}, {glob: PATTERN}, {from: NODE, file: NAME}",
                );
                continue;
            }
            let source = match kinds[0] {
                "range" => match get("range").map(|r| &r.value) {
                    Some(Value::Int(n)) if *n >= 0 => Some(SetSource::Range(*n as u64)),
                    _ => {
                        self.error(get("range").unwrap().pos, format!("`range` of {what} must be a non-negative integer"));
                        None
                    }
                },
                "values" => self.values(get("values").unwrap(), &what),
                "csv" => {
                    let file = self.string(get("csv").unwrap(), "`csv`");
                    let column = match get("column") {
                        Some(c) => self.string(c, "`column`"),
                        None => {
                            self.error(v.pos, format!("{what} reads a csv file and needs a `column`"));
                            None
                        }
                    };
                    file.zip(column).map(|(f, column)| SetSource::Csv { file: PathBuf::from(f), column })
                }
                "glob" => self.string(get("glob").unwrap(), "`glob`").map(SetSource::Glob),
                _ => {
                    let node = self.string(get("from").unwrap(), "`from`");
                    let file = match get("file") {
                        Some(f) => self.string(f, "`file`"),
                        None => {
                            self.error(v.pos, format!("{what} comes from a node and needs the `file` (one value per line) in its output"));
                            None
                        }
                    };
                    node.zip(file).map(|(node, file)| SetSource::FromNode { node, file })
                }
            };
            if let Some(source) = source {
                sets.insert(k.name.clone(), SetDef { name: k.name.clone(), source, pos: k.pos });
            }
        }
        sets
    }

    fn values(&mut self, y: &Yaml, what: &str) -> Option<SetSource> {
        let Value::Seq(items) = &y.value else {
            self.error(y.pos, format!("`values` of {what} must be a list"));
            return None;
        };
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            match item.scalar_text() {
                Some(t) if out.contains(&t) => self.error(item.pos, format!("{what} lists `{t}` twice")),
                Some(t) => out.push(t),
                None => self.error(item.pos, format!("values of {what} must be scalars, found {}", item.kind())),
            }
        }
        Some(SetSource::Values(out))
    }
}
