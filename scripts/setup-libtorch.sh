#!/usr/bin/env bash
# Installs libtorch 2.13.0 (the version tch 0.26 binds) once per user, outside the repository,
# so that every clone on this machine reuses it, and points cargo at it through a git-ignored
# .cargo/config.toml. A LIBTORCH already set in the environment wins: users with their own
# libtorch (e.g. a CUDA build) just export LIBTORCH before `make setup`. DAG_CUDA=1 installs
# the wheel with its CUDA libraries (≈5 GB, a separate folder) for a GPU machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
version=2.13.0

if [ -n "${LIBTORCH:-}" ]; then
  libtorch=$LIBTORCH
  echo "setup: using LIBTORCH=$libtorch from the environment"
else
  flavour=$([ "${DAG_CUDA:-0}" = 1 ] && echo "-cuda" || true)
  root=${DAG_LIBTORCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/dag/libtorch-$version$flavour}
  libtorch=$root/torch
  # The marker is written last, so an interrupted install is redone instead of trusted.
  if [ ! -f "$root/.complete" ]; then
    tmp="$root.tmp.$$"
    rm -rf "$tmp"
    if [ -n "$flavour" ]; then
      # With its dependencies: cuBLAS, cuDNN, NCCL, … which libtorch_cuda.so needs to load
      # (dag-torch loads it at start; without them it runs on the CPU and says why).
      echo "setup: installing libtorch $version with CUDA into $root (about 5 GB, once per user)"
      python3 -m pip install --quiet --disable-pip-version-check --target "$tmp" "torch==$version"
    else
      echo "setup: installing libtorch $version into $root (about 540 MB, once per user)"
      # --no-deps: the CPU runtime needs only these two CUDA stubs.
      python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$tmp" \
        "torch==$version" "nvidia-cuda-runtime==13.0.96.*" "nvidia-cuda-cupti==13.0.85.*"
    fi
    rm -rf "$root"
    mv "$tmp" "$root"
    touch "$root/.complete"
  fi
fi

[ -f "$libtorch/lib/libtorch_cpu.so" ] || { echo "setup: $libtorch/lib/libtorch_cpu.so not found" >&2; exit 1; }

mkdir -p "$repo/.cargo"
cat > "$repo/.cargo/config.toml.new" <<CFG
# Written by scripts/setup-libtorch.sh (make setup); not tracked by git.
# A LIBTORCH exported in the shell takes precedence over this one.
[env]
LIBTORCH = "$libtorch"
CFG
mv "$repo/.cargo/config.toml.new" "$repo/.cargo/config.toml"
echo "setup: LIBTORCH=$libtorch"
