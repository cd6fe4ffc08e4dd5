// Embeds libtorch's library folder as an rpath so the `dag` binary and every test binary
// find libtorch at run time without LD_LIBRARY_PATH. torch-sys exports the folder to
// dependants through its `links = "tch"` metadata as DEP_TCH_LIBTORCH_LIB.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        // Where dag-torch looks for libtorch_cuda.so at start (see src/bin/dag-torch/cuda.rs in this crate).
        println!("cargo:rustc-env=DAG_LIBTORCH_LIB={lib}");
    }
}
