//! The study's network: DenseNet121 written with tch to match torchvision exactly (tch's own
//! `vision::densenet` sums where it should average in its transitions), and the loading of
//! torchvision weights saved as safetensors.
//!
//! Everything here needs libtorch, so it is a module of the `dag-torch` binary, not of the
//! library (the `dag` scheduler binary must not load libtorch; see src/bin/dag-torch/main.rs).

pub mod densenet;
pub mod weights;

#[cfg(test)]
mod oracle_tests;
