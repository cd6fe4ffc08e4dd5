//! The study pipeline end to end on a small synthetic cohort: dataset → cohort → statistics
//! → report, and only the statistics rerun when their parameter changes.

mod common;
use common::{ids, Project};

#[test]
fn the_study_runs_end_to_end_and_reruns_only_what_a_change_touches() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/study.yaml");
    std::fs::copy(&spec, p.path("p.yaml")).unwrap();
    let r = p.run(&["--set", "patients=60", "--set", "bootstrap=20"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let ran = r.ran();
    let per_patient = |node: &str| ran.iter().filter(|i| i.starts_with(&format!("{node}["))).count();
    assert_eq!((per_patient("n4"), per_patient("crop")), (60, 60), "one N4 and one crop per kept patient");
    let rest: Vec<String> = ran.iter().filter(|i| !i.contains('[')).cloned().collect();
    assert_eq!(rest, ids(&["cohort", "dataset", "report", "statistics"]));
    let npy = std::fs::read(p.path("results/crop").read_dir().unwrap().next().unwrap().unwrap().path().join("crop.npy")).unwrap();
    assert_eq!(npy.len(), 128 + 3 * 224 * 224 * 4);
    let report = p.read("results/report/report.txt");
    assert!(report.contains("Risk score: the true imaging term"), "{report}");
    assert!(report.contains("Excluded patients (35):") && report.contains("days_to_recurrence is unknown"), "{report}");
    let stats: serde_json::Value = serde_json::from_str(&p.read("results/statistics/stats.json")).unwrap();
    assert_eq!(stats["n"], 60);
    let truth: serde_json::Value = serde_json::from_str(&p.read("results/dataset/ground_truth.json")).unwrap();
    // The statistics see exactly the truth's C-index for the true imaging term.
    let c = stats["scores"]["imaging_term"]["harrell_c"].as_f64().unwrap();
    assert!((c - truth["true_imaging_term"]["harrell_c"].as_f64().unwrap()).abs() < 1e-12);
    let again = p.run(&["--set", "patients=60", "--set", "bootstrap=30"]);
    assert_eq!(again.ran(), ids(&["report", "statistics"]));
    // A wider crop margin reruns the crops (and what reads them), not N4, the data or statistics.
    let wider = p.run(&["--set", "patients=60", "--set", "bootstrap=30", "--set", "margin_mm=12"]);
    assert_eq!(wider.ran().len(), 61, "{:?}", wider.ran());
    assert!(wider.ran().contains(&"report".to_string()));
}
