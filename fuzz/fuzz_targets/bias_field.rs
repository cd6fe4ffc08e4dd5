//! A stored N4 field (its JSON record and lattice .npy), loaded and applied to a slab.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The record, a NUL, then the lattice file's bytes.
    let (json, npy) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.json"), json).unwrap();
    std::fs::write(dir.path().join("f.lattice.npy"), npy).unwrap();
    if let Ok(field) = dag_study::imaging::bias_field::BiasField::load(&dir.path().join("f")) {
        let [nx, ny, nz] = field.shape();
        // A slab of at most a few rows: a record may describe a huge grid legitimately.
        if nx.saturating_mul(ny) <= 1 << 16 && nz > 0 {
            let mut slab = ndarray::ArrayD::<f32>::ones(ndarray::IxDyn(&[nx, ny, 1]));
            let _ = field.correct_slab(nz - 1, &mut slab);
        }
    }
});
