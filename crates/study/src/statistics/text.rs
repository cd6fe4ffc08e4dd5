//! The statistics as tables a person reads (`dag stats` without `--json`, the tasks' logs).

use super::cv::Estimate;
use super::report::{show, show_estimate, CrossValidated, Fitted, Kang, Named, Report};
use super::table::Table;
use super::{subgroups, Config};
use crate::survival::cox::Ties;

/// The same results as a table a person can read.
pub fn render_text(v: &Report, table: &Table, cfg: &Config) -> String {
    let mut out = format!("{}: n = {}, events = {}\n\n", table.file.display(), v.n, v.events);
    for (model, m) in [("baseline", Fitted::Fitted(&v.cox.baseline)), ("combined", v.cox.combined.as_ref())] {
        let m = match m {
            Fitted::NotEstimable { not_estimable } => {
                out.push_str(&format!("Cox {model}: not fitted: {not_estimable}\n\n"));
                continue;
            }
            Fitted::Fitted(m) => m,
        };
        out.push_str(&format!("Cox {model} ({}): log-likelihood", match cfg.ties { Ties::Breslow => "Breslow", Ties::Efron => "Efron" }));
        out.push_str(&format!(" {}, concordance {}\n", show(m.loglik), show(m.concordance)));
        out.push_str("  covariate        coef       se     HR  95% CI\n");
        // An ill-conditioned fit's non-finite numbers print as NaN here (its JSON holds null,
        // having no NaN) instead of stopping the report.
        let finite = |x: f64| if x.is_finite() { x } else { f64::NAN };
        for (name, &coef) in m.coef.iter() {
            let (b, se) = (finite(coef), m.se.get(name).copied().map_or(f64::NAN, finite));
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
    for (name, s) in v.scores.iter() {
        out.push_str(&format!("{name:<12} {:>9} {:>7}", show(s.harrell_c), show(s.uno_c)));
        for h in &cfg.horizons {
            out.push_str(&format!(" {:>14}", show_estimate(s.auc.get(h.trim()))));
        }
        out.push('\n');
    }
    for (name, s) in v.scores.iter() {
        if let Some(Some(ci)) = &s.harrell_c_ci95 {
            out.push_str(&format!("{name:<12} Harrell C 95% bootstrap interval {}–{} ({} replicates, seed {})\n", show(ci.lower), show(ci.upper), ci.replicates, cfg.seed));
        }
    }
    out.push('\n');
    out.push_str(&kang_lines("", &v.kang));
    if v.constant_score {
        out.push_str(&format!("`{}` is the same for every patient: it ranks nobody (C 0.5), and the combined model is not fitted.\n", cfg.score));
    }
    if let Some(cv) = &v.cross_validated {
        out.push('\n');
        out.push_str(&render_cv(cv, cfg));
    }
    if let Some(by) = &v.by {
        out.push('\n');
        out.push_str(&subgroups::render(by, &cfg.horizons));
    }
    for (name, s) in v.scores.iter() {
        for (h, a) in s.auc.iter() {
            if let Estimate::NotEstimable { not_estimable } = a {
                out.push_str(&format!("AUC({h}) of {name} not estimable: {not_estimable}\n"));
            }
        }
    }
    out
}

fn kang_lines(prefix: &str, kangs: &Named<Fitted<Kang>>) -> String {
    let mut out = String::new();
    for (name, k) in kangs.iter() {
        match k {
            Fitted::NotEstimable { not_estimable } => out.push_str(&format!("{prefix}Kang test {name}: not estimable: {not_estimable}\n")),
            Fitted::Fitted(k) => out.push_str(&format!("{prefix}Kang test {name}: C {} vs {}, ΔC {}, z {}, p {}\n", show(k.c[0]), show(k.c[1]), show(k.delta_c), show(k.z), show(k.p))),
        }
    }
    out
}

/// The per-fold table, mean ± sd, and the cross-validated Cox models.
fn render_cv(cv: &CrossValidated, cfg: &Config) -> String {
    let ms = |x: Option<&super::cv::MeanSd>| x.map_or_else(|| "—".to_owned(), |x| format!("{} ± {}", show(x.mean), show(x.sd)));
    let mut out = format!("Per held-out fold ({}; AUC censoring from the fold's training patients):\n  fold    n  events  Harrell C", cfg.score);
    for h in &cfg.horizons {
        out.push_str(&format!(" {:>14}", format!("AUC({})", h.trim())));
    }
    out.push('\n');
    for r in &cv.per_fold {
        out.push_str(&format!("  {:>4} {:>4} {:>7}  {:>9}", r.fold, r.n, r.events, show_estimate(Some(&r.harrell_c))));
        for h in &cfg.horizons {
            out.push_str(&format!(" {:>14}", show_estimate(r.auc.get(h.trim()))));
        }
        out.push('\n');
    }
    let m = &cv.mean_sd;
    out.push_str(&format!("  mean ± sd: Harrell C {}", ms(m.harrell_c.as_ref())));
    for h in &cfg.horizons {
        out.push_str(&format!(", AUC({}) {}", h.trim(), ms(m.auc.get(h.trim()).and_then(Option::as_ref))));
    }
    out.push_str("\nCox models cross-validated (fitted without each fold, applied to it; pooled out-of-fold):\n");
    for (name, s) in cv.cox.iter() {
        out.push_str(&format!("  {name:<9} Harrell C {}", show(s.stats.harrell_c)));
        for h in &cfg.horizons {
            out.push_str(&format!(", AUC({}) {}", h.trim(), show_estimate(s.stats.auc.get(h.trim()))));
        }
        out.push('\n');
    }
    out.push_str(&kang_lines("  ", &cv.kang));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fit that gave NaN or infinity: its JSON holds null, its text says NaN.
    #[test]
    fn a_non_finite_coefficient_prints_as_nan() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.csv");
        std::fs::write(&file, "time_days,event,s\n1,1,0.5\n").unwrap();
        let table = Table::read(&file).unwrap();
        let cfg = Config { score: "s".into(), horizons: Vec::new(), ..Config::default() };
        let nan = f64::NAN;
        let v = Report {
            n: 1,
            events: 1,
            tied_times: 0,
            tied_scores: 0,
            cox: super::super::report::Models {
                baseline: super::super::report::Cox { coef: Named(vec![("HR".into(), nan)]), se: Named(vec![("HR".into(), f64::INFINITY)]), loglik: nan, concordance: nan },
                combined: Fitted::NotEstimable { not_estimable: "too few events".into() },
            },
            scores: Named(vec![("s".into(), super::super::report::ScoreStats { harrell_c: nan, uno_c: nan, auc: Named::default(), harrell_c_ci95: None, constant: false })]),
            kang: Named::default(),
            constant_score: false,
            by: None,
            cross_validated: None,
        };
        // As stats.json holds it: null for each non-finite number.
        let json = serde_json::to_value(&v).unwrap();
        assert!(json["cox"]["baseline"]["coef"]["HR"].is_null() && json["cox"]["baseline"]["se"]["HR"].is_null(), "{json}");
        let text = render_text(&v, &table, &cfg);
        assert!(text.contains("HR") && text.contains("NaN"), "{text}");
        assert!(text.contains("Cox combined: not fitted: too few events"), "{text}");
    }
}
