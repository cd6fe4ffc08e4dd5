#!/usr/bin/env bash
# The study at real size (issue #18): `volume_size: real`, 433 patients, cold; then a crop
# margin change and a no-op rerun. Prints the wall time and peak memory of each run, the time
# per node kind, and the cache beyond the dataset node's output per patient. Needs ~30 GB of
# disk under bench/out/real (the dataset node writes ~27 GB of images) and ~15 minutes on 2
# cores. Not part of `make bench`; run it by hand.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dag=$repo/target/release/dag
out=$repo/bench/out/real
rm -rf "$out"; mkdir -p "$out"; cd "$out"
cp "$repo/pipelines/study.yaml" study.yaml
run() { local name=$1; shift; /usr/bin/time -f "%e %M" -o "time-$name.txt" "$dag" run study.yaml --cache cache --set volume_size=real --progress plain "$@" > "log-$name.txt" 2>&1; read -r s kb < "time-$name.txt"; echo "| $name | $s s | $((kb / 1024)) MB |"; }
{
  echo "| run | wall | peak memory |"; echo "|---|---|---|"
  run cold
  # The cache now, before the margin change adds a second set of crops and features.
  dataset=$(du -sb "$(readlink -f results/dataset)" | cut -f1)
  total=$(du -sb cache | cut -f1)
  run margin --set margin_mm=12
  run noop --set margin_mm=12
  echo
  python3 - <<'PY'
import collections, re
t, n = collections.defaultdict(float), collections.Counter()
for line in open("log-cold.txt"):
    m = re.search(r"\] done (\w+)(\[[^\]]*\])? \(([0-9.]+) s\)", line)
    if m:
        t[m.group(1)] += float(m.group(3)); n[m.group(1)] += 1
print("| node | instances | total | each |"); print("|---|---|---|---|")
for k in sorted(t, key=lambda k: -t[k]):
    print(f"| {k} | {n[k]} | {t[k]:.1f} s | {t[k] / n[k]:.2f} s |")
PY
  patients=$(wc -l < results/cohort/patients.txt)
  awk -v d="$dataset" -v t="$total" -v p="$patients" 'BEGIN { printf "\ncache beyond the dataset after the cold run: %.2f MB per patient (%d patients; dataset %.1f GB)\n", (t - d) / p / 1e6, p, d / 1e9 }'
} | tee real.md
