//! A CSV table for `dag stats`, read and every column asked for as numbers, times, events,
//! folds and strings.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    std::fs::write(&file, data).unwrap();
    let Ok(t) = dag_study::statistics::table::Table::read(&file) else { return };
    let first = String::from_utf8_lossy(data).lines().next().unwrap_or_default().to_owned();
    for name in first.split(',') {
        let _ = t.numbers(name);
        let _ = t.times(name);
        let _ = t.events(name);
        let _ = t.folds(name);
        let _ = t.strings(name);
    }
});
