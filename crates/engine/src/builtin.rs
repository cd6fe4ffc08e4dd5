//! Generic tasks that belong to no study: useful in tests, benchmarks and small pipelines.

use crate::task::{Registry, Task, TaskCtx, TaskError};
use serde::Deserialize;

/// Does nothing; its output is empty. Measures the engine's own overhead.
pub struct Noop;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoopParams {
    #[serde(default)]
    pub label: Option<serde_json::Value>,
}

impl Task for Noop {
    type Params = NoopParams;
    const KIND: &'static str = "noop";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "does nothing (engine overhead, tests)";
    fn run(&self, _: NoopParams, _: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        Ok(())
    }
}

/// Writes a text into a file of its output.
pub struct WriteText;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteTextParams {
    pub file: String,
    pub text: String,
}

impl Task for WriteText {
    type Params = WriteTextParams;
    const KIND: &'static str = "write";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "writes `text` into `file` in the output";
    fn run(&self, p: WriteTextParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        if p.file.contains("..") || p.file.starts_with('/') {
            return Err(TaskError::msg(format!("`file` must stay inside the output folder: {}", p.file)));
        }
        let path = ctx.out.join(&p.file);
        std::fs::write(&path, p.text).map_err(TaskError::io(&path))
    }
}

pub fn register(registry: &mut Registry) {
    registry.register(Noop).register(WriteText);
}
