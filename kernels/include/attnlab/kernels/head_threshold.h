// The head threshold gate (the seed's "adaptive sparse transformer block"): per token t and
// query head h an importance score from the block-causal mean of the queries and keys,
//   pool_x[t] = mean of x over [floor(t/L)·L, t]      (a prefix mean inside blocks of L)
//   s[t, h]   = σ(w_h · [pool_q[t, h]; pool_k[t, h / (H/K)]] + b_h)
// and head h's output at token t is switched off when s < θ. Training multiplies the dense
// causal attention by a straight-through mask (forward 1[s ≥ θ], gradient of s) or by s
// ("soft"); inference computes attention only for the rows that are on and leaves the others 0.
//
// Shape legend: B batch, H query heads, K kv heads, T sequence length, D head dim, N any head
// count (H or K).
#pragma once
#include <torch/types.h>

#include <cstdint>

#include "attnlab/kernels/flops.h"

namespace attnlab::kernels {

// x_BNTD -> pool_BNTD: pool[t] = mean of x[floor(t/block)·block .. t] along T. Differentiable.
torch::Tensor block_prefix_mean(const torch::Tensor& x_BNTD, int64_t block);

// q_BHTD, k_BKTD, weight_H2D [H, 2D] (query half first), bias_H -> s_BTH in (0, 1).
torch::Tensor head_threshold_score(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                   const torch::Tensor& weight_H2D, const torch::Tensor& bias_H,
                                   int64_t block);

enum class HeadThresholdMode { kStraightThrough, kSoft };

// What multiplies each head's output, [B, T, H]. Training: 1[s ≥ θ] + s − s.detach()
// (straight-through) or s (soft). Inference: 1[s ≥ θ] (straight-through) or s·1[s ≥ θ] (soft).
torch::Tensor head_threshold_mask(const torch::Tensor& score_BTH, double threshold,
                                  HeadThresholdMode mode, bool training);

// Causal dense softmax attention (scale 1/√D) computed only for the (token, head) rows where
// active_BTH is true, `block_size` rows at a time per head (memory O(block_size·T)); the
// other rows are exactly 0.
torch::Tensor active_rows_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                    const torch::Tensor& v_BKTD, const torch::Tensor& active_BTH,
                                    int64_t block_size = 64);

// One sequence: dense causal attention times active_fraction (1 in training), plus the gate:
// pooling 2·T·(H+K)·D, the score 2·T·H·2D, scaling the outputs T·H·D forward; backward
// pooling 2·T·(H+K)·D, score 8·T·H·D, scaling 2·T·H·D.
FlopCount head_threshold_flops(int64_t T, int64_t n_head, int64_t n_kv_head, int64_t head_dim,
                               double active_fraction);

}  // namespace attnlab::kernels
