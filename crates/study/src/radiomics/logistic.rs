//! L2-penalised logistic regression in float64 (nalgebra): scikit-learn's objective,
//! C · Σ log-loss + ½‖w‖² with the intercept unpenalised, on features standardised with the
//! training rows' mean and (population) standard deviation, solved by Newton's method. The
//! same model as the network's linear probe (dag-model's `Logistic`, on libtorch), so the two
//! baselines differ only in what they read.
//!
//! One difference: a held-out row's features are clamped to the range the training rows
//! spanned. Radiomics features are heavy-tailed (a kurtosis of 300, a coarseness of 10⁶ when
//! a ROI has no grey-tone difference), and a feature that is almost constant in training gets
//! a tiny standard deviation: one unusual held-out tumour then scored −10⁷.

use nalgebra::{DMatrix, DVector};

pub struct Logistic {
    mean: Vec<f64>,
    /// Each feature's training range.
    range: Vec<(f64, f64)>,
    /// 0 for a feature constant on the training rows: it is then left out (weight 0).
    scale: Vec<f64>,
    /// Intercept first.
    pub coef: DVector<f64>,
}

impl Logistic {
    /// `x`: n rows of p features; `y`: n labels.
    pub fn fit(x: &[Vec<f64>], y: &[bool], c: f64) -> Result<Logistic, String> {
        let (n, p) = (x.len(), x.first().map_or(0, Vec::len));
        if n == 0 || y.len() != n {
            return Err(format!("{n} rows and {} labels", y.len()));
        }
        let mean: Vec<f64> = (0..p).map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64).collect();
        let scale: Vec<f64> = (0..p)
            .map(|j| {
                let sd = (x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64).sqrt();
                if sd > 0.0 && sd.is_finite() { sd } else { 0.0 }
            })
            .collect();
        let range = (0..p).map(|j| x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| (lo.min(r[j]), hi.max(r[j])))).collect();
        let m = Logistic { mean, range, scale, coef: DVector::zeros(p + 1) };
        let xa = m.design(x);
        let yv = DVector::from_iterator(n, y.iter().map(|&v| f64::from(u8::from(v))));
        let mut penalty = DVector::from_element(p + 1, 1.0);
        penalty[0] = 0.0;
        let mut w = DVector::zeros(p + 1);
        for _ in 0..100 {
            let prob = (&xa * &w).map(sigmoid);
            let grad = xa.transpose() * (&prob - &yv) * c + penalty.component_mul(&w);
            let weight = prob.map(|q| q * (1.0 - q) * c);
            let mut h = xa.transpose() * DMatrix::from_diagonal(&weight) * &xa;
            for k in 0..=p {
                h[(k, k)] += penalty[k];
            }
            let step = h.lu().solve(&grad).ok_or("the logistic regression's Hessian is singular")?;
            w -= &step;
            if step.amax() < 1e-10 {
                break;
            }
        }
        if w.iter().any(|v| !v.is_finite()) {
            return Err("the logistic regression diverged".into());
        }
        Ok(Logistic { coef: w, ..m })
    }

    /// Rows standardised, with a leading 1 for the intercept.
    fn design(&self, x: &[Vec<f64>]) -> DMatrix<f64> {
        let p = self.mean.len();
        DMatrix::from_fn(x.len(), p + 1, |i, j| {
            if j == 0 {
                1.0
            } else if self.scale[j - 1] == 0.0 {
                0.0
            } else {
                let (lo, hi) = self.range[j - 1];
                (x[i][j - 1].clamp(lo, hi) - self.mean[j - 1]) / self.scale[j - 1]
            }
        })
    }

    /// The linear predictor (log-odds) of each row.
    pub fn decision(&self, x: &[Vec<f64>]) -> Vec<f64> {
        (self.design(x) * &self.coef).iter().copied().collect()
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_satisfies_scikit_learns_optimality_conditions() {
        // At the optimum the gradient vanishes: C·Zᵀ(p − y) = −(0, w), Z the standardised rows.
        let mut s = 7u64;
        let mut r = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let x: Vec<Vec<f64>> = (0..80).map(|_| vec![r() * 3.0, r(), 5.0, r() * 10.0 + 2.0]).collect();
        let y: Vec<bool> = x.iter().map(|row| row[0] - 0.1 * row[3] + r() > 0.0).collect();
        let c = 0.5;
        let m = Logistic::fit(&x, &y, c).unwrap();
        let z = m.design(&x);
        let prob: Vec<f64> = m.decision(&x).into_iter().map(sigmoid).collect();
        let residual = DVector::from_iterator(80, prob.iter().zip(&y).map(|(p, &y)| p - f64::from(u8::from(y))));
        let g = z.transpose() * residual * c;
        assert!(g[0].abs() < 1e-8, "the intercept's condition: {}", g[0]);
        for k in 1..5 {
            assert!((g[k] + m.coef[k]).abs() < 1e-8, "feature {k}: {} vs {}", g[k], m.coef[k]);
        }
        // The constant feature has no weight.
        assert_eq!(m.coef[3], 0.0);
        // A held-out row beyond the training range scores as the range's edge.
        let far = m.decision(&[vec![1e9, 0.0, 5.0, 0.0]])[0];
        let edge = m.decision(&[vec![x.iter().map(|r| r[0]).fold(f64::MIN, f64::max), 0.0, 5.0, 0.0]])[0];
        assert_eq!(far, edge);
    }
}
