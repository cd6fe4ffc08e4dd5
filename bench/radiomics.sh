#!/usr/bin/env bash
# Radiomics: `dag radiomics` against PyRadiomics 3.1.4 (pyradiomics-bhklab) on one
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
