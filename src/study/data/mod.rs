//! Cohort data: the MAMA-MIA reader and the synthetic cohort for `make run` and tests.

pub mod mamamia;
pub mod synth;
pub mod synthetic;
pub mod tasks;
