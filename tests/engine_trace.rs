//! The trace every run leaves in the cache (`dag trace`) and the run history (`dag runs`):
//! one row per attempt with what it used, checked against what the commands really did.

mod common;
use common::Project;

fn rows(p: &Project, run: Option<usize>) -> Vec<serde_json::Value> {
    let n = run.map(|n| n.to_string());
    let mut args = vec!["trace", "--json"];
    if let Some(n) = &n {
        args.extend(["--run", n]);
    }
    let r = p.dag(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn row<'a>(rows: &'a [serde_json::Value], id: &str, attempt: u64) -> &'a serde_json::Value {
    rows.iter().find(|r| r["id"] == id && r["attempt"] == attempt).unwrap_or_else(|| panic!("no row for {id} attempt {attempt} in {rows:?}"))
}

#[test]
fn the_trace_measures_each_attempt_and_the_history_lists_each_run() {
    // `big` holds a 200 MB string (perl's vec() grows it in place: one allocation); `flaky`
    // fails once; `slow` runs past its limit.
    let p = Project::new(concat!(
        "name: traced\nnodes:\n",
        "  big: {shell: \"perl -e 'my $x = q(); vec($x, 200 * 1024 * 1024 - 1, 8) = 1; 1 while $y++ < 3e6' && touch {out}/v\"}\n",
        "  flaky: {retries: 1, shell: 'test -e tried || (touch tried; exit 3); touch {out}/v'}\n",
        "  slow: {timeout: 1s, shell: 'sleep 30'}\n",
    ));
    let r = p.run(&["--cpus", "2", "-k"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let t = rows(&p, None);
    let big = row(&t, "big", 1);
    assert_eq!(big["status"], "ran");
    let mb = big["peak_rss_mb"].as_f64().unwrap();
    assert!((190.0..260.0).contains(&mb), "big's peak resident memory: {mb} MB");
    assert!(big["cpu_s"].as_f64().unwrap() > 0.05, "{big}");
    assert_eq!(big["executor"], "local");
    assert!(big["wall_s"].as_f64().unwrap() >= big["cpu_s"].as_f64().unwrap() * 0.5, "{big}");
    assert_eq!(row(&t, "flaky", 1)["status"], "failed");
    assert_eq!(row(&t, "flaky", 2)["status"], "ran");
    let slow = row(&t, "slow", 1);
    assert_eq!(slow["status"], "timed_out");
    assert!((0.9..10.0).contains(&slow["wall_s"].as_f64().unwrap()), "{slow}");

    // A second run: what succeeded is cached (attempt 0), what timed out runs again.
    let r = p.run(&["--cpus", "2", "-k"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let t2 = rows(&p, Some(2));
    assert_eq!(row(&t2, "big", 0)["status"], "cached");
    assert_eq!(row(&t2, "slow", 1)["status"], "timed_out");
    assert_eq!(rows(&p, Some(1)), t, "the first run's trace is kept as it was");

    let runs = p.dag(&["runs"]);
    assert_eq!(runs.code, 0, "{}", runs.stderr);
    let lines: Vec<&str> = runs.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", runs.stdout);
    assert!(lines[1].contains("traced") && lines[1].trim_end().ends_with('1'), "{}", runs.stdout);
    let json = p.dag(&["runs", "--json"]);
    let last: serde_json::Value = serde_json::from_str(json.stdout.lines().last().unwrap()).unwrap();
    assert_eq!((last["run"].as_u64(), last["record"]["ran"].as_u64(), last["record"]["cached"].as_u64(), last["exit"].as_i64()), (Some(2), Some(0), Some(2), Some(1)), "{last}");
    let csv = p.dag(&["trace", "--csv"]);
    assert!(csv.stdout.starts_with("id,node,attempt,status,start,wall_s,cpu_s,peak_rss_mb,executor,host,gpu\n"), "{}", csv.stdout);
    let bad = p.dag(&["trace", "--run", "7"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("the runs are numbered 1 to 2"), "{}", bad.stderr);
}
