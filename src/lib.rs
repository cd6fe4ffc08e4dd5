//! `dag`: the command-line front of the workflow engine (dag-engine) and the breast-MRI
//! recurrence study it runs (dag-study). The engine and the study are crates of their own;
//! they are re-exported under their old paths for the binary and the integration tests.

pub mod app;
pub mod cli;
pub use dag_engine as engine;
pub use dag_study as study;
