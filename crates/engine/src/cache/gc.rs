//! `dag gc`: keep what the most recent runs used, delete the rest.
//!
//! Every run (a no-op one too) writes the list of action keys it used to `runs/`. Garbage
//! collection keeps the outputs of the keys that the last `keep_runs` runs used — whatever
//! pipeline they ran — and deletes all other outputs, action records and run lists.

use super::{io_err, journal, store, Cache, CacheError};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

#[derive(Debug, Default, serde::Serialize)]
pub struct GcReport {
    pub runs_considered: usize,
    pub outputs_kept: usize,
    pub outputs_removed: usize,
    pub bytes_freed: u64,
    pub actions_removed: usize,
    /// Runs whose trace and record (`dag runs`, `dag trace`) were deleted.
    pub histories_removed: usize,
}

pub(super) fn note_run(root: &Path, keys: &[&str]) -> Result<(), CacheError> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let path = root.join("runs").join(format!("{:020}-{}.keys", now.as_nanos(), std::process::id()));
    let mut text = String::with_capacity(keys.len() * 65);
    for k in keys {
        text.push_str(k);
        text.push('\n');
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_size(&e.path()),
                    _ => e.metadata().map_or(0, |m| m.len()),
                })
                .sum()
        })
        .unwrap_or(0)
}

pub(super) fn collect(cache: &mut Cache, keep_runs: usize, dry_run: bool) -> Result<GcReport, CacheError> {
    let root = cache.root.clone();
    let runs_dir = root.join("runs");
    let mut runs: Vec<_> = std::fs::read_dir(&runs_dir)
        .map_err(io_err(&runs_dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "keys"))
        .collect();
    runs.sort();
    let (old, recent) = runs.split_at(runs.len().saturating_sub(keep_runs));
    let mut live_keys = HashSet::new();
    for r in recent {
        for k in std::fs::read_to_string(r).map_err(io_err(r))?.lines() {
            live_keys.insert(k.to_owned());
        }
    }
    let live_outputs: HashSet<String> =
        cache.actions.values().filter(|a| live_keys.contains(&a.key)).map(|a| a.output.clone()).collect();
    let mut report = GcReport { runs_considered: recent.len(), ..GcReport::default() };
    let old_histories = old_histories(&runs_dir, keep_runs);
    report.histories_removed = old_histories.len();
    let out_dir = root.join("out");
    for e in std::fs::read_dir(&out_dir).map_err(io_err(&out_dir))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if live_outputs.contains(&name) {
            report.outputs_kept += 1;
            continue;
        }
        report.outputs_removed += 1;
        report.bytes_freed += dir_size(&e.path());
        if !dry_run {
            store::remove_tree(&e.path());
        }
    }
    let before = cache.actions.len();
    let kept: Vec<journal::ActionRecord> = cache.actions.values().filter(|a| live_keys.contains(&a.key)).cloned().collect();
    report.actions_removed = before - kept.len();
    if dry_run {
        return Ok(report);
    }
    // Rewrite the journal with the live records only, atomically.
    let log = root.join("actions.log");
    let tmp = root.join("actions.log.tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        for a in &kept {
            f.write_all(a.line().as_bytes()).map_err(io_err(&tmp))?;
        }
        f.sync_all().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, &log).map_err(io_err(&log))?;
    let (actions, j) = journal::Journal::open(&log).map_err(io_err(&log))?;
    cache.actions = actions;
    cache.journal = Some(j);
    // The manifest log keeps the live entries only.
    let mlog = root.join("manifests.log");
    let mtmp = root.join("manifests.log.tmp");
    {
        let mut idx = cache.index();
        idx.retain(|d, _| live_outputs.contains(d));
        let mut f = std::fs::File::create(&mtmp).map_err(io_err(&mtmp))?;
        for (d, m) in idx.iter() {
            f.write_all(store::manifest_line(d, Some(m)).as_bytes()).map_err(io_err(&mtmp))?;
        }
        f.sync_all().map_err(io_err(&mtmp))?;
    }
    std::fs::rename(&mtmp, &mlog).map_err(io_err(&mlog))?;
    super::sealed::retain(&root, &live_outputs).map_err(io_err(&root))?;
    for r in old {
        let _ = std::fs::remove_file(r);
    }
    for stem in old_histories {
        for ext in HISTORY {
            let _ = std::fs::remove_file(stem.with_extension(ext));
        }
    }
    Ok(report)
}

/// What a run leaves for `dag runs` and `dag trace`, beside its `.keys`: kept for as many runs
/// as outputs are, so that a run's history goes with what it made. (A run writes its history
/// under the stamp it started at and its keys under the one it ended at, so they are counted
/// apart.)
pub const HISTORY: [&str; 2] = ["trace.jsonl", "run.json"];

/// The stems (`runs/STAMP-PID`) of the runs' histories in `runs_dir`, oldest first; none if
/// the folder does not exist.
pub fn history_stems(runs_dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let entries = match std::fs::read_dir(runs_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut stems: Vec<std::path::PathBuf> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let stem = HISTORY.iter().find_map(|ext| name.strip_suffix(&format!(".{ext}")))?.to_owned();
            Some(runs_dir.join(stem))
        })
        .collect();
    stems.sort();
    stems.dedup();
    Ok(stems)
}

/// The stems of the runs' histories, all but the newest `keep_runs`, oldest first.
fn old_histories(runs_dir: &Path, keep_runs: usize) -> Vec<std::path::PathBuf> {
    let mut stems = history_stems(runs_dir).unwrap_or_default();
    stems.truncate(stems.len().saturating_sub(keep_runs));
    stems
}
