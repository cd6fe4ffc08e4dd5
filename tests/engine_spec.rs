//! Spec errors (file, line, column, all at once, with suggestions) and the explaining
//! commands: plan, why, graph.

mod common;
use common::Project;

fn errors(pipeline: &str) -> String {
    let p = Project::new(pipeline);
    let r = p.dag(&["check", "p.yaml"]);
    assert_eq!(r.code, 2, "a bad spec exits with 2: {}", r.stdout);
    r.stderr
}

#[test]
fn every_problem_is_reported_at_once_with_line_and_column() {
    let e = errors(
        r#"name: bad
params:
  alpha: 0.05
sets:
  sample: {range: 3}
nodes:
  pre:
    foreach: sampel
    shel: echo {sample}
  fold:
    needs: [pree]
    shell: cat {inputs.pre} {params.alpah} ${HOME}
  agg:
    needs: fold
    task: noopp
"#,
    );
    let expected = [
        "p.yaml:9:5: error: unknown key `shel` in node `pre`",
        "= help: did you mean `shell`?",
        "p.yaml:7:3: error: node `pre` has neither `shell` nor `task`",
        "p.yaml:15:11: error: unknown task `noopp`",
        "= help: did you mean `noop`?",
        "p.yaml:8:14: error: node `pre` iterates over unknown set `sampel`",
        "= help: did you mean `sample`?",
        "p.yaml:11:13: error: node `fold` needs unknown node `pree`",
        "= help: did you mean `pre`?",
        "p.yaml:12:16: error: node `fold` uses {inputs.pre} but does not need `pre`",
        "p.yaml:12:29: error: node `fold` uses unknown parameter `alpah`",
        "= help: did you mean `alpha`?",
        "p.yaml:12:45: error: node `fold`: {HOME} is not a placeholder",
        "= help: for the shell variable write ${{HOME}}",
        "8 errors in the spec",
    ];
    for line in expected {
        assert!(e.contains(line), "missing `{line}` in:\n{e}");
    }
    assert!(e.contains(" 12 |     shell: cat {inputs.pre} {params.alpah} ${HOME}\n    |                ^"), "{e}");
}

#[test]
fn cycles_are_named() {
    let e = errors("name: c\nnodes:\n  a:\n    needs: c\n    shell: 'true'\n  b:\n    needs: a\n    shell: 'true'\n  c:\n    needs: b\n    shell: 'true'\n");
    assert!(e.contains("p.yaml:3:3: error: the nodes form a cycle: a → b → c → a"), "{e}");
}

#[test]
fn yaml_syntax_errors_have_a_position() {
    let e = errors("name: x\nnodes:\n  a: [1, 2\n  b: 3\n");
    assert!(e.starts_with("p.yaml:"), "{e}");
    assert!(e.contains("p.yaml:4:4: error: invalid YAML: illegal placement"), "{e}");
}

#[test]
fn wrong_types_and_task_parameters_are_reported() {
    let e = errors(
        r#"name: types
sets:
  s: {range: -1}
  t: {csv: missing.csv}
nodes:
  a:
    resources: {cpu: 0, gpus: 1}
    shell: [echo]
  b:
    task: write
    with: {file: x.txt, txt: hi}
  c:
    task: survival_stats
    with: {table: x.csv, time: t, event: e, score: s, covariats: [a]}
  d:
    task: survival_stats
    with:
      table: x.csv
      covariates: [hr, 2]
  e:
    task: survival_stats
    with: {table: x.csv, input: a, time: t, event: e, score: s, horizons: ["1095", 3y]}
"#,
    );
    for line in [
        "p.yaml:3:14: error: `range` of set `s` must be a non-negative integer",
        "p.yaml:4:6: error: set `t` reads a csv file and needs a `column`",
        "p.yaml:7:25: error: unknown key `gpus` in `resources`",
        "= help: did you mean `gpu`?",
        "p.yaml:7:22: error: `cpu` must be an integer ≥ 1",
        "p.yaml:8:12: error: `shell` must be a string, found a list",
        "p.yaml:11:25: error: node `b`: parameters of task `write`: unknown field `txt`",
        // A refused parameter is pointed at where it is written, nested ones included.
        "p.yaml:14:55: error: node `c`: parameters of task `survival_stats`: unknown field `covariats`",
        "p.yaml:19:24: error: node `d`: parameters of task `survival_stats`: `covariates.1`: invalid type: integer `2`",
        // Values the task refuses, every one of them.
        "p.yaml:20:3: error: node `e`: parameters of task `survival_stats`: give either `table` (a CSV file) or `input` (a needed node) and `file`",
        "p.yaml:22:84: error: node `e`: parameters of task `survival_stats`: `horizons.1`: `3y` is not a positive number",
    ] {
        assert!(e.contains(line), "missing `{line}` in:\n{e}");
    }
}

#[test]
fn unknown_top_level_keys_and_set_overrides_are_rejected() {
    let p = Project::new("name: x\nparms: {a: 1}\nparams: {alpha: 1}\nnodes:\n  a:\n    shell: echo {params.alpha} > {out}/x\n");
    let r = p.dag(&["check", "p.yaml", "--set", "alpa=2"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("p.yaml:2:1: error: unknown key `parms` in the pipeline"), "{}", r.stderr);
    assert!(r.stderr.contains("--set alpa: no such parameter") && r.stderr.contains("did you mean `alpha`?"), "{}", r.stderr);
}

#[test]
fn missing_input_files_are_named_with_their_node() {
    let p = Project::new("name: x\nsets:\n  s: {values: [a, b]}\nnodes:\n  read:\n    foreach: s\n    inputs: [\"data/{s}.txt\"]\n    shell: cat data/{s}.txt > {out}/x\n");
    p.write("data/a.txt", "ok");
    let r = p.run(&[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("p.yaml:5:3: error: read[b]: input file data/b.txt does not exist"), "{}", r.stderr);
    assert!(!r.stderr.contains("data/a.txt"), "{}", r.stderr);
}

#[test]
fn csv_and_glob_sets() {
    let p = Project::new(
        "name: x\nsets:\n  id: {csv: ids.csv, column: id}\n  f: {glob: 'in/*.txt'}\nnodes:\n  a:\n    foreach: id\n    shell: echo {id} > {out}/x\n  b:\n    foreach: f\n    shell: cp {f} {out}/\n",
    );
    p.write("ids.csv", "id,age\nDUKE_001,50\nNACT_01,61\n");
    p.write("in/one.txt", "1");
    p.write("in/two.txt", "2");
    let plan = p.plan_json(&[]);
    let ids: Vec<&str> = plan["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a[DUKE_001]", "a[NACT_01]", "b[in/one.txt]", "b[in/two.txt]"]);
    assert_eq!(p.run(&[]).code, 0);
    assert_eq!(p.read("results/b/in_two.txt/two.txt"), "2");
}

#[test]
fn plan_why_and_graph_explain_the_pipeline() {
    let p = Project::new(
        "name: ex\nparams: {k: 3}\nsets:\n  s: {range: 2}\nnodes:\n  a:\n    foreach: s\n    shell: echo {s} {params.k} > {out}/x\n  b:\n    needs: a\n    shell: cat {inputs.a} > {out}/y\n",
    );
    let plan = p.plan_json(&[]);
    assert_eq!(plan["nodes"][0], serde_json::json!({"id": "a[0]", "node": "a", "status": "run", "reason": "no cache entry (never run)"}));
    assert_eq!(plan["nodes"][2]["status"], "pending");
    assert_eq!(p.run(&[]).code, 0);
    let why = p.dag(&["why", "p.yaml", "a[1]", "--set", "k=4"]);
    assert_eq!(why.code, 0, "{}", why.stderr);
    assert!(why.stdout.starts_with("a[1] — node `a` defined at p.yaml:6:3\n"), "{}", why.stdout);
    assert!(why.stdout.contains("status: will run — parameter k changed (3 → 4)"), "{}", why.stdout);
    assert!(why.stdout.contains("uses params.k = 4"), "{}", why.stdout);
    let nope = p.dag(&["why", "p.yaml", "a[7]"]);
    assert_eq!(nope.code, 2);
    assert!(nope.stderr.contains("no instance `a[7]`"), "{}", nope.stderr);
    let dot = p.dag(&["graph", "p.yaml", "--format", "dot"]).stdout;
    assert!(dot.contains("\"a\" [label=\"a [s: 2]\"];") && dot.contains("\"a\" -> \"b\";"), "{dot}");
    let mermaid = p.dag(&["graph", "p.yaml", "--format", "mermaid"]).stdout;
    assert!(mermaid.starts_with("flowchart LR\n") && mermaid.contains("  a --> b\n"), "{mermaid}");
    let each = p.dag(&["graph", "p.yaml", "--instances"]).stdout;
    assert!(each.contains("i0 [label=\"a[0]\"];") && each.contains("i0 -> i2;") && each.contains("i1 -> i2;"), "{each}");
    let text = p.dag(&["plan", "p.yaml"]).stdout;
    assert!(text.contains("summary: 3 cached, 0 run, 0 pending"), "{text}");
}

/// Hostile YAML (#16): a "billion laughs" of nested aliases and a self-referencing alias are
/// refused quickly by the parser's budget, pointing into the file, never expanded.
#[test]
fn an_alias_bomb_and_a_self_referencing_alias_are_refused_at_once() {
    let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 9].join(", ")));
    }
    bomb.push_str("name: bomb\nnodes:\n  x: {shell: echo}\n");
    for (yaml, want) in [(bomb.as_str(), "invalid YAML: budget breached"), ("name: s\nnodes: &n\n  x: *n\n", "p.yaml:3:6: error: invalid YAML: recursive references")] {
        let p = Project::new(yaml);
        let r = p.dag(&["check", "p.yaml"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains(want), "{}", r.stderr);
    }
}
