#!/usr/bin/env bash
# Radiomics: dag against PyRadiomics 3.1.4 (pyradiomics-bhklab) on one
# DUKE-sized patient's first post-contrast phase (448×448×160) within its expert mask, each
# timed from the files (reading both, every feature); best of three, one after the other.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dag=$repo/target/release/dag
venv=$repo/bench/.venv-radiomics
out=$repo/bench/out/radiomics
mkdir -p "$out"
if ! "$venv/bin/python" -c "import radiomics" 2> /dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pyradiomics-bhklab==3.1.4"
fi
best() { sort -n | head -1; }
duke=$out/duke
[ -d "$duke/images" ] || "$dag" synth --out "$duke" --patients 1 --unknown 0 --size duke > /dev/null
id=$(ls "$duke/images" | head -1)
image=$(ls "$duke/images/$id/"*_0001.nii.gz)
mask=$duke/segmentations/expert/$id.nii.gz
voxels=$("$dag" radiomics --image "$image" --mask "$mask" --json | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["original_shape_VoxelVolume"]))')
dag_s=$(for _ in 1 2 3; do
  /usr/bin/time -f "%e" -o "$out/time.txt" "$dag" radiomics --image "$image" --mask "$mask" > /dev/null
  cat "$out/time.txt"
done | best)
pyr_s=$(for _ in 1 2 3; do "$venv/bin/python" "$repo/bench/radiomics_pyr.py" "$image" "$mask"; done | best)
echo "| 107 features, one DUKE-sized tumour (448×448×160 phase, ROI ${voxels} mm³) | dag ${dag_s} s | PyRadiomics ${pyr_s} s | $(awk -v a="$dag_s" -v b="$pyr_s" 'BEGIN { printf "%.1f×", b / a }') |" | tee "$out/radiomics.md"

# The synthetic cohort (64×64×24 volumes): every patient's phase 1 within its mask, on one
# core, best of three: both tools in their batch mode over one CSV of pairs (one process each,
# reading every file and computing every feature); and dag as the study runs it, the
# `radiomics` node over every patient from a cold cache (each instance keyed, stored and
# logged).
cohort=$out/cohort
[ -d "$cohort/images" ] || "$dag" synth --out "$cohort" --patients 433 > /dev/null
{ echo patient_id; ls "$cohort/images"; } > "$out/patients.csv"
{ echo Image,Mask; for d in "$cohort"/images/*/; do id=$(basename "$d"); echo "$(ls "$d"*_0001.nii.gz),$cohort/segmentations/expert/$id.nii.gz"; done; } > "$out/batch.csv"
n=$(($(wc -l < "$out/batch.csv") - 1))
timed() { /usr/bin/time -f "%e" -o "$out/time.txt" taskset -c 0 "$@" > /dev/null; cat "$out/time.txt"; }
dag_b=$(for _ in 1 2 3; do timed "$dag" radiomics --batch "$out/batch.csv"; done | best)
pyr_b=$(for _ in 1 2 3; do taskset -c 0 "$venv/bin/python" "$repo/bench/radiomics_pyr.py" --batch "$out/batch.csv"; done | best)
cp "$repo/bench/radiomics.yaml" "$out/radiomics.yaml"
dag_p=$(for _ in 1 2 3; do
  rm -rf "$out/cache"
  (cd "$out" && timed "$dag" run radiomics.yaml --cache cache --results results --cpus 1 --progress quiet)
done | best)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", b / a }'; }
{
  echo "| 107 features, the synthetic cohort's $n patients (64×64×24: 433 kept, 35 excluded), batch mode, one core | dag ${dag_b} s | PyRadiomics ${pyr_b} s | $(ratio "$dag_b" "$pyr_b") |"
  echo "| the same cohort as the study runs it: the radiomics node, cold cache, one core | dag ${dag_p} s | | $(ratio "$dag_p" "$pyr_b") |"
} | tee -a "$out/radiomics.md"
