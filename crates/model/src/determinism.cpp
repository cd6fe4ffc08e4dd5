// Deterministic cuDNN for dag-torch's training (src/determinism.rs says why). libtorch's
// switches are members of at::Context, which neither tch nor torch-sys's C API exposes.
#include <ATen/Context.h>

extern "C" void dag_set_deterministic(int on) {
  // cuDNN's deterministic algorithms (its default weight-gradient kernels accumulate with
  // atomics, in an order that differs run to run), no benchmarking (which may pick another
  // algorithm each run), and ATen's own deterministic paths where it has them (warn, do not
  // fail, where it has none).
  at::globalContext().setDeterministicCuDNN(on != 0);
  at::globalContext().setBenchmarkCuDNN(false);
  at::globalContext().setDeterministicAlgorithms(on != 0, /*warn_only=*/true);
}

extern "C" int dag_deterministic_cudnn() {
  return at::globalContext().deterministicCuDNN() ? 1 : 0;
}
