// Embeds libtorch's library folder as an rpath so the `dag` binary and every test binary
// find libtorch at run time without LD_LIBRARY_PATH. torch-sys exports the folder to
// dependants through its `links = "tch"` metadata as DEP_TCH_LIBTORCH_LIB.
//
// Compiles src/determinism.cpp against the same libtorch's headers (beside its lib folder,
// as torch-sys finds them), with torch-sys's flags: the C++ ABI must be the library's.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    println!("cargo:rerun-if-changed=src/determinism.cpp");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").expect("torch-sys names libtorch's lib folder (DEP_TCH_LIBTORCH_LIB)");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    // Where dag-torch looks for libtorch_cuda.so at start (see src/bin/dag-torch/cuda.rs in this crate).
    println!("cargo:rustc-env=DAG_LIBTORCH_LIB={lib}");
    let include = std::path::Path::new(&lib).parent().expect("the lib folder has a parent").join("include");
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file("src/determinism.cpp")
        .compile("dag_determinism");
}
