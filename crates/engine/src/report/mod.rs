//! Reporters: each subscribes to the scheduler's events and nothing else.

pub mod log;
pub mod progress;
pub mod summary;
pub mod timeline;
pub mod trace;
