//! A pipeline file: the YAML load and the whole check (parameters decoded and validated by
//! each task, the instances expanded, input files listed), as `dag check` runs it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut registry = dag_engine::task::Registry::default();
    dag_study::register(&mut registry);
    let dir = std::env::temp_dir();
    if let Ok(spec) = dag_engine::spec::parse(&dir.join("fuzz.yaml"), text.to_owned(), &[], &registry)
        && let Ok(x) = dag_engine::expand::Expansion::new(&spec)
    {
        let _ = dag_engine::keys::list_inputs(&spec, &x.instances);
    }
});
