// attnlab's CUDA windowed attention kernel (windowed_attention.cuh) as a differentiable
// LibTorch function: the CUDA backend kAttnlabCuda of the attention dispatch
// (attention_backend.h). Compiled only in a CUDA build (ATTNLAB_WITH_CUDA).
#pragma once
#include <torch/types.h>

#include "attnlab/kernels/attention_backend.h"

namespace attnlab::kernels::cuda {

// y_BHTD of call on CUDA tensors (gate fused when call.gate_BTH is defined), head dim 64 or
// 128, fp32/fp16/bf16. Throws std::invalid_argument on an unsupported dtype, and
// std::runtime_error with the launcher's message when a launch fails (e.g. head dim or a GPU
// older than sm_80).
torch::Tensor windowed_attention(const AttentionCall& call);

}  // namespace attnlab::kernels::cuda
