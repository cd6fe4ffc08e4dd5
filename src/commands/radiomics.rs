//! `dag radiomics`: PyRadiomics' default features of one volume within its mask.

use dag_engine::error::Error;
use dag_study::radiomics::{batch_pairs, extract_files, Settings};
use std::path::Path;

fn check(settings: &Settings) -> Result<(), Error> {
    if settings.bin_width.is_finite() && settings.bin_width > 0.0 {
        Ok(())
    } else {
        Err(Error::Usage(format!("--bin-width must be a positive number, not {}", settings.bin_width)))
    }
}

fn features(image: &Path, mask: &Path, settings: &Settings) -> Result<Vec<(String, f64)>, Error> {
    extract_files(image, mask, settings).map_err(|e| if e.is_io() { Error::DataIo(e.to_string()) } else { Error::BadData(e.to_string()) })
}

fn json_line(features: &[(String, f64)], extra: &[(&str, &str)]) -> String {
    let mut map: serde_json::Map<String, serde_json::Value> = extra.iter().map(|(k, v)| ((*k).to_owned(), serde_json::json!(v))).collect();
    map.extend(features.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))));
    serde_json::Value::Object(map).to_string()
}

pub fn radiomics(image: &Path, mask: &Path, settings: &Settings, json: bool) -> Result<(), Error> {
    check(settings)?;
    let features = features(image, mask, settings)?;
    if json {
        crate::stdout::outln!("{}", json_line(&features, &[]));
    } else {
        let width = features.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in &features {
            crate::stdout::outln!("{name:<width$}  {value:.10e}");
        }
    }
    Ok(())
}

/// PyRadiomics' batch mode: a CSV whose `Image` and `Mask` columns name the pairs (relative
/// to the CSV's folder). One JSON line per row, in order; a row that fails is named on stderr
/// and the others go on (exit 4 at the end, as for bad data).
pub fn batch(csv_path: &Path, settings: &Settings) -> Result<(), Error> {
    check(settings)?;
    let pairs = batch_pairs(csv_path).map_err(|e| if e.is_io() { Error::DataIo(e.to_string()) } else { Error::BadData(e.to_string()) })?;
    let mut failed = 0;
    for (line, (image, mask)) in pairs.iter().enumerate() {
        match features(image, mask, settings) {
            Ok(f) => crate::stdout::outln!("{}", json_line(&f, &[("Image", &image.display().to_string()), ("Mask", &mask.display().to_string())])),
            Err(e) => {
                failed += 1;
                eprintln!("error: {}, line {}: {e}", csv_path.display(), line + 2);
            }
        }
    }
    if failed > 0 {
        return Err(Error::BadData(format!("{failed} of the {} rows of {} failed (named above)", pairs.len(), csv_path.display())));
    }
    Ok(())
}
