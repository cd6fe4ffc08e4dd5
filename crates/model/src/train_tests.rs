//! Training one fold on small planted data: it learns the signal, the same seed gives the
//! same bytes, and a diverging loss is an error naming the fold.

use super::train::train;
use dag_study::training::protocol::{Backbone, Hyper, Sample, SliceSampling, TrainJob};
use tch::{Device, Kind, Tensor};

/// `n` patients' cut features (832 × 2 × 2), every 3rd a recurrence, whose features carry a
/// shift in 32 channels: what an informative image would leave at the cut.
fn planted(dir: &std::path::Path, n: usize, offset: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let event = (i + offset).is_multiple_of(3);
            tch::manual_seed((i + 1000 * offset) as i64);
            let x = Tensor::randn([832, 2, 2], (Kind::Float, Device::Cpu));
            let _ = x.narrow(0, 0, 32).g_add_scalar_(if event { 0.8 } else { -0.8 });
            let file = dir.join(format!("p{offset}_{i}.npy"));
            x.write_npy(&file).unwrap();
            Sample { patient: format!("P{offset}_{i:03}"), file, slices: None, views: None, time: 100.0 + ((i * 37) % 50) as f64 * 30.0, event }
        })
        .collect()
}

fn job(dir: &std::path::Path, out: &str, hyper: Hyper) -> TrainJob {
    let out = dir.join(out);
    std::fs::create_dir_all(&out).unwrap();
    TrainJob {
        backbone: Backbone { weights: None, seed: 5, unfreeze_fraction: 0.10 },
        fold: 2,
        train: planted(dir, 60, 0),
        val: planted(dir, 15, 1),
        test: planted(dir, 30, 2),
        end_to_end: false,
        hyper,
        out,
        dropped: Vec::new(),
    }
}

fn auc(scores: &[f64], events: &[bool]) -> f64 {
    let (mut pairs, mut good) = (0.0, 0.0);
    for (i, &si) in scores.iter().enumerate() {
        for (j, &sj) in scores.iter().enumerate() {
            if events[i] && !events[j] {
                pairs += 1.0;
                good += if si > sj { 1.0 } else if si == sj { 0.5 } else { 0.0 };
            }
        }
    }
    good / pairs
}

fn column(csv: &str, name: &str) -> Vec<f64> {
    let mut lines = csv.lines();
    let k = lines.next().unwrap().split(',').position(|c| c == name).unwrap();
    lines.map(|l| l.split(',').nth(k).unwrap().parse().unwrap()).collect()
}

#[test]
fn a_fold_learns_a_planted_signal_deterministically() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let hyper = Hyper { epochs: 6, batch_size: 8, patience: 0, ..Hyper::default() };
    let j = job(dir.path(), "a", hyper.clone());
    let summary = train(&j, Device::Cpu, &mut |_| {}).unwrap();
    assert_eq!(summary["pretrained"], false);
    assert_eq!(summary["split"]["trainable_layers"], 13);
    let pred = std::fs::read_to_string(j.out.join("predictions.csv")).unwrap();
    let events: Vec<bool> = column(&pred, "event").iter().map(|&e| e == 1.0).collect();
    let (dl, lr) = (column(&pred, "dl_score"), column(&pred, "logistic_score"));
    assert_eq!(dl.len(), 30);
    assert!(auc(&dl, &events) > 0.8, "the tail's held-out AUC {}", auc(&dl, &events));
    assert!(auc(&lr, &events) > 0.8, "the logistic baseline's held-out AUC {}", auc(&lr, &events));
    // Same seed and inputs: bit-identical scores and tail weights.
    let again = job(dir.path(), "b", hyper);
    train(&again, Device::Cpu, &mut |_| {}).unwrap();
    assert_eq!(pred, std::fs::read_to_string(again.out.join("predictions.csv")).unwrap());
    assert_eq!(std::fs::read(j.out.join("tail.safetensors")).unwrap(), std::fs::read(again.out.join("tail.safetensors")).unwrap());
    let tail = Tensor::read_safetensors(j.out.join("tail.safetensors")).unwrap();
    assert!(tail.iter().any(|(n, _)| n == "features.denseblock4.denselayer16.norm2.running_var"));
    assert!(tail.iter().all(|(n, _)| n.starts_with("classifier") || n.contains("norm5") || n.contains("denseblock4.denselayer1")));
}

#[test]
fn early_stopping_keeps_the_best_epoch_and_a_nan_loss_names_the_fold() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    // Cox loss, a constant rate, stopping after one epoch without improvement.
    let hyper = Hyper { epochs: 40, batch_size: 16, patience: 1, loss: dag_study::training::protocol::Loss::Cox, ..Hyper::default() };
    let j = job(dir.path(), "stop", hyper);
    let s = train(&j, Device::Cpu, &mut |_| {}).unwrap();
    let run = s["epochs_run"].as_u64().unwrap();
    assert!(run < 40 && s["stopped_early"] == true, "{s}");
    assert_eq!(s["best_epoch"].as_u64().unwrap(), run - 1);
    let history = std::fs::read_to_string(j.out.join("history.csv")).unwrap();
    let val = column(&history, "val_loss");
    let best = val.iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(val[run as usize - 2], best, "the kept epoch is the one with the lowest validation loss");
    // Harrell's C on the validation split, every epoch.
    let c = column(&history, "val_c");
    assert!(c.len() == run as usize && c.iter().all(|v| (0.0..=1.0).contains(v)), "{c:?}");

    // A corrupt input (a NaN in one patient's features) makes the loss NaN: stop and say so.
    let bad = job(dir.path(), "nan", Hyper { epochs: 2, ..Hyper::default() });
    let x = Tensor::read_npy(&bad.train[7].file).unwrap();
    let _ = x.get(0).get(0).get(0).fill_(f64::NAN);
    x.write_npy(&bad.train[7].file).unwrap();
    let err = train(&bad, Device::Cpu, &mut |_| {}).unwrap_err();
    assert!(err.starts_with("fold 2: the training loss became NaN at epoch 1") && err.contains("lower `lr`"), "{err}");
}

/// With `augment`, training sees randomly mirrored feature maps and a held-out patient's score
/// is the mean over the map and its mirror: a mirrored patient gets exactly the same score,
/// and the regularised tail (dropout before the head too) still learns the planted signal.
#[test]
fn with_augment_a_mirrored_patient_scores_the_same_and_the_signal_is_learnt() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let hyper = Hyper { epochs: 6, batch_size: 8, patience: 0, lr: 1e-3, dropout: 0.5, augment: true, ..Hyper::default() };
    let j = job(dir.path(), "aug", hyper.clone());
    train(&j, Device::Cpu, &mut |_| {}).unwrap();
    let mut mirrored = job(dir.path(), "aug-mirrored", hyper);
    for s in &mut mirrored.test {
        let flipped = dir.path().join(format!("mirrored-{}.npy", s.patient));
        Tensor::read_npy(&s.file).unwrap().flip([2]).contiguous().write_npy(&flipped).unwrap();
        s.file = flipped;
    }
    train(&mirrored, Device::Cpu, &mut |_| {}).unwrap();
    let read = |j: &TrainJob| std::fs::read_to_string(j.out.join("predictions.csv")).unwrap();
    let (a, b) = (read(&j), read(&mirrored));
    assert_eq!(column(&a, "dl_score"), column(&b, "dl_score"));
    let events: Vec<bool> = column(&a, "event").iter().map(|&e| e == 1.0).collect();
    assert!(auc(&column(&a, "dl_score"), &events) > 0.8, "held-out AUC {}", auc(&column(&a, "dl_score"), &events));
}

/// With `rotate`, a held-out patient scores the mean over the eight symmetries of its map:
/// a patient turned by 90° scores the same (up to the order the eight are summed in), and the
/// tail trained on turned maps still learns the planted signal.
#[test]
fn with_rotate_a_turned_patient_scores_the_same_and_the_signal_is_learnt() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let hyper = Hyper { epochs: 6, batch_size: 8, patience: 0, lr: 1e-3, dropout: 0.5, augment: true, rotate: true, ..Hyper::default() };
    let j = job(dir.path(), "rot", hyper.clone());
    train(&j, Device::Cpu, &mut |_| {}).unwrap();
    let mut turned = job(dir.path(), "rot-turned", hyper);
    for s in &mut turned.test {
        let path = dir.path().join(format!("turned-{}.npy", s.patient));
        Tensor::read_npy(&s.file).unwrap().transpose(1, 2).flip([2]).contiguous().write_npy(&path).unwrap();
        s.file = path;
    }
    train(&turned, Device::Cpu, &mut |_| {}).unwrap();
    let read = |j: &TrainJob| column(&std::fs::read_to_string(j.out.join("predictions.csv")).unwrap(), "dl_score");
    let (a, b) = (read(&j), read(&turned));
    let worst = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-5, "a turned patient's score moved by {worst}");
    // The symmetries are not all alike: the planted maps are not symmetric, so the tail
    // trained on turned maps differs from the mirror-only tail.
    let mirror = job(dir.path(), "mirror", Hyper { rotate: false, ..j.hyper.clone() });
    train(&mirror, Device::Cpu, &mut |_| {}).unwrap();
    assert_ne!(read(&mirror), a);
    let text = std::fs::read_to_string(j.out.join("predictions.csv")).unwrap();
    let events: Vec<bool> = column(&text, "event").iter().map(|&e| e == 1.0).collect();
    assert!(auc(&a, &events) > 0.8, "held-out AUC {}", auc(&a, &events));
}

/// `head_lr`: the classifier learns at its own rate. With the dense layers' rate all but zero,
/// they stay where they were drawn while the head moves.
#[test]
fn the_head_learns_at_its_own_rate() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let j = job(dir.path(), "head", Hyper { epochs: 2, batch_size: 8, patience: 0, lr: 1e-9, head_lr: Some(1e-2), ..Hyper::default() });
    train(&j, Device::Cpu, &mut |_| {}).unwrap();
    let initial = super::backbone::build(&j.backbone, Device::Cpu, &mut |_| {}).unwrap();
    let vars = initial.vs.variables();
    let trained: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(j.out.join("tail.safetensors")).unwrap().into_iter().collect();
    let moved = |name: &str| (&trained[name] - &vars[name]).abs().max().double_value(&[]);
    assert!(moved("classifier.weight") > 1e-3, "the head moved {}", moved("classifier.weight"));
    assert!(moved("features.denseblock4.denselayer16.conv2.weight") < 1e-6, "a dense layer moved {}", moved("features.denseblock4.denselayer16.conv2.weight"));
}

/// `val_fraction: 0`: no inner validation split, so nothing to stop on; every epoch runs and
/// the last one's weights score the held-out patients.
#[test]
fn without_a_validation_split_the_last_epoch_is_kept() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let mut j = job(dir.path(), "noval", Hyper { epochs: 3, batch_size: 8, patience: 2, ..Hyper::default() });
    j.val.clear();
    let summary = train(&j, Device::Cpu, &mut |_| {}).unwrap();
    assert_eq!((summary["n_val"].as_u64(), summary["best_epoch"].as_u64(), summary["epochs_run"].as_u64()), (Some(0), Some(3), Some(3)));
    let pred = std::fs::read_to_string(j.out.join("predictions.csv")).unwrap();
    assert_eq!(column(&pred, "dl_score").len(), 30);
}

/// `head_init: probe`: before any step the head holds the probe's solution, so at a rate that
/// moves nothing the network already scores the planted signal as a linear model does.
#[test]
fn a_probe_started_head_scores_before_it_trains() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let hyper = |head_init| Hyper { epochs: 1, batch_size: 8, patience: 0, lr: 1e-12, head_init, ..Hyper::default() };
    let j = job(dir.path(), "probe", hyper(dag_study::training::protocol::HeadInit::Probe));
    let mut lines = Vec::new();
    train(&j, Device::Cpu, &mut |l| lines.push(l)).unwrap();
    assert!(lines.iter().any(|l| l.contains("starts at the linear probe")), "{lines:?}");
    let pred = std::fs::read_to_string(j.out.join("predictions.csv")).unwrap();
    let events: Vec<bool> = column(&pred, "event").iter().map(|&e| e == 1.0).collect();
    let probe = auc(&column(&pred, "dl_score"), &events);
    assert!(probe > 0.8, "held-out AUC from the probe's head {probe}");
    // A head drawn at random, at the same rate, scores otherwise: the start is the probe's doing.
    let r = job(dir.path(), "random", hyper(dag_study::training::protocol::HeadInit::Random));
    train(&r, Device::Cpu, &mut |_| {}).unwrap();
    let random = column(&std::fs::read_to_string(r.out.join("predictions.csv")).unwrap(), "dl_score");
    assert_ne!(random, column(&pred, "dl_score"));
}

/// The same samples with their map stacked `copies` times as their tumour slices.
fn as_slices(dir: &std::path::Path, samples: Vec<Sample>, copies: i64) -> Vec<Sample> {
    samples
        .into_iter()
        .map(|s| {
            let x = Tensor::read_npy(&s.file).unwrap().unsqueeze(0).repeat([copies, 1, 1, 1]);
            let file = dir.join(format!("{}_slices.npy", s.patient));
            x.write_npy(&file).unwrap();
            Sample { slices: Some(file), ..s }
        })
        .collect()
}

#[test]
fn a_patient_whose_slices_are_alike_trains_and_scores_as_its_one_slice() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let hyper = Hyper { epochs: 3, batch_size: 8, patience: 0, augment: true, dropout: 0.2, ..Hyper::default() };
    let one = job(dir.path(), "one", hyper.clone());
    train(&one, Device::Cpu, &mut |_| {}).unwrap();
    let mut three = job(dir.path(), "three", hyper);
    three.train = as_slices(dir.path(), three.train, 3);
    three.val = as_slices(dir.path(), three.val, 3);
    three.test = as_slices(dir.path(), three.test, 3);
    let summary = train(&three, Device::Cpu, &mut |_| {}).unwrap();
    assert_eq!(summary["slices"]["test"], 90);
    let read = |j: &TrainJob| std::fs::read_to_string(j.out.join("predictions.csv")).unwrap();
    let (a, b) = (read(&one), read(&three));
    // One score per patient, the mean over its three (equal) slices: the one slice's score.
    for name in ["dl_score", "logistic_score"] {
        let (x, y) = (column(&a, name), column(&b, name));
        assert_eq!(x.len(), y.len());
        let worst = x.iter().zip(&y).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-4, "{name}: the scores differ by up to {worst}");
    }
}

#[test]
fn pooled_slices_alike_train_as_the_one_slice() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    // No dropout: each slice would draw its own mask. Flips are drawn per patient, so the
    // batches and flips are those of the one-slice run.
    let hyper = Hyper { epochs: 3, batch_size: 8, patience: 0, augment: true, dropout: 0.0, ..Hyper::default() };
    let one = job(dir.path(), "one", hyper.clone());
    train(&one, Device::Cpu, &mut |_| {}).unwrap();
    let mut pooled = job(dir.path(), "pooled", Hyper { slice_sampling: SliceSampling::Pooled, ..hyper });
    pooled.train = as_slices(dir.path(), pooled.train, 3);
    pooled.test = as_slices(dir.path(), pooled.test, 3);
    let mut lines = Vec::new();
    train(&pooled, Device::Cpu, &mut |l| lines.push(l)).unwrap();
    assert!(lines.iter().any(|l| l.contains("180 tumour slices for 60 training patients") && l.contains("pooled into one logit")), "{lines:?}");
    // Three equal slices pool to the one slice's logit, and batch norm sees each row three
    // times (the same batch mean and variance), so each epoch's loss is the one slice's.
    let history = |j: &TrainJob| column(&std::fs::read_to_string(j.out.join("history.csv")).unwrap(), "train_loss");
    let (a, b) = (history(&one), history(&pooled));
    assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5), "training losses {a:?} against {b:?}");
    // The scores are not the one slice's to the bit: batch norm's running variance is the
    // unbiased one, n/(n − 1) with three times the rows. They still carry the signal.
    let text = std::fs::read_to_string(pooled.out.join("predictions.csv")).unwrap();
    let events: Vec<bool> = column(&text, "event").iter().map(|&e| e == 1.0).collect();
    let scores = column(&text, "dl_score");
    assert_eq!(scores.len(), 30);
    assert!(auc(&scores, &events) > 0.8, "held-out AUC {}", auc(&scores, &events));
}

#[test]
fn an_ensembles_first_member_is_the_single_tail_and_the_members_average() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let hyper = Hyper { epochs: 3, batch_size: 8, patience: 0, ..Hyper::default() };
    let one = job(dir.path(), "one", hyper.clone());
    train(&one, Device::Cpu, &mut |_| {}).unwrap();
    let two = job(dir.path(), "two", Hyper { ensemble: 2, ..hyper });
    let mut lines = Vec::new();
    train(&two, Device::Cpu, &mut |l| lines.push(l)).unwrap();
    // Member 1 trains exactly as the tail alone would (the same start, batches and flips):
    // the kept tail is byte for byte the single run's.
    let read = |j: &TrainJob, f: &str| std::fs::read(j.out.join(f)).unwrap();
    assert_eq!(read(&one, "tail.safetensors"), read(&two, "tail.safetensors"));
    assert!(lines.iter().any(|l| l.contains("fold 2 member 2 epoch 3/3")), "{lines:?}");
    let text = |j: &TrainJob| String::from_utf8(read(j, "predictions.csv")).unwrap();
    let (a, b) = (column(&text(&one), "dl_score"), column(&text(&two), "dl_score"));
    assert_ne!(a, b, "the second member moves the scores");
    let events: Vec<bool> = column(&text(&two), "event").iter().map(|&e| e == 1.0).collect();
    assert!(auc(&b, &events) > 0.8, "the ensemble's held-out AUC {}", auc(&b, &events));
    // The logistic baseline does not depend on the ensemble.
    assert_eq!(column(&text(&one), "logistic_score"), column(&text(&two), "logistic_score"));
}

/// The same samples given as views: each one's map, then two copies with `noise` · N(0, 1)
/// added (seeded, so two calls make the same views).
fn as_views(dir: &std::path::Path, samples: Vec<Sample>, noise: f64, tag: &str) -> Vec<Sample> {
    samples
        .into_iter()
        .map(|s| {
            tch::manual_seed(7);
            let crop = Tensor::read_npy(&s.file).unwrap().unsqueeze(0);
            let x = Tensor::cat(&[crop.shallow_clone(), &crop + crop.randn_like() * noise, &crop + crop.randn_like() * noise], 0);
            let file = dir.join(format!("{}_{tag}.npy", s.patient));
            x.write_npy(&file).unwrap();
            Sample { views: Some(file), ..s }
        })
        .collect()
}

/// The largest difference between two predictions.csv's columns `name`.
fn gap(a: &str, b: &str, name: &str) -> f64 {
    column(a, name).iter().zip(column(b, name)).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max)
}

#[test]
fn views_train_the_tail_score_held_out_patients_as_asked_and_the_probe_reads_the_crops() {
    let _rng = super::torch_rng();
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let hyper = Hyper { epochs: 2, batch_size: 8, patience: 0, augment: true, dropout: 0.2, ..Hyper::default() };
    let run = |name: &str, train_noise: Option<f64>, test_noise: Option<f64>| {
        let mut j = job(dir.path(), name, hyper.clone());
        if let Some(noise) = train_noise {
            j.train = as_views(dir.path(), j.train, noise, &format!("{name}_train"));
        }
        if let Some(noise) = test_noise {
            j.test = as_views(dir.path(), j.test, noise, &format!("{name}_test"));
        }
        let summary = train(&j, Device::Cpu, &mut |_| {}).unwrap();
        (summary, std::fs::read_to_string(j.out.join("predictions.csv")).unwrap())
    };
    let (_, plain) = run("plain", None, None);
    // Training patients' noisy views: the tail learns from them; were the probe fitted on
    // the mean over views (as over slices), its scores would move.
    let (summary, trained) = run("trained", Some(3.0), None);
    assert_eq!((summary["views"]["train"].as_u64(), summary["slices"]["train"].as_u64()), (Some(180), Some(60)));
    assert!(gap(&plain, &trained, "dl_score") > 1e-3, "the tail trained on the views");
    assert!(gap(&plain, &trained, "logistic_score") < 1e-6, "the probe reads the training crops");
    // Held-out patients with views (the same training): alike, they score as the crop; noisy,
    // by the mean over them; the probe reads their crops.
    let (_, alike) = run("alike", None, Some(0.0));
    assert!(gap(&plain, &alike, "dl_score") < 1e-4, "views alike score as the crop");
    let (_, noisy) = run("noisy", None, Some(2.0));
    assert!(gap(&plain, &noisy, "dl_score") > 1e-3, "the score is the mean over the views");
    assert!(gap(&plain, &noisy, "logistic_score") < 1e-6, "the probe reads the held-out crops");
}
