//! The data stages as pipeline tasks: the synthetic dataset and the MAMA-MIA cohort reader.

use super::mamamia::recurrence_cohort;
use super::synth::{write_dataset, Size, SynthOptions};
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use crate::ranges;
use serde::Deserialize;
use std::path::PathBuf;

pub struct SynthDataset;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthParams {
    #[serde(default = "super::synthetic::default_patients")]
    pub patients: usize,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "super::synthetic::default_effect")]
    pub imaging_effect: f64,
    #[serde(default = "default_unknown")]
    pub unknown: usize,
    #[serde(default = "default_size")]
    pub size: Size,
}

fn default_unknown() -> usize {
    35
}
fn default_size() -> Size {
    Size::Small
}

impl Task for SynthDataset {
    type Params = SynthParams;
    const KIND: &'static str = "synth_dataset";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "synthetic cohort in the MAMA-MIA layout, with ground truth";

    fn validate(p: &SynthParams) -> Vec<ParamError> {
        ranges::refused([ranges::at_least("patients", p.patients, 1), ranges::non_negative("imaging_effect", p.imaging_effect)])
    }

    fn run(&self, p: SynthParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let o = SynthOptions { patients: p.patients, seed: p.seed, imaging_effect: p.imaging_effect, size: p.size, unknown: p.unknown };
        let r = write_dataset(ctx.out, &o).map_err(TaskError::msg)?;
        let _ = writeln!(ctx.log, "{} patients, {} eligible, {} recurrences; true imaging term C = {:.3}", r.written, r.eligible, r.events, r.true_c);
        Ok(())
    }
}

pub struct MamaMiaCohort;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortParams {
    /// The dataset: a needed node's output (`input`) or a folder (`dataset`).
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub dataset: Option<PathBuf>,
    /// DCE phases every patient must have (0 pre-contrast, 1 first post-contrast, …).
    #[serde(default = "super::default_phases")]
    pub phases: Vec<usize>,
}


impl Task for MamaMiaCohort {
    type Params = CohortParams;
    const KIND: &'static str = "mamamia_cohort";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "recurrence cohort from a MAMA-MIA folder, with every exclusion and its reason";

    fn input_files(p: &CohortParams) -> Vec<PathBuf> {
        // The clinical table and which image files exist decide the cohort.
        p.dataset.as_deref().map(|d| super::mamamia::cohort_input_files(d, &p.phases)).unwrap_or_default()
    }

    fn run(&self, p: CohortParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let root = super::dataset_root(ctx, &p.input, &p.dataset)?;
        let (kept, excluded) = recurrence_cohort(&root, &p.phases).map_err(|e| TaskError::msg(e.to_string()))?;
        let path = ctx.out.join("cohort.csv");
        let mut w = csv::Writer::from_path(&path).map_err(TaskError::at(&path))?;
        for k in &kept {
            w.serialize(k).map_err(|e| TaskError::msg(e.to_string()))?;
        }
        w.flush().map_err(TaskError::io(&path))?;
        let path = ctx.out.join("excluded.csv");
        let mut w = csv::Writer::from_path(&path).map_err(TaskError::at(&path))?;
        w.write_record(["patient_id", "reason"]).map_err(|e| TaskError::msg(e.to_string()))?;
        for e in &excluded {
            w.write_record([&e.patient_id, &e.reason]).map_err(|e| TaskError::msg(e.to_string()))?;
        }
        w.flush().map_err(TaskError::io(&path))?;
        let ids: String = kept.iter().map(|k| format!("{}\n", k.patient_id)).collect();
        let path = ctx.out.join("patients.txt");
        std::fs::write(&path, ids).map_err(TaskError::io(&path))?;
        let events = kept.iter().filter(|k| k.event).count();
        let _ = writeln!(ctx.log, "{} patients kept ({events} recurrences), {} excluded", kept.len(), excluded.len());
        for e in &excluded {
            let _ = writeln!(ctx.log, "  excluded {}: {}", e.patient_id, e.reason);
        }
        Ok(())
    }
}
