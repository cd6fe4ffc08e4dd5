//! Radiomics: PyRadiomics' 107 default `original_*` features of a volume within a mask.
//!
//! The conventions are PyRadiomics' (3.1, its default extractor), not only the IBSI's, so
//! that its numbers can be compared one for one (`tests/radiomics_cli.rs`):
//! - the image and mask are cropped to the mask's bounding box; angles that would leave a
//!   box one voxel thick are not generated;
//! - grey levels are fixed-width bins (25 by default) counted from `min − min mod width`,
//!   with numpy's `arange` and `digitize` arithmetic;
//! - GLCM: 13 directions at distance 1, symmetric, each direction's features computed apart
//!   and averaged; GLRLM: 13 directions averaged; GLSZM, GLDM and NGTDM: 26-connected;
//! - grey levels absent from the ROI are removed before the texture features, while
//!   `Ng` in Idmn and Idn stays the highest grey level (a PyRadiomics departure from IBSI);
//! - NGTDM counts a voxel with no neighbour in the ROI with a difference of 0 (PyRadiomics).
//!
//! Not matched: the four features of PyRadiomics' marching-cubes mesh (MeshVolume,
//! SurfaceArea, SurfaceVolumeRatio, Sphericity) depend on its own triangle table, which is
//! not reproduced here; they are computed from a mesh of our own (`mesh.rs`) and documented
//! as approximate.

mod binning;
mod firstorder;
mod glcm;
mod logistic;
mod mesh;
mod neighbours;
mod runs;
mod shape;
pub mod task;
mod volumes;
mod zones;

use std::collections::BTreeMap;
pub use volumes::{batch_pairs, extract_files, MaskBox, VolumeError};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RadiomicsError {
    #[error("the image is {image:?} voxels and the mask {mask:?}: they must be the same grid")]
    Grid { image: [usize; 3], mask: [usize; 3] },
    #[error("the mask has no voxel labelled {0}")]
    NoLabel(u32),
    #[error("the mask's label {label} covers a single voxel: features need at least two")]
    SingleVoxel { label: u32 },
    #[error("the mask's label {label} spans {dims} dimension(s): at least {min} are required")]
    TooFewDimensions { label: u32, dims: usize, min: usize },
    #[error("{0} voxels of the ROI are not finite numbers")]
    NotFinite(usize),
    #[error("bin width must be a positive number, not {0}")]
    BinWidth(f64),
    /// The texture matrices grow with the square of the grey levels (the GLCM is levels² per
    /// direction), so a bin width far below the ROI's range is refused before any is built.
    #[error("a bin width of {width} gives the ROI {levels} grey levels; at most {max} are supported (widen the bins)")]
    TooManyLevels { width: f64, levels: u64, max: u64 },
}

/// The most grey levels a ROI may have: its 13 GLCMs then take at most ~110 MB.
pub const MAX_LEVELS: u64 = 1024;

/// What PyRadiomics' extractor is given: its defaults are `Settings::default()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub bin_width: f64,
    pub label: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { bin_width: 25.0, label: 1 }
    }
}

/// A volume in numpy's (z, y, x) order, as SimpleITK hands it to PyRadiomics: x varies
/// fastest, which is also NIfTI's order on disk.
pub struct Grid<'a, T> {
    pub data: &'a [T],
    /// (z, y, x)
    pub shape: [usize; 3],
    /// (z, y, x), in mm
    pub spacing: [f64; 3],
}

/// The ROI cropped to its bounding box, with its grey levels.
pub(crate) struct Roi {
    /// (z, y, x) of the cropped box.
    pub shape: [usize; 3],
    pub spacing: [f64; 3],
    pub mask: Vec<bool>,
    /// The intensity of each ROI voxel, in the box's order.
    pub values: Vec<f64>,
    /// Grey levels present in the ROI, ascending.
    pub levels: Vec<u32>,
    /// The box padded by one voxel of outside on every side, so that a neighbour is always
    /// an index offset away, with no bounds to check: each voxel's discretised grey level
    /// (1-based; 0 outside the ROI and in the padding).
    pub padded: Vec<u32>,
    /// The ROI's voxels as indices into `padded`, in the box's order.
    pub voxels: Vec<usize>,
}

impl Roi {
    pub fn strides(&self) -> [usize; 3] {
        [self.shape[1] * self.shape[2], self.shape[2], 1]
    }

    /// The highest grey level (PyRadiomics' `Ng`).
    pub fn ng(&self) -> u32 {
        *self.levels.last().unwrap_or(&0)
    }

    /// The position of each grey level among those present (`levels`), by grey level.
    pub fn level_index(&self) -> Vec<usize> {
        let mut index = vec![usize::MAX; self.ng() as usize + 1];
        for (k, &g) in self.levels.iter().enumerate() {
            index[g as usize] = k;
        }
        index
    }

    fn new(image: &Grid<'_, f64>, mask: &Grid<'_, u32>, settings: &Settings) -> Result<Roi, RadiomicsError> {
        if image.shape != mask.shape {
            return Err(RadiomicsError::Grid { image: image.shape, mask: mask.shape });
        }
        if !(settings.bin_width.is_finite() && settings.bin_width > 0.0) {
            return Err(RadiomicsError::BinWidth(settings.bin_width));
        }
        let [_, ny, nx] = image.shape;
        let (lo, hi, count) = bounding_box(mask.data, image.shape, |&m| m == settings.label).ok_or(RadiomicsError::NoLabel(settings.label))?;
        let dims = (0..3).filter(|&d| hi[d] > lo[d]).count();
        if dims == 0 {
            return Err(RadiomicsError::SingleVoxel { label: settings.label });
        }
        // PyRadiomics' default `minimumROIDimensions`.
        if dims < 2 {
            return Err(RadiomicsError::TooFewDimensions { label: settings.label, dims, min: 2 });
        }
        let shape = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        let n = shape.iter().product();
        // The mask of the box, its ROI voxels' values, and where each sits in the padded copy.
        let (py, px) = (shape[1] + 2, shape[2] + 2);
        let (mut roi_mask, mut values, mut voxels) = (Vec::with_capacity(n), Vec::with_capacity(count), Vec::with_capacity(count));
        for z in lo[0]..=hi[0] {
            for y in lo[1]..=hi[1] {
                let row = (z * ny + y) * nx;
                for x in lo[2]..=hi[2] {
                    let inside = mask.data[row + x] == settings.label;
                    roi_mask.push(inside);
                    if inside {
                        values.push(image.data[row + x]);
                        voxels.push(((z - lo[0] + 1) * py + y - lo[1] + 1) * px + x - lo[2] + 1);
                    }
                }
            }
        }
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Err(RadiomicsError::NotFinite(bad));
        }
        let (min, max) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        // The bins the range spans, before `edges` allocates them (at most 2 more than this).
        let spanned = ((max - min) / settings.bin_width).ceil() + 1.0;
        if spanned > MAX_LEVELS as f64 {
            return Err(RadiomicsError::TooManyLevels { width: settings.bin_width, levels: spanned as u64, max: MAX_LEVELS });
        }
        let edges = binning::edges(&values, settings.bin_width);
        let mut padded = vec![0u32; (shape[0] + 2) * py * px];
        for (&i, &v) in voxels.iter().zip(&values) {
            padded[i] = binning::digitize(v, &edges);
        }
        let mut levels: Vec<u32> = voxels.iter().map(|&i| padded[i]).collect();
        levels.sort_unstable();
        levels.dedup();
        Ok(Roi { shape, spacing: image.spacing, mask: roi_mask, values, levels, padded, voxels })
    }
}

/// The 107 features, named as PyRadiomics names them (`original_glcm_Contrast`), in
/// PyRadiomics' order: shape first, then the texture classes, each alphabetical.
pub fn extract(image: &Grid<'_, f64>, mask: &Grid<'_, u32>, settings: &Settings) -> Result<Vec<(String, f64)>, RadiomicsError> {
    let roi = Roi::new(image, mask, settings)?;
    let mut out = Vec::with_capacity(107);
    let classes: [(&str, BTreeMap<&'static str, f64>); 7] = [
        ("shape", shape::features(&roi)),
        ("firstorder", firstorder::features(&roi)),
        ("glcm", glcm::features(&roi)),
        ("gldm", neighbours::gldm(&roi)),
        ("glrlm", runs::features(&roi)),
        ("glszm", zones::features(&roi)),
        ("ngtdm", neighbours::ngtdm(&roi)),
    ];
    for (class, features) in classes {
        out.extend(features.into_iter().map(|(name, v)| (format!("original_{class}_{name}"), v)));
    }
    Ok(out)
}

/// The offsets to a voxel's neighbours at distance 1, in PyRadiomics' order (from
/// (1, 1, 1) down), leaving out those that would leave a box of `shape`. `bidirectional`:
/// all 26 (GLSZM, GLDM, NGTDM); otherwise the first 13, one of each opposite pair (GLCM,
/// GLRLM).
pub(crate) fn angles(shape: [usize; 3], bidirectional: bool) -> Vec<[isize; 3]> {
    let mut all = Vec::with_capacity(26);
    for k in 0..27isize {
        let a = [1 - k / 9 % 3, 1 - k / 3 % 3, 1 - k % 3];
        if a == [0, 0, 0] || (0..3).any(|d| a[d] != 0 && shape[d] < 2) {
            continue;
        }
        all.push(a);
    }
    if !bidirectional {
        // The list is symmetric: its second half mirrors the first.
        all.truncate(all.len() / 2);
    }
    all
}

impl Roi {
    /// The index offsets in `padded` of `angles(self.shape, bidirectional)`.
    pub fn offsets(&self, bidirectional: bool) -> Vec<isize> {
        let (py, px) = ((self.shape[1] + 2) as isize, (self.shape[2] + 2) as isize);
        angles(self.shape, bidirectional).iter().map(|a| (a[0] * py + a[1]) * px + a[2]).collect()
    }
}

/// `i + off` for an index of `Roi::padded` and one of its offsets: a voxel of the box or of
/// its padding, never outside the array, since `i` is an ROI voxel.
#[inline]
pub(crate) fn at(i: usize, off: isize) -> usize {
    i.wrapping_add_signed(off)
}

/// The bounding box (lowest and highest (z, y, x)) of the voxels of `data` (x fastest, of
/// (z, y, x) `shape`) that `inside` accepts, and how many there are; None if there are none.
pub(crate) fn bounding_box<T>(data: &[T], shape: [usize; 3], inside: impl Fn(&T) -> bool) -> Option<([usize; 3], [usize; 3], usize)> {
    let [_, ny, nx] = shape;
    let (mut lo, mut hi, mut count) = ([usize::MAX; 3], [0usize; 3], 0usize);
    for (i, _) in data.iter().enumerate().filter(|(_, v)| inside(v)) {
        let p = [i / (ny * nx), (i / nx) % ny, i % nx];
        for d in 0..3 {
            lo[d] = lo[d].min(p[d]);
            hi[d] = hi[d].max(p[d]);
        }
        count += 1;
    }
    (count > 0).then_some((lo, hi, count))
}

/// A flat index's (z, y, x).
#[inline]
pub(crate) fn position(i: usize, strides: [usize; 3]) -> [usize; 3] {
    [i / strides[0], (i % strides[0]) / strides[1], i % strides[1]]
}

/// numpy's `spacing(1)`: PyRadiomics adds it inside every logarithm.
pub(crate) const EPS: f64 = f64::EPSILON;

/// The mean over directions of a per-direction value, skipping NaN (numpy's `nanmean`).
pub(crate) fn nanmean(v: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for x in v.into_iter().filter(|x| !x.is_nan()) {
        s += x;
        n += 1;
    }
    if n == 0 { f64::NAN } else { s / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles_follow_pyradiomics_order_and_drop_flat_dimensions() {
        let a = angles([5, 5, 5], false);
        assert_eq!(a.len(), 13);
        assert_eq!(a[0], [1, 1, 1]);
        assert_eq!(a[12], [0, 0, 1]);
        assert_eq!(angles([5, 5, 5], true).len(), 26);
        // One slice thick: only the in-plane directions remain.
        assert_eq!(angles([1, 5, 5], false), vec![[0, 1, 1], [0, 1, 0], [0, 1, -1], [0, 0, 1]]);
        assert_eq!(angles([1, 5, 5], true).len(), 8);
    }

    #[test]
    fn a_single_voxel_or_a_line_is_refused() {
        let image = vec![1.0; 27];
        let mut m = vec![0u32; 27];
        m[13] = 1;
        let g = |m: &[u32]| Roi::new(&Grid { data: &image, shape: [3, 3, 3], spacing: [1.0; 3] }, &Grid { data: m, shape: [3, 3, 3], spacing: [1.0; 3] }, &Settings::default()).err();
        assert_eq!(g(&m), Some(RadiomicsError::SingleVoxel { label: 1 }));
        m[14] = 1;
        assert_eq!(g(&m), Some(RadiomicsError::TooFewDimensions { label: 1, dims: 1, min: 2 }));
        // A bin width that would give the ROI millions of grey levels is refused, not built.
        let wide: Vec<f64> = (0..27).map(|i| i as f64 * 1e6).collect();
        let plane: Vec<u32> = (0..27).map(|i| u32::from(i < 9)).collect();
        let r = Roi::new(&Grid { data: &wide, shape: [3, 3, 3], spacing: [1.0; 3] }, &Grid { data: &plane, shape: [3, 3, 3], spacing: [1.0; 3] }, &Settings { bin_width: 1e-3, label: 1 });
        assert!(matches!(r.err(), Some(RadiomicsError::TooManyLevels { max: MAX_LEVELS, .. })));
        assert_eq!(g(&[0; 27]), Some(RadiomicsError::NoLabel(1)));
    }
}
