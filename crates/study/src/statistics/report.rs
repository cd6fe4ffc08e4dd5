//! The statistics' results as types: what `analyse` returns, `render_text` reads and
//! `stats.json` holds. Fields are declared in the order the JSON has always had them (the
//! workspace's serde_json keeps insertion order), and a non-finite number is written as
//! `null`, as before: the files are byte for byte what they were.

use super::cv::{Estimate, FoldStats, MeanSd};
use crate::survival::bootstrap::Interval;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Named values in a fixed order, written as a JSON object (scores, covariates, horizons).
#[derive(Clone, Debug, PartialEq)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<T> Named<T> {
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &T)> {
        self.0.iter().map(|(n, v)| (n, v))
    }
    pub fn push(&mut self, name: impl Into<String>, value: T) {
        self.0.push((name.into(), value));
    }
}

impl<T> FromIterator<(String, T)> for Named<T> {
    fn from_iter<I: IntoIterator<Item = (String, T)>>(iter: I) -> Self {
        Named(iter.into_iter().collect())
    }
}

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A fitted model or test, or why there is none (`{"not_estimable": why}`).
#[derive(Clone, Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Fitted<T> {
    Fitted(T),
    NotEstimable { not_estimable: String },
}

impl<T> Fitted<T> {
    pub fn as_ref(&self) -> Fitted<&T> {
        match self {
            Fitted::Fitted(t) => Fitted::Fitted(t),
            Fitted::NotEstimable { not_estimable } => Fitted::NotEstimable { not_estimable: not_estimable.clone() },
        }
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub n: usize,
    pub events: usize,
    pub tied_times: usize,
    pub tied_scores: usize,
    pub cox: Models,
    /// The score, then `baseline` and (where fitted) `combined`: their linear predictors.
    pub scores: Named<ScoreStats>,
    /// `<score>_vs_baseline` and `combined_vs_baseline`.
    pub kang: Named<Fitted<Kang>>,
    /// The score is the same for every patient (the negative control's true term).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub constant_score: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<ByGroup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_validated: Option<CrossValidated>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Models {
    pub baseline: Cox,
    pub combined: Fitted<Cox>,
}

/// A Cox model's coefficients and standard errors by covariate, its log-likelihood and its
/// concordance on the data it was fitted to.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Cox {
    pub coef: Named<f64>,
    pub se: Named<f64>,
    pub loglik: f64,
    pub concordance: f64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ScoreStats {
    pub harrell_c: f64,
    pub uno_c: f64,
    /// Keyed by the horizon as written.
    pub auc: Named<Estimate>,
    /// With `bootstrap`: the interval, or `null` where no replicate could be estimated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub harrell_c_ci95: Option<Option<Interval>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub constant: bool,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Kang {
    /// The two C-indices compared.
    pub c: [f64; 2],
    pub delta_c: f64,
    pub var: f64,
    pub z: f64,
    pub p: f64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct CrossValidated {
    pub per_fold: Vec<FoldStats>,
    pub mean_sd: FoldSummary,
    /// `baseline`, and `combined` where the score varies.
    pub cox: Named<CvModel>,
    pub kang: Named<Fitted<Kang>>,
}

/// Mean ± sd across folds, `null` where no fold had the value.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FoldSummary {
    pub harrell_c: Option<MeanSd>,
    pub auc: Named<Option<MeanSd>>,
}

/// A cross-validated Cox model: its pooled out-of-fold linear predictor's statistics and
/// its coefficients per fold.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CvModel {
    #[serde(flatten)]
    pub stats: ScoreStats,
    pub coef_per_fold: Vec<FoldCoef>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct FoldCoef {
    pub fold: usize,
    pub coef: Named<f64>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ByGroup {
    pub column: String,
    pub groups: Named<Group>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Group {
    pub n: usize,
    pub events: usize,
    pub scores: Named<GroupScore>,
    /// Fewer than `FEW_EVENTS` events: shown, and flagged rather than hidden.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub few_events: bool,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct GroupScore {
    pub harrell_c: Estimate,
    pub auc: Named<Estimate>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub constant: bool,
}

/// A number as the tables print it: four decimals, `—` where it is not finite (JSON's
/// `null`) or not estimable.
pub fn show(x: f64) -> String {
    if x.is_finite() { format!("{x:.4}") } else { "—".to_owned() }
}

pub fn show_estimate(e: Option<&Estimate>) -> String {
    e.and_then(Estimate::value).map_or_else(|| "—".to_owned(), show)
}
