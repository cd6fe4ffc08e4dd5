//! `resample`: one patient's phases (linear) and expert mask (nearest neighbour) resampled to
//! a target spacing, written back in the dataset's layout so the next step reads them as it
//! would the raw data.
//!
//! `bias:` names an `n4` node whose fields are applied to the phases as they are read, and
//! `slices:` keeps only the slices a later step needs: the tumour's (`tumour`) or the middle
//! tumour slice the crop takes (`middle`), or an odd number centred on it (`5`), chosen on the
//! resampled mask as the crop would choose them. Only those slices are read (a .nii.gz is decompressed as far as the last) and
//! corrected, so a DUKE-sized patient leaves a few MB in the cache instead of several hundred.

use super::slices::{tumour_slices, Slices};
use super::n4_task::load_field;
use super::nifti_io::{read, read_z_slab, write_f32, write_u8};
use super::resample::{output_shape, resample, resampled_header};
use super::task::{PatientBack, SlabRecord};
use crate::data::patient_input_files;
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use ndarray::{Axis, Slice};
use nifti::NiftiHeader;
use std::ops::Range;
use std::path::PathBuf;

pub struct Resample;

crate::groups::with_source! {
    pub struct ResampleParams {
        pub patient: String,
        #[serde(default = "crate::data::default_phases")]
        pub phases: Vec<usize>,
        /// Target spacing per axis in mm; `null` keeps an axis (e.g. `[0.8, 0.8, null]`).
        pub spacing_mm: Vec<Option<f64>>,
        /// A needed `n4` node: its bias fields divide the phases as they are read.
        #[serde(default)]
        pub bias: Option<String>,
        #[serde(default)]
        pub slices: Slices,
    }
}

impl Task for Resample {
    type Params = ResampleParams;
    const KIND: &'static str = "resample";
    // 4: with `slices`, a record of the kept slices (slab.json) beside the phases.
    const VERSION: u32 = 4;
    const DESCRIPTION: &'static str = "one patient's phases (linear, bias-corrected with bias:) and mask (nearest) resampled to a target spacing, whole or the tumour's slices";

    fn input_files(p: &ResampleParams) -> Vec<PathBuf> {
        patient_input_files(&p.source, &p.patient, &p.phases)
    }

    fn validate(p: &ResampleParams) -> Vec<ParamError> {
        let z_kept = match target(&p.spacing_mm) {
            Ok([_, _, Some(_)]) if p.slices != Slices::All => Err(ParamError::at("slices", "keeping some slices needs the slice axis kept as acquired (spacing_mm's third value null): resampling along it needs the neighbouring slices")),
            other => other.map(drop),
        };
        z_kept.err().into_iter().collect()
    }

    fn run(&self, p: ResampleParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let target = target(&p.spacing_mm).map_err(|e| TaskError::msg(e.to_string()))?;
        let back = PatientBack::open(ctx, &p.source, &p.patient, &p.phases)?;
        let who = &back.who;
        let fields = p.bias.as_deref().map(|node| ctx.input(node).map(PathBuf::from)).transpose()?;
        // The mask first: it says which slices are kept.
        let m = read(&back.mask).map_err(|e| TaskError::msg(format!("{who}: {e}")))?;
        let (shape, affine, spacing) = (m.data.shape().to_vec(), m.affine(), m.spacing());
        if shape.len() != 3 {
            return Err(TaskError::msg(format!("{who}: {} is not a 3-D volume (shape {shape:?})", back.mask.display())));
        }
        let rmask = resample(&m.data, &spacing, &target, true).map_err(|e| TaskError::msg(format!("{who}: {}: {e}", back.mask.display())))?;
        let nz = rmask.shape()[2];
        let tumour = tumour_slices(&rmask, p.slices);
        let slab: Range<usize> = match &tumour {
            Some(t) => t.taken[0]..t.taken[t.taken.len() - 1] + 1,
            None if p.slices == Slices::All => 0..nz,
            None => return Err(TaskError::msg(format!("{who}: the tumour mask is empty after resampling ({})", back.mask.display()))),
        };
        if let (true, Some(t)) = (p.slices != Slices::All, &tumour) {
            let record = SlabRecord { first_slice: slab.start, slices: slab.len(), tumour_slices: t.range };
            let path = back.slab_out();
            std::fs::write(&path, serde_json::to_vec_pretty(&record).expect("plain data")).map_err(TaskError::io(&path))?;
        }
        let out_shape = output_shape(&shape, &spacing, &target);
        let header = |like: &NiftiHeader| slab_header(resampled_header(like, &spacing, &target, [out_shape[0], out_shape[1], slab.len()]), slab.start);
        for (f, &ph) in back.phases.iter().zip(&p.phases) {
            ctx.check_cancelled()?;
            let mut v = read_z_slab(f, slab.clone()).map_err(|e| TaskError::msg(format!("{who}: {e}")))?;
            // Phases and mask must share one grid, or the mask would no longer mark the tumour.
            if v.header_shape() != shape || v.affine() != affine {
                return Err(TaskError::msg(format!("{who}: {} has another shape or affine than the mask {}", f.display(), back.mask.display())));
            }
            if let Some(root) = &fields {
                load_field(root, who, ph)?.correct_slab(slab.start, &mut v.data).map_err(|e| TaskError::msg(format!("{who}: {}: {e}", f.display())))?;
            }
            let r = resample(&v.data, &spacing, &target, false).map_err(|e| TaskError::msg(format!("{who}: {}: {e}", f.display())))?;
            let out = back.phase_out(ph);
            write_f32(&out, &r, &header(&v.header)).map_err(|e| TaskError::msg(e.to_string()))?;
            let _ = writeln!(ctx.log, "{}: {shape:?} slices {slab:?} → {:?}", out.display(), r.shape());
        }
        let kept = rmask.slice_axis(Axis(2), Slice::from(slab.clone())).mapv(|l| l.round().clamp(0.0, 255.0) as u8);
        let out = back.mask_out("nii.gz");
        write_u8(&out, &kept, &header(&m.header)).map_err(|e| TaskError::msg(e.to_string()))?;
        let _ = writeln!(ctx.log, "{}: slices {slab:?} of {nz}", out.display());
        Ok(())
    }
}

/// `h` for a volume that starts at slice `z0` of the one it describes: the voxel-to-world
/// origin moves to that slice, in both the sform and the qform, so the kept slices stay where
/// they were in the world.
fn slab_header(mut h: NiftiHeader, z0: usize) -> NiftiHeader {
    if z0 == 0 {
        return h;
    }
    let z = z0 as f64;
    let q = h.qform_affine::<f64>();
    h.quatern_x = (f64::from(h.quatern_x) + q[(0, 2)] * z) as f32;
    h.quatern_y = (f64::from(h.quatern_y) + q[(1, 2)] * z) as f32;
    h.quatern_z = (f64::from(h.quatern_z) + q[(2, 2)] * z) as f32;
    for row in [&mut h.srow_x, &mut h.srow_y, &mut h.srow_z] {
        row[3] = (f64::from(row[3]) + f64::from(row[2]) * z) as f32;
    }
    h
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
