//! `dag image info`: the geometry of a NIfTI file, as nibabel reports it.

mod common;
use common::Project;

#[test]
fn info_json_equals_nibabel() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let f = dag_study::oracles::oracles_dir().join("n4/volume.nii.gz");
    let r = p.dag(&["image", "info", f.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // nibabel 5: shape, header.get_zooms(), get_data_dtype(), affine.
    let want = serde_json::json!({"shape": [192, 192, 64], "spacing": [0.800000011920929, 0.800000011920929, 2.0], "datatype": "float32",
        "affine": [[-0.800000011920929, 0.0, 0.0, -0.0], [0.0, -0.800000011920929, 0.0, -0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0]]});
    assert_eq!(got, want);
    let bad = p.dag(&["image", "info", "p.yaml"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("p.yaml: not a readable NIfTI file"), "{}", bad.stderr);
}
