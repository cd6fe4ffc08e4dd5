//! First-order statistics of the ROI's intensities (18 features), as numpy computes them.

use super::{Roi, EPS};
use std::collections::BTreeMap;

pub fn features(roi: &Roi) -> BTreeMap<&'static str, f64> {
    let x = &roi.values;
    let n = x.len() as f64;
    let mut sorted = x.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = x.iter().sum::<f64>() / n;
    let moment = |k: i32| x.iter().map(|v| (v - mean).powi(k)).sum::<f64>() / n;
    let (m2, m3, m4) = (moment(2), moment(3), moment(4));
    // PyRadiomics: a flat ROI has skewness 0 and kurtosis 0 rather than 0/0.
    let (skew, kurt) = if m2 == 0.0 { (0.0, 0.0) } else { (m3 / m2.powf(1.5), m4 / (m2 * m2)) };
    let energy = x.iter().map(|v| v * v).sum::<f64>();
    // SimpleITK's spacing is (x, y, z); its product is the voxel's volume in mm³.
    let voxel_mm3 = roi.spacing[2] * roi.spacing[1] * roi.spacing[0];
    let (p10, p90) = (percentile(&sorted, 10.0), percentile(&sorted, 90.0));
    let robust: Vec<f64> = x.iter().copied().filter(|&v| v >= p10 && v <= p90).collect();
    let robust_mean = robust.iter().sum::<f64>() / robust.len() as f64;
    let p = grey_level_probabilities(roi);
    let mut f = BTreeMap::new();
    f.insert("Energy", energy);
    f.insert("TotalEnergy", energy * voxel_mm3);
    f.insert("Entropy", -p.iter().map(|p| p * (p + EPS).log2()).sum::<f64>());
    f.insert("Minimum", sorted[0]);
    f.insert("10Percentile", p10);
    f.insert("90Percentile", p90);
    f.insert("Maximum", sorted[sorted.len() - 1]);
    f.insert("Mean", mean);
    f.insert("Median", percentile(&sorted, 50.0));
    f.insert("InterquartileRange", percentile(&sorted, 75.0) - percentile(&sorted, 25.0));
    f.insert("Range", sorted[sorted.len() - 1] - sorted[0]);
    f.insert("MeanAbsoluteDeviation", x.iter().map(|v| (v - mean).abs()).sum::<f64>() / n);
    f.insert("RobustMeanAbsoluteDeviation", robust.iter().map(|v| (v - robust_mean).abs()).sum::<f64>() / robust.len() as f64);
    f.insert("RootMeanSquared", (energy / n).sqrt());
    f.insert("Skewness", skew);
    f.insert("Kurtosis", kurt);
    f.insert("Variance", m2.sqrt().powi(2));
    f.insert("Uniformity", p.iter().map(|p| p * p).sum());
    f
}

/// The share of ROI voxels at each grey level present.
fn grey_level_probabilities(roi: &Roi) -> Vec<f64> {
    let index = roi.level_index();
    let mut counts = vec![0usize; roi.levels.len()];
    for &i in &roi.voxels {
        counts[index[roi.padded[i] as usize]] += 1;
    }
    let n = roi.values.len() as f64;
    counts.into_iter().map(|c| c as f64 / n).collect()
}

/// numpy's default (`linear`) percentile of sorted values, with its interpolation: from the
/// lower value below t = 0.5, from the upper one at or above it.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let vi = (q / 100.0) * (sorted.len() - 1) as f64;
    let lo = vi.floor();
    let t = vi - lo;
    let lo = lo as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    let d = b - a;
    if t >= 0.5 { b - d * (1.0 - t) } else { a + d * t }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_interpolate_as_numpy() {
        // np.percentile([1, 2, 4, 8, 16], [10, 25, 50, 90]) = [1.4, 2, 4, 12.8]
        let s = [1.0, 2.0, 4.0, 8.0, 16.0];
        let got: Vec<f64> = [10.0, 25.0, 50.0, 90.0].iter().map(|&q| percentile(&s, q)).collect();
        for (g, w) in got.iter().zip([1.4, 2.0, 4.0, 12.8]) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
    }
}
