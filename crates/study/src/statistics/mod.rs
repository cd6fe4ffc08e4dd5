//! The study's statistics on a cohort table: a Cox baseline on clinical covariates, the
//! baseline plus a risk score, their C-indices and time-dependent AUCs, and the Kang test of
//! each against the baseline. Used by `dag stats` and by the `survival_stats` task.

pub mod cv;
pub mod report;
mod subgroups;
pub mod table;
pub mod task;
mod text;

pub use text::render_text;

use crate::survival::bootstrap::percentile_interval;
use crate::survival::cox::{fit, linear_predictor, CoxFit, Ties};
use crate::survival::harrell::harrell;
use crate::survival::ipcw::{cumulative_dynamic_auc, uno_c};
use crate::survival::kang::kang;
use crate::survival::{Surv, SurvivalError};
use report::{Cox, CrossValidated, CvModel, FoldCoef, Fitted, Kang, Models, Named, Report, ScoreStats};
use table::{Table, TableError};

/// What to analyse: the `survival_stats` task's parameters and `dag stats`' options, one
/// struct for both (the command line's defaults are clap's, the task's serde's). As the task's
/// parameters it also says where the table is (`input` + `file`, or `table`) and where the
/// score comes from (`scores`); the command line gives the table itself.
#[derive(Clone, Debug, Default, serde::Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    #[arg(skip)]
    pub input: Option<String>,
    #[serde(default)]
    #[arg(skip)]
    pub file: Option<String>,
    #[serde(default)]
    #[arg(skip)]
    pub table: Option<std::path::PathBuf>,
    /// The score column from a needed node's table, joined on `key` (default `patient_id`).
    #[serde(default)]
    #[arg(skip)]
    pub scores: Option<ScoresFrom>,
    #[arg(long, default_value = "time_days")]
    pub time: String,
    #[arg(long, default_value = "event")]
    pub event: String,
    /// The risk score to evaluate (higher = riskier).
    #[arg(long)]
    pub score: String,
    /// The baseline's covariates, comma-separated.
    #[serde(default)]
    #[arg(long, value_delimiter = ',')]
    pub covariates: Vec<String>,
    /// Horizons for the time-dependent AUC, in the time column's unit, comma-separated (as
    /// written, they key the JSON output).
    #[serde(default)]
    #[arg(long = "horizons-days", value_delimiter = ',', default_value = "1095.75,1826.25")]
    pub horizons: Vec<String>,
    /// Bootstrap replicates for 95% percentile intervals of the C-indices (0: none).
    #[serde(default)]
    #[arg(long, default_value_t = 0)]
    pub bootstrap: usize,
    #[serde(default = "default_seed")]
    #[arg(long, default_value_t = default_seed())]
    pub seed: u64,
    /// How the Cox models handle tied event times: efron (as lifelines and R) or breslow.
    #[serde(default)]
    #[arg(long, value_enum, default_value = "efron")]
    pub ties: Ties,
    /// Also report the C-indices and AUCs within each value of this column (e.g. tumor_subtype).
    #[serde(default)]
    #[arg(long)]
    pub by: Option<String>,
    /// The column of each row's cross-validation fold (whole numbers): adds the statistics
    /// per held-out fold (AUC censoring from the other folds), their mean ± sd, and the Cox
    /// models cross-validated.
    #[serde(default)]
    #[arg(long)]
    pub fold: Option<String>,
    /// Where the `fold` column comes from when the table lacks it: another needed node's
    /// table (e.g. `cv_folds`' folds.csv), joined on `key`.
    #[serde(default)]
    #[arg(skip)]
    pub folds_from: Option<ScoresFrom>,
    /// Another score column to test the score against (Kang): `kang.<score>_vs_<versus>`,
    /// e.g. the radiomics score against the network's.
    #[serde(default)]
    #[arg(long)]
    pub versus: Option<String>,
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

/// The bootstrap's seed when none is given: one value for the task and `dag stats`.
pub fn default_seed() -> u64 {
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

impl StatsError {
    /// Whether the request is at fault (an option, a column name the table lacks), as opposed
    /// to the table's data: the two leave `dag stats` with different exit codes (README).
    pub fn is_usage(&self) -> bool {
        match self {
            StatsError::Usage(_) => true,
            StatsError::Table(t) => t.is_missing_column(),
            StatsError::Stat { .. } => false,
        }
    }
}

fn tied(v: &[f64]) -> usize {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.windows(2).filter(|w| w[0] == w[1]).count()
}

pub fn analyse(table: &Table, cfg: &Config) -> Result<Report, StatsError> {
    analyse_with_predictions(table, cfg).map(|a| a.report)
}

/// Named columns of one value per row.
type Columns = Vec<(String, Vec<f64>)>;

/// The results, and each row's linear predictors (in-sample and, with folds, out of fold)
/// for figures drawn from them.
pub struct Analysis {
    pub report: Report,
    /// (name, one value per row): the score, `baseline`, `combined`, and with folds `fold`,
    /// `cv_baseline`, `cv_combined`. A model that could not be fitted is absent.
    pub columns: Columns,
}

/// A score that is the same for every patient (the negative control's true term) ranks
/// nobody: its C is 0.5 and a Cox model cannot estimate its coefficient.
fn is_constant(v: &[f64]) -> bool {
    v.windows(2).all(|w| w[0] == w[1])
}

pub fn analyse_with_predictions(table: &Table, cfg: &Config) -> Result<Analysis, StatsError> {
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
    let constant = is_constant(&score);
    let base = fit(&surv, &cfg.covariates, &covs, cfg.ties).map_err(stat("Cox baseline".into()))?;
    let mut comb_names = cfg.covariates.clone();
    comb_names.push(cfg.score.clone());
    let mut comb_cols = covs.clone();
    comb_cols.push(score.clone());
    // Too few events for the combined model's covariates leave it out, saying why (as a
    // constant score does); anything else about the table is an error.
    let comb = match constant {
        true => Err(constant_score(cfg)),
        false => match fit(&surv, &comb_names, &comb_cols, cfg.ties) {
            Ok(c) => Ok(c),
            Err(SurvivalError::NotEstimable(why)) => Err(why),
            Err(e) => return Err(stat("Cox combined".into())(e)),
        },
    };
    let lp_base = linear_predictor(&base.coef, &covs);
    let lp_comb = comb.as_ref().map(|c| linear_predictor(&c.coef, &comb_cols)).map_err(String::clone);
    let mut named = vec![(cfg.score.clone(), score.clone()), ("baseline".to_owned(), lp_base.clone())];
    named.extend(lp_comb.clone().ok().map(|lp| ("combined".to_owned(), lp)));
    let mut scores = Named::default();
    for (name, s) in &named {
        let mut entry = score_stats(name, &surv, s, &horizons, cfg, &stat)?;
        entry.constant = name == &cfg.score && constant;
        scores.push(name.clone(), entry);
    }
    let mut kang = kang_pair(&surv, cfg, &score, &lp_base, lp_comb.as_deref().map_err(String::as_str), "", &file)?;
    if let Some(other) = &cfg.versus {
        let key = format!("{}_vs_{other}", cfg.score);
        let k = kang_summary(&surv, &score, &table.numbers(other)?).map_err(stat(format!("Kang test {key}")))?;
        kang.push(key, Fitted::Fitted(k));
    }
    let mut report = Report {
        n: surv.len(),
        events: surv.events(),
        tied_times: tied(&time),
        tied_scores: tied(&score),
        cox: Models { baseline: cox_summary(&base), combined: comb.as_ref().map_or_else(|why| without_combined(why), |c| Fitted::Fitted(cox_summary(c))) },
        scores,
        kang,
        constant_score: constant,
        by: None,
        cross_validated: None,
    };
    if let Some(column) = &cfg.by {
        let named: Vec<(String, &Vec<f64>)> = named.iter().map(|(n, s)| (n.clone(), s)).collect();
        report.by = Some(subgroups::by_group(column, &table.strings(column)?, &surv, &named, &horizons));
    }
    let mut columns = named;
    if let Some(column) = &cfg.fold {
        let fold = table.folds(column)?;
        let (cross, cv_columns) = cross_validated(&surv, cfg, &covs, &score, &fold, &horizons, constant, &stat, &file)?;
        report.cross_validated = Some(cross);
        columns.push(("fold".into(), fold.iter().map(|&f| f as f64).collect()));
        columns.extend(cv_columns);
    }
    Ok(Analysis { report, columns })
}

/// The analysis fold by fold: each held-out fold's statistics and their mean ± sd, and the
/// Cox models fitted without each fold (pooled, with the Kang tests). Returns it and the
/// out-of-fold linear predictors `cv_baseline` (and `cv_combined`).
#[allow(clippy::too_many_arguments)]
fn cross_validated<F, G>(surv: &Surv, cfg: &Config, covs: &[Vec<f64>], score: &[f64], fold: &[usize], horizons: &[(String, f64)], constant: bool, stat: &F, file: &str) -> Result<(CrossValidated, Columns), StatsError>
where
    F: Fn(String) -> G,
    G: FnOnce(SurvivalError) -> StatsError,
{
    let per_fold = cv::per_fold(surv, score, fold, horizons);
    let mean_sd = cv::summarise(&per_fold, horizons);
    let score_arg = (!constant).then_some((cfg.score.as_str(), score));
    let cvc = cv::cross_validated_cox(surv, &cfg.covariates, covs, score_arg, fold, cfg.ties)
        .map_err(|(f, model, source)| StatsError::Stat { file: file.to_owned(), what: format!("cross-validated Cox {model} without fold {f}"), source })?;
    let by_name = |names: &[String], b: &[f64]| -> Named<f64> { names.iter().cloned().zip(b.iter().copied()).collect() };
    let mut cox = Named::default();
    let base = score_stats("the cross-validated baseline", surv, &cvc.baseline, horizons, cfg, stat)?;
    let coef_per_fold = cvc.coef.iter().map(|(f, b, _)| FoldCoef { fold: *f, coef: by_name(&cfg.covariates, b) }).collect();
    cox.push("baseline", CvModel { stats: base, coef_per_fold });
    let combined = match &cvc.combined {
        None => Err(constant_score(cfg)),
        Some(c) => c.as_deref().map_err(String::clone),
    };
    if let Ok(lp) = combined {
        let stats = score_stats("the cross-validated combined model", surv, lp, horizons, cfg, stat)?;
        let coef_per_fold = cvc.coef.iter().filter_map(|(f, _, c)| c.as_ref().map(|c| FoldCoef { fold: *f, coef: by_name(&cvc.names, c) })).collect();
        cox.push("combined", CvModel { stats, coef_per_fold });
    }
    let kang = kang_pair(surv, cfg, score, &cvc.baseline, combined.as_deref().map_err(String::as_str), "cross-validated ", file)?;
    let mut columns = vec![("cv_baseline".to_owned(), cvc.baseline)];
    columns.extend(cvc.combined.and_then(Result::ok).map(|lp| ("cv_combined".to_owned(), lp)));
    Ok((CrossValidated { per_fold, mean_sd, cox, kang }, columns))
}

fn constant_score(cfg: &Config) -> String {
    format!("`{}` is the same for every patient, so the combined model has no coefficient to fit", cfg.score)
}

fn without_combined<T>(why: &str) -> Fitted<T> {
    Fitted::NotEstimable { not_estimable: why.to_owned() }
}

/// The score against the baseline, and the combined model against it where there is one;
/// an error names the comparison (`prefix` says which fit).
fn kang_pair(surv: &Surv, cfg: &Config, score: &[f64], baseline: &[f64], combined: Result<&[f64], &str>, prefix: &str, file: &str) -> Result<Named<Fitted<Kang>>, StatsError> {
    let named = |key: String| move |source| StatsError::Stat { file: file.to_owned(), what: format!("{prefix}Kang test {key}"), source };
    let mut kangs = Named::default();
    let key = format!("{}_vs_baseline", cfg.score);
    kangs.push(key.clone(), Fitted::Fitted(kang_summary(surv, score, baseline).map_err(named(key))?));
    kangs.push("combined_vs_baseline", match combined {
        Ok(lp) => Fitted::Fitted(kang_summary(surv, lp, baseline).map_err(named("combined_vs_baseline".into()))?),
        Err(why) => without_combined(why),
    });
    Ok(kangs)
}

/// Harrell's and Uno's C, the AUCs and (with `bootstrap`) the C's percentile interval.
fn score_stats<F, G>(name: &str, surv: &Surv, s: &[f64], horizons: &[(String, f64)], cfg: &Config, stat: &F) -> Result<ScoreStats, StatsError>
where
    F: Fn(String) -> G,
    G: FnOnce(SurvivalError) -> StatsError,
{
    let h = harrell(surv, s).map_err(stat(format!("Harrell's C of {name}")))?;
    let u = uno_c(surv, surv, s, None).map_err(stat(format!("Uno's C of {name}")))?;
    let mut entry = ScoreStats { harrell_c: h.c, uno_c: u.c, auc: aucs(surv, s, horizons), harrell_c_ci95: None, constant: false };
    if cfg.bootstrap > 0 {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ci = percentile_interval(surv.len(), cfg.bootstrap, 0.95, cfg.seed, threads, |idx| {
            let sub = surv.subset(idx);
            let sc: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
            harrell(&sub, &sc).ok().map(|c| c.c)
        });
        entry.harrell_c_ci95 = Some(ci);
    }
    Ok(entry)
}

fn kang_summary(surv: &Surv, a: &[f64], b: &[f64]) -> Result<Kang, SurvivalError> {
    let k = kang(surv, a, b)?;
    Ok(Kang { c: k.c, delta_c: k.delta_c, var: k.var, z: k.z, p: k.p })
}

/// The cumulative/dynamic AUC at each horizon, keyed as written; where it cannot be
/// estimated, `{"not_estimable": why}`.
fn aucs(surv: &Surv, score: &[f64], horizons: &[(String, f64)]) -> Named<cv::Estimate> {
    horizons.iter().map(|(key, h)| (key.clone(), cv::Estimate::of(cumulative_dynamic_auc(surv, surv, score, *h)))).collect()
}

fn cox_summary(f: &CoxFit) -> Cox {
    let by_name = |v: &[f64]| -> Named<f64> { f.names.iter().cloned().zip(v.iter().copied()).collect() };
    Cox { coef: by_name(&f.coef), se: by_name(&f.se), loglik: f.loglik, concordance: f.concordance }
}

#[cfg(test)]
#[path = "cv_oracle_tests.rs"]
mod cv_oracle_tests;
