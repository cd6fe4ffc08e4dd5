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

/// Waits, as a long computation would, stopping when asked: for time limits and stops.
pub struct Sleep;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SleepParams {
    pub seconds: f64,
}

impl Task for Sleep {
    type Params = SleepParams;
    const KIND: &'static str = "sleep";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "waits `seconds`, stopping when the run or a `timeout:` asks (tests)";
    fn validate(p: &SleepParams) -> Vec<crate::params::ParamError> {
        if p.seconds.is_finite() && p.seconds >= 0.0 { Vec::new() } else { vec![crate::params::ParamError::at("seconds", "must be a number of seconds ≥ 0")] }
    }
    fn run(&self, p: SleepParams, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(p.seconds);
        while std::time::Instant::now() < end {
            ctx.check_cancelled()?;
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(())
    }
}

pub fn register(registry: &mut Registry) {
    registry.register(Noop).register(WriteText).register(Sleep);
}
