//! `dag`: a content-addressed workflow engine, and the breast-MRI recurrence study it runs.

pub mod app;
pub mod cli;
pub mod engine;
pub mod study;
