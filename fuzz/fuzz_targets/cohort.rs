//! The MAMA-MIA cohort reader: the clinical workbook (sheet `dataset_info`) and a
//! patient_info JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The workbook's bytes, a NUL, then a patient_info JSON's.
    let (xlsx, json) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(json) {
        let _ = dag_study::data::mamamia::patient_info(&v);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clinical_and_imaging_info.xlsx"), xlsx).unwrap();
    let _ = dag_study::data::mamamia::recurrence_cohort(dir.path(), &[0, 1, 2]);
});
