//! Imaging for the study: NIfTI input and output, N4 bias-field correction, the tumour crop.

pub mod bias_field;
pub mod bspline;
pub mod crop;
pub mod n4;
pub mod n4_task;
pub mod nifti_io;
pub mod npy;
pub mod resample;
pub mod resample_task;
pub mod slices;
pub mod task;
