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
    assert_eq!(bad.code, 4, "bad data");
    assert!(bad.stderr.contains("p.yaml: not a readable NIfTI file"), "{}", bad.stderr);
}

/// A volume holding NaN (as resampled and masked volumes often do) is described, not refused.
#[test]
fn info_describes_a_volume_with_nan() {
    use dag_study::imaging::nifti_io;
    let p = Project::new("name: unused\nnodes: {}\n");
    let v = nifti_io::read(&dag_study::oracles::oracles_dir().join("n4/body_mask.nii.gz")).unwrap();
    let mut data = v.data.mapv(f32::from);
    data[[0, 0, 0]] = f32::NAN;
    data[[1, 0, 0]] = f32::NAN;
    nifti_io::write_f32(&p.path("nan.nii.gz"), &data, &v.header).unwrap();
    let r = p.dag(&["image", "info", "nan.nii.gz", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!((got["nan_voxels"].as_u64(), got["shape"].clone()), (Some(2), serde_json::json!([192, 192, 64])));
    let r = p.dag(&["image", "info", "nan.nii.gz"]);
    assert!(r.stdout.contains("2 voxels are NaN"), "{}", r.stdout);
}

/// The exit codes the README gives: 4 both for a file the system cannot reach or write (I/O)
/// and for one that is not what it should be (bad data); 2 is for the command line.
#[test]
fn io_failures_and_bad_files_exit_with_4() {
    let p = Project::new("name: unused\nnodes: {}\n");
    let missing = p.dag(&["image", "info", "nowhere.nii.gz"]);
    assert_eq!(missing.code, 4, "{}", missing.stderr);
    assert!(missing.stderr.contains("nowhere.nii.gz"), "{}", missing.stderr);
    let not_nifti = p.dag(&["image", "info", "p.yaml"]);
    assert_eq!(not_nifti.code, 4, "{}", not_nifti.stderr);
    assert!(not_nifti.stderr.contains("p.yaml"), "{}", not_nifti.stderr);
    assert_eq!(p.dag(&["image", "info"]).code, 2, "a missing argument is usage");
    let stats = p.dag(&["stats", "nowhere.csv", "--score", "s"]);
    assert_eq!(stats.code, 4, "{}", stats.stderr);
    assert!(stats.stderr.contains("nowhere.csv"), "{}", stats.stderr);
    // A cohort written below a file, not a folder.
    p.write("afile", "");
    let synth = p.dag(&["synth", "--out", "afile/cohort", "--patients", "2", "--unknown", "0"]);
    assert_eq!(synth.code, 4, "{}", synth.stderr);
    assert!(synth.stderr.contains("afile/cohort"), "{}", synth.stderr);
}

/// `dag … | head -1`: standard output closed before the command writes. The command ends
/// quietly (exit 0) instead of panicking with "failed printing to stdout".
#[test]
fn a_closed_standard_output_ends_a_command_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let f = dag_study::oracles::oracles_dir().join("n4/volume.nii.gz");
    for args in [vec!["tasks"], vec!["image", "info", f.to_str().unwrap()]] {
        let out = common::dag().args(&args).stdout(writer.try_clone().unwrap()).stderr(std::process::Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
