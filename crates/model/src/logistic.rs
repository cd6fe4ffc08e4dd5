//! The sanity baseline: L2-penalised logistic regression on the globally pooled frozen
//! features, with scikit-learn's objective (C · Σ log-loss + ½‖w‖², intercept unpenalised),
//! solved by Newton's method in float64. If it scores as well as the fine-tuned tail, the
//! fine-tuning added nothing.

use tch::{Kind, Tensor};

pub struct Logistic {
    mean: Tensor,
    std: Tensor,
    /// Intercept first.
    pub coef: Tensor,
}

impl Logistic {
    /// `x`: (n, p) features; `y`: n labels in {0, 1}. Features are standardised with the
    /// training data's mean and standard deviation (constant ones are left at zero).
    pub fn fit(x: &Tensor, y: &[bool], c: f64) -> Result<Logistic, String> {
        let x = x.to_kind(Kind::Double);
        let (n, p) = (x.size()[0], x.size()[1]);
        let mean = x.mean_dim(&[0i64][..], true, Kind::Double);
        let std = x.std_correction(0, 0, true).clamp_min(1e-12);
        let xa = Tensor::cat(&[Tensor::ones([n, 1], (Kind::Double, x.device())), (&x - &mean) / &std], 1);
        let yt = Tensor::from_slice(&y.iter().map(|&v| v as u8 as f64).collect::<Vec<_>>()).to_device(x.device());
        let penalty = Tensor::ones([p + 1], (Kind::Double, x.device()));
        let _ = penalty.get(0).fill_(0.0);
        let mut w = Tensor::zeros([p + 1], (Kind::Double, x.device()));
        for _ in 0..100 {
            let prob = xa.mv(&w).sigmoid();
            let grad = xa.tr().mv(&(&prob - &yt)) * c + &penalty * &w;
            let weight: Tensor = (&prob * (1.0 - &prob)) * c;
            let h = (xa.tr() * weight.unsqueeze(0)).mm(&xa) + penalty.diag(0);
            let step = Tensor::linalg_solve(&h, &grad, true);
            w -= &step;
            if step.abs().max().double_value(&[]) < 1e-10 {
                return Ok(Logistic { mean, std, coef: w });
            }
        }
        if w.isnan().any().int64_value(&[]) != 0 {
            return Err("the logistic regression diverged".into());
        }
        Ok(Logistic { mean, std, coef: w })
    }

    /// The same predictor on unstandardised rows: (weights, intercept) with
    /// `decision(x) = x·w + b`, the form a linear layer holds.
    pub fn as_linear(&self) -> (Tensor, Tensor) {
        let w = self.coef.narrow(0, 1, self.coef.size()[0] - 1) / self.std.view([-1]);
        let b = self.coef.get(0) - (self.mean.view([-1]) * &w).sum(Kind::Double);
        (w, b)
    }

    /// The linear predictor (log-odds of recurrence) for each row of `x`.
    pub fn decision(&self, x: &Tensor) -> Tensor {
        let z = (x.to_kind(Kind::Double) - &self.mean) / &self.std;
        z.mv(&self.coef.narrow(0, 1, self.coef.size()[0] - 1)) + self.coef.get(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_satisfies_scikit_learns_optimality_conditions() {
        let _rng = super::super::torch_rng();
        // At the optimum of C·Σ log-loss + ½‖w‖² the gradient vanishes: C·Xᵀ(p − y) = −(0, w).
        tch::manual_seed(1);
        let x = Tensor::randn([60, 5], (Kind::Double, tch::Device::Cpu));
        let signal: Vec<f64> = Vec::<f64>::try_from(x.select(1, 0) - x.select(1, 3) * 0.5).unwrap();
        let y: Vec<bool> = signal.iter().enumerate().map(|(i, s)| s + ((i * 7919) % 13) as f64 / 13.0 - 0.5 > 0.0).collect();
        let m = Logistic::fit(&x, &y, 0.5).unwrap();
        let z = (&x - &m.mean) / &m.std;
        let prob = m.decision(&x).sigmoid();
        let yt = Tensor::from_slice(&y.iter().map(|&v| v as u8 as f64).collect::<Vec<_>>());
        let residual = &prob - &yt;
        assert!(residual.sum(Kind::Double).abs().double_value(&[]) < 1e-8, "the intercept's condition");
        let g = z.tr().mv(&residual) * 0.5 + m.coef.narrow(0, 1, 5);
        assert!(g.abs().max().double_value(&[]) < 1e-8);
        // The same predictor as a linear layer holds it.
        let (w, b) = m.as_linear();
        let diff = (x.mv(&w) + b - m.decision(&x)).abs().max().double_value(&[]);
        assert!(diff < 1e-12, "{diff}");
        // And it found the planted direction.
        let w: Vec<f64> = Vec::<f64>::try_from(m.coef.narrow(0, 1, 5)).unwrap();
        assert!(w[0] > 0.5 && w[3] < -0.2, "{w:?}");
    }
}
