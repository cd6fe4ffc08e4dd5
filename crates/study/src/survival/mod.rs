//! Survival statistics for the study: Harrell's and Uno's C, time-dependent AUC,
//! Kaplan–Meier, Cox proportional hazards (Efron), the Kang et al. (2015) test and bootstrap
//! intervals. Pure numerics: nothing here knows the engine.
//!
//! Conventions follow the references the study is checked against (tests/fixtures/oracles/stats):
//! scikit-survival for the C-indices and AUC, lifelines / R survival for Cox, R compareC for
//! the Kang test. A higher score means a higher risk.

pub mod bootstrap;
pub mod cox;
pub mod fenwick;
pub mod harrell;
pub mod ipcw;
pub mod kang;
pub mod km;

/// Risk scores closer than this count as tied (scikit-survival's `tied_tol`).
pub const TIED_TOL: f64 = 1e-8;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SurvivalError {
    #[error("{0}")]
    Invalid(String),
    #[error("not estimable: {0}")]
    NotEstimable(String),
}

/// Follow-up times with their event indicators (true = event, false = censored).
#[derive(Clone, Debug)]
pub struct Surv {
    pub time: Vec<f64>,
    pub event: Vec<bool>,
}

impl Surv {
    pub fn new(time: Vec<f64>, event: Vec<bool>) -> Result<Surv, SurvivalError> {
        if time.len() != event.len() {
            return Err(SurvivalError::Invalid(format!("{} times but {} event indicators", time.len(), event.len())));
        }
        if let Some(i) = time.iter().position(|t| !t.is_finite() || *t < 0.0) {
            return Err(SurvivalError::Invalid(format!("time {} of row {} is not a non-negative number", time[i], i + 1)));
        }
        Ok(Surv { time, event })
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    pub fn events(&self) -> usize {
        self.event.iter().filter(|&&e| e).count()
    }

    /// Indices sorted by time, ascending (stable).
    pub fn order(&self) -> Vec<usize> {
        let mut o: Vec<usize> = (0..self.len()).collect();
        o.sort_by(|&a, &b| self.time[a].total_cmp(&self.time[b]));
        o
    }

    pub fn subset(&self, idx: &[usize]) -> Surv {
        Surv { time: idx.iter().map(|&i| self.time[i]).collect(), event: idx.iter().map(|&i| self.event[i]).collect() }
    }
}

/// Dense ranks of scores (0-based), where consecutive sorted values within `TIED_TOL` share
/// a rank. Returns the ranks and their count.
pub fn score_ranks(score: &[f64]) -> (Vec<usize>, usize) {
    let mut o: Vec<usize> = (0..score.len()).collect();
    o.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    let mut ranks = vec![0; score.len()];
    let mut r = 0;
    for k in 0..o.len() {
        if k > 0 && (score[o[k]] - score[o[k - 1]]).abs() > TIED_TOL {
            r += 1;
        }
        ranks[o[k]] = r;
    }
    (ranks, if score.is_empty() { 0 } else { r + 1 })
}

/// The middle value, as numpy's `median` (the mean of the two middle ones for an even count).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// A small deterministic generator of uniforms in [0, 1) for tests with random cohorts.
#[cfg(test)]
pub(crate) fn test_uniforms(mut seed: u64) -> impl FnMut() -> f64 {
    move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    }
}

#[cfg(test)]
pub(crate) mod oracle;
#[cfg(test)]
mod oracle_tests;

#[cfg(test)]
mod tests {
    #[test]
    fn median_is_numpys() {
        assert_eq!(super::median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
