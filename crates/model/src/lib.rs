//! The study's network: DenseNet121 written with tch to match torchvision exactly (tch's own
//! `vision::densenet` sums where it should average in its transitions), the loading of
//! torchvision weights saved as safetensors, the frozen prefix's features and the training of
//! the unfrozen tail.
//!
//! Everything here needs libtorch, so it is a crate of its own that only the `dag-torch`
//! helper binary uses: the `dag` scheduler binary must not load libtorch (0.4 s of static
//! initialisation; GNU ld decides what is needed before it drops unused code). The `dag` side
//! of training (folds, parameters, the worker protocol) is dag-study's `training`.

pub mod backbone;
mod augment;
mod data;
pub mod densenet;
pub mod determinism;
pub mod logistic;
pub mod losses;
pub mod train;
pub mod views;
pub mod weights;

#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod tail_oracle_tests;
#[cfg(test)]
mod train_tests;

/// libtorch's random generator is global and every new network draws its initial weights
/// from it: tests that build networks or draw numbers take this lock, so that one test's
/// draws cannot land between another's seed and its use (which made "same seed, same bytes"
/// fail now and then under the parallel test runner).
#[cfg(test)]
pub(crate) fn torch_rng() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
