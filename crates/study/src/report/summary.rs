//! `summary.json`: the report's numbers for scripts, in the paper's terms, beside the paper's.

use super::{Model, ReportData};
use serde_json::{json, Value};

/// Bhalla et al., AACR 2026: 433 MAMA-MIA patients, 115 recurrences; mean ± sd across the
/// five folds; the Cox models fitted on the whole cohort with the out-of-fold score.
pub fn paper() -> Value {
    json!({
        "source": "Bhalla et al., AACR 2026",
        "n": 433, "events": 115,
        "harrell_c": { "mean": 0.67, "sd": 0.03 },
        "auc": { "1095.75": { "mean": 0.69, "sd": 0.04 }, "1826.25": { "mean": 0.67, "sd": 0.10 } },
        "cox": { "baseline_c": 0.64, "combined_c": 0.71, "kang_p": 0.007, "fitted": "in_sample" },
    })
}

/// Baseline and combined C with the Kang test, from one way of fitting the Cox models.
fn cox_way(models: &Value, kang: &Value, fitted: &str) -> Value {
    let k = &kang["combined_vs_baseline"];
    json!({
        "fitted": fitted,
        "baseline_c": models["baseline"]["harrell_c"],
        "combined_c": models["combined"]["harrell_c"],
        "baseline_auc": models["baseline"]["auc"],
        "combined_auc": models["combined"]["auc"],
        "kang": if k.get("not_estimable").is_some() { k.clone() } else { json!({ "z": k["z"], "p": k["p"], "delta_c": k["delta_c"] }) },
    })
}

/// Both ways of the Cox comparison for one analysis.
pub fn cox(stats: &Value) -> Value {
    let in_sample_models = json!({ "baseline": stats["scores"]["baseline"], "combined": stats["scores"]["combined"] });
    let mut out = json!({ "in_sample": cox_way(&in_sample_models, &stats["kang"], "on the whole cohort, with the out-of-fold score (as the paper)") });
    if let Some(cv) = stats.get("cross_validated") {
        out["cross_validated"] = cox_way(&cv["cox"], &cv["kang"], "on each fold's training patients, applied to its held-out patients, pooled");
    }
    out
}

fn model_summary(m: &Model) -> Value {
    let s = &m.stats;
    json!({
        "label": m.label,
        "score": m.score,
        "constant": s["constant_score"] == true,
        "pooled": { "harrell_c": s["scores"][&m.score]["harrell_c"], "harrell_c_ci95": s["scores"][&m.score]["harrell_c_ci95"], "auc": s["scores"][&m.score]["auc"] },
        "per_fold": s["cross_validated"]["per_fold"],
        "mean_sd": s["cross_validated"]["mean_sd"],
        "cox": cox(s),
    })
}

pub fn build(d: &ReportData, logrank: Option<Value>) -> Value {
    let net = &d.models[0];
    let models: serde_json::Map<String, Value> = d.models.iter().map(|m| (m.key.to_owned(), model_summary(m))).collect();
    json!({
        "title": d.title,
        "dag_version": env!("CARGO_PKG_VERSION"),
        "trained_from_scratch": d.trained_from_scratch(),
        "score": net.score,
        "per_fold": net.stats["cross_validated"]["per_fold"],
        "mean_sd": net.stats["cross_validated"]["mean_sd"],
        "cox": cox(&net.stats),
        "logrank_median_split": logrank,
        "models": models,
        "paper": paper(),
        "provenance": d.provenance(),
    })
}
