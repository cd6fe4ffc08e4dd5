//! `n4`: N4 bias-field correction of one patient's phases (Otsu mask).
//!
//! What it stores is the estimated field of each phase (`bias/<ID>/<id>_000N.json` and its
//! `.lattice.npy`, ~10 KB): the step that reads the phases (`resample` with `bias:`) divides
//! by it where the intensities are used, on the slices the crop needs. A corrected DUKE-sized
//! phase stored whole would be 128 MB of float32, almost all of it never read again.
//!
//! With `corrected: true` it also writes the corrected phases in the dataset's layout
//! (float32 `.nii`, the expert mask beside them): for people to look at, and for steps that
//! read a dataset.

use super::bias_field::BiasField;
use super::nifti_io::read;
use super::task::PatientBack;
use crate::data::mamamia::patient_files;
use crate::data::patient_input_files;
use crate::ranges;
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub struct N4Correct;

crate::groups::with_source! {
    pub struct N4Params {
        pub patient: String,
        #[serde(default = "crate::data::default_phases")]
        pub phases: Vec<usize>,
        #[serde(default = "default_shrink")]
        pub shrink: usize,
        /// Also write the corrected phases, whole, as float32 NIfTI.
        #[serde(default)]
        pub corrected: bool,
        /// One field per phase (N4 as ITK users run it), or one per patient.
        #[serde(default)]
        pub bias: BiasPer,
    }
}

/// Which phases N4 fits a field to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiasPer {
    /// Each phase its own field.
    #[default]
    PerPhase,
    /// One field, fitted to the first phase listed (the pre-contrast by default), for all: the
    /// coil and the patient do not move between phases, and the other phases are then not
    /// read at all. Not the paper's method; BENCHMARKS.md compares the two.
    PerPatient,
}

fn default_shrink() -> usize {
    4
}

/// Where the field of phase `ph` of patient `who` lies under an `n4` output: the stem of its
/// two files.
pub fn bias_stem(root: &Path, who: &str, ph: usize) -> PathBuf {
    root.join("bias").join(who).join(format!("{}_{ph:04}", who.to_lowercase()))
}

impl Task for N4Correct {
    type Params = N4Params;
    const KIND: &'static str = "n4";
    const VERSION: u32 = 3;
    const DESCRIPTION: &'static str = "N4 bias-field estimate of one patient's phases (Otsu mask): the fields, and with corrected: true the corrected phases";

    fn input_files(p: &N4Params) -> Vec<PathBuf> {
        patient_input_files(&p.source, &p.patient, &p.phases)
    }

    fn validate(p: &N4Params) -> Vec<ParamError> {
        let phases = if p.phases.is_empty() { Err(ParamError::at("phases", "needs at least one phase")) } else { Ok(()) };
        ranges::refused([ranges::at_least("shrink", p.shrink, 1), phases])
    }

    fn run(&self, p: N4Params, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let who = p.patient.to_uppercase();
        let back = if p.corrected { Some(PatientBack::open(ctx, &p.source, &p.patient, &p.phases)?) } else { None };
        let root = p.source.root(ctx)?;
        let (files, mask) = patient_files(&root, &who, &p.phases).map_err(|e| TaskError::msg(format!("{who}: {e}")))?;
        let fields = ctx.out.join("bias").join(&who);
        std::fs::create_dir_all(&fields).map_err(TaskError::io(&fields))?;
        let options = super::n4::N4Options { shrink: p.shrink, ..Default::default() };
        let fit = |f: &Path, data: &ndarray::ArrayD<f32>| super::n4::n4(data, None, &options).map_err(|e| TaskError::msg(format!("{who}: {}: {e}", f.display())));
        let load = |f: &Path| read(f).map_err(|e| TaskError::msg(format!("{who}: {e}")));
        // The first phase, read to fit the patient's field, is kept to be corrected too: at
        // real size a phase takes a second or more to read.
        let (once, mut first) = match p.bias {
            BiasPer::PerPatient => {
                let v = load(&files[0])?;
                (Some(fit(&files[0], &v.data)?), back.is_some().then_some(v))
            }
            BiasPer::PerPhase => (None, None),
        };
        for (f, &ph) in files.iter().zip(&p.phases) {
            ctx.check_cancelled()?;
            // A phase is read to fit its own field, or to be written corrected.
            let v = match first.take() {
                Some(v) => Some(v),
                None if once.is_none() || back.is_some() => Some(load(f)?),
                None => None,
            };
            let own;
            let field = match (&once, &v) {
                (Some(field), _) => field,
                (None, Some(v)) => {
                    own = fit(f, &v.data)?;
                    &own
                }
                (None, None) => unreachable!("a phase without a shared field is read"),
            };
            let stem = bias_stem(ctx.out, &who, ph);
            field.save(&stem).map_err(TaskError::io(&stem))?;
            let _ = writeln!(ctx.log, "{}: iterations per level {:?}{}", f.display(), field.iterations, if once.is_some() { " (the patient's field)" } else { "" });
            if let (Some(back), Some(v)) = (&back, v) {
                let mut corrected = v.data;
                field.correct(&mut corrected).map_err(|e| TaskError::msg(format!("{who}: {e}")))?;
                super::nifti_io::write_f32(&back.phase_out(ph), &corrected, &v.header).map_err(|e| TaskError::msg(e.to_string()))?;
            }
        }
        if let Some(back) = &back {
            // The mask as it is, under its own extension (the reader takes .nii.gz or .nii).
            let dest = back.mask_out(if mask.extension().is_some_and(|e| e == "gz") { "nii.gz" } else { "nii" });
            std::fs::copy(&mask, &dest).map_err(TaskError::io(&dest))?;
        }
        Ok(())
    }
}

/// A stored field, or an error naming the patient and the file.
pub fn load_field(root: &Path, who: &str, ph: usize) -> Result<BiasField, TaskError> {
    BiasField::load(&bias_stem(root, who, ph)).map_err(|e| TaskError::msg(format!("{who}: phase {ph}'s bias field: {e}")))
}
