// Mixture-of-Head attention's router (Jin et al. 2024, "MoH: Multi-Head Attention as
// Mixture-of-Head Attention"): per token, S shared heads are always active and the top-k of the
// R = H - S routed heads are chosen, with the paper's two-stage weights
//   shared h < S:  g_h = α₁ · softmax(W_s x)_h
//   routed h ≥ S:  g_h = α₂ · softmax(W_r x)_{h-S}   if it is among the k largest, else 0
//   [α₁, α₂] = softmax(W_h x)
// (α₁ = 1 without routed heads, α₂ = 1 without shared ones, softmax over one shared head = 1).
// Each head's attention output is scaled by g_h (gated_causal_attention / cached_attention) and
// the model's output projection sums the heads. The load-balancing loss of the paper is
//   L_b = Σ_{i<R} f_i · P_i,  f_i = fraction of tokens choosing routed head i,
//                             P_i = mean over tokens of softmax(W_r x)_i.
//
// Shape legend: B batch, T tokens, C d_model, H heads, S shared heads, R routed heads, D head dim.
#pragma once
#include <torch/types.h>

#include <cstdint>

#include "attnlab/kernels/flops.h"

namespace attnlab::kernels {

// The router's weights (no biases, as in the paper); a tensor is undefined when its group does
// not exist: shared_SC when S < 2, routed_RC when R = 0, mix_2C when S = 0 or R = 0.
struct MohRouterWeights {
  torch::Tensor shared_SC, routed_RC, mix_2C;
};

struct MohRouting {
  torch::Tensor gate_BTH;       // g, [B, T, H], differentiable; 0 for unchosen routed heads
  torch::Tensor chosen_BTR;     // bool, the routed heads each token chose (undefined when R = 0)
  torch::Tensor routed_p_BTR;   // softmax(W_r x), differentiable (undefined when R = 0)
  torch::Tensor shared_mix_BT;  // α₁ (undefined unless S > 0 and R > 0)
};

// x_BTC -> the routing of every token over n_head heads, n_shared of them shared, top_k of the
// routed ones chosen (1 ≤ top_k ≤ R when R > 0). Throws std::invalid_argument on bad shapes.
MohRouting moh_route(const torch::Tensor& x_BTC, const MohRouterWeights& weights, int64_t n_head,
                     int64_t n_shared, int64_t top_k);

// L_b over every token of the batch (a differentiable scalar through P); undefined when R = 0.
torch::Tensor moh_load_balance_loss(const MohRouting& routing);

// One sequence: dense causal attention of every head (each is computed, the unchosen scaled by
// 0), the router's projections 2·T·C·E (E router outputs) and the scaling T·H·D forward;
// backward 4·T·C·E + 2·T·H·D.
FlopCount moh_flops(int64_t T, int64_t d_model, int64_t n_head, int64_t head_dim,
                    int64_t router_outputs);

}  // namespace attnlab::kernels
