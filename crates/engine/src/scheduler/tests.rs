//! The scheduler driven by a fake executor, its events taken down by a recording reporter
//! (as cargo-nextest tests its runner): what runs, in what order, what is cached, what a
//! failure stops, and that the scheduler, not the executor, stores outputs.

use super::{GpuPool, RunOptions, Scheduler};
use crate::cache::{Cache, LockMode};
use crate::events::{Event, EventBus, Reporter, Summary};
use crate::executor::{BoxFuture, Cancel, Executor, Job, JobError};
use crate::expand::Expansion;
use crate::statcache::StatCache;
use crate::test_spec::load;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// Writes `v` into each job's output (its content chosen per instance id; the id itself by
/// default) or fails the instances named in `fail`. It records the ids it was handed.
#[derive(Default)]
struct Fake {
    content: HashMap<String, String>,
    fail: Vec<String>,
    ran: Mutex<Vec<String>>,
    /// Each job takes this long; `busy` and `peak` count the jobs running at once.
    hold: Option<std::time::Duration>,
    busy: AtomicUsize,
    peak: AtomicUsize,
}

impl Executor for Fake {
    fn run<'a>(&'a self, job: &'a Job, _cancel: Cancel) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            self.ran.lock().unwrap().push(job.id.to_string());
            if let Some(hold) = self.hold {
                let now = self.busy.fetch_add(1, SeqCst) + 1;
                self.peak.fetch_max(now, SeqCst);
                tokio::time::sleep(hold).await;
                self.busy.fetch_sub(1, SeqCst);
            }
            if self.fail.iter().any(|f| **f == *job.id) {
                return Err(JobError::Task("the fake was told to fail".into()));
            }
            let v = self.content.get(&*job.id).cloned().unwrap_or_else(|| job.id.to_string());
            std::fs::write(job.staging.join("out/v"), v).map_err(|e| JobError::Task(e.to_string()))
        })
    }
}

struct Recorder(Arc<Mutex<Vec<String>>>);

impl Reporter for Recorder {
    fn handle(&mut self, event: &Event) {
        let line = match event {
            Event::Cached { id, .. } => format!("cached {id}"),
            Event::Started { id, .. } => format!("started {id}"),
            Event::Finished { id, .. } => format!("finished {id}"),
            Event::Failed { id, error, .. } => format!("failed {id}: {error}"),
            Event::Skipped { id, .. } => format!("skipped {id}"),
            _ => return,
        };
        self.0.lock().unwrap().push(line);
    }
}

const CHAIN: &str = "name: t\nparams: {x: 1}\nsets:\n  s: {values: [p, q]}\nnodes:\n  a: {foreach: s, shell: 'echo {s} {params.x}'}\n  b: {needs: a, shell: 'cat {inputs.a}'}\n  c: {needs: b, shell: 'cat {inputs.b}'}\n";


/// One `dag run` of `yaml` in `dir` on `fake` with one CPU slot: its summary and its events.
fn run(dir: &Path, yaml: &str, set: &[(&str, &str)], fake: Arc<Fake>, keep_going: bool) -> (Summary, Vec<String>) {
    run_on(1, dir, yaml, set, fake, keep_going)
}

fn run_on(cpus: u32, dir: &Path, yaml: &str, set: &[(&str, &str)], fake: Arc<Fake>, keep_going: bool) -> (Summary, Vec<String>) {
    let spec = load(dir, yaml, set);
    let x = Expansion::new(&spec).unwrap();
    let mut cache = Cache::open(&dir.join("cache"), LockMode::Wait, |_| {}).unwrap();
    let mut stat = StatCache::load(dir.join("cache/statcache"));
    let opts = RunOptions { cpus, mem_gb: 8.0, gpus: GpuPool::Fixed(Vec::new()), keep_going, results: None, workdir: dir.to_owned(), executor: fake, retries: 0 };
    let events = Arc::new(Mutex::new(Vec::new()));
    let bus = EventBus::new(vec![Box::new(Recorder(events.clone()))]);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let summary = rt.block_on(Scheduler::new(&spec, &mut cache, &mut stat, &opts, &bus, x).run()).unwrap();
    bus.close();
    let events = events.lock().unwrap().clone();
    (summary, events)
}

fn fake() -> Arc<Fake> {
    Arc::new(Fake::default())
}

#[test]
fn instances_run_after_what_they_need_and_a_second_run_is_all_cached() {
    let dir = tempfile::tempdir().unwrap();
    let f = fake();
    let (s, events) = run(dir.path(), CHAIN, &[], f.clone(), false);
    assert_eq!((s.ran, s.cached, s.ok()), (4, 0, true), "{events:?}");
    let ran = f.ran.lock().unwrap().clone();
    let at = |id: &str| ran.iter().position(|r| r == id).unwrap_or_else(|| panic!("{id} did not run: {ran:?}"));
    assert!(at("a[p]") < at("b") && at("a[q]") < at("b") && at("b") < at("c"), "{ran:?}");
    // Every start is followed by its finish, and nothing else happened.
    assert_eq!(events.iter().filter(|e| e.starts_with("started")).count(), 4);
    assert_eq!(events.iter().filter(|e| e.starts_with("finished")).count(), 4);
    let again = fake();
    let (s, events) = run(dir.path(), CHAIN, &[], again.clone(), false);
    assert_eq!((s.ran, s.cached), (0, 4), "{events:?}");
    assert!(again.ran.lock().unwrap().is_empty());
    assert!(events.iter().all(|e| e.starts_with("cached")), "{events:?}");
}

#[test]
fn the_scheduler_stores_what_the_executor_left_in_staging() {
    let dir = tempfile::tempdir().unwrap();
    let f = Arc::new(Fake { content: HashMap::from([("c".to_owned(), "the end".to_owned())]), ..Fake::default() });
    run(dir.path(), CHAIN, &[], f, false);
    let cache = Cache::open(&dir.path().join("cache"), LockMode::ReadOnly, |_| {}).unwrap();
    // The executor only wrote into staging: the stored object and the explanation beside it
    // are the scheduler's doing, and the staging folders are gone.
    let out = std::fs::read_dir(cache.root().join("out")).unwrap().filter_map(Result::ok).map(|e| e.path()).find(|p| std::fs::read_to_string(p.join("v")).ok().as_deref() == Some("the end"));
    assert!(out.is_some(), "c's output is in the store");
    let explain = std::fs::read_to_string(cache.explain_path("t", "c")).unwrap();
    let record: serde_json::Value = serde_json::from_str(&explain).unwrap();
    assert_eq!(record["instance"], "c");
    assert!(record["output"].as_str().is_some_and(|o| out.unwrap().ends_with(o)), "{record}");
    let left = std::fs::read_dir(cache.root().join("tmp")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "staging folders left behind");
}

#[test]
fn an_upstream_rerun_with_the_same_output_leaves_what_follows_cached() {
    let dir = tempfile::tempdir().unwrap();
    let same = || Arc::new(Fake { content: HashMap::from([("a[p]".to_owned(), "same".to_owned()), ("a[q]".to_owned(), "same".to_owned())]), ..Fake::default() });
    run(dir.path(), CHAIN, &[], same(), false);
    // params.x enters a's key: a reruns, writes the same bytes, and b and c stay cached.
    let f = same();
    let (s, events) = run(dir.path(), CHAIN, &[("x", "2")], f.clone(), false);
    assert_eq!((s.ran, s.cached), (2, 2), "{events:?}");
    let mut ran = f.ran.lock().unwrap().clone();
    ran.sort();
    assert_eq!(ran, ["a[p]", "a[q]"]);
}

#[test]
fn a_failure_skips_its_dependants_and_keep_going_finishes_the_rest() {
    let yaml = "name: t\nsets:\n  s: {values: [p, q, r]}\nnodes:\n  a: {foreach: s, shell: 'echo {s}'}\n  b: {foreach: s, needs: a, shell: 'cat {inputs.a}'}\n";
    let failing = || Arc::new(Fake { fail: vec!["a[q]".to_owned()], ..Fake::default() });
    let dir = tempfile::tempdir().unwrap();
    let f = failing();
    let (s, events) = run(dir.path(), yaml, &[], f.clone(), true);
    assert_eq!((s.ran, s.failed.len()), (4, 1), "{events:?}");
    assert!(events.contains(&"failed a[q]: the fake was told to fail".to_owned()), "{events:?}");
    assert!(events.contains(&"skipped b[q]".to_owned()), "{events:?}");
    assert!(!f.ran.lock().unwrap().contains(&"b[q]".to_owned()));
    // Without keep-going, nothing starts after the failure (one CPU: one job at a time).
    let dir = tempfile::tempdir().unwrap();
    let f = failing();
    let (s, events) = run(dir.path(), yaml, &[], f.clone(), false);
    assert!(!s.ok());
    let ran = f.ran.lock().unwrap().clone();
    assert_eq!(ran.last().map(String::as_str), Some("a[q]"), "{ran:?} {events:?}");
}

#[test]
fn a_damaged_output_among_many_is_found_and_only_it_is_recomputed() {
    // Enough outputs that their quick checks run on several threads (given two CPUs).
    let yaml = "name: t\nsets:\n  s: {range: 700}\nnodes:\n  a: {foreach: s, shell: 'echo {s}'}\n";
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), yaml, &[], fake(), false);
    let cache = Cache::open(&dir.path().join("cache"), LockMode::ReadOnly, |_| {}).unwrap();
    let explain: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(cache.explain_path("t", "a[613]")).unwrap()).unwrap();
    let file = cache.out_path(explain["output"].as_str().unwrap()).join("v");
    drop(cache);
    // Touched after it was stored: its size and content are the same, its stamp is not.
    std::fs::File::options().write(true).open(&file).or_else(|_| {
        let mut perm = std::fs::metadata(&file)?.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(&file, perm)?;
        std::fs::File::options().write(true).open(&file)
    }).unwrap().set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
    let f = fake();
    let (s, events) = run_on(2, dir.path(), yaml, &[], f.clone(), false);
    assert_eq!((s.ran, s.cached), (1, 699), "{:?}", &events[..5]);
    assert_eq!(*f.ran.lock().unwrap(), ["a[613]"]);
}

/// `dag plan` in `dir`: the scheduler driven by the dry-run executor, on a cache opened
/// read-only, as the command does.
fn plan(dir: &Path, yaml: &str, set: &[(&str, &str)]) -> crate::plan::Plan {
    let spec = load(dir, yaml, set);
    let x = Expansion::new(&spec).unwrap();
    let (listed, _) = crate::keys::list_inputs(&spec, &x.instances);
    let mut cache = Cache::open(&dir.join("cache"), LockMode::ReadOnly, |_| {}).unwrap();
    let mut stat = StatCache::load(dir.join("cache/statcache"));
    crate::plan::plan(&spec, &mut cache, &mut stat, x, listed)
}

#[test]
fn a_dry_run_resolves_as_a_run_does_and_runs_and_writes_nothing() {
    use crate::plan::Status::{Cached, Pending, Run};
    let dir = tempfile::tempdir().unwrap();
    let same = || Arc::new(Fake { content: HashMap::from([("a[p]".to_owned(), "same".to_owned()), ("a[q]".to_owned(), "same".to_owned())]), ..Fake::default() });
    run(dir.path(), CHAIN, &[], same(), false);
    let listing = |p: &crate::plan::Plan| p.nodes.iter().map(|e| (e.id.clone(), e.status, e.reason.clone())).collect::<Vec<_>>();
    let p = plan(dir.path(), CHAIN, &[]);
    assert_eq!(listing(&p), [("a[p]".into(), Cached, None), ("a[q]".into(), Cached, None), ("b".into(), Cached, None), ("c".into(), Cached, None)]);
    assert!(p.nodes.iter().all(|e| e.key.is_some() && e.output.is_some()));
    // A changed parameter: a would run, and what needs it waits (a run would learn that its
    // bytes are the same; a plan cannot know).
    let files = |d: &Path| walkdir(d);
    let before = files(&dir.path().join("cache"));
    let p = plan(dir.path(), CHAIN, &[("x", "2")]);
    let why = Some("parameter x changed (1 → 2)".to_owned());
    assert_eq!(listing(&p), [("a[p]".into(), Run, why.clone()), ("a[q]".into(), Run, why), ("b".into(), Pending, Some("waits for a[p]".into())), ("c".into(), Pending, Some("waits for b".into()))]);
    assert_eq!((p.summary.cached, p.summary.run, p.summary.pending), (0, 2, 2));
    assert_eq!(files(&dir.path().join("cache")), before, "a plan writes nothing to the cache");
    // And the run agrees: a reruns, b and c are cut off early.
    let f = same();
    let (s, _) = run(dir.path(), CHAIN, &[("x", "2")], f.clone(), false);
    assert_eq!((s.ran, s.cached), (2, 2));
}

/// Every file under `dir` with its size and modification time.
fn walkdir(dir: &Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.len(), m.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn weighted_slots_bound_how_many_instances_run_at_once() {
    // Four instances on four CPUs: two at a time when each asks for two, all four when each
    // asks for one, and one at a time when each asks for more than there are (clamped).
    for (cpu, peak) in [(2, 2), (1, 4), (8, 1)] {
        let dir = tempfile::tempdir().unwrap();
        let yaml = format!("name: w\nsets:\n  s: {{range: 4}}\nnodes:\n  a: {{foreach: s, resources: {{cpu: {cpu}}}, shell: 'true'}}\n");
        let f = Arc::new(Fake { hold: Some(std::time::Duration::from_millis(100)), ..Fake::default() });
        let (s, events) = run_on(4, dir.path(), &yaml, &[], f.clone(), false);
        assert_eq!(s.ran, 4, "{events:?}");
        assert_eq!(f.peak.load(SeqCst), peak, "cpu {cpu}");
    }
}
