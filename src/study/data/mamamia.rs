//! The MAMA-MIA layout: `images/<ID>/<id>_000N.nii.gz` (phase N: 0 pre-contrast, 1 the first
//! post-contrast, …), `segmentations/expert/<ID>.nii.gz`, `clinical_and_imaging_info.xlsx`
//! (sheet `dataset_info`) and `patient_info_files/<id>.json`. IDs match case-insensitively.
//!
//! The recurrence cohort: `days_to_recurrence` empty = unknown (excluded), 0 = censored at
//! `days_to_follow_up`, > 0 = the day of recurrence. Every excluded patient gets a reason.

use calamine::{open_workbook_auto, Data, Reader};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: {message}")]
    File { file: PathBuf, message: String },
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Patient {
    pub patient_id: String,
    pub site: String,
    pub time_days: f64,
    #[serde(serialize_with = "zero_one")]
    pub event: bool,
    #[serde(rename = "HR")]
    pub hr: f64,
    #[serde(rename = "HER2")]
    pub her2: f64,
    pub tumor_subtype: String,
    pub age: Option<f64>,
    #[serde(skip)]
    pub phases: Vec<PathBuf>,
    #[serde(skip)]
    pub mask: PathBuf,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Excluded {
    pub patient_id: String,
    pub reason: String,
}

fn zero_one<S: serde::Serializer>(b: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(u8::from(*b))
}

/// Files under `dir` by lower-cased name.
fn index(dir: &Path) -> HashMap<String, PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| (e.file_name().to_string_lossy().to_lowercase(), e.path())).collect())
        .unwrap_or_default()
}

fn number(d: &Data) -> Option<f64> {
    match d {
        Data::Int(i) => Some(*i as f64),
        Data::Float(f) if f.is_finite() => Some(*f),
        Data::String(s) => s.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        Data::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.trim().to_owned(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// `stem.nii.gz` or, failing that, `stem.nii` among `files` (by lower-cased name). The
/// study's own float32 intermediates are uncompressed: gzip gains nothing on float noise.
fn nifti_named(files: &HashMap<String, PathBuf>, stem: &str) -> Option<PathBuf> {
    files.get(&format!("{stem}.nii.gz")).or_else(|| files.get(&format!("{stem}.nii"))).cloned()
}

/// The dataset's folders listed once: image folders and expert masks by lower-cased name.
struct Layout {
    images: HashMap<String, PathBuf>,
    masks: HashMap<String, PathBuf>,
}

impl Layout {
    fn read(root: &Path) -> Layout {
        Layout { images: index(&root.join("images")), masks: index(&root.join("segmentations/expert")) }
    }

    /// One patient's phase files and expert mask; the error says which file is missing.
    fn patient(&self, id: &str, phases: &[usize]) -> Result<(Vec<PathBuf>, PathBuf), String> {
        let id = id.to_uppercase();
        let folder = self.images.get(&id.to_lowercase()).ok_or_else(|| format!("no image folder images/{id}"))?;
        let files = index(folder);
        let mut paths = Vec::new();
        for &ph in phases {
            let stem = format!("{}_{ph:04}", id.to_lowercase());
            paths.push(nifti_named(&files, &stem).ok_or_else(|| format!("phase {ph} is missing (images/{id}/{stem}.nii.gz)"))?);
        }
        let mask = nifti_named(&self.masks, &id.to_lowercase()).ok_or_else(|| format!("no expert segmentation (segmentations/expert/{id}.nii.gz)"))?;
        Ok((paths, mask))
    }
}

/// One patient's phase files and expert mask (`.nii.gz` or `.nii`), found case-insensitively;
/// the error says which file is missing.
pub fn patient_files(root: &Path, id: &str, phases: &[usize]) -> Result<(Vec<PathBuf>, PathBuf), String> {
    layout(root).patient(id, phases)
}

/// The dataset's listing, remembered while its two folders' modification times stay the
/// same (adding or removing an entry changes them): every per-patient node's key asks for
/// its files, and listing ~1500 folders once per patient made a no-op run list millions of
/// entries.
fn layout(root: &Path) -> std::sync::Arc<Layout> {
    type Memo = HashMap<PathBuf, (Vec<Option<std::time::SystemTime>>, std::sync::Arc<Layout>)>;
    static MEMO: std::sync::Mutex<Option<Memo>> = std::sync::Mutex::new(None);
    let stamps: Vec<Option<std::time::SystemTime>> = ["images", "segmentations/expert"].iter().map(|d| std::fs::metadata(root.join(d)).and_then(|m| m.modified()).ok()).collect();
    let mut memo = MEMO.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let memo = memo.get_or_insert_with(HashMap::new);
    match memo.get(root) {
        Some((s, l)) if *s == stamps && stamps.iter().all(Option::is_some) => l.clone(),
        _ => {
            let l = std::sync::Arc::new(Layout::read(root));
            memo.insert(root.to_owned(), (stamps, l.clone()));
            l
        }
    }
}

/// What the cohort depends on: the clinical table and every kept patient's phases and mask.
/// A patient excluded for a missing file joins the list when the file appears, and a kept
/// one's files leave it when they go, so either change reruns the cohort. (The per-patient
/// nodes hash the same files; the digest table reads each once.)
pub fn cohort_input_files(root: &Path, phases: &[usize]) -> Vec<PathBuf> {
    let mut files = vec![root.join("clinical_and_imaging_info.xlsx")];
    if let Ok((kept, _)) = recurrence_cohort(root, phases) {
        for p in kept {
            files.extend(p.phases);
            files.push(p.mask);
        }
    }
    files
}

/// Reads the dataset at `root` and selects the recurrence cohort with the given phases.
pub fn recurrence_cohort(root: &Path, phases: &[usize]) -> Result<(Vec<Patient>, Vec<Excluded>), DataError> {
    let xlsx = root.join("clinical_and_imaging_info.xlsx");
    let err = |message: String| DataError::File { file: xlsx.clone(), message };
    let mut book = open_workbook_auto(&xlsx).map_err(|e| err(e.to_string()))?;
    let range = book.worksheet_range("dataset_info").map_err(|e| err(format!("sheet `dataset_info`: {e}")))?;
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().ok_or_else(|| err("sheet `dataset_info` is empty".into()))?.iter().map(|h| text(h).to_lowercase()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).ok_or_else(|| err(format!("sheet `dataset_info` has no column `{name}` (columns: {})", header.join(", "))));
    let (c_id, c_site, c_hr, c_her2, c_rec, c_fu) = (col("patient_id")?, col("dataset")?, col("hr")?, col("her2")?, col("days_to_recurrence")?, col("days_to_follow_up")?);
    let (c_sub, c_age) = (col("tumor_subtype").ok(), col("age").ok());
    let (mut kept, mut excluded) = (Vec::new(), Vec::new());
    let layout = layout(root);
    for (r, row) in rows.enumerate() {
        let get = |c: usize| row.get(c).unwrap_or(&Data::Empty);
        let id = text(get(c_id)).to_uppercase();
        if id.is_empty() {
            continue;
        }
        let mut exclude = |reason: String| excluded.push(Excluded { patient_id: id.clone(), reason });
        let (rec, fu) = (number(get(c_rec)), number(get(c_fu)));
        let (time, event) = match (rec, fu) {
            (None, _) => {
                exclude("days_to_recurrence is unknown".into());
                continue;
            }
            (Some(d), _) if d > 0.0 => (d, true),
            (Some(d), Some(f)) if d == 0.0 && f > 0.0 => (f, false),
            (Some(0.0), _) => {
                exclude("censored (days_to_recurrence 0) without a positive days_to_follow_up".into());
                continue;
            }
            (Some(d), _) => {
                exclude(format!("days_to_recurrence is negative ({d}) on line {}", r + 2));
                continue;
            }
        };
        let (Some(hr), Some(her2)) = (number(get(c_hr)), number(get(c_her2))) else {
            exclude("hr or her2 is missing".into());
            continue;
        };
        let (paths, mask) = match layout.patient(&id, phases) {
            Ok(f) => f,
            Err(reason) => {
                exclude(reason);
                continue;
            }
        };
        kept.push(Patient {
            patient_id: id.clone(),
            site: text(get(c_site)).to_uppercase(),
            time_days: time,
            event,
            hr,
            her2,
            tumor_subtype: c_sub.map(|c| text(get(c))).unwrap_or_default(),
            age: c_age.and_then(|c| number(get(c))),
            phases: paths,
            mask,
        });
    }
    Ok((kept, excluded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::data::synth::{write_dataset, Size, SynthOptions};

    #[test]
    fn reads_the_synthetic_cohort_and_names_every_exclusion() {
        let dir = tempfile::tempdir().unwrap();
        let r = write_dataset(dir.path(), &SynthOptions { patients: 20, seed: 3, imaging_effect: 0.7, size: Size::Small, unknown: 3 }).unwrap();
        assert_eq!((r.written, r.eligible), (23, 20));
        // Break one patient's phase 2 and another's mask; upper/lower case must not matter.
        let (kept, _) = recurrence_cohort(dir.path(), &[0, 1, 2]).unwrap();
        let (a, b) = (&kept[0], &kept[1]);
        std::fs::remove_file(&a.phases[2]).unwrap();
        std::fs::remove_file(&b.mask).unwrap();
        let (kept, excluded) = recurrence_cohort(dir.path(), &[0, 1, 2]).unwrap();
        assert_eq!(kept.len(), 18);
        assert_eq!(excluded.len(), 5);
        assert_eq!(excluded.iter().filter(|e| e.reason == "days_to_recurrence is unknown").count(), 3);
        assert!(excluded.iter().any(|e| e.patient_id == a.patient_id && e.reason.starts_with("phase 2 is missing")));
        assert!(excluded.iter().any(|e| e.patient_id == b.patient_id && e.reason.starts_with("no expert segmentation")));
        // Event times and censoring agree with the ground truth written beside the data.
        let truth = std::fs::read_to_string(dir.path().join("ground_truth.csv")).unwrap();
        for p in &kept {
            let line = truth.lines().find(|l| l.starts_with(&format!("{},", p.patient_id))).unwrap();
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[3].parse::<f64>().unwrap(), p.time_days);
            assert_eq!(f[4] == "1", p.event);
            assert_eq!(f[5].parse::<f64>().unwrap(), p.hr);
        }
    }
}
