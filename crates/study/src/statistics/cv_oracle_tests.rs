//! The per-fold and cross-validated analysis against scikit-survival and lifelines, on a
//! cohort of our own with folds (tests/fixtures/cv: the script that made it, and its output).

use super::cv::{cross_validated_cox, mean_sd, per_fold};
use super::table::Table;
use super::{analyse, Config};
use crate::survival::cox::Ties;
use crate::survival::harrell::harrell;
use crate::survival::ipcw::{cumulative_dynamic_auc, roc_curve};
use crate::survival::kang::kang;
use crate::survival::km::logrank;
use crate::survival::Surv;
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    crate::oracles::fixtures_dir().join("cv")
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("reference.json")).unwrap()).unwrap()
}

struct Cohort {
    surv: Surv,
    fold: Vec<usize>,
    covs: Vec<Vec<f64>>,
    score: Vec<f64>,
}

fn cohort() -> Cohort {
    let t = Table::read(&dir().join("cohort.csv")).unwrap();
    Cohort {
        surv: Surv::new(t.times("time_days").unwrap(), t.events("event").unwrap()).unwrap(),
        fold: t.folds("fold").unwrap(),
        covs: vec![t.numbers("HR").unwrap(), t.numbers("HER2").unwrap()],
        score: t.numbers("score").unwrap(),
    }
}

fn close(a: f64, b: &Value, tol: f64, what: &str) {
    let b = b.as_f64().unwrap_or_else(|| panic!("{what}: no reference number"));
    assert!((a - b).abs() <= tol, "{what}: {a} vs reference {b} (|Δ| = {:e})", (a - b).abs());
}

const HORIZONS: [&str; 2] = ["1095.75", "1826.25"];

fn horizons() -> Vec<(String, f64)> {
    HORIZONS.iter().map(|h| (h.to_string(), h.parse().unwrap())).collect()
}

#[test]
fn per_fold_c_and_auc_with_training_censoring_match_scikit_survival() {
    let (c, r) = (cohort(), reference());
    let folds = per_fold(&c.surv, &c.score, &c.fold, &horizons());
    assert_eq!(folds.len(), 5);
    for (got, want) in folds.iter().zip(r["per_fold"].as_array().unwrap()) {
        assert_eq!((got.fold, got.n, got.events), (want["fold"].as_u64().unwrap() as usize, want["n"].as_u64().unwrap() as usize, want["events"].as_u64().unwrap() as usize));
        close(got.harrell_c.value().unwrap(), &want["harrell_c"], 1e-12, &format!("fold {} C", got.fold));
        for h in HORIZONS {
            close(got.auc.get(h).and_then(super::cv::Estimate::value).unwrap(), &want["auc"][h], 1e-12, &format!("fold {} AUC {h}", got.fold));
        }
        // The training patients' censoring matters: the held-out fold's own gives another AUC.
        let rows: Vec<usize> = (0..c.fold.len()).filter(|&i| c.fold[i] == got.fold).collect();
        let test = c.surv.subset(&rows);
        let own = cumulative_dynamic_auc(&test, &test, &rows.iter().map(|&i| c.score[i]).collect::<Vec<_>>(), 1826.25).unwrap();
        assert!((own - got.auc.get("1826.25").and_then(super::cv::Estimate::value).unwrap()).abs() > 1e-6, "fold {}: training censoring made no difference", got.fold);
    }
    let cs: Vec<f64> = folds.iter().map(|f| f.harrell_c.value().unwrap()).collect();
    let m = mean_sd(&cs).unwrap();
    close(m.mean, &r["mean_sd"]["harrell_c"]["mean"], 1e-12, "mean C");
    close(m.sd, &r["mean_sd"]["harrell_c"]["sd"], 1e-12, "sd C (n − 1)");
}

#[test]
fn cross_validated_cox_matches_lifelines_fold_by_fold_and_pooled() {
    let (c, r) = (cohort(), reference());
    let names = vec!["HR".to_owned(), "HER2".to_owned()];
    let cv = cross_validated_cox(&c.surv, &names, &c.covs, Some(("score", &c.score)), &c.fold, Ties::Efron).unwrap();
    let want = &r["cox_cv"];
    for (k, (f, base, comb)) in cv.coef.iter().enumerate() {
        assert_eq!(*f, k);
        // The reference ran lifelines to convergence (precision 1e-12), so both reach the maximum.
        for (j, n) in ["HR", "HER2"].iter().enumerate() {
            close(base[j], &want["baseline"]["coef_per_fold"][k][n], 1e-8, &format!("fold {k} baseline {n}"));
        }
        for (j, n) in ["HR", "HER2", "score"].iter().enumerate() {
            close(comb.as_ref().unwrap()[j], &want["combined"]["coef_per_fold"][k][n], 1e-8, &format!("fold {k} combined {n}"));
        }
    }
    let combined = cv.combined.as_ref().unwrap().as_ref().unwrap();
    for (name, lp) in [("baseline", &cv.baseline), ("combined", combined)] {
        close(harrell(&c.surv, lp).unwrap().c, &want[name]["harrell_c"], 1e-9, &format!("pooled {name} C"));
        for h in HORIZONS {
            close(cumulative_dynamic_auc(&c.surv, &c.surv, lp, h.parse().unwrap()).unwrap(), &want[name]["auc"][h], 1e-7, &format!("pooled {name} AUC {h}"));
        }
    }
    let k = kang(&c.surv, combined, &cv.baseline).unwrap();
    let wk = &want["kang_combined_vs_baseline"];
    close(k.z, &wk["z"], 1e-6, "Kang z");
    close(k.p, &wk["p"], 1e-7, "Kang p");
    // Within a fold, equal covariates give exactly equal baseline scores (no split ties).
    for (f, base, _) in &cv.coef {
        let zero: Vec<f64> = (0..c.fold.len()).filter(|&i| c.fold[i] == *f && c.covs[0][i] == 0.0 && c.covs[1][i] == 0.0).map(|i| cv.baseline[i]).collect();
        assert!(zero.iter().all(|&v| v == 0.0), "fold {f} {base:?}");
    }
}

#[test]
fn log_rank_of_the_median_split_matches_lifelines() {
    let (c, r) = (cohort(), reference());
    let want = &r["logrank_median_split"];
    let m = crate::survival::median(&c.score);
    close(m, &want["median"], 0.0, "median");
    let high: Vec<bool> = c.score.iter().map(|&s| s > m).collect();
    assert_eq!(high.iter().filter(|&&h| h).count() as u64, want["n_high"].as_u64().unwrap());
    let lr = logrank(&c.surv, &high).unwrap();
    close(lr.chi2, &want["chi2"], 1e-9, "log-rank χ²");
    close(lr.p, &want["p"], 1e-12, "log-rank p");
}

#[test]
fn the_roc_curve_runs_from_corner_to_corner_and_its_area_is_the_auc() {
    let c = cohort();
    for h in [1095.75, 1826.25] {
        let roc = roc_curve(&c.surv, &c.surv, &c.score, h).unwrap();
        assert_eq!((roc.fpr[0], roc.tpr[0]), (0.0, 0.0));
        assert!((roc.fpr.last().unwrap() - 1.0).abs() < 1e-12 && (roc.tpr.last().unwrap() - 1.0).abs() < 1e-12);
        assert!(roc.fpr.windows(2).all(|w| w[1] >= w[0]) && roc.tpr.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(roc.auc, cumulative_dynamic_auc(&c.surv, &c.surv, &c.score, h).unwrap());
    }
}

fn config(score: &str) -> Config {
    Config {
        time: "time_days".into(),
        event: "event".into(),
        score: score.into(),
        covariates: vec!["HR".into(), "HER2".into()],
        horizons: HORIZONS.map(String::from).to_vec(),
        fold: Some("fold".into()),
        ..Config::default()
    }
}

#[test]
fn analyse_reports_folds_and_both_ways_of_the_cox_comparison() {
    let t = Table::read(&dir().join("cohort.csv")).unwrap();
    let v = serde_json::to_value(analyse(&t, &config("score")).unwrap()).unwrap();
    let r = reference();
    let cv = &v["cross_validated"];
    assert_eq!(cv["per_fold"].as_array().unwrap().len(), 5);
    close(cv["mean_sd"]["auc"]["1826.25"]["mean"].as_f64().unwrap(), &r["mean_sd"]["auc"]["1826.25"]["mean"], 1e-12, "mean AUC 5 y");
    close(cv["cox"]["combined"]["harrell_c"].as_f64().unwrap(), &r["cox_cv"]["combined"]["harrell_c"], 1e-9, "cv combined C");
    close(cv["kang"]["combined_vs_baseline"]["p"].as_f64().unwrap(), &r["cox_cv"]["kang_combined_vs_baseline"]["p"], 1e-7, "cv Kang p");
    // In-sample stays as before: fitted on everyone.
    assert!(v["cox"]["combined"]["coef"]["score"].as_f64().unwrap() > 0.0);
}

/// The negative control's true term is 0 for everyone: reported as constant, no combined
/// model, and the run goes on.
#[test]
fn a_constant_score_is_reported_as_such_not_an_error() {
    let dir_ = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(dir().join("cohort.csv")).unwrap();
    let constant: String = text.lines().enumerate().map(|(i, l)| if i == 0 { format!("{l},zero\n") } else { format!("{l},0\n") }).collect();
    let path = dir_.path().join("c.csv");
    std::fs::write(&path, constant).unwrap();
    let t = Table::read(&path).unwrap();
    let report = analyse(&t, &Config { bootstrap: 20, by: Some("HR".into()), ..config("zero") }).unwrap();
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["constant_score"], true);
    assert_eq!(v["scores"]["zero"]["harrell_c"], 0.5);
    assert!(v["cox"]["combined"]["not_estimable"].as_str().unwrap().contains("same for every patient"));
    assert!(v["kang"]["combined_vs_baseline"]["not_estimable"].is_string());
    assert!(v["cross_validated"]["cox"].get("combined").is_none() && v["cross_validated"]["cox"]["baseline"]["harrell_c"].is_number());
    let text = super::render_text(&report, &t, &config("zero"));
    assert!(text.contains("Cox combined: not fitted") && text.contains("is the same for every patient"), "{text}");
}

/// A score that puts every event above its whole risk set (what a handful of events can do
/// by chance) has no finite Cox coefficient: the combined model is left out, saying why, in
/// sample and out of fold, and the baseline's statistics stand.
#[test]
fn a_separating_score_leaves_the_combined_model_out_and_says_why() {
    let dir_ = tempfile::tempdir().unwrap();
    let t = Table::read(&dir().join("cohort.csv")).unwrap();
    let (time, event) = (t.numbers("time_days").unwrap(), t.numbers("event").unwrap());
    let text = std::fs::read_to_string(dir().join("cohort.csv")).unwrap();
    let rows = text.lines().skip(1).zip(time.iter().zip(&event)).map(|(l, (t, e))| format!("{l},{}\n", if *e == 1.0 { -t } else { -1e5 }));
    let path = dir_.path().join("c.csv");
    std::fs::write(&path, format!("{},separating\n", text.lines().next().unwrap()) + &rows.collect::<String>()).unwrap();
    let t = Table::read(&path).unwrap();
    let report = analyse(&t, &Config { bootstrap: 20, ..config("separating") }).unwrap();
    let v = serde_json::to_value(&report).unwrap();
    let why = v["cox"]["combined"]["not_estimable"].as_str().unwrap();
    assert!(why.contains("no finite maximum") && why.contains("separating"), "{why}");
    assert!(v["kang"]["combined_vs_baseline"]["not_estimable"].as_str().unwrap().contains("no finite maximum"));
    let cv = &v["cross_validated"];
    assert!(cv["kang"]["combined_vs_baseline"]["not_estimable"].as_str().unwrap().starts_with("without fold "), "{cv}");
    assert!(cv["cox"].get("combined").is_none() && cv["cox"]["baseline"]["harrell_c"].is_number());
    assert_eq!(v["scores"]["separating"]["harrell_c"], 1.0);
}
