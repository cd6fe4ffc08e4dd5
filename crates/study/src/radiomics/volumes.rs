//! Features of NIfTI volumes: the image and mask as read from disk.
//!
//! Only the mask's bounding box matters, so the image is read only over the slices the box
//! spans (a .nii.gz is decompressed no further than its last), and only the box is
//! converted: a DUKE-sized volume is 32 M voxels, its tumour a fraction of one percent.

use super::{extract, Grid, RadiomicsError, Settings};
use crate::imaging::nifti_io::{self, Volume};
use ndarray::ArrayD;
use std::ops::Range;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error(transparent)]
    Read(#[from] nifti_io::NiftiIoError),
    #[error("{file}: {what}")]
    Bad { file: String, what: String },
    #[error("{0}")]
    Io(String),
}

impl VolumeError {
    /// Whether the file system failed, as opposed to a file that holds the wrong thing.
    pub fn is_io(&self) -> bool {
        match self {
            VolumeError::Read(e) => e.is_io(),
            VolumeError::Io(_) => true,
            VolumeError::Bad { .. } => false,
        }
    }
}

fn bad(file: &Path, what: String) -> VolumeError {
    VolumeError::Bad { file: file.display().to_string(), what }
}

/// A mask read whole, with its ROI's bounding box.
pub struct MaskBox {
    pub mask: Volume,
    /// (z, y, x) of the whole volume.
    pub shape: [usize; 3],
    lo: [usize; 3],
    hi: [usize; 3],
}

impl MaskBox {
    pub fn read(file: &Path, label: u32) -> Result<MaskBox, VolumeError> {
        let mask = nifti_io::read(file)?;
        let shape = zyx(&mask.shape()).map_err(|w| bad(file, w))?;
        let Some((lo, hi, _)) = super::bounding_box(&nifti_io::memory_order(&mask.data), shape, |&v| v == label as f32) else {
            return Err(bad(file, RadiomicsError::NoLabel(label).to_string()));
        };
        Ok(MaskBox { mask, shape, lo, hi })
    }

    /// The slices (z) the ROI spans: all an image needs to be read over.
    pub fn slab(&self) -> Range<usize> {
        self.lo[0]..self.hi[0] + 1
    }

    /// `image` over the slices the ROI spans, once its header shows it on the mask's grid (a
    /// volume with fewer slices would otherwise fail the read with a less useful message).
    pub fn read_slab(&self, image: &Path, mask: &Path) -> Result<Volume, VolumeError> {
        let header = nifti_io::read_header(image)?;
        let dims: Vec<usize> = header.dim().map(|d| d.iter().map(|&n| usize::from(n)).collect()).unwrap_or_default();
        let ishape = zyx(&dims).map_err(|w| bad(image, w))?;
        if ishape != self.shape {
            return Err(bad(mask, format!("{} (image {})", RadiomicsError::Grid { image: ishape, mask: self.shape }, image.display())));
        }
        Ok(nifti_io::read_z_slab(image, self.slab())?)
    }

    /// The features of `slab` (the image over `self.slab()`, x fastest as NIfTI stores it)
    /// with voxels `spacing` (x, y, z) mm.
    pub fn features(&self, slab: &ArrayD<f32>, spacing: [f64; 3], settings: &Settings, image: &Path, mask: &Path) -> Result<Vec<(String, f64)>, VolumeError> {
        let [_, ny, nx] = self.shape;
        let (labels, values) = (nifti_io::memory_order(&self.mask.data), nifti_io::memory_order(slab));
        let (lo, hi) = (self.lo, self.hi);
        let box_shape = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        let n = box_shape.iter().product();
        let (mut data, mut roi) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for z in lo[0]..=hi[0] {
            for y in lo[1]..=hi[1] {
                let (m, v) = ((z * ny + y) * nx, ((z - lo[0]) * ny + y) * nx);
                for x in lo[2]..=hi[2] {
                    data.push(f64::from(values[v + x]));
                    roi.push(if labels[m + x] == settings.label as f32 { settings.label } else { 0 });
                }
            }
        }
        let spacing = [spacing[2], spacing[1], spacing[0]];
        extract(&Grid { data: &data, shape: box_shape, spacing }, &Grid { data: &roi, shape: box_shape, spacing }, settings).map_err(|e| match e {
            RadiomicsError::NotFinite(_) | RadiomicsError::TooManyLevels { .. } => bad(image, e.to_string()),
            _ => bad(mask, e.to_string()),
        })
    }
}

/// The features of `image` within `mask`: both 3D and on one grid. Errors name the file.
pub fn extract_files(image: &Path, mask: &Path, settings: &Settings) -> Result<Vec<(String, f64)>, VolumeError> {
    let m = MaskBox::read(mask, settings.label)?;
    let img = m.read_slab(image, mask)?;
    let s = img.spacing();
    m.features(&img.data, [s[0], s[1], s[2]], settings, image, mask)
}

/// (z, y, x) of a 3D volume's (x, y, z) shape.
fn zyx(shape: &[usize]) -> Result<[usize; 3], String> {
    match shape[..] {
        [nx, ny, nz] | [nx, ny, nz, 1] => Ok([nz, ny, nx]),
        _ => Err(format!("a 3D volume is needed, found shape {shape:?}")),
    }
}

/// The (image, mask) pairs of a CSV in PyRadiomics' batch format: columns `Image` and `Mask`,
/// paths relative to the CSV's folder.
pub fn batch_pairs(csv_path: &Path) -> Result<Vec<(std::path::PathBuf, std::path::PathBuf)>, VolumeError> {
    let mut r = csv::Reader::from_path(csv_path).map_err(|e| if e.is_io_error() { VolumeError::Io(format!("{}: {e}", csv_path.display())) } else { bad(csv_path, e.to_string()) })?;
    let header = r.headers().map_err(|e| bad(csv_path, e.to_string()))?.clone();
    let column = |name: &str| header.iter().position(|h| h.trim() == name).ok_or_else(|| bad(csv_path, format!("no column `{name}` (PyRadiomics' batch format: Image,Mask)")));
    let (ci, cm) = (column("Image")?, column("Mask")?);
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let mut pairs = Vec::new();
    for (line, row) in r.records().enumerate() {
        let row = row.map_err(|e| bad(csv_path, format!("line {}: {e}", line + 2)))?;
        pairs.push((base.join(row.get(ci).unwrap_or_default().trim()), base.join(row.get(cm).unwrap_or_default().trim())));
    }
    Ok(pairs)
}
