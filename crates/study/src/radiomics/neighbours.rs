//! The two classes built from each voxel's 26 neighbours within the ROI: the grey-level
//! dependence matrix (14 features, α = 0) and the neighbouring grey-tone difference matrix
//! (5 features).

use super::runs::Names;
use super::zones::{emphasis, without_empty_columns};
use super::{angles, at, Roi};
use std::collections::BTreeMap;

/// Calls `f(grey level, grey levels of its neighbours in the ROI)` for every ROI voxel.
fn each_voxel(roi: &Roi, mut f: impl FnMut(u32, &[u32])) {
    let offsets = roi.offsets(true);
    let mut nb = Vec::with_capacity(offsets.len());
    for &i in &roi.voxels {
        nb.clear();
        nb.extend(offsets.iter().map(|&off| roi.padded[at(i, off)]).filter(|&h| h > 0));
        f(roi.padded[i], &nb);
    }
}

pub fn gldm(roi: &Roi) -> BTreeMap<&'static str, f64> {
    let index = roi.level_index();
    let width = 2 * angles(roi.shape, false).len() + 1;
    let mut m = vec![vec![0f64; width]; roi.levels.len()];
    each_voxel(roi, |g, nb| {
        let dependent = nb.iter().filter(|&&h| h == g).count();
        // Column `dependent` is a dependence of dependent + 1: the voxel counts itself.
        m[index[g as usize]][dependent] += 1.0;
    });
    let (p, jv) = without_empty_columns(&m);
    let iv: Vec<f64> = roi.levels.iter().map(|&g| g as f64).collect();
    emphasis(&p, &iv, &jv, Names::DEPENDENCE)
}

pub fn ngtdm(roi: &Roi) -> BTreeMap<&'static str, f64> {
    let index = roi.level_index();
    let (mut n, mut s) = (vec![0f64; roi.levels.len()], vec![0f64; roi.levels.len()]);
    each_voxel(roi, |g, nb| {
        // PyRadiomics: a voxel without neighbours in the ROI counts, with a difference of 0.
        let diff = if nb.is_empty() { 0.0 } else { (g as f64 - nb.iter().map(|&h| h as f64).sum::<f64>() / nb.len() as f64).abs() };
        n[index[g as usize]] += 1.0;
        s[index[g as usize]] += diff;
    });
    let nvp: f64 = n.iter().sum();
    let p: Vec<f64> = n.iter().map(|c| c / nvp).collect();
    let iv: Vec<f64> = roi.levels.iter().map(|&g| g as f64).collect();
    let k = p.len();
    let ngp = p.iter().filter(|&&v| v > 0.0).count() as f64;
    let sum_s: f64 = s.iter().sum();
    let ps: f64 = p.iter().zip(&s).map(|(p, s)| p * s).sum();
    let (mut contrast, mut absdiff, mut complexity, mut strength) = (0.0, 0.0, 0.0, 0.0);
    for a in 0..k {
        for b in 0..k {
            let d = iv[a] - iv[b];
            contrast += p[a] * p[b] * d * d;
            absdiff += (iv[a] * p[a] - iv[b] * p[b]).abs();
            let pair = p[a] + p[b];
            complexity += d.abs() * (p[a] * s[a] + p[b] * s[b]) / if pair == 0.0 { 1.0 } else { pair };
            strength += pair * d * d;
        }
    }
    let div = ngp * (ngp - 1.0);
    let mut f = BTreeMap::new();
    f.insert("Coarseness", if ps == 0.0 { 1e6 } else { 1.0 / ps });
    f.insert("Contrast", if div == 0.0 { 0.0 } else { contrast * sum_s / nvp / div });
    f.insert("Busyness", if absdiff == 0.0 { 0.0 } else { ps / absdiff });
    f.insert("Complexity", complexity / nvp);
    f.insert("Strength", if sum_s == 0.0 { 0.0 } else { strength / sum_s });
    f
}
