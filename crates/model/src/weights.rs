//! Loading torchvision state dicts saved as safetensors into a `VarStore`, reporting what
//! was missing or unexpected. The 1000-class ImageNet head may be replaced by the study's.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use tch::{nn, Tensor};

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{file}: cannot read safetensors: {message}")]
    Read { file: PathBuf, message: String },
    #[error("{file}: `{name}` has shape {found:?}, the network expects {expected:?}")]
    Shape { file: PathBuf, name: String, expected: Vec<i64>, found: Vec<i64> },
    #[error("{file}: {count} of the network's tensors are missing, e.g. {first}")]
    Missing { file: PathBuf, count: usize, first: String },
}

#[derive(Debug, Default, serde::Serialize)]
pub struct LoadReport {
    pub loaded: usize,
    /// Network variables the file did not have (only the head's, when it is replaced).
    pub missing: Vec<String>,
    /// Tensors in the file the network has no place for.
    pub unexpected: Vec<String>,
    /// The file's classifier did not fit the network's head and was left as initialised.
    pub head_replaced: bool,
}

/// torchvision's old checkpoints named `norm1` as `norm.1` (and so on); new names win.
pub fn modern_name(name: &str) -> String {
    let mut n = name.to_owned();
    for (old, new) in [(".norm.1.", ".norm1."), (".relu.1.", ".relu1."), (".conv.1.", ".conv1."), (".norm.2.", ".norm2."), (".relu.2.", ".relu2."), (".conv.2.", ".conv2.")] {
        n = n.replace(old, new);
    }
    n
}

/// Copies every tensor of `file` into the matching variable of `vs`. With `replace_head`, a
/// `classifier.*` of another shape (ImageNet's 1000 classes) is skipped rather than an error.
pub fn load_torchvision(vs: &mut nn::VarStore, file: &Path, replace_head: bool) -> Result<LoadReport, WeightsError> {
    let tensors = Tensor::read_safetensors(file).map_err(|e| {
        // A file that cannot be opened gets the OS's words, not the safetensors crate's Debug
        // of them; the file is opened again only on this failing path.
        let message = std::fs::File::open(file).err().map_or_else(|| e.to_string(), |io| io.to_string());
        WeightsError::Read { file: file.to_owned(), message }
    })?;
    let mut by_name: BTreeMap<String, Tensor> = BTreeMap::new();
    for (name, t) in tensors {
        if !name.ends_with("num_batches_tracked") {
            by_name.insert(modern_name(&name), t);
        }
    }
    let mut report = LoadReport::default();
    let mut used = HashSet::new();
    let vars = vs.variables();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    tch::no_grad(|| -> Result<(), WeightsError> {
        for name in names {
            let mut var = vars[name].shallow_clone();
            match by_name.get(name) {
                Some(src) if src.size() == var.size() => {
                    var.copy_(&src.to_kind(var.kind()).to_device(var.device()));
                    report.loaded += 1;
                    used.insert(name.clone());
                }
                Some(_) if replace_head && name.starts_with("classifier.") => {
                    report.head_replaced = true;
                    report.missing.push(name.clone());
                    used.insert(name.clone());
                }
                Some(src) => {
                    return Err(WeightsError::Shape { file: file.to_owned(), name: name.clone(), expected: var.size(), found: src.size() })
                }
                None => report.missing.push(name.clone()),
            }
        }
        Ok(())
    })?;
    report.unexpected = by_name.keys().filter(|k| !used.contains(*k)).cloned().collect();
    let body_missing: Vec<&String> = report.missing.iter().filter(|m| !m.starts_with("classifier.")).collect();
    if let Some(first) = body_missing.first() {
        return Err(WeightsError::Missing { file: file.to_owned(), count: body_missing.len(), first: (*first).clone() });
    }
    Ok(report)
}
