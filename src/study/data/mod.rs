//! Cohort data: the synthetic cohort (clinical part) for `make run` and tests.

pub mod synth;
pub mod synthetic;
