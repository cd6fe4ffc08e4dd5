//! Grey-level size-zone matrix (16 features): 26-connected zones of one grey level, and the
//! emphasis formulas that GLRLM, GLSZM and GLDM share.

use super::runs::Names;
use super::{at, Roi, EPS};
use std::collections::BTreeMap;

pub fn features(roi: &Roi) -> BTreeMap<&'static str, f64> {
    let (index, offsets) = (roi.level_index(), roi.offsets(true));
    let mut seen = vec![false; roi.padded.len()];
    let mut zones: Vec<(usize, usize)> = Vec::new(); // (level index, size)
    let mut stack = Vec::new();
    for &i in &roi.voxels {
        if seen[i] {
            continue;
        }
        let g = roi.padded[i];
        seen[i] = true;
        stack.push(i);
        let mut size = 0;
        while let Some(k) = stack.pop() {
            size += 1;
            for &off in &offsets {
                let j = at(k, off);
                // Padding and voxels outside the ROI hold 0, never a grey level.
                if roi.padded[j] == g && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        zones.push((index[g as usize], size));
    }
    let max = zones.iter().map(|z| z.1).max().unwrap_or(0);
    let mut m = vec![vec![0f64; max]; roi.levels.len()];
    for (l, s) in zones {
        m[l][s - 1] += 1.0;
    }
    let (p, jv) = without_empty_columns(&m);
    let iv: Vec<f64> = roi.levels.iter().map(|&g| g as f64).collect();
    emphasis(&p, &iv, &jv, Names::ZONES)
}

/// Drops the sizes (columns) that no row has, returning the matrix and the sizes kept.
pub fn without_empty_columns(m: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let width = m.first().map_or(0, Vec::len);
    let keep: Vec<usize> = (0..width).filter(|&c| m.iter().any(|row| row[c] > 0.0)).collect();
    let p = m.iter().map(|row| keep.iter().map(|&c| row[c]).collect()).collect();
    (p, keep.iter().map(|&c| (c + 1) as f64).collect())
}

/// The features of a matrix of counts `p[level][size]`, grey levels `iv` and sizes `jv`
/// (run lengths, zone sizes or dependence counts), normalised by the number of runs, zones
/// or voxels it counts.
pub fn emphasis(p: &[Vec<f64>], iv: &[f64], jv: &[f64], names: Names) -> BTreeMap<&'static str, f64> {
    let nz_raw: f64 = p.iter().flatten().sum();
    // PyRadiomics: an empty matrix is divided by 1, not 0.
    let nz = if nz_raw == 0.0 { 1.0 } else { nz_raw };
    let pg: Vec<f64> = p.iter().map(|row| row.iter().sum()).collect();
    let ps: Vec<f64> = (0..jv.len()).map(|c| p.iter().map(|row| row[c]).sum()).collect();
    let np: f64 = ps.iter().zip(jv).map(|(s, j)| s * j).sum();
    let np = if np == 0.0 { 1.0 } else { np };
    let sum_ij = |f: &dyn Fn(f64, f64) -> f64| -> f64 {
        let mut t = 0.0;
        for (row, &i) in p.iter().zip(iv) {
            for (&v, &j) in row.iter().zip(jv) {
                t += v * f(i, j);
            }
        }
        t
    };
    let ui: f64 = pg.iter().zip(iv).map(|(g, i)| g / nz * i).sum();
    let uj: f64 = ps.iter().zip(jv).map(|(s, j)| s / nz * j).sum();
    let mut f = BTreeMap::new();
    f.insert(names.short, ps.iter().zip(jv).map(|(s, j)| s / (j * j)).sum::<f64>() / nz);
    f.insert(names.long, ps.iter().zip(jv).map(|(s, j)| s * j * j).sum::<f64>() / nz);
    let gln_sum: f64 = pg.iter().map(|g| g * g).sum();
    f.insert(names.gln, gln_sum / nz);
    if let Some(glnn) = names.glnn {
        f.insert(glnn, gln_sum / (nz * nz));
    }
    let sn_sum: f64 = ps.iter().map(|s| s * s).sum();
    f.insert(names.sn, sn_sum / nz);
    f.insert(names.snn, sn_sum / (nz * nz));
    if let Some(pct) = names.percentage {
        f.insert(pct, nz / np);
    }
    f.insert(names.glv, pg.iter().zip(iv).map(|(g, i)| g / nz * (i - ui).powi(2)).sum());
    f.insert(names.sv, ps.iter().zip(jv).map(|(s, j)| s / nz * (j - uj).powi(2)).sum());
    f.insert(names.entropy, -p.iter().flatten().map(|v| v / nz * (v / nz + EPS).log2()).sum::<f64>());
    f.insert(names.low, pg.iter().zip(iv).map(|(g, i)| g / (i * i)).sum::<f64>() / nz);
    f.insert(names.high, pg.iter().zip(iv).map(|(g, i)| g * i * i).sum::<f64>() / nz);
    f.insert(names.short_low, sum_ij(&|i, j| 1.0 / (i * i * j * j)) / nz);
    f.insert(names.short_high, sum_ij(&|i, j| i * i / (j * j)) / nz);
    f.insert(names.long_low, sum_ij(&|i, j| j * j / (i * i)) / nz);
    f.insert(names.long_high, sum_ij(&|i, j| j * j * i * i) / nz);
    f
}

impl Names {
    pub const ZONES: Names = Names {
        short: "SmallAreaEmphasis",
        long: "LargeAreaEmphasis",
        gln: "GrayLevelNonUniformity",
        glnn: Some("GrayLevelNonUniformityNormalized"),
        sn: "SizeZoneNonUniformity",
        snn: "SizeZoneNonUniformityNormalized",
        percentage: Some("ZonePercentage"),
        glv: "GrayLevelVariance",
        sv: "ZoneVariance",
        entropy: "ZoneEntropy",
        low: "LowGrayLevelZoneEmphasis",
        high: "HighGrayLevelZoneEmphasis",
        short_low: "SmallAreaLowGrayLevelEmphasis",
        short_high: "SmallAreaHighGrayLevelEmphasis",
        long_low: "LargeAreaLowGrayLevelEmphasis",
        long_high: "LargeAreaHighGrayLevelEmphasis",
    };

    pub const DEPENDENCE: Names = Names {
        short: "SmallDependenceEmphasis",
        long: "LargeDependenceEmphasis",
        gln: "GrayLevelNonUniformity",
        glnn: None,
        sn: "DependenceNonUniformity",
        snn: "DependenceNonUniformityNormalized",
        percentage: None,
        glv: "GrayLevelVariance",
        sv: "DependenceVariance",
        entropy: "DependenceEntropy",
        low: "LowGrayLevelEmphasis",
        high: "HighGrayLevelEmphasis",
        short_low: "SmallDependenceLowGrayLevelEmphasis",
        short_high: "SmallDependenceHighGrayLevelEmphasis",
        long_low: "LargeDependenceLowGrayLevelEmphasis",
        long_high: "LargeDependenceHighGrayLevelEmphasis",
    };
}
