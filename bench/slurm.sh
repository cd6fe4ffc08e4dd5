#!/usr/bin/env bash
# The fan-out (pipelines/fanout.yaml, N samples) through `dag run --executor slurm` on a real
# single-node Slurm (scripts/slurm-cluster.sh, no accounting, declaring SLURM_CPUS=64 job
# slots: this machine's Slurm needs ~0.4 s of wall per job however small, so 8 slots would
# measure little but that), issue #15: wall time,
# the number of sbatch calls (counted by a shim in front of the real sbatch), the scheduler's
# main-loop cycles (sdiag, reset first), and the no-op rerun. Job arrays (the default) first,
# then, at a tenth of N, one job per instance (--slurm-array-max 1) for contrast.
#   bench/slurm.sh [N]        (default 5000; needs root for Slurm, as make test-slurm)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dag=$repo/target/release/dag
n=${1:-5000}
out=$repo/bench/out/slurm
mkdir -p "$out"
[ -x "$dag" ] || (cd "$repo" && cargo build --release --bins)
command -v slurmctld > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client > /dev/null; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/dag-slurm-bench.XXXXXX")
trap '"$repo/scripts/slurm-cluster.sh" stop "$dir"; rm -rf "$dir"' EXIT
SLURM_CPUS=${SLURM_CPUS:-64} "$repo/scripts/slurm-cluster.sh" start "$dir" > /dev/null
export SLURM_CONF=$dir/slurm.conf
real=$(command -v sbatch)
mkdir -p "$dir/shim"
printf '#!/bin/bash\necho "$*" >> "$SBATCH_LOG"\nexec %s "$@"\n' "$real" > "$dir/shim/sbatch"
chmod +x "$dir/shim/sbatch"
# one LABEL SAMPLES [dag arguments]: a cold run and its no-op rerun in a fresh folder.
one() {
  local label=$1 samples=$2; shift 2
  local work=$dir/$label
  mkdir -p "$work"
  sed "s/range: 5000/range: $samples/" "$repo/pipelines/fanout.yaml" > "$work/fan.yaml"
  cd "$work"
  sdiag -r > /dev/null
  local t0 t1 t2
  t0=$(date +%s.%N)
  SBATCH_LOG=$work/sbatch.log PATH=$dir/shim:$PATH "$dag" run fan.yaml --executor slurm --progress plain --gpus none "$@" > run.log 2>&1 || { echo "$label failed:"; tail -5 run.log; return 1; }
  t1=$(date +%s.%N)
  local cycles
  cycles=$(sdiag | awk -F: '/^Main schedule statistics/ {m=1} m && /Total cycles/ {gsub(/ /, "", $2); print $2; exit}')
  # The rerun is timed on its own (sdiag's answer above is not part of it).
  local t_again
  t_again=$(date +%s.%N)
  SBATCH_LOG=$work/sbatch.log PATH=$dir/shim:$PATH "$dag" run fan.yaml --executor slurm --progress plain --gpus none "$@" > rerun.log 2>&1
  t2=$(date +%s.%N)
  local calls largest
  calls=$(wc -l < "$work/sbatch.log")
  largest=$(grep -o -- '--array=0-[0-9]*' "$work/sbatch.log" | sed 's/--array=0-//' | sort -n | tail -1 || true)
  printf '| %s | %s | %s | %.1f s | %s | %s | %s | %.2f s |\n' "$label" "$samples" "$(grep -o '^[0-9]* ran' run.log | tail -1)" "$(echo "$t1 - $t0" | bc)" "$calls" "$( [ -n "$largest" ] && echo $(( largest + 1 )) || echo —)" "$cycles" "$(echo "$t2 - $t_again" | bc)"
  cd "$repo"
}
{
  echo
  echo "### $(date -u +%F) $(git -C "$repo" rev-parse --short HEAD), N=$n, ${SLURM_CPUS:-64} job slots"
  echo
  echo "| submission | samples | instances run | cold wall | sbatch calls | largest array | scheduler cycles (sdiag) | no-op rerun |"
  echo "|---|---|---|---|---|---|---|---|"
  one arrays "$n" --slurm-poll 1 --slurm-jobs 1000
  one singles $(( n / 10 )) --slurm-poll 1 --slurm-jobs 1000 --slurm-array-max 1
} | tee -a "$out/slurm.md"
