//! A NIfTI file, plain or gzip (the first byte picks), read whole and as a slab of slices.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(if pick & 1 == 1 { "v.nii.gz" } else { "v.nii" });
    std::fs::write(&file, bytes).unwrap();
    if let Ok(v) = dag_study::imaging::nifti_io::read_with_nan(&file) {
        let _ = v.info_json();
    }
    let _ = dag_study::imaging::nifti_io::read_z_slab(&file, 0..(usize::from(pick >> 1) % 4 + 1));
});
