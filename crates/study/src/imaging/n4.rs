//! N4 bias-field correction (Tustison et al. 2010, as ITK's N4BiasFieldCorrectionImageFilter):
//! in the log domain, alternately sharpen the intensity histogram (Wiener deconvolution of a
//! Gaussian, 200 bins, FWHM 0.15, noise 0.01) and fit a cubic B-spline to what sharpening
//! removed, over a multi-level control grid that doubles per level; on a shrunk copy of the
//! volume; the final log field is evaluated at full resolution.

use super::bspline::{fit, grid_weights, Lattice};
pub use super::bias_field::{BiasField, FieldError};
use super::nifti_io::memory_order;
use ndarray::{ArrayD, Ix3};
use rustfft::{num_complex::Complex, FftPlanner};

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct N4Options {
    pub shrink: usize,
    /// Iterations per level; the control grid doubles at each level.
    pub iterations: Vec<usize>,
    pub convergence: f64,
    pub bins: usize,
    pub fwhm: f64,
    pub wiener_noise: f64,
    /// Spline spans of the first level (1 span = 4 control points for a cubic spline).
    pub initial_spans: usize,
}

impl Default for N4Options {
    fn default() -> Self {
        N4Options { shrink: 4, iterations: vec![50, 50, 50, 50], convergence: 0.001, bins: 200, fwhm: 0.15, wiener_noise: 0.01, initial_spans: 1 }
    }
}

/// Otsu's threshold over the values (`bins` bins): the mask is what lies above it.
pub fn otsu_threshold(values: &[f32], bins: usize) -> f64 {
    let (lo, hi) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let width = ((hi - lo) as f64 / bins as f64).max(f64::MIN_POSITIVE);
    let mut hist = vec![0.0f64; bins];
    for &x in values {
        hist[(((x - lo) as f64 / width) as usize).min(bins - 1)] += 1.0;
    }
    let total: f64 = hist.iter().sum();
    let sum_all: f64 = hist.iter().enumerate().map(|(i, h)| i as f64 * h).sum();
    let (mut w0, mut sum0, mut best, mut best_k) = (0.0, 0.0, -1.0, 0);
    for (k, h) in hist.iter().enumerate() {
        w0 += h;
        sum0 += k as f64 * h;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let between = w0 * w1 * (sum0 / w0 - (sum_all - sum0) / w1).powi(2);
        if between > best {
            (best, best_k) = (between, k);
        }
    }
    lo as f64 + (best_k + 1) as f64 * width
}

/// Otsu's mask of the volume (1 above the threshold, else 0).
pub fn otsu_mask(v: &ArrayD<f32>, bins: usize) -> ArrayD<f32> {
    let thr = otsu_threshold(&memory_order(v), bins);
    v.mapv(|x| f32::from(u8::from(f64::from(x) > thr)))
}

/// Sharpens the distribution of `values` and returns each value's sharpened counterpart.
fn sharpen(values: &[f64], o: &N4Options, fft: &mut FftPlanner<f64>) -> Vec<f64> {
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let bins = o.bins;
    let slope = (hi - lo) / (bins - 1) as f64;
    if slope <= 0.0 {
        return values.to_vec();
    }
    let mut h = vec![0.0; bins];
    for &v in values {
        let c = (v - lo) / slope;
        let i = (c.floor() as usize).min(bins - 1);
        let off = c - i as f64;
        h[i] += 1.0 - off;
        if i + 1 < bins {
            h[i + 1] += off;
        }
    }
    let padded = 1usize << ((bins as f64).log2().ceil() as u32 + 1);
    let offset = (0.5 * (padded - bins) as f64).floor() as usize;
    let forward = fft.plan_fft_forward(padded);
    let inverse = fft.plan_fft_inverse(padded);
    let mut vf: Vec<Complex<f64>> = vec![Complex::new(0.0, 0.0); padded];
    for (n, x) in h.iter().enumerate() {
        vf[offset + n].re = *x;
    }
    forward.process(&mut vf);
    let fwhm = o.fwhm / slope;
    let exp_factor = 4.0 * std::f64::consts::LN_2 / (fwhm * fwhm);
    let scale = 2.0 * (std::f64::consts::LN_2 / std::f64::consts::PI).sqrt() / fwhm;
    let mut ff: Vec<Complex<f64>> = vec![Complex::new(0.0, 0.0); padded];
    ff[0].re = scale;
    for n in 1..=padded / 2 {
        let g = scale * (-((n * n) as f64) * exp_factor).exp();
        ff[n].re = g;
        ff[padded - n].re = g;
    }
    forward.process(&mut ff);
    let mut uf: Vec<Complex<f64>> = vf.iter().zip(&ff).map(|(v, f)| v * (f.conj() / (f.conj() * f + o.wiener_noise))).collect();
    inverse.process(&mut uf);
    let u: Vec<f64> = uf.iter().map(|c| (c.re / padded as f64).max(0.0)).collect();
    // E[u | v]: (Gaussian ∗ (u·U)) / (Gaussian ∗ U), both by FFT.
    let smooth = |x: Vec<f64>| -> Vec<f64> {
        let mut c: Vec<Complex<f64>> = x.into_iter().map(|r| Complex::new(r, 0.0)).collect();
        forward.process(&mut c);
        for (a, f) in c.iter_mut().zip(&ff) {
            *a *= f;
        }
        inverse.process(&mut c);
        c.iter().map(|z| z.re / padded as f64).collect()
    };
    let num = smooth((0..padded).map(|n| u[n] * (lo + (n as f64 - offset as f64) * slope)).collect());
    let den = smooth(u);
    let e: Vec<f64> = (0..bins).map(|n| if den[n + offset] != 0.0 { num[n + offset] / den[n + offset] } else { 0.0 }).collect();
    values
        .iter()
        .map(|&v| {
            let c = (v - lo) / slope;
            let i = (c.floor() as usize).min(bins - 1);
            if i + 1 < bins { e[i] + (e[i + 1] - e[i]) * (c - i as f64) } else { e[i] }
        })
        .collect()
}

/// Why N4 cannot fit a field to a volume.
#[derive(Debug, thiserror::Error)]
pub enum N4Error {
    #[error("N4 needs a 3D volume, got shape {0:?}")]
    NotThreeD(Vec<usize>),
    #[error("mask shape {mask:?} differs from the volume's {volume:?}")]
    MaskShape { mask: Vec<usize>, volume: Vec<usize> },
    #[error("the mask is empty (no voxel above the Otsu threshold or given)")]
    EmptyMask,
    #[error(transparent)]
    Field(#[from] FieldError),
}

/// Estimates the bias field of `volume` (x, y, z); `mask` (None: Otsu) selects the voxels
/// the field is fitted to.
pub fn n4(volume: &ArrayD<f32>, mask: Option<&ArrayD<f32>>, o: &N4Options) -> Result<BiasField, N4Error> {
    let shape = volume.shape().to_vec();
    if shape.len() != 3 {
        return Err(N4Error::NotThreeD(shape));
    }
    if let Some(m) = mask.filter(|m| m.shape() != volume.shape()) {
        return Err(N4Error::MaskShape { mask: m.shape().to_vec(), volume: shape });
    }
    // Otsu's mask is only looked at where the volume is sampled; no full-size copy of it.
    let threshold = if mask.is_none() { otsu_threshold(&memory_order(volume), 200) } else { 0.0 };
    let mask = mask.map(|m| m.view().into_dimensionality::<Ix3>().expect("same shape as the volume"));
    let in_mask = |v: f32, at: [usize; 3]| match &mask {
        Some(m) => m[at] > 0.5,
        None => f64::from(v) > threshold,
    };
    let s = o.shrink.max(1);
    let n = [shape[0].div_ceil(s), shape[1].div_ceil(s), shape[2].div_ceil(s)];
    // Subsample, as ITK's shrink does: block averages would mix the background into the
    // body's edge and bend the field there.
    let off = (s - 1) / 2;
    let vol3 = volume.view().into_dimensionality::<ndarray::Ix3>().map_err(|_| N4Error::NotThreeD(shape.clone()))?;
    let mut img = vec![0.0f64; n[0] * n[1] * n[2]];
    let mut inside = vec![false; img.len()];
    for z in 0..n[2] {
        for y in 0..n[1] {
            for x in 0..n[0] {
                let (fx, fy, fz) = ((x * s + off).min(shape[0] - 1), (y * s + off).min(shape[1] - 1), (z * s + off).min(shape[2] - 1));
                let k = (z * n[1] + y) * n[0] + x;
                let v = vol3[[fx, fy, fz]];
                img[k] = f64::from(v);
                inside[k] = in_mask(v, [fx, fy, fz]) && v > 0.0;
            }
        }
    }
    if !inside.iter().any(|&b| b) {
        return Err(N4Error::EmptyMask);
    }
    let log_img: Vec<f64> = (0..img.len()).map(|k| if inside[k] { img[k].ln() } else { 0.0 }).collect();
    let idx: Vec<usize> = (0..img.len()).filter(|&k| inside[k]).collect();
    let mut bias = vec![0.0f64; img.len()];
    let mut total: Option<Lattice> = None;
    let mut planner = FftPlanner::new();
    let mut done = Vec::new();
    for (level, &iters) in o.iterations.iter().enumerate() {
        let spans = o.initial_spans << level;
        let w = grid_weights(n, spans);
        let mut acc = Lattice { dims: [spans + 3; 3], phi: vec![0.0; (spans + 3).pow(3)] };
        let mut it = 0;
        while it < iters {
            it += 1;
            let corrected: Vec<f64> = idx.iter().map(|&k| log_img[k] - bias[k]).collect();
            let sharp = sharpen(&corrected, o, &mut planner);
            let mut residual = vec![0.0; img.len()];
            for (j, &k) in idx.iter().enumerate() {
                residual[k] = corrected[j] - sharp[j];
            }
            let lat = fit(n, spans, &w, &residual, &inside);
            let field = lat.evaluate(&w);
            acc.add(&lat);
            // Convergence: the coefficient of variation of exp(field change) in the mask.
            let e: Vec<f64> = idx.iter().map(|&k| field[k].exp()).collect();
            let mu = e.iter().sum::<f64>() / e.len() as f64;
            let sd = (e.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (e.len() as f64 - 1.0).max(1.0)).sqrt();
            for (b, f) in bias.iter_mut().zip(&field) {
                *b += f;
            }
            if sd / mu < o.convergence {
                break;
            }
        }
        done.push(it);
        if let Some(coarser) = total {
            acc.add(&coarser.refine());
        }
        total = Some(acc);
    }
    let spans = o.initial_spans << (o.iterations.len().max(1) - 1);
    let lattice = total.unwrap_or(Lattice { dims: [spans + 3; 3], phi: vec![0.0; (spans + 3).pow(3)] });
    Ok(BiasField::new([shape[0], shape[1], shape[2]], s, lattice, done)?)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::imaging::nifti_io::{read, Volume};
    use ndarray::{IxDyn, ShapeBuilder};

    fn corr(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    /// tests/fixtures/oracles/n4: the biased volume, its masks, the true log bias and SimpleITK's
    /// results on it.
    pub(in crate::imaging) struct Oracle {
        pub vol: Volume,
        pub body: Volume,
        pub tumour: Volume,
        pub truth: Volume,
        pub sitk: serde_json::Value,
    }

    impl Oracle {
        pub fn load() -> Oracle {
            let dir = crate::oracles::oracles_dir().join("n4");
            let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
            let read = |f: &str| read(&dir.join(f)).unwrap();
            let vol = read("volume.nii.gz");
            let shape: [usize; 3] = vol.data.shape().try_into().expect("a 3-D oracle volume");
            let field = crate::oracles::n4_true_log_bias(shape);
            let truth = Volume { data: ArrayD::from_shape_vec(IxDyn(&shape).f(), field).expect("one value per voxel"), header: vol.header.clone() };
            Oracle { body: read("body_mask.nii.gz"), tumour: read("tumor_mask.nii.gz"), truth, vol, sitk: r["sitk_n4_shrink4_otsu"].clone() }
        }

        /// Correlation of the estimated with the true log bias inside the body, and the
        /// coefficient of variation of the corrected non-tumour tissue (both arrays in the
        /// oracle's orientation).
        pub fn accuracy(&self, log_bias: &ArrayD<f32>, corrected: &ArrayD<f32>) -> (f64, f64) {
            let (mut est, mut tru, mut tissue) = (Vec::new(), Vec::new(), Vec::new());
            for (((e, t), b), (tm, c)) in log_bias.iter().zip(self.truth.data.iter()).zip(self.body.data.iter()).zip(self.tumour.data.iter().zip(corrected.iter())) {
                if *b > 0.5 {
                    est.push(f64::from(*e));
                    tru.push(f64::from(*t));
                    if *tm < 0.5 {
                        tissue.push(f64::from(*c));
                    }
                }
            }
            let m = tissue.iter().sum::<f64>() / tissue.len() as f64;
            let cv = (tissue.iter().map(|x| (x - m).powi(2)).sum::<f64>() / tissue.len() as f64).sqrt() / m;
            (corr(&est, &tru), cv)
        }

        /// Correlation ≥ SimpleITK's − 0.01; tissue CV ≤ SimpleITK's × 1.05.
        pub fn assert_as_good_as_simpleitk(&self, what: &str, (c, cv): (f64, f64)) {
            eprintln!("{what}: corr {c:.4} (SimpleITK {}), tissue CV {cv:.4} (SimpleITK {})", self.sitk["corr_logbias"], self.sitk["tissue_cv_after"]);
            assert!(c >= self.sitk["corr_logbias"].as_f64().unwrap() - 0.01, "{what}: correlation {c}");
            assert!(cv <= self.sitk["tissue_cv_after"].as_f64().unwrap() * 1.05, "{what}: tissue CV {cv}");
        }
    }

    /// The true log bias is made again from the generator's formula, not read: its body (the
    /// same formula's ellipsoid) must be the stored body mask voxel for voxel.
    #[test]
    fn the_regenerated_oracle_geometry_is_the_stored_one() {
        let o = Oracle::load();
        let shape: [usize; 3] = o.body.data.shape().try_into().unwrap();
        let body = crate::oracles::n4_body(shape);
        let stored: Vec<bool> = o.body.data.t().iter().map(|&v| v > 0.5).collect();
        assert_eq!(body.iter().filter(|b| **b).count(), 853_886);
        assert!(body == stored, "the body formula and body_mask.nii.gz disagree");
    }

    /// The oracle volume: at least as good as SimpleITK's N4 at shrink 4.
    #[test]
    fn recovers_the_true_bias_as_well_as_simpleitk() {
        let o = Oracle::load();
        let field = n4(&o.vol.data, None, &N4Options::default()).unwrap();
        // Otsu's mask of this volume is its body.
        assert!(otsu_mask(&o.vol.data, 200) == o.body.data);
        let mut corrected = o.vol.data.clone();
        field.correct(&mut corrected).unwrap();
        o.assert_as_good_as_simpleitk(&format!("N4 (iterations {:?})", field.iterations), o.accuracy(&field.log_bias(), &corrected));
    }
}

#[cfg(test)]
#[path = "n4_orientation_tests.rs"]
mod orientation_tests;
