//! NIfTI (.nii, .nii.gz) through the nifti crate: every common datatype, scl_slope/inter
//! applied, the voxel-to-world affine as nibabel's `img.affine` (sform, else qform, else
//! the zooms), 3D and 4D; float32 and uint8 written back with the same geometry.

use ndarray::ArrayD;
use nifti::writer::WriterOptions;
use nifti::{IntoNdArray, NiftiHeader, NiftiObject, NiftiType, ReaderOptions};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NiftiIoError {
    #[error("{file}: not a readable NIfTI file: {message}")]
    Read { file: PathBuf, message: String },
    #[error("{file}: cannot write NIfTI: {message}")]
    Write { file: PathBuf, message: String },
}

/// A volume in NIfTI's axis order (x, y, z[, t]), as float32 after scaling.
pub struct Volume {
    pub data: ArrayD<f32>,
    pub header: NiftiHeader,
}

pub fn datatype_name(t: NiftiType) -> &'static str {
    match t {
        NiftiType::Uint8 => "uint8",
        NiftiType::Int8 => "int8",
        NiftiType::Uint16 => "uint16",
        NiftiType::Int16 => "int16",
        NiftiType::Uint32 => "uint32",
        NiftiType::Int32 => "int32",
        NiftiType::Uint64 => "uint64",
        NiftiType::Int64 => "int64",
        NiftiType::Float32 => "float32",
        NiftiType::Float64 => "float64",
        _ => "other",
    }
}

pub fn read(file: &Path) -> Result<Volume, NiftiIoError> {
    let err = |message: String| NiftiIoError::Read { file: file.to_owned(), message };
    let obj = ReaderOptions::new().read_file(file).map_err(|e| err(e.to_string()))?;
    let header = obj.header().clone();
    let data = obj.into_volume().into_ndarray::<f32>().map_err(|e| err(e.to_string()))?;
    if data.iter().any(|v| v.is_nan()) {
        return Err(err("the volume holds NaN values".into()));
    }
    Ok(Volume { data, header })
}

impl Volume {
    pub fn shape(&self) -> Vec<usize> {
        self.data.shape().to_vec()
    }

    /// Voxel sizes of the spatial (and further) axes, from pixdim.
    pub fn spacing(&self) -> Vec<f64> {
        (1..=self.data.ndim()).map(|i| f64::from(self.header.pixdim[i])).collect()
    }

    /// The voxel-to-world matrix (mm), as nibabel gives it.
    pub fn affine(&self) -> [[f64; 4]; 4] {
        let m = self.header.affine::<f64>();
        let mut out = [[0.0; 4]; 4];
        for (r, row) in out.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = m[(r, c)];
            }
        }
        out
    }

    pub fn datatype(&self) -> &'static str {
        self.header.data_type().map_or("other", datatype_name)
    }

    /// What `dag image info --json` prints.
    pub fn info_json(&self) -> serde_json::Value {
        serde_json::json!({ "shape": self.shape(), "spacing": self.spacing(), "datatype": self.datatype(), "affine": self.affine() })
    }
}

/// The header for writing: the geometry (affine, zooms, units) of `like`, no scaling.
fn geometry_of(like: &NiftiHeader) -> NiftiHeader {
    let mut header = like.clone();
    header.scl_slope = 1.0;
    header.scl_inter = 0.0;
    header
}

/// Writes float32 voxels with the geometry of `like`.
pub fn write_f32(file: &Path, data: &ArrayD<f32>, like: &NiftiHeader) -> Result<(), NiftiIoError> {
    let header = geometry_of(like);
    WriterOptions::new(file).reference_header(&header).write_nifti(data).map_err(|e| write_error(file, e))
}

/// Writes int16 voxels (scanner-like intensities) with the geometry of `like`.
pub fn write_i16(file: &Path, data: &ArrayD<i16>, like: &NiftiHeader) -> Result<(), NiftiIoError> {
    let header = geometry_of(like);
    WriterOptions::new(file).reference_header(&header).write_nifti(data).map_err(|e| write_error(file, e))
}

/// Writes uint8 voxels (masks) with the geometry of `like`.
pub fn write_u8(file: &Path, data: &ArrayD<u8>, like: &NiftiHeader) -> Result<(), NiftiIoError> {
    let header = geometry_of(like);
    WriterOptions::new(file).reference_header(&header).write_nifti(data).map_err(|e| write_error(file, e))
}

fn write_error(file: &Path, e: nifti::NiftiError) -> NiftiIoError {
    NiftiIoError::Write { file: file.to_owned(), message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nifti::writer::WriterOptions;

    fn oracle(name: &str) -> PathBuf {
        crate::study::oracles::oracles_dir().join("n4").join(name)
    }

    #[test]
    fn reads_the_oracle_volume_as_nibabel_does() {
        let v = read(&oracle("volume.nii.gz")).unwrap();
        assert_eq!(v.shape(), vec![192, 192, 64]);
        assert_eq!(v.datatype(), "float32");
        let sp = v.spacing();
        assert!((sp[0] - 0.8).abs() < 1e-6 && (sp[2] - 2.0).abs() < 1e-12);
        // nibabel 5: img.affine and the float64 sum of img.dataobj.
        let want = [[-0.800000011920929, 0.0, 0.0, 0.0], [0.0, -0.800000011920929, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0]];
        for (r, row) in v.affine().iter().enumerate() {
            for (c, x) in row.iter().enumerate() {
                assert!((x - want[r][c]).abs() < 1e-9, "affine[{r}][{c}] = {x}");
            }
        }
        let sum: f64 = v.data.iter().map(|&x| f64::from(x)).sum();
        assert!((sum - 89968082.51209003).abs() < 1e-6 * sum);
        let mask = read(&oracle("body_mask.nii.gz")).unwrap();
        assert_eq!(mask.datatype(), "uint8");
        assert_eq!(mask.data.iter().map(|&x| f64::from(x)).sum::<f64>(), 853886.0);
    }

    #[test]
    fn float32_and_uint8_round_trip_with_their_geometry() {
        let dir = tempfile::tempdir().unwrap();
        let v = read(&oracle("volume.nii.gz")).unwrap();
        let out = dir.path().join("copy.nii.gz");
        write_f32(&out, &v.data, &v.header).unwrap();
        let back = read(&out).unwrap();
        assert_eq!(back.affine(), v.affine());
        assert_eq!(back.spacing(), v.spacing());
        assert!(back.data == v.data);
        let mask = v.data.mapv(|x| u8::from(x > 100.0));
        let mpath = dir.path().join("mask.nii");
        write_u8(&mpath, &mask, &v.header).unwrap();
        let m = read(&mpath).unwrap();
        assert_eq!(m.datatype(), "uint8");
        assert_eq!(m.affine(), v.affine());
        assert!(m.data == mask.mapv(f32::from));
    }

    #[test]
    fn int16_with_scaling_and_a_flipped_qform() {
        let dir = tempfile::tempdir().unwrap();
        let raw = ndarray::Array::from_shape_fn(ndarray::IxDyn(&[4, 3, 2]), |ix| (ix[0] + 10 * ix[1] + 100 * ix[2]) as i16);
        let mut h = NiftiHeader::default();
        h.pixdim = [1.0, 0.5, 0.7, 3.0, 1.0, 1.0, 1.0, 1.0];
        h.scl_slope = 2.0;
        h.scl_inter = -1.0;
        h.sform_code = 0;
        h.qform_code = 1;
        // A half turn about y: x and z flipped (quaternion b, c, d = 0, 1, 0).
        (h.quatern_b, h.quatern_c, h.quatern_d) = (0.0, 1.0, 0.0);
        (h.quatern_x, h.quatern_y, h.quatern_z) = (120.0, -80.0, 40.0);
        let path = dir.path().join("flip.nii");
        WriterOptions::new(&path).reference_header(&h).write_nifti(&raw).unwrap();
        // The writer always stores slope 1; put the scaling into the header bytes ourselves
        // (NIfTI-1: scl_slope at byte 112, scl_inter at 116).
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[112..116].copy_from_slice(&2.0f32.to_le_bytes());
        bytes[116..120].copy_from_slice(&(-1.0f32).to_le_bytes());
        std::fs::write(&path, bytes).unwrap();
        let v = read(&path).unwrap();
        assert_eq!(v.datatype(), "int16");
        assert_eq!(v.data[[3, 2, 1]], 2.0 * 123.0 - 1.0);
        let want = [[-0.5, 0.0, 0.0, 120.0], [0.0, 0.7, 0.0, -80.0], [0.0, 0.0, -3.0, 40.0], [0.0, 0.0, 0.0, 1.0]];
        for (r, row) in v.affine().iter().enumerate() {
            for (c, x) in row.iter().enumerate() {
                assert!((x - want[r][c]).abs() < 1e-6, "affine[{r}][{c}] = {x}, want {}", want[r][c]);
            }
        }
    }

    #[test]
    fn truncated_and_foreign_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(oracle("body_mask.nii.gz")).unwrap();
        let cut = dir.path().join("cut.nii.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = read(&cut).err().unwrap().to_string();
        assert!(e.contains("cut.nii.gz: not a readable NIfTI file"), "{e}");
        let junk = dir.path().join("junk.nii");
        std::fs::write(&junk, b"hello").unwrap();
        assert!(read(&junk).err().unwrap().to_string().contains("junk.nii"));
    }
}
