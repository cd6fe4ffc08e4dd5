//! The Kang, Chen, Petrick & Gallas (2015, Stat Med 34:685) test for two correlated
//! C-indices, as R's compareC 1.3.3 computes it (U-statistics, delta method, two-sided
//! normal p). Formulas: tests/fixtures/oracles/README.md.
//!
//! compareC's sums run over all ordered pairs, O(n²). Every one of them is a count over pairs
//! ordered by time and by score, so here they come from sorted sweeps with Fenwick trees and
//! one two-dimensional dominance count: O(n log² n).

use super::fenwick::{Dominance, Fenwick};
use super::{Surv, SurvivalError};
use statrs::distribution::{ContinuousCDF, Normal};

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct KangTest {
    /// [C_a, C_b]: Harrell's C of each risk score.
    pub c: [f64; 2],
    pub delta_c: f64,
    /// Variance of C_a − C_b.
    pub var: f64,
    pub z: f64,
    pub p: f64,
}

/// Per-subject row sums and pair totals of the kernels A = K², B = K·sign(Δy), G = K·sign(Δz).
pub(crate) struct Sums {
    pub ra: Vec<f64>,
    pub rb: Vec<f64>,
    pub rg: Vec<f64>,
    /// Σ A·[y_i ≠ y_j], Σ A·[z_i ≠ z_j], Σ A·sign(Δy)·sign(Δz).
    pub s_bb: f64,
    pub s_gg: f64,
    pub s_bg: f64,
}

fn dense_ranks(v: &[f64]) -> (Vec<usize>, usize) {
    let mut sorted: Vec<f64> = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    (v.iter().map(|x| sorted.partition_point(|s| s < x)).collect(), sorted.len())
}

pub(crate) fn sums(s: &Surv, y: &[f64], z: &[f64]) -> Sums {
    let n = s.len();
    let (ry, ny) = dense_ranks(y);
    let (rz, nz) = dense_ranks(z);
    // Order by time; within a time, events before censorings. Then an event's "later" set
    // (the subjects it fails before) is a suffix: from the group's first censored subject on.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| s.time[a].total_cmp(&s.time[b]).then(s.event[b].cmp(&s.event[a])));
    let mut suffix_start = vec![n; n];
    let mut k = 0;
    while k < n {
        let t = s.time[order[k]];
        let mut end = k;
        while end < n && s.time[order[end]] == t {
            end += 1;
        }
        let first_censored = (k..end).find(|&p| !s.event[order[p]]).unwrap_or(end);
        for p in k..end {
            suffix_start[order[p]] = first_censored;
        }
        k = end;
    }
    let mut ra = vec![0.0; n];
    let mut rb = vec![0.0; n];
    let mut rg = vec![0.0; n];
    let (mut s_bb, mut s_gg, mut s_bg) = (0.0, 0.0, 0.0);
    // Quadrant counts over each event's later set, with every pair counted from its event side.
    let pts_ll: Vec<(usize, usize)> = (0..n).map(|i| (ry[i], rz[i])).collect();
    let flip = |p: &[(usize, usize)], fx: bool, fy: bool| -> Vec<(usize, usize)> {
        p.iter().map(|&(a, b)| (if fx { ny - 1 - a } else { a }, if fy { nz - 1 - b } else { b })).collect()
    };
    let quads: Vec<Vec<(usize, usize)>> = vec![pts_ll.clone(), flip(&pts_ll, true, true), flip(&pts_ll, false, true), flip(&pts_ll, true, false)];
    let mut doms: Vec<Dominance> = quads.iter().map(|q| Dominance::new(ny.max(nz).max(1), q)).collect();
    let (mut fy, mut fz) = (Fenwick::new(ny), Fenwick::new(nz));
    let mut inserted = n;
    // Walk positions from the end; before handling an event, insert exactly its later set.
    let mut events_by_pos: Vec<usize> = (0..n).filter(|&p| s.event[order[p]]).collect();
    events_by_pos.sort_by_key(|&p| std::cmp::Reverse(suffix_start[order[p]]));
    for p in events_by_pos {
        let i = order[p];
        while inserted > suffix_start[i] {
            inserted -= 1;
            let j = order[inserted];
            fy.add(ry[j], 1.0);
            fz.add(rz[j], 1.0);
            for (d, q) in doms.iter_mut().zip(&quads) {
                d.insert(q[j].0, q[j].1);
            }
        }
        let m = fy.total();
        let (y_lo, y_eq) = (fy.below(ry[i]), fy.at(ry[i]));
        let (z_lo, z_eq) = (fz.below(rz[i]), fz.at(rz[i]));
        let (y_hi, z_hi) = (m - y_lo - y_eq, m - z_lo - z_eq);
        // i fails first: K_ij = −1 for j in the later set, and K_ji = +1.
        ra[i] += m;
        rb[i] -= y_lo - y_hi;
        rg[i] -= z_lo - z_hi;
        s_bb += 2.0 * (m - y_eq);
        s_gg += 2.0 * (m - z_eq);
        let q: Vec<f64> = doms.iter().zip(&quads).map(|(d, qq)| d.count_below(qq[i].0, qq[i].1) as f64).collect();
        s_bg += 2.0 * (q[0] + q[1] - q[2] - q[3]);
    }
    // The other side of each pair: j's row gains +sign(y_j − y_i) for every event i before it.
    // Sweep from the start, inserting events once they precede the subjects that follow.
    let (mut ey, mut ez) = (Fenwick::new(ny), Fenwick::new(nz));
    let mut evs: Vec<usize> = (0..n).filter(|&p| s.event[order[p]]).collect();
    evs.sort_by_key(|&p| suffix_start[order[p]]);
    let mut e = 0;
    for p in 0..n {
        let j = order[p];
        // Events whose later set contains position p: suffix_start ≤ p.
        while e < evs.len() && suffix_start[order[evs[e]]] <= p {
            let i = order[evs[e]];
            ey.add(ry[i], 1.0);
            ez.add(rz[i], 1.0);
            e += 1;
        }
        let m = ey.total();
        let (y_lo, y_eq) = (ey.below(ry[j]), ey.at(ry[j]));
        let (z_lo, z_eq) = (ez.below(rz[j]), ez.at(rz[j]));
        ra[j] += m;
        rb[j] += y_lo - (m - y_lo - y_eq);
        rg[j] += z_lo - (m - z_lo - z_eq);
    }
    Sums { ra, rb, rg, s_bb, s_gg, s_bg }
}

/// Compares the C-indices of two risk scores on the same subjects (higher = riskier).
pub fn kang(s: &Surv, risk_a: &[f64], risk_b: &[f64]) -> Result<KangTest, SurvivalError> {
    let n = s.len();
    if n < 4 {
        return Err(SurvivalError::Invalid(format!("the Kang test needs at least 4 subjects, got {n}")));
    }
    if risk_a.len() != n || risk_b.len() != n {
        return Err(SurvivalError::Invalid("both scores need one value per subject".into()));
    }
    // compareC's C is P(longer survivor has the higher score): it is given −risk.
    let y: Vec<f64> = risk_a.iter().map(|r| -r).collect();
    let z: Vec<f64> = risk_b.iter().map(|r| -r).collect();
    let sm = sums(s, &y, &z);
    let nf = n as f64;
    let nn = nf * (nf - 1.0);
    let den = nn * (nf - 2.0) * (nf - 3.0);
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let cov = |r1: &[f64], r2: &[f64], s12: f64| (4.0 * dot(r1, r2) - 2.0 * s12 - 2.0 * (2.0 * nf - 3.0) * sum(r1) * sum(r2) / nn) / den;
    let (t11, t12, t13) = (sum(&sm.ra) / nn, sum(&sm.rb) / nn, sum(&sm.rg) / nn);
    if t11 == 0.0 {
        return Err(SurvivalError::NotEstimable("no comparable pairs".into()));
    }
    let var_t11 = cov(&sm.ra, &sm.ra, sum(&sm.ra));
    let var_t12 = cov(&sm.rb, &sm.rb, sm.s_bb);
    let var_t13 = cov(&sm.rg, &sm.rg, sm.s_gg);
    let cov_1112 = cov(&sm.ra, &sm.rb, sum(&sm.rb));
    let cov_1113 = cov(&sm.ra, &sm.rg, sum(&sm.rg));
    let cov_1213 = cov(&sm.rb, &sm.rg, sm.s_bg);
    let (cy, cz) = ((t12 / t11 + 1.0) / 2.0, (t13 / t11 + 1.0) / 2.0);
    let g2 = [1.0 / t11, -t12 / (t11 * t11)];
    let g3 = [1.0 / t11, -t13 / (t11 * t11)];
    let quad = |a: [f64; 2], m: [[f64; 2]; 2], b: [f64; 2]| {
        a[0] * (m[0][0] * b[0] + m[0][1] * b[1]) + a[1] * (m[1][0] * b[0] + m[1][1] * b[1])
    };
    let var_y = quad(g2, [[var_t12, cov_1112], [cov_1112, var_t11]], g2) / 4.0;
    let var_z = quad(g3, [[var_t13, cov_1113], [cov_1113, var_t11]], g3) / 4.0;
    let cv = quad(g2, [[cov_1213, cov_1112], [cov_1113, var_t11]], g3) / 4.0;
    let var = var_y + var_z - 2.0 * cv;
    if var.is_nan() || var <= 0.0 {
        return Err(SurvivalError::NotEstimable(format!("the variance of the difference is {var} (identical scores?)")));
    }
    let z = (cy - cz) / var.sqrt();
    let p = 2.0 * (1.0 - Normal::new(0.0, 1.0).expect("standard normal").cdf(z.abs()));
    Ok(KangTest { c: [cy, cz], delta_c: cy - cz, var, z, p })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// compareC's sums pair by pair (the numpy port's definition), to check the sweeps.
    fn brute(s: &Surv, y: &[f64], z: &[f64]) -> Sums {
        let n = s.len();
        let sign = |v: f64| if v > 0.0 { 1.0 } else if v < 0.0 { -1.0 } else { 0.0 };
        let (t, d) = (&s.time, &s.event);
        let mut out = Sums { ra: vec![0.0; n], rb: vec![0.0; n], rg: vec![0.0; n], s_bb: 0.0, s_gg: 0.0, s_bg: 0.0 };
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let k = if (t[i] > t[j] && d[j]) || (t[i] == t[j] && !d[i] && d[j]) {
                    1.0
                } else if (t[i] < t[j] && d[i]) || (t[i] == t[j] && d[i] && !d[j]) {
                    -1.0
                } else {
                    0.0
                };
                let (a, b, g) = (k * k, k * sign(y[i] - y[j]), k * sign(z[i] - z[j]));
                out.ra[i] += a;
                out.rb[i] += b;
                out.rg[i] += g;
                out.s_bb += b * b;
                out.s_gg += g * g;
                out.s_bg += b * g;
            }
        }
        out
    }

    #[test]
    fn sweeps_equal_the_pairwise_sums_with_ties() {
        let mut next = super::super::test_uniforms(11);
        for _ in 0..30 {
            let n = 50;
            let s = Surv::new((0..n).map(|_| (next() * 6.0).floor()).collect(), (0..n).map(|_| next() < 0.6).collect()).unwrap();
            let y: Vec<f64> = (0..n).map(|_| (next() * 4.0).floor()).collect();
            let z: Vec<f64> = (0..n).map(|_| (next() * 7.0).floor()).collect();
            let (a, b) = (sums(&s, &y, &z), brute(&s, &y, &z));
            assert_eq!(a.ra, b.ra);
            assert_eq!(a.rb, b.rb);
            assert_eq!(a.rg, b.rg);
            assert_eq!((a.s_bb, a.s_gg, a.s_bg), (b.s_bb, b.s_gg, b.s_bg));
        }
    }

    #[test]
    fn fewer_than_four_subjects_is_an_error() {
        let s = Surv::new(vec![1.0, 2.0, 3.0], vec![true, true, false]).unwrap();
        assert!(matches!(kang(&s, &[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Err(SurvivalError::Invalid(_))));
    }
}
