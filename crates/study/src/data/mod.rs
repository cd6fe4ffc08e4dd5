//! Cohort data: the MAMA-MIA reader and the synthetic cohort for `make run` and tests.

pub mod geometry;
pub mod mamamia;
pub mod synth;
pub mod synthetic;
pub mod tasks;

use dag_engine::params::ParamError;
use dag_engine::task::{TaskCtx, TaskError};
use std::path::{Path, PathBuf};

const ONE_SOURCE: &str = "give either `input` (a needed node) or `dataset` (a folder)";

/// Where a task's dataset is: a needed node's output (`input`) or a folder (`dataset`).
pub fn dataset_root(ctx: &TaskCtx<'_>, input: &Option<String>, dataset: &Option<PathBuf>) -> Result<PathBuf, TaskError> {
    match (input, dataset) {
        (Some(node), None) => Ok(ctx.input(node)?.to_owned()),
        (None, Some(d)) => Ok(d.clone()),
        _ => Err(TaskError::msg(ONE_SOURCE)),
    }
}

/// The same rule at checking, for each task's `validate`: one source, never both or neither,
/// refused before anything runs instead of when the instance starts.
pub fn one_source(input: &Option<String>, dataset: &Option<PathBuf>) -> Result<(), ParamError> {
    if input.is_some() == dataset.is_some() { Err(ParamError { path: Vec::new(), message: ONE_SOURCE.into() }) } else { Ok(()) }
}

/// A patient's phase files and mask in an external dataset: what a per-patient task's key
/// depends on (nothing when the dataset is another node's output, already in the key).
pub fn patient_input_files(dataset: &Option<PathBuf>, patient: &str, phases: &[usize]) -> Vec<PathBuf> {
    let Some(root) = dataset else { return Vec::new() };
    mamamia::patient_files(Path::new(root), patient, phases)
        .map(|(mut files, mask)| {
            files.push(mask);
            files
        })
        .unwrap_or_default()
}

/// The DCE phases a patient needs by default: pre-contrast, first and second post-contrast.
pub fn default_phases() -> Vec<usize> {
    vec![0, 1, 2]
}
