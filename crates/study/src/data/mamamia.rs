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
    infos: HashMap<String, PathBuf>,
}

impl Layout {
    fn read(root: &Path) -> Layout {
        Layout { images: index(&root.join("images")), masks: index(&root.join("segmentations/expert")), infos: index(&root.join("patient_info_files")) }
    }

    /// The patient's `patient_info_files/<id>.json`, if the dataset has one.
    fn info(&self, id: &str) -> Option<&PathBuf> {
        self.infos.get(&format!("{}.json", id.to_lowercase()))
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
    let stamps: Vec<Option<std::time::SystemTime>> = ["images", "segmentations/expert", "patient_info_files"].iter().map(|d| std::fs::metadata(root.join(d)).and_then(|m| m.modified()).ok()).collect();
    let mut memo = MEMO.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let memo = memo.get_or_insert_with(HashMap::new);
    match memo.get(root) {
        Some((s, l)) if *s == stamps && stamps[..2].iter().all(Option::is_some) => l.clone(),
        _ => {
            let l = std::sync::Arc::new(Layout::read(root));
            memo.insert(root.to_owned(), (stamps, l.clone()));
            l
        }
    }
}

/// What the cohort depends on: the clinical table and every kept patient's phases, mask and
/// patient_info JSON.
/// A patient excluded for a missing file joins the list when the file appears, and a kept
/// one's files leave it when they go, so either change reruns the cohort. (The per-patient
/// nodes hash the same files; the digest table reads each once.)
pub fn cohort_input_files(root: &Path, phases: &[usize]) -> Vec<PathBuf> {
    let mut files = vec![root.join("clinical_and_imaging_info.xlsx")];
    if let Ok((kept, _)) = recurrence_cohort(root, phases) {
        let layout = layout(root);
        for p in kept {
            files.extend(layout.info(&p.patient_id).cloned());
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
        // The table first; the patient's JSON fills what the table leaves blank.
        let info = match layout.info(&id) {
            Some(path) => read_patient_info(path)?,
            None => PatientInfo::default(),
        };
        let subtype = c_sub.map(|c| text(get(c))).filter(|s| !s.is_empty()).or(info.tumor_subtype);
        kept.push(Patient {
            patient_id: id.clone(),
            site: text(get(c_site)).to_uppercase(),
            time_days: time,
            event,
            hr,
            her2,
            tumor_subtype: subtype.unwrap_or_else(|| UNKNOWN_SUBTYPE.to_owned()),
            age: c_age.and_then(|c| number(get(c))).or(info.age),
            phases: paths,
            mask,
        });
    }
    Ok((kept, excluded))
}

/// What a blank subtype becomes: a group of its own, never one with an empty name.
pub const UNKNOWN_SUBTYPE: &str = "unknown";

/// What the study takes from a patient_info JSON.
#[derive(Debug, Default, PartialEq)]
pub struct PatientInfo {
    pub age: Option<f64>,
    pub tumor_subtype: Option<String>,
}

/// Reads the dataset's nested form (`clinical_data.age`, `primary_lesion.tumor_subtype`) or a
/// flat one (`age`, `tumor_subtype` at the top); other fields are ignored, blanks are absent.
pub fn patient_info(v: &serde_json::Value) -> PatientInfo {
    let pick = |nested: &str, key: &str| v.get(nested).and_then(|n| n.get(key)).or_else(|| v.get(key)).filter(|x| !x.is_null());
    let age = pick("clinical_data", "age").and_then(|a| a.as_f64().or_else(|| a.as_str().and_then(|s| s.trim().parse().ok()))).filter(|a: &f64| a.is_finite());
    let tumor_subtype = pick("primary_lesion", "tumor_subtype").and_then(|s| s.as_str()).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    PatientInfo { age, tumor_subtype }
}

fn read_patient_info(path: &Path) -> Result<PatientInfo, DataError> {
    let err = |message: String| DataError::File { file: path.to_owned(), message };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(format!("not a patient_info JSON: {e}")))?;
    Ok(patient_info(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_info_reads_the_nested_and_the_flat_form() {
        let nested = serde_json::json!({"patient_id": "DUKE_001", "clinical_data": {"age": 47.0, "menopause": null},
            "primary_lesion": {"breast_coordinates": {"x_min": 1}, "pcr": 0.0, "tumor_subtype": "her2_pure"},
            "imaging_data": {"dataset": "DUKE", "site": "DUKE", "scanner_manufacturer": "GE"}});
        assert_eq!(patient_info(&nested), PatientInfo { age: Some(47.0), tumor_subtype: Some("her2_pure".into()) });
        let flat = serde_json::json!({"patient_id": "ispy2_100", "age": "51", "tumor_subtype": "luminal_b", "dataset": "ISPY2"});
        assert_eq!(patient_info(&flat), PatientInfo { age: Some(51.0), tumor_subtype: Some("luminal_b".into()) });
        let blank = serde_json::json!({"primary_lesion": {"tumor_subtype": " "}, "clinical_data": {"age": null}});
        assert_eq!(patient_info(&blank), PatientInfo::default());
    }

    /// The table wins; its blanks are filled from the JSON; a subtype blank in both is
    /// `unknown`; a damaged JSON is an error naming it.
    #[test]
    fn blank_table_cells_are_filled_from_the_patient_json_or_become_unknown() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(dir.path(), &SynthOptions { patients: 12, seed: 5, imaging_effect: 0.7, size: Size::Small, unknown: 0 }, 1, &Default::default()).unwrap();
        let (kept, _) = recurrence_cohort(dir.path(), &[0]).unwrap();
        assert!(kept.iter().all(|p| p.patient_id == p.patient_id.to_uppercase() && !p.tumor_subtype.is_empty()));
        let sites_labels = [("DUKE", ["luminal", "her2_enriched", "her2_pure", "triple_negative"].as_slice()), ("ISPY2", ["luminal_a", "luminal_b", "her2_enriched", "triple_negative"].as_slice())];
        for p in &kept {
            if let Some((_, labels)) = sites_labels.iter().find(|(s, _)| *s == p.site) {
                assert!(labels.contains(&p.tumor_subtype.as_str()) || p.tumor_subtype == UNKNOWN_SUBTYPE, "{} at {}", p.tumor_subtype, p.site);
            }
        }
        // Rewrite the sheet with blank subtypes and ages: the nested JSON fills them.
        let (id, want) = (kept[0].patient_id.clone(), kept[0].clone());
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("dataset_info").unwrap();
        for (c, name) in ["patient_id", "dataset", "hr", "her2", "tumor_subtype", "age", "days_to_recurrence", "days_to_follow_up"].iter().enumerate() {
            sheet.write_string(0, c as u16, *name).unwrap();
        }
        sheet.write_string(1, 0, &id).unwrap();
        sheet.write_string(1, 1, &want.site).unwrap();
        sheet.write_number(1, 2, want.hr).unwrap();
        sheet.write_number(1, 3, want.her2).unwrap();
        sheet.write_number(1, 6, 0.0).unwrap();
        sheet.write_number(1, 7, 900.0).unwrap();
        book.save(dir.path().join("clinical_and_imaging_info.xlsx")).unwrap();
        let info_path = dir.path().join("patient_info_files").join(format!("{}.json", id.to_lowercase()));
        let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&info_path).unwrap()).unwrap();
        let (kept, _) = recurrence_cohort(dir.path(), &[0]).unwrap();
        let expected = info["primary_lesion"]["tumor_subtype"].as_str().filter(|s| !s.is_empty()).unwrap_or(UNKNOWN_SUBTYPE);
        assert_eq!((kept[0].tumor_subtype.as_str(), kept[0].age), (expected, want.age));
        std::fs::write(&info_path, serde_json::json!({"clinical_data": {"age": 60}, "primary_lesion": {"tumor_subtype": ""}}).to_string()).unwrap();
        let (kept, _) = recurrence_cohort(dir.path(), &[0]).unwrap();
        assert_eq!((kept[0].tumor_subtype.as_str(), kept[0].age), (UNKNOWN_SUBTYPE, Some(60.0)));
        std::fs::write(&info_path, "{ not json").unwrap();
        let e = recurrence_cohort(dir.path(), &[0]).unwrap_err().to_string();
        assert!(e.contains(&info_path.display().to_string()) && e.contains("not a patient_info JSON"), "{e}");
    }
    use crate::data::synth::{write_dataset, Size, SynthOptions};

    #[test]
    fn reads_the_synthetic_cohort_and_names_every_exclusion() {
        let dir = tempfile::tempdir().unwrap();
        let r = write_dataset(dir.path(), &SynthOptions { patients: 20, seed: 3, imaging_effect: 0.7, size: Size::Small, unknown: 3 }, 1, &Default::default()).unwrap();
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
