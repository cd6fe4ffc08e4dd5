#!/usr/bin/env bash
# `make fuzz`: every fuzz target (fuzz/fuzz_targets) for SECONDS each, from seed corpora made
# of real files: what the project writes (a synthetic patient, its N4 fields, a cache's
# records), the repository's fixtures and pipelines, and nibabel's test volumes when nibabel
# is installed (`pip install nibabel`; they are read from the wheel, never committed).
# Crashes land in fuzz/artifacts/<target>/; each one found becomes a fix and a test.
set -euo pipefail
seconds=${1:-60}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz
cargo build --release --bin dag
dag=$repo/target/release/dag
corpus=$repo/fuzz/corpus
seeds=$(mktemp -d); trap 'rm -rf "$seeds"' EXIT
mkdir -p "$corpus"/{spec,nifti,table,bias_field,cache_logs,cohort,job_file,npy,safetensors}

# What the project writes: one small patient, N4 on it, and the cache that run leaves.
"$dag" synth --out "$seeds/data" --patients 1 --unknown 0 > /dev/null
id=$(ls "$seeds/data/images")
printf 'name: seed\nsets:\n  patient: {values: [%s]}\nnodes:\n  n4:\n    foreach: patient\n    task: n4\n    with: {dataset: data, patient: "{patient}"}\n' "$id" > "$seeds/p.yaml"
(cd "$seeds" && "$dag" run p.yaml --progress quiet > /dev/null)
for f in "$seeds"/data/images/*/*.nii.gz "$seeds"/data/segmentations/expert/*.nii.gz; do
  { printf '\001'; cat "$f"; } > "$corpus/nifti/$(basename "$f")"      # 1: read as .nii.gz
  { printf '\000'; gzip -dc "$f"; } > "$corpus/nifti/$(basename "$f" .gz)"  # 0: as .nii
done
for j in "$seeds"/results/n4/*/bias/*/*.json; do
  { cat "$j"; printf '\000'; cat "${j%.json}.lattice.npy"; } > "$corpus/bias_field/$(basename "$j")"
done
{ cat "$seeds/cache/actions.log"; printf '\000'; cat "$seeds/cache/manifests.log"; printf '\000'; cat "$seeds/cache/verified.log"; } > "$corpus/cache_logs/seed"
cp pipelines/*.yaml bench/preprocess.yaml "$corpus/spec/"
info=$(find "$seeds/data/patient_info_files" -name '*.json' | head -1)
{ cat "$seeds/data/clinical_and_imaging_info.xlsx"; printf '\000'; cat "$info"; } > "$corpus/cohort/seed"
# A job file and its result, as a Slurm run writes them (tests/slurm.rs's stand-in leaves them too).
printf '{"id":"a[1]","value":"1","work":{"shell":{"command":"true"}},"staging":"s","log":"l","workdir":".","inputs":{},"device":"cpu","cpu_fallback":false,"cpus":1,"timeout_s":90}' > "$corpus/job_file/job"
printf '{"error":null,"usage":{"cpu_s":0.5,"peak_rss_mb":12,"host":"n1","executor":"local"}}' > "$corpus/job_file/result"
cp tests/fixtures/oracles/stats/*.csv "$corpus/table/" 2>/dev/null || true
# .npy files as the study writes them: N4's lattices (float64).
for j in "$seeds"/results/n4/*/bias/*/*.lattice.npy; do cp "$j" "$corpus/npy/$(basename "$(dirname "$j")")-lattice.npy"; done
# A small safetensors file in the layout torchvision weights have (names, F32, offsets).
"${PYTHON:-python3}" - "$corpus/safetensors/seed" <<'PYEOF'
import json, struct, sys
tensors = {"features.conv0.weight": ("F32", [4, 3, 1, 1]), "classifier.bias": ("F32", [2])}
header, blob = {}, b""
for name, (dtype, shape) in tensors.items():
    n = 4
    for d in shape:
        n *= d
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + n]}
    blob += bytes(range(n % 256)) + bytes(n - n % 256)
h = json.dumps(header).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + blob)
PYEOF
# Other tools' NIfTI files, where nibabel is installed.
nib=$("${PYTHON:-python3}" -c 'import nibabel, os; print(os.path.join(os.path.dirname(nibabel.__file__), "tests", "data"))' 2>/dev/null || true)
if [ -n "$nib" ] && [ -d "$nib" ]; then
  for f in "$nib"/*.nii "$nib"/*.nii.gz; do
    [ -f "$f" ] || continue
    case $f in *.gz) { printf '\001'; cat "$f"; } ;; *) { printf '\000'; cat "$f"; } ;; esac > "$corpus/nifti/nib-$(basename "$f")"
  done
fi

cd fuzz
failed=()
for t in spec nifti table bias_field cache_logs cohort job_file npy safetensors; do
  echo "fuzz: $t for ${seconds}s"
  if ! cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=4096 > "corpus/$t.log" 2>&1; then
    failed+=("$t")
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "corpus/$t.log" | head -5
  fi
  grep -E "DONE" "corpus/$t.log" | tail -1 || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]} (inputs in fuzz/artifacts/, logs in fuzz/corpus/*.log)" >&2
  exit 1
fi
