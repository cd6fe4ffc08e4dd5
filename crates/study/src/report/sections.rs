//! The report's sections, in the order a reader of the paper asks their questions: the
//! answer, the numbers beside the paper's, fold by fold, the figures, subtypes, the cohort,
//! the training, the crops, who was left out, and what produced it all.

use super::figures::{fmt_p, kaplan_meier_figure, p_is, roc_figure, training_figure, DAYS_PER_YEAR};
use super::html::{base64, figure, page, table};
use super::summary::{cox, paper};
use super::svg::esc;
use super::ReportData;
use crate::training::train::trained_on;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

pub struct Page {
    pub html: String,
    pub text: String,
    pub logrank: Option<Value>,
}

fn f3(v: &Value) -> String {
    v.as_f64().map_or_else(|| "—".to_owned(), |x| format!("{x:.3}"))
}

fn ms(v: &Value) -> String {
    match (v["mean"].as_f64(), v["sd"].as_f64()) {
        (Some(m), Some(s)) => format!("{m:.3} ± {s:.3}"),
        (Some(m), None) => format!("{m:.3}"),
        _ => "—".into(),
    }
}

/// The paper reports two decimals; printing three would invent a digit.
fn ms2(v: &Value) -> String {
    match (v["mean"].as_f64(), v["sd"].as_f64()) {
        (Some(m), Some(s)) => format!("{m:.2} ± {s:.2}"),
        _ => "—".into(),
    }
}

fn years(h: &str) -> String {
    h.parse::<f64>().map_or_else(|_| h.to_owned(), |d| format!("{} y", d / DAYS_PER_YEAR))
}

/// "0.612 → 0.655 (Kang p 0.012)" for one way of fitting the Cox models.
fn cox_line(c: &Value) -> String {
    let k = &c["kang"];
    match k["not_estimable"].as_str() {
        Some(why) => format!("{} (combined model not fitted: {why})", f3(&c["baseline_c"])),
        None => format!("{} → {} (Kang {})", f3(&c["baseline_c"]), f3(&c["combined_c"]), k["p"].as_f64().map_or("p —".into(), p_is)),
    }
}

/// The Kang test of the radiomics score against the network's, both out of fold, where the
/// radiomics statistics hold it.
fn radiomics_versus_network(d: &ReportData) -> Option<String> {
    let r = d.models.iter().find(|m| m.key == "radiomics")?;
    let (key, k) = r.stats["kang"].as_object()?.iter().find(|(key, _)| key.starts_with(&format!("{}_vs_", r.score)) && !key.ends_with("_vs_baseline"))?;
    let column = key.rsplit("_vs_").next().unwrap_or_default();
    // The other score by its model's name, where it is one of the report's.
    let other = d.models.iter().find(|m| m.score == column).map_or_else(|| format!("`{column}`"), |m| format!("the {} score", m.short));
    Some(match k["p"].as_f64() {
        Some(p) => format!(
            "The radiomics score (an L2 logistic regression on the 107 features of PyRadiomics' default extractor, N4-corrected first post-contrast phase, the network's folds) against {other} (Kang test for correlated C-indices, on the whole cohort's out-of-fold scores): C {} against {}, ΔC {:+.3}, z {}, {}.",
            f3(&k["c"][0]), f3(&k["c"][1]), k["delta_c"].as_f64().unwrap_or(f64::NAN), f3(&k["z"]), p_is(p)
        ),
        None => format!("The radiomics score against {other}: {}", k["not_estimable"].as_str().unwrap_or("not estimable")),
    })
}

pub fn render(d: &ReportData) -> Result<Page, String> {
    let net = &d.models[0];
    let s = &net.stats;
    let paper = paper();
    let cox_net = cox(s);
    let mut b = String::new();
    let mut text = format!("Study report: {}\n", d.title);
    let _ = write!(b, "<h1>Does DenseNet121 on pre-treatment DCE-MRI predict recurrence beyond HR and HER2?</h1><p class=\"sub\">{} · {} patients, {} recurrences · {}-fold cross-validation stratified by event and site · dag {}</p>", esc(&d.title), s["n"], s["events"], d.folds.len(), env!("CARGO_PKG_VERSION"));
    if d.trained_from_scratch() {
        let w = "no ImageNet weights were given: DenseNet121 was initialised at random (seeded) and trained from scratch. The paper fine-tuned ImageNet-pretrained weights.";
        let _ = write!(b, "<div class=\"warn\"><b>Trained from scratch:</b> {}</div>", esc(w));
        text.push_str(&format!("WARNING: {w}\n"));
    }
    text.push_str(&trained_on(&d.folds));
    let ways = [("cross-validated", &cox_net["cross_validated"]), ("as the paper (in-sample)", &cox_net["in_sample"])];
    let answer: Vec<String> = ways.iter().filter(|(_, c)| !c.is_null()).map(|(how, c)| format!("{how}: {}", cox_line(c))).collect();
    let pc = &paper["cox"];
    let paper_cox = format!("{} → {} (p = {})", pc["baseline_c"], pc["combined_c"], pc["kang_p"]);
    let _ = write!(b, "<div class=\"answer\"><b>Cox model on HR + HER2, then with the network's score added</b> — {}. Paper: {paper_cox}.</div>", esc(&answer.join("; ")));

    // Beside the paper.
    b.push_str("<h2>Beside the paper</h2><h3>Discrimination of each score (mean ± sd across the held-out folds)</h3>");
    let mut header = vec!["", "Paper (MAMA-MIA, ImageNet-pretrained)"];
    header.extend(d.models.iter().map(|m| m.short));
    let mut rows = vec![];
    let mut metric_row = |name: String, paper_v: &Value, get: &dyn Fn(&Value) -> Value| {
        let mut r = vec![esc(&name), ms2(paper_v)];
        r.extend(d.models.iter().map(|m| ms(&get(&m.stats["cross_validated"]["mean_sd"]))));
        rows.push(r);
    };
    metric_row("Harrell's C".into(), &paper["harrell_c"], &|v| v["harrell_c"].clone());
    for h in &d.horizons {
        metric_row(format!("AUC at {}", years(h)), &paper["auc"][h], &|v| v["auc"][h].clone());
    }
    b.push_str(&table(&header, &rows, 0));
    b.push_str("<h3>Does the score add to HR + HER2? (Harrell's C of the Cox models, Kang test for correlated C-indices)</h3>");
    let mut rows = vec![vec!["Paper: fitted on the whole cohort".into(), pc["baseline_c"].to_string(), pc["combined_c"].to_string(), "—".into(), pc["kang_p"].to_string()]];
    // The network's rows, then the same for each other score that is a model's (not the true
    // term, which no model could be fitted to).
    let mut analyses = vec![("the network's score".to_owned(), cox_net.clone())];
    analyses.extend(d.models[1..].iter().filter(|m| m.key != "truth").map(|m| (format!("the {} score", m.short.to_lowercase()), cox(&m.stats))));
    // Why a combined model was not fitted can run to a sentence: it goes below the table,
    // numbered, so the table keeps to the page.
    let mut not_fitted = Vec::new();
    for (score, cx) in &analyses {
        for (how, c) in [("fitted on the whole cohort, as the paper (in-sample)", &cx["in_sample"]), ("cross-validated (fitted without each fold, applied to it)", &cx["cross_validated"])] {
            if c.is_null() {
                continue;
            }
            let (k, row) = (&c["kang"], format!("This run, {score}: {how}"));
            let p = match (k["p"].as_f64(), k["not_estimable"].as_str()) {
                (Some(p), _) => fmt_p(p),
                (None, Some(why)) => {
                    not_fitted.push(format!("({}) {row}: the combined model was not fitted: {why}", not_fitted.len() + 1));
                    format!("not fitted ({})", not_fitted.len())
                }
                (None, None) => "—".into(),
            };
            rows.push(vec![esc(&row), f3(&c["baseline_c"]), f3(&c["combined_c"]), f3(&k["z"]), p]);
        }
    }
    b.push_str(&table(&["", "HR + HER2", "+ score", "Kang z", "p"], &rows, 0));
    for why in &not_fitted {
        let _ = write!(b, "<p class=\"note\">{}</p>", esc(why));
    }
    let _ = write!(b, "<p><b>What differs from the paper.</b> The data: {} — not the paper's cohort of MAMA-MIA scans. The weights: {}. The in-sample combined model is scored on the patients it was fitted to, so its gain is optimistic; the cross-validated row is the honest estimate. {}</p>",
        esc(&d.title),
        if d.trained_from_scratch() { "the network was trained from scratch, without the ImageNet weights the paper's transfer learning starts from" } else { "the network started from ImageNet-pretrained weights, as in the paper" },
        if d.models.iter().any(|m| m.key == "truth") { "On a synthetic cohort the true imaging term is known: its column is the best any model could do." } else { "" });
    let versus = radiomics_versus_network(d);
    if let Some(line) = &versus {
        let _ = write!(b, "<p><b>Radiomics against the network.</b> {}</p>", esc(line));
    }

    // Fold by fold.
    b.push_str("<h2>Fold by fold</h2><p class=\"note\">Each fold's held-out patients; the AUC's censoring distribution is estimated on that fold's training patients (as scikit-survival's <code>cumulative_dynamic_auc(survival_train, survival_test, …)</code>). The sd is the sample sd across folds.</p>");
    let mut header = vec!["fold".to_owned(), "n".into(), "events".into(), format!("C, {}", net.short)];
    header.extend(d.horizons.iter().map(|h| format!("AUC {}, {}", years(h), net.short)));
    header.extend(d.models[1..].iter().map(|m| format!("C, {}", m.short)));
    let per = |m: &super::Model| m.stats["cross_validated"]["per_fold"].as_array().cloned().unwrap_or_default();
    let mut rows: Vec<Vec<String>> = per(net)
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let mut r = vec![f["fold"].to_string(), f["n"].to_string(), f["events"].to_string(), f3(&f["harrell_c"])];
            r.extend(d.horizons.iter().map(|h| f3(&f["auc"][h])));
            r.extend(d.models[1..].iter().map(|m| f3(&per(m).get(k).map_or(Value::Null, |x| x["harrell_c"].clone()))));
            r
        })
        .collect();
    let m = &s["cross_validated"]["mean_sd"];
    let mut sum = vec!["mean ± sd".into(), String::new(), String::new(), ms(&m["harrell_c"])];
    sum.extend(d.horizons.iter().map(|h| ms(&m["auc"][h])));
    sum.extend(d.models[1..].iter().map(|x| ms(&x.stats["cross_validated"]["mean_sd"]["harrell_c"])));
    rows.push(sum);
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    b.push_str(&table(&header_refs, &rows, 1));
    text.push_str(&format!("{} — mean ± sd across folds: C {}", net.label, ms(&m["harrell_c"])));
    for h in &d.horizons {
        text.push_str(&format!(", AUC({}) {}", years(h), ms(&m["auc"][h])));
    }
    text.push_str(&format!("   (paper: C {}", ms2(&paper["harrell_c"])));
    for h in &d.horizons {
        text.push_str(&format!(", AUC({}) {}", years(h), ms2(&paper["auc"][h])));
    }
    text.push_str(")\n");
    for other in &d.models[1..] {
        text.push_str(&format!("{}: C {}\n", other.label, ms(&other.stats["cross_validated"]["mean_sd"]["harrell_c"])));
    }
    for (how, c) in ways.iter().filter(|(_, c)| !c.is_null()) {
        text.push_str(&format!("Cox HR + HER2 → + score, {how}: {}\n", cox_line(c)));
    }
    text.push_str(&format!("   (paper, in-sample: {paper_cox})\n"));
    if let Some(line) = &versus {
        text.push_str(&format!("{line}\n"));
    }

    // Figures.
    let surv = d.predictions.surv()?;
    let score = d.predictions.numbers(&net.score)?;
    let km = kaplan_meier_figure(&surv, &score, "network risk");
    let logrank = km.logrank.as_ref().map(|l| json!({ "median": km.median, "n_high": km.n.0, "n_low": km.n.1, "chi2": l.chi2, "p": l.p, "observed": l.observed, "expected": l.expected }));
    b.push_str("<h2>Risk groups and ROC curves</h2><div class=\"figs\">");
    let mut at_risk = vec![vec!["high risk".to_owned()], vec!["low risk".to_owned()]];
    for (_, h, l) in &km.at_risk {
        at_risk[0].push(h.to_string());
        at_risk[1].push(l.to_string());
    }
    let years_head: Vec<String> = std::iter::once("at risk, year".to_owned()).chain(km.at_risk.iter().map(|(y, _, _)| format!("{y}"))).collect();
    let caption = format!(
        "High risk: out-of-fold network score above the median ({:.3}), n = {}; low risk: at or below, n = {}. {}.{}",
        km.median,
        km.n.0,
        km.n.1,
        km.logrank.as_ref().map_or("Log-rank test not estimable".into(), |l| format!("Log-rank χ² = {:.2}, {}", l.chi2, p_is(l.p))),
        table(&years_head.iter().map(String::as_str).collect::<Vec<_>>(), &at_risk, 0)
    );
    b.push_str(&figure(&km.svg, &caption));
    b.push_str("</div><div class=\"figs\">");
    let (cvb, cvc) = ("cv_baseline", "cv_combined");
    let mut curves: Vec<(String, Vec<f64>)> = vec![(net.short.to_owned(), score.clone())];
    for (col, label) in [(cvb, "HR + HER2"), (cvc, "HR + HER2 + score")] {
        if d.predictions.has(col) {
            curves.push((label.into(), d.predictions.numbers(col)?));
        }
    }
    let named: Vec<(&str, &[f64])> = curves.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    for h in &d.horizons {
        let days: f64 = h.parse().map_err(|_| format!("horizon `{h}` is not a number"))?;
        b.push_str(&figure(&roc_figure(&surv, &named, days), &format!("Cumulative/dynamic ROC at {}: patients with a recurrence by then (weighted by the inverse probability of remaining uncensored) against those still recurrence-free after it. Pooled out-of-fold scores; the Cox models are cross-validated.", years(h))));
    }
    b.push_str("</div>");

    subtypes(&mut b, d);
    cohort(&mut b, d);
    training(&mut b, d);
    gallery(&mut b, d)?;
    let _ = write!(b, "<h2>Excluded patients ({})</h2><details><summary>who, and why</summary>{}</details>", d.excluded.len(), table(&["patient", "reason"], &d.excluded.iter().map(|(a, r)| vec![esc(a), esc(r)]).collect::<Vec<_>>(), 0));
    text.push_str(&format!("Excluded patients: {} (listed in the report).\n", d.excluded.len()));
    provenance(&mut b, d);
    Ok(Page { html: page(&format!("Recurrence study — {}", d.title), &b), text, logrank })
}

fn subtypes(b: &mut String, d: &ReportData) {
    let by = &d.models[0].stats["by"];
    let Some(groups) = by["groups"].as_object() else { return };
    let _ = write!(b, "<h2>By tumour subtype</h2><p class=\"note\">Harrell's C and AUCs within each subtype, on the out-of-fold scores. † fewer than 10 events: unstable, shown rather than hidden. Within a subtype HR and HER2 are (nearly) fixed, so the HR + HER2 model ranks few patients there.</p>");
    let mut header = vec!["subtype".to_owned(), "n".into(), "events".into()];
    for m in &d.models {
        header.push(format!("C, {}", m.short));
    }
    header.extend(d.horizons.iter().map(|h| format!("AUC {}, {}", years(h), d.models[0].short)));
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|(g, r)| {
            let name = if r["few_events"] == true { format!("{} †", esc(g)) } else { esc(g) };
            let mut row = vec![name, r["n"].to_string(), r["events"].to_string()];
            for m in &d.models {
                let e = &m.stats["by"]["groups"][g]["scores"][&m.score];
                row.push(if e["constant"] == true { "0.500 (constant)".into() } else { f3(&e["harrell_c"]) });
            }
            row.extend(d.horizons.iter().map(|h| f3(&r["scores"][&d.models[0].score]["auc"][h])));
            row
        })
        .collect();
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    b.push_str(&table(&refs, &rows, 0));
}

fn cohort(b: &mut String, d: &ReportData) {
    let subtypes: BTreeSet<&str> = d.cohort.iter().map(|c| c.subtype.as_str()).collect();
    let mut cells: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    let mut sites: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let add = |e: &mut (usize, usize), event: bool| {
        e.0 += 1;
        e.1 += usize::from(event);
    };
    for c in &d.cohort {
        add(cells.entry((c.site.as_str(), c.subtype.as_str())).or_default(), c.event);
        add(sites.entry(&c.site).or_default(), c.event);
    }
    let cell = |n: usize, e: usize| if n == 0 { "—".to_owned() } else { format!("{n} ({e})") };
    let mut rows: Vec<Vec<String>> = sites
        .iter()
        .map(|(site, (n, e))| {
            let mut r = vec![esc(site)];
            r.extend(subtypes.iter().map(|s| cells.get(&(*site, *s)).map_or("—".into(), |(n, e)| cell(*n, *e))));
            r.push(cell(*n, *e));
            r
        })
        .collect();
    let mut total = vec!["all sites".to_owned()];
    total.extend(subtypes.iter().map(|s| {
        let (n, e) = d.cohort.iter().filter(|c| c.subtype == *s).fold((0, 0), |(n, e), c| (n + 1, e + usize::from(c.event)));
        cell(n, e)
    }));
    total.push(cell(d.cohort.len(), d.cohort.iter().filter(|c| c.event).count()));
    rows.push(total);
    let mut header = vec!["site"];
    header.extend(subtypes.iter().copied());
    header.push("all");
    let _ = write!(b, "<h2>The cohort</h2><p class=\"note\">Patients (recurrences) by site and tumour subtype, as the dataset labels them (the labels differ by site; a blank label is <code>unknown</code>).</p>{}", table(&header, &rows, 1));
}

/// Augmented views (`views` on the features node): how many each training crop had.
fn views(d: &ReportData) -> String {
    let Some(f) = d.folds.first() else { return String::new() };
    let per = || Some(f["views"]["train"].as_f64()? / f["n_train"].as_f64().filter(|&n| n > 0.0)?);
    match per() {
        Some(v) if v > 1.0 => {
            let h = &f["hyper"];
            let (which, pooled) = match h["slice_sampling"].as_str() {
                Some("every") => ("all", ""),
                Some("pooled") => ("all", ", pooled into one logit"),
                _ => ("one of", ""),
            };
            format!(
                "each epoch {which} {v:.0} views of each training crop{pooled} (the crop itself, and others rotated, zoomed, shifted and with their intensity jittered; held-out patients are scored {}), ",
                if h["score_views"] == true { "by the mean over their views" } else { "on their crops" }
            )
        }
        _ => String::new(),
    }
}

fn training(b: &mut String, d: &ReportData) {
    b.push_str("<h2>Training</h2>");
    let inner_split = d.folds.iter().any(|f| f["n_val"].as_u64().unwrap_or(0) > 0);
    let how = if inner_split {
        "Each fold holds out a stratified validation share of its training patients for early stopping; the epoch with the lowest validation loss is kept."
    } else {
        "Each fold trains on all of its training patients for a fixed number of epochs (no inner validation split); the last epoch is kept."
    };
    let h = &d.folds.first().map_or(Value::Null, |f| f["hyper"].clone());
    let _ = write!(
        b,
        "<p>{} {how} Where the paper is silent (the learning rate, regularisation, augmentation, epochs), the study's defaults were chosen on synthetic cohorts of other seeds (1 and 2) and then frozen (README, \"Fine-tuning\"). This run: {} loss, Adam at {}, weight decay {}, dropout {} before the head, {}{}batch {}, {} epochs{}.</p>",
        esc(&trained_on(&d.folds)),
        if h["loss"] == "cox" { "the Cox partial likelihood (Breslow ties, over each batch) as the" } else { "binary cross-entropy on recurrence as the" },
        h["lr"],
        h["weight_decay"],
        h["dropout"],
        match (h["augment"] == true, h["rotate"] == true) {
            (true, true) => "random turns and mirrors of the feature maps (the eight symmetries), ",
            (true, false) => "random left-right flips, ",
            _ => "",
        },
        views(d),
        h["batch_size"],
        h["epochs"],
        match h["ensemble"].as_u64() {
            Some(n) if n > 1 => format!("; {n} tails per fold, each from its own start, a patient scored by the mean of their logits"),
            _ => String::new(),
        }
    );
    let rows: Vec<Vec<String>> = d
        .folds
        .iter()
        .map(|f| vec![f["fold"].to_string(), f["n_train"].to_string(), f["n_val"].to_string(), f["n_test"].to_string(), f["test_events"].to_string(), format!("{} / {}", f["best_epoch"], f["epochs_run"]), f3(&f["test_c_index"]["dl_score"])])
        .collect();
    b.push_str(&table(&["fold", "train", "validation", "test", "test events", "kept epoch / run", "held-out C"], &rows, 0));
    b.push_str("<div class=\"figs\">");
    for f in &d.folds {
        if let Some(svg) = training_figure(f) {
            let caption = if inner_split { "training and validation loss per epoch, and the validation Harrell C beneath" } else { "training loss per epoch" };
            b.push_str(&figure(&svg, &format!("Fold {}: {caption}.", f["fold"])));
        }
    }
    b.push_str("</div>");
}

fn gallery(b: &mut String, d: &ReportData) -> Result<(), String> {
    if d.gallery.is_empty() {
        return Ok(());
    }
    b.push_str("<h2>Tumour crops</h2><p class=\"note\">What the network sees, for a few patients of each site: the middle tumour slice, cropped to the tumour with its margin and normalised, in each phase — pre-contrast, first and second post-contrast.</p><div class=\"gallery\">");
    for (site, id, png) in &d.gallery {
        let panels = super::gallery::phase_panels(png).map_err(|e| format!("{id}: {e}"))?;
        b.push_str("<figure><div class=\"panels\">");
        for (panel, phase) in panels.iter().zip(["pre-contrast", "first post-contrast", "second post-contrast"]) {
            let _ = write!(b, "<img alt=\"{} {phase}\" title=\"{phase}\" src=\"data:image/png;base64,{}\">", esc(id), base64(panel));
        }
        let _ = write!(b, "</div><figcaption>{} · {} (pre | post 1 | post 2)</figcaption></figure>", esc(site), esc(id));
    }
    b.push_str("</div>");
    Ok(())
}

fn provenance(b: &mut String, d: &ReportData) {
    let p = d.provenance();
    b.push_str("<h2>Provenance</h2>");
    let params: Vec<Vec<String>> = d.params.iter().map(|(k, v)| vec![esc(k), esc(v.to_string().trim_matches('"'))]).collect();
    let _ = write!(b, "<p>dag {}; weights: {}; devices: {}; TF32: {}.</p>", esc(p["dag_version"].as_str().unwrap_or("")), esc(p["weights"].as_str().unwrap_or("")), esc(&p["devices"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")), if p["tf32"] == true { "allowed" } else { "not used" });
    b.push_str(&table(&["pipeline parameter", "value"], &params, 0));
    let rows: Vec<Vec<String>> = d.upstream.iter().map(|(node, outs)| vec![esc(node), outs.len().to_string(), format!("<code>{}</code>", esc(&p["upstream_outputs"][node].as_str().map_or_else(|| p["upstream_outputs"][node]["digest_of_digests"].as_str().unwrap_or("").to_owned(), str::to_owned)))]).collect();
    b.push_str("<p class=\"note\">The content digests of the outputs this report was made from (for per-patient nodes, the digest of their digests): the same digests, the same report.</p>");
    b.push_str(&table(&["node", "instances", "output digest"], &rows, 0));
}
