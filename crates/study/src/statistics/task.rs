//! `survival_stats`: the statistics of `analyse` as a pipeline task.

use super::table::Table;
use super::{analyse_with_predictions, render_text, Config};
use dag_engine::params::ParamError;
use dag_engine::task::{Task, TaskCtx, TaskError};
use std::path::PathBuf;

pub struct SurvivalStats;

impl Task for SurvivalStats {
    type Params = Config;
    const KIND: &'static str = "survival_stats";
    // 3: the table is named by node and file, not by its path in the cache; bootstrap
    // intervals in the text. (4: scores may come from another table. 5: results `by` a column.
    // 6: a score constant within a group is marked and explained. 7: a constant score is
    // reported as such; with `fold`, per-fold and cross-validated results; predictions.csv.
    // 8: stats.txt's per-fold rows are aligned under their headings, as the typed report
    // prints them; stats.json is unchanged.)
    const VERSION: u32 = 8;
    const DESCRIPTION: &'static str = "Cox baseline vs baseline + score, C-indices, time-dependent AUC, Kang test";

    fn input_files(p: &Config) -> Vec<PathBuf> {
        p.table.iter().cloned().collect()
    }

    /// Where the table comes from, and horizons that are times: a `3y` would otherwise fail
    /// only once every score upstream had been computed.
    fn validate(p: &Config) -> Vec<ParamError> {
        let mut refused = Vec::new();
        if !matches!((&p.table, &p.input, &p.file), (Some(_), None, None) | (None, Some(_), Some(_))) {
            refused.push(ParamError { path: Vec::new(), message: "give either `table` (a CSV file) or `input` (a needed node) and `file`".into() });
        }
        if p.folds_from.is_some() && p.fold.is_none() {
            refused.push(ParamError::at("folds_from", "name the fold column it provides with `fold`"));
        }
        for (i, h) in p.horizons.iter().enumerate() {
            if !h.trim().parse::<f64>().is_ok_and(|v| v.is_finite() && v > 0.0) {
                refused.push(ParamError::at(&format!("horizons.{i}"), format!("`{h}` is not a positive number (a time, in the unit of the time column)")));
            }
        }
        refused
    }

    fn run(&self, p: Config, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let (path, label) = match (&p.table, &p.input, &p.file) {
            (Some(t), None, None) => (t.clone(), t.clone()),
            (None, Some(node), Some(file)) => (ctx.input(node)?.join(file), PathBuf::from(node).join(file)),
            _ => unreachable!("`validate` refuses every other combination, and runs first"),
        };
        let mut table = Table::read_as(&path, &label).map_err(|e| TaskError::msg(e.to_string()))?;
        let joins = [(&p.scores, Some(&p.score)), (&p.folds_from, p.fold.as_ref())];
        for (from, column) in joins {
            if let (Some(sf), Some(column)) = (from, column) {
                let other = Table::read_as(&ctx.input(&sf.input)?.join(&sf.file), &PathBuf::from(&sf.input).join(&sf.file)).map_err(|e| TaskError::msg(e.to_string()))?;
                table.join_column(&other, &sf.key, column).map_err(|e| TaskError::msg(e.to_string()))?;
            }
        }
        let analysis = analyse_with_predictions(&table, &p).map_err(|e| TaskError::msg(e.to_string()))?;
        let v = analysis.report;
        write_predictions(&ctx.out.join("predictions.csv"), &table, &p, &analysis.columns)?;
        let text = render_text(&v, &table, &p);
        let _ = writeln!(ctx.log, "{text}");
        let json_path = ctx.out.join("stats.json");
        std::fs::write(&json_path, serde_json::to_vec_pretty(&v).expect("json")).map_err(TaskError::io(&json_path))?;
        let txt = ctx.out.join("stats.txt");
        std::fs::write(&txt, text).map_err(TaskError::io(&txt))
    }
}


/// Each row's identity, time and event beside the scores and linear predictors the
/// statistics used, for figures (the study report's Kaplan–Meier and ROC curves).
fn write_predictions(path: &std::path::Path, table: &Table, p: &Config, columns: &[(String, Vec<f64>)]) -> Result<(), TaskError> {
    let ids = table.strings("patient_id").unwrap_or_else(|_| (1..=table.rows).map(|i| i.to_string()).collect());
    let (time, event) = (table.numbers(&p.time).map_err(|e| TaskError::msg(e.to_string()))?, table.numbers(&p.event).map_err(|e| TaskError::msg(e.to_string()))?);
    let groups = p.by.as_ref().and_then(|c| table.strings(c).ok());
    let mut w = csv::Writer::from_path(path).map_err(TaskError::at(path))?;
    let mut header = vec!["patient_id".to_owned(), "time".to_owned(), "event".to_owned()];
    header.extend(p.by.iter().filter(|_| groups.is_some()).cloned());
    header.extend(columns.iter().map(|(n, _)| n.clone()));
    w.write_record(&header).map_err(TaskError::at(path))?;
    for i in 0..ids.len() {
        let mut rec = vec![ids[i].clone(), time[i].to_string(), event[i].to_string()];
        rec.extend(groups.as_ref().map(|g| g[i].clone()));
        // Shortest round-trip text: the figures see exactly the numbers the statistics did.
        rec.extend(columns.iter().map(|(_, v)| v[i].to_string()));
        w.write_record(&rec).map_err(TaskError::at(path))?;
    }
    w.flush().map_err(TaskError::io(path))
}
