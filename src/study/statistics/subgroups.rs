//! Results per subgroup (the paper reports them per tumour subtype): within each value of a
//! column, Harrell's C and the time-dependent AUC of the score and of the two Cox models'
//! linear predictors (fitted on the whole cohort). Small groups are reported, with the reason,
//! where a statistic cannot be estimated.

use crate::study::survival::harrell::harrell;
use crate::study::survival::Surv;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// `groups[i]` is row i's value of the column; `scores` are (name, one value per row).
pub fn by_group(column: &str, groups: &[String], surv: &Surv, scores: &[(String, &Vec<f64>)], horizons: &[(String, f64)]) -> Value {
    let mut rows: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        rows.entry(g.as_str()).or_default().push(i);
    }
    let mut out = Map::new();
    for (g, idx) in rows {
        let sub = surv.subset(&idx);
        let mut per = Map::new();
        for (name, s) in scores {
            let sc: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
            let c = match harrell(&sub, &sc) {
                Ok(c) if c.comparable > 0 => json!(c.c),
                Ok(_) => json!({ "not_estimable": "no comparable pairs" }),
                Err(e) => json!({ "not_estimable": e.to_string() }),
            };
            per.insert(name.clone(), json!({ "harrell_c": c, "auc": super::aucs(&sub, &sc, horizons) }));
        }
        out.insert(g.to_owned(), json!({ "n": sub.len(), "events": sub.events(), "scores": per }));
    }
    json!({ "column": column, "groups": out })
}

/// The per-group table of `render_text`.
pub fn render(v: &Value, horizons: &[String]) -> String {
    let f = |x: &Value| x.as_f64().map_or_else(|| "—".to_owned(), |x| format!("{x:.4}"));
    let mut out = format!("By {}:\n", v["column"].as_str().unwrap_or(""));
    out.push_str(&format!("  {:<18} {:>4} {:>6}  {:<14} {:>9}", "group", "n", "events", "score", "Harrell C"));
    for h in horizons {
        out.push_str(&format!(" {:>14}", format!("AUC({h})")));
    }
    out.push('\n');
    for (g, r) in v["groups"].as_object().into_iter().flatten() {
        for (name, s) in r["scores"].as_object().into_iter().flatten() {
            out.push_str(&format!("  {g:<18} {:>4} {:>6}  {name:<14} {:>9}", r["n"].to_string(), r["events"].to_string(), f(&s["harrell_c"])));
            for h in horizons {
                out.push_str(&format!(" {:>14}", f(&s["auc"][h.trim()])));
            }
            out.push('\n');
        }
    }
    out
}
