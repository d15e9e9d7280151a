// Conformance reference for plugin `head_threshold_gate` (plugins/head_threshold_gate/README.md),
// from the formula in fp64: pool_x[t] = mean of x over [floor(t/L)·L, t] (one slice per t),
// s = σ(w_h · [pool_q; pool_k] + b_h), dense causal attention times the mask: 1[s >= θ]
// (straight_through, with the gradient of s) or s (soft) in training, 1[s >= θ] or s·1[s >= θ] at
// inference. FLOPs (its README): the pooling (a running sum and a division per element, also
// 2 backward), the score (a projection of 2·D) and the scaling, plus dense attention, at
// inference only the fraction of active (token, head) pairs of it (measured by the last forward).
#include <vector>

#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

// Pooling the queries and keys of one sequence, element by element.
ReferenceFlops pool_flops(int64_t T, int64_t heads, int64_t D) {
  ReferenceFlops flops;
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t element = 0; element < heads * D; ++element) {
      flops.forward += 2.0;   // sum += x, mean = sum / n
      flops.backward += 2.0;  // dx from dmean / n, accumulated over the prefix
    }
  }
  return flops;
}

torch::Tensor block_pool(const torch::Tensor& x_BNTD, int64_t block) {
  std::vector<torch::Tensor> rows;
  for (int64_t t = 0; t < x_BNTD.size(2); ++t) {
    rows.push_back(x_BNTD.slice(2, t / block * block, t + 1).mean(2));
  }
  return torch::stack(rows, 2);
}

ReferenceOutput head_threshold_gate(const ReferenceInput& in) {
  const int64_t H = in.q_BHTD.size(1), K = in.k_BKTD.size(1), T = in.q_BHTD.size(2);
  const int64_t D = in.q_BHTD.size(3), block = in.options.at("block").get<int64_t>();
  const double threshold = in.options.at("threshold").get<double>();
  const bool soft = in.options.at("mode").get<std::string>() == "soft";
  const auto w_H2D = parameter(*in.variant, "gate_weight");
  const auto b_H = parameter(*in.variant, "gate_bias");
  const auto pool_BHT2D = torch::cat(
      {block_pool(in.q_BHTD, block), block_pool(in.k_BKTD, block).repeat_interleave(H / K, 1)}, -1);
  const auto s_BTH =
      torch::sigmoid((pool_BHT2D * w_H2D.view({1, H, 1, 2 * D})).sum(-1) + b_H.view({1, H, 1}))
          .permute({0, 2, 1});
  const auto hard_BTH = (s_BTH >= threshold).to(torch::kDouble);
  const bool training = in.variant->is_training();
  // Straight-through in training: the value of 1[s >= θ], the gradient of s.
  const auto mask_BTH = soft ? (training ? s_BTH : s_BTH * hard_BTH)
                             : (training ? hard_BTH + s_BTH - s_BTH.detach() : hard_BTH);
  auto out = windowed_attention(in, -1, mask_BTH);
  if (!training) {
    const double active = hard_BTH.mean().item<double>();
    out.flops.forward *= active;
    out.flops.backward *= active;
  }
  out.flops += pool_flops(T, H + K, D);
  out.flops += gate_flops(T, H, 2 * D, H, D);
  return out;
}

}  // namespace

// small: blocks of 4, and θ just under σ(gate_bias_init = 1), so that about half the (token,
// head) pairs are off and the inference forward (and its FLOPs) skips some rows.
ATTNLAB_PLUGIN_REFERENCE("head_threshold_gate",
                         PluginReference{head_threshold_gate,
                                         {{"mode", "soft"}},
                                         {{"block", 4}, {"threshold", 0.731}}});

}  // namespace attnlab::test
