//! NIfTI (.nii, .nii.gz) through the nifti crate: every common datatype, scl_slope/inter
//! applied, the voxel-to-world affine as nibabel's `img.affine` (sform, else qform, else
//! the zooms), 3D and 4D; float32 and uint8 written back with the same geometry.

use flate2::bufread::GzDecoder;
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use nifti::writer::WriterOptions;
use nifti::{IntoNdArray, NiftiHeader, NiftiObject, NiftiType, ReaderOptions};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::ops::Range;

#[derive(Debug, thiserror::Error)]
pub enum NiftiIoError {
    #[error("{file}: not a readable NIfTI file: {message}")]
    Read { file: PathBuf, message: String },
    #[error("{file}: cannot write NIfTI: {message}")]
    Write { file: PathBuf, message: String },
    /// The file cannot be reached at all (missing, a permission): an I/O error, not a
    /// malformed file.
    #[error("{file}: {source}")]
    Io { file: PathBuf, source: std::io::Error },
}

impl NiftiIoError {
    /// Whether this is the file system's failure (reaching or writing the file) rather than
    /// a file that is not what it should be: what `dag` exits with differs (4, not 2).
    pub fn is_io(&self) -> bool {
        matches!(self, NiftiIoError::Io { .. } | NiftiIoError::Write { .. })
    }
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

/// The volume, refused if it holds NaN: every task reads through here, so a NaN voxel is an
/// error naming the file rather than a silent hole in N4's fit or a crop's normalisation.
pub fn read(file: &Path) -> Result<Volume, NiftiIoError> {
    without_nan(file, read_with_nan(file)?)
}

/// The volume as stored, NaN values and all (resampled and masked volumes often hold them):
/// for describing a file, as `dag image info` does.
pub fn read_with_nan(file: &Path) -> Result<Volume, NiftiIoError> {
    let err = |message: String| NiftiIoError::Read { file: file.to_owned(), message };
    let (header, data) = match read_in_bulk(file, &open(file)?, None).map_err(|e| err(describe(&e)))? {
        Some(read) => read,
        None => {
            let obj = ReaderOptions::new().read_file(file).map_err(|e| err(describe(&e)))?;
            let header = obj.header().clone();
            (header, obj.into_volume().into_ndarray::<f32>().map_err(|e| err(e.to_string()))?)
        }
    };
    Ok(Volume { data, header })
}

/// The header alone (for a .nii.gz, only its first bytes are decompressed).
pub fn read_header(file: &Path) -> Result<NiftiHeader, NiftiIoError> {
    open(file)?;
    NiftiHeader::from_file(file).map_err(|e| NiftiIoError::Read { file: file.to_owned(), message: describe(&e) })
}

/// The nifti crate's error in words: its I/O variant displays as Rust's debug form
/// (`Io(Custom { kind: InvalidData, error: "…" })`), which hid the bounds' own messages.
fn describe(e: &nifti::NiftiError) -> String {
    match e {
        nifti::NiftiError::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// The file, or the file system's reason it cannot be read (an I/O error, not a bad file).
fn open(file: &Path) -> Result<File, NiftiIoError> {
    File::open(file).map_err(|source| NiftiIoError::Io { file: file.to_owned(), source })
}

/// A single-file NIfTI-1 (.nii, .nii.gz) of a common datatype, its voxels decoded in bulk;
/// None for anything else (a .hdr/.img pair, complex or RGB voxels), which the nifti crate
/// reads. The header is the crate's; the crate's own voxel path converts element by element
/// through a byte reader and holds the raw bytes beside the result. Values are what the
/// crate gives: cast to float32, then `v · slope + inter` unless the slope is 0.
///
/// With `slab`, only those slices of a 3D volume: the bytes before them are skipped (read
/// past, for a .nii.gz) and none after them are read.
fn read_in_bulk(file: &Path, handle: &File, slab: Option<Range<usize>>) -> Result<Option<(NiftiHeader, ArrayD<f32>)>, nifti::NiftiError> {
    let gz = file.extension().is_some_and(|e| e == "gz");
    let f = BufReader::with_capacity(1 << 20, handle);
    let mut src: Box<dyn Read> = if gz { Box::new(GzDecoder::new(f)) } else { Box::new(f) };
    let header = NiftiHeader::from_reader(&mut src)?;
    let mut dims: Vec<usize> = header.dim()?.iter().map(|&d| usize::from(d)).collect();
    // What the nifti crate reads instead allocates whatever its header claims: the claim is
    // bounded here first, as ours is (a fuzzed header claimed petabytes of float128).
    let claimed = usize::from(header.bitpix.max(8) as u16).div_ceil(8);
    if &header.magic != b"n+1\0" {
        // A .hdr/.img pair (or no NIfTI-1 at all): its voxels are in another file.
        claim(&dims, claimed)?;
        return Ok(None);
    }
    let t = header.data_type()?;
    let size = match t {
        NiftiType::Uint8 | NiftiType::Int8 => 1,
        NiftiType::Uint16 | NiftiType::Int16 => 2,
        NiftiType::Uint32 | NiftiType::Int32 | NiftiType::Float32 => 4,
        NiftiType::Uint64 | NiftiType::Int64 | NiftiType::Float64 => 8,
        _ => {
            voxel_count(handle, gz, &dims, claimed, (header.vox_offset as u64).max(348))?;
            return Ok(None);
        }
    };
    // Extensions lie between the 348-byte header and the voxels; a slice is further in.
    let mut skip = (header.vox_offset as u64).saturating_sub(348);
    if let Some(slab) = slab {
        if dims.len() != 3 || slab.is_empty() || slab.end > dims[2] {
            return Ok(None); // the caller's full read says what is wrong
        }
        skip += (slab.start * dims[0] * dims[1] * size) as u64;
        dims[2] = slab.len();
    }
    let count = voxel_count(handle, gz, &dims, size, skip + 348)?;
    std::io::copy(&mut (&mut src).take(skip), &mut std::io::sink())?;
    let little = header.endianness == nifti::Endianness::Little;
    let mut data: Vec<f32> = if t == NiftiType::Float32 && little == cfg!(target_endian = "little") {
        // Straight into the result: no second volume-sized buffer.
        let mut data = vec![0.0f32; count];
        read_all(&mut src, bytemuck::cast_slice_mut(&mut data))?;
        data
    } else {
        let mut raw = vec![0u8; count * size];
        read_all(&mut src, &mut raw)?;
        macro_rules! decode {
            ($t:ty) => {
                raw.chunks_exact(size)
                    .map(|c| {
                        let b = c.try_into().expect("chunks of the type's size");
                        (if little { <$t>::from_le_bytes(b) } else { <$t>::from_be_bytes(b) }) as f32
                    })
                    .collect()
            };
        }
        match t {
            NiftiType::Uint8 => decode!(u8),
            NiftiType::Int8 => decode!(i8),
            NiftiType::Uint16 => decode!(u16),
            NiftiType::Int16 => decode!(i16),
            NiftiType::Uint32 => decode!(u32),
            NiftiType::Int32 => decode!(i32),
            NiftiType::Uint64 => decode!(u64),
            NiftiType::Int64 => decode!(i64),
            NiftiType::Float32 => decode!(f32),
            NiftiType::Float64 => decode!(f64),
            _ => unreachable!("sized above"),
        }
    };
    let (slope, inter) = (header.scl_slope, header.scl_inter);
    if slope != 0.0 {
        data.iter_mut().for_each(|v| *v = *v * slope + inter);
    }
    let data = ArrayD::from_shape_vec(IxDyn(&dims).f(), data).expect("as many values as the dimensions hold");
    Ok(Some((header, data)))
}

/// The most voxel bytes one volume may claim: far above any MRI phase (a DUKE phase is
/// ~64 MB as float32), far below what would take a machine down.
const MAX_VOXEL_BYTES: u64 = 16 << 30;

/// How many voxels the header's dimensions describe, refused before anything is allocated
/// when they overflow, exceed `MAX_VOXEL_BYTES`, or (for an uncompressed file, whose length is
/// known; and for a .nii.gz, by the uncompressed length that gzip records modulo 2³²) need
/// more bytes than the file holds. A damaged or hostile header must be an error naming the
/// file, not an allocation that aborts the run. `start`: where the voxels begin.
fn voxel_count(handle: &File, gz: bool, dims: &[usize], size: usize, start: u64) -> Result<usize, nifti::NiftiError> {
    let bad = |m: String| nifti::NiftiError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, m));
    let (count, bytes) = claim(dims, size)?;
    let len = handle.metadata()?.len();
    let holds = if gz {
        // gzip's last four bytes: the uncompressed length modulo 2³² (one member, as every
        // NIfTI writer makes); a header that disagrees with it is not read further. Read at
        // their offset, the stream being decompressed is not moved.
        use std::os::unix::fs::FileExt;
        let mut tail = [0u8; 4];
        handle.read_exact_at(&mut tail, len.saturating_sub(4))?;
        u32::from_le_bytes(tail) as u64
    } else {
        len
    };
    let need = start + bytes;
    let short = if gz { need <= u32::MAX as u64 && holds < need } else { holds < need };
    if short {
        return Err(bad(format!("the header's dimensions {dims:?} need {need} bytes, the file holds {holds}")));
    }
    Ok(count)
}

/// The voxels and bytes the dimensions claim, refused when they overflow or exceed
/// `MAX_VOXEL_BYTES`.
fn claim(dims: &[usize], size: usize) -> Result<(usize, u64), nifti::NiftiError> {
    let bad = |m: String| nifti::NiftiError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, m));
    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| bad(format!("the header's dimensions {dims:?} overflow")))?;
    let bytes = (count as u64).checked_mul(size as u64).filter(|&b| b <= MAX_VOXEL_BYTES);
    let bytes = bytes.ok_or_else(|| bad(format!("the header's dimensions {dims:?} describe more than {} GiB of voxels", MAX_VOXEL_BYTES >> 30)))?;
    Ok((count, bytes))
}

/// Fills `buf`, or says how much of it the file held.
fn read_all(src: &mut impl Read, buf: &mut [u8]) -> Result<(), nifti::NiftiError> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..])? {
            0 => return Err(nifti::NiftiError::IncompatibleLength(got, buf.len())),
            n => got += n,
        }
    }
    Ok(())
}

/// Slice `z` of a 3D volume as an (x, y, 1) volume with the file's header (whose `dim` is
/// the whole volume's): for a step that needs one slice of each phase.
pub fn read_z_slice(file: &Path, z: usize) -> Result<Volume, NiftiIoError> {
    read_z_slab(file, z..z + 1)
}

/// Slices `slab` of a 3D volume as an (x, y, slab.len()) volume with the file's header (whose
/// `dim` is the whole volume's): a .nii.gz is decompressed only as far as the slab's end.
pub fn read_z_slab(file: &Path, slab: Range<usize>) -> Result<Volume, NiftiIoError> {
    let err = |message: String| NiftiIoError::Read { file: file.to_owned(), message };
    let (header, data) = match read_in_bulk(file, &open(file)?, Some(slab.clone())).map_err(|e| err(describe(&e)))? {
        Some(read) => read,
        None => {
            let v = read(file)?;
            if v.data.ndim() != 3 || slab.is_empty() || slab.end > v.data.shape()[2] {
                return Err(err(format!("no slices {slab:?} in a volume of shape {:?}", v.shape())));
            }
            let data = v.data.slice_axis(ndarray::Axis(2), ndarray::Slice::from(slab)).to_owned();
            (v.header, data)
        }
    };
    without_nan(file, Volume { data, header })
}

fn without_nan(file: &Path, v: Volume) -> Result<Volume, NiftiIoError> {
    // A fold, not `any`: it vectorises, and a clean volume is read to the end either way.
    if memory_order(&v.data).iter().fold(false, |acc, x| acc | x.is_nan()) {
        return Err(NiftiIoError::Read { file: file.to_owned(), message: "the volume holds NaN values".into() });
    }
    Ok(v)
}

/// The values in memory order, without a copy where the array is contiguous: iterating an
/// n-dimensional array in logical order goes against NIfTI's (Fortran) storage and is many
/// times slower on a whole volume.
pub fn memory_order(v: &ArrayD<f32>) -> Cow<'_, [f32]> {
    v.as_slice_memory_order().map_or_else(|| Cow::Owned(v.iter().copied().collect()), Cow::Borrowed)
}

impl Volume {
    pub fn shape(&self) -> Vec<usize> {
        self.data.shape().to_vec()
    }

    /// Voxel sizes of the spatial (and further) axes, from pixdim.
    pub fn spacing(&self) -> Vec<f64> {
        (1..=self.data.ndim()).map(|i| f64::from(self.header.pixdim[i])).collect()
    }

    /// The shape the header gives (for a slice read with `read_z_slice`: the whole volume's).
    pub fn header_shape(&self) -> Vec<usize> {
        self.header.dim().map(|d| d.iter().map(|&n| usize::from(n)).collect()).unwrap_or_default()
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
    /// Shape, spacing, datatype and affine as nibabel gives them; `nan_voxels` only where
    /// there are any (the study's tasks refuse such a volume, naming it).
    pub fn info_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "shape": self.shape(), "spacing": self.spacing(), "datatype": self.datatype(), "affine": self.affine() });
        let nan = memory_order(&self.data).iter().filter(|x| x.is_nan()).count();
        if nan > 0 {
            v["nan_voxels"] = nan.into();
        }
        v
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
    write(file, data, like)
}

/// Writes int16 voxels (scanner-like intensities) with the geometry of `like`.
pub fn write_i16(file: &Path, data: &ArrayD<i16>, like: &NiftiHeader) -> Result<(), NiftiIoError> {
    write(file, data, like)
}

/// Writes uint8 voxels (masks) with the geometry of `like`.
pub fn write_u8(file: &Path, data: &ArrayD<u8>, like: &NiftiHeader) -> Result<(), NiftiIoError> {
    write(file, data, like)
}

fn write<T: nifti::DataElement + bytemuck::Pod>(file: &Path, data: &ArrayD<T>, like: &NiftiHeader) -> Result<(), NiftiIoError> {
    let header = geometry_of(like);
    let options = WriterOptions::new(file).reference_header(&header);
    // The writer copies slice by slice; with a fixed number of axes that copy is several
    // times faster than through IxDyn's indexing (seconds on a DUKE-sized volume).
    match data.view().into_dimensionality::<ndarray::Ix3>() {
        Ok(v3) => options.write_nifti(&v3),
        Err(_) => options.write_nifti(data),
    }
    .map_err(|e| write_error(file, e))
}

fn write_error(file: &Path, e: nifti::NiftiError) -> NiftiIoError {
    NiftiIoError::Write { file: file.to_owned(), message: e.to_string() }
}

#[cfg(test)]
#[path = "nifti_io_tests.rs"]
mod tests;
