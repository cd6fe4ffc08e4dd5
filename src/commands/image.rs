//! `dag image`: N4 on one volume, and a volume's header.

use crate::cli::ImageCommand;
use dag_engine::error::Error;
use dag_study::imaging::{n4, nifti_io};
use std::path::Path;

pub fn image(c: ImageCommand) -> Result<(), Error> {
    match c {
        ImageCommand::N4 { input, output, bias_out, shrink, mask } => correct(&input, &output, bias_out.as_deref(), shrink, &mask),
        ImageCommand::Info { file, json } => info(&file, json),
    }
}

fn correct(input: &Path, output: &Path, bias_out: Option<&Path>, shrink: usize, mask: &str) -> Result<(), Error> {
    let err = nifti_error;
    let v = nifti_io::read(input).map_err(err)?;
    let m = if mask == "auto" { None } else { Some(nifti_io::read(Path::new(mask)).map_err(err)?.data) };
    let start = std::time::Instant::now();
    let field = n4::n4(&v.data, m.as_ref(), &n4::N4Options { shrink, ..Default::default() }).map_err(|e| Error::BadData(format!("{}: {e}", input.display())))?;
    let header = v.header;
    let mut corrected = v.data;
    field.correct(&mut corrected).map_err(|e| Error::BadData(format!("{}: {e}", input.display())))?;
    let secs = start.elapsed().as_secs_f64();
    nifti_io::write_f32(output, &corrected, &header).map_err(err)?;
    if let Some(b) = bias_out {
        nifti_io::write_f32(b, &field.log_bias(), &header).map_err(err)?;
    }
    crate::stdout::outln!("{}: N4 in {secs:.2} s (iterations per level {:?})", output.display(), field.iterations);
    Ok(())
}

fn info(file: &Path, json: bool) -> Result<(), Error> {
    let v = nifti_io::read_with_nan(file).map_err(nifti_error)?;
    let info = v.info_json();
    if json {
        crate::stdout::outln!("{info}");
    } else {
        crate::stdout::outln!("{}: {} {:?}, spacing {:?} mm", file.display(), info["datatype"].as_str().unwrap_or(""), v.shape(), v.spacing());
        if let Some(n) = info["nan_voxels"].as_u64() {
            crate::stdout::outln!("  {n} voxels are NaN (the study's tasks refuse such a volume, naming the file)");
        }
        for row in v.affine() {
            crate::stdout::outln!("  [{:>10.4} {:>10.4} {:>10.4} {:>10.4}]", row[0], row[1], row[2], row[3]);
        }
    }
    Ok(())
}

/// Both exit with 4 (README), but keep their kinds: a file the system cannot reach or write
/// (I/O), and one that is not a usable NIfTI volume (bad data).
fn nifti_error(e: nifti_io::NiftiIoError) -> Error {
    if e.is_io() { Error::DataIo(e.to_string()) } else { Error::BadData(e.to_string()) }
}
