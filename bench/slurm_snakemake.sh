#!/usr/bin/env bash
# dag and Snakemake 9 (snakemake-executor-plugin-slurm) on the same real single-node Slurm,
# one after the other (issue #15): the fan-out of pipelines/fanout.yaml and bench/Snakefile
# at N samples, both as job arrays, first on a cluster with accounting (MariaDB + slurmdbd,
# as the plugin's default status checks need `sacct`), then on one without. Records wall
# time, sbatch calls (a shim counts them), the main scheduler's cycles (sdiag, reset first)
# and the no-op rerun. Needs root (Slurm, MariaDB and /etc/slurm/slurm.conf, which the
# plugin's job steps need: their srun does not inherit SLURM_CONF).
#   bench/slurm_snakemake.sh [N]     (default 1000; SNAKEMAKE=path/to/snakemake, else a venv
#                                     in bench/out/smk-venv is made with pip; ROUNDS="1" for
#                                     the cluster with accounting only, default "1 0")
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
dag=$repo/target/release/dag
n=${1:-1000}
limit=${SMK_LIMIT:-900}
out=$repo/bench/out/slurm
mkdir -p "$out"
[ -x "$dag" ] || (cd "$repo" && cargo build --release --bins)
for p in slurmctld slurmdbd mariadbd; do command -v $p > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client slurmdbd mariadb-server > /dev/null; break; }; done
smk=${SNAKEMAKE:-$out/smk-venv/bin/snakemake}
[ -x "$smk" ] || { python3 -m venv "$out/smk-venv" && "$out/smk-venv/bin/pip" install -q snakemake==9.27.1 snakemake-executor-plugin-slurm==2.8.0; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/dag-slurm-vs.XXXXXX")
[ -e /etc/slurm/slurm.conf ] && { echo "/etc/slurm/slurm.conf exists: this benchmark would replace it" >&2; exit 1; }
cleanup() { "$repo/scripts/slurm-cluster.sh" stop "$dir/cluster" || true; rm -f /etc/slurm/slurm.conf; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/shim" /etc/slurm
printf '#!/bin/bash\necho "$*" >> "$SBATCH_LOG"\nexec %s "$@"\n' "$(command -v sbatch)" > "$dir/shim/sbatch"
chmod +x "$dir/shim/sbatch"
# timed LABEL ACCOUNTING -- COMMAND…: runs it twice in a fresh folder (cold, then the no-op
# rerun) and prints a row.
timed() {
  local label=$1 acct=$2; shift 3
  local work=$dir/$label
  mkdir -p "$work" && cd "$work"
  sed "s/range: 5000/range: $n/" "$repo/pipelines/fanout.yaml" > fan.yaml
  cp "$repo/bench/Snakefile" Snakefile
  sdiag -r > /dev/null
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  SBATCH_LOG=$work/sbatch.log PATH=$dir/shim:$PATH timeout -k 10 "$limit" "$@" > run.log 2>&1 || rc=$?
  t1=$(date +%s.%N)
  local cycles calls outputs again
  cycles=$(sdiag | awk -F: '/^Main schedule statistics/ {m=1} m && /Total cycles/ {gsub(/ /, "", $2); print $2; exit}')
  calls=$(cat sbatch.log 2> /dev/null | wc -l)
  outputs=$(find pre results/pre -mindepth 1 -maxdepth 1 2> /dev/null | wc -l)
  if [ $rc = 0 ]; then
    # Timed on its own: sdiag's answer above is not part of the rerun.
    local t_again
    t_again=$(date +%s.%N)
    SBATCH_LOG=$work/rerun-sbatch.log PATH=$dir/shim:$PATH timeout -k 10 120 "$@" > rerun.log 2>&1 || true
    again=$(printf '%.2f s' "$(echo "$(date +%s.%N) - $t_again" | bc)")
  else
    again="—"
  fi
  printf '| %s | %s | %s | %s | %.1f s | %s | %s | %s | %s |\n' "$label" "$acct" "$n" "$([ $rc = 0 ] && echo ok || echo "exit $rc")" "$(echo "$t1 - $t0" | bc)" "$outputs" "$calls" "$cycles" "$again"
  cd "$repo"
}
# Status checks as often as dag's (--slurm-poll 1): the plugin's defaults wait 40 s before
# the first and 10 s between rounds.
# Its job arrays (--slurm-array-jobs=all, SMK_ARRAYS=1) failed on this cluster with plugin
# 2.8.0: every task's batch script stopped at "--slurm-jobstep-array-execs: not found". So by
# default Snakemake submits one job per instance here.
arrays=(); [ "${SMK_ARRAYS:-0}" = 1 ] && arrays=(--slurm-array-jobs=all)
smk_args=(--executor slurm --jobs 1000 --config "count=$n" "${arrays[@]}" --seconds-between-status-checks 1 --slurm-init-seconds-before-status-checks 1 --default-resources slurm_partition=debug mem_mb=100 runtime=5)
{
  echo
  echo "### $(date -u +%F) $(git -C "$repo" rev-parse --short HEAD), N=$n, 64 job slots, Snakemake $("$smk" --version)"
  echo
  echo "| tool | accounting | samples | exit | cold wall | pre outputs | sbatch calls | scheduler cycles | no-op rerun |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for acct in ${ROUNDS:-1 0}; do
    SLURM_CPUS=64 SLURM_ACCOUNTING=$acct "$repo/scripts/slurm-cluster.sh" start "$dir/cluster" > /dev/null
    export SLURM_CONF=$dir/cluster/slurm.conf
    ln -sf "$SLURM_CONF" /etc/slurm/slurm.conf
    a=$([ $acct = 1 ] && echo yes || echo no)
    timed "dag-$acct" "$a" -- "$dag" run fan.yaml --executor slurm --progress plain --gpus none --slurm-poll 1 --slurm-jobs 1000
    if [ $acct = 1 ]; then
      timed "snakemake-$acct" "$a" -- "$smk" "${smk_args[@]}" slurm_account=bench
    else
      # The plugin's default status command is sacct, which has nothing to say here; it can
      # be told to use squeue.
      SMK_SAVE=$limit; limit=${SMK_HANG_LIMIT:-180}
      timed "snakemake-sacct-$acct" "$a" -- "$smk" "${smk_args[@]}" --slurm-no-account
      limit=$SMK_SAVE
      timed "snakemake-squeue-$acct" "$a" -- "$smk" "${smk_args[@]}" --slurm-no-account --slurm-status-command squeue
    fi
    "$repo/scripts/slurm-cluster.sh" stop "$dir/cluster"
    rm -rf "$dir/cluster"
  done
} | tee -a "$out/snakemake.md"
