//! The data stages as pipeline tasks: the synthetic dataset and the MAMA-MIA cohort reader.

use super::mamamia::recurrence_cohort;
use super::synth::{write_dataset, SynthOptions};
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use crate::ranges;
use std::path::PathBuf;

pub struct SynthDataset;

impl Task for SynthDataset {
    type Params = SynthOptions;
    const KIND: &'static str = "synth_dataset";
    const VERSION: u32 = 2;
    const DESCRIPTION: &'static str = "synthetic cohort in the MAMA-MIA layout, with ground truth";

    fn validate(p: &SynthOptions) -> Vec<ParamError> {
        ranges::refused([ranges::at_least("patients", p.patients, 1), ranges::non_negative("imaging_effect", p.imaging_effect)])
    }

    fn run(&self, p: SynthOptions, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        // The real size writes patients in parallel, on the slots the node was given.
        let written = write_dataset(ctx.out, &p, ctx.cpus as usize, ctx.cancel);
        ctx.check_cancelled()?;
        let r = written.map_err(|e| TaskError::msg(e.to_string()))?;
        let _ = writeln!(ctx.log, "{} patients, {} eligible, {} recurrences; true imaging term C = {:.3}", r.written, r.eligible, r.events, r.true_c);
        Ok(())
    }
}

pub struct MamaMiaCohort;

crate::groups::with_source! {
    /// The dataset (`input` or `dataset`), and the phases every patient must have.
    pub struct CohortParams {
        /// DCE phases every patient must have (0 pre-contrast, 1 first post-contrast, …).
        #[serde(default = "super::default_phases")]
        pub phases: Vec<usize>,
    }
}


impl Task for MamaMiaCohort {
    type Params = CohortParams;
    const KIND: &'static str = "mamamia_cohort";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "recurrence cohort from a MAMA-MIA folder, with every exclusion and its reason";

    fn input_files(p: &CohortParams) -> Vec<PathBuf> {
        // The clinical table and which image files exist decide the cohort.
        p.source.folder().map(|d| super::mamamia::cohort_input_files(d, &p.phases)).unwrap_or_default()
    }

    fn run(&self, p: CohortParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let root = p.source.root(ctx)?;
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
