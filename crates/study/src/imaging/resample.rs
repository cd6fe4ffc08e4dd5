//! Resampling a volume to a target voxel spacing, as ITK's ResampleImageFilter does with an
//! identity transform and the input's origin and direction: output voxel i′ sits at input
//! continuous index i′ · s′ / s along each axis; the output has round(n · s / s′) voxels.
//! Linear interpolation for images, nearest neighbour for masks; points beyond half a voxel
//! outside the input are 0.

use ndarray::{ArrayD, Ix3, IxDyn, ShapeBuilder};
use std::borrow::Cow;
use nifti::NiftiHeader;

/// Per axis: where the output's voxel k falls in the input (lower neighbour, its weight), or
/// None outside the input.
fn axis_taps(n_in: usize, n_out: usize, step: f64, nearest: bool) -> Vec<Tap> {
    (0..n_out)
        .map(|k| {
            let x = k as f64 * step;
            if x < -0.5 || x > n_in as f64 - 0.5 {
                return None;
            }
            if nearest {
                let i = (x.round() as usize).min(n_in - 1);
                return Some((i, i, 0.0));
            }
            let lo = x.floor().max(0.0) as usize;
            let lo = lo.min(n_in - 1);
            let hi = (lo + 1).min(n_in - 1);
            Some((lo, hi, (x - lo as f64).clamp(0.0, 1.0) as f32))
        })
        .collect()
}

/// The output shape for `target` spacing (None keeps an axis as it is).
pub fn output_shape(shape: &[usize], spacing: &[f64], target: &[Option<f64>; 3]) -> [usize; 3] {
    let mut out = [0; 3];
    for a in 0..3 {
        out[a] = match target[a] {
            Some(t) => ((shape[a] as f64 * spacing[a] / t).round() as usize).max(1),
            None => shape[a],
        };
    }
    out
}

/// Resamples `v` (x, y, z). Trilinear interpolation is separable, so it runs as one pass
/// per axis (x, then y, then z: the same arithmetic, in the same order, as interpolating
/// each output voxel from its eight neighbours), skips the axes kept as they are, and goes
/// slice by slice so that only the input and the output are volume-sized.
pub fn resample(v: &ArrayD<f32>, spacing: &[f64], target: &[Option<f64>; 3], nearest: bool) -> Result<ArrayD<f32>, String> {
    let v3 = v.view().into_dimensionality::<Ix3>().map_err(|_| format!("resampling needs a 3D volume, got shape {:?}", v.shape()))?;
    let dims = [v3.shape()[0], v3.shape()[1], v3.shape()[2]];
    let out = output_shape(&dims, spacing, target);
    let taps: Vec<Option<Vec<Tap>>> = (0..3).map(|a| target[a].map(|t| axis_taps(dims[a], out[a], t / spacing[a], nearest))).collect();
    // x fastest, as NIfTI stores voxels; borrowed when the volume already is.
    let data: Cow<'_, [f32]> = match v3.t().to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(v3.t().iter().copied().collect()),
    };
    // Input slice z resampled in-plane.
    let (plane_in, plane_out) = (dims[0] * dims[1], out[0] * out[1]);
    let plane = |z: usize| -> Vec<f32> {
        let mut p = Cow::Borrowed(&data[z * plane_in..][..plane_in]);
        let mut d = [dims[0], dims[1], 1];
        for axis in 0..2 {
            if let Some(t) = &taps[axis] {
                p = Cow::Owned(pass(&p, d, axis, t));
                d[axis] = out[axis];
            }
        }
        p.into_owned()
    };
    let mut result = vec![0.0f32; plane_out * out[2]];
    let identity: Vec<Tap> = (0..dims[2]).map(|z| Some((z, z, 0.0))).collect();
    // At most the two input planes this output slice needs, kept for the next one:
    // consecutive output slices mostly share their neighbours.
    let mut recent: Vec<(usize, Vec<f32>)> = Vec::new();
    for (k, tap) in taps[2].as_ref().unwrap_or(&identity).iter().enumerate() {
        let Some((z0, z1, w)) = *tap else { continue };
        for z in [z0, z1] {
            if !recent.iter().any(|(c, _)| *c == z) {
                recent.retain(|(c, _)| *c == z0 || *c == z1);
                recent.push((z, plane(z)));
            }
        }
        let get = |z: usize| &recent.iter().find(|(c, _)| *c == z).expect("just computed").1;
        for ((d, a), b) in result[k * plane_out..][..plane_out].iter_mut().zip(get(z0)).zip(get(z1)) {
            *d = a + (b - a) * w;
        }
    }
    ArrayD::from_shape_vec(IxDyn(&out).f(), result).map_err(|e| e.to_string())
}

/// Where an output voxel falls along one axis: lower and upper input neighbour and the
/// upper one's weight; None outside the input.
type Tap = Option<(usize, usize, f32)>;

/// Interpolates `data` (x fastest, `dims`) along one axis at `taps`; outside the input is 0.
fn pass(data: &[f32], dims: [usize; 3], axis: usize, taps: &[Tap]) -> Vec<f32> {
    let (stride, outer): (usize, usize) = (dims[..axis].iter().product(), dims[axis + 1..].iter().product());
    let (n, m) = (dims[axis], taps.len());
    let mut out = vec![0.0f32; stride * m * outer];
    if stride == 1 {
        // Along x: a gather within each row.
        for (src, dst) in data.chunks_exact(n).zip(out.chunks_exact_mut(m)) {
            for (d, tap) in dst.iter_mut().zip(taps) {
                if let Some((lo, hi, w)) = *tap {
                    *d = src[lo] + (src[hi] - src[lo]) * w;
                }
            }
        }
        return out;
    }
    for o in 0..outer {
        for (k, tap) in taps.iter().enumerate() {
            let Some((lo, hi, w)) = *tap else { continue };
            let dst = &mut out[(o * m + k) * stride..][..stride];
            let (a, b) = (&data[(o * n + lo) * stride..][..stride], &data[(o * n + hi) * stride..][..stride]);
            for ((d, a), b) in dst.iter_mut().zip(a).zip(b) {
                *d = a + (b - a) * w;
            }
        }
    }
    out
}

/// The header of the resampled volume: new dimensions and pixel sizes, and the affine's
/// columns scaled so the first voxel stays where it was.
pub fn resampled_header(like: &NiftiHeader, spacing: &[f64], target: &[Option<f64>; 3], shape: [usize; 3]) -> NiftiHeader {
    let mut h = like.clone();
    for a in 0..3 {
        h.dim[a + 1] = shape[a] as u16;
        let f = target[a].map_or(1.0, |t| t / spacing[a]);
        h.pixdim[a + 1] = (f64::from(like.pixdim[a + 1]) * f) as f32;
        for row in [&mut h.srow_x, &mut h.srow_y, &mut h.srow_z] {
            row[a] = (f64::from(row[a]) * f) as f32;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_the_spacing_interpolates_between_voxels() {
        // A ramp along x: linear interpolation reproduces it exactly on the finer grid.
        let v = ArrayD::from_shape_fn(IxDyn(&[4, 2, 2]), |i| (i[0] * 10) as f32);
        let r = resample(&v, &[2.0, 1.0, 1.0], &[Some(1.0), None, None], false).unwrap();
        assert_eq!(r.shape(), &[8, 2, 2]);
        let row: Vec<f32> = (0..8).map(|x| r[[x, 0, 0]]).collect();
        // Index 7 maps to input 3.5: within half a voxel, clamped to the last value.
        assert_eq!(row, vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 30.0]);
        let m = resample(&v, &[2.0, 1.0, 1.0], &[Some(1.0), None, None], true).unwrap();
        let labels: Vec<f32> = (0..8).map(|x| m[[x, 0, 0]]).collect();
        assert!(labels.iter().all(|l| [0.0, 10.0, 20.0, 30.0].contains(l)), "nearest keeps labels: {labels:?}");
    }

    /// The separable, slice-by-slice passes against each output voxel interpolated from its
    /// eight neighbours, downsampling along z (output slices skip input planes).
    #[test]
    fn separable_passes_equal_trilinear_interpolation() {
        let v = ArrayD::from_shape_fn(IxDyn(&[6, 5, 9]), |i| ((i[0] * 7 + i[1] * 13 + i[2] * 29) % 17) as f32);
        let (spacing, target) = ([1.0, 1.0, 1.0], [Some(0.7), None, Some(1.5)]);
        let ours = resample(&v, &spacing, &target, false).unwrap();
        let out = output_shape(v.shape(), &spacing, &target);
        let taps: Vec<Vec<Tap>> = (0..3).map(|a| axis_taps(v.shape()[a], out[a], target[a].unwrap_or(1.0) / spacing[a], false)).collect();
        for z in 0..out[2] {
            for y in 0..out[1] {
                for x in 0..out[0] {
                    let want = match (taps[0][x], taps[1][y], taps[2][z]) {
                        (Some((x0, x1, wx)), Some((y0, y1, wy)), Some((z0, z1, wz))) => {
                            let mut sum = 0.0;
                            for (xi, fx) in [(x0, 1.0 - wx), (x1, wx)] {
                                for (yi, fy) in [(y0, 1.0 - wy), (y1, wy)] {
                                    for (zi, fz) in [(z0, 1.0 - wz), (z1, wz)] {
                                        sum += fx * fy * fz * v[[xi, yi, zi]];
                                    }
                                }
                            }
                            sum
                        }
                        _ => 0.0,
                    };
                    assert!((ours[[x, y, z]] - want).abs() < 1e-4, "({x}, {y}, {z}): {} vs {want}", ours[[x, y, z]]);
                }
            }
        }
    }

    /// Against SimpleITK 2.5 (tests/fixtures/resample, made by the script beside it): the
    /// same voxels to float precision and the same geometry.
    #[test]
    fn matches_simpleitk_on_a_flipped_volume() {
        use crate::imaging::nifti_io::read;
        let dir = crate::oracles::fixtures_dir().join("resample");
        let input = read(&dir.join("input.nii.gz")).unwrap();
        let target = [Some(0.5), Some(0.5), Some(1.2)];
        let spacing = input.spacing();
        for (name, nearest) in [("linear", false), ("nearest", true)] {
            let reference = read(&dir.join(format!("{name}.nii.gz"))).unwrap();
            let ours = resample(&input.data, &spacing, &target, nearest).unwrap();
            assert_eq!(ours.shape(), reference.data.shape(), "{name}");
            let worst = ours.iter().zip(reference.data.iter()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-3, "{name}: largest difference {worst}");
            let header = resampled_header(&input.header, &spacing, &target, output_shape(input.data.shape(), &spacing, &target));
            let geometry = crate::imaging::nifti_io::Volume { data: ours, header };
            for (r, (a, b)) in geometry.affine().iter().zip(reference.affine().iter()).enumerate() {
                for c in 0..4 {
                    assert!((a[c] - b[c]).abs() < 1e-5, "{name}: affine row {r}: {a:?} vs {b:?}");
                }
            }
        }
    }
}
