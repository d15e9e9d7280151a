// The CUDA backends of the attention dispatch (attention_dispatch.cpp). cuda_backends.cpp
// implements them in a CUDA build (ATTNLAB_WITH_CUDA, LibTorch >= 2.5); no_cuda_backends.cpp
// stands in for them in a CPU build and says that this build has no CUDA.
#pragma once
#include <torch/types.h>

#include <string>

#include "attnlab/kernels/attention_backend.h"

namespace attnlab::kernels {

// What a backend returned: y_BHTD (gated when the call has a gate) and, for SDPA, the kernel
// SDPA picked (sdpa_kernel_name), for the record.
struct BackendResult {
  torch::Tensor y_BHTD;
  std::string sdpa_kernel;
};

// Runs backend (kSdpa, kFlash or kAttnlabCuda) on the call's CUDA tensors.
BackendResult run_cuda_backend(AttentionBackend backend, const AttentionCall& call);

}  // namespace attnlab::kernels
