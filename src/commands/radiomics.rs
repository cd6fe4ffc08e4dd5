//! `dag radiomics`: PyRadiomics' default features of one volume within its mask.

use dag_engine::error::Error;
use dag_study::radiomics::{extract_files, Settings};
use std::path::Path;

pub fn radiomics(image: &Path, mask: &Path, settings: &Settings, json: bool) -> Result<(), Error> {
    if !(settings.bin_width.is_finite() && settings.bin_width > 0.0) {
        return Err(Error::Usage(format!("--bin-width must be a positive number, not {}", settings.bin_width)));
    }
    let features = extract_files(image, mask, settings).map_err(|e| if e.is_io() { Error::DataIo(e.to_string()) } else { Error::BadData(e.to_string()) })?;
    if json {
        let map: serde_json::Map<String, serde_json::Value> = features.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
        crate::stdout::outln!("{}", serde_json::Value::Object(map));
    } else {
        let width = features.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in &features {
            crate::stdout::outln!("{name:<width$}  {value:.10e}");
        }
    }
    Ok(())
}
