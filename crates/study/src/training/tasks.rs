//! The model stages as pipeline tasks: the folds (here), and the prefix features and fold
//! training (handed to a `dag-torch` worker), and the gathering of out-of-fold scores.

use super::folds::stratified_folds;
use super::protocol::{FeaturesJob, Job, Request};
use super::worker;
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use crate::imaging::task::SLICES_NPY;
use crate::ranges;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Above 0 (the head always trains) and at most 1 (the whole network). A 10 meant as 10%
/// would otherwise train all 121 layers without a word.
pub(super) fn unfreeze_share(v: f64) -> Result<(), ParamError> {
    ranges::share("unfreeze_fraction", v)
}

pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, TaskError> {
    let text = std::fs::read_to_string(path).map_err(TaskError::io(path))?;
    serde_json::from_str(&text).map_err(TaskError::at(path))
}

/// The worker's request, on the device the task was handed; on the CPU instead where that
/// is a GPU this machine's libtorch cannot use and the node allows the CPU (`cpu_fallback`):
/// a batch job granted a GPU on a node whose libtorch has no CUDA runs, and says so.
pub(super) fn request(ctx: &mut TaskCtx<'_>, job: Job) -> Request {
    let device = match ctx.device {
        dag_engine::task::Device::Cuda(_) if ctx.cpu_fallback && !super::worker::cuda_usable() => {
            let _ = writeln!(ctx.log, "{} was granted, but this machine's libtorch sees no CUDA device; running on the CPU (cpu_fallback)", ctx.device);
            "cpu".to_owned()
        }
        d => d.to_string(),
    };
    Request { device, cpus: ctx.cpus.max(1), job }
}

/// One row of cohort.csv, as `mamamia_cohort` writes it.
#[derive(Deserialize)]
pub(crate) struct CohortRow {
    pub patient_id: String,
    pub site: String,
    pub time_days: f64,
    pub event: u8,
    /// Blank in the table is the group `unknown` (the reader writes it so).
    #[serde(default)]
    pub tumor_subtype: String,
}

pub(crate) fn read_cohort(dir: &Path) -> Result<Vec<CohortRow>, TaskError> {
    let path = dir.join("cohort.csv");
    let mut r = csv::Reader::from_path(&path).map_err(TaskError::at(&path))?;
    r.deserialize().enumerate().map(|(i, row)| row.map_err(|e| TaskError::msg(format!("{}: line {}: {e}", path.display(), i + 2)))).collect()
}

/// Each patient's fold, from a `cv_folds` node's folds.csv (in `dir`).
pub(crate) fn read_folds(dir: &Path) -> Result<std::collections::HashMap<String, usize>, TaskError> {
    let path = dir.join("folds.csv");
    let mut r = csv::Reader::from_path(&path).map_err(TaskError::at(&path))?;
    r.deserialize::<(String, usize)>().enumerate().map(|(i, row)| row.map_err(|e| TaskError::msg(format!("{}: line {}: {e}", path.display(), i + 2)))).collect()
}

pub(super) fn stratum(row: &CohortRow) -> String {
    format!("{}|{}", row.site, row.event)
}

pub struct DensenetFeatures;

crate::groups::with_backbone! {
    pub struct FeaturesParams {
        /// The needed node whose output holds this patient's `crop.npy`.
        pub input: String,
        /// Augmented views of the crop (small rotations, zooms, shifts, intensity jitter)
        /// whose features are cached too, the crop itself first: the training patients'
        /// rows, one drawn per epoch. 1: the crop alone, as the paper.
        #[serde(default = "super::protocol::one")]
        pub views: usize,
    }
}

impl Task for DensenetFeatures {
    type Params = FeaturesParams;
    const KIND: &'static str = "densenet_features";
    // 2: the network is drawn on the CPU on every device (on a GPU it came from CUDA's
    // generator: another network for the same seed).
    const VERSION: u32 = 2;
    const DESCRIPTION: &'static str = "DenseNet121's frozen prefix on one patient's crop (features at the first unfrozen layer)";

    fn input_files(p: &FeaturesParams) -> Vec<PathBuf> {
        p.backbone.weights.iter().cloned().collect()
    }

    fn validate(p: &FeaturesParams) -> Vec<ParamError> {
        ranges::refused([unfreeze_share(p.backbone.unfreeze_fraction), ranges::at_least("views", p.views, 1)])
    }

    fn run(&self, p: FeaturesParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let dir = ctx.input(&p.input)?.to_owned();
        let patient = read_json(&dir.join("crop.json"))?["patient"].as_str().map(str::to_owned).or(ctx.value.map(str::to_owned)).unwrap_or_default();
        let slices = Some(dir.join(SLICES_NPY)).filter(|f| f.exists());
        let job = Job::Features(FeaturesJob { backbone: p.backbone, patient, crop: dir.join("crop.npy"), slices, views: p.views, out: ctx.out.to_owned() });
        worker::call(&request(ctx, job), ctx).map(drop)
    }
}

pub struct CvFolds;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoldsParams {
    /// The needed node with cohort.csv.
    pub input: String,
    #[serde(default = "five")]
    pub folds: usize,
    #[serde(default)]
    pub seed: u64,
}

fn five() -> usize {
    5
}

impl Task for CvFolds {
    type Params = FoldsParams;
    const KIND: &'static str = "cv_folds";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "cross-validation folds stratified by event and site";

    fn validate(p: &FoldsParams) -> Vec<ParamError> {
        ranges::refused([ranges::at_least("folds", p.folds, 2)])
    }

    fn run(&self, p: FoldsParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let rows = read_cohort(ctx.input(&p.input)?)?;
        if rows.len() < p.folds {
            return Err(TaskError::msg(format!("{} patients cannot fill {} folds", rows.len(), p.folds)));
        }
        let strata: Vec<String> = rows.iter().map(stratum).collect();
        let fold = stratified_folds(&strata, p.folds, p.seed);
        let path = ctx.out.join("folds.csv");
        let mut w = csv::Writer::from_path(&path).map_err(TaskError::at(&path))?;
        w.write_record(["patient_id", "fold"]).and_then(|()| {
            rows.iter().zip(&fold).try_for_each(|(r, f)| w.write_record([r.patient_id.as_str(), &f.to_string()]))
        })
        .and_then(|()| w.flush().map_err(Into::into))
        .map_err(TaskError::at(&path))?;
        for k in 0..p.folds {
            let members: Vec<&CohortRow> = rows.iter().zip(&fold).filter(|(_, f)| **f == k).map(|(r, _)| r).collect();
            let mut sites: BTreeMap<&str, usize> = BTreeMap::new();
            for r in &members {
                *sites.entry(&r.site).or_default() += 1;
            }
            let events = members.iter().filter(|r| r.event == 1).count();
            let _ = writeln!(ctx.log, "fold {k}: {} patients, {events} recurrences, sites {sites:?}", members.len());
        }
        Ok(())
    }
}
