#!/usr/bin/env bash
# N4 at shrink 4 with an Otsu mask: dag against SimpleITK 2.5 on the oracle volume, in one run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=$repo/bench/.venv
out=$repo/bench/out/n4
mkdir -p "$out"
if ! "$venv/bin/python" -c "import SimpleITK" 2> /dev/null; then
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "SimpleITK==2.5.*"
fi
vol=$repo/../shared/oracles/n4/volume.nii.gz
best() { sort -n | head -1; }
dag_s=$(for _ in 1 2 3; do "$repo/target/release/dag" image n4 "$vol" -o "$out/corrected.nii.gz" --bias-out "$out/log_bias.nii.gz" | sed -E 's/.* in ([0-9.]+) s.*/\1/'; done | best)
sitk_s=$(for _ in 1 2 3; do "$venv/bin/python" "$repo/bench/n4_sitk.py" "$vol" | sed -E 's/.*"seconds": ([0-9.]+).*/\1/'; done | best)
{
  echo "| N4, shrink 4, Otsu mask, 192×192×64 oracle volume | dag ${dag_s} s | SimpleITK ${sitk_s} s | $(awk -v a="$dag_s" -v b="$sitk_s" 'BEGIN { printf "%.1f×", b / a }') |"
} | tee "$out/n4.md"
