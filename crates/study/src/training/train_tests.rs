//! The fold task's checks before any tensor work: a fold without events, features made by
//! another backbone, a patient whose per-patient node produced nothing.

use super::*;
use dag_engine::task::Device;
use std::sync::atomic::AtomicBool;

struct Fixture {
    dir: tempfile::TempDir,
    inputs: BTreeMap<String, Vec<PathBuf>>,
}

/// Six patients in two folds; `events` says who recurred.
fn fixture(events: [u8; 6], backbone_seed: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let sub = |name: &str| {
        let p = dir.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let cohort = sub("cohort");
    let mut text = String::from("patient_id,site,time_days,event,HR,HER2,tumor_subtype,age\n");
    let mut folds = String::from("patient_id,fold\n");
    let mut features = Vec::new();
    for (i, e) in events.iter().enumerate() {
        text.push_str(&format!("P{i},DUKE,{},{e},1,0,luminal,50\n", 100 * (i + 1)));
        folds.push_str(&format!("P{i},{}\n", i % 2));
        let f = sub(&format!("features/P{i}"));
        let meta = serde_json::json!({"patient": format!("P{i}"), "backbone": {"weights": null, "seed": backbone_seed, "unfreeze_fraction": 0.1}});
        std::fs::write(f.join("features.json"), meta.to_string()).unwrap();
        features.push(f);
    }
    std::fs::write(cohort.join("cohort.csv"), text).unwrap();
    let fo = sub("folds");
    std::fs::write(fo.join("folds.csv"), folds).unwrap();
    let inputs = BTreeMap::from([("cohort".to_owned(), vec![cohort]), ("folds".to_owned(), vec![fo]), ("features".to_owned(), features)]);
    Fixture { dir, inputs }
}

fn run(fx: &Fixture, fold: &str) -> Result<(), TaskError> {
    run_logged(fx, fold).0
}

fn run_logged(fx: &Fixture, fold: &str) -> (Result<(), TaskError>, String) {
    let params: TrainParams = serde_json::from_value(serde_json::json!({"input": "features", "cohort": "cohort", "folds": "folds"})).unwrap();
    let out = fx.dir.path().join("out");
    let (mut log, cancel) = (Vec::new(), AtomicBool::new(false));
    let mut ctx = TaskCtx { instance: "train", value: Some(fold), out: &out, inputs: &fx.inputs, device: Device::Cpu, cpu_fallback: false, cpus: 1, log: &mut log, cancel: &cancel, helpers: &Default::default() };
    let r = DensenetTrain.run(params, &mut ctx);
    (r, String::from_utf8(log).unwrap())
}

#[test]
fn a_fold_whose_training_patients_never_recur_is_an_error_naming_it() {
    // Fold 1 trains on patients 0, 2, 4: no recurrence among them.
    let fx = fixture([0, 1, 0, 1, 0, 1], 0);
    let err = run(&fx, "1").unwrap_err().to_string();
    assert!(err.starts_with("fold 1: its 3 training patients have 0 recurrences"), "{err}");
}

#[test]
fn features_from_another_backbone_are_refused() {
    let fx = fixture([1, 1, 0, 1, 0, 1], 9);
    let err = run(&fx, "0").unwrap_err().to_string();
    assert!(err.contains("features.json: the features were computed with") && err.contains("give both nodes the same"), "{err}");
}

#[test]
fn a_patient_without_features_is_left_out_and_too_many_is_an_error() {
    let mut fx = fixture([1, 0, 0, 1, 0, 1], 0);
    for _ in 0..4 {
        fx.inputs.get_mut("features").unwrap().pop();
    }
    let err = run(&fx, "0").unwrap_err().to_string();
    assert_eq!(err, "4 of 6 patients have no `features` output; too few remain to train on");
    // One missing: the task leaves the patient out, says so, and gets as far as starting the
    // libtorch worker (which is not beside a unit-test binary).
    let mut fx = fixture([1, 0, 0, 1, 0, 1], 0);
    fx.inputs.get_mut("features").unwrap().pop();
    let (r, log) = run_logged(&fx, "0");
    assert!(r.unwrap_err().to_string().contains("cannot start the libtorch worker"));
    assert!(log.contains("1 patients have no `features` output (their node failed) and are left out: P5"), "{log}");
}

#[test]
fn the_report_says_where_each_fold_trained() {
    use serde_json::json;
    let cpu = |fold: u64| json!({ "fold": fold, "device": "cpu", "tf32": false });
    let gpu = |fold: u64, tf32: bool| json!({ "fold": fold, "device": "cuda:0", "tf32": tf32 });
    assert_eq!(super::trained_on(&[cpu(0), cpu(1)]), "Trained on the CPU.\n");
    assert_eq!(super::trained_on(&[gpu(0, false), gpu(1, false)]), "Trained on cuda:0, float32.\n");
    let mixed = super::trained_on(&[gpu(0, true), cpu(1), gpu(2, true)]);
    assert!(mixed.starts_with("Trained on cuda:0, TF32 convolutions (folds 0, 2); the CPU (folds 1).\nTF32: "), "{mixed}");
    assert!(mixed.contains("NVIDIA_TF32_OVERRIDE=0"), "{mixed}");
    let det = json!({ "fold": 0, "device": "cuda:0", "tf32": false, "deterministic": true });
    assert_eq!(super::trained_on(&[det]), "Trained on cuda:0, float32, deterministic kernels.\n");
    // Summaries written before the field existed read as the CPU's or float32's.
    assert_eq!(super::trained_on(&[json!({ "fold": 0 })]), "Trained on the CPU.\n");
}

#[test]
fn rotating_without_augmenting_is_refused_naming_the_field() {
    let params = |augment: bool| -> TrainParams {
        serde_json::from_value(serde_json::json!({"input": "features", "cohort": "cohort", "folds": "folds", "train": {"augment": augment, "rotate": true}})).unwrap()
    };
    let errors = DensenetTrain::validate(&params(false));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, ["train", "rotate"]);
    assert!(DensenetTrain::validate(&params(true)).is_empty());
}
