#!/usr/bin/env bash
# The suite as a newcomer runs it: a clone of this repository's HEAD, placed where no
# `shared/` folder exists in any parent and with DAG_ORACLES unset, so a test that reads
# anything outside the checkout fails here instead of passing on a developer's machine.
# (A clone holds what is committed: commit before you run this.) Extra arguments go to make.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

# A path into a sibling checkout (../shared/…) would work here and nowhere else.
if git -C "$repo" grep -n -I -e '\.\./shared/' -- . ':!scripts/standalone-test.sh'; then
  echo "standalone: the lines above point outside the repository (../shared)" >&2
  exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/dag-standalone.XXXXXX")
trap 'rm -rf "$dir"' EXIT
for d in "$dir" $(cd "$dir" && while [ "$PWD" != / ]; do cd ..; echo "$PWD"; done); do
  if [ -e "$d/shared" ]; then
    echo "standalone: $d/shared exists, so this is no lone clone; set TMPDIR elsewhere" >&2
    exit 1
  fi
done
git clone -q "$repo" "$dir/dag"
# The build is reused where it can be: the dependencies compile once per machine.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
echo "standalone: make ${*:-test} in $dir/dag (no shared/ above it, DAG_ORACLES unset)"
env -u DAG_ORACLES make -C "$dir/dag" "${@:-test}"
