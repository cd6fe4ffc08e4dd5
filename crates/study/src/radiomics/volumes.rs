//! Features of NIfTI volumes: the image and mask as read from disk.

use super::{extract, Grid, RadiomicsError, Settings};
use crate::imaging::nifti_io::{self, Volume};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error(transparent)]
    Read(#[from] nifti_io::NiftiIoError),
    #[error("{file}: {what}")]
    Bad { file: String, what: String },
}

impl VolumeError {
    /// Whether the file system failed, as opposed to a file that holds the wrong thing.
    pub fn is_io(&self) -> bool {
        matches!(self, VolumeError::Read(e) if e.is_io())
    }
}

/// The features of `image` within `mask`: both 3D and on one grid. Errors name the file.
pub fn extract_files(image: &Path, mask: &Path, settings: &Settings) -> Result<Vec<(String, f64)>, VolumeError> {
    let img = nifti_io::read(image)?;
    let msk = nifti_io::read(mask)?;
    let bad = |file: &Path, what: String| VolumeError::Bad { file: file.display().to_string(), what };
    let (ishape, ispacing) = grid_of(&img).map_err(|w| bad(image, w))?;
    let (mshape, _) = grid_of(&msk).map_err(|w| bad(mask, w))?;
    let data: Vec<f64> = nifti_io::memory_order(&img.data).iter().map(|&v| f64::from(v)).collect();
    let labels: Vec<u32> = nifti_io::memory_order(&msk.data).iter().map(|&v| if v >= 0.0 && v.fract() == 0.0 { v as u32 } else { u32::MAX }).collect();
    extract(&Grid { data: &data, shape: ishape, spacing: ispacing }, &Grid { data: &labels, shape: mshape, spacing: ispacing }, settings).map_err(|e| match e {
        RadiomicsError::Grid { .. } => bad(mask, format!("{e} (image {})", image.display())),
        RadiomicsError::NotFinite(_) => bad(image, e.to_string()),
        _ => bad(mask, e.to_string()),
    })
}

/// (z, y, x) shape and spacing of a 3D volume (NIfTI stores x first).
fn grid_of(v: &Volume) -> Result<([usize; 3], [f64; 3]), String> {
    let shape = v.shape();
    let spacing = v.spacing();
    match shape[..] {
        [nx, ny, nz] => Ok(([nz, ny, nx], [spacing[2], spacing[1], spacing[0]])),
        [nx, ny, nz, 1] => Ok(([nz, ny, nx], [spacing[2], spacing[1], spacing[0]])),
        _ => Err(format!("a 3D volume is needed, found shape {shape:?}")),
    }
}
