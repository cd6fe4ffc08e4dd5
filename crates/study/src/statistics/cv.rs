//! The analysis in the paper's terms, fold by fold: each fold's held-out patients scored on
//! their own (Harrell's C, and the time-dependent AUC with the censoring distribution of that
//! fold's training patients, as scikit-survival's `cumulative_dynamic_auc(survival_train,
//! survival_test, …)`), then mean ± sd across folds; and the Cox models cross-validated:
//! fitted on each fold's training patients and applied to its held-out ones, so that the
//! pooled linear predictors are out of sample (the paper fitted them on the whole cohort).

use crate::survival::cox::{fit, linear_predictor, Ties};
use crate::survival::harrell::harrell;
use crate::survival::ipcw::cumulative_dynamic_auc;
use crate::survival::{Surv, SurvivalError};
use super::report::{FoldSummary, Named};
use serde::Serialize;

/// A number, or why it could not be had (too few events in a fold, a horizon past follow-up).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Estimate {
    Value(f64),
    NotEstimable { not_estimable: String },
}

impl Estimate {
    pub fn of(r: Result<f64, SurvivalError>) -> Estimate {
        match r {
            Ok(v) => Estimate::Value(v),
            Err(e) => Estimate::NotEstimable { not_estimable: e.to_string().trim_start_matches("not estimable: ").to_owned() },
        }
    }

    pub fn value(&self) -> Option<f64> {
        match self {
            Estimate::Value(v) => Some(*v),
            Estimate::NotEstimable { .. } => None,
        }
    }
}

/// One fold's held-out patients.
#[derive(Clone, Debug, Serialize)]
pub struct FoldStats {
    pub fold: usize,
    pub n: usize,
    pub events: usize,
    pub harrell_c: Estimate,
    /// Keyed by the horizon as written.
    pub auc: Named<Estimate>,
}

/// Mean and sample standard deviation (n − 1) over the folds where the value exists.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
    pub folds: usize,
}

pub fn mean_sd(values: &[f64]) -> Option<MeanSd> {
    let k = values.len();
    if k == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / k as f64;
    let sd = if k > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1) as f64).sqrt() } else { f64::NAN };
    Some(MeanSd { mean, sd, folds: k })
}

/// The rows of each fold, folds in ascending order of their label.
pub fn fold_rows(fold: &[usize]) -> Vec<(usize, Vec<usize>)> {
    let mut by: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, &f) in fold.iter().enumerate() {
        by.entry(f).or_default().push(i);
    }
    by.into_iter().collect()
}

fn complement(n: usize, rows: &[usize]) -> Vec<usize> {
    let mut held = vec![false; n];
    for &i in rows {
        held[i] = true;
    }
    (0..n).filter(|&i| !held[i]).collect()
}

/// Harrell's C and the AUCs of `score` within each fold, censoring from the other folds.
pub fn per_fold(surv: &Surv, score: &[f64], fold: &[usize], horizons: &[(String, f64)]) -> Vec<FoldStats> {
    fold_rows(fold)
        .into_iter()
        .map(|(f, rows)| {
            let (test, train) = (surv.subset(&rows), surv.subset(&complement(surv.len(), &rows)));
            let sc: Vec<f64> = rows.iter().map(|&i| score[i]).collect();
            let harrell_c = Estimate::of(harrell(&test, &sc).and_then(|c| {
                if c.comparable > 0 { Ok(c.c) } else { Err(SurvivalError::NotEstimable("no comparable pairs".into())) }
            }));
            let auc = horizons.iter().map(|(key, h)| (key.clone(), Estimate::of(cumulative_dynamic_auc(&train, &test, &sc, *h)))).collect();
            FoldStats { fold: f, n: test.len(), events: test.events(), harrell_c, auc }
        })
        .collect()
}

/// Mean ± sd of the per-fold statistics, keyed as one fold's entry.
pub fn summarise(folds: &[FoldStats], horizons: &[(String, f64)]) -> FoldSummary {
    let c: Vec<f64> = folds.iter().filter_map(|f| f.harrell_c.value()).collect();
    let auc = horizons
        .iter()
        .map(|(key, _)| {
            // A fold's AUC that is not finite was `null` in its JSON and never counted.
            let v: Vec<f64> = folds.iter().filter_map(|f| f.auc.get(key).and_then(Estimate::value)).filter(|v| v.is_finite()).collect();
            (key.clone(), mean_sd(&v))
        })
        .collect();
    FoldSummary { harrell_c: mean_sd(&c), auc }
}

/// The Cox models fitted without each fold and applied to it.
#[derive(Clone, Debug)]
pub struct CrossValidatedCox {
    /// The combined model's covariates: the baseline's, then the score.
    pub names: Vec<String>,
    /// Per fold (ascending): its label, the baseline's and the combined model's coefficients.
    pub coef: Vec<(usize, Vec<f64>, Option<Vec<f64>>)>,
    /// Out-of-fold linear predictors x·β, one per row, uncentred: equal covariates within a
    /// fold give exactly equal scores.
    pub baseline: Vec<f64>,
    /// Absent without a score to add (a constant one has no coefficient to fit); `Err` says
    /// why, when the combined model had no finite fit without some fold (too few events for
    /// its covariates: the baseline's out-of-fold scores stand without it).
    pub combined: Option<Result<Vec<f64>, String>>,
}

/// `covs` are the baseline's columns; with `score` (its name and values) the combined model
/// adds it. An error names the fold left out and the model.
pub fn cross_validated_cox(surv: &Surv, names: &[String], covs: &[Vec<f64>], score: Option<(&str, &[f64])>, fold: &[usize], ties: Ties) -> Result<CrossValidatedCox, (usize, &'static str, SurvivalError)> {
    let mut comb_names = names.to_vec();
    let mut comb_cols = covs.to_vec();
    if let Some((name, values)) = score {
        comb_names.push(name.to_owned());
        comb_cols.push(values.to_vec());
    }
    let pick = |cols: &[Vec<f64>], rows: &[usize]| -> Vec<Vec<f64>> { cols.iter().map(|c| rows.iter().map(|&i| c[i]).collect()).collect() };
    let mut baseline = vec![0.0; surv.len()];
    let mut combined = score.map(|_| Ok(vec![0.0; surv.len()]));
    let mut coef = Vec::new();
    for (f, test) in fold_rows(fold) {
        let train = complement(surv.len(), &test);
        let tr = surv.subset(&train);
        let base = fit(&tr, names, &pick(covs, &train), ties).map_err(|e| (f, "baseline", e))?;
        for (&i, v) in test.iter().zip(linear_predictor(&base.coef, &pick(covs, &test))) {
            baseline[i] = v;
        }
        let mut comb_coef = None;
        if let Some(Ok(lp)) = combined.as_mut() {
            match fit(&tr, &comb_names, &pick(&comb_cols, &train), ties) {
                Ok(comb) => {
                    for (&i, v) in test.iter().zip(linear_predictor(&comb.coef, &pick(&comb_cols, &test))) {
                        lp[i] = v;
                    }
                    comb_coef = Some(comb.coef);
                }
                Err(SurvivalError::NotEstimable(why)) => combined = Some(Err(format!("without fold {f}: {why}"))),
                Err(e) => return Err((f, "combined", e)),
            }
        }
        coef.push((f, base.coef, comb_coef));
    }
    if let Some(Err(_)) = combined {
        coef.iter_mut().for_each(|(_, _, c)| *c = None);
    }
    Ok(CrossValidatedCox { names: comb_names, coef, baseline, combined })
}
