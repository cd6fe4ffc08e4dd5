//! Running: failures, keep-going, GPU pools, quoting, dynamic sets, crashes, concurrency.

mod common;
use common::{ids, Project};
use std::time::{Duration, Instant};

#[test]
fn a_partial_gather_runs_without_failed_instances_and_reruns_once_they_succeed() {
    // `b` fails until the file `fixed` exists (read, but not declared: it is the "fix").
    let p = Project::new(
        r#"
name: partial
sets:
  s: {values: [a, b, c]}
nodes:
  per:
    foreach: s
    shell: test {s} != b || test -e fixed; echo {s} > {out}/v
  all:
    needs: per
    partial: per
    shell: cat {inputs.per} > {out}/all
  strict:
    needs: per
    shell: cat {inputs.per} > {out}/all
"#,
    );
    let r = p.run(&["-k", "--cpus", "1"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.ran(), ids(&["all", "per[a]", "per[c]"]));
    assert!(r.stdout.contains("all runs without per[b], which did not succeed (`partial`)"), "{}", r.stdout);
    assert!(r.stdout.contains("1 not run"), "strict waits for every instance: {}", r.stdout);
    assert_eq!(p.read("results/all/all"), "a\nc\n");
    // Without --keep-going the run stops at the failure, partial or not.
    assert!(!Project::new(&std::fs::read_to_string(p.path("p.yaml")).unwrap()).run(&["--cpus", "1"]).ran().contains(&"all".to_string()));
    // Fixed: only the failed instance and the gathers rerun.
    p.write("fixed", "");
    let r = p.run(&["-k", "--cpus", "1"]);
    assert_eq!((r.code, r.ran()), (0, ids(&["all", "per[b]", "strict"])), "{}", r.stdout);
    assert_eq!(p.read("results/all/all"), "a\nb\nc\n");
}

#[test]
fn partial_must_name_a_need() {
    let p = Project::new("name: x\nnodes:\n  a: {shell: 'true'}\n  b: {needs: a, partial: [c], shell: 'true'}\n");
    let r = p.dag(&["check", "p.yaml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("node `b`: `partial` names `c`, which is not among its `needs`"), "{}", r.stderr);
}

#[test]
fn keep_going_finishes_independent_branches_and_names_the_failure() {
    let pipeline = r#"
name: kg
sets:
  x: {values: [1, 2, 3]}
nodes:
  step:
    foreach: x
    shell: echo start {x}; test {x} != 2; echo {x} > {out}/v
  after:
    foreach: x
    needs: step
    shell: cat {inputs.step} > {out}/v
"#;
    let p = Project::new(pipeline);
    let r = p.run(&["-k", "--cpus", "1"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.ran(), ids(&["after[1]", "after[3]", "step[1]", "step[3]"]));
    assert!(r.stdout.contains("FAILED step[2]: command exited with status 1"), "{}", r.stdout);
    let log = p.path("cache/logs/step/step[2].log");
    assert!(r.stdout.contains(&format!("log: {}", "cache/logs/step/step[2].log")), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(log).unwrap(), "start 2\n");
    assert!(r.stdout.contains("1 not run"), "after[2] is skipped: {}", r.stdout);

    // Without --keep-going the run stops after the first failure.
    let q = Project::new(pipeline);
    let r = q.run(&["--cpus", "1"]);
    assert_eq!(r.code, 1);
    assert!(!r.ran().contains(&"step[3]".to_string()), "{:?}", r.ran());
    // Fixing nothing and rerunning keeps what succeeded.
    let again = q.run(&["-k", "--cpus", "1"]);
    assert!(!again.ran().contains(&"step[1]".to_string()));
}

#[test]
fn gpu_ordinals_reach_shell_nodes_without_a_gpu_on_the_machine() {
    let p = Project::new(
        r#"
name: gpu
sets:
  job: {range: 6}
nodes:
  train:
    foreach: job
    resources: {gpu: 1}
    shell: |
      echo "$CUDA_VISIBLE_DEVICES" > {out}/gpu
      date +%s%N > {out}/start; sleep 0.3; date +%s%N > {out}/end
"#,
    );
    let r = p.run(&["--gpus", "0,1", "--cpus", "6"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let mut spans = Vec::new();
    for j in 0..6 {
        let gpu = p.read(&format!("results/train/{j}/gpu"));
        assert!(gpu == "0\n" || gpu == "1\n", "one ordinal each: {gpu:?}");
        let t = |f: &str| p.read(&format!("results/train/{j}/{f}")).trim().parse::<u128>().unwrap();
        spans.push((t("start"), t("end"), gpu));
    }
    // Never more than two at once, and never two on the same device at once: look at the
    // moment each job starts.
    for a in &spans {
        let active: Vec<_> = spans.iter().filter(|b| b.0 <= a.0 && a.0 < b.1).collect();
        assert!(active.len() <= 2, "{spans:?}");
        if let [x, y] = active[..] {
            assert_ne!(x.2, y.2, "two jobs on one GPU: {spans:?}");
        }
    }
}

#[test]
fn a_gpu_node_fails_clearly_without_gpus_unless_it_may_fall_back() {
    let p = Project::new(
        r#"
name: gpu
nodes:
  strict:
    resources: {gpu: 1}
    shell: echo ok > {out}/x
  lenient:
    resources: {gpu: 1, cpu_fallback: true}
    shell: echo "[$CUDA_VISIBLE_DEVICES]" > {out}/x
"#,
    );
    let r = p.run(&["-k"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("FAILED strict: needs 1 GPU but the run has 0"), "{}", r.stdout);
    assert_eq!(p.read("results/lenient/x"), "[]\n");
}

#[test]
fn substituted_values_are_shell_quoted() {
    let p = Project::new(
        r#"
name: quoting
params:
  msg: "a; touch pwned_param"
sets:
  v: {values: ["$(touch pwned)", "`touch pwned2`", "it's", "a b"]}
nodes:
  echo:
    foreach: v
    shell: printf '%s|%s' {v} {params.msg} > {out}/v
"#,
    );
    let r = p.run(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for f in ["pwned", "pwned2", "pwned_param"] {
        assert!(!p.path(f).exists(), "{f} was created: a value was executed");
    }
    assert_eq!(p.read("results/echo/$(touch pwned)/v"), "$(touch pwned)|a; touch pwned_param");
    assert_eq!(p.read("results/echo/it's/v"), "it's|a; touch pwned_param");
    assert_eq!(p.read("results/echo/a b/v"), "a b|a; touch pwned_param");
}

#[test]
fn a_set_produced_by_a_node_expands_its_dependants_at_run_time() {
    let p = Project::new(
        r#"
name: dynamic
sets:
  patient: {from: cohort, file: keep.txt}
nodes:
  cohort:
    inputs: [all.txt]
    shell: grep -v excluded all.txt > {out}/keep.txt
  prep:
    foreach: patient
    shell: echo prepared {patient} > {out}/p
  study:
    needs: prep
    shell: cat {inputs.prep} > {out}/all
"#,
    );
    p.write("all.txt", "A1\nB2 excluded\nC3\n");
    let plan = p.plan_json(&[]);
    let ids_statuses: Vec<(String, String)> = plan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap().into(), n["status"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        ids_statuses,
        vec![("cohort".into(), "run".into()), ("prep[*]".into(), "pending".into()), ("study".into(), "pending".into())]
    );
    let r = p.run(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.ran(), ids(&["cohort", "prep[A1]", "prep[C3]", "study"]));
    assert_eq!(p.read("results/study/all"), "prepared A1\nprepared C3\n");
    let plan = p.plan_json(&[]);
    assert_eq!(plan["summary"], serde_json::json!({"cached": 4, "run": 0, "pending": 0}));
    // A new patient in the input: the cohort reruns, only the new patient is prepared.
    p.write("all.txt", "A1\nB2 excluded\nC3\nD4\n");
    let r = p.run(&[]);
    assert_eq!(r.ran(), ids(&["cohort", "prep[D4]", "study"]));
}

#[test]
fn a_corrupted_output_is_reported_evicted_and_recomputed() {
    let p = Project::new(
        r#"
name: corrupt
params: {n: 1}
sets:
  s: {range: 2}
nodes:
  make:
    foreach: s
    shell: echo good {s} > {out}/f
  use:
    needs: make
    shell: "cat {inputs.make} > {out}/all; echo {params.n} >> {out}/all"
"#,
    );
    assert_eq!(p.run(&[]).code, 0);
    let f = std::fs::canonicalize(p.path("results/make/1/f")).unwrap();
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&f, "evil 1\n").unwrap();
    let r = p.run(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("is corrupt") && r.stdout.contains("evicted"), "{}", r.stdout);
    assert_eq!(r.ran(), ids(&["make[1]"]));
    assert_eq!(p.read("results/make/1/f"), "good 1\n");
    assert_eq!(p.read("results/use/all"), "good 0\ngood 1\n1\n");

    // Silent corruption (same size, same time stamp) is caught when a consumer reads it.
    let f = std::fs::canonicalize(p.path("results/make/0/f")).unwrap();
    let stamp = std::fs::metadata(&f).unwrap().modified().unwrap();
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&f, "bad! 0\n").unwrap();
    std::fs::File::options().write(true).open(&f).unwrap().set_modified(stamp).unwrap();
    let r = p.run(&["--set", "n=2"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.ran(), ids(&["make[0]", "use"]), "{}", r.stdout);
    assert_eq!(p.read("results/use/all"), "good 0\ngood 1\n2\n");
}

#[test]
fn kill_9_mid_run_loses_nothing_stored_and_the_next_run_resumes() {
    let p = Project::new(
        r#"
name: slow
sets:
  i: {range: 12}
nodes:
  work:
    foreach: i
    shell: sleep 0.25; echo {i} > {out}/v
  total:
    needs: work
    shell: cat {inputs.work} | wc -l > {out}/n
"#,
    );
    let mut child = p.cmd(&["run", "p.yaml", "--progress", "plain", "--cpus", "2"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    // Kill once two instances are reported stored, however fast or slow this machine is.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let mut first = String::new();
    while first.matches("] done ").count() < 2 {
        let line = lines.next().expect("the run ended before two instances were done").unwrap();
        first.push_str(&line);
        first.push('\n');
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for line in lines.map_while(Result::ok) {
        first.push_str(&line);
        first.push('\n');
    }
    let first = common::Run { code: -1, stdout: first, stderr: String::new() };
    let done_before = first.ran().len();
    assert!((2..12).contains(&done_before), "killed mid-run: {}", first.stdout);
    let second = p.run(&["--cpus", "2"]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert_eq!(second.ran().len(), 13 - done_before, "{}", second.stdout);
    assert_eq!(p.read("results/total/n").trim(), "12");
    assert!(std::fs::read_dir(p.path("cache/tmp")).unwrap().next().is_none(), "staging is cleaned");
}

#[test]
fn concurrent_runs_on_one_cache_queue_and_do_not_corrupt_it() {
    let p = Project::new(
        r#"
name: busy
sets:
  i: {range: 8}
nodes:
  work:
    foreach: i
    shell: sleep 0.1; echo {i} > {out}/v
"#,
    );
    let start = Instant::now();
    let mut a = p.cmd(&["run", "p.yaml", "--progress", "plain"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    // Its first line is printed once it holds the cache's lock.
    let mut a_out = std::io::BufReader::new(a.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut a_out, &mut line).unwrap();
    assert!(line.starts_with("busy:"), "{line}");
    let refused = p.run(&["--no-wait"]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.stderr.contains("in use by another dag run"), "{}", refused.stderr);
    let b = p.cmd(&["run", "p.yaml", "--progress", "plain"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut a_out, &mut rest).unwrap();
    let a_status = a.wait().unwrap();
    let a = common::Run { code: a_status.code().unwrap_or(-1), stdout: line + &rest, stderr: String::new() };
    let b = common::output(b.wait_with_output().unwrap());
    assert_eq!((a.code, b.code), (0, 0), "{}{}", a.stderr, b.stderr);
    assert!(b.stderr.contains("waiting for the dag run"), "{}", b.stderr);
    assert_eq!(a.ran().len() + b.ran().len(), 8, "each instance ran once: {a:?} {b:?}", a = a.ran(), b = b.ran());
    assert!(start.elapsed() < Duration::from_secs(60));
    for i in 0..8 {
        assert_eq!(p.read(&format!("results/work/{i}/v")), format!("{i}\n"));
    }
}

#[test]
fn built_in_tasks_run_in_process_with_typed_parameters() {
    let p = Project::new(
        r#"
name: tasks
params: {greeting: hello}
sets:
  who: {values: [ana, bo]}
nodes:
  say:
    foreach: who
    task: write
    with: {file: msg.txt, text: "{params.greeting} {who}\n"}
  all:
    needs: say
    shell: cat {inputs.say} > {out}/all
"#,
    );
    let r = p.run(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(p.read("results/all/all"), "hello ana\nhello bo\n");
    assert_eq!(p.run(&["--set", "greeting=hi"]).ran(), ids(&["all", "say[ana]", "say[bo]"]));
}

#[test]
fn ctrl_c_stops_running_commands_and_keeps_what_finished() {
    let p = Project::new(
        r#"
name: interrupt
nodes:
  quick:
    shell: echo done > {out}/v
  slow:
    needs: quick
    shell: echo $$ > pid; sleep 60; echo never > {out}/v
"#,
    );
    let child = p.cmd(&["run", "p.yaml", "--progress", "plain"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let (r, stopping) = common::interrupt_once_started(&p, child, "pid");
    assert!(stopping < Duration::from_secs(10), "stopping took {stopping:?}");
    assert_eq!(r.code, 130, "{}", r.stdout);
    assert!(r.stdout.contains("interrupted"), "{}", r.stdout);
    let pid: i32 = p.read("pid").trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signal 0 only asks whether the process still exists.
    assert_ne!(unsafe { libc::kill(pid, 0) }, 0, "the command's shell was left running");
    let plan = p.plan_json(&[]);
    assert_eq!(plan["nodes"][0]["status"], "cached", "quick was kept: {plan}");
    assert_eq!(plan["nodes"][1]["status"], "run", "{plan}");
}

#[test]
fn log_json_records_every_event() {
    let p = Project::new("name: logs\nnodes:\n  a:\n    shell: echo hi > {out}/x\n");
    let r = p.run(&["--log-json", "log.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<serde_json::Value> = p.read("log.jsonl").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["fields"]["message"].as_str()).collect();
    assert!(messages.contains(&"run started") && messages.contains(&"finished") && messages.contains(&"run finished"), "{messages:?}");
    let finished = lines.iter().find(|l| l["fields"]["message"] == "finished").unwrap();
    assert_eq!(finished["fields"]["id"], "a");
}

#[test]
fn gpus_are_counted_only_when_an_instance_needs_one() {
    let p = Project::new("name: lazy\nnodes:\n  train:\n    resources: {gpu: 1, cpu_fallback: true}\n    shell: echo ok > {out}/x\n");
    // The first run needs a GPU for `train` and asks libtorch (dag-torch devices).
    let r = p.run(&["--gpus", "auto", "-v"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("CUDA device(s)"), "{}", r.stderr);
    // A no-op run starts nothing, so it never pays for asking.
    let r = p.run(&["--gpus", "auto", "-v"]);
    assert_eq!((r.code, r.ran()), (0, Vec::<String>::new()), "{}", r.stdout);
    assert!(r.stdout.contains("GPUs counted when a node needs one"), "{}", r.stdout);
    assert!(!r.stderr.contains("CUDA device(s)"), "{}", r.stderr);
}

/// A set read from a node's output that lists a value twice: `run` fails the producer, and
/// `plan` (after the producer is cached) says the same instead of waiting for the set.
#[test]
fn plan_and_run_agree_on_a_bad_set_file() {
    let p = Project::new(
        "name: sets\nsets:\n  s: {from: make, file: values.txt}\nnodes:\n  make: {shell: 'printf \"a\\nb\\na\\n\" > {out}/values.txt'}\n  per: {foreach: s, shell: 'echo {s} > {out}/v'}\n",
    );
    let r = p.run(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("set `s` lists `a` twice"), "{}", r.stdout);
    let plan = p.dag(&["plan", "p.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("set `s` lists `a` twice (`run` fails make on it)"), "{}", plan.stdout);
}
