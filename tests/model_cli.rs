//! `dag model logits`: the command users run to check a converted checkpoint, end to end
//! (dag → dag-torch → safetensors + .npy → logits), against torchvision's reference.

mod common;
use common::Project;
use dag_study::imaging::npy::bytes as npy_bytes;
use dag_study::oracles::{densenet_formula_input, densenet_formula_weights, densenet_reference, safetensors_bytes};

#[test]
fn logits_of_a_torchvision_checkpoint_match_the_reference() {
    let p = densenet_reference();
    let proj = Project::new("name: unused\nnodes: {}\n");
    // The oracle's formula-defined weights (see tests/fixtures/oracles/README.md).
    let sd: Vec<_> = densenet_formula_weights(&p).into_iter().filter(|(_, _, vals)| !vals.is_empty()).collect();
    std::fs::write(proj.path("w.safetensors"), safetensors_bytes(&sd)).unwrap();
    let x = densenet_formula_input(96, 80);
    std::fs::write(proj.path("x.npy"), npy_bytes(&[1, 3, 96, 80], &x)).unwrap();
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
    std::fs::write(proj.path("gray.npy"), npy_bytes(&[1, 1, 96, 80], &x[..96 * 80])).unwrap();
    let bad = proj.dag(&["model", "logits", "--weights", "w.safetensors", "--input", "gray.npy"]);
    assert_eq!(bad.code, 4, "bad data");
    assert!(bad.stderr.contains("gray.npy: expected a float32 array of shape (1, 3, H, W)"), "{}", bad.stderr);
}

#[test]
fn the_dag_binary_does_not_load_libtorch() {
    let out = std::process::Command::new("ldd").arg(env!("CARGO_BIN_EXE_dag")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("libc.so"), "{text}");
    assert!(!text.contains("libtorch"), "dag must start without libtorch (0.4 s of static init):\n{text}");
}

/// Hostile inputs to the libtorch helper (#16): an .npy whose header claims 120 GB over 16
/// bytes is refused before libtorch allocates its claim, and a safetensors header whose
/// tensor points past the end of the file is refused by the reader; each names its file.
#[test]
fn a_lying_npy_header_and_a_safetensors_header_past_the_end_are_refused() {
    let proj = Project::new("name: unused\nnodes: {}\n");
    let mut liar = npy_bytes(&[1, 3, 32, 32], &[0.0f32; 3 * 32 * 32]);
    let head = liar.len() - 4 * 3 * 32 * 32;
    liar.truncate(head);
    let text = String::from_utf8_lossy(&liar[10..head]).replace("(1, 3, 32, 32)", "(1, 3, 100000, 100000)");
    let mut lie = liar[..10].to_vec();
    lie.extend(text.trim_end().as_bytes());
    lie.extend(std::iter::repeat_n(b' ', head - 10 - text.trim_end().len() - 1));
    lie.push(b'\n');
    lie.extend([0u8; 16]);
    std::fs::write(proj.path("liar.npy"), &lie).unwrap();
    std::fs::write(proj.path("ok.npy"), npy_bytes(&[1, 3, 32, 32], &[0.0f32; 3 * 32 * 32])).unwrap();
    let header = br#"{"features.conv0.weight":{"dtype":"F32","shape":[64,3,7,7],"data_offsets":[0,37632]}}"#;
    let mut past = (header.len() as u64).to_le_bytes().to_vec();
    past.extend(header);
    past.extend([0u8; 100]);
    std::fs::write(proj.path("past.safetensors"), &past).unwrap();
    // Exit 4: bad data (README), as for a file that cannot be read.
    let r = proj.dag(&["model", "logits", "--weights", "past.safetensors", "--input", "liar.npy"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("liar.npy: not a valid .npy: its header says shape [1, 3, 100000, 100000]"), "{}", r.stderr);
    assert!(!r.stderr.contains("alloc"), "refused before any allocation: {}", r.stderr);
    let r = proj.dag(&["model", "logits", "--weights", "past.safetensors", "--input", "ok.npy"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("past.safetensors: cannot read safetensors"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}
