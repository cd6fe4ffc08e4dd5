//! The study's network: DenseNet121 written with tch to match torchvision exactly (tch's own
//! `vision::densenet` sums where it should average in its transitions), the loading of
//! torchvision weights saved as safetensors, the frozen prefix's features and the training of
//! the unfrozen tail.
//!
//! Everything here needs libtorch, so it is a module of the `dag-torch` binary, not of the
//! library (the `dag` scheduler binary must not load libtorch; see src/bin/dag-torch/main.rs).
//! The `dag` side of training (folds, parameters, the worker protocol) is src/study/training.

pub mod backbone;
pub mod densenet;
pub mod logistic;
pub mod losses;
pub mod train;
pub mod weights;

#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod train_tests;
