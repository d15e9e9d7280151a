// Causal softmax attention with grouped-query heads and an optional sliding window (window.h's
// convention), plain and with a per-head gate, differentiable. The backend follows the device
// (attention_backend.h, docs/GPU.md): CPU tensors run the blocked kernel (blocked_attention.cpp:
// block by block, O(T·w) time and memory for a window of w, a backward that recomputes each
// block from the saved logsumexp); CUDA tensors run LibTorch's fused SDPA (dense), LibTorch's
// flash attention with a window, or attnlab's CUDA kernel. Each call records the backend it ran
// (attention_backends_used).
//
// Shape legend: B batch, H query heads, K key/value heads (H % K == 0; query head h reads
// kv head h / (H / K)), T sequence length, D head dim.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "attnlab/kernels/window.h"

namespace attnlab::kernels {

struct AttentionParams {
  int64_t window = kDenseWindow;  // already resolved for this T (see window_for_length)
  int64_t block_size = 64;        // CPU: queries per block (64: fastest measured, docs/KERNELS.md)
  double scale = 0.0;             // softmax scale; 0 means 1/sqrt(D)
};

// y_BHTD[b,h,i] = sum_j softmax_j(q_i·k_j·scale over visible j) v_j.
// Floating dtypes; on the CPU half/bfloat16 are computed in float32 and returned in their own
// dtype (on CUDA see attention_backend.h for which dtypes and head dims each backend takes).
// Throws std::invalid_argument naming the offending argument on bad shapes/dtypes/params.
torch::Tensor causal_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                               const torch::Tensor& v_BKTD, const AttentionParams& params);

// causal_attention(...) with every head's output scaled by a per-token gate:
// y_BHTD[b,h,t] * gate_BTH[b,t,h]; fused into the kernel on the CPU and with attnlab's CUDA
// kernel, a separate multiply after LibTorch's SDPA / flash attention.
torch::Tensor gated_causal_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                     const torch::Tensor& v_BKTD, const torch::Tensor& gate_BTH,
                                     const AttentionParams& params);

// The backends causal_attention / gated_causal_attention ran in this process, as distinct
// descriptions in first-use order: "blocked (cpu), window 256", "flash (sdpa), dense",
// "flash, window 256", "attnlab cuda kernel, window 256". Thread-safe.
std::vector<std::string> attention_backends_used();
void reset_attention_backends_used();

}  // namespace attnlab::kernels
