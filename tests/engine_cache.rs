//! Caching behaviour of `dag run`: hits, reruns of dependants only, early cutoff, results.

mod common;
use common::{ids, Project};

const FANOUT: &str = r#"
name: fanout
params:
  alpha: 0.05
sets:
  sample: {range: 6}
  fold: {range: 2}
nodes:
  pre:
    foreach: sample
    shell: echo {sample} > {out}/value.txt
  fold:
    foreach: fold
    needs: [pre]
    shell: cat {inputs.pre} | wc -l > {out}/count.txt; echo fold {fold} >> {out}/count.txt
  aggregate:
    needs: [fold]
    shell: cat {inputs.fold} > {out}/summary.txt; echo alpha={params.alpha} >> {out}/summary.txt
"#;

#[test]
fn first_run_misses_second_run_hits() {
    let p = Project::new(FANOUT);
    let first = p.run(&[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert_eq!(first.ran().len(), 9);
    assert_eq!(p.read("results/aggregate/summary.txt"), "6\nfold 0\n6\nfold 1\nalpha=0.05\n");
    assert_eq!(p.read("results/pre/3/value.txt"), "3\n");
    let second = p.run(&[]);
    assert_eq!(second.code, 0);
    assert!(second.ran().is_empty(), "nothing reruns: {:?}", second.ran());
    assert!(second.stdout.contains("0 ran, 9 cached"), "{}", second.stdout);
}

#[test]
fn changing_a_parameter_reruns_only_its_dependants() {
    let p = Project::new(FANOUT);
    assert_eq!(p.run(&[]).code, 0);
    let plan = p.plan_json(&["--set", "alpha=0.1"]);
    assert_eq!(plan["summary"], serde_json::json!({"cached": 8, "run": 1, "pending": 0}));
    let agg = plan["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "aggregate").unwrap();
    assert_eq!(agg["status"], "run");
    assert_eq!(agg["reason"], "parameter alpha changed (0.05 → 0.1)");
    let r = p.run(&["--set", "alpha=0.1"]);
    assert_eq!(r.ran(), ids(&["aggregate"]));
    assert!(p.read("results/aggregate/summary.txt").ends_with("alpha=0.1\n"));
    // Going back to the old value is a cache hit, not a rerun.
    assert!(p.run(&[]).ran().is_empty());
    assert!(p.read("results/aggregate/summary.txt").ends_with("alpha=0.05\n"));
}

#[test]
fn an_upstream_rerun_with_identical_output_leaves_dependants_cached() {
    let p = Project::new(
        r#"
name: cutoff
params: {salt: 1}
nodes:
  up:
    shell: "true {params.salt}; echo same > {out}/v.txt"
  down:
    needs: up
    shell: cat {inputs.up} > {out}/copy.txt; date +%s%N >> {out}/copy.txt
"#,
    );
    assert_eq!(p.run(&[]).ran(), ids(&["down", "up"]));
    let before = p.read("results/down/copy.txt");
    let plan = p.plan_json(&["--set", "salt=2"]);
    let statuses: Vec<(&str, &str)> =
        plan["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_str().unwrap(), n["status"].as_str().unwrap())).collect();
    assert_eq!(statuses, vec![("up", "run"), ("down", "pending")]);
    let r = p.run(&["--set", "salt=2"]);
    assert_eq!(r.ran(), ids(&["up"]), "down is cut off: {}", r.stdout);
    assert_eq!(p.read("results/down/copy.txt"), before);
}

#[test]
fn a_changed_input_file_reruns_its_node_and_names_the_file() {
    let p = Project::new(
        r#"
name: inputs
nodes:
  read:
    inputs: [data/in.txt]
    shell: wc -c < data/in.txt > {out}/n
"#,
    );
    p.write("data/in.txt", "hello");
    assert_eq!(p.run(&[]).ran(), ids(&["read"]));
    assert!(p.run(&[]).ran().is_empty());
    p.write("data/in.txt", "hello, world");
    let plan = p.plan_json(&[]);
    assert_eq!(plan["nodes"][0]["reason"], "input file data/in.txt changed");
    assert_eq!(p.run(&[]).ran(), ids(&["read"]));
    assert_eq!(p.read("results/read/n").trim(), "12");
}

#[test]
fn the_results_tree_can_be_deleted_and_comes_back() {
    let p = Project::new(FANOUT);
    assert_eq!(p.run(&[]).code, 0);
    std::fs::remove_dir_all(p.path("results")).unwrap();
    let r = p.run(&[]);
    assert!(r.ran().is_empty());
    assert_eq!(p.read("results/pre/5/value.txt"), "5\n");
}

#[test]
fn gc_keeps_what_recent_runs_used_and_removes_the_rest() {
    let p = Project::new(FANOUT);
    assert_eq!(p.run(&[]).code, 0);
    assert_eq!(p.run(&["--set", "alpha=0.2"]).code, 0);
    // Keep only the last run: the alpha=0.05 aggregate goes, everything else stays.
    let r = p.dag(&["gc", "--keep-runs", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("1 outputs removed"), "{}", r.stdout);
    // The first run's trace and record go with its outputs: `dag runs` lists the second only.
    assert!(r.stdout.contains("1 older runs' traces deleted"), "{}", r.stdout);
    let runs = p.dag(&["runs", "--json"]);
    let runs: Vec<serde_json::Value> = runs.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["record"]["ran"].as_u64(), Some(1), "the kept run is the one that ran the new aggregate: {runs:?}");
    assert_eq!(p.run(&["--set", "alpha=0.2"]).ran().len(), 0);
    assert_eq!(p.run(&[]).ran(), ids(&["aggregate"]));
}
