//! `survival_stats`: the statistics of `analyse` as a pipeline task.

use super::table::Table;
use super::{analyse, render_text, Config};
use crate::engine::params::ParamError;
use crate::engine::task::{Task, TaskCtx, TaskError};
use std::path::PathBuf;

pub struct SurvivalStats;

impl Task for SurvivalStats {
    type Params = Config;
    const KIND: &'static str = "survival_stats";
    // 3: the table is named by node and file, not by its path in the cache; bootstrap
    // intervals in the text. (4: scores may come from another table. 5: results `by` a column.
    // 6: a score constant within a group is marked and explained.)
    const VERSION: u32 = 6;
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
        if let Some(sf) = &p.scores {
            let other = Table::read_as(&ctx.input(&sf.input)?.join(&sf.file), &PathBuf::from(&sf.input).join(&sf.file)).map_err(|e| TaskError::msg(e.to_string()))?;
            table.join_column(&other, &sf.key, &p.score).map_err(|e| TaskError::msg(e.to_string()))?;
        }
        let v = analyse(&table, &p).map_err(|e| TaskError::msg(e.to_string()))?;
        let text = render_text(&v, &table, &p);
        let _ = writeln!(ctx.log, "{text}");
        let json_path = ctx.out.join("stats.json");
        std::fs::write(&json_path, serde_json::to_vec_pretty(&v).expect("json")).map_err(TaskError::io(&json_path))?;
        let txt = ctx.out.join("stats.txt");
        std::fs::write(&txt, text).map_err(TaskError::io(&txt))
    }
}

