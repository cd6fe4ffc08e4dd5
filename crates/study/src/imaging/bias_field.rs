//! N4's estimate as a compact, stored object: the log bias field is one cubic B-spline
//! lattice (the levels summed into the finest, ~11³ control points) evaluated on the
//! volume's grid. Stored, it takes ~10 KB where the corrected volume takes the volume's size
//! again as float32 (128 MB for a DUKE-sized phase), and it is applied where the corrected
//! intensities are used: on the slices the crop reads.
//!
//! On disk: `<stem>.json` (the grid it was fitted for, the shrink factor, the iterations per
//! level) and `<stem>.lattice.npy` (float64, shape (z, y, x) control points; NumPy reads it).
//! Stored in binary, the lattice comes back bit for bit, so a field applied after a reload
//! corrects exactly as the one N4 returned.

use super::bspline::{axis_weights, Lattice};
use ndarray::{s, ArrayD, Ix3, IxDyn, ShapeBuilder};
use std::path::{Path, PathBuf};

/// Per-axis B-spline weights at every voxel of one axis.
type AxisWeights = Vec<(usize, [f64; 4])>;

/// Why a field cannot be built, applied or read back.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error("a lattice of {0:?} control points is not a cubic spline's")]
    NotCubic([usize; 3]),
    #[error("a field of shape {shape:?}, shrink {shrink} and {values} control values does not hold together")]
    Inconsistent { shape: [usize; 3], shrink: usize, values: usize },
    #[error("slices {z0}.. of shape {slab:?} are not part of the {grid:?} grid the bias field was estimated for")]
    OffGrid { z0: usize, slab: Vec<usize>, grid: [usize; 3] },
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// A stored field's files are there but are not one (`what` says how).
    #[error("{}: {what}", path.display())]
    Damaged { path: PathBuf, what: String },
}

/// The estimated log bias field: the finest lattice, with its weights at the full grid. It
/// is evaluated one row at a time, so correcting a volume needs no second volume-sized buffer.
pub struct BiasField {
    shape: [usize; 3],
    shrink: usize,
    lattice: Lattice,
    weights: [AxisWeights; 3],
    pub iterations: Vec<usize>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    format: String,
    /// The full-resolution grid (x, y, z) the field belongs to.
    shape: [usize; 3],
    shrink: usize,
    lattice_dims: [usize; 3],
    lattice: String,
    iterations: Vec<usize>,
}

const FORMAT: &str = "dag n4 log bias field, cubic B-spline lattice v1";

impl BiasField {
    /// The field of `lattice` on the full grid `shape`, fitted on a copy shrunk by `shrink`
    /// (subsampled at offset (shrink − 1) / 2, as ITK's shrink filter does).
    pub fn new(shape: [usize; 3], shrink: usize, lattice: Lattice, iterations: Vec<usize>) -> Result<BiasField, FieldError> {
        let spans = lattice.dims[0].checked_sub(3).filter(|&s| s > 0 && lattice.dims == [s + 3; 3]).ok_or(FieldError::NotCubic(lattice.dims))?;
        if lattice.phi.len() != lattice.dims.iter().product::<usize>() || shrink == 0 || shape.contains(&0) {
            return Err(FieldError::Inconsistent { shape, shrink, values: lattice.phi.len() });
        }
        let (s, off) = (shrink, (shrink - 1) / 2);
        // The full grid's voxel i sits at shrunk coordinate (i − off) / s, and the shrunk
        // grid's ns voxels span the spline's parameter range [0, 1].
        let full = |len: usize| {
            let ns = len.div_ceil(s);
            axis_weights(len, spans, move |i| {
                let j = (i as f64 - off as f64) / s as f64;
                if ns > 1 { j / (ns - 1) as f64 } else { 0.0 }
            })
        };
        let weights = [full(shape[0]), full(shape[1]), full(shape[2])];
        Ok(BiasField { shape, shrink, lattice, weights, iterations })
    }

    /// The grid (x, y, z) the field was estimated for.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Calls `f(y, z, row)` with the log field along x at every (y, z) of slices `zs`.
    fn rows(&self, zs: std::ops::Range<usize>, mut f: impl FnMut(usize, usize, &[f32])) {
        let mut row = vec![0.0f32; self.shape[0]];
        for z in zs {
            for y in 0..self.shape[1] {
                row.fill(0.0);
                self.lattice.add_row(&self.weights, y, z, &mut row);
                f(y, z, &row);
            }
        }
    }

    /// The log bias at full resolution (x, y, z).
    pub fn log_bias(&self) -> ArrayD<f32> {
        let [nx, ny, nz] = self.shape;
        let mut out = vec![0.0f32; self.shape.iter().product()];
        self.rows(0..nz, |y, z, row| {
            let at = (z * ny + y) * nx;
            out[at..at + nx].copy_from_slice(row);
        });
        ArrayD::from_shape_vec(IxDyn(&self.shape).f(), out).expect("shape of the field")
    }

    /// Divides `volume` by the bias, in place.
    pub fn correct(&self, volume: &mut ArrayD<f32>) -> Result<(), FieldError> {
        self.correct_slab(0, volume)
    }

    /// Divides `slab`, slices `z0..` of the volume the field was estimated for, by the bias
    /// there, in place: the same rows, in the same arithmetic, as correcting the whole volume.
    pub fn correct_slab(&self, z0: usize, slab: &mut ArrayD<f32>) -> Result<(), FieldError> {
        let sh = slab.shape().to_vec();
        if sh.len() != 3 || sh[0] != self.shape[0] || sh[1] != self.shape[1] || z0 + sh[2] > self.shape[2] {
            return Err(FieldError::OffGrid { z0, slab: sh, grid: self.shape });
        }
        let mut v = slab.view_mut().into_dimensionality::<Ix3>().expect("checked 3D");
        self.rows(z0..z0 + sh[2], |y, z, row| {
            for (x, b) in v.slice_mut(s![.., y, z - z0]).iter_mut().zip(row) {
                *x /= b.exp();
            }
        });
        Ok(())
    }

    /// Where `stem`'s two files go: `<stem>.json` and `<stem>.lattice.npy`.
    fn files(stem: &Path) -> (PathBuf, PathBuf) {
        let name = stem.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        (stem.with_file_name(format!("{name}.json")), stem.with_file_name(format!("{name}.lattice.npy")))
    }

    /// Writes the field as `<stem>.json` and `<stem>.lattice.npy`.
    pub fn save(&self, stem: &Path) -> std::io::Result<()> {
        let (json, npy) = Self::files(stem);
        let d = self.lattice.dims;
        let stored = Stored {
            format: FORMAT.into(),
            shape: self.shape,
            shrink: self.shrink,
            lattice_dims: d,
            lattice: npy.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            iterations: self.iterations.clone(),
        };
        std::fs::write(&npy, super::npy::bytes(&[d[2], d[1], d[0]], &self.lattice.phi))?;
        std::fs::write(&json, serde_json::to_vec_pretty(&stored).expect("plain data"))
    }

    /// Reads a field written by `save`; an error names the file and what is wrong with it.
    pub fn load(stem: &Path) -> Result<BiasField, FieldError> {
        let (json, npy) = Self::files(stem);
        let damaged = |what: String| FieldError::Damaged { path: json.clone(), what };
        let text = std::fs::read_to_string(&json).map_err(|source| FieldError::Read { path: json.clone(), source })?;
        let st: Stored = serde_json::from_str(&text).map_err(|e| damaged(format!("not a stored bias field: {e}")))?;
        if st.format != FORMAT {
            return Err(damaged(format!("format {:?}, expected {FORMAT:?}", st.format)));
        }
        let d = st.lattice_dims;
        // The lattice is ~11³ values; a damaged record must not ask for more than that order.
        if d.iter().any(|&n| !(4..=1024).contains(&n)) {
            return Err(damaged(format!("lattice dimensions {d:?} out of range")));
        }
        let shape = [d[2], d[1], d[0]];
        let raw = std::fs::read(&npy).map_err(|source| FieldError::Read { path: npy.clone(), source })?;
        let phi = super::npy::f64_values(&raw, &shape).ok_or_else(|| FieldError::Damaged { path: npy.clone(), what: format!("not a float64 .npy of shape {shape:?} as dag writes it") })?;
        BiasField::new(st.shape, st.shrink, Lattice { dims: d, phi }, st.iterations).map_err(|e| damaged(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::n4::{n4, N4Options};

    /// A field saved and loaded corrects bit for bit as the one N4 returned, and a slab
    /// corrected on its own equals those slices of the corrected volume.
    #[test]
    fn a_stored_field_and_a_slab_correct_exactly_as_the_whole() {
        let o = super::super::n4::tests::Oracle::load();
        let field = n4(&o.vol.data, None, &N4Options::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        field.save(&dir.path().join("phase")).unwrap();
        let back = BiasField::load(&dir.path().join("phase")).unwrap();
        let mut whole = o.vol.data.clone();
        field.correct(&mut whole).unwrap();
        let (z0, z1) = (20, 27);
        let mut slab = o.vol.data.slice_axis(ndarray::Axis(2), ndarray::Slice::from(z0..z1)).to_owned();
        back.correct_slab(z0, &mut slab).unwrap();
        let expect = whole.slice_axis(ndarray::Axis(2), ndarray::Slice::from(z0..z1));
        assert!(slab.iter().zip(expect.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "a reloaded field's slab differs from the whole volume's correction");
        assert!(back.correct_slab(o.vol.data.shape()[2] - 2, &mut slab).unwrap_err().to_string().contains("not part of"));
        // A damaged record is an error naming the file.
        std::fs::write(dir.path().join("phase.lattice.npy"), b"\x93NUMPY\x01\x00garbage").unwrap();
        let e = BiasField::load(&dir.path().join("phase")).err().unwrap();
        assert!(matches!(e, FieldError::Damaged { .. }) && e.to_string().contains("phase.lattice.npy"), "{e}");
        std::fs::remove_file(dir.path().join("phase.lattice.npy")).unwrap();
        let e = BiasField::load(&dir.path().join("phase")).err().unwrap();
        assert!(matches!(e, FieldError::Read { .. }) && e.to_string().contains("phase.lattice.npy"), "a missing file is a read error: {e}");
    }
}
