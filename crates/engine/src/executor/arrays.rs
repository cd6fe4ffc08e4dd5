//! Slurm job arrays: instances of the same node with the same resource request that become
//! ready together go out as one `sbatch --array=0-K`, each array task running its own
//! instance's `dag exec` job file. One submission per instance is what clusters object to
//! at thousands of instances (schedulers slow down, `MaxSubmitJobs`-style caps).
//!
//! The first instance of a kind to arrive opens a batch that others join. It is submitted,
//! in arrays of at most `max` tasks, once a window passes with nobody joining, or once it
//! has gathered for `GATHER_MAX` while instances kept trickling in. While at least half of
//! the jobs `--slurm-jobs` allows are queued or running, the cluster has work and a batch
//! keeps gathering for `GATHER_MAX` whatever the pauses: jobs finish in waves (a node's
//! slots turn over together), and a pause between waves would otherwise close every batch
//! after one wave's worth of instances. Each instance
//! then learns its task's id (`JOBID_INDEX`) and is watched, cancelled, reported and retried
//! as a single job would be: Slurm treats an array task as a job of its own.

use super::Job;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// What must be equal for two instances to share an array: one `sbatch` carries one job name
/// (the node), one resource request and one working folder.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Kind {
    node: String,
    args: Vec<String>,
}

struct Member {
    /// The instance, which names a job submitted on its own.
    instance: String,
    file: PathBuf,
    staging: PathBuf,
    id: oneshot::Sender<Result<String, String>>,
}

/// A batch being gathered, and when its last member joined.
struct Batch {
    members: Vec<Member>,
    joined: Instant,
}

type Open = Arc<Mutex<HashMap<Kind, Batch>>>;

/// How long a batch may keep gathering while instances go on joining it. Instances that a
/// busy run sets free one by one (a few a second as jobs finish) would otherwise go out as
/// many small arrays; with `--slurm-jobs` queued, the cluster has work meanwhile.
const GATHER_MAX: Duration = Duration::from_secs(10);

pub struct Arrays {
    open: Open,
    /// The jobs this run has queued or running (each holds a permit), and how many it may.
    in_flight: Arc<tokio::sync::Semaphore>,
    max_jobs: usize,
    /// How long a new batch waits for others to join it.
    window: Duration,
    /// Tasks per array, at most (Slurm's `MaxArraySize` bounds it on the cluster's side).
    max: usize,
    exe: PathBuf,
    sbatch_args: Vec<String>,
}

impl Arrays {
    pub fn new(window: Duration, max: usize, in_flight: Arc<tokio::sync::Semaphore>, max_jobs: usize, exe: PathBuf, sbatch_args: Vec<String>) -> Arrays {
        Arrays { open: Arc::default(), in_flight, max_jobs, window, max: max.max(1), exe, sbatch_args }
    }

    /// Queues `job` (its job file written at `file`) into an array; the answer is its array
    /// task's id, or why sbatch refused the array.
    pub fn join(&self, job: &Job, file: &Path, resources: Vec<String>) -> oneshot::Receiver<Result<String, String>> {
        let (tx, rx) = oneshot::channel();
        let node = job.id.split('[').next().unwrap_or(&job.id).to_owned();
        let kind = Kind { node, args: resources };
        let member = Member { instance: job.id.to_string(), file: std::path::absolute(file).unwrap_or_else(|_| file.to_owned()), staging: job.staging.clone(), id: tx };
        let first = {
            let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let batch = open.entry(kind.clone()).or_insert_with(|| Batch { members: Vec::new(), joined: Instant::now() });
            batch.members.push(member);
            batch.joined = Instant::now();
            batch.members.len() == 1
        };
        if first {
            let (open, window, max, exe, extra) = (self.open.clone(), self.window, self.max, self.exe.clone(), self.sbatch_args.clone());
            let (in_flight, max_jobs) = (self.in_flight.clone(), self.max_jobs);
            tokio::spawn(async move {
                // Submitted once nobody joined for a window, or it is full, or it has
                // gathered for GATHER_MAX.
                let opened = Instant::now();
                loop {
                    tokio::time::sleep(window).await;
                    let open = open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let Some(batch) = open.get(&kind) else { break };
                    // The batch's own members hold permits too: the others are what keeps
                    // the cluster busy meanwhile.
                    let others = max_jobs.saturating_sub(in_flight.available_permits()).saturating_sub(batch.members.len());
                    let gathering = Gathering { quiet: batch.joined.elapsed(), open: opened.elapsed(), members: batch.members.len(), others };
                    if gathering.done(window, max, max_jobs) {
                        break;
                    }
                }
                let mut members = open.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&kind).map(|b| b.members).unwrap_or_default();
                // An instance that stopped waiting meanwhile (Ctrl-C) must not be submitted:
                // nobody would cancel its task.
                members.retain(|m| !m.id.is_closed());
                let mut members = members.into_iter().peekable();
                while members.peek().is_some() {
                    let chunk: Vec<Member> = members.by_ref().take(max).collect();
                    submit(&kind, chunk, &exe, &extra).await;
                }
            });
        }
        rx
    }
}

/// Where a batch stands: how long since its last member joined and since it opened, its
/// members, and the other jobs of this run queued or running.
struct Gathering {
    quiet: Duration,
    open: Duration,
    members: usize,
    others: usize,
}

impl Gathering {
    /// Whether to submit now: full, or gathered for `GATHER_MAX`, or quiet for a window while
    /// the cluster has less than half of `max_jobs` to do.
    fn done(&self, window: Duration, max: usize, max_jobs: usize) -> bool {
        let busy = self.others * 2 >= max_jobs;
        self.members >= max || self.open >= GATHER_MAX || (self.quiet >= window && !busy)
    }
}

/// One `sbatch --array` for `members` (a plain job for one alone); each learns its task's
/// id, or the refusal.
async fn submit(kind: &Kind, mut members: Vec<Member>, exe: &Path, extra: &[String]) {
    let script = members[0].staging.join("array.sh");
    let alone = members.len() == 1;
    let answer = match std::fs::write(&script, script_text(exe, &members)) {
        Err(e) => Err(format!("{}: {e}", script.display())),
        Ok(()) => {
            let mut args = vec!["--parsable".to_owned()];
            if alone {
                args.push(format!("--job-name=dag:{}", members[0].instance));
            } else {
                args.push(format!("--job-name=dag:{}", kind.node));
                args.push(format!("--array=0-{}", members.len() - 1));
            }
            // Each task writes its own output into its instance's staging folder (the
            // script redirects it), so the job's own output is not needed.
            args.push("--output=/dev/null".to_owned());
            args.extend(kind.args.iter().cloned());
            args.extend(extra.iter().cloned());
            // Once every instance has stopped waiting (Ctrl-C, and sbatch did not answer in
            // time), a hung sbatch is killed (dropped) rather than left behind.
            let abandoned = async {
                for m in &mut members {
                    m.id.closed().await;
                }
            };
            tokio::select! {
                biased;
                () = abandoned => return,
                answer = super::slurm::sbatch(&args, &script) => answer,
            }
        }
    };
    for (i, m) in members.into_iter().enumerate() {
        let id = answer.as_ref().map(|id| if alone { id.clone() } else { format!("{id}_{i}") });
        let _ = m.id.send(id.map_err(Clone::clone));
    }
}

/// The array's batch script: task N runs the N-th job file. Slurm keeps a copy of the script
/// at submission, so the paths are written into it and no list file must outlive the batch.
fn script_text(exe: &Path, members: &[Member]) -> String {
    let quote = |p: &Path| shlex::try_quote(&p.to_string_lossy()).map(|q| q.into_owned()).unwrap_or_default();
    let mut s = String::from("#!/bin/bash\njobs=(\n");
    for m in members {
        s.push_str(&quote(&m.file));
        s.push('\n');
    }
    // A job submitted alone is no array: it runs the only file.
    s.push_str(")\njob=${jobs[${SLURM_ARRAY_TASK_ID:-0}]}\n");
    // What `--output` gives a single job: its output in its staging folder.
    s.push_str("exec > \"${job%/*}/slurm.out\" 2>&1\n");
    s.push_str(&format!("exec {} exec \"$job\"\n", quote(exe)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_waits_out_pauses_while_the_cluster_is_busy_and_not_past_gather_max() {
        let (w, s) = (Duration::from_secs(1), Duration::from_secs);
        let g = |quiet, open, members, others| Gathering { quiet: s(quiet), open: s(open), members, others };
        // Quiet for a window: submitted when the run has little queued, not when it is busy.
        assert!(g(1, 3, 40, 100).done(w, 1000, 1000));
        assert!(!g(1, 3, 40, 500).done(w, 1000, 1000));
        // Busy or not, a full batch or one open for GATHER_MAX goes.
        assert!(g(0, 3, 1000, 900).done(w, 1000, 1000));
        assert!(g(0, 10, 40, 900).done(w, 1000, 1000));
        // Still joining: it waits.
        assert!(!g(0, 3, 40, 0).done(w, 1000, 1000));
    }

    #[test]
    fn each_task_runs_its_own_job_file_and_writes_its_own_output() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A stand-in for dag that says what it was asked to run.
        let exe = dir.path().join("fake dag");
        std::fs::write(&exe, "#!/bin/bash\necho \"$@\"\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let members: Vec<Member> = ["a", "b b"]
            .iter()
            .map(|name| {
                let staging = dir.path().join(name);
                std::fs::create_dir_all(&staging).unwrap();
                Member { instance: format!("n[{name}]"), file: staging.join("job.json"), staging, id: oneshot::channel().0 }
            })
            .collect();
        let script = dir.path().join("array.sh");
        std::fs::write(&script, script_text(&exe, &members)).unwrap();
        for task in ["1", "0"] {
            let status = std::process::Command::new("bash").arg(&script).env("SLURM_ARRAY_TASK_ID", task).status().unwrap();
            assert!(status.success());
        }
        for m in &members {
            assert_eq!(std::fs::read_to_string(m.staging.join("slurm.out")).unwrap(), format!("exec {}\n", m.file.display()));
        }
    }
}
