//! `study_report`: the study's answer as the paper gives it. Reads the statistics of the
//! network's score (and of the logistic baseline and the true term, where present), the
//! training summaries, the cohort and the crop previews, and writes `report.html` (one
//! self-contained page), `summary.json` (its numbers for scripts) and `report.txt` (the short
//! summary `make run` prints). Nothing in them changes from run to run for the same inputs.

pub mod figures;
pub mod gallery;
pub mod html;
mod sections;
pub mod summary;
pub mod svg;

use dag_engine::task::{Task, TaskCtx, TaskError};
use crate::training::tasks::{read_cohort, read_json};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The `survival_stats` node of the network's out-of-fold score.
    pub network: String,
    /// The `survival_stats` node of the logistic regression on the frozen features.
    #[serde(default)]
    pub logistic: Option<String>,
    /// The `survival_stats` node of the radiomics baseline (its score against the network's
    /// with `versus`).
    #[serde(default)]
    pub radiomics: Option<String>,
    /// The `survival_stats` node of the true imaging term (synthetic cohorts only).
    #[serde(default)]
    pub truth: Option<String>,
    /// The `oof_scores` node (training.json).
    pub training: String,
    /// The `mamamia_cohort` node (cohort.csv, excluded.csv).
    pub cohort: String,
    /// The per-patient `tumour_crop` node, for the gallery of previews.
    #[serde(default)]
    pub crops: Option<String>,
    #[serde(default = "three")]
    pub gallery_per_site: usize,
    /// What the data is, for the title.
    pub title: String,
    /// The pipeline's parameters, recorded as the report's provenance.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
}

fn three() -> usize {
    3
}

/// One analysed score: its statistics node's `stats.json`.
pub struct Model {
    pub key: &'static str,
    pub label: String,
    /// For column headings.
    pub short: &'static str,
    pub score: String,
    pub stats: Value,
}

pub struct CohortRow {
    pub id: String,
    pub site: String,
    pub subtype: String,
    pub event: bool,
}

pub struct ReportData {
    pub title: String,
    pub params: BTreeMap<String, Value>,
    /// The network first, then the logistic baseline, radiomics and the true term where given.
    pub models: Vec<Model>,
    pub folds: Vec<Value>,
    pub cohort: Vec<CohortRow>,
    pub excluded: Vec<(String, String)>,
    /// (site, patient, PNG bytes).
    pub gallery: Vec<(String, String, Vec<u8>)>,
    /// Each needed node's output folders' names: the content digests of what it made.
    pub upstream: BTreeMap<String, Vec<String>>,
    pub predictions: figures::Predictions,
    pub horizons: Vec<String>,
}

impl ReportData {
    pub fn trained_from_scratch(&self) -> bool {
        self.folds.iter().any(|f| f["pretrained"] == false)
    }

    pub fn provenance(&self) -> Value {
        let digest = |v: &[String]| dag_engine::hash::sha256_hex(v.join("\n").as_bytes());
        let upstream: serde_json::Map<String, Value> = self
            .upstream
            .iter()
            .map(|(node, outs)| {
                let v = if outs.len() == 1 { serde_json::json!(outs[0]) } else { serde_json::json!({ "instances": outs.len(), "digest_of_digests": digest(outs) }) };
                (node.clone(), v)
            })
            .collect();
        let devices: std::collections::BTreeSet<String> = self.folds.iter().map(|f| f["device"].as_str().unwrap_or("cpu").to_owned()).collect();
        serde_json::json!({
            "dag_version": env!("CARGO_PKG_VERSION"),
            "params": self.params,
            "weights": if self.trained_from_scratch() { "none: DenseNet121 initialised at random (seeded) and trained from scratch" } else { "ImageNet-pretrained (torchvision weights given to the pipeline)" },
            "devices": devices,
            "tf32": self.folds.iter().any(|f| f["tf32"] == true),
            "upstream_outputs": upstream,
        })
    }
}

/// The analysed score's name: the one `scores` entry that is not a Cox model.
fn score_name(stats: &Value) -> String {
    stats["scores"].as_object().into_iter().flatten().map(|(k, _)| k).find(|k| *k != "baseline" && *k != "combined").cloned().unwrap_or_default()
}

fn load(p: &ReportParams, ctx: &TaskCtx<'_>) -> Result<ReportData, TaskError> {
    let mut models = Vec::new();
    let named = [
        ("network", Some(&p.network), "DenseNet121 (out-of-fold)", "DenseNet121"),
        ("logistic", p.logistic.as_ref(), "Logistic regression on frozen features", "Logistic on frozen features"),
        ("radiomics", p.radiomics.as_ref(), "Radiomics: L2 logistic regression on PyRadiomics' 107 features", "Radiomics"),
        ("truth", p.truth.as_ref(), "True imaging term (upper bound)", "True term (upper bound)"),
    ];
    for (key, node, label, short) in named {
        let Some(node) = node else { continue };
        let stats = read_json(&ctx.input(node)?.join("stats.json"))?;
        models.push(Model { key, label: label.to_owned(), short, score: score_name(&stats), stats });
    }
    let predictions = figures::Predictions::read(&ctx.input(&p.network)?.join("predictions.csv")).map_err(TaskError::msg)?;
    let folds = match read_json(&ctx.input(&p.training)?.join("training.json"))? {
        Value::Array(a) => a,
        _ => return Err(TaskError::msg("training.json is not a list of folds")),
    };
    let cohort_dir = ctx.input(&p.cohort)?;
    let unknown = crate::data::mamamia::UNKNOWN_SUBTYPE;
    let cohort: Vec<CohortRow> = read_cohort(cohort_dir)?
        .into_iter()
        .map(|r| CohortRow { subtype: if r.tumor_subtype.trim().is_empty() { unknown.to_owned() } else { r.tumor_subtype }, id: r.patient_id, site: r.site, event: r.event == 1 })
        .collect();
    let excluded = read_pairs(&cohort_dir.join("excluded.csv"))?;
    let mut gallery = Vec::new();
    if let Some(node) = &p.crops {
        let site_of: BTreeMap<&str, &str> = cohort.iter().map(|c| (c.id.as_str(), c.site.as_str())).collect();
        let mut per_site: BTreeMap<String, Vec<(String, PathBuf)>> = BTreeMap::new();
        for dir in ctx.inputs.get(node).into_iter().flatten() {
            let meta = read_json(&dir.join("crop.json"))?;
            let id = meta["patient"].as_str().unwrap_or_default().to_owned();
            let site = site_of.get(id.as_str()).map_or("unknown site", |s| s).to_owned();
            per_site.entry(site).or_default().push((id, dir.join("preview.png")));
        }
        for (site, mut list) in per_site {
            list.sort();
            for (id, png) in list.into_iter().take(p.gallery_per_site) {
                gallery.push((site.clone(), id, std::fs::read(&png).map_err(TaskError::io(&png))?));
            }
        }
    }
    let upstream = ctx.inputs.iter().map(|(node, dirs)| (node.clone(), dirs.iter().map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()).collect())).collect();
    let horizons = models[0].stats["scores"][&models[0].score]["auc"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    Ok(ReportData { title: p.title.clone(), params: p.params.clone(), models, folds, cohort, excluded, gallery, upstream, predictions, horizons })
}

fn read_pairs(path: &Path) -> Result<Vec<(String, String)>, TaskError> {
    let mut r = csv::Reader::from_path(path).map_err(TaskError::at(path))?;
    r.deserialize::<(String, String)>().map(|row| row.map_err(TaskError::at(path))).collect()
}

pub struct StudyReport;

impl Task for StudyReport {
    type Params = ReportParams;
    const KIND: &'static str = "study_report";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "the study's report: report.html (self-contained, with figures), summary.json and report.txt";

    fn run(&self, p: ReportParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let d = load(&p, ctx)?;
        let page = sections::render(&d).map_err(TaskError::msg)?;
        let write = |name: &str, bytes: &[u8]| {
            let path = ctx.out.join(name);
            std::fs::write(&path, bytes).map_err(TaskError::io(&path))
        };
        write("report.html", page.html.as_bytes())?;
        write("summary.json", &serde_json::to_vec_pretty(&summary::build(&d, page.logrank)).expect("json"))?;
        // The results tree links each node's output as results/<instance>/.
        let text = format!("{}Full report: results/{}/report.html\n", page.text, ctx.instance);
        write("report.txt", text.as_bytes())?;
        let _ = write!(ctx.log, "{text}");
        Ok(())
    }
}
