//! `dag run --executor slurm` on a real single-node Slurm (`make test-slurm` starts one with
//! scripts/slurm-cluster.sh and runs these with `--ignored`; they need `SLURM_CONF` to name
//! its configuration). tests/slurm.rs keeps the stand-in tests for the failures a real
//! cluster cannot easily produce.

mod common;
use common::Project;

const FANOUT: &str = "name: fan\nparams: {alpha: 0.05}\nsets:\n  sample: {range: 20}\nnodes:\n  pre: {foreach: sample, shell: 'echo {sample} > {out}/value.txt'}\n  total: {needs: pre, shell: 'cat {inputs.pre} | sort -n > {out}/all.txt; echo alpha={params.alpha} >> {out}/all.txt'}\n";

fn cluster() {
    let conf = std::env::var("SLURM_CONF").expect("SLURM_CONF names the test cluster's slurm.conf (make test-slurm sets it)");
    let sinfo = std::process::Command::new("sinfo").args(["-h", "-o", "%T"]).output().expect("sinfo runs");
    let state = String::from_utf8_lossy(&sinfo.stdout);
    // `completing`: another test's jobs are ending (the tests share the cluster).
    assert!(["idle", "mix", "alloc", "completing"].iter().any(|s| state.contains(s)), "the cluster of {conf} is not up: {state}");
}

/// Every file under `results/`, path and bytes.
fn tree(p: &Project) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.push((path.strip_prefix(base).unwrap().display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&p.path("results"), &p.path("results"), &mut out);
    out.sort();
    out
}

#[test]
#[ignore = "needs a real Slurm: make test-slurm"]
fn the_fan_out_on_slurm_equals_the_local_run_byte_for_byte() {
    cluster();
    let (local, slurm) = (Project::new(FANOUT), Project::new(FANOUT));
    let r = local.run(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // sbatch behind a shim that counts the submissions.
    let real = String::from_utf8(std::process::Command::new("bash").args(["-c", "command -v sbatch"]).output().unwrap().stdout).unwrap();
    slurm.write("shim/sbatch", &format!("#!/bin/bash\necho \"$*\" >> {}\nexec {} \"$@\"\n", slurm.path("sbatch.log").display(), real.trim()));
    std::fs::set_permissions(slurm.path("shim/sbatch"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", slurm.path("shim").display(), std::env::var("PATH").unwrap_or_default());
    let r = common::output(slurm.cmd(&["run", "p.yaml", "--progress", "plain", "--gpus", "none", "--executor", "slurm", "--slurm-poll", "0.2"]).env("PATH", path).output().unwrap());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("as Slurm batch jobs"), "{}", r.stdout);
    // The 20 samples went as one job array, and the total as a job of its own.
    let calls = slurm.read("sbatch.log");
    assert_eq!(calls.lines().count(), 2, "{calls}");
    assert!(calls.lines().next().unwrap().contains("--array=0-19"), "{calls}");
    let (a, b) = (tree(&local), tree(&slurm));
    assert_eq!(a.len(), 21, "{:?}", a.iter().map(|x| &x.0).collect::<Vec<_>>());
    assert_eq!(a, b);
    // Cached on the second run: nothing goes to the cluster.
    let again = slurm.run(&["--executor", "slurm", "--slurm-poll", "0.2"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.ran().is_empty(), "{}", again.stdout);
}

#[test]
#[ignore = "needs a real Slurm: make test-slurm"]
fn a_node_that_asks_for_a_gpu_gets_one_of_the_clusters() {
    cluster();
    let p = Project::new("name: g\nnodes:\n  g: {resources: {gpu: 1}, shell: 'echo \"$CUDA_VISIBLE_DEVICES\" > {out}/visible'}\n");
    let r = p.run(&["--executor", "slurm", "--slurm-poll", "0.2", "--gpus", "auto"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let visible = p.read("results/g/visible");
    assert!(matches!(visible.trim(), "0" | "1"), "CUDA_VISIBLE_DEVICES was `{}`", visible.trim());
}

/// A small study through Slurm gives the local run's results byte for byte. Its training
/// nodes ask for a GPU with `cpu_fallback`: the cluster grants one of its (fake) GPUs, this
/// machine's libtorch cannot use it, and the job runs on the CPU and says so.
#[test]
#[ignore = "needs a real Slurm: make test-slurm"]
fn a_small_study_on_slurm_equals_the_local_run_and_falls_back_to_the_cpu() {
    cluster();
    let spec = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/study.yaml")).unwrap();
    let (local, slurm) = (Project::new(&spec), Project::new(&spec));
    let small = ["--set", "patients=60", "--set", "epochs=2", "--set", "bootstrap=30"];
    let r = local.run(&small);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let mut args = small.to_vec();
    args.extend(["--executor", "slurm", "--slurm-poll", "0.2", "--gpus", "auto"]);
    let r = slurm.run(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // The report names the run's own settings and time: compare what the study computed.
    for file in ["scores/scores.csv", "statistics/stats.json", "report/summary.json"] {
        let (a, b) = (local.read(&format!("results/{file}")), slurm.read(&format!("results/{file}")));
        if file.ends_with("summary.json") {
            let strip = |t: &str| -> serde_json::Value {
                let mut v: serde_json::Value = serde_json::from_str(t).unwrap();
                v.as_object_mut().unwrap().remove("provenance");
                v
            };
            assert_eq!(strip(&a), strip(&b), "{file}");
        } else {
            assert_eq!(a, b, "{file}");
        }
    }
    let log = std::fs::read_to_string(slurm.path("cache/logs/train/train[0].log")).unwrap();
    assert!(log.contains("cuda:0 was granted, but this machine's libtorch sees no CUDA device; running on the CPU (cpu_fallback)"), "{log}");
    let fold: serde_json::Value = serde_json::from_str(&slurm.read("results/train/0/summary.json")).unwrap();
    assert_eq!(fold["device"], "cpu");
}

#[test]
#[ignore = "needs a real Slurm: make test-slurm"]
fn on_slurm_a_flaky_job_is_retried_and_a_slow_one_stopped_at_its_timeout() {
    cluster();
    let p = Project::new("name: r\nnodes:\n  flaky: {retries: 1, resources: {mem_gb: [0.5, 1]}, shell: 'test -e tried || (touch tried; exit 3); echo ok > {out}/v'}\n  slow: {timeout: 3s, shell: 'sleep 60'}\n");
    let r = p.run(&["--executor", "slurm", "--slurm-poll", "0.2", "-k"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("RETRY flaky: attempt 1 of 2 failed"), "{}", r.stdout);
    assert_eq!(p.read("results/flaky/v"), "ok\n");
    // `dag exec` on the node stopped the command at the limit and said so.
    assert!(r.stdout.contains("FAILED slow: timed out after 3s"), "{}", r.stdout);
}

/// A job that Slurm itself ends (here it cancels itself) is reported with Slurm's state: on
/// this cluster without accounting, from the controller's memory of it.
#[test]
#[ignore = "needs a real Slurm: make test-slurm"]
fn a_job_slurm_ends_is_reported_with_slurms_own_state() {
    cluster();
    let p = Project::new("name: c\nnodes:\n  gone: {shell: 'scancel $SLURM_JOB_ID; sleep 30'}\n");
    let r = p.run(&["--executor", "slurm", "--slurm-poll", "0.2"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAILED gone: Slurm stopped job") && r.stdout.contains("on its node (state CANCELLED"), "{}", r.stdout);
}

/// Ctrl-C cancels what is queued and what runs: twelve instances of one node go as one array
/// on the cluster's 8 slots, so some run and some wait when it comes.
#[test]
#[ignore = "needs a real Slurm: make test-slurm"]
fn ctrl_c_cancels_queued_and_running_array_tasks_and_leaves_nothing_in_squeue() {
    use std::time::{Duration, Instant};
    cluster();
    let p = Project::new("name: i\nsets:\n  s: {range: 12}\nnodes:\n  held: {foreach: s, shell: 'echo $$ > {s}.pid; sleep 120'}\n");
    let child = p.cmd(&["run", "p.yaml", "--progress", "plain", "--gpus", "none", "--executor", "slurm", "--slurm-poll", "0.2"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let (r, stopping) = common::interrupt_once_started(&p, child, "0.pid");
    assert_eq!(r.code, 130, "{}{}", r.stdout, r.stderr);
    assert!(stopping < Duration::from_secs(15), "stopping took {stopping:?}");
    // scancel returns before the jobs are gone: give Slurm a moment (the test cluster's
    // KillWait is 5 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let q = std::process::Command::new("squeue").args(["-h", "-r", "-n", "dag:held", "-o", "%i %T"]).output().unwrap();
        let left = String::from_utf8_lossy(&q.stdout).into_owned();
        if left.trim().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "left in squeue after Ctrl-C: {left}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A job over Slurm's own time limit (`--time` is in whole minutes: one) is stopped by Slurm
/// and reported with its state.
#[test]
#[ignore = "needs a real Slurm: make test-slurm"]
fn a_job_over_slurms_time_limit_is_reported_as_timeout() {
    cluster();
    let p = Project::new("name: t\nnodes:\n  over: {shell: 'sleep 300'}\n");
    let r = p.run(&["--executor", "slurm", "--slurm-poll", "0.5", "--sbatch=--time=0:00:05"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAILED over: Slurm stopped job") && r.stdout.contains("(state TIMEOUT"), "{}", r.stdout);
}
