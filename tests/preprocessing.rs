//! The study's compact preprocessing (N4 stores its fields; `resample` applies them to the
//! middle tumour slice only) against the whole-volume way (N4 writes corrected volumes, which
//! are resampled whole): the crops must be the same to the last bit, and the compact way must
//! keep one slice per phase.

mod common;
use common::Project;

const PIPELINE: &str = r#"
name: preprocessing
sets:
  patient: {values: [P]}
nodes:
  whole_n4:
    foreach: patient
    task: n4
    with: {dataset: data, patient: "{patient}", corrected: true}
  whole_resample:
    foreach: patient
    needs: whole_n4
    task: resample
    with: {input: whole_n4, patient: "{patient}", spacing_mm: [0.8, 0.8, null]}
  whole_crop:
    foreach: patient
    needs: whole_resample
    task: tumour_crop
    with: {input: whole_resample, patient: "{patient}", size: 64}
  n4:
    foreach: patient
    task: n4
    with: {dataset: data, patient: "{patient}"}
  resample:
    foreach: patient
    needs: n4
    task: resample
    with: {dataset: data, bias: n4, patient: "{patient}", spacing_mm: [0.8, 0.8, null], slices: SLICES}
  crop:
    foreach: patient
    needs: resample
    task: tumour_crop
    with: {input: resample, patient: "{patient}", size: 64}
"#;

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() { out.extend(files_under(&e.path())) } else { out.push(e.path()) }
    }
    out
}

#[test]
fn the_compact_way_crops_exactly_as_the_whole_volume_way() {
    let p = Project::new("name: unused\nnodes: {}\n");
    assert_eq!(p.dag(&["synth", "--out", "data", "--patients", "3", "--unknown", "0", "--seed", "5"]).code, 0);
    let ids: Vec<String> = std::fs::read_dir(p.path("data/images")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    for slices in ["middle", "tumour"] {
        for id in &ids {
            p.write("p.yaml", &PIPELINE.replace("[P]", &format!("[{id}]")).replace("SLICES", slices));
            let r = p.run(&[]);
            assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
            let read = |node: &str, f: &str| std::fs::read(p.path(&format!("results/{node}/{id}/{f}"))).unwrap();
            assert!(read("whole_crop", "crop.npy") == read("crop", "crop.npy"), "{id}, slices {slices}: the crops differ");
            // The crop's record counts slices in the acquired volume either way: the same record.
            let (whole, kept): (serde_json::Value, serde_json::Value) = (serde_json::from_slice(&read("whole_crop", "crop.json")).unwrap(), serde_json::from_slice(&read("crop", "crop.json")).unwrap());
            assert_eq!(whole, kept);
            // N4 keeps fields, not volumes: a few KB per phase.
            let n4 = files_under(&p.path(&format!("results/n4/{id}")));
            assert!(n4.iter().all(|f| !f.to_string_lossy().contains(".nii")), "{n4:?}");
            assert_eq!(n4.iter().filter(|f| f.to_string_lossy().ends_with(".lattice.npy")).count(), 3);
            let phase = files_under(&p.path(&format!("results/resample/{id}"))).into_iter().find(|f| f.to_string_lossy().ends_with("_0001.nii")).unwrap();
            let info = p.dag(&["image", "info", "--json", phase.to_str().unwrap()]);
            let shape: serde_json::Value = serde_json::from_str::<serde_json::Value>(&info.stdout).unwrap()["shape"].clone();
            let tumour = &whole["crop"]["tumour_slices"];
            let expect = if slices == "middle" { 1 } else { tumour[1].as_u64().unwrap() - tumour[0].as_u64().unwrap() + 1 };
            assert_eq!(shape[2].as_u64().unwrap(), expect, "{id}, slices {slices}: {shape}");
        }
    }
}

#[test]
fn keeping_some_slices_while_resampling_along_them_is_refused_at_checking() {
    let p = Project::new(&PIPELINE.replace("[P]", "[X]").replace("SLICES", "middle").replace("bias: n4, patient: \"{patient}\", spacing_mm: [0.8, 0.8, null]", "bias: n4, patient: \"{patient}\", spacing_mm: [0.8, 0.8, 1.0]"));
    let r = p.dag(&["check", "p.yaml"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("slices") && r.stderr.contains("neighbouring slices"), "{}", r.stderr);
}

/// `bias: per_patient`: one field, fitted to the first phase, stored for every phase; it is
/// the per-phase run's field of that phase. With `corrected: true`, the first phase (read
/// once, to fit and to correct) is written as the per-phase run writes it, and each other
/// phase is its own.
#[test]
fn a_per_patient_field_is_the_first_phases_field_for_every_phase() {
    let p = Project::new("name: unused\nnodes: {}\n");
    assert_eq!(p.dag(&["synth", "--out", "data", "--patients", "1", "--unknown", "0", "--seed", "5"]).code, 0);
    let id = std::fs::read_dir(p.path("data/images")).unwrap().next().unwrap().unwrap().file_name().to_string_lossy().into_owned();
    let spec = |bias: &str| format!("name: b\nsets:\n  patient: {{values: [{id}]}}\nnodes:\n  n4:\n    foreach: patient\n    task: n4\n    with: {{dataset: data, patient: \"{{patient}}\", bias: {bias}, corrected: true}}\n");
    let low = id.to_lowercase();
    let outputs = |bias: &str| -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        p.write("p.yaml", &spec(bias));
        let r = p.run(&[]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let read = |rel: String| std::fs::read(p.path(&rel)).unwrap();
        ((0..3).map(|ph| read(format!("results/n4/{id}/bias/{id}/{low}_{ph:04}.lattice.npy"))).collect(), (0..3).map(|ph| read(format!("results/n4/{id}/images/{id}/{low}_{ph:04}.nii"))).collect())
    };
    let ((per_phase, phase_images), (per_patient, patient_images)) = (outputs("per_phase"), outputs("per_patient"));
    assert!(per_patient.iter().all(|l| *l == per_phase[0]), "every phase holds the first phase's field");
    assert!(per_phase[1] != per_phase[0], "per phase, each phase has its own field");
    assert!(patient_images[0] == phase_images[0], "the first phase, corrected by its own field either way");
    assert!(patient_images[1] != patient_images[0] && patient_images[2] != patient_images[1], "each phase's own voxels");
}
