//! `dag report`: one self-contained HTML page for a run, from its trace: a timeline of the
//! attempts across lanes (inline SVG), per node what ran and what it used, with a suggested
//! `mem_gb` and `timeout`, and the slowest instances.

use super::trace::{RunRecord, StoredRun};
use crate::events::{AttemptRecord, AttemptStatus};
use std::collections::BTreeMap;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The timeline's lanes: each attempt in the first lane free at its start (what the pools
/// allowed to overlap, overlaps); returns each attempt's lane and the number of lanes.
fn lanes(rows: &[&AttemptRecord]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| rows[a].start.total_cmp(&rows[b].start));
    let (mut ends, mut lane) = (Vec::<f64>::new(), vec![0; rows.len()]);
    for i in order {
        let r = rows[i];
        match ends.iter().position(|&e| e <= r.start + 1e-6) {
            Some(l) => {
                ends[l] = r.start + r.wall_s;
                lane[i] = l;
            }
            None => {
                lane[i] = ends.len();
                ends.push(r.start + r.wall_s);
            }
        }
    }
    (lane, ends.len().max(1))
}

/// A colour per node: a qualitative palette without red, which marks failures.
fn colour(k: usize) -> String {
    const PALETTE: [&str; 9] = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#9c755f", "#bab0ac", "#ff9da7"];
    let base = PALETTE[k % PALETTE.len()];
    if k < PALETTE.len() { base.to_owned() } else { format!("{base}99") }
}

/// A status as the trace writes it, in words.
fn status_words(s: AttemptStatus) -> &'static str {
    match s {
        AttemptStatus::Cached => "cached",
        AttemptStatus::Ran => "ran",
        AttemptStatus::Failed => "failed",
        AttemptStatus::TimedOut => "timed out",
        AttemptStatus::Interrupted => "interrupted",
    }
}

/// A limit with headroom, as people would write it: 1.5 × the peak, rounded up.
fn suggest_mem_gb(peak_mb: f64) -> String {
    let gb = (peak_mb * 1.5 / 1024.0 * 2.0).ceil() / 2.0;
    format!("{}", gb.max(0.5))
}

fn suggest_timeout(wall: f64) -> String {
    let s = (wall * 1.5).max(60.0);
    let minutes = (s / 60.0).ceil() as u64;
    if minutes < 120 { format!("{minutes}m") } else { format!("{}h", minutes.div_ceil(60)) }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

#[derive(Default)]
struct NodeStats {
    instances: std::collections::BTreeSet<String>,
    cached: usize,
    ran: usize,
    failed: usize,
    retries: usize,
    walls: Vec<f64>,
    peak_mb: Option<f64>,
    max_wall: f64,
}

pub fn render(run_number: usize, run: &StoredRun, rows: &[AttemptRecord]) -> String {
    let rec: Option<&RunRecord> = run.record.as_ref();
    let mut nodes: BTreeMap<&str, NodeStats> = BTreeMap::new();
    for r in rows {
        let n = nodes.entry(&r.node).or_default();
        n.instances.insert(r.id.clone());
        match r.status {
            AttemptStatus::Cached => n.cached += 1,
            AttemptStatus::Ran => n.ran += 1,
            _ => n.failed += 1,
        }
        if r.attempt > 1 {
            n.retries += 1;
        }
        if r.status != AttemptStatus::Cached {
            n.walls.push(r.wall_s);
            n.max_wall = n.max_wall.max(r.wall_s);
            if let Some(p) = r.usage.peak_rss_mb {
                n.peak_mb = Some(n.peak_mb.map_or(p, |q: f64| q.max(p)));
            }
        }
    }
    let node_index: BTreeMap<&str, usize> = nodes.keys().enumerate().map(|(i, n)| (*n, i)).collect();
    let attempts: Vec<&AttemptRecord> = rows.iter().filter(|r| r.status != AttemptStatus::Cached).collect();
    let mut h = String::new();
    let title = rec.map_or_else(|| format!("run {run_number}"), |r| format!("{} — run {run_number}", r.pipeline));
    let _ = write!(h, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body><h1>{}</h1>", esc(&title), esc(&title));
    match rec {
        Some(r) => {
            let status = match r.exit() {
                0 => "succeeded".to_owned(),
                130 => "interrupted".to_owned(),
                _ => format!("failed ({} failed, {} not run)", r.failed, r.skipped),
            };
            let _ = write!(
                h,
                "<table class=\"facts\"><tr><th>outcome</th><td>{}</td></tr><tr><th>duration</th><td>{:.1} s</td></tr><tr><th>instances</th><td>{} ran, {} cached, {} retried</td></tr><tr><th>command</th><td><code>{}</code></td></tr><tr><th>dag</th><td>{}</td></tr><tr><th>machine</th><td>{}</td></tr><tr><th>pools</th><td>{}</td></tr></table>",
                esc(&status),
                r.secs,
                r.ran,
                r.cached,
                r.retried,
                esc(&r.command.join(" ")),
                esc(&r.version),
                esc(r.host.as_deref().unwrap_or("unknown")),
                esc(&r.remote.clone().unwrap_or_else(|| format!("{} CPUs, GPUs {}", r.cpus, r.gpus.as_ref().map_or("counted when needed".to_owned(), |g| format!("{g:?}")))))
            );
        }
        None => h.push_str("<p class=\"warn\">This run has no record of its end: it is still running, or was stopped before it could write one.</p>"),
    }
    h.push_str("<h2>Timeline</h2>");
    if attempts.is_empty() {
        h.push_str("<p>Nothing ran: every instance was cached.</p>");
    } else {
        let t0 = attempts.iter().map(|r| r.start).fold(f64::INFINITY, f64::min);
        let t1 = attempts.iter().map(|r| r.start + r.wall_s).fold(f64::NEG_INFINITY, f64::max);
        let span = (t1 - t0).max(1e-3);
        let (lane, count) = lanes(&attempts);
        let (left, width, lane_h) = (70.0, 900.0, 16.0);
        let height = count as f64 * lane_h + 40.0;
        let _ = write!(h, "<svg viewBox=\"0 0 {} {height}\" width=\"{}\" role=\"img\" aria-label=\"timeline of {} attempts in {count} lanes\">", left + width + 30.0, left + width + 30.0, attempts.len());
        for k in 0..=5 {
            let x = left + width * k as f64 / 5.0;
            let _ = write!(h, "<line x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{:.1}\" class=\"grid\"/><text x=\"{x:.1}\" y=\"{:.1}\" class=\"tick\">{:.1} s</text>", height - 25.0, height - 10.0, span * k as f64 / 5.0);
        }
        for l in 0..count {
            let _ = write!(h, "<text x=\"{:.1}\" y=\"{:.1}\" class=\"lane\">lane {}</text>", left - 6.0, l as f64 * lane_h + 12.0, l + 1);
        }
        for (i, r) in attempts.iter().enumerate() {
            let x = left + width * (r.start - t0) / span;
            let w = (width * r.wall_s / span).max(1.0);
            let y = lane[i] as f64 * lane_h + 2.0;
            let class = match r.status {
                AttemptStatus::Ran => "ok",
                _ => "bad",
            };
            let _ = write!(
                h,
                "<rect x=\"{x:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{:.1}\" fill=\"{}\" class=\"{class}\"><title>{} (attempt {}): {}, {:.2} s{}</title></rect>",
                lane_h - 4.0,
                colour(node_index[r.node.as_str()]),
                esc(&r.id),
                r.attempt,
                status_words(r.status),
                r.wall_s,
                r.usage.peak_rss_mb.map_or(String::new(), |p| format!(", peak {p:.0} MB"))
            );
        }
        h.push_str("</svg><p class=\"legend\">");
        for (name, k) in &node_index {
            let _ = write!(h, "<span><i style=\"background:{}\"></i>{}</span>", colour(*k), esc(name));
        }
        h.push_str("<span><i class=\"badkey\"></i>failed or timed out (red outline)</span></p>");
    }
    h.push_str("<h2>Per node</h2><table><tr><th>node</th><th>instances</th><th>cached</th><th>ran</th><th>failed attempts</th><th>retries</th><th>total wall s</th><th>median wall s</th><th>peak MB</th><th>suggested <code>mem_gb</code></th><th>suggested <code>timeout</code></th></tr>");
    for (name, n) in &mut nodes {
        let total: f64 = n.walls.iter().sum();
        let med = median(&mut n.walls);
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            n.instances.len(),
            n.cached,
            n.ran,
            n.failed,
            n.retries,
            total,
            if med.is_nan() { "–".to_owned() } else { format!("{med:.2}") },
            n.peak_mb.map_or("–".to_owned(), |p| format!("{p:.0}")),
            n.peak_mb.map_or("–".to_owned(), suggest_mem_gb),
            if n.walls.is_empty() { "–".to_owned() } else { suggest_timeout(n.max_wall) }
        );
    }
    h.push_str("</table><p class=\"note\">Suggestions: 1.5 × the largest peak (memory, in GB rounded up to 0.5) and 1.5 × the longest attempt (time, at least a minute). Peak memory is the largest single process of a command, and a built-in task's growth of <code>dag</code>'s own; README, \"Trace and run history\".</p>");
    let mut slow: Vec<&&AttemptRecord> = attempts.iter().collect();
    slow.sort_by(|a, b| b.wall_s.total_cmp(&a.wall_s));
    h.push_str("<h2>Slowest attempts</h2><table><tr><th>instance</th><th>attempt</th><th>status</th><th>wall s</th><th>CPU s</th><th>peak MB</th><th>executor</th><th>host</th></tr>");
    for r in slow.into_iter().take(10) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.id),
            r.attempt,
            status_words(r.status),
            r.wall_s,
            r.usage.cpu_s.map_or("–".to_owned(), |c| format!("{c:.2}")),
            r.usage.peak_rss_mb.map_or("–".to_owned(), |p| format!("{p:.0}")),
            esc(&r.usage.executor),
            esc(r.usage.host.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #ddd;padding:3px 10px;text-align:right}th:first-child,td:first-child{text-align:left}table.facts th{text-align:left;color:#555;font-weight:normal}table.facts td{text-align:left}code{font-size:12px}.grid{stroke:#ddd}.tick{font-size:10px;fill:#666;text-anchor:middle}.lane{font-size:10px;fill:#666;text-anchor:end}rect.bad{stroke:#c00;stroke-width:2}.legend span{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}.legend i.badkey{border:2px solid #c00;width:8px;height:8px}.note{color:#555;font-size:12px}.warn{color:#a40}";

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, node: &str, start: f64, wall: f64, status: AttemptStatus) -> AttemptRecord {
        AttemptRecord { id: id.into(), node: node.into(), attempt: 1, status, start, wall_s: wall, usage: Default::default(), gpus: Vec::new() }
    }

    #[test]
    fn overlapping_attempts_take_separate_lanes_and_others_share() {
        let rows = [row("a", "n", 0.0, 2.0, AttemptStatus::Ran), row("b", "n", 1.0, 2.0, AttemptStatus::Ran), row("c", "n", 2.0, 1.0, AttemptStatus::Ran), row("d", "n", 3.5, 1.0, AttemptStatus::Ran)];
        let refs: Vec<&AttemptRecord> = rows.iter().collect();
        assert_eq!(lanes(&refs), (vec![0, 1, 0, 0], 2));
    }

    #[test]
    fn suggestions_leave_headroom() {
        assert_eq!(suggest_mem_gb(1000.0), "1.5");
        assert_eq!(suggest_mem_gb(10.0), "0.5");
        assert_eq!(suggest_timeout(10.0), "1m");
        assert_eq!(suggest_timeout(3000.0), "75m");
        assert_eq!(suggest_timeout(7200.0), "3h");
    }
}
