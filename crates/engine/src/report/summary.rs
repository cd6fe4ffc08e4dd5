//! The closing lines of a run: counts, and each failure with its log file.

use crate::events::Summary;

pub fn render(s: &Summary) -> String {
    let mut out = format!("{} ran, {} cached", s.ran, s.cached);
    if !s.failed.is_empty() {
        out.push_str(&format!(", {} failed", s.failed.len()));
    }
    if s.skipped > 0 {
        out.push_str(&format!(", {} not run", s.skipped));
    }
    out.push_str(&format!(" in {:.2} s", s.secs));
    if s.interrupted {
        out.push_str(" (interrupted; rerun to continue where it stopped)");
    }
    out.push('\n');
    if !s.retried.is_empty() {
        let shown: Vec<String> = s.retried.iter().take(10).map(|(id, n)| format!("{id} ({n} attempts)")).collect();
        let more = if s.retried.len() > 10 { format!(", … ({} in all)", s.retried.len()) } else { String::new() };
        out.push_str(&format!("retried: {}{more}; each failed attempt's log is kept beside the last (NAME.attempt-N.log)\n", shown.join(", ")));
    }
    for f in &s.failed {
        out.push_str(&format!("FAILED {}: {}\n", f.id, f.error));
        if let Some(log) = &f.log {
            out.push_str(&format!("  log: {}\n", log.display()));
            if let Ok(text) = std::fs::read_to_string(log) {
                let lines: Vec<&str> = text.lines().collect();
                for l in &lines[lines.len().saturating_sub(5)..] {
                    out.push_str(&format!("  | {l}\n"));
                }
            }
        }
    }
    for n in &s.unexpanded {
        out.push_str(&format!("not expanded: {n} (the set it iterates over was not produced)\n"));
    }
    out
}
