// The stand-in for cuda_backends.cpp in a build without CUDA: a CUDA tensor reaching the
// attention dispatch (a CUDA LibTorch with -DATTNLAB_CUDA=OFF) gets a clear error.
#include <stdexcept>

#include "cuda_backends.h"

namespace attnlab::kernels {

BackendResult run_cuda_backend(AttentionBackend, const AttentionCall& call) {
  throw std::invalid_argument(
      "attnlab::kernels: q is on " + call.q_BHTD.device().str() +
      ", but this attnlab build has no CUDA; rebuild with -DATTNLAB_CUDA=ON against a CUDA "
      "LibTorch >= 2.5 (docs/GPU.md), or move q, k and v to the CPU");
}

}  // namespace attnlab::kernels
