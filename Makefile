# The two commands a newcomer needs are `make run` and `make test`; each sets up what it needs.
SHELL := /bin/bash
CARGO ?= cargo
SETUP_STAMP := .cargo/config.toml

.PHONY: setup build run test engine-alone test-standalone test-slurm lint fuzz bench clean

# libtorch 2.13.0 (for tch 0.26) once per user under ~/.cache/dag, and a git-ignored
# .cargo/config.toml pointing cargo at it; export LIBTORCH beforehand to use your own.
setup: $(SETUP_STAMP)
$(SETUP_STAMP): scripts/setup-libtorch.sh
	./scripts/setup-libtorch.sh

build: setup
	$(CARGO) build --release --bins

# The main job: the study pipeline, then its report. ARGS go to `dag run`, e.g.
# `make run ARGS="--set volume_size=real"`. The binary is where cargo builds it
# (CARGO_TARGET_DIR when set, as scripts/standalone-test.sh sets it).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
run: build
	$(TARGET_DIR)/release/dag run pipelines/study.yaml $(ARGS)
	@cat results/report/report.txt

# Every crate's tests; first, the rule that the engine crate needs no libtorch (no tch or
# torch-sys anywhere in its dependency tree, dev-dependencies included).
test: setup engine-alone
	$(CARGO) test

engine-alone:
	@if $(CARGO) tree -p dag-engine -e normal,build,dev --prefix none | grep -E '^(tch|torch-sys) '; then \
	  echo "dag-engine must build without libtorch, but depends on the crates above" >&2; exit 1; fi

# `make test` in a lone clone of HEAD, where no ../shared exists (what CI runs): a test that
# reads anything outside the repository fails here.
test-standalone:
	./scripts/standalone-test.sh test

# The Slurm tests on a real single-node cluster (tests/slurm_real.rs): installs Debian's Slurm
# if it is missing (as root, as CI runs), starts slurmctld and slurmd in a temporary folder,
# runs the tests, and stops the daemons by their pid files, also when a test fails.
test-slurm: setup
	@command -v slurmctld > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client > /dev/null; }
	@dir=$$(mktemp -d "$${TMPDIR:-/tmp}/dag-slurm.XXXXXX"); \
	  trap './scripts/slurm-cluster.sh stop "$$dir"; rm -rf "$$dir"' EXIT; \
	  ./scripts/slurm-cluster.sh start "$$dir" > /dev/null && \
	  SLURM_CONF="$$dir/slurm.conf" $(CARGO) test --test slurm_real -- --ignored

# Clippy on everything, warnings as errors (not part of `make test`: a lint is not a failing
# behaviour, and a new toolchain's new lints should not turn CI red).
lint: setup
	$(CARGO) clippy --all-targets -- -D warnings

# Every fuzz target (fuzz/) for FUZZ_SECONDS each with cargo-fuzz on the nightly toolchain
# (cargo-fuzz installed if missing), from seed corpora of real files (scripts/fuzz.sh).
FUZZ_SECONDS ?= 60
fuzz:
	./scripts/fuzz.sh $(FUZZ_SECONDS)

bench: build
	./bench/run.sh

clean:
	$(CARGO) clean
	rm -rf cache/* results
