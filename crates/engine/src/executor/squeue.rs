//! Which of this user's Slurm jobs are still queued or running, asked of `squeue` once per
//! poll interval for all jobs in flight together. One `squeue -j ID` per job and poll put a
//! query per job on the controller, which cluster admins rightly object to at hundreds of
//! jobs; a job id that Slurm had already purged also made `squeue -j` fail.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct QueueWatch {
    poll: Duration,
    view: tokio::sync::Mutex<View>,
}

#[derive(Default)]
struct View {
    /// When the last `squeue` started; None before the first.
    taken: Option<Instant>,
    /// Ids that `squeue` listed, with the reason Slurm gives for each (why it pends, or
    /// `None`); None when it failed (a busy controller), so unknown.
    alive: Option<HashMap<String, String>>,
}

/// Pending reasons that no waiting will change: the job asks for more than its partition
/// allows (CPUs, memory, GPUs or time beyond every node or the partition's limits), or for
/// features no node has. Slurm keeps such a job pending forever.
const HOPELESS: [&str; 4] = ["PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit", "BadConstraints"];

impl QueueWatch {
    pub fn new(poll: Duration) -> QueueWatch {
        QueueWatch { poll, view: tokio::sync::Mutex::new(View::default()) }
    }

    /// Whether Slurm still lists job `id` (submitted at `submitted`) as pending, running or
    /// completing. Callers hold the lock while one `squeue` runs, so however many jobs ask,
    /// the controller is asked at most once per poll interval. What cannot be known (squeue
    /// failed, or its list was taken before the job existed) counts as still queued.
    pub async fn alive(&self, id: &str, submitted: Instant) -> bool {
        let mut view = self.view.lock().await;
        if view.taken.is_none_or(|t| t.elapsed() >= self.poll) {
            let start = Instant::now();
            view.alive = list().await;
            view.taken = Some(start);
        }
        if view.taken.is_some_and(|t| t < submitted) {
            return true;
        }
        view.alive.as_ref().is_none_or(|ids| ids.contains_key(id))
    }

    /// The reason job `id` will never start, if the last `squeue` gave one of `HOPELESS`.
    pub async fn hopeless(&self, id: &str) -> Option<String> {
        let view = self.view.lock().await;
        view.alive.as_ref()?.get(id).filter(|r| HOPELESS.contains(&r.as_str())).cloned()
    }
}

/// `squeue -o "%i %r"` lines: job id, then its reason.
fn parse(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let id = f.next()?.to_owned();
            Some((id, f.next().unwrap_or("").trim_matches(|c| c == '(' || c == ')').to_owned()))
        })
        .collect()
}

/// This user's jobs that Slurm lists by default (pending, running, completing, suspended).
/// `-u` takes the numeric uid, which needs no user database lookup and no `--me` (Slurm ≥ 20.11).
/// `-r` lists each task of an array on its own line (`123_4`), pending ones too, which Slurm
/// otherwise folds into one (`123_[5-99]`).
async fn list() -> Option<HashMap<String, String>> {
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    let out = tokio::process::Command::new("squeue").args(["-h", "-r", "-u", &uid.to_string(), "-o", "%i %r"]).output().await.ok()?;
    out.status.success().then(|| parse(&String::from_utf8_lossy(&out.stdout)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_ids_and_reasons() {
        let m = super::parse("22 PartitionConfig\n23 None\n 24 (Resources)\n25\n");
        assert_eq!(m["22"], "PartitionConfig");
        assert_eq!(m["24"], "Resources");
        assert_eq!(m["25"], "");
        assert!(super::HOPELESS.contains(&m["22"].as_str()) && !super::HOPELESS.contains(&m["23"].as_str()));
    }
}
