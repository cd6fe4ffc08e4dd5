//! Runs jobs on this machine: shell commands as child processes (in their own process
//! group, so a stop reaches every process they started) and built-in tasks on blocking
//! threads, off the async runtime.

use super::{usage, Cancel, Job, JobError, Work};
use crate::task::{TaskCtx, TaskError};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Commands longer than this go through a script file: Linux limits one argument to 128 KiB.
const INLINE_COMMAND_MAX: usize = 64 * 1024;

/// Runs the job's command or task into `staging/out`, writing its log; stores nothing.
pub async fn run_work(job: &Job, mut cancel: Cancel) -> Result<(), JobError> {
    if let Some(dir) = job.log.parent() {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    }
    let log = std::fs::File::create(&job.log).map_err(io_at(&job.log))?;
    let out = job.staging.join("out");
    match &job.work {
        Work::Shell { command } => {
            // std's Command, not tokio's: the child is reaped by our own wait4, which returns
            // its rusage (CPU time and peak memory) with its status.
            let mut cmd = std::process::Command::new("bash");
            if command.len() > INLINE_COMMAND_MAX {
                let script = job.staging.join("command.sh");
                std::fs::write(&script, command).map_err(io_at(&script))?;
                cmd.arg("-euo").arg("pipefail").arg(script);
            } else {
                cmd.arg("-euo").arg("pipefail").arg("-c").arg(command);
            }
            if let Some(visible) = &job.visible_devices {
                cmd.env("CUDA_VISIBLE_DEVICES", visible);
            }
            cmd.current_dir(&job.workdir)
                .env("DAG_INSTANCE", &*job.id)
                .env("DAG_OUT", &out)
                .env("DAG_CPUS", job.cpus.to_string())
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(io_at(&job.log))?)
                .stderr(log)
                .process_group(0);
            let child = cmd.spawn().map_err(|e| JobError::Task(format!("cannot start bash: {e}")))?;
            let pid = child.id() as i32;
            // If this future is dropped mid-run (the runtime shut down without a stop), the
            // command's group goes with it, as tokio's kill_on_drop did.
            let mut guard = GroupGuard(Some(pid));
            let mut waiter = tokio::task::spawn_blocking(move || usage::wait4(pid));
            let stopped = tokio::select! {
                w = &mut waiter => Ok(w),
                _ = cancel.requested() => Err(JobError::Interrupted("interrupted".into())),
                limit = expiry(job.timeout) => Err(JobError::TimedOut(limit)),
            };
            let waited = match stopped {
                Ok(w) => w,
                Err(why) => {
                    let w = stop_group(pid, &mut waiter).await;
                    guard.0 = None;
                    if let Ok(Ok((_, ru))) = &w {
                        job.record(usage::from_rusage(ru));
                    }
                    return Err(why);
                }
            };
            guard.0 = None;
            let (status, ru) = waited.map_err(|e| JobError::Task(format!("waiting for the command: {e}")))?.map_err(|e| JobError::Task(format!("waiting for the command: {e}")))?;
            job.record(usage::from_rusage(&ru));
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                Ok(())
            } else if libc::WIFEXITED(status) {
                Err(JobError::Task(format!("command exited with status {}", libc::WEXITSTATUS(status))))
            } else {
                Err(JobError::Task(format!("command was killed by signal {}", libc::WTERMSIG(status))))
            }
        }
        Work::Task { task, params } => {
            let (task, params) = (task.clone(), params.clone());
            let (id, value, inputs, device, cpus, cpu_fallback) = (job.id.clone(), job.value.clone(), job.inputs.clone(), job.device, job.cpus, job.cpu_fallback);
            // With a time limit the task watches a flag of its own, raised by a stop of the
            // run or by the limit; a built-in task stops at its next check of it.
            let (flag, timed_out) = match job.timeout {
                None => (cancel.flag.clone(), None),
                Some(limit) => {
                    let (own, expired) = (Arc::new(AtomicBool::new(cancel.flag.load(Ordering::Relaxed))), Arc::new(AtomicBool::new(false)));
                    let (o, e, mut c) = (own.clone(), expired.clone(), cancel.clone());
                    let watch = tokio::spawn(async move {
                        tokio::select! {
                            _ = c.requested() => {}
                            _ = expiry(Some(limit)) => e.store(true, Ordering::Relaxed),
                        }
                        o.store(true, Ordering::Relaxed);
                    });
                    (own, Some((expired, limit, watch)))
                }
            };
            let run = tokio::task::spawn_blocking(move || {
                let mut log = std::io::BufWriter::new(log);
                let helpers = crate::task::HelperUsage::default();
                let mut ctx = TaskCtx { instance: &id, value: value.as_deref(), out: &out, inputs: &inputs, device, cpu_fallback, cpus, log: &mut log, cancel: &flag, helpers: &helpers };
                let (cpu0, rss0) = (usage::thread_cpu_s(), usage::process_rss_mb());
                let r = task.run(&params, &mut ctx);
                let (cpu1, rss1) = (usage::thread_cpu_s(), usage::process_rss_mb());
                let (helper_cpu, helper_peak) = helpers.get().unwrap_or((0.0, 0.0));
                let used = usage::Usage {
                    cpu_s: cpu0.zip(cpu1).map(|(a, b)| b - a + helper_cpu),
                    // How far the process's peak grew past what it held when the task began,
                    // plus a helper's own peak: both may be held at once, so their sum bounds it.
                    peak_rss_mb: rss0.zip(rss1).map(|((now, _), (_, peak))| (peak - now).max(0.0) + helper_peak),
                    host: usage::hostname(),
                    executor: "local".into(),
                };
                use std::io::Write;
                let _ = log.flush();
                (used, match r {
                    Ok(()) => Ok(()),
                    Err(TaskError::Cancelled) => Err(JobError::Interrupted("interrupted".into())),
                    Err(e) if flag.load(Ordering::Relaxed) => Err(JobError::Interrupted(format!("interrupted ({e})"))),
                    Err(e) => Err(JobError::Task(e.to_string())),
                })
            })
            .await
            .map(|(used, r)| {
                job.record(used);
                r
            })
            .unwrap_or_else(|e| Err(JobError::Task(format!("task panicked: {e}"))));
            match (run, timed_out) {
                (Err(JobError::Interrupted(_)), Some((expired, limit, _))) if expired.load(Ordering::Relaxed) => Err(JobError::TimedOut(limit)),
                (r, watch) => {
                    // The task has ended: its watcher must not sleep on until a long limit.
                    if let Some((_, _, w)) = watch {
                        w.abort();
                    }
                    r
                }
            }
        }
    }
}

/// Resolves when `limit` has passed since the call; never without one.
async fn expiry(limit: Option<Duration>) -> Duration {
    match limit {
        Some(d) => {
            tokio::time::sleep(d).await;
            d
        }
        None => std::future::pending().await,
    }
}

/// Stops a command's whole process group: SIGTERM, then SIGKILL after a grace period of 3 s;
/// returns what waiting for the command gave.
async fn stop_group(pid: i32, waiter: &mut Waiter) -> Result<std::io::Result<(i32, libc::rusage)>, tokio::task::JoinError> {
    // SAFETY: signalling a process group we created; no memory is touched.
    unsafe { libc::killpg(pid, libc::SIGTERM) };
    match tokio::time::timeout(Duration::from_secs(3), &mut *waiter).await {
        Ok(w) => w,
        Err(_) => {
            // SAFETY: as above.
            unsafe { libc::killpg(pid, libc::SIGKILL) };
            waiter.await
        }
    }
}

type Waiter = tokio::task::JoinHandle<std::io::Result<(i32, libc::rusage)>>;

/// Kills a command's process group when dropped while still armed (the group's leader pid).
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: signalling a process group we created and have not seen end.
            unsafe { libc::killpg(pid, libc::SIGKILL) };
        }
    }
}

/// An I/O failure of the job's own files (its log, its script), naming the file.
fn io_at(p: &std::path::Path) -> impl FnOnce(std::io::Error) -> JobError + '_ {
    move |e| JobError::Task(format!("{}: {e}", p.display()))
}
