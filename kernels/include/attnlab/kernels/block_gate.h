// A SeerAttention-style learned block gate (Gao et al. 2024, "SeerAttention: Learning Intrinsic
// Sparse Attention in Your LLMs", arXiv 2410.13276) with its self-distillation teacher. Keys
// are cut into blocks of L positions (the last may be partial); query t lies in block i(t).
// Per kv head κ (the gate is shared by the κ's query heads):
//   gate query  gq[t]    = RoPE_{i(t)·L}(W_q[κ] · prefix_mean(q̄)[t])
//   gate key    gk[j]    = RoPE_{j·L}(W_k[κ] · mean(k over block j))          for j < i(t)
//               gk_t[i]  = RoPE_{i·L}(W_k[κ] · prefix_mean(k)[t])              (diagonal block)
//   score       s[t, j]  = gq[t] · gk[j] / √Dg,  p[t, ·] = softmax over j <= i(t)
// q̄ is the mean of the group's query heads, prefix_mean the mean over [i(t)·L, t]
// (block_prefix_mean): SeerAttention pools a whole query block, which would let a query's
// selection read later queries of its block; pooling up to t keeps every output causal.
// Query t keeps block 0, its own block (causal inside) and, of the middle blocks
// 1..i(t)-1, the `top_blocks` of largest s (or, threshold > 0, those with p >= threshold).
// Attention: softmax over the kept causal keys s of q·k/√D + log p[t, block(s)], times v. The
// log p bias is what trains the gate through the model's loss (with a uniform gate it cancels
// and the output is plain block-sparse attention); the selection itself has no gradient.
// Teacher (no gradient): the dense causal attention probabilities of the same q/k, summed over
// the keys of each block and averaged over the group's heads, rows renormalised over j <= i(t).
//
// Shape legend: B batch, H query heads, K kv heads (query head h reads kv head h / (H / K)),
// T sequence length, D head dim, G gate dim Dg (even), N key blocks ceil(T / L).
#pragma once
#include <torch/types.h>

#include <cstdint>

#include "attnlab/kernels/flops.h"

namespace attnlab::kernels {

struct BlockGateParams {
  int64_t block_size = 64;  // L
  int64_t top_blocks = 4;   // middle blocks kept per query (and the recall's top-k)
  double threshold = 0.0;   // > 0: keep middle blocks with p >= threshold instead of top-k
  double rope_theta = 1e4;  // RoPE base for the gate vectors, as the model's rope_theta
};

// Gate projections, per kv head: query_KGD and key_KGD [K, G, D].
struct BlockGateWeights {
  torch::Tensor query_KGD, key_KGD;
};

// The gate of one forward.
struct BlockGate {
  torch::Tensor log_p_BKTN;  // log p over key blocks (-inf for j > i(t)), differentiable
  torch::Tensor kept_BKTN;   // bool: key block j is kept for query t (always false for j > i(t))
};

// q_BHTD [B, H, T, D], k_BKTD [B, K, T, D] -> the gate (scores, p and the selection).
// Differentiable in the weights and in q/k (detach them to train the gate alone).
BlockGate block_gate(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                     const BlockGateWeights& weights, const BlockGateParams& params);

// Softmax over the kept causal keys of q·k/√D + log p[t, block(s)], times v -> y_BHTD.
// Differentiable in q, k, v and log p. Materialises the [B, H, T, T] scores (masked).
torch::Tensor block_gate_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                   const torch::Tensor& v_BKTD, const BlockGate& gate,
                                   int64_t block_size);

// The teacher: dense causal attention probabilities pooled to key blocks, [B, K, T, N], each
// row a distribution over j <= i(t). Computed without gradient.
torch::Tensor block_gate_teacher(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                 int64_t block_size);

// loss: KL(teacher || p) summed over blocks, averaged over (B, K, T); differentiable through
// log p. recall: over the queries with at least one middle block, the mean fraction of the
// teacher's top-min(top_blocks, middle blocks) middle blocks that p's top ones also hold
// (1 when no query has a middle block); detached.
struct BlockGateDistillation {
  torch::Tensor loss, recall;
};
BlockGateDistillation block_gate_distillation(const torch::Tensor& teacher_BKTN,
                                              const BlockGate& gate, int64_t block_size,
                                              int64_t top_blocks);

// What a gate keeps, over the causal pairs and averaged over batch and kv heads (detached
// double scalars): the fraction of (query, key block) pairs and of (query, key) pairs.
struct BlockGateKept {
  torch::Tensor block_fraction, key_fraction;
};
BlockGateKept block_gate_kept(const torch::Tensor& kept_BKTN, int64_t block_size);

// Kept (query, key) pairs of one head and sequence under the top-k rule (block 0, the causal
// diagonal block and min(top_blocks, i-1) full middle blocks per query of block i).
double block_gate_topk_pairs(int64_t T, int64_t block_size, int64_t top_blocks);

// One sequence: attention over `kept_pairs` pairs per query head (4·D·H·pairs forward, 2.5×
// backward, flops.h); the two gate projections 2·T·K·G·D each (backward 4·T·K·G·D each); the
// block scores, one G-dot per causal (query, block) pair and kv head (2·G forward, 4·G
// backward). Pooling, RoPE, softmax and the selection are not counted, nor the teacher.
FlopCount block_gate_flops(int64_t T, int64_t n_head, int64_t n_kv_head, int64_t head_dim,
                           int64_t gate_dim, int64_t block_size, double kept_pairs);

}  // namespace attnlab::kernels
