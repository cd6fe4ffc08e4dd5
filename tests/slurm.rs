//! `dag run --executor slurm` against a stand-in for Slurm: `sbatch`, `squeue`, `scancel`
//! and `sacct` scripts that run each batch job as a background process of this machine, the
//! way a cluster runs it on a node that shares the filesystem.

mod common;
use common::{ids, Project};
use std::os::unix::fs::PermissionsExt;

const SBATCH: &str = r#"#!/bin/bash
# Records its arguments; runs the script (the last argument; a copy, as Slurm keeps one) in
# the background in --chdir, writing --output, and leaves JOBID.exit when it ends. With
# --array=0-K it runs K+1 tasks, JOBID_0 … JOBID_K, each with its SLURM_ARRAY_TASK_ID. A job
# with --gres=gpu gets the GPU Slurm would choose for it in CUDA_VISIBLE_DEVICES (here 7).
echo "$*" >> "$FAKE_SLURM/sbatch.log"
case "$*" in *--partition=nope*) echo "sbatch: error: invalid partition specified: nope" >&2; exit 1 ;; esac
# A controller that never answers.
case "$*" in *--partition=hang*) echo $$ > hang.pid; exec sleep 60 ;; esac
id=$$
cp "${@: -1}" "$FAKE_SLURM/$id.sh"
script="$FAKE_SLURM/$id.sh"
array=
for a in "$@"; do
  case $a in --output=*) out=${a#--output=} ;; --chdir=*) dir=${a#--chdir=} ;; --gres=gpu*) export CUDA_VISIBLE_DEVICES=7 ;; --array=*) array=${a#--array=} ;; esac
done
# The nodes have 8 CPUs: a job asking for more is accepted and pends forever, as Slurm's does
# (reason PartitionConfig).
hopeless=0
case "$*" in *--cpus-per-task=9*|*--cpus-per-task=[1-9][0-9]*) hopeless=1 ;; esac
start() { # JOBID [TASK]
  if [ $hopeless = 1 ]; then
    echo PartitionConfig > "$FAKE_SLURM/$1.reason"
    setsid sleep 600 < /dev/null > /dev/null 2>&1 & echo $! > "$FAKE_SLURM/$1.pid"
    return
  fi
  (cd "$dir" || exit; SLURM_ARRAY_TASK_ID=$2 setsid bash -c '[ -n "$SLURM_ARRAY_TASK_ID" ] || unset SLURM_ARRAY_TASK_ID; bash "$1" > "$2" 2>&1; echo $? > "$3"' _ "$script" "$out" "$FAKE_SLURM/$1.exit" < /dev/null > /dev/null 2>&1 & echo $! > "$FAKE_SLURM/$1.pid")
}
if [ -n "$array" ]; then
  last=${array#0-}; last=${last%%\%*}
  for i in $(seq 0 "$last"); do start "${id}_$i" "$i"; done
else
  start "$id" ""
fi
echo "$id;fakecluster"
"#;

const SQUEUE: &str = r#"#!/bin/bash
# squeue -h -r -u UID -o "%i %r": the jobs (each array task on its own) that have not ended,
# one per line, with the reason a pending one waits (None for a running one). Each call is
# logged with its time.
echo "$(date +%s.%N) $*" >> "$FAKE_SLURM/squeue.log"
for f in "$FAKE_SLURM"/*.pid; do
  [ -e "$f" ] || continue
  id=$(basename "$f" .pid)
  [ -e "$FAKE_SLURM/$id.exit" ] || echo "$id $(cat "$FAKE_SLURM/$id.reason" 2>/dev/null || echo None)"
done
"#;

const SCANCEL: &str = r#"#!/bin/bash
kill -TERM -- -"$(cat "$FAKE_SLURM/$1.pid")"
echo "$1" >> "$FAKE_SLURM/scancel.log"
"#;

/// Accounting as `sacct -n -P -o JobID,State,ExitCode,TotalCPU,MaxRSS,NodeList -j ID` prints
/// it: the allocation, then the batch step that measured the work.
const SACCT: &str = "#!/bin/bash\nid=\"${@: -1}\"\necho \"$id|FAILED|9:0|00:00.500||standin-node\"\necho \"$id.batch|FAILED|9:0|00:01.250|204800K|standin-node\"\n";

/// A project whose runs find the stand-in Slurm first on their PATH.
fn cluster(pipeline: &str) -> Project {
    let p = Project::new(pipeline);
    for (name, text) in [("sbatch", SBATCH), ("squeue", SQUEUE), ("scancel", SCANCEL), ("sacct", SACCT)] {
        p.write(&format!("slurm/{name}"), text);
        std::fs::set_permissions(p.path(&format!("slurm/{name}")), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    p
}

/// `dag run p.yaml --executor slurm …` with the stand-in Slurm first on its PATH.
fn slurm_cmd(p: &Project, extra: &[&str]) -> std::process::Command {
    let path = format!("{}:{}", p.path("slurm").display(), std::env::var("PATH").unwrap_or_default());
    let mut args = vec!["run", "p.yaml", "--progress", "plain", "--executor", "slurm"];
    args.extend_from_slice(extra);
    let mut c = p.cmd(&args);
    c.env("PATH", path).env("FAKE_SLURM", p.path("slurm"));
    c
}

fn on_slurm(p: &Project, extra: &[&str]) -> common::Run {
    common::output(slurm_cmd(p, &[&["--slurm-poll", "0.2"], extra].concat()).output().unwrap())
}

/// Starts a run on the stand-in cluster whose output the test reads when it ends.
fn spawn_on_slurm(p: &Project, extra: &[&str]) -> std::process::Child {
    slurm_cmd(p, extra).stdout(std::process::Stdio::piped()).spawn().unwrap()
}

fn sbatch_calls(p: &Project) -> Vec<String> {
    std::fs::read_to_string(p.path("slurm/sbatch.log")).unwrap_or_default().lines().map(str::to_owned).collect()
}

const PIPELINE: &str = r#"
name: cluster
sets:
  s: {values: [a, b]}
nodes:
  per:
    foreach: s
    resources: {cpu: 2, mem_gb: 1.5}
    shell: echo {s} $DAG_CPUS > {out}/v
  say:
    task: write
    with: {file: msg.txt, text: "hello"}
  train:
    resources: {gpu: 1}
    shell: echo "[$CUDA_VISIBLE_DEVICES]" > {out}/gpu
  all:
    needs: [per, say]
    shell: cat {inputs.per} {inputs.say} > {out}/all
"#;

#[test]
fn a_pipeline_runs_as_slurm_jobs_and_stores_what_a_local_run_stores() {
    let p = cluster(PIPELINE);
    let r = on_slurm(&p, &["--sbatch=--partition=short"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("as Slurm batch jobs"), "{}", r.stdout);
    assert_eq!(r.ran(), ids(&["all", "per[a]", "per[b]", "say", "train"]));
    assert_eq!(p.read("results/all/all"), "a 2\nb 2\nhello");
    // Slurm, not dag, decides which GPU a job sees: CUDA_VISIBLE_DEVICES is left as it set it.
    assert_eq!(p.read("results/train/gpu"), "[7]\n");
    let calls = sbatch_calls(&p);
    assert_eq!(calls.len(), 4, "per[a] and per[b], ready together, go as one array: {calls:?}");
    let per: Vec<&String> = calls.iter().filter(|c| c.contains("--job-name=dag:per")).collect();
    assert_eq!(per.len(), 1);
    assert!(per.iter().all(|c| c.contains("--array=0-1") && c.contains("--cpus-per-task=2") && c.contains("--mem=1536M") && c.contains("--partition=short")), "{per:?}");
    let train = calls.iter().find(|c| c.contains("--job-name=dag:train")).unwrap();
    assert!(train.contains("--gres=gpu:1") && train.contains("--cpus-per-task=1") && !train.contains("--mem="), "{train}");

    // The same pipeline here stores the same bytes: the second run finds all of it cached.
    let r = p.run(&[]);
    assert_eq!((r.code, r.ran()), (0, Vec::<String>::new()), "{}", r.stdout);
    // And a change reruns only what depends on it, again on the cluster.
    std::fs::write(p.path("p.yaml"), PIPELINE.replace("text: \"hello\"", "text: \"bye\"")).unwrap();
    let r = on_slurm(&p, &[]);
    assert_eq!((r.code, r.ran()), (0, ids(&["all", "say"])), "{}{}", r.stdout, r.stderr);
    assert_eq!(sbatch_calls(&p).len(), 6);
}

#[test]
fn a_failing_job_reports_its_error_and_log_and_one_that_dies_reports_slurms_state() {
    let p = cluster(
        r#"
name: failing
nodes:
  fails:
    shell: echo trying; exit 3
  dies:
    shell: kill -9 $PPID
  fine:
    shell: echo ok > {out}/x
"#,
    );
    let r = on_slurm(&p, &["-k"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAILED fails: command exited with status 3 (Slurm job"), "{}", r.stdout);
    assert!(r.stdout.contains("logs/fails/fails.log"), "the log is named: {}", r.stdout);
    assert_eq!(p.read("cache/logs/fails/fails.log"), "trying\n");
    assert!(r.stdout.contains("FAILED dies: Slurm job") && r.stdout.contains("ended without a result (state FAILED, exit code 9:0)"), "{}", r.stdout);
    // The job that died could not report what it used: the trace has Slurm's accounting.
    let t = p.dag(&["trace", "--json"]);
    let rows: Vec<serde_json::Value> = t.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let dies = rows.iter().find(|r| r["id"] == "dies").unwrap_or_else(|| panic!("{}", t.stdout));
    assert!(dies["executor"].as_str().unwrap().starts_with("slurm:"), "{dies}");
    assert_eq!((dies["cpu_s"].as_f64(), dies["peak_rss_mb"].as_f64(), dies["host"].as_str()), (Some(1.25), Some(200.0), Some("standin-node")), "{dies}");
    assert_eq!(p.read("results/fine/x"), "ok\n");
    // Nothing of the failed jobs is left in the cache's staging area.
    let staged: Vec<_> = std::fs::read_dir(p.path("cache/tmp")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(staged.is_empty(), "{staged:?}");
}

#[test]
fn one_squeue_call_per_poll_asks_about_all_running_jobs() {
    let p = cluster("name: many\nsets:\n  s: {values: [a, b, c, d]}\nnodes:\n  wait:\n    foreach: s\n    shell: sleep 1.5; echo {s} > {out}/v\n");
    let r = on_slurm(&p, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.ran().len(), 4);
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    let log = p.read("slurm/squeue.log");
    let calls: Vec<(f64, &str)> = log.lines().map(|l| l.split_once(' ').map(|(t, args)| (t.parse().unwrap(), args)).unwrap()).collect();
    assert!(calls.len() >= 3, "the four jobs ran for 1.5 s with --slurm-poll 0.2: {log}");
    assert!(calls.iter().all(|(_, args)| *args == format!("-h -r -u {uid} -o %i %r")), "{log}");
    // Four jobs asked about one by one would call squeue four times within milliseconds; one
    // call for all of them comes once per 0.2 s poll.
    let closest = calls.windows(2).map(|w| w[1].0 - w[0].0).fold(f64::INFINITY, f64::min);
    assert!(closest > 0.1, "two squeue calls {closest:.3} s apart: {log}");
}

#[test]
fn a_job_that_sbatch_refuses_fails_with_sbatchs_reason() {
    let p = cluster("name: refused\nnodes:\n  a: {shell: 'echo hi > {out}/x'}\n");
    let r = on_slurm(&p, &["--sbatch=--partition=nope"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAILED a: sbatch refused the job: sbatch: error: invalid partition specified: nope"), "{}", r.stdout);
}

#[test]
fn gpu_ordinals_are_refused_on_slurm_which_chooses_the_gpus() {
    let p = cluster("name: gpus\nnodes:\n  a: {shell: 'echo hi > {out}/x'}\n");
    let r = on_slurm(&p, &["--gpus", "0,1"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--gpus 0,1: with --executor slurm, Slurm chooses each job's GPUs"), "{}", r.stderr);
    assert!(sbatch_calls(&p).is_empty());
}

#[test]
fn exec_refuses_a_file_that_is_not_a_job() {
    let p = Project::new("name: x\nnodes:\n  a: {shell: 'true'}\n");
    p.write("job.json", "{\"id\": 1}");
    let r = p.dag(&["exec", "job.json"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("job.json: not a dag job file"), "{}", r.stderr);
}

#[test]
fn ctrl_c_cancels_the_slurm_jobs_and_keeps_what_finished() {
    use std::time::{Duration, Instant};
    let p = cluster("name: interrupt\nnodes:\n  quick:\n    shell: echo done > {out}/v\n  slow:\n    needs: quick\n    shell: echo $$ > pid; sleep 60; echo never > {out}/v\n");
    let child = spawn_on_slurm(&p, &["--slurm-poll", "0.2"]);
    let (r, stopping) = common::interrupt_once_started(&p, child, "pid");
    assert!(stopping < Duration::from_secs(10), "stopping took {stopping:?}");
    assert_eq!(r.code, 130, "{}", r.stdout);
    assert!(r.stdout.contains("Slurm job") && r.stdout.contains("cancelled"), "{}", r.stdout);
    assert_eq!(p.read("slurm/scancel.log").lines().count(), 1);
    let pid: i32 = p.read("pid").trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    // SAFETY: signal 0 only asks whether the process still exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(Instant::now() < deadline, "the job's command was left running");
        std::thread::sleep(Duration::from_millis(50));
    }
    let plan = p.plan_json(&[]);
    assert_eq!(plan["nodes"][0]["status"], "cached", "quick was kept: {plan}");
    assert_eq!(plan["nodes"][1]["status"], "run", "{plan}");
}

#[test]
fn ctrl_c_is_not_held_up_by_an_sbatch_that_hangs() {
    let p = cluster("name: hang\nnodes:\n  a: {shell: 'echo hi > {out}/x'}\n");
    let child = spawn_on_slurm(&p, &["--sbatch=--partition=hang"]);
    let (r, stopping) = common::interrupt_once_started(&p, child, "hang.pid");
    // The grace for sbatch to answer is 5 s; without the race, this waited for sbatch's 60 s.
    assert!(stopping < std::time::Duration::from_secs(12), "stopping took {stopping:?}");
    assert_eq!(r.code, 130, "{}", r.stdout);
    assert!(r.stdout.contains("interrupted while sbatch was submitting the job"), "{}", r.stdout);
    // Killed: gone, or a zombie until whoever inherited it reaps it.
    let stat = format!("/proc/{}/stat", p.read("hang.pid").trim());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::read_to_string(&stat).is_ok_and(|s| s.rsplit(')').next().and_then(|r| r.split_whitespace().next()) != Some("Z")) {
        assert!(std::time::Instant::now() < deadline, "the hung sbatch was left running");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A node asking for more CPUs than any node has pends forever on Slurm (PartitionConfig):
/// the run says so, cancels the job, and does not wait.
#[test]
fn a_job_slurm_will_never_start_fails_with_the_reason_and_is_cancelled() {
    let p = cluster("name: big\nnodes:\n  a:\n    resources: {cpu: 16}\n    shell: 'echo hi > {out}/x'\n");
    let started = std::time::Instant::now();
    let r = on_slurm(&p, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(r.stdout.contains("will never start") && r.stdout.contains("PartitionConfig") && r.stdout.contains("16 CPUs"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(p.path("slurm/scancel.log")).unwrap_or_default().lines().count(), 1, "the job is cancelled");
}

#[test]
fn a_retry_on_slurm_asks_for_the_next_memory_and_a_timeout_becomes_time() {
    // Fails on its first attempt; `mem_gb: [1, 2]` asks for more on the second.
    let p = cluster("name: mem\nnodes:\n  m:\n    retries: 1\n    timeout: 90s\n    resources: {mem_gb: [1, 2]}\n    shell: 'test -e tried || (touch tried; exit 3); echo ok > {out}/v'\n");
    let r = on_slurm(&p, &[]);
    assert_eq!((r.code, r.ran()), (0, ids(&["m"])), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("RETRY m: attempt 1 of 2 failed"), "{}", r.stdout);
    let calls = sbatch_calls(&p);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].contains("--mem=1024M") && calls[1].contains("--mem=2048M"), "{calls:?}");
    // 90 s: two whole minutes, and a minute more for dag exec to report the limit itself.
    assert!(calls.iter().all(|c| c.contains("--time=3")), "{calls:?}");
    assert_eq!(p.read("results/m/v"), "ok\n");
    // The trace has both attempts, each with its Slurm job and what `dag exec` measured there.
    let t = p.dag(&["trace", "--json"]);
    let rows: Vec<serde_json::Value> = t.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.iter().map(|r| r["status"].as_str().unwrap()).collect::<Vec<_>>(), ["failed", "ran"], "{}", t.stdout);
    for r in &rows {
        assert!(r["executor"].as_str().unwrap().starts_with("slurm:") && r["cpu_s"].is_number() && r["host"].is_string(), "{r}");
    }
}

/// Instances of a node that are ready together go to Slurm as job arrays of at most
/// --slurm-array-max tasks; a task that fails is retried on its own, as a single job's would.
#[test]
fn ready_instances_go_as_bounded_job_arrays_and_a_failed_task_is_retried_alone() {
    let p = cluster("name: arrays\nsets:\n  s: {range: 30}\nnodes:\n  pre:\n    foreach: s\n    retries: 1\n    shell: 'test {s} != 13 || test -e tried || (touch tried; exit 3) && echo {s} > {out}/v'\n  total:\n    needs: pre\n    shell: 'cat {inputs.pre} | sort -n > {out}/all'\n");
    let r = on_slurm(&p, &["--slurm-array-max", "8"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.ran().len(), 31);
    assert_eq!(p.read("results/total/all"), (0..30).map(|i| format!("{i}\n")).collect::<String>());
    assert!(r.stdout.contains("RETRY pre[13]: attempt 1 of 2 failed"), "{}", r.stdout);
    let calls = sbatch_calls(&p);
    // The 30, ready at once, in arrays of 8, 8, 8 and 6; then pre[13]'s retry and total, alone.
    let mut sizes: Vec<usize> = calls.iter().filter_map(|c| c.split_whitespace().find_map(|a| a.strip_prefix("--array=0-"))).map(|k| k.parse::<usize>().unwrap() + 1).collect();
    sizes.sort();
    assert_eq!(sizes, [6, 8, 8, 8], "{calls:?}");
    assert!(calls.iter().filter(|c| c.contains("--array=")).all(|c| c.contains("--job-name=dag:pre ")), "{calls:?}");
    assert_eq!(calls.len(), 6, "{calls:?}");
    assert!(calls.iter().any(|c| c.contains("--job-name=dag:pre[13] ") && !c.contains("--array")), "{calls:?}");
    // The trace names each attempt's Slurm job: an array task, then the retry's own job.
    let t = p.dag(&["trace", "--json"]);
    let rows: Vec<serde_json::Value> = t.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let executors: Vec<&str> = rows.iter().filter(|r| r["id"] == "pre[13]").map(|r| r["executor"].as_str().unwrap()).collect();
    assert_eq!(executors.len(), 2, "{}", t.stdout);
    assert!(executors[0].starts_with("slurm:") && executors[0].contains('_') && !executors[1].contains('_'), "{executors:?}");
    // Early cutoff and the cache are as for single jobs: nothing runs again.
    let again = on_slurm(&p, &["--slurm-array-max", "8"]);
    assert_eq!((again.code, again.ran().len()), (0, 0), "{}", again.stdout);
}
