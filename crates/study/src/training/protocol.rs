//! What `dag` asks a `dag-torch` worker to do, one JSON line per request, and what the worker
//! answers: progress lines, then one `done` or `failed`. Both binaries use these types.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Request {
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Threads for libtorch: the node's CPU slots.
    pub cpus: u32,
    pub job: Job,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Job {
    Features(FeaturesJob),
    Train(TrainJob),
}

/// Which DenseNet121: torchvision weights, or a seeded initialisation when none are given.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Backbone {
    pub weights: Option<PathBuf>,
    pub seed: u64,
    pub unfreeze_fraction: f64,
}

impl Backbone {
    /// From a node's `weights`, `seed` and `unfreeze_fraction` (`groups::with_backbone!`);
    /// the share is checked by the task's `validate`, where its error names the key.
    pub fn new(weights: Option<PathBuf>, seed: u64, unfreeze_fraction: f64) -> Result<Backbone, std::convert::Infallible> {
        Ok(Backbone { weights, seed, unfreeze_fraction })
    }

    /// The paper's top 10% of layers.
    pub fn default_unfreeze_fraction() -> f64 {
        0.10
    }
}

/// Beside `features.npy`: the features of the crop's augmented views (`FeaturesJob::views`).
pub const VIEWS_NPY: &str = "views.npy";

/// The frozen prefix's output for one patient's crop.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FeaturesJob {
    pub backbone: Backbone,
    pub patient: String,
    /// A (3, H, W) float32 .npy.
    pub crop: PathBuf,
    /// The crop's (S, 3, H, W) tumour slices, where it took more than the middle one: their
    /// features go to `slices.npy` beside `features.npy`.
    #[serde(default)]
    pub slices: Option<PathBuf>,
    /// Views of the crop to cache the features of (`views.npy`, the crop itself first):
    /// 1 is the crop alone.
    #[serde(default = "one")]
    pub views: usize,
    pub out: PathBuf,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sample {
    pub patient: String,
    /// `features.npy` (cached prefix) or `crop.npy` (end to end).
    pub file: PathBuf,
    /// The same for each of the patient's tumour slices, (S, …), where more than the middle
    /// one were cropped: then these are the patient's rows, and `file` is not read.
    #[serde(default)]
    pub slices: Option<PathBuf>,
    /// The features of augmented views of the crop, (V, …), the crop itself first: the rows
    /// of a training patient (one drawn per epoch), or of a held-out one with `score_views`
    /// (scored by their mean); `file` and `slices` are not read.
    #[serde(default)]
    pub views: Option<PathBuf>,
    pub time: f64,
    pub event: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainJob {
    pub backbone: Backbone,
    pub fold: usize,
    pub train: Vec<Sample>,
    /// The inner validation split that early stopping watches.
    pub val: Vec<Sample>,
    /// The fold's held-out patients, scored once training ends.
    pub test: Vec<Sample>,
    /// Samples are crops and the prefix runs at every step (with augmentation), instead of
    /// reading its cached output.
    pub end_to_end: bool,
    pub hyper: Hyper,
    pub out: PathBuf,
    /// Cohort patients left out because their per-patient input is missing (recorded only).
    #[serde(default)]
    pub dropped: Vec<String>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Recurrence yes/no, positives weighted by negatives/positives when `class_weight`.
    Bce,
    /// Cox partial likelihood (Breslow ties) over each batch.
    Cox,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// Cosine decay from `lr` to zero over `epochs`.
    Cosine,
    /// Halves the rate whenever the validation loss has not improved for `patience / 2` epochs.
    Plateau,
}

/// The training section of a `densenet_train` node (`with: {train: {...}}`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hyper {
    #[serde(default = "loss_default")]
    pub loss: Loss,
    #[serde(default = "epochs_default")]
    pub epochs: usize,
    #[serde(default = "batch_default")]
    pub batch_size: usize,
    #[serde(default = "lr_default")]
    pub lr: f64,
    #[serde(default = "wd_default")]
    pub weight_decay: f64,
    #[serde(default = "schedule_default")]
    pub schedule: Schedule,
    /// Epochs without a better validation loss before stopping (0: never stop early).
    #[serde(default = "patience_default")]
    pub patience: usize,
    #[serde(default = "yes")]
    pub class_weight: bool,
    /// Inverse L2 strength of the logistic-regression baseline (scikit-learn's `C`).
    #[serde(default = "c_default")]
    pub logistic_c: f64,
    /// Dropout rate on the pooled features before the head, in training (0: none).
    #[serde(default)]
    pub dropout: f64,
    /// Random left-right flips of the cached feature maps in training (crops end to end are
    /// always flipped).
    #[serde(default)]
    pub augment: bool,
    /// With `augment`, the square's eight symmetries (90° turns and mirrors) instead of the
    /// left-right mirror alone: drawn per patient in training, and a held-out patient scores
    /// the mean over all eight. A tumour has no up or down, nor a preferred orientation in
    /// the slice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotate: bool,
    /// The classifier's own learning rate (the same schedule); none: `lr`. A head drawn at
    /// random barely moves at a rate gentle enough for the dense layers.
    #[serde(default)]
    pub head_lr: Option<f64>,
    /// Where the classifier starts: drawn at random, or (`probe`) at the L2 logistic
    /// regression fitted on what it reads from the tail as initialised, on the training split
    /// (linear probing, then fine-tuning: Kumar et al., ICLR 2022).
    #[serde(default)]
    pub head_init: HeadInit,
    /// Deterministic kernels on CUDA (cuDNN's and ATen's), so a GPU training repeats byte for
    /// byte; slower, and without effect on the CPU, whose kernels are deterministic already.
    #[serde(default)]
    pub deterministic: bool,
    /// Where patients have several tumour slices: in each epoch, one of each patient's drawn
    /// at random (`one`: an epoch costs what it does with the middle slice alone), every
    /// slice as a sample of its own (`every`), or every slice together (`pooled`: a patient's
    /// logit in training is the mean of its slices', one prediction from the whole tumour).
    /// Either way a held-out patient is scored by the mean of its slices' logits.
    #[serde(default)]
    pub slice_sampling: SliceSampling,
    /// Tails trained per fold, each from its own start and batches; a held-out patient scores
    /// the mean of their logits (1: one tail, as the paper).
    #[serde(default = "one")]
    pub ensemble: usize,
    /// Where the features node cached augmented views (`views`): a held-out patient scores
    /// the mean of its views' logits, not its crop's alone (test-time augmentation). The
    /// probe reads the crops either way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub score_views: bool,
}

pub(super) fn one() -> usize {
    1
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SliceSampling {
    #[default]
    One,
    Every,
    /// Multiple-instance learning with mean pooling: what a held-out patient is scored
    /// with is what the loss sees in training.
    Pooled,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HeadInit {
    /// PyTorch's default for a linear layer.
    #[default]
    Random,
    /// The probe's solution; the tail's batch norms first see the training split.
    Probe,
}

fn loss_default() -> Loss {
    Loss::Bce
}
fn epochs_default() -> usize {
    30
}
fn batch_default() -> usize {
    16
}
fn lr_default() -> f64 {
    1e-3
}
fn wd_default() -> f64 {
    1e-4
}
fn schedule_default() -> Schedule {
    Schedule::Cosine
}
fn patience_default() -> usize {
    8
}
fn yes() -> bool {
    true
}
fn c_default() -> f64 {
    0.01
}

impl Default for Hyper {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("every field has a default")
    }
}

/// `logits`' arguments, the same in `dag model logits` and in `dag-torch logits`, which the
/// first hands to the second (`forwarded`).
#[derive(Clone, Debug, clap::Args)]
pub struct LogitsArgs {
    /// torchvision DenseNet121 weights, as safetensors.
    #[arg(long)]
    pub weights: PathBuf,
    /// A float32 array of shape (1, 3, H, W), as .npy.
    #[arg(long)]
    pub input: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl LogitsArgs {
    /// The arguments again, for `dag-torch logits`.
    pub fn forwarded(self) -> Vec<std::ffi::OsString> {
        let mut args = vec!["logits".into(), "--weights".into(), self.weights.into_os_string(), "--input".into(), self.input.into_os_string()];
        if self.json {
            args.push("--json".into());
        }
        args
    }
}

/// One line from the worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Log(String),
    Done(serde_json::Value),
    Failed(String),
}
