//! Resampling a volume to a target voxel spacing, as ITK's ResampleImageFilter does with an
//! identity transform and the input's origin and direction: output voxel i′ sits at input
//! continuous index i′ · s′ / s along each axis; the output has round(n · s / s′) voxels.
//! Linear interpolation for images, nearest neighbour for masks; points beyond half a voxel
//! outside the input are 0.

use ndarray::{ArrayD, Ix3, IxDyn, ShapeBuilder};
use nifti::NiftiHeader;

/// Per axis: where the output's voxel k falls in the input (lower neighbour, its weight), or
/// None outside the input.
fn axis_taps(n_in: usize, n_out: usize, step: f64, nearest: bool) -> Vec<Option<(usize, usize, f32)>> {
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

pub fn resample(v: &ArrayD<f32>, spacing: &[f64], target: &[Option<f64>; 3], nearest: bool) -> Result<ArrayD<f32>, String> {
    let v3 = v.view().into_dimensionality::<Ix3>().map_err(|_| format!("resampling needs a 3D volume, got shape {:?}", v.shape()))?;
    let shape = v3.shape().to_vec();
    let out = output_shape(&shape, spacing, target);
    let taps: Vec<Vec<Option<(usize, usize, f32)>>> = (0..3)
        .map(|a| {
            let step = target[a].map_or(1.0, |t| t / spacing[a]);
            axis_taps(shape[a], out[a], step, nearest)
        })
        .collect();
    // x fastest, as NIfTI stores voxels.
    let mut data = Vec::with_capacity(out[0] * out[1] * out[2]);
    for tz in &taps[2] {
        for ty in &taps[1] {
            for tx in &taps[0] {
                let (Some((x0, x1, wx)), Some((y0, y1, wy)), Some((z0, z1, wz))) = (tx, ty, tz) else {
                    data.push(0.0);
                    continue;
                };
                let at = |x: usize, y: usize, z: usize| v3[[x, y, z]];
                let lerp = |a: f32, b: f32, w: f32| a + (b - a) * w;
                let plane = |z| lerp(lerp(at(*x0, *y0, z), at(*x1, *y0, z), *wx), lerp(at(*x0, *y1, z), at(*x1, *y1, z), *wx), *wy);
                data.push(lerp(plane(*z0), plane(*z1), *wz));
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(&out).f(), data).map_err(|e| e.to_string())
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

    /// Against SimpleITK 2.5 (tests/fixtures/resample, made by the script beside it): the
    /// same voxels to float precision and the same geometry.
    #[test]
    fn matches_simpleitk_on_a_flipped_volume() {
        use crate::study::imaging::nifti_io::read;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resample");
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
            let geometry = crate::study::imaging::nifti_io::Volume { data: ours, header };
            for (r, (a, b)) in geometry.affine().iter().zip(reference.affine().iter()).enumerate() {
                for c in 0..4 {
                    assert!((a[c] - b[c]).abs() < 1e-5, "{name}: affine row {r}: {a:?} vs {b:?}");
                }
            }
        }
    }
}
