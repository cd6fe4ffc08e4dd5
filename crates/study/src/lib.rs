//! The breast DCE-MRI recurrence study (Bhalla et al., AACR 2026). Its tasks implement
//! `dag_engine::task::Task` and are registered by `register`; the engine never names them.

use dag_engine::task::Registry;

pub mod data;
pub mod groups;
pub mod imaging;
pub mod radiomics;
pub mod ranges;
pub mod report;
// The network itself needs libtorch: it is the dag-model crate, run through `dag-torch`.
pub mod statistics;
pub mod survival;
pub mod training;

/// Registers the study's built-in tasks.
pub fn register(registry: &mut Registry) {
    registry
        .register(data::synthetic::SyntheticCohort)
        .register(data::tasks::SynthDataset)
        .register(data::tasks::MamaMiaCohort)
        .register(imaging::task::TumourCrop)
        .register(imaging::n4_task::N4Correct)
        .register(imaging::resample_task::Resample)
        .register(radiomics::task::RadiomicsFeatures)
        .register(radiomics::task::RadiomicsModel)
        .register(statistics::task::SurvivalStats)
        .register(training::tasks::CvFolds)
        .register(training::tasks::DensenetFeatures)
        .register(training::train::DensenetTrain)
        .register(training::train::OutOfFoldScores)
        .register(report::StudyReport);
}

#[doc(hidden)]
pub mod oracles;
