//! Inverse-probability-of-censoring weighted estimators: Uno's C and the cumulative/dynamic
//! time-dependent AUC, as scikit-survival's `concordance_index_ipcw` and
//! `cumulative_dynamic_auc`. The censoring distribution may come from a training set.

use super::harrell::{weighted, Concordance};
use super::km::Censoring;
use super::{Surv, SurvivalError, TIED_TOL};

/// Uno's C: Harrell's pairs, each event weighted by 1/G(t)². With `tau`, only events before
/// it count.
pub fn uno_c(train: &Surv, test: &Surv, score: &[f64], tau: Option<f64>) -> Result<Concordance, SurvivalError> {
    let g = Censoring::fit(train);
    let kept: Vec<usize> = (0..test.len()).filter(|&i| tau.is_none_or(|t| test.time[i] < t)).collect();
    let w_kept = g.ipcw(&test.subset(&kept))?;
    let mut w = vec![0.0; test.len()];
    for (k, &i) in kept.iter().enumerate() {
        w[i] = w_kept[k] * w_kept[k];
    }
    weighted(test, score, Some(&w))
}

/// The cumulative/dynamic ROC curve at one horizon: cases died by t (weighted 1/G),
/// controls still event-free after t. One point per distinct score (the last of a tied run),
/// from (0, 0) to (1, 1), highest scores first.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Roc {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    /// The trapezoidal area under the points: scikit-survival's `cumulative_dynamic_auc`.
    pub auc: f64,
}

/// AUC(t) for one horizon; see `roc_curve`.
pub fn cumulative_dynamic_auc(train: &Surv, test: &Surv, score: &[f64], horizon: f64) -> Result<f64, SurvivalError> {
    roc_curve(train, test, score, horizon).map(|r| r.auc)
}

/// A horizon outside [min time, max time) of the test data is not estimable.
pub fn roc_curve(train: &Surv, test: &Surv, score: &[f64], horizon: f64) -> Result<Roc, SurvivalError> {
    if score.len() != test.len() {
        return Err(SurvivalError::Invalid(format!("{} scores for {} subjects", score.len(), test.len())));
    }
    let (lo, hi) = test.time.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| (a.min(t), b.max(t)));
    if !(horizon >= lo && horizon < hi) {
        return Err(SurvivalError::NotEstimable(format!("horizon {horizon} is outside the follow-up range [{lo}, {hi})")));
    }
    let ipcw = Censoring::fit(train).ipcw(test)?;
    let mut order: Vec<usize> = (0..test.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let case_w = |i: usize| if test.event[i] && test.time[i] <= horizon { ipcw[i] } else { 0.0 };
    let is_control = |i: usize| test.time[i] > horizon;
    let total_tp: f64 = order.iter().map(|&i| case_w(i)).sum();
    let total_fp = order.iter().filter(|&&i| is_control(i)).count() as f64;
    if total_tp == 0.0 {
        return Err(SurvivalError::NotEstimable(format!("no events by horizon {horizon}")));
    }
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut roc = Roc { fpr: vec![0.0], tpr: vec![0.0], auc: 0.0 };
    for (k, &i) in order.iter().enumerate() {
        tp += case_w(i);
        fp += f64::from(u8::from(is_control(i)));
        let last_of_tie = order.get(k + 1).is_none_or(|&j| (score[j] - score[i]).abs() > TIED_TOL);
        if last_of_tie {
            let (x, y) = (fp / total_fp, tp / total_tp);
            let (px, py) = (roc.fpr[roc.fpr.len() - 1], roc.tpr[roc.tpr.len() - 1]);
            roc.auc += (x - px) * (y + py) / 2.0;
            roc.fpr.push(x);
            roc.tpr.push(y);
        }
    }
    Ok(roc)
}
