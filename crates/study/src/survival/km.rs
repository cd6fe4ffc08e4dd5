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

/// The log-rank test of two groups (`group[i]` true: the first), as lifelines'
/// `logrank_test`: observed minus expected events of the first group over the distinct event
/// times, with the hypergeometric variance; χ² on one degree of freedom.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LogRank {
    pub chi2: f64,
    pub p: f64,
    pub observed: [u64; 2],
    pub expected: [f64; 2],
}

pub fn logrank(s: &Surv, group: &[bool]) -> Result<LogRank, SurvivalError> {
    if group.len() != s.len() {
        return Err(SurvivalError::Invalid(format!("{} group labels for {} subjects", group.len(), s.len())));
    }
    let first = s.subset(&(0..s.len()).filter(|&i| group[i]).collect::<Vec<_>>());
    if first.is_empty() || first.len() == s.len() {
        return Err(SurvivalError::NotEstimable("one of the two groups is empty".into()));
    }
    // Both groups' counts at every distinct time of the whole sample.
    let (all, mine) = (counts(s), counts(&first));
    let (mut k, mut at_risk_1) = (0, first.len() as u64);
    let (mut o_minus_e, mut var, mut expected) = (0.0, 0.0, 0.0);
    for (t, n, d, _) in all {
        let (d1, gone1) = match mine.get(k) {
            Some(&(t1, _, d1, c1)) if t1 == t => {
                k += 1;
                (d1, d1 + c1)
            }
            _ => (0, 0),
        };
        if d > 0 {
            let (n, n1, d) = (n as f64, at_risk_1 as f64, d as f64);
            let e1 = d * n1 / n;
            expected += e1;
            o_minus_e += d1 as f64 - e1;
            if n > 1.0 {
                var += d * (n1 / n) * (1.0 - n1 / n) * (n - d) / (n - 1.0);
            }
        }
        at_risk_1 -= gone1;
    }
    if var <= 0.0 {
        return Err(SurvivalError::NotEstimable("no events to compare".into()));
    }
    let chi2 = o_minus_e * o_minus_e / var;
    // χ² on one degree of freedom: P(X > x) = erfc(√(x/2)), exact in the far tail too.
    let p = statrs::function::erf::erfc((chi2 / 2.0).sqrt());
    let events = s.events() as f64;
    Ok(LogRank { chi2, p, observed: [first.events() as u64, (s.events() - first.events()) as u64], expected: [expected, events - expected] })
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
