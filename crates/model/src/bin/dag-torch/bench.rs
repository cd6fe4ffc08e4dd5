//! `dag-torch bench`: the model's timings for BENCHMARKS.md (run by bench/model.sh beside the
//! same work in PyTorch): the frozen prefix per image, 30 epochs of the tail from cached
//! features, and training with the prefix recomputed (the end-to-end mode) for the ratio.

use dag_model::backbone::{build, features};
use dag_model::train::train;
use dag_study::training::protocol::{Backbone, FeaturesJob, Hyper, Sample, TrainJob};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

pub struct Args {
    pub patients: usize,
    pub epochs: usize,
    pub threads: i32,
    pub size: i64,
    pub tail_only: bool,
    /// `cpu` or `cuda:N`: where the network runs (the crops and features stay files, as in
    /// the pipeline).
    pub device: String,
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()).map_or(f64::NAN, |kb| kb / 1024.0)
}

pub fn run(a: &Args) -> Result<serde_json::Value, String> {
    tch::set_num_threads(a.threads);
    let root = std::env::temp_dir().join(format!("dag-torch-bench-{}", std::process::id()));
    let result = measure(a, &root);
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn measure(a: &Args, root: &std::path::Path) -> Result<serde_json::Value, String> {
    std::fs::create_dir_all(root).map_err(|e| e.to_string())?;
    let device = dag_model::backbone::device(&a.device)?;
    let backbone = Backbone { weights: None, seed: 0, unfreeze_fraction: 0.10 };
    let net = build(&backbone, device, &mut |_| {})?;
    // Crops as the pipeline writes them; their content does not change the timings.
    let mut samples = Vec::new();
    let mut crops = Vec::new();
    tch::manual_seed(1);
    // The tail alone needs one crop, for the shape of the prefix's output.
    for i in 0..if a.tail_only { 1 } else { a.patients } {
        let crop = root.join(format!("crop{i}.npy"));
        Tensor::randn([3, a.size, a.size], (Kind::Float, Device::Cpu)).write_npy(&crop).map_err(|e| e.to_string())?;
        crops.push(crop);
    }
    if a.tail_only {
        return tail_only(a, &backbone, &net, &crops[0], root, device);
    }
    let start = Instant::now();
    for (i, crop) in crops.iter().enumerate() {
        let out = root.join(format!("f{i}"));
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        features(&net, &FeaturesJob { backbone: backbone.clone(), patient: format!("P{i}"), crop: crop.clone(), slices: None, views: 1, out: out.clone() })?;
        samples.push(Sample { patient: format!("P{i}"), file: out.join("features.npy"), slices: None, views: None, time: 100.0 + (i * 37 % 2000) as f64, event: i % 4 == 0 });
    }
    let prefix_s = start.elapsed().as_secs_f64();
    // A fold of the study: 80% train (of which 20% validation), 20% held out.
    let (n_test, n_val) = (a.patients / 5, a.patients * 4 / 25);
    let split = |s: &[Sample]| (s[n_test + n_val..].to_vec(), s[n_test..n_test + n_val].to_vec(), s[..n_test].to_vec());
    let (tr, va, te) = split(&samples);
    let hyper = Hyper { epochs: a.epochs, patience: 0, ..Hyper::default() };
    let job = |name: &str, train: Vec<Sample>, val: Vec<Sample>, test: Vec<Sample>, end_to_end: bool, epochs: usize| {
        let out = root.join(name);
        std::fs::create_dir_all(&out).map(|()| TrainJob { backbone: backbone.clone(), fold: 0, train, val, test, end_to_end, hyper: Hyper { epochs, ..hyper.clone() }, out, dropped: Vec::new() })
    };
    let start = Instant::now();
    train(&job("tail", tr, va, te, false, a.epochs).map_err(|e| e.to_string())?, device, &mut |_| {})?;
    let tail_s = start.elapsed().as_secs_f64();
    // Two epochs on the first 100 patients end to end (the prefix recomputed on every batch),
    // against two epochs from the cached features: the ratio is what caching the prefix saves.
    let few = a.patients.min(100);
    let sub = |s: &[Sample]| (s[few / 5 + few * 4 / 25..few].to_vec(), s[few / 5..few / 5 + few * 4 / 25].to_vec(), s[..few / 5].to_vec());
    let crop_samples: Vec<Sample> = samples.iter().zip(&crops).map(|(s, c)| Sample { file: c.clone(), ..s.clone() }).collect();
    let timed = |name: &str, samples: &[Sample], end_to_end: bool| -> Result<f64, String> {
        let (tr, va, te) = sub(samples);
        let j = job(name, tr, va, te, end_to_end, 2).map_err(|e| e.to_string())?;
        let start = Instant::now();
        train(&j, device, &mut |_| {})?;
        Ok(start.elapsed().as_secs_f64())
    };
    let cached_s = timed("cached2", &samples, false)?;
    let e2e_s = timed("e2e2", &crop_samples, true)?;
    Ok(serde_json::json!({
        "patients": a.patients, "threads": a.threads, "device": a.device, "image": a.size, "epochs": a.epochs,
        "prefix_s": prefix_s, "prefix_ms_per_image": 1e3 * prefix_s / a.patients as f64,
        "tail_s": tail_s, "tail_s_per_epoch": tail_s / a.epochs as f64,
        "ratio_patients": few, "ratio_epochs": 2, "cached_s": cached_s, "end_to_end_s": e2e_s,
        "end_to_end_over_cached": e2e_s / cached_s,
        "peak_rss_mb": peak_rss_mb(),
    }))
}

/// The tail's 30 epochs alone, on random features of the prefix's shape (their content does
/// not change the timings): what to run under a profiler.
fn tail_only(a: &Args, backbone: &Backbone, net: &dag_model::backbone::Net, crop: &std::path::Path, root: &std::path::Path, device: Device) -> Result<serde_json::Value, String> {
    let shape = net.net.prefix(&dag_model::backbone::read_crop(crop)?.to_device(device).unsqueeze(0), &net.split).size();
    let samples: Vec<Sample> = (0..a.patients)
        .map(|i| {
            let file = root.join(format!("features{i}.npy"));
            Tensor::randn(&shape[1..], (Kind::Float, Device::Cpu)).write_npy(&file).map_err(|e| e.to_string())?;
            Ok(Sample { patient: format!("P{i}"), file, slices: None, views: None, time: 100.0 + (i * 37 % 2000) as f64, event: i % 4 == 0 })
        })
        .collect::<Result<_, String>>()?;
    let (n_test, n_val) = (a.patients / 5, a.patients * 4 / 25);
    let out = root.join("tail");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let hyper = Hyper { epochs: a.epochs, patience: 0, ..Hyper::default() };
    let job = TrainJob { backbone: backbone.clone(), fold: 0, train: samples[n_test + n_val..].to_vec(), val: samples[n_test..n_test + n_val].to_vec(), test: samples[..n_test].to_vec(), end_to_end: false, hyper, out, dropped: Vec::new() };
    let start = Instant::now();
    train(&job, device, &mut |_| {})?;
    let tail_s = start.elapsed().as_secs_f64();
    Ok(serde_json::json!({ "patients": a.patients, "threads": a.threads, "device": a.device, "epochs": a.epochs, "tail_s": tail_s, "tail_s_per_epoch": tail_s / a.epochs as f64, "peak_rss_mb": peak_rss_mb() }))
}
