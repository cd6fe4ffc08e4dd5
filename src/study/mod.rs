//! The breast DCE-MRI recurrence study (Bhalla et al., AACR 2026). Its tasks implement
//! `engine::task::Task` and are registered by `register`; the engine never names them.

use crate::engine::task::Registry;

/// Registers the study's built-in tasks. (The domain tasks arrive with their issues:
/// survival statistics, imaging, model.)
pub fn register(_registry: &mut Registry) {}

pub mod survival;
