//! `dag model logits`: the command users run to check a converted checkpoint, end to end
//! (dag → dag-torch → safetensors + .npy → logits), against torchvision's reference.

mod common;
use common::Project;
use tch::Tensor;

#[test]
fn logits_of_a_torchvision_checkpoint_match_the_reference() {
    let p = dag::study::oracles::densenet_reference();
    let proj = Project::new("name: unused\nnodes: {}\n");
    // The oracle's formula-defined weights (see tests/fixtures/oracles/README.md).
    let sd: Vec<(String, Tensor)> = dag::study::oracles::densenet_formula_weights(&p)
        .into_iter()
        .filter(|(_, _, vals)| !vals.is_empty())
        .map(|(name, shape, vals)| (name, Tensor::from_slice(&vals).reshape(&shape)))
        .collect();
    Tensor::write_safetensors(&sd, proj.path("w.safetensors")).unwrap();
    let x = dag::study::oracles::densenet_formula_input(96, 80);
    Tensor::from_slice(&x).reshape([1, 3, 96, 80]).write_npy(proj.path("x.npy")).unwrap();
    let r = proj.dag(&["model", "logits", "--weights", "w.safetensors", "--input", "x.npy", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let (got, want) = (got["logits"].as_array().unwrap(), p["logits_1000"].as_array().unwrap());
    assert_eq!(got.len(), 1000);
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.as_f64().unwrap().abs()));
    for (a, b) in got.iter().zip(want) {
        assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() <= 1e-4 * scale);
    }
    // A wrong input shape is named.
    Tensor::from_slice(&x[..96 * 80]).reshape([1, 1, 96, 80]).write_npy(proj.path("gray.npy")).unwrap();
    let bad = proj.dag(&["model", "logits", "--weights", "w.safetensors", "--input", "gray.npy"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("gray.npy: expected a float32 array of shape (1, 3, H, W)"), "{}", bad.stderr);
}

#[test]
fn the_dag_binary_does_not_load_libtorch() {
    let out = std::process::Command::new("ldd").arg(env!("CARGO_BIN_EXE_dag")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("libc.so"), "{text}");
    assert!(!text.contains("libtorch"), "dag must start without libtorch (0.4 s of static init):\n{text}");
}

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
