//! Harrell's C-index in O(n log n), with optional per-event weights (Uno's C uses them).
//!
//! A pair is comparable when the earlier time is an event, or the times tie and only one is
//! an event (that one counts as earlier); two events at one time are not comparable. It is
//! concordant when the earlier one has the higher score; scores within `TIED_TOL` count ½.
//! This is scikit-survival's `concordance_index_censored` (and, weighted, the core of its
//! `concordance_index_ipcw`), computed by one sweep from the latest time down with a Fenwick
//! tree over score ranks instead of a scan per event.

use super::fenwick::Fenwick;
use super::{score_ranks, Surv, SurvivalError};

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Concordance {
    pub c: f64,
    pub concordant: u64,
    pub discordant: u64,
    pub tied_risk: u64,
    pub comparable: u64,
}

pub fn harrell(s: &Surv, score: &[f64]) -> Result<Concordance, SurvivalError> {
    weighted(s, score, None)
}

/// `weight[i]` multiplies event i's pairs (None: all 1).
pub(crate) fn weighted(s: &Surv, score: &[f64], weight: Option<&[f64]>) -> Result<Concordance, SurvivalError> {
    if score.len() != s.len() {
        return Err(SurvivalError::Invalid(format!("{} scores for {} subjects", score.len(), s.len())));
    }
    if let Some(i) = score.iter().position(|x| !x.is_finite()) {
        return Err(SurvivalError::Invalid(format!("score of row {} is not a finite number", i + 1)));
    }
    let (rank, nranks) = score_ranks(score);
    let order = s.order();
    let mut later = Fenwick::new(nranks);
    let (mut conc, mut ties, mut comp) = (0u64, 0u64, 0u64);
    let (mut num, mut den) = (0.0, 0.0);
    let mut end = order.len();
    while end > 0 {
        let t = s.time[order[end - 1]];
        let mut start = end - 1;
        while start > 0 && s.time[order[start - 1]] == t {
            start -= 1;
        }
        let group = &order[start..end];
        // Censored at this very time count as later than the events at it.
        for &j in group.iter().filter(|&&j| !s.event[j]) {
            later.add(rank[j], 1.0);
        }
        for &i in group.iter().filter(|&&i| s.event[i]) {
            let n = later.total();
            let below = later.below(rank[i]);
            let tied = later.at(rank[i]);
            let w = weight.map_or(1.0, |w| w[i]);
            num += w * (below + 0.5 * tied);
            den += w * n;
            conc += below as u64;
            ties += tied as u64;
            comp += n as u64;
        }
        for &i in group.iter().filter(|&&i| s.event[i]) {
            later.add(rank[i], 1.0);
        }
        end = start;
    }
    if comp == 0 || den <= 0.0 {
        return Err(SurvivalError::NotEstimable("no comparable pairs (no event is followed by a longer follow-up)".into()));
    }
    Ok(Concordance { c: num / den, concordant: conc, discordant: comp - conc - ties, tied_risk: ties, comparable: comp })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, pair by pair: the independent check of the sweep.
    fn brute(s: &Surv, score: &[f64]) -> (f64, u64) {
        let (mut num, mut den) = (0.0, 0u64);
        for i in 0..s.len() {
            for j in 0..s.len() {
                let comparable = s.event[i] && (s.time[j] > s.time[i] || (s.time[j] == s.time[i] && !s.event[j]));
                if i != j && comparable {
                    den += 1;
                    if (score[i] - score[j]).abs() <= super::super::TIED_TOL {
                        num += 0.5;
                    } else if score[i] > score[j] {
                        num += 1.0;
                    }
                }
            }
        }
        (num / den as f64, den)
    }

    #[test]
    fn matches_the_pairwise_definition_with_heavy_ties() {
        let mut next = super::super::test_uniforms(7);
        for _ in 0..20 {
            let n = 60;
            let time: Vec<f64> = (0..n).map(|_| (next() * 8.0).floor()).collect();
            let event: Vec<bool> = (0..n).map(|_| next() < 0.5).collect();
            let score: Vec<f64> = (0..n).map(|_| (next() * 5.0).floor()).collect();
            let s = Surv::new(time, event).unwrap();
            let (c, comp) = brute(&s, &score);
            let h = harrell(&s, &score).unwrap();
            assert!((h.c - c).abs() < 1e-12, "{} vs {c}", h.c);
            assert_eq!(h.comparable, comp);
        }
    }

    #[test]
    fn all_censored_is_not_estimable() {
        let s = Surv::new(vec![1.0, 2.0, 3.0], vec![false; 3]).unwrap();
        assert!(matches!(harrell(&s, &[1.0, 2.0, 3.0]), Err(SurvivalError::NotEstimable(_))));
    }

    #[test]
    fn a_single_event_compares_with_everyone_after_it() {
        let s = Surv::new(vec![1.0, 2.0, 3.0, 0.5], vec![true, false, false, false]).unwrap();
        let h = harrell(&s, &[3.0, 1.0, 3.0, 9.0]).unwrap();
        assert_eq!((h.comparable, h.concordant, h.tied_risk), (2, 1, 1));
        assert_eq!(h.c, 0.75);
    }
}
