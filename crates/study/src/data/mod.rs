//! Cohort data: the MAMA-MIA reader and the synthetic cohort for `make run` and tests.

pub mod geometry;
pub mod mamamia;
pub mod synth;
pub mod synthetic;
pub mod tasks;

use crate::groups::Source;
use std::path::PathBuf;

/// A patient's phase files and mask in an external dataset: what a per-patient task's key
/// depends on (nothing when the dataset is another node's output, already in the key).
pub fn patient_input_files(source: &Source, patient: &str, phases: &[usize]) -> Vec<PathBuf> {
    let Some(root) = source.folder() else { return Vec::new() };
    mamamia::patient_files(root, patient, phases)
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
