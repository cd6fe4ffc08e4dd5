//! `dag synth`: a synthetic cohort in the MAMA-MIA layout, so the real reader is what the
//! pipeline uses. Per patient three DCE phases and an expert tumour mask (NIfTI), a row of
//! the clinical xlsx, a patient_info JSON; beside them the ground truth.
//!
//! The tumour's appearance carries the imaging term through three features of set strength
//! (enhancement heterogeneity, rim enhancement, necrotic core), none of them size or mean
//! intensity alone. Each site has its own scanner scale, voxel spacing and a smooth
//! multiplicative bias field.

use super::geometry::{geometry, Geometry};
use super::synthetic::{generate, Params, Patient};
use crate::imaging::nifti_io;
use crate::survival::ipcw::cumulative_dynamic_auc;
use crate::survival::{harrell::harrell, Surv};
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// 64×64×24 voxels: the whole study runs in minutes on 2 cores.
    Small,
    /// 448×448×160 voxels, as DUKE's scans.
    Duke,
    /// Each site's own matrix, slice count and spacing, with air around the body: what a
    /// study on the real dataset meets (README, "Real size").
    Real,
}

/// The synthetic cohort's options: one definition for `dag synth` (clap) and the
/// `synth_dataset` task (serde), with one set of defaults.
#[derive(Clone, Debug, clap::Args, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthOptions {
    /// Patients with known recurrence status (the study's 433 by default).
    #[arg(long, default_value_t = super::synthetic::default_patients())]
    #[serde(default = "super::synthetic::default_patients")]
    pub patients: usize,
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub seed: u64,
    /// SD of the imaging term on the log-hazard scale; 0 is the negative control.
    #[arg(long, default_value_t = super::synthetic::default_effect())]
    #[serde(default = "super::synthetic::default_effect")]
    pub imaging_effect: f64,
    #[arg(long, value_enum, default_value_t = Size::Small)]
    #[serde(default = "small")]
    pub size: Size,
    /// Further patients whose recurrence is unknown, for the reader to exclude.
    #[arg(long, default_value_t = 35)]
    #[serde(default = "default_unknown")]
    pub unknown: usize,
}

fn small() -> Size {
    Size::Small
}
fn default_unknown() -> usize {
    35
}

/// The tumour subtype as MAMA-MIA's table writes it: the labels depend on the site. DUKE,
/// ISPY1 and NACT use `luminal`, `her2_enriched` (HR+/HER2+), `her2_pure` (HR−/HER2+) and
/// `triple_negative`; ISPY2 uses `luminal_a`, `luminal_b` (HR+/HER2−, split by a draw: Ki-67
/// is not simulated), `her2_enriched` (HER2+) and `triple_negative`. About 2% are blank.
fn subtype(site: &str, hr: u8, her2: u8, rng: &mut ChaCha8Rng) -> &'static str {
    let (blank, luminal_b) = (rng.r#gen::<f64>() < 0.02, rng.r#gen::<f64>() < 0.5);
    if blank {
        return "";
    }
    match (site, hr, her2) {
        ("ISPY2", 1, 0) if luminal_b => "luminal_b",
        ("ISPY2", 1, 0) => "luminal_a",
        ("ISPY2", _, 1) => "her2_enriched",
        (_, 1, 0) => "luminal",
        (_, 1, _) => "her2_enriched",
        (_, _, 1) => "her2_pure",
        _ => "triple_negative",
    }
}

/// A patient_info JSON in the dataset's nested form.
fn patient_info(p: &Patient, subtype: &str, spacing: [f64; 3], dims: [usize; 3]) -> serde_json::Value {
    let scanner = match p.site {
        "DUKE" => "GE",
        "ISPY2" => "SIEMENS",
        _ => "PHILIPS",
    };
    serde_json::json!({
        "patient_id": p.id,
        "clinical_data": { "age": p.age, "menopause": null, "ethnicity": null },
        "primary_lesion": {
            "tumor_subtype": subtype,
            "pcr": null,
            "breast_coordinates": { "x_min": 0, "x_max": dims[0], "y_min": 0, "y_max": dims[1], "z_min": 0, "z_max": dims[2] },
        },
        "imaging_data": {
            "dataset": p.site,
            "site": p.site,
            "scanner_manufacturer": scanner,
            "field_strength": 1.5,
            "pixel_spacing": [spacing[0], spacing[1]],
            "slice_thickness": spacing[2],
        },
    })
}

/// The three phases (int16, as scanners write them) and the mask of one patient. The arrays
/// are in NIfTI's order (x fastest), the order the loops write them in.
fn volumes(p: &Patient, g: &Geometry, rng: &mut ChaCha8Rng) -> (Vec<ArrayD<i16>>, ArrayD<u8>) {
    let (dims, spacing, scale) = (g.dims, g.spacing, g.scale);
    let [nx, ny, nz] = dims;
    let c = [nx as f64 * rng.gen_range(0.35..0.65), ny as f64 * rng.gen_range(0.35..0.65), nz as f64 * rng.gen_range(0.4..0.6)];
    let r = [p.radius_mm / spacing[0], p.radius_mm / spacing[1], (p.radius_mm / spacing[2]).max(1.5)];
    let bias = [rng.gen_range(-0.4..0.4), rng.gen_range(-0.4..0.4), rng.gen_range(-0.2..0.2), rng.gen_range(-0.3..0.3)];
    let heterogeneity = 0.25 * (1.0 + 0.6 * p.heterogeneity).clamp(0.05, 2.5);
    let core = (0.3 + 0.12 * p.necrosis).clamp(0.0, 0.75);
    let (wx, wy) = (rng.gen_range(5.0..9.0), rng.gen_range(5.0..9.0));
    // The tissue pattern is separable: one sine per column and one cosine per row.
    let (sx, cy): (Vec<f64>, Vec<f64>) = ((0..nx).map(|x| (x as f64 / wx).sin()).collect(), (0..ny).map(|y| (y as f64 / wy).cos()).collect());
    let mut phases = vec![ArrayD::<i16>::zeros(IxDyn(&dims).f()); 3];
    let mut mask = ArrayD::<u8>::zeros(IxDyn(&dims).f());
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let (u, v, w) = (x as f64 / nx as f64 - 0.5, y as f64 / ny as f64 - 0.5, z as f64 / nz as f64 - 0.5);
                // Real-size volumes: air (noise only) outside an elliptic body section holding
                // half the field of view, the tumour always inside it.
                if g.air && (u / 0.4).powi(2) + ((v - 0.1) / 0.4).powi(2) > 1.0 {
                    for ph in phases.iter_mut() {
                        ph[[x, y, z]] = (3.0 * rng.r#gen::<f64>()).round() as i16;
                    }
                    continue;
                }
                let field = (bias[0] * u + bias[1] * v + bias[2] * w + bias[3] * u * v).exp();
                let tissue = 100.0 + 15.0 * sx[x] * cy[y];
                let d = (((x as f64 - c[0]) / r[0]).powi(2) + ((y as f64 - c[1]) / r[1]).powi(2) + ((z as f64 - c[2]) / r[2]).powi(2)).sqrt();
                let (mut pre, mut post1, mut post2) = (tissue, tissue * 1.15, tissue * 1.2);
                if d <= 1.0 {
                    mask[[x, y, z]] = 1;
                    let texture = 1.0 + heterogeneity * (2.0 * rng.r#gen::<f64>() - 1.0) * 1.7;
                    let rim = 1.0 + 0.45 * p.rim * d * d;
                    let necrotic = if d < core { 0.2 } else { 1.0 };
                    let enhancement = (180.0 * texture * rim * necrotic).max(0.0);
                    pre = 105.0;
                    post1 = pre + enhancement;
                    post2 = pre + 0.85 * enhancement;
                }
                for (ph, val) in phases.iter_mut().zip([pre, post1, post2]) {
                    let noisy = val * field * scale + 3.0 * (2.0 * rng.r#gen::<f64>() - 1.0);
                    ph[[x, y, z]] = noisy.round().clamp(0.0, 32767.0) as i16;
                }
            }
        }
    }
    (phases, mask)
}

fn header(dims: [usize; 3], spacing: [f64; 3]) -> nifti::NiftiHeader {
    nifti::NiftiHeader {
        pixdim: [1.0, spacing[0] as f32, spacing[1] as f32, spacing[2] as f32, 1.0, 1.0, 1.0, 1.0],
        sform_code: 1,
        qform_code: 1,
        srow_x: [spacing[0] as f32, 0.0, 0.0, -(dims[0] as f32) * spacing[0] as f32 / 2.0],
        srow_y: [0.0, spacing[1] as f32, 0.0, -(dims[1] as f32) * spacing[1] as f32 / 2.0],
        srow_z: [0.0, 0.0, spacing[2] as f32, 0.0],
        xyzt_units: 2, // millimetres
        ..Default::default()
    }
}

/// Why the synthetic dataset could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Image(#[from] nifti_io::NiftiIoError),
    #[error("the clinical table: {0}")]
    Table(#[from] rust_xlsxwriter::XlsxError),
    #[error("{}: {source}", path.display())]
    SaveTable { path: PathBuf, source: rust_xlsxwriter::XlsxError },
    #[error("the true imaging term's statistics: {0}")]
    Truth(#[from] crate::survival::SurvivalError),
    /// The run was cancelled (`stop` set).
    #[error("stopped")]
    Stopped,
    #[error("a synthesis thread panicked")]
    Panicked,
}

/// A file-system failure, naming the file.
fn io(p: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io { path: p.to_owned(), source }
}

/// The images of every patient. The small cohort draws them from one stream in patient order
/// (its voxels are what every recorded result was computed on); the larger sizes give each
/// patient its own stream of the same seed and write patients on `threads` threads.
fn write_images(dir: &Path, all: &[Patient], geometries: &[Geometry], o: &SynthOptions, threads: usize, stop: &AtomicBool) -> Result<(), SynthError> {
    let one = |k: usize, rng: &mut ChaCha8Rng| -> Result<(), SynthError> {
        let (p, g) = (&all[k], &geometries[k]);
        let (phases, mask) = volumes(p, g, rng);
        let h = header(g.dims, g.spacing);
        let folder = dir.join("images").join(&p.id);
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        for (i, ph) in phases.iter().enumerate() {
            nifti_io::write_i16(&folder.join(format!("{}_{i:04}.nii.gz", p.id.to_lowercase())), ph, &h)?;
        }
        Ok(nifti_io::write_u8(&dir.join("segmentations/expert").join(format!("{}.nii.gz", p.id)), &mask, &h)?)
    };
    let seeded = || ChaCha8Rng::seed_from_u64(o.seed ^ 0x5eed);
    if o.size == Size::Small {
        let mut rng = seeded();
        return (0..all.len()).try_for_each(|k| one(k, &mut rng));
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let work = || -> Result<(), SynthError> {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= all.len() {
                    return Ok(());
                }
                if stop.load(Ordering::Relaxed) {
                    return Err(SynthError::Stopped);
                }
                // Stream k of the seed: patient 0 draws what a one-patient cohort always drew.
                let mut rng = seeded();
                rng.set_stream(k as u64);
                if let Err(e) = one(k, &mut rng) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        };
        let workers: Vec<_> = (0..threads.clamp(1, all.len().max(1))).map(|_| s.spawn(work)).collect();
        let errors = workers.into_iter().filter_map(|w| w.join().unwrap_or(Err(SynthError::Panicked)).err());
        // The first real failure, not a "stopped" of a thread it stopped.
        let (stopped, failed): (Vec<_>, Vec<_>) = errors.partition(|e| matches!(e, SynthError::Stopped));
        failed.into_iter().chain(stopped).next().map_or(Ok(()), Err)
    })
}

pub struct SynthReport {
    pub written: usize,
    pub eligible: usize,
    pub events: usize,
    pub true_c: f64,
}

/// Writes the cohort under `dir`; larger sizes on up to `threads` threads. `stop` set (by a
/// cancelled run) ends it early with an error.
pub fn write_dataset(dir: &Path, o: &SynthOptions, threads: usize, stop: &AtomicBool) -> Result<SynthReport, SynthError> {
    let all = generate(&Params { patients: o.patients + o.unknown, seed: o.seed, imaging_effect: o.imaging_effect });
    // The table's labels draw from their own stream, so the images stay as they were.
    let mut labels = ChaCha8Rng::seed_from_u64(o.seed ^ 0x1abe1);
    // Which patients have an unknown recurrence status: spread over the cohort.
    let unknown: std::collections::HashSet<usize> = (0..o.unknown).map(|k| k * (o.patients + o.unknown) / o.unknown.max(1)).collect();
    for sub in ["images", "segmentations/expert", "patient_info_files"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(io(&dir.join(sub)))?;
    }
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("dataset_info")?;
    // The real sheet's columns the study reads, and some it must tolerate.
    let cols = ["patient_id", "dataset", "age", "hr", "her2", "tumor_subtype", "days_to_recurrence", "days_to_follow_up", "pcr", "days_to_metastasis", "days_to_death"];
    for (c, name) in cols.iter().enumerate() {
        sheet.write_string(0, c as u16, *name)?;
    }
    let mut truth = String::from("patient_id,site,known,time_days,event,HR,HER2,imaging_term,heterogeneity,rim,necrosis,radius_mm\n");
    let mut geo = ChaCha8Rng::seed_from_u64(o.seed ^ 0x6e0_6e0);
    let geometries: Vec<Geometry> = all.iter().map(|p| geometry(o.size, p.site, &mut geo)).collect();
    write_images(dir, &all, &geometries, o, threads, stop)?;
    for (k, (p, g)) in all.iter().zip(&geometries).enumerate() {
        let known = !unknown.contains(&k);
        let row = (k + 1) as u32;
        sheet.write_string(row, 0, &p.id)?;
        sheet.write_string(row, 1, p.site)?;
        sheet.write_number(row, 2, f64::from(p.age))?;
        sheet.write_number(row, 3, f64::from(p.hr))?;
        sheet.write_number(row, 4, f64::from(p.her2))?;
        let label = subtype(p.site, p.hr, p.her2, &mut labels);
        sheet.write_string(row, 5, label)?;
        if known {
            sheet.write_number(row, 6, if p.event { p.time_days } else { 0.0 })?;
        }
        sheet.write_number(row, 7, p.time_days)?;
        let info = patient_info(p, label, g.spacing, g.dims);
        let ipath = dir.join("patient_info_files").join(format!("{}.json", p.id.to_lowercase()));
        std::fs::write(&ipath, serde_json::to_vec_pretty(&info).unwrap()).map_err(io(&ipath))?;
        truth.push_str(&format!(
            "{},{},{},{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.3}\n",
            p.id, p.site, u8::from(known), p.time_days, u8::from(p.event), p.hr, p.her2, p.imaging_term, p.heterogeneity, p.rim, p.necrosis, p.radius_mm
        ));
    }
    let xlsx = dir.join("clinical_and_imaging_info.xlsx");
    book.save(&xlsx).map_err(|source| SynthError::SaveTable { path: xlsx.clone(), source })?;
    let tpath = dir.join("ground_truth.csv");
    std::fs::write(&tpath, truth).map_err(io(&tpath))?;
    // The best any model can do: the true imaging term's own C-index and AUCs.
    let eligible: Vec<&Patient> = all.iter().enumerate().filter(|(k, _)| !unknown.contains(k)).map(|(_, p)| p).collect();
    let s = Surv::new(eligible.iter().map(|p| p.time_days).collect(), eligible.iter().map(|p| p.event).collect())?;
    let term: Vec<f64> = eligible.iter().map(|p| p.imaging_term).collect();
    // A tiny cohort may have no comparable pair: the truth then says so (null).
    let true_c = harrell(&s, &term).map(|c| c.c).unwrap_or(f64::NAN);
    let auc = |h: f64| cumulative_dynamic_auc(&s, &s, &term, h).ok();
    let summary = serde_json::json!({
        "patients_written": all.len(), "eligible": eligible.len(), "events": s.events(), "seed": o.seed,
        "imaging_effect": o.imaging_effect,
        "true_imaging_term": { "harrell_c": true_c.is_finite().then_some(true_c), "auc_1095.75": auc(1095.75), "auc_1826.25": auc(1826.25) },
        "imaging_term": "0.6·heterogeneity + 0.5·rim + 0.62·necrosis (standardised), times imaging_effect",
    });
    let jpath = dir.join("ground_truth.json");
    std::fs::write(&jpath, serde_json::to_vec_pretty(&summary).unwrap()).map_err(io(&jpath))?;
    Ok(SynthReport { written: all.len(), eligible: eligible.len(), events: s.events(), true_c })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real-size geometry per site stays within what the site's scans hold, and the air
    /// around the body never covers the tumour.
    #[test]
    fn real_sizes_follow_the_sites_and_the_tumour_lies_in_the_body() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let duke = geometry(Size::Real, "DUKE", &mut rng);
            assert!([448, 512].contains(&duke.dims[0]) && (140..=190).contains(&duke.dims[2]) && duke.air, "{:?}", duke.dims);
            assert!((0.62..=0.81).contains(&duke.spacing[0]) && duke.spacing[2] <= 1.2);
            let ispy1 = geometry(Size::Real, "ISPY1", &mut rng);
            assert!(ispy1.dims[..2] == [256, 256] && [60, 64].contains(&ispy1.dims[2]));
            let ispy2 = geometry(Size::Real, "ISPY2", &mut rng);
            assert!(ispy2.spacing[0] <= 1.41 && ispy2.spacing[2] <= 2.5);
        }
        assert_eq!(geometry(Size::Small, "DUKE", &mut rng).dims, [64, 64, 24]);
        let patients = generate(&Params { patients: 30, seed: 2, imaging_effect: 0.7 });
        for p in &patients {
            let g = Geometry { dims: [96, 96, 20], spacing: [1.5, 1.5, 3.0], scale: 1.0, air: true };
            let (phases, mask) = volumes(p, &g, &mut rng);
            let (mut tumour, mut air) = (0, 0);
            for ((x, y, z), &m) in mask.view().into_dimensionality::<ndarray::Ix3>().unwrap().indexed_iter() {
                let (u, v) = (x as f64 / 96.0 - 0.5, y as f64 / 96.0 - 0.5);
                let outside = (u / 0.4).powi(2) + ((v - 0.1) / 0.4).powi(2) > 1.0;
                tumour += usize::from(m == 1);
                if outside {
                    air += 1;
                    assert!(m == 0 && phases.iter().all(|ph| ph[[x, y, z]] <= 3), "{}: tumour or tissue in the air at {x},{y},{z}", p.id);
                }
            }
            assert!(tumour > 0 && air > 96 * 96 * 20 / 3, "{}: {tumour} tumour voxels, {air} of air", p.id);
        }
    }
}
