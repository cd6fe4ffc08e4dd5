//! DenseNet121 against torchvision (tests/fixtures/oracles/densenet121): the same names, and the
//! same logits under formula-defined weights loaded from a safetensors file the test writes.

use super::densenet::DenseNet121;
use super::weights::{load_torchvision, WeightsError};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

fn reference() -> serde_json::Value {
    dag_study::oracles::densenet_reference()
}

/// The oracle's weights as tensors, names passed through `rename`.
fn formula_state_dict(r: &serde_json::Value, rename: impl Fn(&str) -> String) -> Vec<(String, Tensor)> {
    dag_study::oracles::densenet_formula_weights(r)
        .into_iter()
        .map(|(name, shape, vals)| {
            let t = if vals.is_empty() { Tensor::from(0i64) } else { Tensor::from_slice(&vals).reshape(&shape) };
            (rename(&name), t)
        })
        .collect()
}

fn formula_input(h: i64, w: i64) -> Tensor {
    Tensor::from_slice(&dag_study::oracles::densenet_formula_input(h as usize, w as usize)).reshape([1, 3, h, w])
}

/// Largest difference over the reference's largest magnitude.
pub(super) fn max_rel_err(got: &Tensor, want: &[f64]) -> f64 {
    let got: Vec<f64> = Vec::<f64>::try_from(got.to_kind(Kind::Double).flatten(0, -1)).unwrap();
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    got.iter().zip(want).fold(0.0f64, |m, (a, b)| m.max((a - b).abs())) / scale
}

fn logits_for(file: &std::path::Path) -> (Tensor, Tensor) {
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = DenseNet121::new(&vs.root(), 1000);
    let report = load_torchvision(&mut vs, file, false).unwrap();
    assert!(report.missing.is_empty() && report.unexpected.is_empty(), "{report:?}");
    let x = formula_input(96, 80);
    tch::no_grad(|| (net.pooled_t(&x, false), net.forward_t(&x, false)))
}

#[test]
fn parameter_names_and_shapes_are_torchvisions() {
    let _rng = super::torch_rng();
    let r = reference();
    let vs = nn::VarStore::new(Device::Cpu);
    let _net = DenseNet121::new(&vs.root(), 1000);
    let vars = vs.variables();
    let mut expected = 0;
    for entry in r["state_dict_order"].as_array().unwrap() {
        let name = entry[0].as_str().unwrap();
        if name.ends_with("num_batches_tracked") {
            continue;
        }
        expected += 1;
        let shape: Vec<i64> = entry[1].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(vars.get(name).map(|t| t.size()), Some(shape), "{name}");
    }
    assert_eq!(vars.len(), expected);
    let trainable: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    assert_eq!(trainable, r["n_parameters"].as_i64().unwrap());
}

#[test]
fn logits_match_torchvision_to_1e4() {
    let _rng = super::torch_rng();
    let r = reference();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("densenet121.safetensors");
    Tensor::write_safetensors(&formula_state_dict(&r, str::to_owned), &file).unwrap();
    let (pooled, logits) = logits_for(&file);
    let want = |k: &str| -> Vec<f64> { r[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
    assert!(max_rel_err(&pooled, &want("pooled_1024")) < 1e-4);
    let err = max_rel_err(&logits, &want("logits_1000"));
    assert!(err < 1e-4, "logits differ from torchvision by {err:e} (relative)");

    // Legacy key names (`norm.1`, `conv.2`) load into the same network.
    let legacy = dir.path().join("legacy.safetensors");
    let old = |n: &str| n.replace(".norm1.", ".norm.1.").replace(".conv1.", ".conv.1.").replace(".norm2.", ".norm.2.").replace(".conv2.", ".conv.2.");
    Tensor::write_safetensors(&formula_state_dict(&r, old), &legacy).unwrap();
    let (_, legacy_logits) = logits_for(&legacy);
    assert_eq!(f64::try_from((legacy_logits - &logits).abs().max()).unwrap(), 0.0);
}

#[test]
fn wrong_shapes_and_corrupt_files_are_named() {
    let _rng = super::torch_rng();
    let r = reference();
    let dir = tempfile::tempdir().unwrap();
    let mut sd = formula_state_dict(&r, str::to_owned);
    let k = sd.iter().position(|(n, _)| n == "features.denseblock2.denselayer3.conv1.weight").unwrap();
    sd[k].1 = Tensor::zeros([128, 10, 1, 1], (Kind::Float, Device::Cpu));
    let file = dir.path().join("bad.safetensors");
    Tensor::write_safetensors(&sd, &file).unwrap();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let _net = DenseNet121::new(&vs.root(), 1000);
    match load_torchvision(&mut vs, &file, false) {
        Err(WeightsError::Shape { name, found, .. }) => {
            assert_eq!(name, "features.denseblock2.denselayer3.conv1.weight");
            assert_eq!(found, vec![128, 10, 1, 1]);
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a safetensors file").unwrap();
    let e = load_torchvision(&mut vs, &junk, false).unwrap_err().to_string();
    assert!(e.contains("junk.safetensors") && e.contains("cannot read safetensors"), "{e}");
    let gone = dir.path().join("gone.safetensors");
    let e = load_torchvision(&mut vs, &gone, false).unwrap_err().to_string();
    assert!(e.contains("gone.safetensors: cannot read safetensors: No such file"), "{e}");
    assert!(!e.contains("IoError"), "the OS's words, not a Debug dump: {e}");
}

/// numpy writes an F-contiguous array Fortran-ordered, which libtorch cannot read: the error
/// names the file and says how to save it instead.
#[test]
fn a_fortran_ordered_npy_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.npy");
    // NPY 1.0: magic, version, header length (little-endian u16), a header padded to 64 bytes.
    let mut header = "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2, 2), }".to_owned();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(std::iter::repeat_n(0u8, 12 * 4));
    std::fs::write(&file, bytes).unwrap();
    let e = super::backbone::read_crop(&file).unwrap_err();
    assert!(e.contains("f.npy: cannot read .npy") && e.contains("np.ascontiguousarray"), "{e}");
    let e = super::backbone::read_crop(&dir.path().join("none.npy")).unwrap_err();
    assert!(e.contains("none.npy: cannot read .npy: No such file"), "{e}");
}

#[test]
fn imagenet_head_is_replaced_by_the_studys() {
    let _rng = super::torch_rng();
    let r = reference();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("imagenet.safetensors");
    Tensor::write_safetensors(&formula_state_dict(&r, str::to_owned), &file).unwrap();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let _net = DenseNet121::new(&vs.root(), 1);
    let report = load_torchvision(&mut vs, &file, true).unwrap();
    assert!(report.head_replaced);
    assert_eq!(report.missing, vec!["classifier.bias", "classifier.weight"]);
    assert!(load_torchvision(&mut vs, &file, false).is_err(), "without replace_head a 1000-class head is a shape error");
}
