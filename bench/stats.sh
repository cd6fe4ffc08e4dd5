#!/usr/bin/env bash
# Survival statistics: dag against lifelines and scikit-survival (and compareC's numpy port
# with BENCH_FULL=1: it is O(n²) and takes minutes at n=20,000), on the same cohorts.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/bench/out/stats
venv=$repo/bench/.venv
mkdir -p "$out"
if ! "$venv/bin/python" -c "import lifelines, sksurv" 2> /dev/null; then
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "lifelines==0.30.*" "scikit-survival==0.28.*"
fi
cd "$repo"
dag=$(cargo bench --quiet --bench survival -- --out "$out" 2> /dev/null | tail -1)
kang_flag=""
if [ "${BENCH_FULL:-0}" = 1 ]; then kang_flag="--kang"; fi
peers=$("$venv/bin/python" bench/stats_peers.py "$out" $kang_flag)
python3 - "$dag" "$peers" <<'PY' | tee "$out/stats.md"
import json, sys
d, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def row(what, ours, peer, name):
    if peer in p:
        print(f"| {what} | {d[ours]*1000:.1f} ms | {p[peer]*1000:.0f} ms ({name}) | {p[peer]/d[ours]:.0f}× |")
    else:
        print(f"| {what} | {d[ours]*1000:.1f} ms | not run ({name}) | |")
print(f"dag on {d['threads']} threads; best of several runs each.\n")
print("| work | dag | peer | ratio |\n|---|---|---|---|")
row("Harrell C, n=100,000", "harrell_c_100000", "lifelines_harrell_c_100000", "lifelines")
row("Harrell C, n=100,000", "harrell_c_100000", "sksurv_harrell_c_100000", "scikit-survival")
row("Cox fit, Efron, 3 covariates, n=100,000", "cox_efron_3cov_100000", "lifelines_cox_efron_3cov_100000", "lifelines")
row("Kang test, n=20,000", "kang_20000", "compareC_numpy_port_kang_20000", "compareC numpy port; BENCH_FULL=1")
print(f"| 1000 bootstrap Harrell C, n=433 | {d['bootstrap_1000_harrell_433']*1000:.1f} ms | | |")
agree = abs(d["check"]["harrell_c_100000"] - p["check_sksurv_harrell_c_100000"])
print(f"\nHarrell C at n=100,000: dag {d['check']['harrell_c_100000']:.12f}, |Δ| to scikit-survival {agree:.1e}.")
if "check_compareC_kang_20000_z" in p:
    print(f"Kang z at n=20,000: dag {d['check']['kang_20000_z']:.9f}, compareC port {p['check_compareC_kang_20000_z']:.9f}.")
PY
