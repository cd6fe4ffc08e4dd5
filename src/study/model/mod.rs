//! The study's network: DenseNet121 written with tch to match torchvision exactly (tch's own
//! `vision::densenet` sums where it should average in its transitions), and the loading of
//! torchvision weights saved as safetensors.
//!
//! Everything here needs libtorch, so only the `dag-torch` binary calls it (the `dag`
//! scheduler binary does not link libtorch; see src/bin/dag-torch.rs).

pub mod densenet;
pub mod weights;

#[cfg(test)]
mod oracle_tests;
