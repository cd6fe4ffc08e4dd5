//! One cross-validation fold: train the unfrozen tail (Adam, weight decay, a learning-rate
//! schedule; with an inner validation split, early stopping and the best weights restored;
//! without one, a fixed number of epochs and the last kept), score the
//! held-out patients, fit the logistic baseline on pooled frozen features, write it all.

use super::backbone::{build, Net};
use super::augment::{flipped, symmetry, turned};
use super::data::{load, Data};
use super::logistic::Logistic;
use super::losses;
use dag_study::training::protocol::{Backbone, HeadInit, Loss, Schedule, SliceSampling, TrainJob};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

struct Trainer<'a> {
    n: &'a Net,
    job: &'a TrainJob,
    /// (1,) on the device, made once: BCE's weight of the positive class.
    pos_weight: Tensor,
}

impl Trainer<'_> {
    /// The tail's input: the prefix run on (flipped) crops end to end; the cached feature maps
    /// otherwise, flipped too when `augment` asks (a flipped crop's features are close to,
    /// not exactly, its features flipped: a regulariser, not an identity). `turn[i]` is row
    /// i's symmetry of the square (`symmetry`); without `rotate` it is 0 or 1, the mirror.
    fn input(&self, x: &Tensor, turn: Option<&[u8]>) -> Tensor {
        let moved = |x: &Tensor| match turn {
            Some(t) if self.job.hyper.rotate => turned(x, t),
            Some(t) => flipped(x, Some(&t.iter().map(|&v| v == 1).collect::<Vec<_>>())),
            None => x.shallow_clone(),
        };
        if !self.job.end_to_end {
            return if self.job.hyper.augment { moved(x) } else { x.shallow_clone() };
        }
        self.n.net.prefix(&moved(x), &self.n.split)
    }

    /// The views a held-out patient is scored over (the mean of their logits): with
    /// `augment` on cached maps, the map and its mirror, or with `rotate` all eight
    /// symmetries; the prediction does not depend on which way the crop happened to face.
    fn views(&self, x: &Tensor) -> Vec<Tensor> {
        match (self.job.hyper.augment && !self.job.end_to_end, self.job.hyper.rotate) {
            (false, _) => vec![x.shallow_clone()],
            (true, false) => vec![x.shallow_clone(), x.flip([3])],
            (true, true) => (0..8).map(|t| symmetry(x, t)).collect(),
        }
    }

    /// The mean of `f` over the views of `x` (`views`): what a held-out patient is scored
    /// with, and (through the linear head) what the probe-started head is fitted on.
    fn mean_over_views(&self, x: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> Tensor {
        let views = self.views(&self.input(x, None));
        let sum = views.iter().map(f).reduce(|a, b| a + b).expect("a view");
        if views.len() > 1 { sum / views.len() as f64 } else { sum }
    }

    /// A training row's random view: the mirror or not, or one of the eight symmetries.
    fn draw_turn(&self, rng: &mut ChaCha8Rng) -> u8 {
        if self.job.hyper.rotate { rng.gen_range(0..8) } else { u8::from(rng.gen_bool(0.5)) }
    }

    /// The loss of `logits` whose 0/1 labels are `y` (on the device) and whose rows belong to
    /// `patients` of `d` (their times and events, for Cox).
    fn loss(&self, logits: &Tensor, y: &Tensor, d: &Data, patients: &[usize]) -> Option<Tensor> {
        match self.job.hyper.loss {
            Loss::Bce => Some(losses::bce(logits, y, &self.pos_weight)),
            Loss::Cox => losses::cox(logits, &patients.iter().map(|&i| d.time[i]).collect::<Vec<_>>(), &patients.iter().map(|&i| d.event[i]).collect::<Vec<_>>()),
        }
    }

    /// Rows per evaluation batch: whole crops through the prefix take far more memory.
    fn chunk(&self) -> usize {
        if self.job.end_to_end { 8 } else { 64 }
    }

    /// Risk logits for every patient, in eval mode, in batches: the mean over its views
    /// (`views`), and a patient with several slices the mean over its slices' logits.
    fn predict(&self, d: &Data) -> Tensor {
        tch::no_grad(|| {
            let logits = |x: &Tensor| self.n.net.tail_t(x, &self.n.split, false).squeeze_dim(1);
            let parts: Vec<Tensor> = d
                .chunks(self.chunk())
                .map(|x| self.mean_over_views(&x, logits))
                .collect();
            d.per_patient(Tensor::cat(&parts, 0))
        })
    }
}

/// Harrell's C of the logits on a split (NaN where it has no comparable pair): what the
/// study measures, watched per epoch beside the loss that early stopping uses.
fn concordance(logits: &Tensor, d: &Data) -> f64 {
    let Ok(risk) = Vec::<f64>::try_from(logits.to_kind(Kind::Double).to_device(Device::Cpu)) else { return f64::NAN };
    dag_study::survival::Surv::new(d.time.clone(), d.event.clone())
        .and_then(|s| dag_study::survival::harrell::harrell(&s, &risk))
        .map_or(f64::NAN, |c| if c.comparable > 0 { c.c } else { f64::NAN })
}

/// Shuffled batches; a last batch of one joins the one before (batch norm needs two).
fn batches(n: usize, size: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut out: Vec<Vec<usize>> = order.chunks(size.max(2)).map(<[usize]>::to_vec).collect();
    if out.len() > 1 && out.last().is_some_and(|b| b.len() < 2) {
        let last = out.pop().unwrap_or_default();
        out.last_mut().expect("more than one batch").extend(last);
    }
    out
}

pub fn train(job: &TrainJob, device: Device, log: &mut dyn FnMut(String)) -> Result<serde_json::Value, String> {
    let h = &job.hyper;
    let fold = job.fold;
    // Per job: a worker process serves several, and the switch is libtorch's, process-wide.
    super::determinism::set(h.deterministic);
    let n = build(&job.backbone, device, log)?;
    let (tr, va, te) = (load(&job.train, job.end_to_end, device)?, load(&job.val, job.end_to_end, device)?, load(&job.test, job.end_to_end, device)?);
    let positives = tr.event.iter().filter(|&&e| e).count();
    let pos_weight = if h.class_weight { (tr.len() - positives) as f64 / positives.max(1) as f64 } else { 1.0 };
    let t = Trainer { n: &n, job, pos_weight: Tensor::from_slice(&[pos_weight as f32]).to_device(device) };
    log(format!(
        "fold {fold}: {} training ({positives} recurrences), {} validation, {} held-out patients; {} of 121 layers train (from {}); {:?} loss; {}",
        tr.len(),
        va.len(),
        te.len(),
        n.split.trainable_layers,
        n.split.cut_name,
        h.loss,
        match (job.end_to_end, h.augment) {
            (true, _) => "prefix recomputed every step, with random flips",
            (false, true) => "from the cached prefix features, randomly flipped",
            (false, false) => "from the cached prefix features",
        }
    ));
    if let Some(rows) = tr.rows_described(h.slice_sampling, te.views) {
        log(format!("fold {fold}: {rows}"));
    }
    let trainable = tail_state(&n.vs);
    // An ensemble's members differ in their start (member 0: the tail as drawn with the
    // network; member m: the tail of a network drawn with another seed) and in their batches,
    // flips and dropout; the frozen prefix is the same. A patient scores their mean logit.
    let members = h.ensemble.max(1);
    let mut dl = vec![0.0; te.len()];
    let mut first: Option<Fit> = None;
    for member in 0..members {
        if member > 0 {
            let other = build(&Backbone { seed: member_seed(job.backbone.seed, member), ..job.backbone.clone() }, device, &mut |_| {})?;
            tch::no_grad(|| trainable.iter().zip(tail_state(&other.vs)).for_each(|((_, t), (_, o))| t.shallow_clone().copy_(&o)));
        }
        if h.head_init == HeadInit::Probe {
            let c = probe_head(&t, &tr, h.batch_size, h.logistic_c)?;
            log(format!("fold {fold}: the head starts at the linear probe of the tail's initial output (training C {c:.4})"));
        }
        let fit = fit(&t, &trainable, &tr, &va, member, log)?;
        let scores = Vec::<f64>::try_from(t.predict(&te).to_kind(Kind::Double).to_device(Device::Cpu)).map_err(|e| e.to_string())?;
        if members == 1 {
            dl = scores;
        } else {
            dl.iter_mut().zip(scores).for_each(|(d, s)| *d += s / members as f64);
        }
        if member == 0 {
            // What is kept of an ensemble: the first member's tail and learning curve.
            write_tail(job, &trainable)?;
            first = Some(fit);
        }
    }
    let Fit { history, best, best_epoch, epochs_run } = first.expect("at least one member");
    let logistic = logistic_scores(&t, &[&tr, &va], &te, h.logistic_c)?;
    write_outputs(job, &dl, &logistic, &history)?;
    let mut summary = serde_json::json!({
        "fold": fold,
        "n_train": tr.len(), "n_val": va.len(), "n_test": te.len(),
        "slices": { "train": tr.slices(), "val": va.slices(), "test": te.slices() },
        "train_events": positives, "test_events": te.event.iter().filter(|&&e| e).count(),
        "best_epoch": best_epoch, "epochs_run": epochs_run, "best_val_loss": best,
        "stopped_early": epochs_run < h.epochs,
        "pretrained": n.pretrained, "split": n.split, "end_to_end": job.end_to_end,
        "hyper": h, "device": super::backbone::device_name(device),
        "tf32": device.is_cuda() && super::backbone::tf32_allowed(),
        "deterministic": device.is_cuda() && h.deterministic,
        "dropped": job.dropped,
    });
    if tr.views || te.views {
        // Only then, so that a training without views writes what it always has.
        summary["views"] = serde_json::json!({ "train": tr.rows(), "test": te.rows() });
    }
    let path = job.out.join("summary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&summary).expect("json")).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(summary)
}

/// What one member's training leaves besides its weights.
struct Fit {
    history: String,
    best: f64,
    best_epoch: usize,
    epochs_run: usize,
}

/// Member `m > 0` of an ensemble: a network drawn with this seed gives its tail's start.
fn member_seed(seed: u64, m: usize) -> u64 {
    seed.wrapping_add(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(m as u64))
}

fn tag(member: usize) -> String {
    if member == 0 { String::new() } else { format!(" member {}", member + 1) }
}

/// Trains the tail from where it stands (Adam, the schedule, early stopping on the inner
/// split if there is one), leaving the kept epoch's weights in it.
fn fit(t: &Trainer<'_>, trainable: &[(String, Tensor)], tr: &Data, va: &Data, member: usize, log: &mut dyn FnMut(String)) -> Result<Fit, String> {
    let (job, n) = (t.job, t.n);
    let (h, fold) = (&job.hyper, job.fold);
    let mut opt = nn::Adam { wd: h.weight_decay, ..Default::default() }.build(&n.vs, h.lr).map_err(|e| e.to_string())?;
    let mut rng = ChaCha8Rng::seed_from_u64(job.backbone.seed ^ 0x5eed_0000 ^ fold as u64 ^ ((member as u64) << 32));
    // The slices drawn come from a stream of their own: the batches and flips are those of
    // the same patients with one slice each.
    let mut slice_rng = ChaCha8Rng::seed_from_u64(job.backbone.seed ^ 0x51ce_0000 ^ fold as u64 ^ ((member as u64) << 32));
    let mut history = String::from("epoch,lr,train_loss,val_loss,val_c\n");
    let (mut best, mut best_epoch, mut since_best, mut lr) = (f64::INFINITY, 0, 0, h.lr);
    let mut best_state: Vec<Tensor> = trainable.iter().map(|(_, t)| t.detach().copy()).collect();
    let mut epochs_run = 0;
    for epoch in 1..=h.epochs {
        if h.schedule == Schedule::Cosine {
            lr = h.lr * 0.5 * (1.0 + (std::f64::consts::PI * (epoch - 1) as f64 / h.epochs as f64).cos());
        }
        opt.set_lr(lr);
        if let Some(head) = h.head_lr {
            // The head follows the same schedule from its own starting rate.
            opt.set_lr_group(super::densenet::HEAD_GROUP, head * lr / h.lr);
        }
        // No transfer between host and device inside the epoch: its order goes up once (each
        // batch is a slice of it) and the losses come down together at its end. On a GPU every
        // transfer waits for the queued kernels; per batch, that idled it between batches. A
        // NaN loss is therefore found at the end of its epoch (a few wasted steps). With
        // `augment`, each batch's flip (or symmetry) masks still go up: a few bytes a row.
        // Pooled, a batch is of patients and runs every slice of each; otherwise of rows.
        let pooled = h.slice_sampling == SliceSampling::Pooled && tr.rows() > tr.len();
        let units = if pooled { (0..tr.len()).collect() } else { tr.epoch_rows(h.slice_sampling == SliceSampling::Every, &mut slice_rng) };
        let order = batches(units.len(), h.batch_size, &mut rng);
        let plan = tr.epoch(&order, &units, pooled);
        let mut stepped = Vec::new();
        for (b, batch) in plan.batches.iter().enumerate() {
            let sel = plan.rows(batch);
            let turn = batch.per_row(&batch.patients.iter().map(|_| t.draw_turn(&mut rng)).collect::<Vec<_>>());
            let rows = n.net.tail_dropout_t(&t.input(&tr.x.index_select(0, &sel), Some(&turn)), &n.split, true, h.dropout).squeeze_dim(1);
            let (logits, y) = plan.logits_and_labels(batch, rows, tr);
            let Some(loss) = t.loss(&logits, &y, tr, &batch.patients) else { continue };
            opt.backward_step(&loss);
            stepped.push((b, batch.patients.len(), loss.detach()));
        }
        let values: Vec<f64> = if stepped.is_empty() {
            Vec::new()
        } else {
            let all = Tensor::stack(&stepped.iter().map(|(_, _, l)| l.shallow_clone()).collect::<Vec<_>>(), 0);
            Vec::<f64>::try_from(all.to_kind(Kind::Double).to_device(Device::Cpu)).map_err(|e| e.to_string())?
        };
        let (mut sum, mut count) = (0.0, 0);
        for ((b, rows, _), value) in stepped.iter().zip(values) {
            if !value.is_finite() {
                return Err(format!("fold {fold}: the training loss became {value} at epoch {epoch}, batch {} (NaN or infinite inputs, or try a lower `lr`)", b + 1));
            }
            sum += value * *rows as f64;
            count += rows;
        }
        let (val_loss, val_c) = if va.time.is_empty() { (f64::NAN, f64::NAN) } else { tch::no_grad(|| {
            let all: Vec<usize> = (0..va.len()).collect();
            let logits = t.predict(va);
            (t.loss(&logits, &va.y, va, &all).map_or(f64::NAN, |l| l.double_value(&[])), concordance(&logits, va))
        }) };
        let train_loss = sum / count.max(1) as f64;
        epochs_run = epoch;
        history.push_str(&format!("{epoch},{lr},{train_loss},{val_loss},{val_c}\n"));
        log(format!("fold {fold}{} epoch {epoch}/{}: lr {lr:.2e}, training loss {train_loss:.4}, validation loss {val_loss:.4}, validation C {val_c:.4}", tag(member), h.epochs));
        // Without a usable validation loss (no validation events for Cox), the last epoch wins.
        if val_loss < best || !val_loss.is_finite() {
            (best, best_epoch, since_best) = (if val_loss.is_finite() { val_loss } else { best }, epoch, 0);
            tch::no_grad(|| best_state.iter_mut().zip(trainable).for_each(|(b, (_, t))| b.copy_(t)));
        } else {
            since_best += 1;
            if h.schedule == Schedule::Plateau && since_best % (h.patience / 2).max(1) == 0 {
                lr /= 2.0;
            }
            if h.patience > 0 && since_best >= h.patience {
                log(format!("fold {fold}: no better validation loss for {} epochs; stopping, keeping epoch {best_epoch}", h.patience));
                break;
            }
        }
    }
    tch::no_grad(|| trainable.iter().zip(&best_state).for_each(|((_, t), b)| t.shallow_clone().copy_(b)));
    Ok(Fit { history, best, best_epoch, epochs_run })
}

/// Linear probing before fine-tuning: the classifier is set to the L2 logistic regression
/// (the baseline's objective and `c`) on what it reads from the tail as it stands, on the
/// training split. A head drawn at random sends the tail's first gradients in random
/// directions and, at a rate gentle enough for the dense layers, stays near its start; from
/// the probe's solution, fine-tuning can only start where a linear model already is.
/// Returns the probe's C on the training split.
fn probe_head(t: &Trainer<'_>, tr: &Data, batch: usize, c: f64) -> Result<f64, String> {
    let (net, split) = (&t.n.net, &t.n.split);
    tch::no_grad(|| {
        // The tail's batch norms first see the training split in training mode: their running
        // statistics (at their initial 0 and 1 in a network drawn at random) are what the
        // probe's features, computed in eval mode, are normalised with. Passes continue until
        // the start's share of the running averages (momentum 0.1) is below 1e-3.
        let per_pass = tr.rows().div_ceil(batch.max(2));
        for _ in 0..66usize.div_ceil(per_pass.max(1)) {
            for x in tr.chunks(batch.max(2)) {
                let _ = net.tail_pooled_t(&t.input(&x, None), split, true);
            }
        }
        // What `predict` feeds the head: its logit is the mean over the views, that is the
        // head applied to the mean of their pooled vectors.
        let pooled = |x: &Tensor| t.mean_over_views(x, |v| net.tail_pooled_t(v, split, false));
        let x = tr.originals(Tensor::cat(&tr.chunks(t.chunk()).map(|x| pooled(&x)).collect::<Vec<_>>(), 0));
        let m = Logistic::fit(&x, &tr.event, c)?;
        let (w, b) = m.as_linear();
        let head = &net.classifier;
        head.ws.shallow_clone().copy_(&w.view([1, -1]).to_kind(head.ws.kind()));
        if let Some(bs) = &head.bs {
            bs.shallow_clone().copy_(&b.view([1]).to_kind(bs.kind()));
        }
        Ok(concordance(&x.apply(head).squeeze_dim(1), tr))
    })
}

/// The trainable variables with the running statistics of their batch norms: what early
/// stopping keeps from the best epoch, and what tail.safetensors holds.
fn tail_state(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let vars = vs.variables();
    let mut names: Vec<String> = vars.iter().filter(|(_, t)| t.requires_grad()).map(|(n, _)| n.clone()).collect();
    for n in names.clone() {
        if let Some(prefix) = n.strip_suffix(".weight") {
            names.extend(["running_mean", "running_var"].map(|b| format!("{prefix}.{b}")).into_iter().filter(|b| vars.contains_key(b)));
        }
    }
    names.sort();
    names.into_iter().map(|n| {
        let t = vars[&n].shallow_clone();
        (n, t)
    }).collect()
}

/// The baseline on globally averaged frozen features (the cut's input; a patient's mean over
/// its slices where it has several), fitted on all of the fold's training patients.
fn logistic_scores(t: &Trainer<'_>, fit_on: &[&Data], test: &Data, c: f64) -> Result<Vec<f64>, String> {
    let pooled = |d: &Data| tch::no_grad(|| {
        let parts: Vec<Tensor> = d.chunks(t.chunk()).map(|x| t.input(&x, None).mean_dim(&[2i64, 3][..], false, Kind::Double)).collect();
        d.originals(Tensor::cat(&parts, 0))
    });
    let fit_on: Vec<&Data> = fit_on.iter().copied().filter(|d| !d.time.is_empty()).collect();
    let x = Tensor::cat(&fit_on.iter().map(|d| pooled(d)).collect::<Vec<_>>(), 0);
    let y: Vec<bool> = fit_on.iter().flat_map(|d| d.event.iter().copied()).collect();
    let m = Logistic::fit(&x, &y, c)?;
    Vec::<f64>::try_from(m.decision(&pooled(test)).to_device(Device::Cpu)).map_err(|e| e.to_string())
}

fn write_outputs(job: &TrainJob, dl: &[f64], logistic: &[f64], history: &str) -> Result<(), String> {
    let io = |p: &std::path::Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
    let path = job.out.join("predictions.csv");
    let mut w = csv::Writer::from_path(&path).map_err(|e| io(&path, &e))?;
    w.write_record(["patient_id", "fold", "time_days", "event", "dl_score", "logistic_score"]).map_err(|e| io(&path, &e))?;
    for (i, s) in job.test.iter().enumerate() {
        let rec = [s.patient.clone(), job.fold.to_string(), s.time.to_string(), (s.event as u8).to_string(), dl[i].to_string(), logistic[i].to_string()];
        w.write_record(&rec).map_err(|e| io(&path, &e))?;
    }
    w.flush().map_err(|e| io(&path, &e))?;
    let path = job.out.join("history.csv");
    std::fs::write(&path, history).map_err(|e| io(&path, &e))?;
    Ok(())
}

/// The trained tail only: everything else is the backbone the job names.
fn write_tail(job: &TrainJob, trainable: &[(String, Tensor)]) -> Result<(), String> {
    let path = job.out.join("tail.safetensors");
    let cpu: Vec<(String, Tensor)> = trainable.iter().map(|(n, t)| (n.clone(), t.detach().to_device(Device::Cpu).contiguous())).collect();
    Tensor::write_safetensors(&cpu, &path).map_err(|e| format!("{}: {e}", path.display()))
}
