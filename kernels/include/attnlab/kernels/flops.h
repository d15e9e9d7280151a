// FLOPs accounting for attention and the head gate, counting only the work inside the
// window (the visible (query, key) pairs of window.h), not the padding a blocked kernel
// computes and masks. A multiply-add counts 2 FLOPs.
//   attention forward  = 2 matmuls (q·kᵀ and p·v) = 4 · D · pairs(T, w) per head
//   attention backward = 2.5 × forward: recompute q·kᵀ, then dv = pᵀ·do, dp = do·vᵀ,
//                        dq = ds·k, dk = dsᵀ·q (5 matmuls against the forward's 2)
//   head gate forward  = 2·T·C·H (x·Wᵀ) + T·H·D (scaling the outputs)
//   head gate backward = 4·T·C·H (dx and dW) + 2·T·H·D (dy·g and dy·o)
// Softmax, masking and elementwise work is not counted (the usual convention).
#pragma once
#include <cstdint>

namespace attnlab::kernels {

struct FlopCount {
  double forward = 0.0;
  double backward = 0.0;
};

// One sequence of length T, n_head query heads of head_dim, window w (or kDenseWindow).
FlopCount attention_flops(int64_t T, int64_t window, int64_t n_head, int64_t head_dim);

// The head gate of one sequence: d_model C, n_head H, head_dim D.
FlopCount head_gate_flops(int64_t T, int64_t d_model, int64_t n_head, int64_t head_dim);

}  // namespace attnlab::kernels
