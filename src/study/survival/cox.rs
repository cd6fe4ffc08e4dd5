//! Cox proportional hazards: Efron's ties (Breslow's as an option), Newton–Raphson with step
//! halving; coefficients, standard errors, Wald and likelihood-ratio tests, hazard ratios.

use super::harrell::harrell;
use super::{Surv, SurvivalError};
use nalgebra::{DMatrix, DVector};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ties {
    Efron,
    Breslow,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct CoxFit {
    pub names: Vec<String>,
    pub coef: Vec<f64>,
    pub se: Vec<f64>,
    pub z: Vec<f64>,
    pub p: Vec<f64>,
    pub hazard_ratio: Vec<f64>,
    pub hr_ci95: Vec<(f64, f64)>,
    pub loglik: f64,
    pub loglik_null: f64,
    pub lr_stat: f64,
    pub lr_p: f64,
    /// Harrell's C of the linear predictor on the fitting data.
    pub concordance: f64,
    pub iterations: usize,
    /// Largest |∂ℓ/∂β| at the estimate: ~0 at the maximum.
    pub max_score: f64,
}

/// Partial log-likelihood, gradient and Hessian at `beta` for centred covariates.
fn derivatives(s: &Surv, x: &DMatrix<f64>, order_desc: &[usize], beta: &DVector<f64>, ties: Ties) -> (f64, DVector<f64>, DMatrix<f64>) {
    let p = x.ncols();
    let eta = x * beta;
    let r: Vec<f64> = eta.iter().map(|e| e.exp()).collect();
    let (mut s0, mut s1, mut s2) = (0.0, DVector::zeros(p), DMatrix::zeros(p, p));
    let (mut ll, mut grad, mut hess) = (0.0, DVector::zeros(p), DMatrix::zeros(p, p));
    let mut k = 0;
    while k < order_desc.len() {
        let t = s.time[order_desc[k]];
        let mut end = k;
        let (mut d0, mut d1, mut d2, mut d) = (0.0, DVector::zeros(p), DMatrix::zeros(p, p), 0usize);
        // Everyone at this time joins the risk set; the events among them form the tie.
        while end < order_desc.len() && s.time[order_desc[end]] == t {
            let i = order_desc[end];
            let xi = x.row(i).transpose();
            let xx = &xi * xi.transpose();
            s0 += r[i];
            s1 += r[i] * &xi;
            s2 += r[i] * &xx;
            if s.event[i] {
                d += 1;
                d0 += r[i];
                d1 += r[i] * &xi;
                d2 += r[i] * &xx;
                ll += eta[i];
                grad += &xi;
            }
            end += 1;
        }
        for l in 0..d {
            let f = if ties == Ties::Efron { l as f64 / d as f64 } else { 0.0 };
            let phi0 = s0 - f * d0;
            let phi1 = &s1 - f * &d1;
            let phi2 = &s2 - f * &d2;
            ll -= phi0.ln();
            grad -= &phi1 / phi0;
            hess -= &phi2 / phi0 - (&phi1 * phi1.transpose()) / (phi0 * phi0);
        }
        k = end;
    }
    (ll, grad, hess)
}

/// Fits the model. `columns[j]` is covariate `names[j]` for every subject.
pub fn fit(s: &Surv, names: &[String], columns: &[Vec<f64>], ties: Ties) -> Result<CoxFit, SurvivalError> {
    let (n, p) = (s.len(), columns.len());
    if s.events() == 0 {
        return Err(SurvivalError::NotEstimable("no events: a Cox model cannot be fitted".into()));
    }
    for (j, c) in columns.iter().enumerate() {
        if c.len() != n {
            return Err(SurvivalError::Invalid(format!("covariate {} has {} values for {n} subjects", names[j], c.len())));
        }
        if c.iter().all(|v| *v == c[0]) {
            return Err(SurvivalError::Invalid(format!("covariate {} is constant, so its coefficient cannot be estimated (singular information)", names[j])));
        }
    }
    // Centring leaves the partial likelihood unchanged and keeps exp() in range.
    let means: Vec<f64> = columns.iter().map(|c| c.iter().sum::<f64>() / n as f64).collect();
    let x = DMatrix::from_fn(n, p, |i, j| columns[j][i] - means[j]);
    let mut order: Vec<usize> = s.order();
    order.reverse();
    let mut beta = DVector::zeros(p);
    let (ll0, _, _) = derivatives(s, &x, &order, &beta, ties);
    let (mut ll, mut grad, mut hess) = (ll0, DVector::zeros(p), DMatrix::zeros(p, p));
    let mut iterations = 0;
    for it in 1..=200 {
        iterations = it;
        let (l, g, h) = derivatives(s, &x, &order, &beta, ties);
        (ll, grad, hess) = (l, g, h);
        let info = -&hess;
        let chol = info.clone().cholesky().ok_or_else(|| singular(names))?;
        let mut step = chol.solve(&grad);
        // Step halving: never accept a step that lowers the likelihood.
        let mut halvings = 0;
        loop {
            let candidate = &beta + &step;
            let (l_new, _, _) = derivatives(s, &x, &order, &candidate, ties);
            if l_new.is_finite() && l_new >= ll - 1e-12 {
                break;
            }
            halvings += 1;
            if halvings > 30 {
                return Err(SurvivalError::NotEstimable("Newton–Raphson could not improve the likelihood (monotone likelihood?)".into()));
            }
            step /= 2.0;
        }
        beta += &step;
        if step.amax() < 1e-10 {
            let (l, g, h) = derivatives(s, &x, &order, &beta, ties);
            (ll, grad, hess) = (l, g, h);
            break;
        }
    }
    let max_score = grad.amax();
    let cov = (-&hess).cholesky().ok_or_else(|| singular(names))?.inverse();
    let se: Vec<f64> = (0..p).map(|j| cov[(j, j)].sqrt()).collect();
    let coef: Vec<f64> = beta.iter().copied().collect();
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    let z: Vec<f64> = coef.iter().zip(&se).map(|(b, s)| b / s).collect();
    let pval: Vec<f64> = z.iter().map(|z| 2.0 * (1.0 - normal.cdf(z.abs()))).collect();
    let q = normal.inverse_cdf(0.975);
    let lr_stat = 2.0 * (ll - ll0);
    let lr_p = 1.0 - ChiSquared::new(p as f64).expect("p ≥ 1").cdf(lr_stat.max(0.0));
    let lp = linear_predictor(&coef, columns);
    let concordance = harrell(s, &lp)?.c;
    Ok(CoxFit {
        names: names.to_vec(),
        hazard_ratio: coef.iter().map(|b| b.exp()).collect(),
        hr_ci95: coef.iter().zip(&se).map(|(b, s)| ((b - q * s).exp(), (b + q * s).exp())).collect(),
        coef,
        se,
        z,
        p: pval,
        loglik: ll,
        loglik_null: ll0,
        lr_stat,
        lr_p,
        concordance,
        iterations,
        max_score,
    })
}

fn singular(names: &[String]) -> SurvivalError {
    SurvivalError::Invalid(format!("the information matrix is singular: covariates {} are collinear", names.join(", ")))
}

/// x·β, uncentred, so subjects with equal covariates get exactly equal scores.
pub fn linear_predictor(coef: &[f64], columns: &[Vec<f64>]) -> Vec<f64> {
    let n = columns.first().map_or(0, Vec::len);
    (0..n).map(|i| coef.iter().zip(columns).map(|(b, c)| b * c[i]).sum()).collect()
}
