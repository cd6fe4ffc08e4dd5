//! Deterministic training on CUDA, asked for with `deterministic: true` in a fold's training
//! options. On an H100, two float32 (TF32 off) trainings of the same fold did not repeat byte
//! for byte (BENCHMARKS.md): cuDNN's default weight-gradient kernels accumulate with atomics
//! in an order that differs run to run. This sets libtorch's switches for its deterministic
//! algorithms (`torch.backends.cudnn.deterministic`, `torch.use_deterministic_algorithms` in
//! PyTorch), through the C++ shim in determinism.cpp. cuBLAS needs its workspace fixed before
//! it starts (`CUBLAS_WORKSPACE_CONFIG`, set by dag-torch at start). The CPU's kernels are
//! deterministic already; the switch costs speed on the GPU, which is why it is not the default.

unsafe extern "C" {
    fn dag_set_deterministic(on: i32);
    fn dag_deterministic_cudnn() -> i32;
}

/// Sets (or clears) libtorch's deterministic switches for this process.
pub fn set(on: bool) {
    // SAFETY: the shim only sets flags on libtorch's global context, which exists from load.
    unsafe { dag_set_deterministic(i32::from(on)) }
}

/// Whether cuDNN is told to be deterministic.
pub fn cudnn_deterministic() -> bool {
    // SAFETY: as in `set`: reads a flag of libtorch's global context.
    unsafe { dag_deterministic_cudnn() != 0 }
}

#[cfg(test)]
mod tests {
    /// The shim reaches libtorch's own context: what it sets, libtorch reports.
    #[test]
    fn the_switch_sets_libtorchs_flags() {
        super::set(true);
        assert!(super::cudnn_deterministic());
        super::set(false);
        assert!(!super::cudnn_deterministic());
    }
}
