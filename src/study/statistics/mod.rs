//! The study's statistics on a cohort table: a Cox baseline on clinical covariates, the
//! baseline plus a risk score, their C-indices and time-dependent AUCs, and the Kang test of
//! each against the baseline. Used by `dag stats` and by the `survival_stats` task.

mod subgroups;
pub mod table;
pub mod task;

use crate::study::survival::bootstrap::percentile_interval;
use crate::study::survival::cox::{fit, linear_predictor, CoxFit, Ties};
use crate::study::survival::harrell::harrell;
use crate::study::survival::ipcw::{cumulative_dynamic_auc, uno_c};
use crate::study::survival::kang::kang;
use crate::study::survival::{Surv, SurvivalError};
use serde_json::{json, Map, Value};
use table::{Table, TableError};

/// What to analyse. As the `survival_stats` task's parameters it also says where the table
/// is (`input` + `file`, or `table`) and where the score comes from (`scores`); the command
/// line gives the table itself.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub table: Option<std::path::PathBuf>,
    /// The score column from a needed node's table, joined on `key` (default `patient_id`).
    #[serde(default)]
    pub scores: Option<ScoresFrom>,
    pub time: String,
    pub event: String,
    pub score: String,
    #[serde(default)]
    pub covariates: Vec<String>,
    /// Horizons in the time unit, as written (they key the JSON output).
    #[serde(default)]
    pub horizons: Vec<String>,
    /// Bootstrap replicates for percentile intervals of the C-indices (0: none).
    #[serde(default)]
    pub bootstrap: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Tie handling of the Cox models: Efron (default, as lifelines and R) or Breslow.
    #[serde(default)]
    pub breslow: bool,
    /// A column (e.g. `tumor_subtype`) to report the C-indices and AUCs within each value of.
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresFrom {
    pub input: String,
    pub file: String,
    #[serde(default = "default_key")]
    pub key: String,
}

fn default_key() -> String {
    "patient_id".into()
}

fn default_seed() -> u64 {
    20260
}

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("{0}")]
    Table(#[from] TableError),
    #[error("{file}: {what}: {source}")]
    Stat { file: String, what: String, source: SurvivalError },
    #[error("{0}")]
    Usage(String),
}

fn tied(v: &[f64]) -> usize {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.windows(2).filter(|w| w[0] == w[1]).count()
}

pub fn analyse(table: &Table, cfg: &Config) -> Result<Value, StatsError> {
    let horizons: Vec<(String, f64)> = cfg
        .horizons
        .iter()
        .map(|h| h.trim().parse::<f64>().map(|v| (h.trim().to_owned(), v)).map_err(|_| StatsError::Usage(format!("horizon `{h}` is not a number"))))
        .collect::<Result<_, _>>()?;
    let time = table.times(&cfg.time)?;
    let event = table.events(&cfg.event)?;
    let score = table.numbers(&cfg.score)?;
    let covs: Vec<Vec<f64>> = cfg.covariates.iter().map(|c| table.numbers(c)).collect::<Result<_, _>>()?;
    let file = table.file.display().to_string();
    let stat = |what: String| {
        let file = file.clone();
        move |source: SurvivalError| StatsError::Stat { file, what, source }
    };
    let surv = Surv::new(time.clone(), event).map_err(stat("times".into()))?;
    if surv.len() < 4 {
        return Err(StatsError::Stat {
            file: table.file.display().to_string(),
            what: "the cohort".into(),
            source: SurvivalError::Invalid(format!("the Kang test needs at least 4 subjects, got {}", surv.len())),
        });
    }
    if surv.events() == 0 {
        return Err(StatsError::Stat {
            file: table.file.display().to_string(),
            what: format!("column `{}`", cfg.event),
            source: SurvivalError::NotEstimable("no events (no row has 1)".into()),
        });
    }
    if cfg.covariates.is_empty() {
        return Err(StatsError::Usage("give the baseline's clinical covariates (e.g. --covariates HR,HER2)".into()));
    }
    let ties = if cfg.breslow { Ties::Breslow } else { Ties::Efron };
    let base = fit(&surv, &cfg.covariates, &covs, ties).map_err(stat("Cox baseline".into()))?;
    let mut comb_names = cfg.covariates.clone();
    comb_names.push(cfg.score.clone());
    let mut comb_cols = covs.clone();
    comb_cols.push(score.clone());
    let comb = fit(&surv, &comb_names, &comb_cols, ties).map_err(stat("Cox combined".into()))?;
    let lp_base = linear_predictor(&base.coef, &covs);
    let lp_comb = linear_predictor(&comb.coef, &comb_cols);
    let named = [(cfg.score.clone(), &score), ("baseline".to_owned(), &lp_base), ("combined".to_owned(), &lp_comb)];
    let mut scores = Map::new();
    for (name, s) in &named {
        let h = harrell(&surv, s).map_err(stat(format!("Harrell's C of {name}")))?;
        let u = uno_c(&surv, &surv, s, None).map_err(stat(format!("Uno's C of {name}")))?;
        let auc = aucs(&surv, s, &horizons);
        let mut entry = json!({ "harrell_c": h.c, "uno_c": u.c, "auc": auc });
        if cfg.bootstrap > 0 {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let ci = percentile_interval(surv.len(), cfg.bootstrap, 0.95, cfg.seed, threads, |idx| {
                let sub = surv.subset(idx);
                let sc: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
                harrell(&sub, &sc).ok().map(|c| c.c)
            });
            entry["harrell_c_ci95"] = json!(ci);
        }
        scores.insert(name.clone(), entry);
    }
    let mut kangs = Map::new();
    for (key, a) in [(format!("{}_vs_baseline", cfg.score), &score), ("combined_vs_baseline".to_owned(), &lp_comb)] {
        let k = kang(&surv, a, &lp_base).map_err(stat(format!("Kang test {key}")))?;
        kangs.insert(key, json!({ "c": k.c, "delta_c": k.delta_c, "var": k.var, "z": k.z, "p": k.p }));
    }
    let mut v = json!({
        "n": surv.len(),
        "events": surv.events(),
        "tied_times": tied(&time),
        "tied_scores": tied(&score),
        "cox": { "baseline": cox_json(&base), "combined": cox_json(&comb) },
        "scores": scores,
        "kang": kangs,
    });
    if let Some(column) = &cfg.by {
        let named: Vec<(String, &Vec<f64>)> = named.iter().map(|(n, s)| (n.clone(), *s)).collect();
        v["by"] = subgroups::by_group(column, &table.strings(column)?, &surv, &named, &horizons);
    }
    Ok(v)
}

/// The cumulative/dynamic AUC at each horizon, keyed as written; where it cannot be
/// estimated, `{"not_estimable": why}`.
fn aucs(surv: &Surv, score: &[f64], horizons: &[(String, f64)]) -> Map<String, Value> {
    horizons
        .iter()
        .map(|(key, h)| {
            let v = match cumulative_dynamic_auc(surv, surv, score, *h) {
                Ok(v) => json!(v),
                Err(e) => json!({ "not_estimable": e.to_string().trim_start_matches("not estimable: ").to_owned() }),
            };
            (key.clone(), v)
        })
        .collect()
}

fn cox_json(f: &CoxFit) -> Value {
    let by_name = |v: &[f64]| -> Map<String, Value> { f.names.iter().cloned().zip(v.iter().map(|x| json!(x))).collect() };
    json!({ "coef": by_name(&f.coef), "se": by_name(&f.se), "loglik": f.loglik, "concordance": f.concordance })
}

/// The same results as a table a person can read.
pub fn render_text(v: &Value, table: &Table, cfg: &Config) -> String {
    let f = |x: &Value| x.as_f64().map_or_else(|| "—".to_owned(), |x| format!("{x:.4}"));
    let mut out = format!("{}: n = {}, events = {}\n\n", table.file.display(), v["n"], v["events"]);
    for model in ["baseline", "combined"] {
        let m = &v["cox"][model];
        out.push_str(&format!("Cox {model} ({}): log-likelihood", if cfg.breslow { "Breslow" } else { "Efron" }));
        out.push_str(&format!(" {}, concordance {}\n", f(&m["loglik"]), f(&m["concordance"])));
        out.push_str("  covariate        coef       se     HR  95% CI\n");
        for (name, coef) in m["coef"].as_object().unwrap() {
            let (b, se) = (coef.as_f64().unwrap(), m["se"][name].as_f64().unwrap());
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
    for (name, s) in v["scores"].as_object().unwrap() {
        out.push_str(&format!("{name:<12} {:>9} {:>7}", f(&s["harrell_c"]), f(&s["uno_c"])));
        for h in &cfg.horizons {
            out.push_str(&format!(" {:>14}", f(&s["auc"][h.trim()])));
        }
        out.push('\n');
    }
    for (name, s) in v["scores"].as_object().unwrap() {
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
    for (name, k) in v["kang"].as_object().unwrap() {
        out.push_str(&format!(
            "Kang test {name}: C {} vs {}, ΔC {}, z {}, p {}\n",
            f(&k["c"][0]),
            f(&k["c"][1]),
            f(&k["delta_c"]),
            f(&k["z"]),
            f(&k["p"])
        ));
    }
    if v.get("by").is_some() {
        out.push('\n');
        out.push_str(&subgroups::render(&v["by"], &cfg.horizons));
    }
    for (name, s) in v["scores"].as_object().unwrap() {
        for (h, a) in s["auc"].as_object().unwrap() {
            if let Some(why) = a.get("not_estimable") {
                out.push_str(&format!("AUC({h}) of {name} not estimable: {}\n", why.as_str().unwrap_or("")));
            }
        }
    }
    out
}
