//! `dag radiomics` against PyRadiomics 3.1.4 (`pyradiomics-bhklab`, its default extractor)
//! on volumes and masks of our own making: `scripts/radiomics_oracle.py` wrote them and
//! PyRadiomics' features into tests/fixtures/radiomics/.

mod common;
use common::Project;
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/radiomics")
}

/// The four features of PyRadiomics' marching-cubes mesh, which triangulates each cube from
/// its own table: ours is derived (mesh.rs), so these agree to a few per mille, not 1e-6.
const MESH: [&str; 4] = ["original_shape_MeshVolume", "original_shape_SurfaceArea", "original_shape_SurfaceVolumeRatio", "original_shape_Sphericity"];

fn features(p: &Project, case: &str, extra: &[&str]) -> serde_json::Map<String, Value> {
    let (image, mask) = (fixtures().join(format!("{case}_image.nii.gz")), fixtures().join(format!("{case}_mask.nii.gz")));
    let mut args = vec!["radiomics", "--image", image.to_str().unwrap(), "--mask", mask.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let r = p.dag(&args);
    assert_eq!(r.code, 0, "{case}: {}", r.stderr);
    match serde_json::from_str(&r.stdout).unwrap() {
        Value::Object(m) => m,
        other => panic!("{other}"),
    }
}

#[test]
fn features_equal_pyradiomics() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap();
    let cases = expected["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 4);
    for (case, want) in cases {
        let want = want.as_object().unwrap();
        let got = features(&p, case, &[]);
        assert_eq!(got.len(), 107, "{case}");
        let mut names: Vec<&String> = got.keys().collect();
        names.sort();
        let mut want_names: Vec<&String> = want.keys().collect();
        want_names.sort();
        assert_eq!(names, want_names, "{case}: the same 107 names");
        let mut exact = 0;
        for (name, w) in want {
            let (g, w) = (got[name].as_f64().unwrap_or(f64::NAN), w.as_f64().unwrap());
            let tolerance = if MESH.contains(&name.as_str()) { 2e-2 } else { 1e-6 };
            let rel = (g - w).abs() / w.abs().max(1e-12);
            assert!(rel <= tolerance, "{case} {name}: PyRadiomics {w}, dag {g} (relative {rel:.2e})");
            exact += usize::from(rel <= 1e-6);
        }
        assert!(exact >= 103, "{case}: {exact} of 107 to 1e-6");
    }
}

/// A wider bin changes the texture features and leaves shape and intensities alone.
#[test]
fn the_bin_width_moves_only_the_grey_level_features() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let (a, b) = (features(&p, "ellipsoid", &[]), features(&p, "ellipsoid", &["--bin-width", "50"]));
    assert_eq!(a["original_shape_VoxelVolume"], b["original_shape_VoxelVolume"]);
    assert_eq!(a["original_firstorder_Mean"], b["original_firstorder_Mean"]);
    assert_ne!(a["original_firstorder_Entropy"], b["original_firstorder_Entropy"]);
    assert_ne!(a["original_glcm_Contrast"], b["original_glcm_Contrast"]);
}

#[test]
fn bad_input_is_named_with_its_exit_code() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let f = |case: &str, part: &str| fixtures().join(format!("{case}_{part}.nii.gz")).to_str().unwrap().to_owned();
    // Image and mask on different grids: bad data (4), naming the mask.
    let r = p.dag(&["radiomics", "--image", &f("ellipsoid", "image"), "--mask", &f("lobulated", "mask")]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("lobulated_mask.nii.gz") && r.stderr.contains("same grid"), "{}", r.stderr);
    // A label the mask does not hold.
    let r = p.dag(&["radiomics", "--image", &f("ellipsoid", "image"), "--mask", &f("ellipsoid", "mask"), "--label", "2"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("ellipsoid_mask.nii.gz: the mask has no voxel labelled 2"), "{}", r.stderr);
    // A missing file is I/O (4); a bin width of 0 is usage (2).
    let r = p.dag(&["radiomics", "--image", "nowhere.nii.gz", "--mask", &f("ellipsoid", "mask")]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("nowhere.nii.gz"), "{}", r.stderr);
    let r = p.dag(&["radiomics", "--image", &f("ellipsoid", "image"), "--mask", &f("ellipsoid", "mask"), "--bin-width", "0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// `--batch`: PyRadiomics' batch CSV (Image, Mask, relative to the CSV); one JSON line per row
/// equal to the single pair's, and a row that fails is named while the others go on.
#[test]
fn batch_mode_equals_pair_by_pair_and_names_a_failing_row() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let dir = fixtures();
    let rel = |case: &str, part: &str| format!("{}/{case}_{part}.nii.gz", dir.display());
    p.write("batch.csv", &format!("Image,Mask\n{},{}\n{},{}\n{},{}\n", rel("ellipsoid", "image"), rel("ellipsoid", "mask"), rel("ellipsoid", "image"), rel("lobulated", "mask"), rel("one_slice", "image"), rel("one_slice", "mask")));
    let r = p.dag(&["radiomics", "--batch", "batch.csv"]);
    assert_eq!(r.code, 4, "the second row fails: {}", r.stderr);
    assert!(r.stderr.contains("batch.csv, line 3:") && r.stderr.contains("same grid"), "{}", r.stderr);
    let lines: Vec<serde_json::Map<String, Value>> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for (line, case) in lines.iter().zip(["ellipsoid", "one_slice"]) {
        let single = features(&p, case, &[]);
        assert!(line["Image"].as_str().unwrap().ends_with(&format!("{case}_image.nii.gz")));
        for (name, v) in &single {
            assert_eq!(&line[name], v, "{case} {name}");
        }
    }
}
