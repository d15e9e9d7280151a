// Causal softmax attention with grouped-query heads and an optional sliding window, computed
// block by block so memory and time are O(T·w) for a window of w (O(T·block) extra memory for
// dense). Differentiable: a custom autograd function whose backward recomputes each block
// from the saved per-row logsumexp (flash-attention style), so autograd keeps only q, k, v,
// the output and the logsumexp. The window convention is window.h's.
//
// Shape legend: B batch, H query heads, K key/value heads (H % K == 0; query head h reads
// kv head h / (H / K)), T sequence length, D head dim.
#pragma once
#include <torch/types.h>

#include <cstdint>

#include "attnlab/kernels/window.h"

namespace attnlab::kernels {

struct AttentionParams {
  int64_t window = kDenseWindow;  // already resolved for this T (see window_for_length)
  int64_t block_size = 64;        // queries per block (64: fastest measured, docs/KERNELS.md)
  double scale = 0.0;             // softmax scale; 0 means 1/sqrt(D)
};

// y_BHTD[b,h,i] = sum_j softmax_j(q_i·k_j·scale over visible j) v_j.
// Floating dtypes; half/bfloat16 are computed in float32 and returned in their own dtype.
// Throws std::invalid_argument naming the offending argument on bad shapes/dtypes/params.
torch::Tensor causal_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                               const torch::Tensor& v_BKTD, const AttentionParams& params);

// causal_attention(...) with every head's output scaled by a per-token gate:
// y_BHTD[b,h,t] * gate_BTH[b,t,h], fused into the same block pass (forward and backward).
torch::Tensor gated_causal_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                     const torch::Tensor& v_BKTD, const torch::Tensor& gate_BTH,
                                     const AttentionParams& params);

}  // namespace attnlab::kernels
