//! `dag runs` and `dag trace`: the run history and each run's trace, as the runs' trace
//! reporter left them in the cache's `runs/`.

use crate::stdout::outln;
use dag_engine::error::Error;
use dag_engine::events::AttemptRecord;
use dag_engine::report::trace::{stored_runs, StoredRun};
use std::path::Path;

fn runs_of(cache: &Path) -> Result<Vec<StoredRun>, Error> {
    stored_runs(cache).map_err(history)
}

fn when(unix: f64) -> String {
    // UTC, to the second: the trace's own times are Unix seconds.
    let secs = unix as i64;
    let (days, rest) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Days since 1970-01-01 as (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub fn runs(cache: &Path, json: bool) -> Result<(), Error> {
    let runs = runs_of(cache)?;
    if json {
        for (n, r) in runs.iter().enumerate() {
            outln!("{}", serde_json::json!({ "run": n + 1, "record": r.record, "exit": r.record.as_ref().map(|r| r.exit()) }));
        }
        return Ok(());
    }
    if runs.is_empty() {
        outln!("no runs recorded in {}", cache.display());
        return Ok(());
    }
    outln!("{:>4}  {:<20}  {:<19}  {:>9}  {:>6}  {:>6}  {:>6}  {:>7}  exit", "run", "pipeline", "start (UTC)", "duration", "ran", "cached", "failed", "retried");
    for (n, r) in runs.iter().enumerate() {
        match &r.record {
            Some(rec) => outln!(
                "{:>4}  {:<20}  {:<19}  {:>8.1}s  {:>6}  {:>6}  {:>6}  {:>7}  {}",
                n + 1,
                rec.pipeline,
                when(rec.start),
                rec.secs,
                rec.ran,
                rec.cached,
                rec.failed,
                rec.retried,
                rec.exit()
            ),
            None => outln!("{:>4}  (running, or stopped before it could record its end: {} rows of trace)", n + 1, r.trace().map_or(0, |t| t.len())),
        }
    }
    Ok(())
}

/// Run `run` (default: the last) of the cache, with its number.
fn chosen(cache: &Path, run: Option<usize>) -> Result<(usize, StoredRun), Error> {
    let mut runs = runs_of(cache)?;
    let n = run.unwrap_or(runs.len());
    if n == 0 || n > runs.len() {
        return Err(Error::Usage(if runs.is_empty() { format!("no runs recorded in {}", cache.display()) } else { format!("--run {n}: the runs are numbered 1 to {} (see `dag runs`)", runs.len()) }));
    }
    Ok((n, runs.swap_remove(n - 1)))
}

pub fn report(cache: &Path, run: Option<usize>, output: &Path) -> Result<(), Error> {
    let (n, chosen) = chosen(cache, run)?;
    let rows = chosen.trace().map_err(history)?;
    let page = dag_engine::report::timeline::render(n, &chosen, &rows);
    std::fs::write(output, page).map_err(|source| Error::Io { path: output.to_owned(), source })?;
    outln!("{}: run {n}, {} rows of trace", output.display(), rows.len());
    Ok(())
}

pub fn trace(cache: &Path, run: Option<usize>, json: bool, csv: bool) -> Result<(), Error> {
    let (_, chosen) = chosen(cache, run)?;
    let rows = chosen.trace().map_err(history)?;
    if json {
        for r in &rows {
            outln!("{}", serde_json::to_string(r).unwrap_or_default());
        }
        return Ok(());
    }
    let opt = |v: Option<f64>, digits: usize| v.map_or(String::new(), |v| format!("{v:.digits$}"));
    let status = |r: &AttemptRecord| serde_json::to_value(r.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let gpus = |r: &AttemptRecord| r.gpus.iter().map(usize::to_string).collect::<Vec<_>>().join(" ");
    if csv {
        outln!("id,node,attempt,status,start,wall_s,cpu_s,peak_rss_mb,executor,host,gpu");
        for r in &rows {
            let quote = |s: &str| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() };
            outln!(
                "{},{},{},{},{:.3},{:.3},{},{},{},{},{}",
                quote(&r.id),
                quote(&r.node),
                r.attempt,
                status(r),
                r.start,
                r.wall_s,
                opt(r.usage.cpu_s, 3),
                opt(r.usage.peak_rss_mb, 1),
                quote(&r.usage.executor),
                quote(r.usage.host.as_deref().unwrap_or("")),
                gpus(r)
            );
        }
        return Ok(());
    }
    outln!("{:<24}  {:<12}  {:>7}  {:<11}  {:<19}  {:>8}  {:>8}  {:>8}  {:<12}  gpu", "id", "node", "attempt", "status", "start (UTC)", "wall s", "cpu s", "peak MB", "executor");
    for r in &rows {
        outln!(
            "{:<24}  {:<12}  {:>7}  {:<11}  {:<19}  {:>8.2}  {:>8}  {:>8}  {:<12}  {}",
            r.id,
            r.node,
            r.attempt,
            status(r),
            when(r.start),
            r.wall_s,
            opt(r.usage.cpu_s, 2),
            opt(r.usage.peak_rss_mb, 0),
            r.usage.executor,
            gpus(r)
        );
    }
    Ok(())
}

fn history(e: dag_engine::report::trace::HistoryError) -> Error {
    Error::Io { path: e.path, source: e.source }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_the_calendars() {
        assert_eq!(super::when(0.0), "1970-01-01 00:00:00");
        assert_eq!(super::when(951_782_400.0), "2000-02-29 00:00:00");
        assert_eq!(super::when(1_795_804_687.0), "2026-11-27 18:38:07");
    }
}
