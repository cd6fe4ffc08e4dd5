//! What Slurm knows of a job that ended without reporting back (killed for memory, its node
//! lost, cancelled): from accounting (`sacct`) where it exists, its final state and the CPU
//! time and peak memory it measured; without accounting, the state the controller
//! (`scontrol`) remembers for a while, then the job completion log where one is kept. A job
//! that does report back carries `dag exec`'s own measurement instead, which needs none.

use super::usage::Usage;

/// The columns asked for; `parse` reads them in this order.
pub const FORMAT: &str = "JobID,State,ExitCode,TotalCPU,MaxRSS,NodeList";

/// Slurm's account of one job: `sacct -n -P -o FORMAT -j ID`, one line for the allocation and
/// one per step. The state is the allocation's; CPU time and memory are those of the steps
/// (a batch job's work runs in its `.batch` step), the largest of each.
#[derive(Debug, Default, PartialEq)]
pub struct Account {
    /// `FAILED, exit code 9:0`, as people read it.
    pub state: Option<String>,
    pub usage: Usage,
}

pub fn parse(text: &str, id: &str) -> Account {
    let mut a = Account { usage: Usage { executor: format!("slurm:{id}"), ..Usage::default() }, ..Account::default() };
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split('|').collect();
        let [job, state, exit, cpu, rss, nodes, ..] = f[..] else { continue };
        if job == id {
            a.state = Some(format!("{state}, exit code {exit}"));
        } else if !job.starts_with(&format!("{id}.")) {
            continue;
        }
        let max = |old: Option<f64>, new: Option<f64>| match (old, new) {
            (Some(o), Some(n)) => Some(o.max(n)),
            (o, n) => o.or(n),
        };
        a.usage.cpu_s = max(a.usage.cpu_s, duration_s(cpu));
        a.usage.peak_rss_mb = max(a.usage.peak_rss_mb, size_mb(rss));
        if a.usage.host.is_none() && !nodes.is_empty() && nodes != "None assigned" {
            a.usage.host = Some(nodes.to_owned());
        }
    }
    a
}

/// Slurm's durations: `[D-][HH:]MM:SS[.fff]`. None for anything else (an empty field).
fn duration_s(s: &str) -> Option<f64> {
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (d.parse::<f64>().ok()?, r),
        None => (0.0, s),
    };
    let parts: Vec<f64> = rest.split(':').map(|p| p.parse::<f64>().ok()).collect::<Option<_>>()?;
    let secs = match parts[..] {
        [m, s] => m * 60.0 + s,
        [h, m, s] => h * 3600.0 + m * 60.0 + s,
        _ => return None,
    };
    Some(days * 86400.0 + secs)
}

/// Slurm's memory figures: a number with a unit suffix (K, M, G, T; bytes without one), in MB.
fn size_mb(s: &str) -> Option<f64> {
    let (num, unit) = s.find(|c: char| c.is_ascii_alphabetic()).map_or((s, ""), |i| s.split_at(i));
    let v: f64 = num.parse().ok()?;
    let scale = match unit {
        "" => 1.0 / (1024.0 * 1024.0),
        "K" => 1.0 / 1024.0,
        "M" => 1.0,
        "G" => 1024.0,
        "T" => 1024.0 * 1024.0,
        _ => return None,
    };
    Some(v * scale)
}

/// Asks `sacct`; None where it is missing or has no accounting to read (a cluster without
/// a database: it then exits non-zero or prints nothing).
pub async fn query(id: &str) -> Option<Account> {
    let out = tokio::process::Command::new("sacct").args(["-n", "-P", "-o", FORMAT, "-j", id]).kill_on_drop(true).output().await.ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.trim().is_empty() {
        return None;
    }
    Some(parse(&text, id))
}

/// Without accounting, the state `scontrol show job` gives while the controller still
/// remembers the job (`MinJobAge`, 300 s by default): `OUT_OF_MEMORY, exit code 0:125`.
pub async fn scontrol_state(id: &str) -> Option<String> {
    let out = tokio::process::Command::new("scontrol").args(["show", "job", id]).kill_on_drop(true).output().await.ok()?;
    out.status.success().then(|| parse_scontrol(&String::from_utf8_lossy(&out.stdout))).flatten()
}

/// Whether a state as `state` reads it is one a job ends in. A job still running, waiting or
/// completing is not. Slurm's states: `squeue --help`, JOB STATE CODES. An unknown state is
/// taken as final: asking again would not tell more.
pub fn is_final(state: &str) -> bool {
    const PASSING: [&str; 12] = ["PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD"];
    let word = state.split([',', ' ']).next().unwrap_or("");
    !PASSING.contains(&word)
}

/// Without accounting, once the controller has forgotten the job: its line in the job
/// completion log, where the cluster keeps one (`JobCompType=jobcomp/filetxt`, at
/// `JobCompLoc`, as `scontrol show config` says). Only the log's end is read: a job that
/// just ended is there, and such logs grow without bound.
pub async fn jobcomp_state(id: &str) -> Option<String> {
    let out = tokio::process::Command::new("scontrol").args(["show", "config"]).kill_on_drop(true).output().await.ok()?;
    let log = jobcomp_log(&String::from_utf8_lossy(&out.stdout))?;
    let id = id.to_owned();
    tokio::task::spawn_blocking(move || {
        let tail = read_tail(&log, JOBCOMP_TAIL).ok()?;
        find_jobcomp(&String::from_utf8_lossy(&tail), &id)
    })
    .await
    .ok()
    .flatten()
}

/// How much of the job completion log's end is searched.
const JOBCOMP_TAIL: u64 = 4 << 20;

/// The job completion log's path, if the configuration names a text one.
fn jobcomp_log(config: &str) -> Option<std::path::PathBuf> {
    let value = |name: &str| config.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == name).then(|| v.trim().to_owned())
    });
    (value("JobCompType")? == "jobcomp/filetxt").then(|| value("JobCompLoc")).flatten().filter(|p| p.starts_with('/')).map(Into::into)
}

fn read_tail(path: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The last line of the log for job `id` (`JobId=ID …`; an array task `A_T` is the line with
/// `ArrayJobId=A` and `ArrayTaskId=T` where the log has them), read as `scontrol`'s record.
fn find_jobcomp(log: &str, id: &str) -> Option<String> {
    let is_job = |line: &str| match id.split_once('_') {
        Some((array, task)) => field(line, "ArrayJobId=") == Some(array) && field(line, "ArrayTaskId=") == Some(task),
        None => field(line, "JobId=") == Some(id),
    };
    log.lines().rev().find(|l| is_job(l)).and_then(parse_scontrol)
}

/// The value of `NAME=` (`name` given with its `=`) in `scontrol`'s and the job completion
/// log's `KEY=VALUE` records.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split_whitespace().find_map(|w| w.strip_prefix(name))
}

fn parse_scontrol(text: &str) -> Option<String> {
    let state = field(text, "JobState=")?;
    Some(match field(text, "ExitCode=") {
        Some(code) => format!("{state}, exit code {code}"),
        None => state.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_the_allocations_and_the_figures_the_largest_steps() {
        let text = "4242|OUT_OF_MEMORY|0:125|00:03.250||node7\n4242.batch|OUT_OF_MEMORY|0:125|01:02.500|2097152K|node7\n4242.extern|COMPLETED|0:0|00:00.001|512K|node7\n4243|FAILED|1:0|00:01.000|10M|node8\n";
        let a = parse(text, "4242");
        assert_eq!(a.state.as_deref(), Some("OUT_OF_MEMORY, exit code 0:125"));
        assert_eq!(a.usage.cpu_s, Some(62.5));
        assert_eq!(a.usage.peak_rss_mb, Some(2048.0));
        assert_eq!(a.usage.host.as_deref(), Some("node7"));
        assert_eq!(a.usage.executor, "slurm:4242");
    }

    #[test]
    fn slurms_units_and_durations_are_read() {
        assert_eq!(duration_s("1-02:00:01"), Some(93601.0));
        assert_eq!(duration_s("02:00:01"), Some(7201.0));
        assert_eq!(duration_s("00:00.250"), Some(0.25));
        assert_eq!(duration_s(""), None);
        assert_eq!(size_mb("1.5G"), Some(1536.0));
        assert_eq!(size_mb("1048576"), Some(1.0));
        assert_eq!(size_mb(""), None);
        assert_eq!(size_mb("12Q"), None);
    }

    #[test]
    fn a_short_line_or_another_jobs_is_ignored() {
        let a = parse("FAILED|9:0\n99|FAILED|9:0|00:05.000|1G|n1\n", "4242");
        assert_eq!(a, Account { usage: Usage { executor: "slurm:4242".into(), ..Usage::default() }, state: None });
    }

    #[test]
    fn scontrols_state_and_exit_code_are_read() {
        let text = "JobId=12 JobName=dag:a\n   UserId=root(0) GroupId=root(0)\n   JobState=OUT_OF_MEMORY Reason=OutOfMemory Dependency=(null)\n   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:125\n";
        assert_eq!(parse_scontrol(text).as_deref(), Some("OUT_OF_MEMORY, exit code 0:125"));
        assert_eq!(parse_scontrol("slurm_load_jobs error: Invalid job id specified"), None);
    }

    #[test]
    fn the_job_completion_log_is_found_in_the_config_and_read_from_its_end() {
        let config = "JobAcctGatherType       = (null)\nJobCompHost             = localhost\nJobCompLoc              = /var/log/slurm/jobcomp.txt\nJobCompType             = jobcomp/filetxt\n";
        assert_eq!(jobcomp_log(config), Some("/var/log/slurm/jobcomp.txt".into()));
        assert_eq!(jobcomp_log(&config.replace("jobcomp/filetxt", "jobcomp/none")), None);
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("jobcomp.txt");
        let lines = (0..5000).map(|i| format!("JobId={i} UserId=root(0) GroupId=root(0) Name=dag:x JobState=COMPLETED Partition=debug DerivedExitCode=0:0 ExitCode=0:0\n")).collect::<String>();
        std::fs::write(&log, lines + "JobId=77 UserId=root(0) Name=dag:y JobState=CANCELLED Partition=debug DerivedExitCode=0:0 ExitCode=0:15\n").unwrap();
        let tail = read_tail(&log, 1000).unwrap();
        assert!(tail.len() <= 1000);
        let tail = String::from_utf8_lossy(&tail);
        assert_eq!(find_jobcomp(&tail, "77").as_deref(), Some("CANCELLED, exit code 0:15"));
        assert_eq!(find_jobcomp(&tail, "7"), None, "another job's id is not a prefix match");
        // Far back: not in the tail read.
        assert_eq!(find_jobcomp(&tail, "12"), None);
        let array = "JobId=90 ArrayJobId=88 ArrayTaskId=2 JobState=OUT_OF_MEMORY ExitCode=0:125\n";
        assert_eq!(find_jobcomp(array, "88_2").as_deref(), Some("OUT_OF_MEMORY, exit code 0:125"));
        assert_eq!(find_jobcomp(array, "88_3"), None);
    }

    #[test]
    fn a_completing_job_is_not_yet_final_and_a_cancelled_one_is() {
        assert!(!is_final("COMPLETING, exit code 1:0"));
        assert!(!is_final("RUNNING, exit code 0:0"));
        assert!(is_final("unknown: neither sacct, scontrol nor a job completion log knows the job"));
        assert!(is_final("CANCELLED, exit code 0:15"));
        assert!(is_final("CANCELLED by 0, exit code 0:15"));
        assert!(is_final("OUT_OF_MEMORY, exit code 0:125"));
        assert!(is_final("TIMEOUT"));
    }
}
