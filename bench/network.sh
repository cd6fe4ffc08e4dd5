#!/usr/bin/env bash
# The network against the linear probe on its own frozen features and the true imaging term,
# over several synthetic cohorts (seeds), for one training configuration given as --set
# arguments (the defaults: the paper's protocol as pipelines/study.yaml writes it).
#   bench/network.sh "1 2" [--set lr=0.0001 ...]      seeds, then the configuration
# Prints one row per seed and the mean ± sd over seeds of the out-of-fold C (pooled) and of
# the fold means of C and AUC; appends them to bench/out/network/runs.md. One cache serves
# every seed and configuration (instances are keyed by content).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dag=${DAG:-$repo/target/release/dag}   # DAG: another build, e.g. a frozen copy while this one is rebuilt
out=$repo/bench/out/network
mkdir -p "$out"
seeds=$1; shift
config="${STUDY:+$(basename "$STUDY" .yaml) }${*:-paper protocol}"
tag=$(echo "$config" | tr -c 'a-zA-Z0-9.=\n' '_')
cp "${STUDY:-$repo/pipelines/study.yaml}" "$out/study.yaml"   # STUDY: a variant of the spec to try
for s in $seeds; do
  t0=$(date +%s%N)
  (cd "$out" && "$dag" run study.yaml --progress quiet --cache cache --results "results-$s-$tag" --set seed="$s" --set bootstrap=200 "$@" > "last.log" 2>&1) || { echo "seed $s failed (see $out/last.log)" >&2; exit 1; }
  t1=$(date +%s%N)
  echo "$s $(( (t1 - t0) / 1000000 ))" >> "$out/times-$tag.txt"
done
python3 - "$out" "$tag" "$config" $seeds <<'PY' | tee -a "$out/runs.md"
import json, statistics, sys
out, tag, config, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
models = [json.load(open(f"{out}/results-{s}-{tag}/report/summary.json"))["models"] for s in seeds]
# Radiomics (the PyRadiomics-style baseline) where every cohort's report has it.
rows = {k: [] for k in ("network", "logistic", "radiomics", "truth") if all(k in m for m in models)}
print(f"\n### {config} — seeds {' '.join(seeds)}\n")
rad = "radiomics" in rows
print("| seed | network C | probe C |" + (" radiomics C |" if rad else "") + " true term C | network − probe | truth − network |\n|---|---|---|" + ("---|" if rad else "") + "---|---|---|")
for s, m in zip(seeds, models):
    c = {k: m[k]["pooled"]["harrell_c"] for k in rows}
    for k in rows: rows[k].append(m[k])
    print(f"| {s} | {c['network']:.3f} | {c['logistic']:.3f} |" + (f" {c['radiomics']:.3f} |" if rad else "") + f" {c['truth']:.3f} | {c['network'] - c['logistic']:+.3f} | {c['truth'] - c['network']:+.3f} |")
def ms(v): return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"
print("\n| score (mean ± sd over seeds) | C pooled | C fold mean | AUC 3 y fold mean | AUC 5 y fold mean |\n|---|---|---|---|---|")
for k, ms_ in rows.items():
    get = lambda f: [f(m) for m in ms_]
    print(f"| {ms_[0]['label']} | {ms(get(lambda m: m['pooled']['harrell_c']))} | {ms(get(lambda m: m['mean_sd']['harrell_c']['mean']))} | {ms(get(lambda m: m['mean_sd']['auc']['1095.75']['mean']))} | {ms(get(lambda m: m['mean_sd']['auc']['1826.25']['mean']))} |")
d = [a["pooled"]["harrell_c"] - b["pooled"]["harrell_c"] for a, b in zip(rows["network"], rows["logistic"])]
g = [a["pooled"]["harrell_c"] - b["pooled"]["harrell_c"] for a, b in zip(rows["truth"], rows["network"])]
print(f"\nnetwork − probe: {ms(d)}; true term − network: {ms(g)}")
# Each pooled C's 95% bootstrap interval, and whether it holds 0.5: the negative control's
# test when the cohorts are made with imaging_effect=0.
def ci(m):
    c = m["pooled"]["harrell_c_ci95"]
    return f"{m['pooled']['harrell_c']:.3f} ({c['lower']:.3f}–{c['upper']:.3f})" + ("" if c["lower"] <= 0.5 <= c["upper"] else " **0.5 outside**")
ci_rows = [k for k in rows if k != "truth"]
short = {"network": "network", "logistic": "probe", "radiomics": "radiomics"}
print("\n| seed | " + " | ".join(f"{short[k]} C (95% interval)" for k in ci_rows) + " |\n|---|" + "---|" * len(ci_rows))
for i, s in enumerate(seeds):
    print(f"| {s} | " + " | ".join(ci(rows[k][i]) for k in ci_rows) + " |")
# How closely each out-of-fold score ranks patients as the true imaging term does (Spearman):
# what a model learnt, without the outcomes' noise that C carries (the choice's criterion).
import csv
def column(path, col):
    with open(path) as f:
        return {r["patient_id"]: float(r[col]) for r in csv.DictReader(f)}
def ranks(v):
    order = sorted(range(len(v)), key=v.__getitem__)
    r = [0.0] * len(v)
    i = 0
    while i < len(order):  # ties share their mean rank
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]: j += 1
        for k in range(i, j + 1): r[order[k]] = (i + j) / 2
        i = j + 1
    return r
def spearman(a, b):
    a, b = ranks(a), ranks(b)
    ma, mb = statistics.mean(a), statistics.mean(b)
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    den = (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
    return num / den if den > 0 else float("nan")
sources = {"network": ("statistics/predictions.csv", "dl_score"), "probe": ("logistic/predictions.csv", "logistic_score")}
if rad: sources["radiomics"] = ("radiomics_model/radiomics_scores.csv", "radiomics_score")
rho = {k: [] for k in sources}
constant = [s for s in seeds if len(set(column(f"{out}/results-{s}-{tag}/dataset/ground_truth.csv", "imaging_term").values())) == 1]
if constant:  # a negative control: the true term ranks nobody, so there is nothing to rank like
    print(f"\nNo Spearman ρ: the true term is the same for every patient on seeds {' '.join(constant)} (imaging_effect=0).")
    sys.exit(0)
for s in seeds:
    base = f"{out}/results-{s}-{tag}"
    truth = column(f"{base}/dataset/ground_truth.csv", "imaging_term")
    for k, (f, col) in sources.items():
        score = column(f"{base}/{f}", col)
        ids = sorted(i for i in score if i in truth)
        rho[k].append(spearman([score[i] for i in ids], [truth[i] for i in ids]))
print("\n| Spearman ρ with the true term | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± sd |\n|---|" + "---|" * (len(seeds) + 1))
for k, v in rho.items():
    print(f"| {k} | " + " | ".join(f"{x:.3f}" for x in v) + f" | {ms(v)} |")
PY
