//! Each synthetic patient's volume geometry (matrix, voxel spacing, scanner scale) by site and
//! by the size asked for.
//!
//! `real` follows what MAMA-MIA holds per site: its table (`clinical_and_imaging_info.xlsx`)
//! records `image_rows`, `image_columns`, `num_slices`, `pixel_spacing`, `slice_thickness` and
//! `view` per patient (rows and columns of 256–512, DUKE's slices 142–178 at 1.0–1.3 mm, as the
//! dataset's own `notebooks/display_clinical_data.ipynb` prints them), and the four TCIA
//! collections describe their protocols: Duke-Breast-Cancer-MRI axial, 448 or 512 square,
//! ~140–190 slices of ~1 mm; I-SPY1 (ACRIN 6657) and Breast-MRI-NACT-Pilot sagittal, 256
//! square, ~60–64 slices of ~2 mm; I-SPY2 (ACRIN 6698) axial at ≤ 1.4 mm in-plane and ≤ 2.5 mm
//! slices. The ranges below are typical values drawn per patient, not any patient's own.

use super::synth::Size;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub struct Geometry {
    /// Voxels along x, y and the slice axis.
    pub dims: [usize; 3],
    /// mm per voxel.
    pub spacing: [f64; 3],
    /// The site's scanner intensity scale.
    pub scale: f64,
    /// Air around the body (real-size volumes, as scanners write them), or tissue everywhere.
    pub air: bool,
}

/// The spacing and intensity scale of the small and DUKE-sized cohorts, per site.
fn site_geometry(site: &str) -> ([f64; 3], f64) {
    match site {
        "DUKE" => ([0.7, 0.7, 2.0], 1.0),
        "ISPY1" => ([0.8, 0.8, 2.5], 1.4),
        "ISPY2" => ([0.75, 0.75, 2.0], 0.8),
        _ => ([0.9, 0.9, 3.0], 1.2),
    }
}

/// One of `values`, evenly.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, values: &[T]) -> T {
    values[rng.gen_range(0..values.len())]
}

/// Millimetres rounded to 0.1 µm, as a DICOM value would be written.
fn mm(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// The geometry of one patient of `site`; `rng` is drawn from only for `real`.
pub fn geometry(size: Size, site: &str, rng: &mut ChaCha8Rng) -> Geometry {
    let (spacing, scale) = site_geometry(site);
    match size {
        Size::Small => Geometry { dims: [64, 64, 24], spacing, scale, air: false },
        Size::Duke => Geometry { dims: [448, 448, 160], spacing, scale, air: false },
        Size::Real => {
            let (n, slices, in_plane, thickness) = match site {
                // Axial, the whole chest in a 320–360 mm field of view.
                "DUKE" => (pick(rng, &[448, 512]), rng.gen_range(140..=190), rng.gen_range(320.0..360.0), pick(rng, &[1.0, 1.1, 1.2])),
                // Sagittal, one breast: 256 square in a 180–240 mm field of view.
                "ISPY1" => (256, pick(rng, &[60, 60, 64]), rng.gen_range(180.0..240.0), pick(rng, &[1.8, 2.0, 2.2, 2.5])),
                // Axial, both breasts, reconstructed at 256–384 in 300–360 mm.
                "ISPY2" => (pick(rng, &[256, 320, 384]), rng.gen_range(96..=160), rng.gen_range(300.0..360.0), pick(rng, &[1.5, 1.8, 2.0])),
                // NACT: sagittal, as I-SPY1's pilot.
                _ => (256, rng.gen_range(60..=64), rng.gen_range(180.0..200.0), 2.0),
            };
            let px = mm(in_plane / n as f64);
            Geometry { dims: [n, n, slices], spacing: [px, px, thickness], scale, air: true }
        }
    }
}
