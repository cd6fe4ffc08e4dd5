//! Retries and time limits: a flaky node succeeds on its second attempt, a node that runs too
//! long is stopped with everything it started, and neither changes an instance's key.

mod common;
use common::{ids, Project};
use std::time::{Duration, Instant};

/// Fails on its first attempt (no `tried` file yet), succeeds on the next.
const FLAKY: &str = "test -e tried || (touch tried; echo first attempt fails; exit 3); echo ok > {out}/v";

#[test]
fn a_flaky_node_succeeds_with_a_retry_and_fails_without() {
    let p = Project::new(&format!("name: flaky\nnodes:\n  f:\n    retries: 1\n    shell: '{FLAKY}'\n"));
    let r = p.run(&["--cpus", "1"]);
    assert_eq!((r.code, r.ran()), (0, ids(&["f"])), "{}", r.stdout);
    assert!(r.stdout.contains("RETRY f: attempt 1 of 2 failed: command exited with status 3"), "{}", r.stdout);
    assert!(r.stdout.contains("retried: f (2 attempts)"), "{}", r.stdout);
    assert_eq!(p.read("results/f/v"), "ok\n");
    // The failed attempt's log is kept; the last attempt's is the node's log.
    assert_eq!(p.read("cache/logs/f/f.attempt-1.log"), "first attempt fails\n");
    assert_eq!(p.read("cache/logs/f/f.log"), "");
    // The key holds neither `retries` nor the attempt: without `retries:`, it is cached.
    p.write("p.yaml", &format!("name: flaky\nnodes:\n  f:\n    shell: '{FLAKY}'\n"));
    let r = p.run(&["--cpus", "1"]);
    assert_eq!((r.code, r.ran()), (0, Vec::<String>::new()), "{}", r.stdout);

    // Without retries the first failure is final.
    let q = Project::new(&format!("name: flaky\nnodes:\n  f:\n    shell: '{FLAKY}'\n"));
    let r = q.run(&["--cpus", "1"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("FAILED f: command exited with status 3"), "{}", r.stdout);
    assert!(!r.stdout.contains("RETRY"), "{}", r.stdout);
    // --retries gives every node without its own `retries:` that many.
    let q = Project::new(&format!("name: flaky\nnodes:\n  f:\n    shell: '{FLAKY}'\n"));
    let r = q.run(&["--cpus", "1", "--retries", "2"]);
    assert_eq!((r.code, r.ran()), (0, ids(&["f"])), "{}", r.stdout);
    assert!(r.stdout.contains("attempt 1 of 3"), "{}", r.stdout);
}

#[test]
fn retries_run_out_and_the_last_error_is_reported() {
    let p = Project::new("name: bad\nnodes:\n  b:\n    retries: 2\n    shell: 'echo try >> attempts; exit 4'\n");
    let r = p.run(&["--cpus", "1"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("attempt 2 of 3 failed"), "{}", r.stdout);
    assert!(r.stdout.contains("FAILED b: command exited with status 4"), "{}", r.stdout);
    assert!(r.stdout.contains("retried: b (3 attempts)"), "{}", r.stdout);
    assert!(p.path("cache/logs/b/b.attempt-2.log").exists());
}

fn alive(pid: &str) -> bool {
    std::path::Path::new(&format!("/proc/{}", pid.trim())).exists()
}

#[test]
fn a_shell_node_past_its_timeout_is_stopped_with_what_it_started() {
    // The command starts a child of its own and waits for it; both must go.
    let p = Project::new("name: slow\nnodes:\n  s:\n    timeout: 2s\n    shell: 'sleep 60 & echo $! > child; wait'\n");
    let t0 = Instant::now();
    let r = p.run(&["--cpus", "1"]);
    let took = t0.elapsed();
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("FAILED s: timed out after 2s"), "{}", r.stdout);
    assert!(took < Duration::from_secs(15), "stopped after {took:?}");
    let child = p.read("child");
    // SIGTERM reaches the whole process group; give the kernel a moment to reap.
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !alive(&child)
    });
    assert!(gone, "the command's child {} outlived the time limit", child.trim());
}

#[test]
fn a_built_in_task_past_its_timeout_is_cancelled_and_may_be_retried() {
    let p = Project::new("name: slow\nnodes:\n  t:\n    task: sleep\n    timeout: 1s\n    retries: 1\n    with: {seconds: 30}\n");
    let t0 = Instant::now();
    let r = p.run(&["--cpus", "1"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("RETRY t: attempt 1 of 2 failed: timed out after 1s"), "{}", r.stdout);
    assert!(r.stdout.contains("FAILED t: timed out after 1s"), "{}", r.stdout);
    // Two attempts of 1 s and a pause of 1 s between them.
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
}

#[test]
fn bad_retries_and_timeouts_are_refused_where_they_are_written() {
    let p = Project::new("name: x\nnodes:\n  a:\n    retries: -1\n    timeout: soon\n    shell: 'true'\n  b:\n    resources: {mem_gb: [4, big]}\n    shell: 'true'\n");
    let r = p.dag(&["check", "p.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("p.yaml:4:"), "{}", r.stderr);
    assert!(r.stderr.contains("`retries` must be a whole number from 0 to 100"), "{}", r.stderr);
    assert!(r.stderr.contains("p.yaml:5:") && r.stderr.contains("`timeout`: `soon` is not a duration"), "{}", r.stderr);
    assert!(r.stderr.contains("`mem_gb` must be a non-negative number, or a list of them"), "{}", r.stderr);
}
