//! Loads libtorch's CUDA backend. libtorch splits into libtorch_cpu.so and libtorch_cuda.so,
//! and the CUDA one registers itself only when it is loaded; no symbol of it is called
//! directly, so the linker (`--as-needed`) drops it and `tch::Cuda::is_available()` stays
//! false even with a CUDA libtorch on a GPU machine. Loading it here, before the first CUDA
//! query, makes one binary work everywhere: on a machine without the CUDA libraries the load
//! fails, and the binary runs on the CPU and says why.

use std::sync::OnceLock;

static STATUS: OnceLock<Result<String, String>> = OnceLock::new();

/// The library that holds libtorch's CUDA backend, beside the libtorch this binary was built with.
fn library() -> std::path::PathBuf {
    let dir = option_env!("DAG_LIBTORCH_LIB").unwrap_or("");
    std::path::Path::new(dir).join("libtorch_cuda.so")
}

/// Loads the CUDA backend if this libtorch has one. Call first thing in `main`: libtorch
/// caches the first answer to "is there a CUDA backend".
pub fn load() {
    STATUS.get_or_init(|| {
        let path = library();
        if !path.exists() {
            return Err(format!("{} does not exist (a CPU-only libtorch)", path.display()));
        }
        let c = std::ffi::CString::new(path.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: dlopen with a valid C string; the handle is kept for the life of the
        // process (never dlclosed), as libtorch's registrations point into the library.
        let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        if handle.is_null() {
            // SAFETY: dlerror returns a thread-local C string describing the last dlopen failure.
            let why = unsafe { libc::dlerror() };
            let why = if why.is_null() { "unknown error".to_owned() } else { unsafe { std::ffi::CStr::from_ptr(why) }.to_string_lossy().into_owned() };
            return Err(format!("cannot load {}: {why}", path.display()));
        }
        Ok(format!("{} loaded", path.display()))
    });
}

/// What `dag-torch devices` reports: devices, and why there are none where that is known.
pub fn report() -> serde_json::Value {
    let n = tch::Cuda::device_count().max(0);
    let (loaded, library) = match STATUS.get() {
        Some(Ok(s)) => (true, s.clone()),
        Some(Err(e)) => (false, e.clone()),
        None => (false, "not attempted".to_owned()),
    };
    serde_json::json!({
        "cuda_devices": n,
        "cudnn": n > 0 && tch::Cuda::cudnn_is_available(),
        "cuda_backend": loaded,
        // libtorch's own view: whether a CUDA runtime is compiled in and registered.
        "cuda_runtime": tch::utils::has_cudart(),
        "cuda_library": library,
    })
}
