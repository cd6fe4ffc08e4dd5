#!/usr/bin/env bash
# The model's work in dag (dag-torch bench) and in PyTorch 2.13 + torchvision
# (bench/model_torch.py), one after the other on this machine: the frozen prefix of
# DenseNet121 on 433 crops of 224×224, 30 epochs of the unfrozen tail on one fold, and (dag
# only) the ratio of training end to end (prefix recomputed every step) to training from the
# cached prefix. Needs `make build`; PyTorch is installed into bench/.venv on first use (≈3 GB).
# DEVICE=cuda:0 runs both on the GPU (a CUDA libtorch: `DAG_CUDA=1 make setup`).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=$repo/bench/.venv
patients=${PATIENTS:-433}
epochs=${EPOCHS:-30}
threads=${THREADS:-2}
device=${DEVICE:-cpu}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c "import torch, torchvision" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check torch==2.13.0
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps torchvision==0.28.0
fi
echo "== model: $patients patients, $epochs epochs, $threads threads ($(nproc) cores), $device"
echo "dag:     $("$repo/target/release/dag-torch" bench --patients "$patients" --epochs "$epochs" --threads "$threads" --device "$device")"
echo "pytorch: $("$venv/bin/python" "$repo/bench/model_torch.py" "$patients" "$epochs" "$threads" "$device")"
