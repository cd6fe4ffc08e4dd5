//! Which of this user's Slurm jobs are still queued or running, asked of `squeue` once per
//! poll interval for all jobs in flight together. One `squeue -j ID` per job and poll put a
//! query per job on the controller, which cluster admins rightly object to at hundreds of
//! jobs; a job id that Slurm had already purged also made `squeue -j` fail.

use std::collections::HashSet;
use std::time::{Duration, Instant};

pub struct QueueWatch {
    poll: Duration,
    view: tokio::sync::Mutex<View>,
}

#[derive(Default)]
struct View {
    /// When the last `squeue` started; None before the first.
    taken: Option<Instant>,
    /// Ids that `squeue` listed; None when it failed (a busy controller), so unknown.
    alive: Option<HashSet<String>>,
}

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
        view.alive.as_ref().is_none_or(|ids| ids.contains(id))
    }
}

/// This user's jobs that Slurm lists by default (pending, running, completing, suspended).
/// `-u` takes the numeric uid, which needs no user database lookup and no `--me` (Slurm ≥ 20.11).
async fn list() -> Option<HashSet<String>> {
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    let out = tokio::process::Command::new("squeue").args(["-h", "-u", &uid.to_string(), "-o", "%i"]).output().await.ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect())
}
