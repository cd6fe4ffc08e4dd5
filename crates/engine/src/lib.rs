//! The generic workflow engine of `dag`. Nothing in here knows about the study, and nothing
//! here needs libtorch: `cargo test -p dag-engine` builds and passes without it.

pub mod builtin;
pub mod cache;
pub mod diagnostic;
pub mod error;
pub mod events;
pub mod executor;
pub mod expand;
pub mod graph;
pub mod hash;
pub mod keys;
pub mod params;
pub mod plan;
pub mod report;
pub mod results;
pub mod scheduler;
pub mod spec;
pub mod statcache;
pub mod task;
pub mod template;
#[cfg(test)]
mod test_spec;
pub mod yaml;
