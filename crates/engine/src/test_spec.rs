//! For the engine's unit tests: a pipeline written to a temporary folder and loaded with the
//! built-in tasks, as `dag` loads one.

use crate::spec::Spec;
use crate::task::Registry;
use std::path::Path;

/// `yaml` written to `dir/p.yaml` and loaded, `set` overriding its params as `--set` does.
pub fn load(dir: &Path, yaml: &str, set: &[(&str, &str)]) -> Spec {
    let file = dir.join("p.yaml");
    std::fs::write(&file, yaml).unwrap();
    let mut registry = Registry::default();
    crate::builtin::register(&mut registry);
    let set: Vec<(String, String)> = set.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    crate::spec::load(&file, &set, &registry).unwrap()
}
