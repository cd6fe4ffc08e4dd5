//! The cache's own records after a crash or a full disk: actions.log, manifests.log and
//! verified.log (the input split at NUL bytes), read by opening the cache and looking up
//! and verifying what they name.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let dir = tempfile::tempdir().unwrap();
    for name in ["actions.log", "manifests.log", "verified.log"] {
        std::fs::write(dir.path().join(name), parts.next().unwrap_or_default()).unwrap();
    }
    let Ok(cache) = dag_engine::cache::Cache::open(dir.path(), dag_engine::cache::LockMode::ReadOnly, |_| {}) else { return };
    for line in String::from_utf8_lossy(data).lines() {
        for word in line.split(['\t', ' ']) {
            if let Some(rec) = cache.lookup(word) {
                let _ = cache.verify(&rec.output.clone());
            }
            let _ = cache.quick_check(word);
            let _ = cache.verify(word);
        }
    }
});
