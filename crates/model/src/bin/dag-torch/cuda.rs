//! Loads libtorch's CUDA backend. libtorch splits into libtorch_cpu.so and libtorch_cuda.so,
//! and the CUDA one registers itself only when it is loaded; no symbol of it is called
//! directly, so the linker (`--as-needed`) drops it and `tch::Cuda::is_available()` stays
//! false even with a CUDA libtorch on a GPU machine. Loading it here, before the first CUDA
//! query, makes one binary work everywhere: on a machine without the CUDA libraries the load
//! fails, and the binary runs on the CPU and says why.

use std::sync::OnceLock;

static STATUS: OnceLock<Result<String, String>> = OnceLock::new();

/// The library that holds libtorch's CUDA backend: beside the libtorch_cpu.so this process
/// has loaded, which is the build's unless LD_LIBRARY_PATH points at another libtorch (a
/// binary copied to a GPU machine with its own); a libtorch_cuda.so from a different build
/// would not fit the loaded one. The build's folder is the fallback.
fn library() -> std::path::PathBuf {
    let dir = loaded_libtorch_dir().unwrap_or_else(|| option_env!("DAG_LIBTORCH_LIB").unwrap_or("").into());
    dir.join("libtorch_cuda.so")
}

/// The folder of the libtorch_cpu.so mapped into this process, from /proc/self/maps.
fn loaded_libtorch_dir() -> Option<std::path::PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let lib = maps.lines().filter_map(|l| l.split_whitespace().nth(5)).find(|p| p.ends_with("/libtorch_cpu.so"))?;
    std::path::Path::new(lib).parent().map(std::path::Path::to_path_buf)
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
        // Whether cuDNN and cuBLAS may use TF32 on these devices (see `tf32_allowed`).
        "tf32": n > 0 && dag_model::backbone::tf32_allowed(),
    })
}

#[cfg(test)]
mod tests {
    /// The folder found in /proc/self/maps holds libtorch_cpu.so and is where the loader
    /// looks: the build's rpath or a folder of LD_LIBRARY_PATH (which cargo test sets).
    #[test]
    fn the_loaded_libtorch_is_found_in_the_process_maps() {
        let canon = |p: &std::path::Path| std::fs::canonicalize(p).ok();
        // The test harness has no `main`: without a call into libtorch of its own, the linker
        // (`--as-needed`) would leave libtorch out of this binary altogether.
        let _ = std::hint::black_box(tch::utils::has_cudart());
        let found = super::loaded_libtorch_dir().expect("libtorch_cpu.so is mapped into the process");
        assert!(found.join("libtorch_cpu.so").is_file(), "{}", found.display());
        let ld = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
        let searched: Vec<_> = std::iter::once(env!("DAG_LIBTORCH_LIB")).chain(ld.split(':')).filter_map(|d| canon(std::path::Path::new(d))).collect();
        assert!(searched.contains(&canon(&found).expect("exists")), "{} is neither the build's libtorch nor on LD_LIBRARY_PATH", found.display());
        assert_eq!(super::library(), found.join("libtorch_cuda.so"));
    }
}
