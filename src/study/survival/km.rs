//! Kaplan–Meier curves (with Greenwood's variance) and the censoring distribution that the
//! IPCW estimators weight by.

use super::{Surv, SurvivalError};

#[derive(Clone, Debug, serde::Serialize)]
pub struct KaplanMeier {
    /// Distinct observed times, ascending.
    pub time: Vec<f64>,
    pub at_risk: Vec<u64>,
    pub events: Vec<u64>,
    pub censored: Vec<u64>,
    /// S(t) just after each time.
    pub survival: Vec<f64>,
    /// Greenwood's variance of S(t).
    pub variance: Vec<f64>,
}

/// Counts at each distinct time: (time, at risk, events, censored).
fn counts(s: &Surv) -> Vec<(f64, u64, u64, u64)> {
    let order = s.order();
    let mut out = Vec::new();
    let mut at_risk = s.len() as u64;
    let mut k = 0;
    while k < order.len() {
        let t = s.time[order[k]];
        let (mut d, mut c) = (0, 0);
        while k < order.len() && s.time[order[k]] == t {
            if s.event[order[k]] { d += 1 } else { c += 1 }
            k += 1;
        }
        out.push((t, at_risk, d, c));
        at_risk -= d + c;
    }
    out
}

pub fn kaplan_meier(s: &Surv) -> KaplanMeier {
    let mut km = KaplanMeier { time: vec![], at_risk: vec![], events: vec![], censored: vec![], survival: vec![], variance: vec![] };
    let (mut surv, mut green) = (1.0, 0.0);
    for (t, n, d, c) in counts(s) {
        surv *= 1.0 - d as f64 / n as f64;
        if d > 0 && n > d {
            green += d as f64 / (n as f64 * (n - d) as f64);
        }
        km.time.push(t);
        km.at_risk.push(n);
        km.events.push(d);
        km.censored.push(c);
        km.survival.push(surv);
        km.variance.push(surv * surv * green);
    }
    km
}

impl KaplanMeier {
    /// S(t): the value at the last time ≤ t (1 before the first).
    pub fn at(&self, t: f64) -> f64 {
        match self.time.partition_point(|&x| x <= t) {
            0 => 1.0,
            k => self.survival[k - 1],
        }
    }
}

/// The censoring survival function G, estimated by the reverse Kaplan–Meier (at tied times,
/// events happen before censorings), as scikit-survival's `CensoringDistributionEstimator`.
pub struct Censoring {
    time: Vec<f64>,
    prob: Vec<f64>,
}

impl Censoring {
    pub fn fit(train: &Surv) -> Censoring {
        let c = counts(train);
        if train.event.iter().all(|&e| e) {
            return Censoring { time: c.iter().map(|x| x.0).collect(), prob: vec![1.0; c.len()] };
        }
        let mut time = vec![f64::NEG_INFINITY];
        let mut prob = vec![1.0];
        let mut g = 1.0;
        for (t, n, d, cens) in c {
            let risk = n - d;
            if risk > 0 {
                g *= 1.0 - cens as f64 / risk as f64;
            }
            time.push(t);
            prob.push(g);
        }
        Censoring { time, prob }
    }

    /// G(t) at an observed time (the value at the last fitted time ≤ t).
    pub fn at(&self, t: f64) -> Result<f64, SurvivalError> {
        let last = *self.time.last().unwrap_or(&f64::NEG_INFINITY);
        if t > last {
            if *self.prob.last().unwrap_or(&0.0) > 0.0 {
                return Err(SurvivalError::NotEstimable(format!(
                    "time {t} is beyond the largest time of the censoring distribution ({last})"
                )));
            }
            return Ok(0.0);
        }
        let k = self.time.partition_point(|&x| x <= t);
        Ok(if k == 0 { 1.0 } else { self.prob[k - 1] })
    }

    /// 1/G(t_i) for events, 0 for censored subjects.
    pub fn ipcw(&self, test: &Surv) -> Result<Vec<f64>, SurvivalError> {
        let mut w = vec![0.0; test.len()];
        for ((wi, &t), &event) in w.iter_mut().zip(&test.time).zip(&test.event) {
            if event {
                let g = self.at(t)?;
                if g == 0.0 {
                    return Err(SurvivalError::NotEstimable(format!("the censoring survival function is zero at time {t}")));
                }
                *wi = 1.0 / g;
            }
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_example_with_greenwood() {
        // Times 1,2,2+,3,4+,5 (events unless +).
        let s = Surv::new(vec![1.0, 2.0, 2.0, 3.0, 4.0, 5.0], vec![true, true, false, true, false, true]).unwrap();
        let km = kaplan_meier(&s);
        assert_eq!(km.time, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        let expect = [5.0 / 6.0, 5.0 / 6.0 * 4.0 / 5.0, 5.0 / 6.0 * 4.0 / 5.0 * 2.0 / 3.0];
        for (a, b) in km.survival.iter().zip(expect) {
            assert!((a - b).abs() < 1e-15);
        }
        let g = 1.0 / (6.0 * 5.0) + 1.0 / (5.0 * 4.0) + 1.0 / (3.0 * 2.0);
        assert!((km.variance[2] - expect[2] * expect[2] * g).abs() < 1e-15);
        assert_eq!(km.at(0.5), 1.0);
        assert_eq!(km.at(2.5), km.survival[1]);
    }

    #[test]
    fn censoring_distribution_puts_events_first_at_ties() {
        let s = Surv::new(vec![1.0, 2.0, 2.0, 3.0], vec![true, true, false, false]).unwrap();
        let g = Censoring::fit(&s);
        // At t=2: 3 at risk, 1 event leaves 2, of which 1 censored: G = 1/2.
        assert_eq!(g.at(1.0).unwrap(), 1.0);
        assert_eq!(g.at(2.0).unwrap(), 0.5);
        assert_eq!(g.at(3.0).unwrap(), 0.0);
    }
}
