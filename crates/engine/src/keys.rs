//! From an expanded instance and its upstream outputs to its `HashInputs` (and so its key).
//! Shared by `run` and `plan`, so what the plan predicts is what the run does.

use crate::expand::{input_paths, resolved_params, Instance};
use crate::hash::HashInputs;
use crate::spec::{Action, Spec};
use crate::statcache::StatCache;
use crate::template::Var;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("input file {path} cannot be read: {source}")]
    Input { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Params(String),
}

/// The pipeline parameters a node refers to, anywhere in its definition.
pub fn params_used(spec: &Spec, node: usize) -> BTreeMap<String, serde_json::Value> {
    let n = &spec.nodes[node];
    let mut names = Vec::new();
    let mut collect = |t: &crate::template::Template| {
        for (v, _) in t.vars() {
            if let Var::Param(p) = v {
                names.push(p.clone());
            }
        }
    };
    n.inputs.iter().for_each(&mut collect);
    match &n.action {
        Action::Shell(t) => collect(t),
        Action::Task { with, .. } => {
            let text = with.to_string();
            for p in spec.params.keys() {
                if text.contains(&format!("{{params.{p}}}")) {
                    names.push(p.clone());
                }
            }
        }
    }
    names.into_iter().filter_map(|p| spec.params.get(&p).map(|v| (p, v.value.clone()))).collect()
}

/// Everything the instance's key depends on. `files` are its external input files
/// (`instance_files`); `upstream` gives, for each dependency instance, its output digest;
/// `uses` is `params_used` of the node (computed once per node).
pub fn hash_inputs(
    spec: &Spec,
    inst: &Instance,
    uses: &BTreeMap<String, serde_json::Value>,
    files: Vec<PathBuf>,
    upstream: impl Fn(usize) -> (String, String),
    stat: &mut StatCache,
) -> Result<HashInputs, KeyError> {
    let node = &spec.nodes[inst.node];
    let params = resolved_params(spec, inst);
    let (kind, version) = match &node.action {
        Action::Shell(_) => ("shell".to_owned(), 1),
        Action::Task { task, .. } => (task.kind().to_owned(), task.version()),
    };
    let mut digests = BTreeMap::new();
    for path in files {
        let d = stat.digest(&path).map_err(|source| KeyError::Input { path: path.clone(), source })?;
        digests.insert(path.display().to_string(), d);
    }
    let upstream = inst.deps.iter().flatten().map(|&d| upstream(d)).collect();
    Ok(HashInputs { kind, version, params, uses: uses.clone(), files: digests, upstream, value: inst.value.clone() })
}

/// The external files an instance reads, for `hash_inputs`: those its task's parameters name
/// and its `inputs`. Listing them can read the filesystem (a task may look for its patient's
/// images), so callers list them once.
pub fn instance_files(spec: &Spec, inst: &Instance) -> Result<Vec<PathBuf>, KeyError> {
    let mut files = match &spec.nodes[inst.node].action {
        Action::Shell(_) => Vec::new(),
        Action::Task { task, .. } => task.input_files(&resolved_params(spec, inst)).map_err(KeyError::Params)?,
    };
    files.extend(input_paths(spec, inst));
    Ok(files)
}

/// Every instance's external input files, listed once (`instance_files`), and every one of
/// them that does not exist, reported together before anything runs. The listing goes on to
/// the scheduler, which would otherwise list them again.
pub fn list_inputs(spec: &Spec, instances: &[Instance]) -> (Vec<Result<Vec<PathBuf>, KeyError>>, Vec<crate::diagnostic::Diagnostic>) {
    let mut missing = Vec::new();
    let listed: Vec<_> = instances
        .iter()
        .map(|inst| {
            let files = instance_files(spec, inst);
            // Parameters a task cannot read are reported elsewhere; the node's `inputs` still count.
            let fallback;
            let checked = match &files {
                Ok(f) => f,
                Err(_) => {
                    fallback = input_paths(spec, inst);
                    &fallback
                }
            };
            missing.extend(checked.iter().filter(|f| !f.exists()).map(|f| crate::expand::missing_input_error(spec, inst, f)));
            files
        })
        .collect();
    (listed, missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::Expansion;
    use crate::test_spec::load;
    use std::path::Path;

    /// The key of instance `id` of `yaml` (with `set`), its upstream outputs all `digest`.
    fn key(dir: &Path, yaml: &str, set: &[(&str, &str)], id: &str, digest: &str) -> String {
        let spec = load(dir, yaml, set);
        let x = Expansion::new(&spec).unwrap();
        let inst = x.instances.iter().find(|i| i.id == id).unwrap();
        let files = instance_files(&spec, inst).unwrap();
        // A fresh stat cache each time (it is never saved): the key must come from the files'
        // content, not from digests remembered across calls.
        let mut stat = StatCache::load(dir.join("statcache"));
        hash_inputs(&spec, inst, &params_used(&spec, inst.node), files, |d| (x.instances[d].id.clone(), digest.to_owned()), &mut stat).unwrap().key()
    }

    /// `a` uses x; `b` needs `a` and reads `dir/data.txt` (inputs are paths as written).
    fn spec(dir: &Path) -> String {
        format!("name: t\nparams: {{x: 1, y: 2}}\nnodes:\n  a: {{shell: 'echo {{params.x}}'}}\n  b: {{needs: a, inputs: ['{}'], shell: 'cat {{inputs.a}}'}}\n", dir.join("data.txt").display())
    }

    #[test]
    fn a_key_moves_with_the_parameters_its_node_uses_and_no_others() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data.txt"), "one").unwrap();
        let k = |set: &[(&str, &str)]| key(dir.path(), &spec(dir.path()), set, "a", "");
        assert_eq!(k(&[]), k(&[("y", "3")]), "`a` does not use y");
        assert_ne!(k(&[]), k(&[("x", "3")]));
        assert_eq!(k(&[("x", "1")]), k(&[]), "a value set to what it was is the same key");
    }

    #[test]
    fn upstream_enters_by_its_output_digest_and_input_files_by_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.txt");
        std::fs::write(&data, "one").unwrap();
        let k = |set: &[(&str, &str)], digest: &str| key(dir.path(), &spec(dir.path()), set, "b", digest);
        let before = k(&[], "d1");
        // `a` reran (its key changed with x) but wrote the same output: early cutoff.
        assert_eq!(k(&[("x", "9")], "d1"), before);
        assert_ne!(k(&[], "d2"), before);
        std::fs::write(&data, "two").unwrap();
        let changed = k(&[], "d1");
        assert_ne!(changed, before);
        std::fs::write(&data, "one").unwrap();
        assert_eq!(k(&[], "d1"), before, "the same bytes again: the same key, whatever the file's times");
    }
}
