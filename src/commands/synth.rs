//! `dag synth`: a synthetic cohort in the MAMA-MIA layout, with its truth.

use dag_engine::error::Error;
use dag_study::data::synth::{write_dataset, Size, SynthOptions};
use std::path::Path;

pub fn synth(out: &Path, patients: usize, unknown: usize, seed: u64, imaging_effect: f64, size: Size) -> Result<(), Error> {
    let r = write_dataset(out, &SynthOptions { patients, seed, imaging_effect, size, unknown }).map_err(Error::Usage)?;
    println!(
        "{}: {} patients ({} with known recurrence status, {} recurrences); the true imaging term reaches C = {:.3}",
        out.display(),
        r.written,
        r.eligible,
        r.events,
        r.true_c
    );
    Ok(())
}
