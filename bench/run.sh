#!/usr/bin/env bash
# Engine benchmarks, side by side with Snakemake 9 on the same fan-out workload, in one run.
#   make bench                 dag at N=1000 and 5000, Snakemake at N=1000
#   BENCH_FULL=1 make bench    also Snakemake at N=5000 (its cold run takes ≈13 min on 2 cores)
# Writes bench/out/engine.md (the table for BENCHMARKS.md) and prints it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dag=$repo/target/release/dag
out=$repo/bench/out
mkdir -p "$out"
cores=$(nproc)

venv=$repo/bench/.venv
if [ ! -x "$venv/bin/snakemake" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "snakemake>=9,<10"
fi
smk_version=$("$venv/bin/snakemake" --version)

ns() { # run a command, print its wall time in nanoseconds
  local t0 t1
  t0=$(date +%s%N)
  if ! "$@" > "$out/last.log" 2>&1; then echo "benchmark command failed: $* (see $out/last.log)" >&2; return 1; fi
  t1=$(date +%s%N)
  echo $((t1 - t0))
}
secs() { local t; t=$(ns "$@") || return 1; awk -v ns="$t" 'BEGIN { printf "%.3f", ns / 1e9 }'; }
mean_secs() { # mean wall time of N runs of a command
  local n=$1; shift; local total=0 t
  for _ in $(seq "$n"); do t=$(ns "$@") || return 1; total=$((total + t)); done
  awk -v ns="$total" -v n="$n" 'BEGIN { printf "%.3f", ns / n / 1e9 }'
}

rows=()
bench_dag() {
  local n=$1; local dir=$out/dag-$n
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  sed "s/range: 5000/range: $n/" "$repo/pipelines/fanout.yaml" > fanout.yaml
  local cold noop alpha ran
  cold=$(secs "$dag" run fanout.yaml --progress quiet)
  noop=$(mean_secs 10 "$dag" run fanout.yaml --progress quiet)
  alpha=$(secs "$dag" run fanout.yaml --progress quiet --set alpha=0.1)
  "$dag" run fanout.yaml --progress plain --set alpha=0.2 > alpha.log
  ran=$(grep -c '] done ' alpha.log || true)
  rows+=("| dag | $n | $cold | $noop | $alpha (reran $ran instance) |")
  cd "$repo"
}
bench_snakemake() {
  local n=$1; local dir=$out/snakemake-$n
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  local smk=("$venv/bin/snakemake" -s "$repo/bench/Snakefile" -c "$cores" -q --config "count=$n")
  local cold noop alpha
  cold=$(secs "${smk[@]}")
  noop=$(mean_secs 3 "${smk[@]}")
  alpha=$(secs "$venv/bin/snakemake" -s "$repo/bench/Snakefile" -c "$cores" -q --config "count=$n" alpha=0.1)
  rows+=("| $smk_version | $n | $cold | $noop | $alpha |")
  cd "$repo"
}

bench_dag 1000
bench_dag 5000
bench_snakemake 1000
if [ "${BENCH_FULL:-0}" = 1 ]; then bench_snakemake 5000; fi

# Planning a 100,000-instance pipeline of in-process no-op tasks.
dir=$out/plan-100k; rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
cat > noop.yaml <<'YAML'
name: noop100k
sets:
  i: {range: 100000}
nodes:
  touch:
    foreach: i
    task: noop
    with: {label: "{i}"}
  gather:
    needs: touch
    task: noop
YAML
plan=$( { /usr/bin/time -f '%e %M' "$dag" plan noop.yaml > /dev/null; } 2>&1 | tail -1)
cd "$repo"

{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); seconds of wall time."
  echo
  echo "| tool | N | cold run | no-op rerun (mean) | after changing alpha |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  read -r psecs pkb <<< "$plan"
  echo "dag plan of 100,000 in-process no-op instances (+1 gather): $psecs s, peak memory $((pkb / 1024)) MB."
} | tee "$out/engine.md"

echo
"$repo/bench/stats.sh"
echo
"$repo/bench/n4.sh"

echo
"$repo/bench/model.sh"

echo
"$repo/bench/study.sh"

echo
"$repo/bench/radiomics.sh"
