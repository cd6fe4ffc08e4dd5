//! Imaging for the study: NIfTI input and output, and the tumour crop (N4 bias correction
//! arrives with the rest of the imaging issue).

pub mod bspline;
pub mod crop;
pub mod n4;
pub mod nifti_io;
pub mod task;
