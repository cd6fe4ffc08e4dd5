//! Runs each job as a Slurm batch job: the job is written into its staging folder (which
//! lies in the cache, on a filesystem the cluster's nodes share), `sbatch` runs `dag exec` on
//! it there, and this side waits for the result file, asking `squeue` now and then (once for
//! all jobs; see squeue.rs) whether the job is still alive. The output, computed there into
//! the staging folder, is stored by this side's scheduler as a local job's is.

use super::arrays::Arrays;
use super::jobfile::{JobFile, JobResult, JOB, RESULT};
use super::squeue::QueueWatch;
use super::{BoxFuture, Cancel, Executor, Job, JobError};
use crate::task::Device;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct SlurmOptions {
    /// The `dag` binary the batch jobs run; it must be reachable at this path on the nodes.
    pub exe: PathBuf,
    /// Passed to every `sbatch` (e.g. `--partition=gpu`, `--time=2:00:00`).
    pub sbatch_args: Vec<String>,
    /// How often to ask `squeue` about the jobs; the result files are looked for more often.
    pub poll: Duration,
    /// Jobs submitted and not yet finished, at most (an array's tasks count one each).
    pub max_jobs: usize,
    /// Tasks per job array, at most; 1 submits each instance on its own (see arrays.rs).
    pub array_max: usize,
}

pub struct Slurm {
    opts: SlurmOptions,
    in_flight: Arc<tokio::sync::Semaphore>,
    queue: QueueWatch,
    arrays: Option<Arrays>,
}

/// After the job has left the queue, how long its result file may take to appear here (a
/// shared filesystem's attribute cache can hide a new file for some seconds).
const RESULT_GRACE: Duration = Duration::from_secs(10);

/// After Ctrl-C, how long an `sbatch` still running may take to say which job it queued.
const SBATCH_GRACE: Duration = Duration::from_secs(5);

impl Slurm {
    pub fn new(opts: SlurmOptions) -> Slurm {
        let in_flight = Arc::new(tokio::sync::Semaphore::new(opts.max_jobs.max(1)));
        let queue = QueueWatch::new(opts.poll);
        // A batch waits as long as a job's result is looked for: the instances that the jobs
        // finishing in one look set free join one array.
        let arrays = (opts.array_max > 1).then(|| Arrays::new(file_poll(opts.poll), opts.array_max, in_flight.clone(), opts.max_jobs.max(1), opts.exe.clone(), opts.sbatch_args.clone()));
        Slurm { opts, in_flight, queue, arrays }
    }
}

impl Executor for Slurm {
    fn run<'a>(&'a self, job: &'a Job, mut cancel: Cancel) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            tokio::select! {
                permit = self.in_flight.acquire() => match permit {
                    Ok(_permit) => self.run_remote(job, cancel.clone()).await,
                    Err(e) => Err(JobError::Remote(e.to_string())),
                },
                _ = cancel.requested() => Err(JobError::Interrupted("interrupted".into())),
            }
        })
    }

    fn place(&self, device: Device) -> String {
        match device {
            Device::Cpu => "slurm".to_owned(),
            Device::Cuda(_) => "slurm (cuda:0 of its node)".to_owned(),
        }
    }

    fn describe(&self) -> Option<String> {
        Some(format!("as Slurm batch jobs (at most {} queued; {} per job)", self.opts.max_jobs, if self.opts.sbatch_args.is_empty() { "no extra sbatch arguments".to_owned() } else { format!("sbatch {}", self.opts.sbatch_args.join(" ")) }))
    }
}

impl Slurm {
    async fn run_remote(&self, job: &Job, mut cancel: Cancel) -> Result<(), JobError> {
        // The job sees only the GPUs Slurm gave it, so its device is the first of those.
        let device = if job.gpus > 0 { Device::Cuda(0) } else { Device::Cpu };
        let file = job.staging.join(JOB);
        let text = serde_json::to_vec_pretty(&JobFile::new(job, device)).expect("job serialises");
        std::fs::write(&file, text).map_err(handover(&file))?;
        let submit = self.submit(job, &file);
        tokio::pin!(submit);
        let id = tokio::select! {
            id = &mut submit => id.map_err(JobError::Remote)?,
            _ = cancel.requested() => {
                // sbatch may be queuing the job right now: give it a moment to answer, so
                // that what it queued is cancelled too; past that it is killed (a hung
                // controller must not hold up Ctrl-C).
                if let Ok(Ok(id)) = tokio::time::timeout(SBATCH_GRACE, &mut submit).await {
                    scancel(&id).await;
                }
                return Err(JobError::Interrupted("interrupted while sbatch was submitting the job".into()));
            }
        };
        // A queue listing taken before now may not show the job (an array waits to be
        // submitted): only later ones can say it is gone.
        let submitted = Instant::now();
        // Until the node reports its measurement, the trace knows the job's id.
        job.record(super::usage::Usage { executor: format!("slurm:{id}"), ..Default::default() });
        let result_path = job.staging.join(RESULT);
        let file_poll = file_poll(self.opts.poll);
        let mut gone_since = None::<Instant>;
        loop {
            tokio::select! {
                () = tokio::time::sleep(file_poll) => {}
                _ = cancel.requested() => {
                    scancel(&id).await;
                    return Err(JobError::Interrupted(format!("interrupted (Slurm job {id} cancelled)")));
                }
            }
            if let Ok(text) = std::fs::read_to_string(&result_path) {
                let r: JobResult = serde_json::from_str(&text).map_err(|e| JobError::Remote(format!("{}: {e}", result_path.display())))?;
                job.record(super::usage::Usage { executor: format!("slurm:{id}"), ..r.usage });
                return match r.error {
                    None => Ok(()),
                    // Slurm stopped it on its node: its state says why (cancelled, its time
                    // limit, preempted), and like a lost job it may be retried.
                    Some(e) if r.signalled => Err(JobError::Remote(format!("Slurm stopped job {id} on its node (state {}): {e}", state(&id, None).await))),
                    Some(e) => Err(JobError::Task(format!("{e} (Slurm job {id})"))),
                };
            }
            match gone_since {
                Some(t) if t.elapsed() >= RESULT_GRACE.min(self.opts.poll * 3) => return Err(JobError::Remote(self.died(&id, job).await)),
                Some(_) => {}
                None => {
                    if !self.queue.alive(&id, submitted).await {
                        gone_since = Some(Instant::now());
                    } else if let Some(reason) = self.queue.hopeless(&id).await {
                        scancel(&id).await;
                        let asked = format!("{} CPUs{}{}", job.cpus.max(1), if job.mem_gb > 0.0 { format!(", {} GB", job.mem_gb) } else { String::new() }, if job.gpus > 0 { format!(", {} GPUs", job.gpus) } else { String::new() });
                        return Err(JobError::Refused(format!(
                            "Slurm will never start job {id} (pending: {reason}): it asks for more than its partition allows ({asked}); lower the node's `resources` or bound them with --cpus/--mem-gb; cancelled"
                        )));
                    }
                }
            }
        }
    }

    /// Submits the job whose file is `file`, alone or in an array; its Slurm id.
    async fn submit(&self, job: &Job, file: &Path) -> Result<String, String> {
        if let Some(arrays) = &self.arrays {
            return arrays.join(job, file, resources(job)).await.unwrap_or_else(|_| Err("the job array was not submitted".to_owned()));
        }
        let script = job.staging.join("job.sh");
        let quote = |p: &Path| shlex::try_quote(&p.to_string_lossy()).map(|q| q.into_owned()).unwrap_or_default();
        let body = format!("#!/bin/bash\nexec {} exec {}\n", quote(&self.opts.exe), quote(&std::path::absolute(file).unwrap_or(file.to_owned())));
        std::fs::write(&script, body).map_err(|e| format!("{}: {e}", script.display()))?;
        let mut args = vec!["--parsable".to_owned(), format!("--job-name=dag:{}", job.id), format!("--output={}", job.staging.join("slurm.out").display())];
        args.extend(resources(job));
        args.extend(self.opts.sbatch_args.iter().cloned());
        sbatch(&args, &script).await
    }

    /// Why a job left the queue without a result: Slurm's final state and its output's end.
    /// Where accounting exists, what it measured of the job goes into the trace, since the job
    /// could not report its own measurement.
    async fn died(&self, id: &str, job: &Job) -> String {
        let state = state(id, Some(job)).await;
        let output = std::fs::read_to_string(job.staging.join("slurm.out")).unwrap_or_default();
        let tail: Vec<&str> = output.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("Slurm job {id} ended without a result (state {state}){}", if tail.is_empty() { String::new() } else { format!("; its output ends: {}", tail.join(" | ")) })
    }
}

/// Job `id`'s state as Slurm gives it: from accounting (whose figures of the job go into
/// `job`'s trace when given), else from the controller's memory of it, else unknown. A job
/// Slurm has just stopped reads `COMPLETING` until its processes are gone (up to the cluster's
/// KillWait, 30 s by default), which says nothing of why: ask again until the state is final.
async fn state(id: &str, job: Option<&Job>) -> String {
    let deadline = Instant::now() + SETTLE_MAX;
    loop {
        let state = state_now(id, job).await;
        if super::sacct::is_final(&state) || Instant::now() >= deadline {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How long a stopped job's state is waited for to become final.
const SETTLE_MAX: Duration = Duration::from_secs(40);

async fn state_now(id: &str, job: Option<&Job>) -> String {
    let mut state = None;
    if let Some(account) = super::sacct::query(id).await {
        if let Some(job) = job {
            job.record(account.usage);
        }
        state = account.state;
    }
    if state.is_none() {
        state = super::sacct::scontrol_state(id).await;
    }
    if state.is_none() {
        state = super::sacct::jobcomp_state(id).await;
    }
    state.unwrap_or_else(|| "unknown: neither sacct, scontrol nor a job completion log knows the job".to_owned())
}

/// What a job asks Slurm for, from its resources and time limit, and where it runs.
fn resources(job: &Job) -> Vec<String> {
    let mut args = vec![format!("--cpus-per-task={}", job.cpus.max(1)), format!("--chdir={}", job.workdir.display())];
    if job.mem_gb > 0.0 && job.mem_gb.is_finite() {
        args.push(format!("--mem={}M", (job.mem_gb * 1024.0).ceil() as u64));
    }
    if job.gpus > 0 {
        args.push(format!("--gres=gpu:{}", job.gpus));
    }
    if let Some(limit) = job.timeout {
        // `dag exec` stops the job at the limit itself and reports it; Slurm's own limit,
        // a minute later (whole minutes), stops a job that could not report.
        args.push(format!("--time={}", limit.as_secs().div_ceil(60) + 1));
    }
    args
}

/// `sbatch ARGS SCRIPT`; the job's id, or why it was refused.
pub(super) async fn sbatch(args: &[String], script: &Path) -> Result<String, String> {
    let out = tokio::process::Command::new("sbatch")
        .args(args)
        .arg(script)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run sbatch (is this a Slurm submit host?): {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // --parsable prints `id` or `id;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_owned();
    if !out.status.success() || id.is_empty() || !id.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return Err(format!("sbatch refused the job: {}{}", String::from_utf8_lossy(&out.stderr).trim(), stdout.trim()));
    }
    Ok(id)
}

/// How often a job's result file is looked for.
fn file_poll(poll: Duration) -> Duration {
    poll.min(Duration::from_secs(2))
}

async fn scancel(id: &str) {
    let _ = tokio::process::Command::new("scancel").arg(id).output().await;
}

/// A failure to write the files that hand the job to the batch system, naming the file.
fn handover(p: &Path) -> impl FnOnce(std::io::Error) -> JobError + '_ {
    move |e| JobError::Remote(format!("{}: {e}", p.display()))
}
