//! The breast DCE-MRI recurrence study (Bhalla et al., AACR 2026). Its tasks implement
//! `engine::task::Task` and are registered by `register`; the engine never names them.

use crate::engine::task::Registry;

pub mod data;
pub mod imaging;
// `model` (src/study/model) needs libtorch and is compiled into the dag-torch binary only.
pub mod statistics;
pub mod survival;

/// Registers the study's built-in tasks. (Imaging and the model arrive with their issues.)
pub fn register(registry: &mut Registry) {
    registry
        .register(data::synthetic::SyntheticCohort)
        .register(data::tasks::SynthDataset)
        .register(data::tasks::MamaMiaCohort)
        .register(statistics::task::SurvivalStats);
}

/// Where the reference oracles are: `$DAG_ORACLES`, else `shared/oracles` beside the
/// repository (or beside one of its parents), as CI and the developers' machines lay it.
/// Tests use it; a missing folder is a clear panic rather than a test that passes vacuously.
#[doc(hidden)]
pub fn oracles_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("DAG_ORACLES") {
        return d.into();
    }
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    repo.ancestors()
        .skip(1)
        .map(|a| a.join("shared/oracles"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no shared/oracles beside {} (set DAG_ORACLES to its path)", repo.display()))
}
