//! Test support: where the reference oracles are, and the formula-defined DenseNet121
//! weights the torchvision oracle was computed with (plain numbers, no libtorch, so both the
//! dag-torch tests and the integration tests can build them).

use std::path::{Path, PathBuf};

/// `$DAG_ORACLES`, else `shared/oracles` beside the repository (or beside one of its
/// parents), as CI and the developers' machines lay it. A missing folder is a clear panic
/// rather than a test that passes vacuously.
pub fn oracles_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DAG_ORACLES") {
        return d.into();
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    repo.ancestors()
        .skip(1)
        .map(|a| a.join("shared/oracles"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no shared/oracles beside {} (set DAG_ORACLES to its path)", repo.display()))
}

/// The DenseNet121 oracle's reference (reference_96x80.json).
pub fn densenet_reference() -> serde_json::Value {
    let p = oracles_dir().join("densenet121/reference_96x80.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("oracle JSON")
}

/// Entry k of torchvision's state dict, value i: s = sin(0.37·i + 0.11·k) (see the oracle's
/// README). `num_batches_tracked` entries count for k but have no values (empty shape).
pub fn densenet_formula_weights(reference: &serde_json::Value) -> Vec<(String, Vec<i64>, Vec<f32>)> {
    let mut out = Vec::new();
    for (k, entry) in reference["state_dict_order"].as_array().expect("state_dict_order").iter().enumerate() {
        let name = entry[0].as_str().expect("name").to_owned();
        let shape: Vec<i64> = entry[1].as_array().expect("shape").iter().map(|v| v.as_i64().expect("dim")).collect();
        if name.ends_with("num_batches_tracked") {
            out.push((name, shape, Vec::new()));
            continue;
        }
        let numel: i64 = shape.iter().product();
        let vals = (0..numel)
            .map(|i| {
                let s = (0.37 * i as f64 + 0.11 * k as f64).sin();
                state_dict_value(&name, &shape, s, s / ((numel / shape[0]) as f64).sqrt())
            })
            .collect();
        out.push((name, shape, vals));
    }
    out
}

/// The oracles' rule for one value of a state-dict entry from s in [-1, 1]: running variance
/// 1 + 0.5 (1 + s); running mean and any bias 0.1 s; batch-norm weight 1 + 0.1 s; and
/// `weight` (s scaled by the fan-in, which each oracle does its own way) for convolution and
/// linear weights.
pub fn state_dict_value(name: &str, shape: &[i64], s: f64, weight: f64) -> f32 {
    let v = if name.ends_with("running_var") {
        1.0 + 0.5 * (1.0 + s)
    } else if name.ends_with("running_mean") || name.ends_with("bias") {
        0.1 * s
    } else if shape.len() == 1 {
        1.0 + 0.1 * s
    } else {
        weight
    };
    v as f32
}

/// The oracle's input: x.flatten()[j] = sin(0.05·j) over a (1, 3, h, w) array.
pub fn densenet_formula_input(h: usize, w: usize) -> Vec<f32> {
    (0..3 * h * w).map(|j| (0.05 * j as f64).sin() as f32).collect()
}
