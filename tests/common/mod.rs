//! Helpers for integration tests that run the `dag` binary on small pipelines.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Project {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Instances that ran (from the plain progress lines `[n/m] done ID (…)`).
    pub fn ran(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .stdout
            .lines()
            .filter_map(|l| l.split_once("] done ").map(|(_, rest)| rest.rsplit_once(" (").map_or(rest, |x| x.0).to_owned()))
            .collect();
        v.sort();
        v
    }
}

pub fn dag() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dag"))
}

impl Project {
    pub fn new(pipeline: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.yaml"), pipeline).unwrap();
        Project { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = dag();
        c.current_dir(self.dir.path()).args(args).env_remove("RUST_LOG").env_remove("DAG_CACHE");
        c
    }

    pub fn dag(&self, args: &[&str]) -> Run {
        output(self.cmd(args).output().unwrap())
    }

    /// `dag run p.yaml` with plain progress and the given extra arguments.
    pub fn run(&self, extra: &[&str]) -> Run {
        let mut args = vec!["run", "p.yaml", "--progress", "plain"];
        if !extra.contains(&"--gpus") {
            args.extend_from_slice(&["--gpus", "none"]);
        }
        args.extend_from_slice(extra);
        self.dag(&args)
    }

    pub fn plan_json(&self, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["plan", "p.yaml", "--json"];
        args.extend_from_slice(extra);
        let r = self.dag(&args);
        assert_eq!(r.code, 0, "plan failed: {}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    }
}

pub fn output(o: Output) -> Run {
    Run { code: o.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&o.stdout).into(), stderr: String::from_utf8_lossy(&o.stderr).into() }
}

pub fn ids(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// Waits until the running `dag` has a command that wrote its pid into `pid_file` (in the
/// project), interrupts `dag` with SIGINT and returns its output and how long it took to stop.
pub fn interrupt_once_started(p: &Project, child: std::process::Child, pid_file: &str) -> (Run, std::time::Duration) {
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(20);
    while !p.path(pid_file).exists() || p.read(pid_file).trim().is_empty() {
        assert!(Instant::now() < deadline, "the slow node never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    // SAFETY: sending SIGINT to the child the test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let r = output(child.wait_with_output().unwrap());
    (r, started.elapsed())
}
