//! Grey-level run-length matrix (16 features): runs of one grey level along each of the 13
//! directions, each direction's features apart, then their mean.

use super::{angles, nanmean, position, Roi};
use std::collections::BTreeMap;

/// One direction's run counts, [level index][run length − 1].
type Matrix = Vec<Vec<f64>>;

fn matrices(roi: &Roi) -> Vec<Matrix> {
    let (n, index, strides, shape) = (roi.levels.len(), roi.level_index(), roi.strides(), roi.shape);
    // Columns for runs up to the box's longest side (PyRadiomics' Nr).
    let nr = *shape.iter().max().expect("3 dimensions");
    let mut out = Vec::new();
    for dir in angles(shape, false) {
        let mut m = vec![vec![0f64; nr]; n];
        let mut multi = false;
        // A line starts at every voxel whose predecessor along `dir` is outside the box.
        for start in 0..roi.grey.len() {
            let p = position(start, strides);
            let before_inside = (0..3).all(|d| {
                let q = p[d] as isize - dir[d];
                q >= 0 && q < shape[d] as isize
            });
            if before_inside {
                continue;
            }
            let (mut q, mut run, mut elements) = (p.map(|v| v as isize), None::<(u32, usize)>, 0);
            loop {
                let i = (q[0] as usize) * strides[0] + (q[1] as usize) * strides[1] + q[2] as usize;
                let g = roi.grey[i];
                if roi.mask[i] {
                    elements += 1;
                    run = match run {
                        Some((h, len)) if h == g => Some((h, len + 1)),
                        Some((h, len)) => {
                            m[index[h as usize]][len - 1] += 1.0;
                            Some((g, 1))
                        }
                        None => Some((g, 1)),
                    };
                } else if let Some((h, len)) = run.take() {
                    m[index[h as usize]][len - 1] += 1.0;
                }
                for d in 0..3 {
                    q[d] += dir[d];
                }
                if (0..3).any(|d| q[d] < 0 || q[d] >= shape[d] as isize) {
                    break;
                }
            }
            if let Some((h, len)) = run {
                m[index[h as usize]][len - 1] += 1.0;
            }
            multi |= elements > 1;
        }
        if !multi {
            // No line holds two ROI voxels: the ROI is flat for this direction. PyRadiomics
            // empties it, and then drops it below.
            m.iter_mut().for_each(|row| row.iter_mut().for_each(|v| *v = 0.0));
        }
        out.push(m);
    }
    let total = |m: &Matrix| m.iter().flatten().sum::<f64>();
    if out.len() > 1 {
        out.retain(|m| total(m) > 0.0);
    }
    out
}

pub fn features(roi: &Roi) -> BTreeMap<&'static str, f64> {
    let ms = matrices(roi);
    let Some(first) = ms.first() else { return BTreeMap::new() };
    // Run lengths that no direction has are removed (they change nothing but the column
    // numbering, which follows the lengths).
    let lengths: Vec<usize> = (0..first[0].len()).filter(|&l| ms.iter().any(|m| m.iter().any(|row| row[l] > 0.0))).collect();
    let iv: Vec<f64> = roi.levels.iter().map(|&g| g as f64).collect();
    let jv: Vec<f64> = lengths.iter().map(|&l| (l + 1) as f64).collect();
    let per: Vec<BTreeMap<&'static str, f64>> = ms
        .iter()
        .map(|m| {
            let p: Vec<Vec<f64>> = m.iter().map(|row| lengths.iter().map(|&l| row[l]).collect()).collect();
            super::zones::emphasis(&p, &iv, &jv, Names::RUNS)
        })
        .collect();
    let mut f = BTreeMap::new();
    for name in per[0].keys() {
        f.insert(*name, nanmean(per.iter().map(|m| m[name])));
    }
    f
}

/// The names one emphasis family takes in each class (GLRLM, GLSZM, GLDM).
pub struct Names {
    pub short: &'static str,
    pub long: &'static str,
    pub gln: &'static str,
    pub glnn: Option<&'static str>,
    pub sn: &'static str,
    pub snn: &'static str,
    pub percentage: Option<&'static str>,
    pub glv: &'static str,
    pub sv: &'static str,
    pub entropy: &'static str,
    pub low: &'static str,
    pub high: &'static str,
    pub short_low: &'static str,
    pub short_high: &'static str,
    pub long_low: &'static str,
    pub long_high: &'static str,
}

impl Names {
    pub const RUNS: Names = Names {
        short: "ShortRunEmphasis",
        long: "LongRunEmphasis",
        gln: "GrayLevelNonUniformity",
        glnn: Some("GrayLevelNonUniformityNormalized"),
        sn: "RunLengthNonUniformity",
        snn: "RunLengthNonUniformityNormalized",
        percentage: Some("RunPercentage"),
        glv: "GrayLevelVariance",
        sv: "RunVariance",
        entropy: "RunEntropy",
        low: "LowGrayLevelRunEmphasis",
        high: "HighGrayLevelRunEmphasis",
        short_low: "ShortRunLowGrayLevelEmphasis",
        short_high: "ShortRunHighGrayLevelEmphasis",
        long_low: "LongRunLowGrayLevelEmphasis",
        long_high: "LongRunHighGrayLevelEmphasis",
    };
}
