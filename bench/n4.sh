#!/usr/bin/env bash
# N4 at shrink 4 with an Otsu mask: dag against SimpleITK 2.5 on the oracle volume and on a
# DUKE-sized phase, in one run; and one DUKE-sized patient's whole preprocessing on one core.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dag=$repo/target/release/dag
venv=$repo/bench/.venv
out=$repo/bench/out/n4
mkdir -p "$out"
if ! "$venv/bin/python" -c "import SimpleITK" 2> /dev/null; then
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "SimpleITK==2.5.*"
fi
best() { sort -n | head -1; }
dag_n4() { "$dag" image n4 "$1" -o "$out/corrected.nii" | sed -E 's/.* in ([0-9.]+) s.*/\1/'; }
sitk_n4() { "$venv/bin/python" "$repo/bench/n4_sitk.py" "$1" | sed -E 's/.*"seconds": ([0-9.]+).*/\1/'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", b / a }'; }

vol=$repo/tests/fixtures/oracles/n4/volume.nii.gz
dag_s=$(for _ in 1 2 3; do dag_n4 "$vol"; done | best)
sitk_s=$(for _ in 1 2 3; do sitk_n4 "$vol"; done | best)

# One DUKE-sized patient (448×448×160, three phases), written once.
duke=$out/duke
[ -d "$duke/images" ] || "$dag" synth --out "$duke" --patients 1 --unknown 0 --size duke > /dev/null
id=$(ls "$duke/images" | head -1)
phase=$(ls "$duke/images/$id/"*_0000.nii.gz)
duke_dag=$(for _ in 1 2 3; do dag_n4 "$phase"; done | best)
duke_sitk=$(sitk_n4 "$phase")

# The study's per-patient nodes (N4, resample, crop) from a cold cache, pinned to one core;
# best of three, with the peak resident memory of that run.
sed "s/PATIENT/$id/" "$repo/bench/preprocess.yaml" > "$out/preprocess.yaml"
prep() {
  for _ in 1 2 3; do
    rm -rf "$out/cache"
    /usr/bin/time -f "%e %M" -o "$out/time.txt" taskset -c 0 "$dag" run "$out/preprocess.yaml" --cache "$out/cache" --set dataset="$duke" --set bias="$1" --cpus 1 --progress quiet > /dev/null
    cat "$out/time.txt"
  done | sort -n
}
read -r pp_s _ <<< "$(prep per_patient | head -1)"
runs=$(prep per_phase)
read -r prep_s prep_kb <<< "$(echo "$runs" | head -1)"
cache_kb=$(du -sk "$out/cache" | cut -f1)
# The floor beside it: reading (decompressing and decoding) the three phases and the mask
# alone, as `dag image info` does, on the same core; best of three.
floor_s=$(for _ in 1 2 3; do
  /usr/bin/time -f "%e" -o "$out/floor.txt" taskset -c 0 sh -c "for f in $duke/images/$id/*.nii.gz $duke/segmentations/expert/$id.nii.gz; do \"$dag\" image info \"\$f\" > /dev/null; done"
  cat "$out/floor.txt"
done | best)
{
  echo "| N4, shrink 4, Otsu mask, 192×192×64 oracle volume | dag ${dag_s} s | SimpleITK ${sitk_s} s | $(ratio "$dag_s" "$sitk_s") |"
  echo "| N4, shrink 4, Otsu mask, DUKE-sized phase (448×448×160) | dag ${duke_dag} s | SimpleITK ${duke_sitk} s | $(ratio "$duke_dag" "$duke_sitk") |"
  echo "| one DUKE-sized patient, three phases: n4 → resample → crop, cold cache, one core | dag ${prep_s} s ($(awk -v s="$prep_s" 'BEGIN { printf "%.2f", s / 3 }') s per phase), peak $((prep_kb / 1024)) MB, cache $((cache_kb / 1024)) MB | | |"
  echo "| the same with bias: per_patient (one field, fitted to the pre-contrast phase) | dag ${pp_s} s | | |"
  echo "| the floor: reading the three phases and the mask alone (dag image info), one core | dag ${floor_s} s | | |"
} | tee "$out/n4.md"
