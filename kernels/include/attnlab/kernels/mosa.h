// Mixture of Sparse Attention (MoSA; Piękos, Csordás, Schmidhuber 2025, "Mixture of Sparse
// Attention: Content-Based Learnable Sparse Attention via Expert-Choice Routing",
// arXiv 2505.00315). Query head h has a router r_h[t] = σ(x_t · W_r[h]) and chooses its
// N = mosa_selected_tokens(T, sparsity) tokens by expert choice: the top-N of r_h over the whole
// sequence. Causal softmax attention (scale 1/√D) runs among the chosen tokens only, in their
// original order (chosen token i sees chosen token j when position_j <= position_i); each
// chosen token's output is multiplied by its router score and written back at its position;
// every other position gets 0 from that head. Per head O(T) for the router and the top-N,
// O(N²·D) for the attention. The choice reads every token's score, so which tokens a head
// attends over depends on later tokens (plugins/mosa/README.md says what that means for
// causality).
//
// Shape legend: B batch, H query heads, K kv heads (query head h reads kv head h / (H / K)),
// T sequence length, D head dim, C d_model, N chosen tokens per head.
#pragma once
#include <torch/types.h>

#include <cstdint>

#include "attnlab/kernels/flops.h"

namespace attnlab::kernels {

// N for a sequence of T tokens: T / sparsity (rounded down), at least 2 and at most T (the
// official implementation's rule).
int64_t mosa_selected_tokens(int64_t T, int64_t sparsity);

// x_BTC [B, T, C], weight_HC [H, C] -> score_BHT = σ(x · W_rᵀ) in (0, 1), differentiable.
torch::Tensor mosa_router(const torch::Tensor& x_BTC, const torch::Tensor& weight_HC);

// The chosen tokens of every head: index_BHN holds their positions in ascending order (int64),
// score_BHN their router scores (differentiable through score_BHT). Ties in the top-N are
// broken as torch::topk breaks them.
struct MosaSelection {
  torch::Tensor index_BHN;
  torch::Tensor score_BHN;
};

MosaSelection mosa_select(const torch::Tensor& score_BHT, int64_t n);

// q_BHTD [B, H, T, D], k_BKTD / v_BKTD [B, K, T, D] -> y_BHTD: the chosen tokens of each head
// gathered (q, k, v at their positions, so the model's RoPE is that of their original
// positions), causal attention among them times their scores (gated_causal_attention), scattered
// back into zeros. Differentiable in q, k, v and the scores (not in the choice).
torch::Tensor mosa_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                             const torch::Tensor& v_BKTD, const MosaSelection& selection);

// One sequence: causal attention among N chosen tokens per head (4·D·H·N(N+1)/2 forward, 2.5×
// backward, flops.h), the router 2·T·H·C (backward 4·T·H·C) and the scaling by the score H·N·D
// (backward 2·H·N·D). Gathering, scattering and the top-N are not counted.
FlopCount mosa_flops(int64_t T, int64_t sparsity, int64_t n_head, int64_t head_dim,
                     int64_t d_model);

}  // namespace attnlab::kernels
