#!/usr/bin/env bash
# Builds `dag` and `dag-torch` for the GPU machine into .gpu/ (git-ignored). That machine has
# PyTorch 2.11 (CUDA 13) and no Rust, and far less can be carried to it than libtorch 2.13's
# CUDA build, so the binaries link against the PyPI wheel of torch 2.11 (downloaded once) with
# tch 0.24, the tch release for libtorch 2.11, in a throwaway worktree of HEAD; the code
# compiles unchanged. On the device, run with LD_LIBRARY_PATH at its own torch/lib
# (bench/gpu/checks.sh does). Takes ~5 min on 2 cores.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
wheel=${TORCH_WHEEL_DIR:-/tmp/t211}
if [ ! -d "$wheel/x/torch/lib" ]; then
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 -d "$wheel" torch==2.11.0
  (cd "$wheel" && mkdir -p x && python3 -m zipfile -e torch-2.11.0-*.whl x)
fi
wt=$(mktemp -d)/gwt
git -C "$repo" worktree add -q --detach "$wt" HEAD
trap 'git -C "$repo" worktree remove --force "$wt"' EXIT
sed -i 's/^tch = "0.26"/tch = "0.24"/; s/^torch-sys = "=0.26.0"/torch-sys = "=0.24.0"/' "$wt/Cargo.toml"
(cd "$wt" && LIBTORCH="$wheel/x/torch" CARGO_TARGET_DIR=${GPU_TARGET:-/tmp/gwt-target} cargo build --release --bins)
mkdir -p "$repo/.gpu"
cp "${GPU_TARGET:-/tmp/gwt-target}/release/dag" "${GPU_TARGET:-/tmp/gwt-target}/release/dag-torch" "$repo/.gpu/"
# Stripped, the two fit the 64 MiB the device tool carries (~17 MB).
strip "$repo/.gpu/dag" "$repo/.gpu/dag-torch"
grep -qx '/.gpu/' "$repo/.git/info/exclude" 2>/dev/null || echo /.gpu/ >> "$repo/.git/info/exclude"
ls -la "$repo/.gpu"
