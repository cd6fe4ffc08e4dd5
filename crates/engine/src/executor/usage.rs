//! What an attempt used, measured where it ran: CPU time, peak resident memory, the host.
//! Shell commands: the child's rusage as wait4 returns it (CPU time of the whole tree of
//! processes it waited for; peak memory of the largest single process in it). Built-in
//! tasks: the CPU time of the thread that ran the task, and how far the process's peak
//! resident memory grew meanwhile (tasks running at once share that figure).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `local`, or the batch system's job (`slurm:1234`).
    #[serde(default)]
    pub executor: String,
}

/// This machine's name, read once per process (every attempt's record carries it).
pub fn hostname() -> Option<String> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty())).clone()
}

/// CPU time and peak memory from a child's rusage.
pub fn from_rusage(ru: &libc::rusage) -> Usage {
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    // Linux reports ru_maxrss in KiB.
    Usage { cpu_s: Some(secs(ru.ru_utime) + secs(ru.ru_stime)), peak_rss_mb: Some(ru.ru_maxrss as f64 / 1024.0), host: hostname(), executor: "local".into() }
}

/// Waits for child `pid` (blocking) and returns its exit status as `waitpid` gives it, with
/// its rusage.
pub fn wait4(pid: i32) -> std::io::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value; wait4 writes both out-parameters.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: as above; `pid` is our own child, not yet reaped (nothing else waits for it).
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return Ok((status, ru));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The calling thread's CPU time, in seconds.
pub fn thread_cpu_s() -> Option<f64> {
    // SAFETY: timespec is plain data; clock_gettime writes it.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and a valid out-pointer.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    (r == 0).then(|| t.tv_sec as f64 + t.tv_nsec as f64 / 1e9)
}

/// The process's current and peak resident memory, MB (`VmRSS`, `VmHWM`).
pub fn process_rss_mb() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some((status_mb(&status, "VmRSS:")?, status_mb(&status, "VmHWM:")?))
}

/// A memory field of a `/proc/PID/status` text (`VmHWM:   1234 kB`), in MB.
fn status_mb(status: &str, name: &str) -> Option<f64> {
    status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok()).map(|kb| kb / 1024.0)
}

/// A helper process's CPU time (all its threads, s) and peak resident memory (MB), from /proc.
fn process_figures(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command's name (field 2) is in parentheses and may hold spaces: count from its end.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    // utime and stime are fields 14 and 15, the 12th and 13th after the name.
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some((ticks / hz.max(1) as f64, status_mb(&status, "VmHWM:")?))
}

/// Measures what a long-lived helper process (the study's libtorch worker) uses for one
/// request it serves while nothing else uses it: its CPU time over the request, and its peak
/// memory since the request began (the kernel's high-water mark is reset at the start; where
/// it cannot be, the figure is the helper's peak over its life so far).
pub struct HelperProbe {
    pid: u32,
    cpu0: Option<f64>,
}

impl HelperProbe {
    pub fn start(pid: u32) -> HelperProbe {
        // "5" resets the process's peak resident memory to its current one (Linux 4.0).
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        HelperProbe { pid, cpu0: process_figures(pid).map(|(cpu, _)| cpu) }
    }

    /// CPU seconds and peak MB since `start`; None where /proc could not be read.
    pub fn finish(self) -> Option<(f64, f64)> {
        let (cpu1, peak) = process_figures(self.pid)?;
        Some(((cpu1 - self.cpu0?).max(0.0), peak))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // The child is reaped by wait4, which is what is tested.
    #[allow(clippy::zombie_processes)]
    fn a_childs_cpu_time_and_memory_are_its_own() {
        // 64 MB touched by a child: its peak is at least that, and this process's is not
        // counted in it.
        let child = std::process::Command::new("perl").args(["-e", "$x = 'a' x (64 * 1024 * 1024); $y = 0; $y += $_ for 1 .. 2_000_000"]).spawn().unwrap();
        let (status, ru) = wait4(child.id() as i32).unwrap();
        assert_eq!(status, 0);
        let u = from_rusage(&ru);
        let mb = u.peak_rss_mb.unwrap();
        assert!((60.0..200.0).contains(&mb), "peak {mb} MB");
        assert!(u.cpu_s.unwrap() > 0.0);
        assert!(thread_cpu_s().is_some() && process_rss_mb().is_some());
    }

    #[test]
    fn a_helpers_work_on_one_request_is_measured_while_it_lives() {
        use std::io::{BufRead, Write};
        // A helper that waits for a request, then touches 64 MB and computes, and answers.
        let script = "$|=1; <STDIN>; $x = 'a' x (64 * 1024 * 1024); $y = 0; $y += $_ for 1 .. 3_000_000; print \"done\\n\"; <STDIN>";
        let mut child = std::process::Command::new("perl").args(["-e", script]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
        let probe = HelperProbe::start(child.id());
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "go").unwrap();
        let mut answer = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut answer).unwrap();
        assert_eq!(answer, "done\n");
        let (cpu, peak) = probe.finish().unwrap();
        drop(stdin);
        child.wait().unwrap();
        assert!(cpu > 0.05, "{cpu} s");
        assert!((60.0..300.0).contains(&peak), "peak {peak} MB");
    }
}
