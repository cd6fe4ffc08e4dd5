//! `tumour_crop`: one patient's preprocessing as a pipeline task (one instance per patient).

use super::crop::{png_bytes, slice, tumour_crop, CropOptions, Crops, Plane};
use super::slices::Slices;
use super::nifti_io::{read, read_z_slice};
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use crate::data::mamamia::patient_files;
use crate::data::patient_input_files;
use crate::groups::Source;
use crate::ranges;
use serde::Deserialize;
use std::path::PathBuf;

pub struct TumourCrop;

crate::groups::with_source! {
    pub struct Params {
        pub patient: String,
        /// The three channels: DCE phases (default pre-contrast, first and second post-contrast).
        #[serde(default = "crate::data::default_phases")]
        pub phases: Vec<usize>,
        #[serde(default = "default_spacing")]
        pub spacing_mm: f64,
        #[serde(default = "default_margin")]
        pub margin_mm: f64,
        #[serde(default = "default_size")]
        pub size: u32,
        /// The middle tumour slice (the paper's input), `tumour` (every slice of it) or an odd
        /// number centred on the middle one; with more than one, `slices.npy` holds them all.
        #[serde(default = "middle")]
        pub slices: Slices,
        /// Black outside the expert mask (`CropOptions::outside_mask_black`); off: the paper's crop.
        #[serde(default)]
        pub outside_mask_black: bool,
    }
}

fn middle() -> Slices {
    Slices::Middle
}

fn default_spacing() -> f64 {
    CropOptions::default().spacing_mm
}
fn default_margin() -> f64 {
    CropOptions::default().margin_mm
}
fn default_size() -> u32 {
    CropOptions::default().size
}

impl Task for TumourCrop {
    type Params = Params;
    const KIND: &'static str = "tumour_crop";
    // Still 1 with `slices:`: its default makes the same files as before, byte for byte.
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "middle tumour slice (or more around it), cropped, resized and normalised to three channels (.npy and a PNG preview)";

    fn input_files(p: &Params) -> Vec<PathBuf> {
        patient_input_files(&p.source, &p.patient, &p.phases)
    }

    fn validate(p: &Params) -> Vec<ParamError> {
        let phases = if p.phases.len() == 3 { Ok(()) } else { Err(ParamError::at("phases", format!("three phases make the three channels; got {:?}", p.phases))) };
        ranges::refused([phases, ranges::positive("spacing_mm", p.spacing_mm), ranges::non_negative("margin_mm", p.margin_mm), ranges::at_least("size", p.size as usize, 1), whole_volume(p.slices)])
    }

    fn run(&self, p: Params, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let root = p.source.root(ctx)?;
        let who = &p.patient;
        let (files, mask_file) = patient_files(&root, who, &p.phases).map_err(|e| TaskError::msg(format!("{who}: {e}")))?;
        let mask = read(&mask_file).map_err(|e| TaskError::msg(format!("{who}: {e}")))?;
        let sp = mask.spacing();
        let o = CropOptions { spacing_mm: p.spacing_mm, margin_mm: p.margin_mm, size: p.size, outside_mask_black: p.outside_mask_black, ..CropOptions::default() };
        // One phase in memory at a time: the crop needs only the tumour's slice of each.
        let phase_slice = |c: usize, z: usize| -> Result<Plane, String> {
            let f = &files[c];
            let v = read_z_slice(f, z).map_err(|e| e.to_string())?;
            if v.header_shape() != mask.shape() {
                return Err(format!("{} has shape {:?}, the mask {:?}", f.display(), v.header_shape(), mask.shape()));
            }
            let (a, b) = (v.affine(), mask.affine());
            if a.iter().flatten().zip(b.iter().flatten()).any(|(x, y)| (x - y).abs() > 1e-3) {
                return Err(format!("{} and its mask have different voxel-to-world affines", f.display()));
            }
            Ok(slice(&v.data, 0))
        };
        let Crops { values, previews, mut info } = tumour_crop(&mask.data, [sp[0], sp[1]], &o, p.slices, phase_slice).map_err(|e| TaskError::msg(format!("{who}: {e} ({})", mask_file.display())))?;
        // Slices kept by `resample`: the crop's slice is counted in the acquired volume.
        let record = files[0].with_file_name(SLAB_RECORD);
        if record.exists() {
            let slab: SlabRecord = std::fs::read(&record).map_err(TaskError::io(&record)).and_then(|b| serde_json::from_slice(&b).map_err(TaskError::at(&record)))?;
            info.slice += slab.first_slice;
            info.slices.iter_mut().for_each(|z| *z += slab.first_slice);
            info.tumour_slices = slab.tumour_slices;
        }
        let n = p.size as usize;
        let out = |name: &str| ctx.out.join(name);
        let middle = info.slices.iter().position(|&z| z == info.slice).unwrap_or(0);
        std::fs::write(out("crop.npy"), super::npy::bytes(&[3, n, n], &values[middle])).map_err(TaskError::io(&out("crop.npy")))?;
        if values.len() > 1 {
            let all: Vec<f32> = values.concat();
            std::fs::write(out(SLICES_NPY), super::npy::bytes(&[values.len(), 3, n, n], &all)).map_err(TaskError::io(&out(SLICES_NPY)))?;
        }
        std::fs::write(out("preview.png"), png_bytes(&previews).map_err(TaskError::msg)?).map_err(TaskError::io(&out("preview.png")))?;
        let meta = serde_json::json!({ "patient": who, "options": o, "crop": info });
        std::fs::write(out("crop.json"), serde_json::to_vec_pretty(&meta).expect("json")).map_err(TaskError::io(&out("crop.json")))
    }
}

/// Beside `crop.npy` when more than the middle slice is cropped: (S, 3, H, W), in slice order.
pub const SLICES_NPY: &str = "slices.npy";

/// The crop takes tumour slices: the whole volume's are not a tumour's.
fn whole_volume(s: Slices) -> Result<(), ParamError> {
    match s {
        Slices::All => Err(ParamError::at("slices", "the crop takes tumour slices: `middle`, `tumour` or an odd number centred on the middle one")),
        _ => Ok(()),
    }
}

/// Beside a patient's phases, when `resample` kept only some slices: which, so the crop can
/// say which slice of the acquired volume it took.
pub const SLAB_RECORD: &str = "slab.json";

#[derive(serde::Serialize, Deserialize)]
pub struct SlabRecord {
    /// The first kept slice, in the acquired volume's slice index.
    pub first_slice: usize,
    pub slices: usize,
    /// The first and last slices the resampled mask marks, in the same index.
    pub tumour_slices: [usize; 2],
}

/// One patient's files in the dataset, and where a step that writes the patient back in the
/// same layout (`n4`, `resample`) puts its own: `images/<ID>/<id>_000N.nii` and
/// `segmentations/expert/<ID>.nii[.gz]` under the node's output.
pub(super) struct PatientBack {
    pub who: String,
    pub phases: Vec<PathBuf>,
    pub mask: PathBuf,
    images: PathBuf,
    masks: PathBuf,
}

impl PatientBack {
    pub fn open(ctx: &TaskCtx<'_>, source: &Source, patient: &str, phases: &[usize]) -> Result<PatientBack, TaskError> {
        let root = source.root(ctx)?;
        let who = patient.to_uppercase();
        let (files, mask) = patient_files(&root, &who, phases).map_err(|e| TaskError::msg(format!("{who}: {e}")))?;
        let images = ctx.out.join("images").join(&who);
        let masks = ctx.out.join("segmentations/expert");
        std::fs::create_dir_all(&images).map_err(TaskError::io(&images))?;
        std::fs::create_dir_all(&masks).map_err(TaskError::io(&masks))?;
        Ok(PatientBack { who, phases: files, mask, images, masks })
    }

    /// Where phase `ph` goes: float32, uncompressed, because gzip makes float32 voxels
    /// larger, not smaller, and takes seconds on a large volume.
    pub fn phase_out(&self, ph: usize) -> PathBuf {
        self.images.join(format!("{}_{ph:04}.nii", self.who.to_lowercase()))
    }

    /// Where `resample` records which slices it kept (see `SlabRecord`).
    pub fn slab_out(&self) -> PathBuf {
        self.images.join(SLAB_RECORD)
    }

    /// Where the mask goes, with extension `ext` (`nii` or `nii.gz`).
    pub fn mask_out(&self, ext: &str) -> PathBuf {
        self.masks.join(format!("{}.{ext}", self.who))
    }
}
