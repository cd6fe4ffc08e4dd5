//! `dag-torch devices`, as `dag` runs it to count GPUs. (Being an integration test of this
//! crate, it also makes `cargo test` build the `dag-torch` binary that the top-level
//! integration tests' `dag` starts from beside itself.)

#[test]
fn dag_torch_loads_the_cuda_backend_or_says_why_not() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dag-torch")).arg("devices").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let loaded = v["cuda_backend"].as_bool().unwrap();
    let library = v["cuda_library"].as_str().unwrap();
    // Loaded, libtorch must see its CUDA runtime (the backend registered itself); not
    // loaded, it must not, and the reason names the library.
    assert_eq!(v["cuda_runtime"].as_bool(), Some(loaded), "{v}");
    assert!(library.contains("libtorch_cuda.so"), "{v}");
    if !loaded {
        assert_eq!(v["cuda_devices"], 0, "{v}");
    }
}
