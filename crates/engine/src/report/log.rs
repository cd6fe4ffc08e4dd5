//! Structured logs through tracing: events become log records (`-v`, RUST_LOG, --log-json).

use crate::events::{Event, Reporter};
use std::path::Path;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber: human-readable on stderr (warnings by default, `-v` for
/// info, `-vv` for debug, RUST_LOG wins), and every record as JSON lines in `json_file`.
pub fn init(verbosity: u8, json_file: Option<&Path>) -> std::io::Result<()> {
    // Without -v, the event records stay out of stderr: the progress reporter and the
    // summary already say the same, once.
    let level = match verbosity {
        0 => "warn,dag::events=off",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_filter(filter);
    let json = match json_file {
        Some(p) => {
            let file = std::fs::File::create(p)?;
            let f = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("debug"));
            Some(tracing_subscriber::fmt::layer().json().with_writer(std::sync::Mutex::new(file)).with_filter(f))
        }
        None => None,
    };
    let _ = tracing_subscriber::registry().with(stderr).with(json).try_init();
    Ok(())
}

pub struct LogReporter;

impl Reporter for LogReporter {
    fn handle(&mut self, ev: &Event) {
        match ev {
            Event::RunStarted { pipeline, cpus, gpus, remote, .. } => tracing::info!(target: "dag::events", pipeline, cpus, ?gpus, ?remote, "run started"),
            Event::Expanded { node, count } => tracing::info!(target: "dag::events", node, count, "expanded"),
            Event::Cached { id, node } => tracing::debug!(target: "dag::events", id = &**id, node = &**node, "cached"),
            Event::Started { id, node, device } => tracing::debug!(target: "dag::events", id = &**id, node = &**node, device, "started"),
            Event::Finished { id, node, secs } => tracing::info!(target: "dag::events", id = &**id, node = &**node, secs, "finished"),
            Event::Failed { id, node, error, log } => {
                tracing::error!(target: "dag::events", id = &**id, node = &**node, error, log = ?log, "failed")
            }
            Event::Attempt(_) => {}
            Event::Retrying { id, node, attempt, of, error, log } => {
                tracing::warn!(target: "dag::events", id = &**id, node = &**node, attempt, of, error, log = ?log, "retrying")
            }
            Event::Skipped { id, because, .. } => tracing::info!(target: "dag::events", id = &**id, because, "skipped"),
            Event::Warning { message } => tracing::warn!(target: "dag::events", "{message}"),
            Event::RunFinished(s) => {
                tracing::info!(target: "dag::events", ran = s.ran, cached = s.cached, failed = s.failed.len(), skipped = s.skipped, secs = s.secs, "run finished")
            }
        }
    }
}
