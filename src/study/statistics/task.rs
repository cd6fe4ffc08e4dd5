//! `survival_stats`: the statistics of `analyse` as a pipeline task.

use super::table::Table;
use super::{analyse, render_text, Config};
use crate::engine::task::{Task, TaskCtx, TaskError};
use serde::Deserialize;
use std::path::PathBuf;

pub struct SurvivalStats;

// Unknown keys are rejected by `Config` (flattened), which sees every key not used here.
#[derive(Deserialize)]
pub struct Params {
    /// The cohort table: a file of a needed node's output (`input` + `file`) …
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
    /// … or an external CSV file.
    #[serde(default)]
    pub table: Option<PathBuf>,
    #[serde(flatten)]
    pub config: Config,
}

impl Task for SurvivalStats {
    type Params = Params;
    const KIND: &'static str = "survival_stats";
    // 3: the table is named by node and file, not by its path in the cache; bootstrap
    // intervals in the text.
    const VERSION: u32 = 3;
    const DESCRIPTION: &'static str = "Cox baseline vs baseline + score, C-indices, time-dependent AUC, Kang test";

    fn input_files(p: &Params) -> Vec<PathBuf> {
        p.table.iter().cloned().collect()
    }

    fn run(&self, p: Params, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let (path, label) = match (&p.table, &p.input, &p.file) {
            (Some(t), None, None) => (t.clone(), t.clone()),
            (None, Some(node), Some(file)) => (ctx.input(node)?.join(file), PathBuf::from(node).join(file)),
            _ => return Err(TaskError::msg("give either `table` (a CSV file) or `input` (a needed node) and `file`")),
        };
        let table = Table::read_as(&path, &label).map_err(|e| TaskError::msg(e.to_string()))?;
        let v = analyse(&table, &p.config).map_err(|e| TaskError::msg(e.to_string()))?;
        let text = render_text(&v, &table, &p.config);
        let _ = writeln!(ctx.log, "{text}");
        let json_path = ctx.out.join("stats.json");
        std::fs::write(&json_path, serde_json::to_vec_pretty(&v).expect("json")).map_err(TaskError::io(&json_path))?;
        let txt = ctx.out.join("stats.txt");
        std::fs::write(&txt, text).map_err(TaskError::io(&txt))
    }
}

