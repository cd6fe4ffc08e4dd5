//! The engine's top-level error; `main` maps each kind to one exit code.

use crate::cache::CacheError;
use crate::diagnostic::Diagnostics;
use crate::spec::SpecError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Spec(#[from] SpecError),
    #[error("{0}")]
    Diagnostics(#[from] Diagnostics),
    #[error("{0}")]
    Cache(#[from] CacheError),
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A file that cannot be read or written, already named in the message.
    #[error("{0}")]
    DataIo(String),
    /// An input file that was read but holds damaged or malformed data (a volume that is not
    /// NIfTI, a table cell that is not a number), named with what is wrong in the message.
    #[error("{0}")]
    BadData(String),
    /// Some instances failed; the summary has already said which.
    #[error("the run failed")]
    RunFailed,
    #[error("interrupted")]
    Interrupted,
    /// A helper process failed and has said why; its exit code is ours.
    #[error("helper exited with status {0}")]
    Child(i32),
}

impl Error {
    /// The process exit code for this error: one mapping, used by `main`.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::RunFailed => 1,
            Error::Spec(_) | Error::Diagnostics(_) | Error::Usage(_) => 2,
            Error::Cache(CacheError::Locked(..)) => 3,
            Error::Cache(_) | Error::Io { .. } | Error::DataIo(_) | Error::BadData(_) => 4,
            Error::Interrupted => 130,
            Error::Child(code) => *code,
        }
    }
}
