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
PY
