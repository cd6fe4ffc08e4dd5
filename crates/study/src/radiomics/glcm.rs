//! Grey-level co-occurrence matrix (24 features): one symmetric matrix per direction of
//! distance 1, each direction's features apart, then their mean (PyRadiomics' default,
//! `weightingNorm: None`).

use super::{at, nanmean, Roi, EPS};
use nalgebra::DMatrix;
use std::collections::BTreeMap;

/// Normalised matrices, one per direction that has any pair, over the grey levels present.
fn matrices(roi: &Roi) -> Vec<Vec<f64>> {
    let offsets = roi.offsets(false);
    let (n, index) = (roi.levels.len(), roi.level_index());
    let mut counts = vec![vec![0f64; n * n]; offsets.len()];
    for &i in &roi.voxels {
        let row = index[roi.padded[i] as usize] * n;
        for (a, &off) in offsets.iter().enumerate() {
            let h = roi.padded[at(i, off)];
            if h > 0 {
                counts[a][row + index[h as usize]] += 1.0;
            }
        }
    }
    let keep_empty = offsets.len() == 1;
    counts
        .into_iter()
        .filter_map(|c| {
            // Symmetric: each pair is counted in both orders.
            let mut m = vec![0f64; n * n];
            for r in 0..n {
                for s in 0..n {
                    m[r * n + s] = c[r * n + s] + c[s * n + r];
                }
            }
            let sum: f64 = m.iter().sum();
            // PyRadiomics drops a direction without pairs (unless it is the only one).
            if sum == 0.0 && !keep_empty {
                return None;
            }
            Some(m.into_iter().map(|v| v / sum).collect())
        })
        .collect()
}

pub fn features(roi: &Roi) -> BTreeMap<&'static str, f64> {
    let per_direction: Vec<BTreeMap<&'static str, f64>> = matrices(roi).iter().map(|p| one(roi, p)).collect();
    let mut f = BTreeMap::new();
    for name in per_direction.first().map(|m| m.keys().copied().collect::<Vec<_>>()).unwrap_or_default() {
        f.insert(name, nanmean(per_direction.iter().map(|m| m[name])));
    }
    f
}

/// The features of one direction's normalised matrix `p` (row-major, levels × levels).
fn one(roi: &Roi, p: &[f64]) -> BTreeMap<&'static str, f64> {
    let n = roi.levels.len();
    let lv: Vec<f64> = roi.levels.iter().map(|&g| g as f64).collect();
    let ng = roi.ng() as usize;
    let at = |r: usize, s: usize| p[r * n + s];
    let px: Vec<f64> = (0..n).map(|r| (0..n).map(|s| at(r, s)).sum()).collect();
    let py: Vec<f64> = (0..n).map(|s| (0..n).map(|r| at(r, s)).sum()).collect();
    let (mut ux, mut uy) = (0.0, 0.0);
    let mut sum_of = vec![0f64; 2 * ng + 1];
    let mut diff_of = vec![0f64; ng];
    for r in 0..n {
        for s in 0..n {
            ux += lv[r] * at(r, s);
            uy += lv[s] * at(r, s);
            sum_of[roi.levels[r] as usize + roi.levels[s] as usize] += at(r, s);
            diff_of[roi.levels[r].abs_diff(roi.levels[s]) as usize] += at(r, s);
        }
    }
    // pxAddy over k = 2 … 2·Ng, pxSuby over k = 0 … Ng − 1.
    let pxy_sum = &sum_of[2..];
    let (mut autocorr, mut prom, mut shade, mut tend, mut contrast) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sigx, mut sigy, mut corm, mut energy, mut hxy, mut hxy1, mut hxy2, mut maxp, mut ss) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0f64, 0.0);
    for r in 0..n {
        for s in 0..n {
            let v = at(r, s);
            let (i, j) = (lv[r], lv[s]);
            let c = i + j - ux - uy;
            autocorr += v * i * j;
            prom += v * c.powi(4);
            shade += v * c.powi(3);
            tend += v * c.powi(2);
            contrast += v * (i - j).abs().powi(2);
            sigx += v * (i - ux).powi(2);
            sigy += v * (j - uy).powi(2);
            corm += v * (i - ux) * (j - uy);
            energy += v * v;
            hxy -= v * (v + EPS).log2();
            hxy1 -= v * (px[r] * py[s] + EPS).log2();
            hxy2 -= px[r] * py[s] * (px[r] * py[s] + EPS).log2();
            maxp = maxp.max(v);
            ss += v * (i - ux).powi(2);
        }
    }
    let (sigx, sigy) = (sigx.sqrt(), sigy.sqrt());
    let correlation = if sigx * sigy == 0.0 { 1.0 } else { corm / (sigx * sigy + EPS) };
    let hx = -px.iter().map(|p| p * (p + EPS).log2()).sum::<f64>();
    let hy = -py.iter().map(|p| p * (p + EPS).log2()).sum::<f64>();
    let div = hx.max(hy);
    let imc1 = if div == 0.0 { 0.0 } else { (hxy - hxy1) / div };
    let imc2 = if hxy2 == hxy { 0.0 } else { (1.0 - (-2.0 * (hxy2 - hxy)).exp()).sqrt() };
    let kd = |k: usize| k as f64;
    let diff_avg: f64 = diff_of.iter().enumerate().map(|(k, v)| kd(k) * v).sum();
    let ngf = ng as f64;
    let mut f = BTreeMap::new();
    f.insert("Autocorrelation", autocorr);
    f.insert("ClusterProminence", prom);
    f.insert("ClusterShade", shade);
    f.insert("ClusterTendency", tend);
    f.insert("Contrast", contrast);
    f.insert("Correlation", correlation);
    f.insert("DifferenceAverage", diff_avg);
    f.insert("DifferenceEntropy", -diff_of.iter().map(|v| v * (v + EPS).log2()).sum::<f64>());
    f.insert("DifferenceVariance", diff_of.iter().enumerate().map(|(k, v)| v * (kd(k) - diff_avg).powi(2)).sum());
    f.insert("Id", diff_of.iter().enumerate().map(|(k, v)| v / (1.0 + kd(k))).sum());
    f.insert("Idm", diff_of.iter().enumerate().map(|(k, v)| v / (1.0 + kd(k).powi(2))).sum());
    f.insert("Idmn", diff_of.iter().enumerate().map(|(k, v)| v / (1.0 + kd(k).powi(2) / (ngf * ngf))).sum());
    f.insert("Idn", diff_of.iter().enumerate().map(|(k, v)| v / (1.0 + kd(k) / ngf)).sum());
    f.insert("Imc1", imc1);
    f.insert("Imc2", imc2);
    f.insert("InverseVariance", diff_of.iter().enumerate().skip(1).map(|(k, v)| v / kd(k).powi(2)).sum());
    f.insert("JointAverage", ux);
    f.insert("JointEnergy", energy);
    f.insert("JointEntropy", hxy);
    f.insert("MCC", mcc(p, &px, &py, n));
    f.insert("MaximumProbability", maxp);
    f.insert("SumAverage", pxy_sum.iter().enumerate().map(|(k, v)| (k + 2) as f64 * v).sum());
    f.insert("SumEntropy", -pxy_sum.iter().map(|v| v * (v + EPS).log2()).sum::<f64>());
    f.insert("SumSquares", ss);
    f
}

/// The maximal correlation coefficient: the square root of the second largest eigenvalue of
/// Q(i, k) = Σ_g p(i, g)·p(k, g) / (px(i)·py(g)). Q is similar to a symmetric matrix
/// (scaled by √px on both sides), whose eigenvalues are real and found exactly; a grey level
/// with no pair in this direction adds an eigenvalue 0. One grey level: 1 (PyRadiomics).
fn mcc(p: &[f64], px: &[f64], py: &[f64], n: usize) -> f64 {
    if n < 2 {
        return 1.0;
    }
    let live: Vec<usize> = (0..n).filter(|&r| px[r] > 0.0).collect();
    let m = live.len();
    let s = DMatrix::from_fn(m, m, |a, b| {
        let (i, k) = (live[a], live[b]);
        let mut q = 0.0;
        for g in (0..n).filter(|&g| py[g] > 0.0) {
            q += p[i * n + g] * p[k * n + g] / py[g];
        }
        q / (px[i].sqrt() * px[k].sqrt())
    });
    let mut eig: Vec<f64> = s.symmetric_eigenvalues().iter().copied().collect();
    eig.resize(n, 0.0);
    eig.sort_by(f64::total_cmp);
    eig[n - 2].sqrt()
}
