//! Imaging for the study: NIfTI input and output (more steps arrive with the imaging issue:
//! N4 bias correction, resampling, the tumour slice, crop and resize).

pub mod nifti_io;
