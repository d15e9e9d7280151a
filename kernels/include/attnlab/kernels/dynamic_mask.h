// Trainable dynamic mask attention (DMA; Shi et al. 2025, "Trainable Dynamic Mask Sparse
// Attention", arXiv 2508.02124). Every key j of kv head κ gets a content-aware bias
//   Δ_κj = exp(A_κ · softplus(v_κj · W_Δ[κ]))
// and each query keeps only its top-`keep` causal keys by Δ (ties go to the most recent key,
// so with all Δ equal — A = 0 — the selection is a sliding window of `keep` keys). Attention is
// a softmax over the kept keys of q·k/√D + Δ. The selection is a streaming top-k over the key
// prefix (O(S log keep + T·keep) per head, no T×S matrix) and is not differentiable; the
// kept keys are gathered, so time and memory are O(T·keep·D), and gradients reach q, k, v,
// W_Δ and A through plain ATen ops.
//
// Shape legend: B batch, H query heads, K kv heads (query head h reads kv head h / (H / K)),
// T queries, S keys (S >= T; query i is the (S - T + i)-th key's position), D head dim,
// N kept keys per query (min(keep, S)).
#pragma once
#include <torch/types.h>

#include <cstdint>

#include "attnlab/kernels/flops.h"

namespace attnlab::kernels {

// v_BKSD [B, K, S, D], weight_KD [K, D], a_K [K] -> delta_BKS [B, K, S], differentiable.
torch::Tensor dynamic_mask_delta(const torch::Tensor& v_BKSD, const torch::Tensor& weight_KD,
                                 const torch::Tensor& a_K);

// The kept keys of every query: index_BKTN holds key positions in [0, S) (int64, on the
// device of delta); slot n of query i is in use iff valid_TN[i][n] (query i has
// min(S - T + i + 1, keep) keys; unused slots hold index 0). Slots are in no particular order.
struct DynamicMaskSelection {
  torch::Tensor index_BKTN;
  torch::Tensor valid_TN;
};

// Streaming top-`keep` by delta over each query's causal keys 0..S-T+i.
DynamicMaskSelection dynamic_mask_select(const torch::Tensor& delta_BKS, int64_t T, int64_t keep);

// q_BHTD [B, H, T, D], k_BKSD/v_BKSD [B, K, S, D], delta_BKS -> y_BHTD: softmax over the kept
// keys of q·k/√D + Δ, times v. Differentiable in q, k, v and delta (not in the selection).
torch::Tensor dynamic_mask_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                                     const torch::Tensor& v_BKSD, const torch::Tensor& delta_BKS,
                                     const DynamicMaskSelection& selection);

// Σ_i min(i + 1, keep) over a causal sequence of length T: the (query, key) pairs per head.
double dynamic_mask_pairs(int64_t T, int64_t keep);

// One sequence: attention over the kept pairs (4·D·H·pairs forward, 2.5× backward, flops.h)
// plus the Δ projection (2·T·K·D forward, 4·T·K·D backward).
FlopCount dynamic_mask_flops(int64_t T, int64_t keep, int64_t n_head, int64_t n_kv_head,
                             int64_t head_dim);

}  // namespace attnlab::kernels
