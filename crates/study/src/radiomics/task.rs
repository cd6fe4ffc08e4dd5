//! The study's radiomics baseline: `radiomics` (per patient, the features of its N4-corrected
//! first post-contrast phase within the expert mask) and `radiomics_model` (an L2 logistic
//! regression on them, cross-validated on the network's folds, giving an out-of-fold score).

use super::logistic::Logistic;
use super::{MaskBox, Settings};
use crate::data::{mamamia::patient_files, patient_input_files};
use crate::imaging::n4_task::load_field;
use crate::imaging::resample::resample;
use crate::ranges;
use crate::training::tasks::{read_cohort, read_folds, read_json};
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub struct RadiomicsFeatures;

crate::groups::with_source! {
    pub struct FeaturesParams {
        pub patient: String,
        /// The phases whose features are taken: by default the first post-contrast one.
        #[serde(default = "phase_one")]
        pub phases: Vec<usize>,
        /// A needed `n4` node: its bias fields divide the phases as they are read.
        #[serde(default)]
        pub bias: Option<String>,
        #[serde(default = "bin_width_default")]
        pub bin_width: f64,
        /// In-plane resampling before the features, as the network's input is resampled
        /// (`[0.8, 0.8, null]`); none (the default): the acquired grid, PyRadiomics' default.
        /// The slice axis must be kept (null), as only the ROI's slices are read.
        #[serde(default)]
        pub spacing_mm: Option<[Option<f64>; 3]>,
    }
}

fn phase_one() -> Vec<usize> {
    vec![1]
}

fn bin_width_default() -> f64 {
    25.0
}

impl Task for RadiomicsFeatures {
    type Params = FeaturesParams;
    const KIND: &'static str = "radiomics";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "PyRadiomics' 107 default features of one patient's (N4-corrected) phases within the expert mask";

    fn input_files(p: &FeaturesParams) -> Vec<PathBuf> {
        patient_input_files(&p.source, &p.patient, &p.phases)
    }

    fn validate(p: &FeaturesParams) -> Vec<ParamError> {
        let phases = if p.phases.is_empty() { Err(ParamError::at("phases", "name at least one phase")) } else { Ok(()) };
        let spacing = match p.spacing_mm {
            Some([_, _, Some(_)]) => Err(ParamError::at("spacing_mm", "the slice axis is kept as acquired (third value null): only the ROI's slices are read")),
            Some(s) if s.iter().flatten().any(|v| !(v.is_finite() && *v > 0.0)) => Err(ParamError::at("spacing_mm", "spacings must be positive numbers or null")),
            _ => Ok(()),
        };
        ranges::refused([ranges::positive("bin_width", p.bin_width), phases, spacing])
    }

    fn run(&self, p: FeaturesParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let root = p.source.root(ctx)?;
        let who = p.patient.to_uppercase();
        let (files, mask) = patient_files(&root, &who, &p.phases).map_err(|e| TaskError::msg(format!("{who}: {e}")))?;
        let fields = p.bias.as_deref().map(|node| ctx.input(node).map(PathBuf::from)).transpose()?;
        let settings = Settings { bin_width: p.bin_width, label: 1 };
        let named = |e: super::VolumeError| TaskError::msg(format!("{who}: {e}"));
        let m = MaskBox::read(&mask, settings.label).map_err(named)?;
        let mut phases = BTreeMap::new();
        for (file, &ph) in files.iter().zip(&p.phases) {
            ctx.check_cancelled()?;
            let mut v = m.read_slab(file, &mask).map_err(named)?;
            if let Some(root) = &fields {
                load_field(root, &who, ph)?.correct_slab(m.slab().start, &mut v.data).map_err(|e| TaskError::msg(format!("{who}: {}: {e}", file.display())))?;
            }
            let s = v.spacing();
            let features: BTreeMap<String, f64> = match p.spacing_mm {
                None => m.features(&v.data, [s[0], s[1], s[2]], &settings, file, &mask).map_err(named)?,
                Some(target) => resampled(&m, &v.data, &s, &target, &settings).map_err(|e| TaskError::msg(format!("{who}: {}: {e}", file.display())))?,
            }
            .into_iter()
            .collect();
            let _ = writeln!(ctx.log, "{}: {} features over slices {:?}", file.display(), features.len(), m.slab());
            phases.insert(ph.to_string(), features);
        }
        let out = ctx.out.join("radiomics.json");
        let record = serde_json::json!({ "patient": who, "bin_width": p.bin_width, "corrected": fields.is_some(), "spacing_mm": p.spacing_mm, "phases": phases });
        std::fs::write(&out, serde_json::to_vec_pretty(&record).expect("plain data")).map_err(TaskError::io(&out))
    }
}

/// The features after resampling the image slab (linear) and the mask's slab (nearest) to
/// `target` (x, y, z; null keeps an axis), as the `resample` node resamples.
fn resampled(m: &MaskBox, slab: &ndarray::ArrayD<f32>, spacing: &[f64], target: &[Option<f64>; 3], settings: &Settings) -> Result<Vec<(String, f64)>, String> {
    let mask_slab = m.mask.data.slice_axis(ndarray::Axis(2), ndarray::Slice::from(m.slab())).to_owned();
    let (image, mask) = (resample(slab, spacing, target, false)?, resample(&mask_slab, spacing, target, true)?);
    let [nx, ny, nz] = [image.shape()[0], image.shape()[1], image.shape()[2]];
    let (mut data, mut labels) = (Vec::with_capacity(nx * ny * nz), Vec::with_capacity(nx * ny * nz));
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                data.push(f64::from(image[[x, y, z]]));
                labels.push(if mask[[x, y, z]] == settings.label as f32 { settings.label } else { 0 });
            }
        }
    }
    let sp: Vec<f64> = (0..3).map(|a| target[a].unwrap_or(spacing[a])).collect();
    let spacing = [sp[2], sp[1], sp[0]];
    super::extract(&super::Grid { data: &data, shape: [nz, ny, nx], spacing }, &super::Grid { data: &labels, shape: [nz, ny, nx], spacing }, settings).map_err(|e| e.to_string())
}

pub struct RadiomicsModel;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelParams {
    /// The per-patient `radiomics` node.
    pub input: String,
    /// The node with cohort.csv (events).
    pub cohort: String,
    /// The `cv_folds` node whose folds the network is trained on.
    pub folds: String,
    /// Inverse L2 strength (scikit-learn's `C`), as the network's linear probe.
    #[serde(default = "c_default")]
    pub c: f64,
}

fn c_default() -> f64 {
    0.01
}

impl Task for RadiomicsModel {
    type Params = ModelParams;
    const KIND: &'static str = "radiomics_model";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "an L2 logistic regression on the radiomics features, cross-validated on given folds: each patient's out-of-fold score";

    fn validate(p: &ModelParams) -> Vec<ParamError> {
        ranges::refused([ranges::positive("c", p.c)])
    }

    fn run(&self, p: ModelParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let cohort = read_cohort(ctx.input(&p.cohort)?)?;
        let fold_of = read_folds(ctx.input(&p.folds)?)?;
        // Each patient's features, in one order of names (the first patient's).
        let mut features: HashMap<String, Vec<f64>> = HashMap::new();
        let mut names: Option<Vec<String>> = None;
        for dir in ctx.inputs.get(&p.input).into_iter().flatten() {
            let path = dir.join("radiomics.json");
            let v = read_json(&path)?;
            let mut row = Vec::new();
            let mut these = Vec::new();
            for (ph, map) in v["phases"].as_object().into_iter().flatten() {
                for (name, value) in map.as_object().into_iter().flatten() {
                    these.push(format!("{ph}:{name}"));
                    // A feature PyRadiomics leaves undefined (null) counts as 0.
                    row.push(value.as_f64().unwrap_or(0.0));
                }
            }
            match &names {
                None => names = Some(these),
                Some(n) if *n != these => return Err(TaskError::msg(format!("{}: its features differ from the other patients' (another phase list?)", path.display()))),
                Some(_) => {}
            }
            features.insert(v["patient"].as_str().unwrap_or_default().to_owned(), row);
        }
        let mut dropped = Vec::new();
        let rows: Vec<(&str, usize, bool, &Vec<f64>)> = cohort
            .iter()
            .filter_map(|c| match (fold_of.get(&c.patient_id), features.get(&c.patient_id)) {
                (Some(&f), Some(x)) => Some((c.patient_id.as_str(), f, c.event == 1, x)),
                _ => {
                    dropped.push(c.patient_id.clone());
                    None
                }
            })
            .collect();
        if !dropped.is_empty() {
            let _ = writeln!(ctx.log, "{} patients have no features or fold and are left out: {}", dropped.len(), dropped.join(", "));
        }
        let folds: std::collections::BTreeSet<usize> = rows.iter().map(|r| r.1).collect();
        let mut score = vec![f64::NAN; rows.len()];
        let mut summary = Vec::new();
        for &fold in &folds {
            let (train, test): (Vec<usize>, Vec<usize>) = (0..rows.len()).partition(|&i| rows[i].1 != fold);
            let x: Vec<Vec<f64>> = train.iter().map(|&i| rows[i].3.clone()).collect();
            let y: Vec<bool> = train.iter().map(|&i| rows[i].2).collect();
            let events = y.iter().filter(|&&e| e).count();
            if events == 0 || events == y.len() {
                return Err(TaskError::msg(format!("fold {fold}: its {} training patients have {events} recurrences; the model cannot learn from one class", y.len())));
            }
            let model = Logistic::fit(&x, &y, p.c).map_err(|e| TaskError::msg(format!("fold {fold}: {e}")))?;
            let held: Vec<Vec<f64>> = test.iter().map(|&i| rows[i].3.clone()).collect();
            for (&i, s) in test.iter().zip(model.decision(&held)) {
                score[i] = s;
            }
            summary.push(serde_json::json!({ "fold": fold, "n_train": train.len(), "train_events": events, "n_test": test.len() }));
        }
        let out = ctx.out.join("radiomics_scores.csv");
        let mut w = csv::Writer::from_path(&out).map_err(TaskError::at(&out))?;
        w.write_record(["patient_id", "fold", "radiomics_score"]).map_err(TaskError::at(&out))?;
        for (r, s) in rows.iter().zip(&score) {
            w.write_record([r.0.to_owned(), r.1.to_string(), s.to_string()]).map_err(TaskError::at(&out))?;
        }
        w.flush().map_err(TaskError::io(&out))?;
        let model = serde_json::json!({
            "model": "L2 logistic regression on the event (scikit-learn's objective), features standardised on each fold's training patients",
            "c": p.c,
            "features": names.map_or(0, |n| n.len()),
            "folds": summary,
            "left_out": dropped,
        });
        let path = ctx.out.join("model.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&model).expect("plain data")).map_err(TaskError::io(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::nifti_io::{self, write_f32, write_u8};
    use ndarray::{ArrayD, IxDyn};
    use nifti::NiftiHeader;

    /// Resampling to the grid the volume already has changes nothing: the resampled path
    /// computes the same features as the acquired one (a plumbing check of axes and spacing).
    #[test]
    fn resampling_to_the_acquired_spacing_gives_the_acquired_features() {
        let dir = tempfile::tempdir().unwrap();
        let (nx, ny, nz) = (20, 16, 6);
        let h = NiftiHeader { pixdim: [1.0, 0.8, 0.8, 2.0, 1.0, 1.0, 1.0, 1.0], ..Default::default() };
        let image = ArrayD::from_shape_fn(IxDyn(&[nx, ny, nz]), |i| (100 + 7 * i[0] + 13 * i[1] * i[2] + (i[0] * i[1]) % 11 * 9) as f32);
        let mask = ArrayD::from_shape_fn(IxDyn(&[nx, ny, nz]), |i| u8::from((i[0] as f64 - 9.5).powi(2) / 49.0 + (i[1] as f64 - 8.0).powi(2) / 25.0 + (i[2] as f64 - 3.0).powi(2) / 4.0 <= 1.0));
        let (ip, mp) = (dir.path().join("i.nii"), dir.path().join("m.nii"));
        write_f32(&ip, &image, &h).unwrap();
        write_u8(&mp, &mask, &h).unwrap();
        let settings = Settings::default();
        let m = MaskBox::read(&mp, 1).unwrap();
        let slab = nifti_io::read_z_slab(&ip, m.slab()).unwrap();
        let spacing: Vec<f64> = slab.spacing();
        let acquired = m.features(&slab.data, [spacing[0], spacing[1], spacing[2]], &settings, &ip, &mp).unwrap();
        let same = resampled(&m, &slab.data, &spacing, &[Some(spacing[0]), Some(spacing[1]), None], &settings).unwrap();
        assert_eq!(acquired.len(), 107);
        for ((name, a), (other, b)) in acquired.iter().zip(&same) {
            assert_eq!(name, other);
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{name}: {a} against {b}");
        }
        // A coarser grid is another set of voxels: the voxel count changes with it.
        let coarse = resampled(&m, &slab.data, &spacing, &[Some(1.6), Some(1.6), None], &settings).unwrap();
        let volume = |f: &[(String, f64)]| f.iter().find(|(n, _)| n == "original_shape_VoxelVolume").unwrap().1;
        assert!((volume(&coarse) - volume(&acquired)).abs() / volume(&acquired) < 0.5 && volume(&coarse) != volume(&acquired));
    }
}
