//! Grey-level run-length matrix (16 features): runs of one grey level along each of the 13
//! directions, each direction's features apart, then their mean.

use super::{angles, at, nanmean, position, Roi};
use std::collections::BTreeMap;

/// One direction's run counts, [level index][run length − 1].
type Matrix = Vec<Vec<f64>>;

fn matrices(roi: &Roi) -> Vec<Matrix> {
    let (n, index) = (roi.levels.len(), roi.level_index());
    // Columns for runs up to the box's longest side (PyRadiomics' Nr).
    let nr = *roi.shape.iter().max().expect("3 dimensions");
    let mut out = Vec::new();
    for (dir, off) in angles(roi.shape, false).into_iter().zip(roi.offsets(false)) {
        let mut m = vec![vec![0f64; nr]; n];
        let mut longest = 0;
        // A run starts at an ROI voxel whose predecessor along the direction is not of its grey
        // level (outside the ROI, in the padding, or another level), and goes on while the
        // next voxel is: PyRadiomics' runs along each line of the box, found without walking
        // the lines.
        for &i in &roi.voxels {
            let g = roi.padded[i];
            if roi.padded[at(i, -off)] == g {
                continue;
            }
            let (mut len, mut j) = (1, at(i, off));
            while roi.padded[j] == g {
                len += 1;
                j = at(j, off);
            }
            m[index[g as usize]][len - 1] += 1.0;
            longest = longest.max(len);
        }
        // PyRadiomics empties a direction in which no line of the box holds two ROI voxels
        // (then drops it below). A run of two settles it; otherwise the lines are looked at.
        if longest < 2 && !some_line_holds_two(roi, dir) {
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

/// Whether a line of the box along `dir` holds two ROI voxels (not necessarily adjacent).
fn some_line_holds_two(roi: &Roi, dir: [isize; 3]) -> bool {
    let (shape, strides) = (roi.shape, roi.strides());
    (0..roi.mask.len()).any(|start| {
        let p = position(start, strides);
        // Lines start where the predecessor leaves the box.
        if (0..3).all(|d| (0..shape[d] as isize).contains(&(p[d] as isize - dir[d]))) {
            return false;
        }
        let (mut q, mut count) = (p.map(|v| v as isize), 0);
        while (0..3).all(|d| (0..shape[d] as isize).contains(&q[d])) {
            count += usize::from(roi.mask[(q[0] as usize) * strides[0] + (q[1] as usize) * strides[1] + q[2] as usize]);
            for d in 0..3 {
                q[d] += dir[d];
            }
        }
        count >= 2
    })
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
