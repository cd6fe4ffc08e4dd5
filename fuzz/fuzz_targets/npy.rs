//! An .npy file's header against its size (`npy::check_size`): the gate that every .npy the
//! libtorch helper reads passes first, since libtorch allocates what a header claims.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.npy");
    std::fs::write(&file, data).unwrap();
    if dag_study::imaging::npy::check_size(&file).is_ok() && data.len() > 10 {
        // What passes holds exactly what its header says: reading it as f64 of its own
        // length must not be able to overrun.
        let _ = dag_study::imaging::npy::read_f64(&file, &[(data.len() - 10) / 8]);
    }
});
