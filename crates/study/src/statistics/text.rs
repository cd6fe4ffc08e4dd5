//! The statistics as tables a person reads (`dag stats` without `--json`, the tasks' logs).

use super::table::Table;
use super::{subgroups, Config};
use serde_json::Value;

/// The same results as a table a person can read.
pub fn render_text(v: &Value, table: &Table, cfg: &Config) -> String {
    let f = |x: &Value| x.as_f64().map_or_else(|| "—".to_owned(), |x| format!("{x:.4}"));
    let mut out = format!("{}: n = {}, events = {}\n\n", table.file.display(), v["n"], v["events"]);
    for model in ["baseline", "combined"] {
        let m = &v["cox"][model];
        if let Some(why) = m["not_estimable"].as_str() {
            out.push_str(&format!("Cox {model}: not fitted: {why}\n\n"));
            continue;
        }
        out.push_str(&format!("Cox {model} ({}): log-likelihood", match cfg.ties { crate::survival::cox::Ties::Breslow => "Breslow", crate::survival::cox::Ties::Efron => "Efron" }));
        out.push_str(&format!(" {}, concordance {}\n", f(&m["loglik"]), f(&m["concordance"])));
        out.push_str("  covariate        coef       se     HR  95% CI\n");
        // A non-finite number is written as null (JSON has no NaN): an ill-conditioned fit
        // prints NaN here instead of stopping the report.
        for (name, coef) in m["coef"].as_object().into_iter().flatten() {
            let (b, se) = (coef.as_f64().unwrap_or(f64::NAN), m["se"][name].as_f64().unwrap_or(f64::NAN));
            out.push_str(&format!(
                "  {name:<12} {b:>8.4} {se:>8.4} {:>6.3}  {:.3}–{:.3}\n",
                b.exp(),
                (b - 1.959964 * se).exp(),
                (b + 1.959964 * se).exp()
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!("{:<12} {:>9} {:>7}", "score", "Harrell C", "Uno C"));
    for h in &cfg.horizons {
        out.push_str(&format!(" {:>14}", format!("AUC({h})")));
    }
    out.push('\n');
    for (name, s) in v["scores"].as_object().into_iter().flatten() {
        out.push_str(&format!("{name:<12} {:>9} {:>7}", f(&s["harrell_c"]), f(&s["uno_c"])));
        for h in &cfg.horizons {
            out.push_str(&format!(" {:>14}", f(&s["auc"][h.trim()])));
        }
        out.push('\n');
    }
    for (name, s) in v["scores"].as_object().into_iter().flatten() {
        if let Some(ci) = s.get("harrell_c_ci95").filter(|c| !c.is_null()) {
            out.push_str(&format!(
                "{name:<12} Harrell C 95% bootstrap interval {}–{} ({} replicates, seed {})\n",
                f(&ci["lower"]),
                f(&ci["upper"]),
                ci["replicates"],
                cfg.seed
            ));
        }
    }
    out.push('\n');
    out.push_str(&kang_lines("", &v["kang"]));
    if v["constant_score"] == true {
        out.push_str(&format!("`{}` is the same for every patient: it ranks nobody (C 0.5), and the combined model is not fitted.\n", cfg.score));
    }
    if let Some(cv) = v.get("cross_validated") {
        out.push('\n');
        out.push_str(&render_cv(cv, cfg));
    }
    if v.get("by").is_some() {
        out.push('\n');
        out.push_str(&subgroups::render(&v["by"], &cfg.horizons));
    }
    for (name, s) in v["scores"].as_object().into_iter().flatten() {
        for (h, a) in s["auc"].as_object().into_iter().flatten() {
            if let Some(why) = a.get("not_estimable") {
                out.push_str(&format!("AUC({h}) of {name} not estimable: {}\n", why.as_str().unwrap_or("")));
            }
        }
    }
    out
}

fn kang_lines(prefix: &str, kangs: &Value) -> String {
    let f = |x: &Value| x.as_f64().map_or_else(|| "—".to_owned(), |x| format!("{x:.4}"));
    let mut out = String::new();
    for (name, k) in kangs.as_object().into_iter().flatten() {
        match k["not_estimable"].as_str() {
            Some(why) => out.push_str(&format!("{prefix}Kang test {name}: not estimable: {why}\n")),
            None => out.push_str(&format!("{prefix}Kang test {name}: C {} vs {}, ΔC {}, z {}, p {}\n", f(&k["c"][0]), f(&k["c"][1]), f(&k["delta_c"]), f(&k["z"]), f(&k["p"]))),
        }
    }
    out
}

/// The per-fold table, mean ± sd, and the cross-validated Cox models.
fn render_cv(cv: &Value, cfg: &Config) -> String {
    let f = |x: &Value| x.as_f64().map_or_else(|| "—".to_owned(), |x| format!("{x:.4}"));
    let ms = |x: &Value| if x.is_null() { "—".to_owned() } else { format!("{} ± {}", f(&x["mean"]), f(&x["sd"])) };
    let mut out = format!("Per held-out fold ({}; AUC censoring from the fold's training patients):\n  fold    n  events  Harrell C", cfg.score);
    for h in &cfg.horizons {
        out.push_str(&format!(" {:>14}", format!("AUC({})", h.trim())));
    }
    out.push('\n');
    for r in cv["per_fold"].as_array().into_iter().flatten() {
        out.push_str(&format!("  {:>4} {:>4} {:>7}  {:>9}", r["fold"], r["n"], r["events"], f(&r["harrell_c"])));
        for h in &cfg.horizons {
            out.push_str(&format!(" {:>14}", f(&r["auc"][h.trim()])));
        }
        out.push('\n');
    }
    let m = &cv["mean_sd"];
    out.push_str(&format!("  mean ± sd: Harrell C {}", ms(&m["harrell_c"])));
    for h in &cfg.horizons {
        out.push_str(&format!(", AUC({}) {}", h.trim(), ms(&m["auc"][h.trim()])));
    }
    out.push_str("\nCox models cross-validated (fitted without each fold, applied to it; pooled out-of-fold):\n");
    for (name, s) in cv["cox"].as_object().into_iter().flatten() {
        out.push_str(&format!("  {name:<9} Harrell C {}", f(&s["harrell_c"])));
        for h in &cfg.horizons {
            out.push_str(&format!(", AUC({}) {}", h.trim(), f(&s["auc"][h.trim()])));
        }
        out.push('\n');
    }
    out.push_str(&kang_lines("  ", &cv["kang"]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON holds null where a fit gave NaN or infinity: the text says NaN, it does not panic.
    #[test]
    fn a_non_finite_coefficient_prints_as_nan() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.csv");
        std::fs::write(&file, "time_days,event,s\n1,1,0.5\n").unwrap();
        let table = Table::read(&file).unwrap();
        let cfg = Config { score: "s".into(), horizons: Vec::new(), ..Config::default() };
        let v = serde_json::json!({
            "n": 1, "events": 1,
            "cox": {"baseline": {"loglik": null, "concordance": null, "coef": {"HR": null}, "se": {"HR": null}}, "combined": {"not_estimable": "too few events"}},
            "scores": {"s": {"harrell_c": null, "uno_c": null, "auc": {}}},
            "kang": null,
        });
        let text = render_text(&v, &table, &cfg);
        assert!(text.contains("HR") && text.contains("NaN"), "{text}");
        assert!(text.contains("Cox combined: not fitted: too few events"), "{text}");
    }
}
