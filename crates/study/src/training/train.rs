//! Training one cross-validation fold (in a `dag-torch` worker) and gathering every fold's
//! held-out predictions into one out-of-fold score per patient.

use super::folds::stratified_holdout;
use super::protocol::{Backbone, Hyper, Job, Sample, TrainJob, VIEWS_NPY};
use super::tasks::{read_cohort, read_folds, read_json, request, stratum};
use super::worker;
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use crate::imaging::task::SLICES_NPY;
use crate::ranges;
use crate::survival::{harrell::harrell, Surv};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub struct DensenetTrain;

crate::groups::with_backbone! {
    pub struct TrainParams {
        /// The needed per-patient node: `densenet_features` outputs, or crops with `end_to_end`.
        pub input: String,
        /// The needed node with cohort.csv (times and events).
        pub cohort: String,
        /// The needed node with folds.csv.
        pub folds: String,
        /// Which fold to hold out; by default the node's set value (`foreach: fold`).
        #[serde(default)]
        pub fold: Option<usize>,
        /// Train from the crops, running the frozen prefix at every step (with random flips),
        /// instead of from its cached output. For GPUs; on a CPU it is many times slower.
        #[serde(default)]
        pub end_to_end: bool,
        /// Share of the fold's training patients held out (stratified) for early stopping.
        #[serde(default = "val_default")]
        pub val_fraction: f64,
        #[serde(default)]
        pub train: Hyper,
    }
}

fn val_default() -> f64 {
    0.2
}

impl Task for DensenetTrain {
    type Params = TrainParams;
    const KIND: &'static str = "densenet_train";
    // 2: the head's average pool runs over the channels-last view (the scores change in
    // their last bits). 3: the network is drawn on the CPU on every device (on a GPU the
    // tail started from CUDA's generator's numbers, not the seed's network). 4: summary.json
    // names the device `cpu` or `cuda:N`, as nodes and `dag-torch bench` do. 5: history.csv
    // has the validation C per epoch; summary.json's hyper has dropout, augment, head_lr. 6: with
    // `augment`, a patient's score is the mean over its feature map and the map's mirror. 7:
    // summary.json's hyper has head_init. 8: several tumour slices per patient (`slices.npy`);
    // summary.json counts the slices and its hyper has slice_sampling. 9: the slices drawn
    // come from a random stream of their own; `ensemble`.
    const VERSION: u32 = 9;
    const DESCRIPTION: &'static str = "trains DenseNet121's unfrozen tail on one cross-validation fold and scores its held-out patients";

    fn input_files(p: &TrainParams) -> Vec<PathBuf> {
        p.backbone.weights.iter().cloned().collect()
    }

    fn validate(p: &TrainParams) -> Vec<ParamError> {
        let val = if (0.0..1.0).contains(&p.val_fraction) {
            Ok(())
        } else {
            Err(ParamError::at("val_fraction", format!("must be ≥ 0 (0: no inner validation split) and below 1, found {}", p.val_fraction)))
        };
        let h = &p.train;
        ranges::refused([
            super::tasks::unfreeze_share(p.backbone.unfreeze_fraction),
            val,
            ranges::at_least("train.epochs", h.epochs, 1),
            ranges::at_least("train.batch_size", h.batch_size, 1),
            ranges::positive("train.lr", h.lr),
            ranges::non_negative("train.weight_decay", h.weight_decay),
            ranges::positive("train.logistic_c", h.logistic_c),
            if (0.0..1.0).contains(&h.dropout) { Ok(()) } else { Err(ParamError::at("train.dropout", format!("a rate in [0, 1), found {}", h.dropout))) },
            h.head_lr.map_or(Ok(()), |v| ranges::positive("train.head_lr", v)),
            ranges::at_least("train.ensemble", h.ensemble, 1),
            if h.rotate && !h.augment { Err(ParamError::at("train.rotate", "the symmetries augment: give `augment: true` too")) } else { Ok(()) },
        ])
    }

    fn run(&self, p: TrainParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let fold = match (p.fold, ctx.value) {
            (Some(f), _) => f,
            (None, Some(v)) => v.parse().map_err(|_| TaskError::msg(format!("set value `{v}` is not a fold number; give `fold`")))?,
            (None, None) => return Err(TaskError::msg("give `fold`, or run the node `foreach` over the folds")),
        };
        let cohort = read_cohort(ctx.input(&p.cohort)?)?;
        let folds_path = ctx.input(&p.folds)?.join("folds.csv");
        let fold_of = read_folds(ctx.input(&p.folds)?)?;
        // Each per-patient output names its patient; the network's input file sits beside it.
        let (meta, file) = if p.end_to_end { ("crop.json", "crop.npy") } else { ("features.json", "features.npy") };
        let mut file_of: HashMap<String, PathBuf> = HashMap::new();
        let dirs = ctx.inputs.get(&p.input).ok_or_else(|| TaskError::msg(format!("this task needs `{}` (add it to the node's `needs`)", p.input)))?;
        for dir in dirs {
            let m = read_json(&dir.join(meta))?;
            if !p.end_to_end {
                let made_with: Backbone = serde_json::from_value(m["backbone"].clone()).map_err(TaskError::at(&dir.join(meta)))?;
                if made_with != p.backbone {
                    return Err(TaskError::msg(format!(
                        "{}: the features were computed with {made_with:?}, but this node trains {:?}; give both nodes the same weights, seed and unfreeze_fraction",
                        dir.join(meta).display(),
                        p.backbone
                    )));
                }
            }
            let id = m["patient"].as_str().unwrap_or_default().to_owned();
            file_of.insert(id, dir.join(file));
        }
        // A patient's cached augmented views (`views` on the features node), where wanted.
        let views_of = |s: &Sample, wanted: bool| Some(s.file.with_file_name(VIEWS_NPY)).filter(|f| wanted && !p.end_to_end && f.exists());
        let (mut train, mut test, mut strata, mut dropped) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for row in &cohort {
            let f = *fold_of.get(&row.patient_id).ok_or_else(|| TaskError::msg(format!("{}: no fold for patient {}", folds_path.display(), row.patient_id)))?;
            // A patient whose per-patient node failed (the node gathers `partial`ly, with
            // --keep-going) is left out, and listed.
            let Some(file) = file_of.get(&row.patient_id) else {
                dropped.push(row.patient_id.clone());
                continue;
            };
            let slices = Some(file.with_file_name(SLICES_NPY)).filter(|f| f.exists());
            let s = Sample { patient: row.patient_id.clone(), file: file.clone(), slices, views: None, time: row.time_days, event: row.event == 1 };
            if f == fold {
                test.push(Sample { views: views_of(&s, p.train.score_views), ..s });
            } else {
                strata.push(stratum(row));
                train.push(s);
            }
        }
        if !dropped.is_empty() {
            let _ = writeln!(ctx.log, "{} patients have no `{}` output (their node failed) and are left out: {}", dropped.len(), p.input, dropped.join(", "));
        }
        if dropped.len() * 2 > cohort.len() {
            return Err(TaskError::msg(format!("{} of {} patients have no `{}` output; too few remain to train on", dropped.len(), cohort.len(), p.input)));
        }
        if test.is_empty() {
            return Err(TaskError::msg(format!("fold {fold}: {} holds no patients", folds_path.display())));
        }
        let events = train.iter().filter(|s| s.event).count();
        if events == 0 || events == train.len() {
            return Err(TaskError::msg(format!("fold {fold}: its {} training patients have {events} recurrences; the model cannot learn from one class", train.len())));
        }
        let held = stratified_holdout(&strata, p.val_fraction, p.backbone.seed ^ (fold as u64).wrapping_mul(0x9e37_79b9));
        let (mut val, mut rest) = (Vec::new(), Vec::new());
        for (s, h) in train.into_iter().zip(held) {
            if h {
                val.push(s)
            } else {
                // Augmented views train; validation patients are their crops.
                rest.push(Sample { views: views_of(&s, true), ..s })
            }
        }
        let job = TrainJob {
            backbone: p.backbone,
            fold,
            train: rest,
            val,
            test,
            end_to_end: p.end_to_end,
            hyper: p.train,
            out: ctx.out.to_owned(),
            dropped,
        };
        worker::call(&request(ctx, Job::Train(job)), ctx).map(drop)
    }
}

pub struct OutOfFoldScores;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresParams {
    /// The `densenet_train` node, one instance per fold.
    pub input: String,
    /// A needed node with cohort.csv: its rows of the scored patients, with the two scores
    /// added, become `scored_cohort.csv` (the statistics' table).
    #[serde(default)]
    pub cohort: Option<String>,
}

#[derive(Deserialize, serde::Serialize)]
struct Prediction {
    patient_id: String,
    fold: usize,
    time_days: f64,
    event: u8,
    dl_score: f64,
    logistic_score: f64,
}

impl Task for OutOfFoldScores {
    type Params = ScoresParams;
    const KIND: &'static str = "oof_scores";
    // 2: the report says where the folds trained. 3: scored_cohort.csv names each patient's
    // fold; training.json holds each fold's loss per epoch.
    const VERSION: u32 = 3;
    const DESCRIPTION: &'static str = "every fold's held-out predictions as one out-of-fold score per patient, with per-fold C-indices";

    fn run(&self, p: ScoresParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let dirs = ctx.inputs.get(&p.input).ok_or_else(|| TaskError::msg(format!("this task needs `{}` (add it to the node's `needs`)", p.input)))?.clone();
        let mut all: BTreeMap<String, Prediction> = BTreeMap::new();
        let mut folds = Vec::new();
        for dir in &dirs {
            let path = dir.join("predictions.csv");
            let mut r = csv::Reader::from_path(&path).map_err(TaskError::at(&path))?;
            let rows: Vec<Prediction> = r.deserialize().collect::<Result<_, _>>().map_err(TaskError::at(&path))?;
            let surv = Surv::new(rows.iter().map(|r| r.time_days).collect(), rows.iter().map(|r| r.event == 1).collect()).map_err(TaskError::at(&path))?;
            let c = |f: fn(&Prediction) -> f64| harrell(&surv, &rows.iter().map(f).collect::<Vec<_>>()).ok().map(|c| c.c);
            let mut summary = read_json(&dir.join("summary.json"))?;
            summary["history"] = read_history(&dir.join("history.csv"))?;
            summary["test_c_index"] = serde_json::json!({ "dl_score": c(|r| r.dl_score), "logistic_score": c(|r| r.logistic_score) });
            folds.push(summary);
            for row in rows {
                if let Some(before) = all.get(&row.patient_id) {
                    return Err(TaskError::msg(format!("patient {} is held out by folds {} and {}", row.patient_id, before.fold, row.fold)));
                }
                all.insert(row.patient_id.clone(), row);
            }
        }
        let path = ctx.out.join("scores.csv");
        let mut w = csv::Writer::from_path(&path).map_err(TaskError::at(&path))?;
        for row in all.values() {
            w.serialize(row).map_err(|e| TaskError::msg(e.to_string()))?;
        }
        w.flush().map_err(TaskError::io(&path))?;
        if let Some(node) = &p.cohort {
            write_scored_cohort(&ctx.input(node)?.join("cohort.csv"), &all, &ctx.out.join("scored_cohort.csv"))?;
        }
        let text = render(&folds);
        let _ = write!(ctx.log, "{text}");
        std::fs::write(ctx.out.join("training.txt"), text).map_err(TaskError::io(&ctx.out.join("training.txt")))?;
        let json = ctx.out.join("training.json");
        std::fs::write(&json, serde_json::to_vec_pretty(&folds).expect("json")).map_err(TaskError::io(&json))?;
        Ok(())
    }
}

/// A fold's `history.csv` (epoch, lr, train_loss, val_loss, val_c) as a list of objects.
fn read_history(path: &std::path::Path) -> Result<serde_json::Value, TaskError> {
    #[derive(Deserialize, serde::Serialize)]
    struct Epoch {
        epoch: usize,
        lr: f64,
        train_loss: f64,
        val_loss: f64,
        /// Harrell's C on the validation split (absent in folds trained before it was kept).
        #[serde(default)]
        val_c: Option<f64>,
    }
    let mut r = csv::Reader::from_path(path).map_err(TaskError::at(path))?;
    let rows: Vec<Epoch> = r.deserialize().collect::<Result<_, _>>().map_err(TaskError::at(path))?;
    Ok(serde_json::json!(rows))
}

/// The cohort's rows of the patients that have a score, every column kept, scores appended.
fn write_scored_cohort(cohort: &std::path::Path, scores: &BTreeMap<String, Prediction>, out: &std::path::Path) -> Result<(), TaskError> {
    let mut r = csv::Reader::from_path(cohort).map_err(TaskError::at(cohort))?;
    let mut w = csv::Writer::from_path(out).map_err(TaskError::at(out))?;
    let mut header = r.headers().map_err(TaskError::at(cohort))?.clone();
    let id = header.iter().position(|h| h == "patient_id").ok_or_else(|| TaskError::at(cohort)("no `patient_id` column"))?;
    header.push_field("fold");
    header.push_field("dl_score");
    header.push_field("logistic_score");
    w.write_record(&header).map_err(TaskError::at(out))?;
    for rec in r.records() {
        let mut rec = rec.map_err(TaskError::at(cohort))?;
        if let Some(s) = scores.get(&rec[id]) {
            rec.push_field(&s.fold.to_string());
            rec.push_field(&s.dl_score.to_string());
            rec.push_field(&s.logistic_score.to_string());
            w.write_record(&rec).map_err(TaskError::at(out))?;
        }
    }
    w.flush().map_err(TaskError::at(out))
}

/// Per fold: sizes, where training stopped, and the held-out C-index of both scores.
fn render(folds: &[serde_json::Value]) -> String {
    let mut s = String::new();
    let scratch = folds.iter().any(|f| f["pretrained"] == false);
    if scratch {
        s.push_str("WARNING: no ImageNet weights were given: DenseNet121 was initialised at random (seeded) and trained from scratch.\n");
    }
    s.push_str(&trained_on(folds));
    s.push_str("fold  train  val  test  test events  best epoch / run  C (network)  C (logistic)\n");
    let mut cs = (Vec::new(), Vec::new());
    for f in folds {
        let dl = f["test_c_index"]["dl_score"].as_f64();
        let lr = f["test_c_index"]["logistic_score"].as_f64();
        cs.0.extend(dl);
        cs.1.extend(lr);
        let n = |k: &str| f[k].as_u64().map_or("?".to_owned(), |v| v.to_string());
        let epochs = format!("{} / {}", n("best_epoch"), n("epochs_run"));
        s.push_str(&format!(
            "{:>4}  {:>5}  {:>3}  {:>4}  {:>11}  {:>16}  {:>11.4}  {:>12.4}\n",
            n("fold"), n("n_train"), n("n_val"), n("n_test"), n("test_events"), epochs, dl.unwrap_or(f64::NAN), lr.unwrap_or(f64::NAN)
        ));
    }
    let mean_sd = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64).sqrt();
        format!("{m:.3} ± {sd:.3}")
    };
    s.push_str(&format!("held-out C-index across folds (mean ± sd): DenseNet121 {}, logistic regression on pooled frozen features {}\n", mean_sd(&cs.0), mean_sd(&cs.1)));
    // Every fold sees the same cohort, so one fold's list is everyone's.
    let dropped: Vec<&str> = folds.first().and_then(|f| f["dropped"].as_array()).map(|a| a.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
    if !dropped.is_empty() {
        s.push_str(&format!("Dropped: {} patients whose per-patient preprocessing failed (see `dag`'s failures and cache/logs): {}\n", dropped.len(), dropped.join(", ")));
    }
    s
}

/// Where the folds trained. A GPU's scores differ from the CPU's in their last digits, and with
/// TF32 (cuDNN's default for convolutions on recent GPUs) earlier, so the report says which.
pub(crate) fn trained_on(folds: &[serde_json::Value]) -> String {
    let mut places: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in folds {
        let place = match f["device"].as_str().unwrap_or("cpu") {
            "cpu" => "the CPU".to_owned(),
            gpu => format!("{gpu}, {}{}", if f["tf32"] == true { "TF32 convolutions" } else { "float32" }, if f["deterministic"] == true { ", deterministic kernels" } else { "" }),
        };
        places.entry(place).or_default().push(f["fold"].to_string());
    }
    let listed: Vec<String> = match places.len() {
        1 => places.into_keys().collect(),
        _ => places.into_iter().map(|(place, folds)| format!("{place} (folds {})", folds.join(", "))).collect(),
    };
    let tf32 = folds.iter().any(|f| f["tf32"] == true);
    let why = if tf32 { "TF32: cuDNN's default on recent GPUs, ~5e-4 relative error in DenseNet121's logits; NVIDIA_TF32_OVERRIDE=0 gives float32.\n" } else { "" };
    format!("Trained on {}.\n{why}", listed.join("; "))
}

#[cfg(test)]
#[path = "train_tests.rs"]
mod tests;
