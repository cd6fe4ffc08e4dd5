//! The `dag-torch` helper, for what needs libtorch: the model commands and counting CUDA
//! devices (see crates/model/src/bin/dag-torch/main.rs for why it is a separate process).

use dag_engine::error::Error;
use std::path::PathBuf;

/// `$DAG_TORCH`, else `dag-torch` beside this binary: the same lookup as the study's workers.
fn path() -> Result<PathBuf, Error> {
    dag_study::training::worker::helper().map_err(|e| Error::Usage(e.to_string()))
}

/// Runs `dag-torch` with the terminal's stdio; its exit code becomes ours.
pub fn run(args: &[std::ffi::OsString]) -> Result<(), Error> {
    let helper = path()?;
    let status = std::process::Command::new(&helper).args(args).status().map_err(|source| Error::Io { path: helper.clone(), source })?;
    match status.code() {
        Some(0) => Ok(()),
        code => Err(Error::Child(code.unwrap_or(1))),
    }
}

/// How many CUDA devices libtorch sees, asked through the helper (once per process: the
/// study's tasks read the same answer).
pub fn cuda_devices() -> Result<usize, Error> {
    use dag_study::training::worker::{devices, DevicesError};
    let v = devices().map_err(|e| match e {
        DevicesError::Start(e) => Error::DataIo(e),
        DevicesError::Answer(e) => Error::Usage(format!("{e}; use --gpus none or --gpus 0,1")),
    })?;
    let n = v["cuda_devices"].as_u64().unwrap_or(0) as usize;
    tracing::info!("libtorch sees {n} CUDA device(s)");
    if n == 0 {
        let why = v["cuda_library"].as_str().unwrap_or("");
        // A machine with an NVIDIA driver but no usable CUDA libtorch is a set-up mistake
        // worth a warning; on a machine without a GPU it is the normal case.
        if std::path::Path::new("/dev/nvidiactl").exists() && v["cuda_backend"] == false {
            tracing::warn!("this machine has an NVIDIA driver, but libtorch's CUDA backend did not load ({why}); GPU nodes run on the CPU or fail. Install libtorch with its CUDA dependencies (README, Set-up).");
        } else {
            tracing::info!("no CUDA device ({why})");
        }
    }
    Ok(n)
}
