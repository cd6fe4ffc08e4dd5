//! Test support: where the reference oracles are, and the formula-defined DenseNet121
//! weights the torchvision oracle was computed with (plain numbers, no libtorch, so both the
//! dag-torch tests and the integration tests can build them).

use std::path::{Path, PathBuf};

/// The repository's `tests/fixtures`: the data the tests of every crate compare with, kept at
/// the top with the integration tests (this crate sits two folders below it).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().and_then(Path::parent).expect("crates/study has two parents").join("tests/fixtures")
}

/// `$DAG_ORACLES` (an override), else the repository's own `tests/fixtures/oracles`: a lone
/// clone carries every reference it is tested against. A missing folder is a clear panic
/// rather than a test that passes vacuously.
pub fn oracles_dir() -> PathBuf {
    let dir = std::env::var_os("DAG_ORACLES").map_or_else(|| fixtures_dir().join("oracles"), PathBuf::from);
    assert!(dir.is_dir(), "no reference oracles at {} (DAG_ORACLES overrides the repository's tests/fixtures/oracles)", dir.display());
    dir
}

/// The N4 oracle's body: the ellipsoid its generator drew, indexed [x, y, z] as NIfTI stores
/// it (tests/fixtures/oracles/README.md). Exact: the same float64 comparisons as numpy's.
pub fn n4_body(shape: [usize; 3]) -> Vec<bool> {
    let [nx, ny, nz] = shape.map(|n| n as f64);
    let mut out = Vec::with_capacity(shape.iter().product());
    for z in 0..shape[2] {
        for y in 0..shape[1] {
            for x in 0..shape[0] {
                let (xn, yn, zn) = ((x as f64 - nx / 2.0) / (nx * 0.45), (y as f64 - ny * 0.55) / (ny * 0.40), (z as f64 - nz / 2.0) / (nz * 0.48));
                out.push(xn * xn + yn * yn + zn * zn <= 1.0);
            }
        }
    }
    out
}

/// The N4 oracle's true log bias, made again from its five coefficients instead of stored
/// (8.6 MB of float32): within 3e-8 (one float32 step) of the file SimpleITK wrote, in the
/// same Fortran order as `n4_body`.
pub fn n4_true_log_bias(shape: [usize; 3]) -> Vec<f32> {
    let p = oracles_dir().join("n4/true_log_bias.json");
    let spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("oracle JSON");
    let c: Vec<f64> = spec["c"].as_array().expect("c").iter().map(|v| v.as_f64().expect("coefficient")).collect();
    let [nx, ny, nz] = shape.map(|n| n as f64);
    let mut field = Vec::with_capacity(shape.iter().product());
    for z in 0..shape[2] {
        for y in 0..shape[1] {
            for x in 0..shape[0] {
                let (u, v, w) = (x as f64 / nx - 0.5, y as f64 / ny - 0.5, z as f64 / nz - 0.5);
                field.push(0.45 * c[0] * u + 0.3 * c[1] * v + 0.2 * c[2] * w + 0.6 * c[3] * u * v - 0.5 * (u * u) + 0.35 * c[4] * (w * w));
            }
        }
    }
    let body = n4_body(shape);
    let inside: Vec<f64> = field.iter().zip(&body).filter(|(_, b)| **b).map(|(f, _)| *f).collect();
    let mean = inside.iter().sum::<f64>() / inside.len() as f64;
    field.into_iter().map(|f| (f - mean) as f32).collect()
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

/// float32 tensors as a safetensors file (an 8-byte little-endian header length, the JSON
/// header, then the data in the header's order), so that tests without libtorch can hand
/// `dag model` a checkpoint.
pub fn safetensors_bytes(tensors: &[(String, Vec<i64>, Vec<f32>)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for (name, shape, vals) in tensors {
        let end = offset + 4 * vals.len();
        header.insert(name.clone(), serde_json::json!({ "dtype": "F32", "shape": shape, "data_offsets": [offset, end] }));
        offset = end;
    }
    let mut text = serde_json::to_string(&header).expect("json");
    // The data start 8-byte aligned, as the format's own writer pads them.
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text.as_bytes());
    for (_, _, vals) in tensors {
        out.extend(vals.iter().flat_map(|v| v.to_le_bytes()));
    }
    out
}
