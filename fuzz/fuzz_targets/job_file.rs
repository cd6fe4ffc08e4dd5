//! What a Slurm batch job reads and leaves: `job.json` and `result.json`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.json");
    std::fs::write(&path, data).unwrap();
    let _ = dag_engine::executor::jobfile::JobFile::read(&path);
    let _ = serde_json::from_slice::<dag_engine::executor::jobfile::JobResult>(data);
});
