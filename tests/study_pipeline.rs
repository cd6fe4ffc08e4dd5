//! The study pipeline end to end on a small synthetic cohort: dataset → cohort → N4 → crop →
//! prefix features → five training folds → out-of-fold scores → statistics → report, and only
//! what a change touches reruns.

mod common;
use common::{ids, Project};

#[test]
fn the_study_runs_end_to_end_and_reruns_only_what_a_change_touches() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/study.yaml");
    std::fs::copy(&spec, p.path("p.yaml")).unwrap();
    let args = ["--set", "patients=60", "--set", "epochs=3"];
    let r = p.run(&[&args[..], &["--set", "bootstrap=20"]].concat());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let ran = r.ran();
    let per_patient = |node: &str| ran.iter().filter(|i| i.starts_with(&format!("{node}["))).count();
    assert_eq!((per_patient("n4"), per_patient("resample"), per_patient("crop"), per_patient("features"), per_patient("radiomics")), (60, 60, 60, 60, 60), "per kept patient: N4, resampling, crop, prefix features, radiomics");
    assert_eq!(per_patient("train"), 5, "one training node per fold");
    // The folds train in a libtorch worker process: the trace counts what it used (it holds
    // libtorch, over 100 MB, where the task's own thread in `dag` grows by little).
    let trace = p.dag(&["trace", "--json"]);
    let train: Vec<serde_json::Value> = trace.stdout.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).filter(|r| r["node"] == "train").collect();
    assert_eq!(train.len(), 5, "{}", trace.stdout);
    for r in &train {
        assert!(r["cpu_s"].as_f64().unwrap() > 0.0 && r["peak_rss_mb"].as_f64().unwrap() > 100.0, "{r}");
    }
    let rest: Vec<String> = ran.iter().filter(|i| !i.contains('[')).cloned().collect();
    assert_eq!(rest, ids(&["cohort", "dataset", "folds", "logistic", "radiomics_model", "radiomics_stats", "report", "scores", "statistics", "truth"]));
    let npy = std::fs::read(p.path("results/crop").read_dir().unwrap().next().unwrap().unwrap().path().join("crop.npy")).unwrap();
    assert_eq!(npy.len(), 128 + 3 * 224 * 224 * 4);
    let report = p.read("results/report/report.txt");
    assert!(report.contains("WARNING: no ImageNet weights were given"), "{report}");
    assert!(report.contains("Trained on the CPU.\n"), "{report}");
    assert!(report.contains("DenseNet121 (out-of-fold) — mean ± sd across folds: C ") && report.contains("Cox HR + HER2 → + score, cross-validated: "), "{report}");
    assert!(report.trim_end().ends_with("Full report: results/report/report.html"), "{report}");
    // The radiomics baseline: its out-of-fold C, and tested against the network's score.
    assert!(report.contains("Radiomics: L2 logistic regression on PyRadiomics' 107 features: C ") && report.contains("against the DenseNet121 score (Kang test"), "{report}");
    let radiomics: serde_json::Value = serde_json::from_str(&p.read("results/radiomics_stats/stats.json")).unwrap();
    assert!(radiomics["kang"]["radiomics_score_vs_dl_score"]["p"].is_number(), "{radiomics}");
    assert_eq!(radiomics["cross_validated"]["per_fold"].as_array().unwrap().len(), 5);
    // The report's numbers for scripts: the network's held-out folds and both Cox comparisons.
    let summary: serde_json::Value = serde_json::from_str(&p.read("results/report/summary.json")).unwrap();
    let folds = summary["per_fold"].as_array().unwrap();
    assert_eq!(folds.len(), 5);
    assert_eq!(folds.iter().map(|f| f["n"].as_u64().unwrap()).sum::<u64>(), 60);
    for f in folds {
        for key in ["fold", "n", "events", "harrell_c"] {
            assert!(f.get(key).is_some(), "{key} in {f}");
        }
        assert!(f["auc"].get("1095.75").is_some() && f["auc"].get("1826.25").is_some(), "{f}");
    }
    assert!(summary["mean_sd"]["harrell_c"]["mean"].is_number() && summary["mean_sd"]["auc"]["1826.25"].is_object());
    for way in ["in_sample", "cross_validated"] {
        let c = &summary["cox"][way];
        assert!(c["baseline_c"].is_number() && c["combined_c"].is_number() && c["kang"]["p"].is_number(), "{way}: {c}");
    }
    assert_eq!(summary["paper"]["cox"]["combined_c"], 0.71);
    assert_eq!(summary["trained_from_scratch"], true);
    let html = p.read("results/report/report.html");
    assert!(html.contains("Excluded patients (35)") && html.contains("days_to_recurrence is unknown"), "the report lists who was left out");
    assert!(html.contains("Trained from scratch") && html.contains("Beside the paper"));
    // Every kept patient has exactly one out-of-fold score, from the fold that held it out.
    let scores = p.read("results/scores/scores.csv");
    let mut ids_seen: Vec<&str> = scores.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    ids_seen.dedup();
    assert_eq!(ids_seen.len(), 60);
    let folds = p.read("results/folds/folds.csv");
    for line in scores.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert!(folds.contains(&format!("{},{}\n", f[0], f[1])), "{line} is scored by the fold that held it out");
    }
    assert!(report.contains("Excluded patients: 35"), "{report}");
    let stats: serde_json::Value = serde_json::from_str(&p.read("results/truth/stats.json")).unwrap();
    assert_eq!(stats["n"], 60);
    let truth: serde_json::Value = serde_json::from_str(&p.read("results/dataset/ground_truth.json")).unwrap();
    // The statistics see exactly the truth's C-index for the true imaging term.
    let c = stats["scores"]["imaging_term"]["harrell_c"].as_f64().unwrap();
    assert!((c - truth["true_imaging_term"]["harrell_c"].as_f64().unwrap()).abs() < 1e-12);
    let again = p.run(&[&args[..], &["--set", "bootstrap=30"]].concat());
    assert_eq!(again.ran(), ids(&["logistic", "radiomics_stats", "report", "statistics", "truth"]));
    // More epochs retrain the folds, not the per-patient stages.
    let longer = p.run(&["--set", "patients=60", "--set", "epochs=4", "--set", "bootstrap=30"]);
    let trained: Vec<String> = longer.ran().into_iter().filter(|i| i.contains('[')).collect();
    assert_eq!(trained, ids(&["train[0]", "train[1]", "train[2]", "train[3]", "train[4]"]));
    // A wider crop margin reruns the crops and everything downstream of them, not N4, the data,
    // the folds or the true term's statistics.
    let wider = p.run(&["--set", "patients=60", "--set", "epochs=4", "--set", "bootstrap=30", "--set", "margin_mm=12"]);
    assert_eq!(wider.ran().len(), 60 + 60 + 5 + 5, "{:?}", wider.ran());
    assert!(!wider.ran().iter().any(|i| i.starts_with("n4[") || i.starts_with("resample[") || i.starts_with("radiomics[") || i == "radiomics_model" || i == "truth" || i == "folds"));
    // Another bin width reruns the radiomics and what follows from them only.
    let binned = p.run(&["--set", "patients=60", "--set", "epochs=4", "--set", "bootstrap=30", "--set", "margin_mm=12", "--set", "bin_width=50"]);
    assert_eq!(binned.code, 0, "{}{}", binned.stdout, binned.stderr);
    let mut expected: Vec<String> = binned.ran().iter().filter(|i| i.starts_with("radiomics[")).cloned().collect();
    assert_eq!(expected.len(), 60);
    expected.extend(ids(&["radiomics_model", "radiomics_stats", "report"]));
    expected.sort();
    let mut got = binned.ran();
    got.sort();
    assert_eq!(got, expected);
    // Three tumour slices per patient: resampling keeps them (its fields from N4 as they
    // were), the crop and the prefix make one row per slice, and the folds train on them.
    let three = p.run(&["--set", "patients=60", "--set", "epochs=4", "--set", "bootstrap=30", "--set", "margin_mm=12", "--set", "slices=3"]);
    assert_eq!(three.code, 0, "{}{}", three.stdout, three.stderr);
    assert!(!three.ran().iter().any(|i| i.starts_with("n4[")), "{:?}", three.ran());
    assert_eq!(three.ran().iter().filter(|i| i.starts_with("features[")).count(), 60);
    let features = p.path("results/features").read_dir().unwrap().next().unwrap().unwrap().path();
    let header = String::from_utf8_lossy(&std::fs::read(features.join("slices.npy")).unwrap()[..128]).into_owned();
    assert!(header.replace(' ', "").contains("'shape':(3,832,7,7"), "{header}");
    let training: serde_json::Value = serde_json::from_str(&p.read("results/scores/training.json")).unwrap();
    let slices: u64 = training.as_array().unwrap().iter().map(|f| f["slices"]["test"].as_u64().unwrap()).sum();
    assert!(slices > 150 && slices <= 180, "about three slices for each of the 60 held-out patients: {slices}");
    assert_eq!(p.read("results/scores/scores.csv").lines().count(), 61, "still one score per patient");
}

/// A patient whose image is damaged fails its N4 node; with --keep-going the folds train
/// without that patient (their `partial` gather) and the training table names who was dropped.
#[test]
fn a_patient_whose_preprocessing_fails_is_dropped_and_listed() {
    let p = Project::new(
        r#"
name: dropped
sets:
  patient: {from: cohort, file: patients.txt}
  fold: {range: 2}
nodes:
  cohort: {task: mamamia_cohort, with: {dataset: data}}
  n4:
    foreach: patient
    needs: cohort
    task: n4
    with: {dataset: data, patient: "{patient}", corrected: true}
  crop:
    foreach: patient
    needs: n4
    task: tumour_crop
    with: {input: n4, patient: "{patient}", size: 32}
  features:
    foreach: patient
    needs: crop
    task: densenet_features
    with: {input: crop}
  folds: {needs: cohort, task: cv_folds, with: {input: cohort, folds: 2}}
  train:
    foreach: fold
    needs: [features, cohort, folds]
    partial: [features]
    task: densenet_train
    with: {input: features, cohort: cohort, folds: folds, train: {epochs: 2, batch_size: 8}}
  scores: {needs: [train, cohort], task: oof_scores, with: {input: train, cohort: cohort}}
"#,
    );
    let synth = p.dag(&["synth", "--out", "data", "--patients", "24", "--unknown", "0", "--seed", "3"]);
    assert_eq!(synth.code, 0, "{}", synth.stderr);
    let r = p.run(&["-k", "--cpus", "2"]);
    let first = p.read("results/cohort/patients.txt").lines().next().unwrap().to_owned();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Truncate the pre-contrast image of the first patient the cohort keeps.
    let image = std::fs::read_dir(p.path(&format!("data/images/{first}"))).unwrap().map(|e| e.unwrap().path()).find(|f| f.to_string_lossy().ends_with("_0000.nii.gz")).unwrap();
    let bytes = std::fs::read(&image).unwrap();
    std::fs::write(&image, &bytes[..bytes.len() / 2]).unwrap();
    let r = p.run(&["-k", "--cpus", "2"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains(&format!("FAILED n4[{first}]")), "{}", r.stdout);
    assert!(r.ran().contains(&"train[0]".to_string()) && r.ran().contains(&"scores".to_string()), "{:?}", r.ran());
    let table = p.read("results/scores/training.txt");
    assert!(table.contains(&format!("Dropped: 1 patients whose per-patient preprocessing failed (see `dag`'s failures and cache/logs): {first}")), "{table}");
    let scored = p.read("results/scores/scored_cohort.csv");
    assert_eq!(scored.lines().count(), 1 + 23, "every other patient is scored once");
    assert!(!scored.contains(&first));
}

#[test]
fn a_cohort_read_from_a_folder_reruns_when_an_image_file_appears_or_goes() {
    let p = Project::new("name: real\nnodes:\n  cohort:\n    task: mamamia_cohort\n    with: {dataset: data, phases: [0, 1]}\n");
    let r = p.dag(&["synth", "--out", "data", "--patients", "6", "--unknown", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run = || {
        let r = p.run(&[]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        (r.ran(), p.read("results/cohort/patients.txt").lines().count())
    };
    assert_eq!(run(), (ids(&["cohort"]), 6));
    assert_eq!(run(), (vec![], 6), "nothing changed");
    // A kept patient's mask goes: the cohort reruns and excludes that patient.
    let first = p.read("results/cohort/patients.txt").lines().next().unwrap().to_owned();
    let mask = p.path(&format!("data/segmentations/expert/{first}.nii.gz"));
    let away = p.path("mask.nii.gz");
    std::fs::rename(&mask, &away).unwrap();
    assert_eq!(run(), (ids(&["cohort"]), 5));
    assert!(p.read("results/cohort/excluded.csv").contains("no expert segmentation"));
    // It comes back: the inputs are those of the first run again, so is its stored cohort.
    std::fs::rename(&away, &mask).unwrap();
    assert_eq!(run(), (vec![], 6));
    // A phase the cohort does not use changes nothing.
    let unused = std::fs::read_dir(p.path(&format!("data/images/{first}"))).unwrap().flatten().find(|e| e.file_name().to_string_lossy().contains("_0002")).unwrap().path();
    std::fs::remove_file(unused).unwrap();
    assert_eq!(run(), (vec![], 6));
}

#[test]
fn the_real_data_pipeline_runs_on_a_folder_in_the_mamamia_layout() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mamamia.yaml");
    std::fs::copy(&spec, p.path("p.yaml")).unwrap();
    assert_eq!(p.dag(&["synth", "--out", "data", "--patients", "30", "--unknown", "2"]).code, 0);
    let args = ["--set", "data=data", "--set", "epochs=1", "--set", "bootstrap=10"];
    let r = p.run(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.ran().iter().filter(|i| i.starts_with("n4[")).count(), 30);
    let report = p.read("results/report/report.txt");
    assert!(report.contains("MAMA-MIA at data") && report.contains("Excluded patients: 2"), "{report}");
    assert_eq!(p.run(&args).ran(), Vec::<String>::new(), "a second run is a no-op");
}

/// A value of the right type but outside what a task can use (a 10 meant as 10%, a batch of
/// 0) fails when the pipeline is checked, pointed at where it is written, before anything runs.
#[test]
fn out_of_range_parameters_fail_before_anything_runs() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/study.yaml");
    // A literal in the node (the study's own batch size comes from its params).
    let text = std::fs::read_to_string(spec).unwrap().replace(r#"batch_size: "{params.batch_size}""#, "batch_size: 0");
    let line_of = |needle: &str| 1 + text.lines().position(|l| l.contains(needle)).unwrap();
    // The error points at the key, in the first line that has it (the train node's).
    let column_of = |needle: &str| 1 + text.lines().find_map(|l| l.find(needle)).unwrap();
    p.write("p.yaml", &text);
    let r = p.run(&["--set", "unfreeze_fraction=10", "--set", "patients=5"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let features = line_of("task: densenet_features") + 1;
    for expected in [
        format!("p.yaml:{features}:48: error: node `features`: parameters of task `densenet_features`: `unfreeze_fraction`: must be a share (0 < x ≤ 1), found 10"),
        "= help: the value comes from `params.unfreeze_fraction`: change it there or with `--set unfreeze_fraction=…`".to_owned(),
        format!("p.yaml:{}:{}: error: node `train`: parameters of task `densenet_train`: `train.batch_size`: must be at least 1, found 0", line_of("batch_size: 0"), column_of("batch_size: 0")),
    ] {
        assert!(r.stderr.contains(&expected), "missing `{expected}` in:\n{}", r.stderr);
    }
    assert!(r.ran().is_empty() && !p.path("cache/out").exists(), "nothing ran: {}", r.stdout);
}

/// A per-patient task reads its dataset from a needed node (`input`) or a folder (`dataset`):
/// both, or neither, is refused by `dag check`, pointing at the node, before anything runs.
#[test]
fn a_dataset_source_given_twice_or_not_at_all_is_refused_at_checking() {
    let p = Project::new(
        "name: src\nnodes:\n  data: {task: synth_dataset, with: {patients: 4}}\n  crop:\n    needs: data\n    task: tumour_crop\n    with: {input: data, dataset: /somewhere, patient: DUKE_001}\n  cohort: {task: mamamia_cohort}\n",
    );
    let r = p.dag(&["check", "p.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("p.yaml:4:3: error: node `crop`: parameters of task `tumour_crop`: give either `input` (a needed node) or `dataset` (a folder)"), "{}", r.stderr);
    assert!(r.stderr.contains("node `cohort`: parameters of task `mamamia_cohort`: give either `input`"), "{}", r.stderr);
}

/// Twenty patients hold six recurrences: without one fold, three are left, and a combined Cox
/// model on HR, HER2 and a score has no finite fit there (HR alone ranks them). The run still
/// completes; the report says which model was not fitted and why, below its table.
#[test]
fn a_cohort_too_small_for_the_combined_model_still_reports_and_says_why() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/study.yaml");
    std::fs::copy(&spec, p.path("p.yaml")).unwrap();
    let r = p.run(&["--set", "patients=20", "--set", "epochs=3", "--set", "bootstrap=20"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let truth: serde_json::Value = serde_json::from_str(&p.read("results/truth/stats.json")).unwrap();
    let why = truth["cross_validated"]["kang"]["combined_vs_baseline"]["not_estimable"].as_str().unwrap_or_default();
    assert!(why.starts_with("without fold ") && why.contains("no finite maximum"), "{truth}");
    assert!(truth["cross_validated"]["cox"]["baseline"]["harrell_c"].is_number());
    let html = p.read("results/report/report.html");
    assert!(html.contains("not fitted (1)") && html.contains("<p class=\"note\">(1) This run, "), "the reason goes below the table");
}

/// `views` caches the prefix features of augmented views of each crop (the crop itself first),
/// the training patients learn from them, and the report says so; the probe's scores are
/// those of the crops alone, as without views.
#[test]
fn augmented_views_train_the_network_and_the_report_says_so() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/study.yaml");
    std::fs::copy(&spec, p.path("p.yaml")).unwrap();
    let common = ["--set", "patients=30", "--set", "epochs=2", "--set", "bootstrap=20"];
    let r = p.run(&[&common[..], &["--set", "views=3"]].concat());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let fold: serde_json::Value = serde_json::from_str(&p.read("results/train/0/summary.json")).unwrap();
    let n = fold["n_train"].as_u64().unwrap();
    assert_eq!(fold["views"]["train"].as_u64(), Some(3 * n), "{fold}");
    let html = p.read("results/report/report.html");
    assert!(html.contains("one of 3 views of each training crop"), "the report names the views");
    let viewed = p.read("results/scores/scored_cohort.csv");
    let r = p.run(&[&common[..], &["--results", "plain"]].concat());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let plain = p.read("plain/scores/scored_cohort.csv");
    let column = |csv: &str, name: &str| -> Vec<String> {
        let mut lines = csv.lines();
        let k = lines.next().unwrap().split(',').position(|c| c == name).unwrap();
        lines.map(|l| l.split(',').nth(k).unwrap().to_owned()).collect()
    };
    assert_eq!(column(&viewed, "logistic_score"), column(&plain, "logistic_score"), "the probe reads the crops");
    assert_ne!(column(&viewed, "dl_score"), column(&plain, "dl_score"), "the network learnt from the views");
    // score_views: the same training, held-out patients scored over their views.
    let yaml = p.read("p.yaml").replace("ensemble: \"{params.ensemble}\"}", "ensemble: \"{params.ensemble}\", score_views: true}");
    std::fs::write(p.path("p.yaml"), yaml).unwrap();
    let r = p.run(&[&common[..], &["--set", "views=3", "--results", "tta"]].concat());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let tta = p.read("tta/scores/scored_cohort.csv");
    assert!(p.read("tta/report/report.html").contains("held-out patients are scored by the mean over their views"));
    assert_eq!(column(&tta, "logistic_score"), column(&plain, "logistic_score"));
    assert_ne!(column(&tta, "dl_score"), column(&viewed, "dl_score"));
}
