//! The report's figures, drawn from the statistics node's `predictions.csv` and the training
//! history: Kaplan–Meier curves of high against low network risk, time-dependent ROC curves,
//! and the loss per epoch of every fold.

use super::svg::{Chart, Series, PALETTE};
use crate::survival::ipcw::roc_curve;
use crate::survival::km::{kaplan_meier, logrank, LogRank};
use crate::survival::{median, Surv};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

pub const DAYS_PER_YEAR: f64 = 365.25;

/// `predictions.csv`: columns by name.
pub struct Predictions {
    columns: HashMap<String, Vec<String>>,
    pub rows: usize,
}

impl Predictions {
    pub fn read(path: &Path) -> Result<Predictions, String> {
        let mut r = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let header: Vec<String> = r.headers().map_err(|e| format!("{}: {e}", path.display()))?.iter().map(str::to_owned).collect();
        let mut columns: HashMap<String, Vec<String>> = header.iter().map(|h| (h.clone(), Vec::new())).collect();
        let mut rows = 0;
        for rec in r.records() {
            let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
            for (h, v) in header.iter().zip(rec.iter()) {
                columns.get_mut(h).expect("header").push(v.to_owned());
            }
            rows += 1;
        }
        Ok(Predictions { columns, rows })
    }

    pub fn has(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }

    pub fn numbers(&self, name: &str) -> Result<Vec<f64>, String> {
        let col = self.columns.get(name).ok_or_else(|| format!("predictions.csv has no column `{name}`"))?;
        col.iter().enumerate().map(|(i, v)| v.parse::<f64>().map_err(|_| format!("predictions.csv, column `{name}`, line {}: `{v}` is not a number", i + 2))).collect()
    }

    pub fn surv(&self) -> Result<Surv, String> {
        let event = self.numbers("event")?.iter().map(|&e| e == 1.0).collect();
        Surv::new(self.numbers("time")?, event).map_err(|e| e.to_string())
    }
}

pub struct KmFigure {
    pub svg: String,
    pub logrank: Option<LogRank>,
    /// Years, and the numbers at risk then: (high, low).
    pub at_risk: Vec<(f64, usize, usize)>,
    pub median: f64,
    pub n: (usize, usize),
}

/// High (score above the median) against low network risk.
pub fn kaplan_meier_figure(surv: &Surv, score: &[f64], label: &str) -> KmFigure {
    let m = median(score);
    let high: Vec<bool> = score.iter().map(|&s| s > m).collect();
    let groups = [(true, "high risk", PALETTE[1]), (false, "low risk", PALETTE[0])];
    let max_years = surv.time.iter().fold(0.0f64, |a, &t| a.max(t)) / DAYS_PER_YEAR;
    let mut series = Vec::new();
    let mut n = (0, 0);
    for (flag, name, colour) in groups {
        let idx: Vec<usize> = (0..surv.len()).filter(|&i| high[i] == flag).collect();
        let km = kaplan_meier(&surv.subset(&idx));
        let mut points = vec![(0.0, 1.0)];
        points.extend(km.time.iter().zip(&km.survival).map(|(t, s)| (t / DAYS_PER_YEAR, *s)));
        if let Some(&(_, last)) = points.last() {
            points.push((km.time.last().copied().unwrap_or(0.0) / DAYS_PER_YEAR, last));
        }
        if flag { n.0 = idx.len() } else { n.1 = idx.len() }
        series.push(Series { label: format!("{name}, n = {}", idx.len()), points, colour, step: true, dashed: false });
    }
    let lr = logrank(surv, &high).ok();
    let note = lr.as_ref().map(|l| format!("log-rank {}", p_is(l.p)));
    let years: Vec<f64> = (0..=(max_years.ceil() as usize)).step_by(2).map(|y| y as f64).collect();
    let at_risk = years
        .iter()
        .map(|&y| {
            let count = |flag: bool| (0..surv.len()).filter(|&i| high[i] == flag && surv.time[i] >= y * DAYS_PER_YEAR).count();
            (y, count(true), count(false))
        })
        .filter(|&(_, h, l)| h + l > 0)
        .collect();
    let chart = Chart {
        title: format!("Recurrence-free survival by {label}"),
        x_label: "years since diagnosis".into(),
        y_label: "recurrence-free survival".into(),
        x: (0.0, max_years.ceil().max(1.0)),
        y: (0.0, 1.0),
        width: 600.0,
        height: 380.0,
        series,
        note,
        diagonal: false,
    };
    KmFigure { svg: chart.render(), logrank: lr, at_risk, median: m, n }
}

/// "p = 0.012" or "p < 0.001".
pub fn p_is(p: f64) -> String {
    let v = fmt_p(p);
    if v.starts_with('<') { format!("p {v}") } else { format!("p = {v}") }
}

/// A p-value as a reader wants it: 3 decimals, or "< 0.001".
pub fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "—".into()
    } else if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// One ROC chart at `horizon` days for the named scores (censoring from the whole cohort).
pub fn roc_figure(surv: &Surv, scores: &[(&str, &[f64])], horizon: f64) -> String {
    let mut series = Vec::new();
    let mut missing = Vec::new();
    for (k, (name, s)) in scores.iter().enumerate() {
        match roc_curve(surv, surv, s, horizon) {
            Ok(roc) => series.push(Series {
                label: format!("{name}: {:.3}", roc.auc),
                points: roc.fpr.iter().copied().zip(roc.tpr.iter().copied()).collect(),
                colour: PALETTE[k % PALETTE.len()],
                step: false,
                dashed: k > 0,
            }),
            Err(e) => missing.push(format!("{name}: {e}")),
        }
    }
    Chart {
        title: format!("ROC at {} years (AUC in the legend)", horizon / DAYS_PER_YEAR),
        x_label: "1 − specificity".into(),
        y_label: "sensitivity".into(),
        x: (0.0, 1.0),
        y: (0.0, 1.0),
        width: 440.0,
        height: 470.0,
        series,
        note: (!missing.is_empty()).then(|| missing.join("; ")),
        diagonal: true,
    }
    .render()
}

/// Training and validation loss per epoch for one fold, with the epoch kept marked, and
/// the validation C per epoch beneath (where the history has it).
pub fn training_figure(fold: &Value) -> Option<String> {
    let history = fold["history"].as_array()?;
    let get = |key: &str| -> Vec<(f64, f64)> { history.iter().filter_map(|e| Some((e["epoch"].as_f64()?, e[key].as_f64()?))).collect() };
    let (train, val, val_c) = (get("train_loss"), get("val_loss"), get("val_c"));
    if train.is_empty() {
        return None;
    }
    let range = |pts: &[(f64, f64)]| pts.iter().map(|p| p.1).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = range(&[&train[..], &val[..]].concat());
    let pad = ((hi - lo) * 0.1).max(1e-3);
    let epochs = train.iter().map(|p| p.0).fold(1.0f64, f64::max).max(2.0);
    let best = fold["best_epoch"].as_u64();
    let mut series = vec![Series { label: "training".into(), points: train, colour: PALETTE[0], step: false, dashed: false }];
    if !val.is_empty() {
        series.push(Series { label: "validation".into(), points: val, colour: PALETTE[1], step: false, dashed: true });
    }
    let chart = |title: String, y_label: &str, y: (f64, f64), series: Vec<Series>, note: Option<String>| {
        Chart { title, x_label: "epoch".into(), y_label: y_label.into(), x: (1.0, epochs), y, width: 340.0, height: 240.0, series, note, diagonal: false }.render()
    };
    let mut svg = chart(format!("Fold {}", fold["fold"]), "loss", ((lo - pad).max(0.0), hi + pad), series, best.map(|b| format!("kept epoch {b}")));
    if !val_c.is_empty() {
        let (clo, chi) = range(&val_c);
        let y = ((clo.min(0.5) - 0.02).max(0.0), (chi.max(0.7) + 0.02).min(1.0));
        let series = vec![Series { label: "validation C".into(), points: val_c, colour: PALETTE[2], step: false, dashed: false }];
        svg.push_str(&chart(String::new(), "Harrell's C", y, series, None));
    }
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values_read_as_a_clinician_expects() {
        assert_eq!(fmt_p(0.0004), "< 0.001");
        assert_eq!(fmt_p(0.0071), "0.007");
        assert_eq!(fmt_p(f64::NAN), "—");
    }
}
