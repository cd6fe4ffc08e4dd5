//! Live progress: indicatif bars on a terminal, plain lines otherwise.

use crate::events::{Event, Reporter};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Plain,
    Quiet,
}

impl Mode {
    /// Bars when stdout is a terminal, plain lines when it is a pipe or a file.
    pub fn auto() -> Mode {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() { Mode::Bars } else { Mode::Plain }
    }
}

pub fn reporter(mode: Mode) -> Option<Box<dyn Reporter>> {
    match mode {
        Mode::Bars => Some(Box::new(Bars::default())),
        Mode::Plain => Some(Box::new(Plain { out: std::io::BufWriter::new(std::io::stdout()), done: 0, total: 0 })),
        Mode::Quiet => None,
    }
}

#[derive(Default)]
struct Bars {
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
    nodes: HashMap<String, ProgressBar>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("valid template").progress_chars("=> ")
}

impl Bars {
    fn tick(&self, node: &str) {
        if let Some(b) = self.nodes.get(node) {
            b.inc(1);
            if b.position() >= b.length().unwrap_or(u64::MAX) {
                b.finish_with_message("done");
            }
        }
        if let Some(o) = &self.overall {
            o.inc(1);
        }
    }
}

impl Reporter for Bars {
    fn handle(&mut self, ev: &Event) {
        match ev {
            Event::RunStarted { pipeline, nodes, .. } => {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout_with_hz(10));
                let total: usize = nodes.iter().filter_map(|(_, c)| *c).sum();
                let overall = multi.add(ProgressBar::new(total as u64));
                overall.set_style(style("{prefix:>16.bold} [{bar:30.cyan/blue}] {pos}/{len} {elapsed_precise} eta {eta} {msg}"));
                overall.set_prefix(pipeline.clone());
                for (name, count) in nodes {
                    let b = multi.add(ProgressBar::new(count.unwrap_or(0) as u64));
                    b.set_style(style("{prefix:>16} [{bar:30}] {pos}/{len} eta {eta} {wide_msg}"));
                    b.set_prefix(name.clone());
                    if count.is_none() {
                        b.set_message("waiting for its set");
                    }
                    self.nodes.insert(name.clone(), b);
                }
                self.overall = Some(overall);
                self.multi = Some(multi);
            }
            Event::Expanded { node, count } => {
                if let Some(b) = self.nodes.get(node) {
                    b.inc_length(*count as u64);
                    b.set_message("");
                }
                if let Some(o) = &self.overall {
                    o.inc_length(*count as u64);
                }
            }
            Event::Started { id, node, .. } => {
                if let Some(b) = self.nodes.get(&**node) {
                    b.set_message(format!("running {id}"));
                }
            }
            Event::Cached { node, .. } | Event::Finished { node, .. } | Event::Skipped { node, .. } => self.tick(node),
            Event::Failed { id, node, error, .. } => {
                if let Some(m) = &self.multi {
                    let _ = m.println(format!("FAILED {id}: {error}"));
                }
                self.tick(node);
            }
            Event::Retrying { .. } | Event::Warning { .. } => {
                if let (Some(m), Some(line)) = (&self.multi, retry_or_warning(ev)) {
                    let _ = m.println(line);
                }
            }
            Event::Attempt(_) => {}
            Event::RunFinished(_) => {
                for b in self.nodes.values() {
                    b.finish();
                }
                if let Some(o) = &self.overall {
                    o.finish();
                }
            }
        }
    }
}

/// The line both reporters print for a retry or a warning.
fn retry_or_warning(ev: &Event) -> Option<String> {
    match ev {
        Event::Retrying { id, attempt, of, error, log, .. } => {
            let log = log.as_ref().map(|l| format!(" (log: {})", l.display())).unwrap_or_default();
            Some(format!("RETRY {id}: attempt {attempt} of {of} failed: {error}{log}; trying again"))
        }
        Event::Warning { message } => Some(format!("warning: {message}")),
        _ => None,
    }
}

struct Plain<W: Write> {
    out: W,
    done: usize,
    total: usize,
}

impl<W: Write + Send + 'static> Reporter for Plain<W> {
    fn handle(&mut self, ev: &Event) {
        let line = match ev {
            Event::RunStarted { pipeline, nodes, cpus, gpus, remote } => {
                self.total = nodes.iter().filter_map(|(_, c)| *c).sum();
                let gpus = match gpus {
                    None => "GPUs counted when a node needs one".to_owned(),
                    Some(g) if g.is_empty() => "no GPU".to_owned(),
                    Some(g) => format!("GPUs {g:?}"),
                };
                let pools = remote.clone().unwrap_or_else(|| format!("{cpus} CPUs, {gpus}"));
                Some(format!("{pipeline}: {} instances known in {} nodes; {pools}", self.total, nodes.len()))
            }
            Event::Expanded { node, count } => {
                self.total += count;
                Some(format!("{node}: {count} instances"))
            }
            Event::Cached { .. } => {
                self.done += 1;
                None
            }
            Event::Started { .. } | Event::Attempt(_) => None,
            Event::Finished { id, secs, .. } => {
                self.done += 1;
                Some(format!("[{}/{}] done {id} ({secs:.2} s)", self.done, self.total))
            }
            Event::Failed { id, error, log, .. } => {
                self.done += 1;
                let log = log.as_ref().map(|l| format!(" (log: {})", l.display())).unwrap_or_default();
                Some(format!("[{}/{}] FAILED {id}: {error}{log}", self.done, self.total))
            }
            Event::Skipped { .. } => {
                self.done += 1;
                None
            }
            Event::Retrying { .. } | Event::Warning { .. } => retry_or_warning(ev),
            Event::RunFinished(_) => None,
        };
        if let Some(l) = line {
            // One line at a time, so a log being followed (or a killed run) shows everything.
            let _ = writeln!(self.out, "{l}");
            let _ = self.out.flush();
        }
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}
