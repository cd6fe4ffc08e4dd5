//! The study's HTML report in a real browser: headless Chromium loads it, and the page's own
//! check must find no JavaScript error, every crop image decoded and every figure drawn. The
//! run is the negative control (no imaging effect), the case whose true term is constant.
//! Without Chromium the test is skipped with a message; CI sets DAG_REQUIRE_CHROMIUM=1,
//! which makes a missing browser a failure.

mod common;
use common::Project;
use std::path::PathBuf;
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"].iter().flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name))).find(|p| p.is_file())
}

#[test]
fn the_negative_control_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(std::env::var("DAG_REQUIRE_CHROMIUM").as_deref() != Ok("1"), "DAG_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)");
        eprintln!("SKIPPED the_negative_control_report_renders_in_headless_chromium: no chromium on PATH (apt-get install chromium to run it)");
        return;
    };
    let p = Project::new("name: unused\nnodes: {}\n");
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/study.yaml");
    std::fs::copy(&spec, p.path("p.yaml")).unwrap();
    let r = p.run(&["--set", "patients=40", "--set", "epochs=2", "--set", "bootstrap=10", "--set", "imaging_effect=0"]);
    assert_eq!(r.code, 0, "the negative control must complete: {}{}", r.stdout, r.stderr);
    let summary: serde_json::Value = serde_json::from_str(&p.read("results/report/summary.json")).unwrap();
    assert_eq!(summary["models"]["truth"]["constant"], true, "the true term of the negative control is constant");
    let html = std::fs::canonicalize(p.path("results/report/report.html")).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(&browser)
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let (dom, log) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "chromium failed: {log}");
    assert!(dom.contains("data-check=\"ok\""), "the page's check did not pass: {}", dom.split("data-errors=\"").nth(1).map_or("(never ran)", |e| e.split('"').next().unwrap_or("")));
    assert!(!log.contains("Uncaught"), "a JavaScript error: {log}");
    let figures: usize = dom.split("data-figures=\"").nth(1).and_then(|s| s.split('"').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    // Kaplan–Meier, two ROC curves, five training curves, and the crop gallery.
    assert!(figures >= 8 + 4, "{figures} figures");
    let page = std::fs::read_to_string(&html).unwrap();
    // Nothing fetched: no external script, style sheet, font or image (the SVG namespace
    // is a name, not a fetch).
    for external in ["<script src", "<link ", "https://", "url(", "@import"] {
        assert!(!page.contains(external), "the report must be self-contained, found `{external}`");
    }
}

#[test]
fn the_run_report_renders_in_headless_chromium_with_every_attempt_on_its_timeline() {
    let p = Project::new("name: timeline\nsets:\n  s: {range: 6}\nnodes:\n  pre: {foreach: s, shell: 'sleep 0.1; echo {s} > {out}/v'}\n  flaky: {retries: 1, shell: 'test -e tried || (touch tried; exit 3); touch {out}/v'}\n  all: {needs: pre, shell: 'cat {inputs.pre} > {out}/all'}\n");
    let r = p.run(&["--cpus", "3"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = p.dag(&["report", "-o", "run.html"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = p.read("run.html");
    // 6 + 1 + 2 attempts (flaky's failed one too); the failed one outlined.
    assert_eq!(page.matches("<rect ").count(), 9, "{page}");
    assert_eq!(page.matches("class=\"bad\"").count(), 1);
    assert!(page.contains("<td>flaky</td><td>1</td><td>0</td><td>1</td><td>1</td><td>1</td>"), "flaky: 1 instance, 0 cached, 1 ran, 1 failed attempt, 1 retry: {page}");
    for external in ["<script", "<link ", "https://", "url(", "@import"] {
        assert!(!page.contains(external), "the page must stand alone: found {external}");
    }
    let Some(browser) = chromium() else {
        assert!(std::env::var("DAG_REQUIRE_CHROMIUM").as_deref() != Ok("1"), "DAG_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)");
        eprintln!("SKIPPED the browser half of the run report test: no chromium on PATH");
        return;
    };
    let html = std::fs::canonicalize(p.path("run.html")).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(&browser)
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    // What the browser built from the page: the timeline's SVG with every bar in it.
    assert_eq!(dom.matches("<rect ").count(), 9, "{dom}");
    assert!(dom.contains("aria-label=\"timeline of 9 attempts in "), "{dom}");
}
