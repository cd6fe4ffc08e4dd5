//! Shape (3D, 14 features). Volumes, axes and diameters are PyRadiomics' to rounding; the
//! mesh's area and volume come from `mesh.rs` (see there for how close they are).

use super::{mesh, Roi};
use nalgebra::Matrix3;
use std::collections::BTreeMap;

pub fn features(roi: &Roi) -> BTreeMap<&'static str, f64> {
    let [sz, sy, sx] = roi.spacing;
    let strides = roi.strides();
    let inside: Vec<[usize; 3]> = (0..roi.mask.len()).filter(|&i| roi.mask[i]).map(|i| super::position(i, strides)).collect();
    let np = inside.len() as f64;
    let m = mesh::Mesh::of(roi);
    let diameters = diameters(&m.vertices);
    let axes = axis_eigenvalues(&inside, roi.spacing);
    let sqrt_or_nan = |v: f64| if v < 0.0 { f64::NAN } else { v.sqrt() };
    let mut f = BTreeMap::new();
    f.insert("MeshVolume", m.volume);
    f.insert("VoxelVolume", np * (sz * sx * sy));
    f.insert("SurfaceArea", m.area);
    f.insert("SurfaceVolumeRatio", m.area / m.volume);
    f.insert("Sphericity", (36.0 * std::f64::consts::PI * m.volume * m.volume).powf(1.0 / 3.0) / m.area);
    f.insert("Maximum3DDiameter", diameters[3]);
    f.insert("Maximum2DDiameterSlice", diameters[0]);
    f.insert("Maximum2DDiameterColumn", diameters[1]);
    f.insert("Maximum2DDiameterRow", diameters[2]);
    f.insert("MajorAxisLength", sqrt_or_nan(axes[2]) * 4.0);
    f.insert("MinorAxisLength", sqrt_or_nan(axes[1]) * 4.0);
    f.insert("LeastAxisLength", sqrt_or_nan(axes[0]) * 4.0);
    f.insert("Elongation", if axes[1] < 0.0 || axes[2] < 0.0 { f64::NAN } else { (axes[1] / axes[2]).sqrt() });
    f.insert("Flatness", if axes[0] < 0.0 || axes[2] < 0.0 { f64::NAN } else { (axes[0] / axes[2]).sqrt() });
    f
}

/// The eigenvalues, ascending, of the covariance of the ROI voxels' physical positions.
/// Round-off below zero (> −1e-10) is 0, as in PyRadiomics.
fn axis_eigenvalues(inside: &[[usize; 3]], spacing: [f64; 3]) -> [f64; 3] {
    let n = inside.len() as f64;
    let mut mean = [0.0; 3];
    for p in inside {
        for d in 0..3 {
            mean[d] += p[d] as f64 * spacing[d];
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut c = Matrix3::<f64>::zeros();
    for p in inside {
        let v: Vec<f64> = (0..3).map(|d| (p[d] as f64 * spacing[d] - mean[d]) / n.sqrt()).collect();
        for a in 0..3 {
            for b in 0..3 {
                c[(a, b)] += v[a] * v[b];
            }
        }
    }
    let mut e: Vec<f64> = c.symmetric_eigenvalues().iter().map(|&v| if v < 0.0 && v > -1e-10 { 0.0 } else { v }).collect();
    e.sort_by(f64::total_cmp);
    [e[0], e[1], e[2]]
}

/// Maximum distances between mesh vertices: within one slice (same z), one column (same y),
/// one row (same x), and overall, as [slice, column, row, 3D]. Vertices compare exactly, as
/// PyRadiomics compares them. A pair is skipped when even the farthest it could be (by the
/// triangle inequality through the centroid) cannot beat the best so far, which makes this
/// near-linear for compact shapes instead of quadratic.
pub fn diameters(vertices: &[[f64; 3]]) -> [f64; 4] {
    let mut best = [0f64; 4];
    best[3] = farthest_pair(vertices);
    // Within planes: group by the exact coordinate, and search each group the same way.
    for axis in 0..3 {
        let mut groups: std::collections::HashMap<u64, Vec<[f64; 3]>> = std::collections::HashMap::new();
        for v in vertices {
            groups.entry(v[axis].to_bits()).or_default().push(*v);
        }
        for g in groups.values() {
            best[axis] = best[axis].max(farthest_pair(g));
        }
    }
    best.map(f64::sqrt)
}

/// The largest squared distance between two of `vs` (0 for fewer than two), pruned: points
/// in order of their distance from the centroid, and a pair skipped once the sum of the two
/// distances cannot beat the best so far.
fn farthest_pair(vs: &[[f64; 3]]) -> f64 {
    if vs.is_empty() {
        return 0.0;
    }
    let n = vs.len() as f64;
    let c: Vec<f64> = (0..3).map(|d| vs.iter().map(|v| v[d]).sum::<f64>() / n).collect();
    let mut order: Vec<(f64, usize)> = vs.iter().enumerate().map(|(k, v)| (((v[0] - c[0]).powi(2) + (v[1] - c[1]).powi(2) + (v[2] - c[2]).powi(2)).sqrt(), k)).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best = 0f64;
    for (a, &(ra, ka)) in order.iter().enumerate() {
        if 2.0 * ra < best.sqrt() * (1.0 - 1e-12) {
            break;
        }
        for &(rb, kb) in &order[a + 1..] {
            if ra + rb < best.sqrt() * (1.0 - 1e-12) {
                break;
            }
            best = best.max(dist2(&vs[ka], &vs[kb]));
        }
    }
    best
}

/// The squared distance, summed in PyRadiomics' order so that equal pairs tie exactly.
fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

#[cfg(test)]
mod tests {
    use super::diameters;

    #[test]
    fn diameters_equal_an_exhaustive_search() {
        let mut vs = Vec::new();
        let mut x = 1u64;
        for _ in 0..300 {
            let mut r = || {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((x >> 40) % 9) as f64 * 0.5
            };
            vs.push([r(), r(), r()]);
        }
        let mut want = [0f64; 4];
        for a in 0..vs.len() {
            for b in 0..a {
                let d = super::dist2(&vs[a], &vs[b]);
                for axis in 0..3 {
                    if vs[a][axis] == vs[b][axis] {
                        want[axis] = want[axis].max(d);
                    }
                }
                want[3] = want[3].max(d);
            }
        }
        assert_eq!(diameters(&vs), want.map(f64::sqrt));
    }
}
