//! `resample`: one patient's phases (linear) and expert mask (nearest neighbour) resampled to
//! a target spacing, written back in the dataset's layout so the next step reads them as it
//! would the raw data.

use super::nifti_io::{read, write_f32, write_u8};
use super::resample::{output_shape, resample, resampled_header};
use super::task::PatientBack;
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use crate::data::patient_input_files;
use serde::Deserialize;
use std::path::PathBuf;

pub struct Resample;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResampleParams {
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub dataset: Option<PathBuf>,
    pub patient: String,
    #[serde(default = "crate::data::default_phases")]
    pub phases: Vec<usize>,
    /// Target spacing per axis in mm; `null` keeps an axis (e.g. `[0.8, 0.8, null]`).
    pub spacing_mm: Vec<Option<f64>>,
}

impl Task for Resample {
    type Params = ResampleParams;
    const KIND: &'static str = "resample";
    const VERSION: u32 = 2;
    const DESCRIPTION: &'static str = "one patient's phases (linear) and mask (nearest) resampled to a target spacing";

    fn input_files(p: &ResampleParams) -> Vec<PathBuf> {
        patient_input_files(&p.dataset, &p.patient, &p.phases)
    }

    fn validate(p: &ResampleParams) -> Vec<ParamError> {
        [crate::data::one_source(&p.input, &p.dataset), target(&p.spacing_mm).map(drop)].into_iter().filter_map(Result::err).collect()
    }

    fn run(&self, p: ResampleParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let target = target(&p.spacing_mm).map_err(|e| TaskError::msg(e.to_string()))?;
        let back = PatientBack::open(ctx, &p.input, &p.dataset, &p.patient, &p.phases)?;
        let who = &back.who;
        let mut geometry = None;
        for (f, ph) in back.phases.iter().chain(std::iter::once(&back.mask)).zip(p.phases.iter().map(Some).chain([None])) {
            ctx.check_cancelled()?;
            let v = read(f).map_err(|e| TaskError::msg(format!("{who}: {e}")))?;
            let spacing = v.spacing();
            // Phases and mask must share one grid, or the mask would no longer mark the tumour.
            match &geometry {
                None => geometry = Some((v.data.shape().to_vec(), v.affine())),
                Some((shape, affine)) if shape == v.data.shape() && *affine == v.affine() => {}
                Some(_) => return Err(TaskError::msg(format!("{who}: {} has another shape or affine than the first phase", f.display()))),
            }
            let r = resample(&v.data, &spacing, &target, ph.is_none()).map_err(|e| TaskError::msg(format!("{who}: {}: {e}", f.display())))?;
            let header = resampled_header(&v.header, &spacing, &target, output_shape(v.data.shape(), &spacing, &target));
            let written = match ph {
                Some(&ph) => {
                    let out = back.phase_out(ph);
                    write_f32(&out, &r, &header).map(|()| out)
                }
                None => {
                    let out = back.mask_out("nii.gz");
                    write_u8(&out, &r.mapv(|l| l.round().clamp(0.0, 255.0) as u8), &header).map(|()| out)
                }
            };
            let out = written.map_err(|e| TaskError::msg(e.to_string()))?;
            let _ = writeln!(ctx.log, "{}: {:?} → {:?}", out.display(), v.data.shape(), r.shape());
        }
        Ok(())
    }
}

/// The target spacing per axis: three positive spacings or nulls (keep the axis).
fn target(spacing_mm: &[Option<f64>]) -> Result<[Option<f64>; 3], ParamError> {
    match spacing_mm {
        [x, y, z] if [x, y, z].iter().all(|s| s.is_none_or(|s| s.is_finite() && s > 0.0)) => Ok([*x, *y, *z]),
        other => {
            let shown: Vec<String> = other.iter().map(|s| s.map_or("null".to_owned(), |s| s.to_string())).collect();
            Err(ParamError::at("spacing_mm", format!("needs three positive spacings or nulls, got [{}]", shown.join(", "))))
        }
    }
}
