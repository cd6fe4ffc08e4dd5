//! `dag synth`: a synthetic cohort in the MAMA-MIA layout, with its truth.

use dag_engine::error::Error;
use dag_study::data::synth::{write_dataset, SynthOptions};
use std::path::Path;

pub fn synth(out: &Path, options: &SynthOptions) -> Result<(), Error> {
    super::validated::<dag_study::data::tasks::SynthDataset>(options)?;
    // Writing the cohort fails only on the file system (its options are checked above).
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let r = write_dataset(out, options, threads, &Default::default()).map_err(|e| Error::DataIo(e.to_string()))?;
    crate::stdout::outln!(
        "{}: {} patients ({} with known recurrence status, {} recurrences); the true imaging term reaches C = {:.3}",
        out.display(),
        r.written,
        r.eligible,
        r.events,
        r.true_c
    );
    Ok(())
}
