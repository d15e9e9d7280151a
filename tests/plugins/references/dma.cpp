// Conformance reference for plugin `dma` (plugins/dma/README.md), from the formula in fp64:
// Δ_κj = exp(A_κ · softplus(v_κj · W_Δ[κ])); query i keeps its top-`keep` keys j <= i by Δ
// (ties to the larger j), chosen by sorting every candidate list; softmax over the kept keys of
// q·k/√D + Δ, times v, with the full T×T matrix. FLOPs (its README): attention over the kept
// pairs, plus the projection v_κj · W_Δ[κ] of every key (exp and softplus not counted).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

// kept_BKTT[b,κ,i,j]: key j is one of query i's `keep` best keys by (Δ desc, j desc).
torch::Tensor kept_keys(const torch::Tensor& delta_BKT, int64_t keep) {
  const int64_t B = delta_BKT.size(0), K = delta_BKT.size(1), T = delta_BKT.size(2);
  auto kept = torch::zeros({B, K, T, T}, torch::kBool);
  auto delta = delta_BKT.accessor<double, 3>();
  auto out = kept.accessor<bool, 4>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t i = 0; i < T; ++i) {
        std::vector<int64_t> keys(i + 1);
        std::iota(keys.begin(), keys.end(), 0);
        std::sort(keys.begin(), keys.end(), [&](int64_t x, int64_t y) {
          return delta[b][k][x] > delta[b][k][y] || (delta[b][k][x] == delta[b][k][y] && x > y);
        });
        for (int64_t n = 0; n < std::min<int64_t>(keep, i + 1); ++n) out[b][k][i][keys[n]] = true;
      }
    }
  }
  return kept;
}

ReferenceOutput dma(const ReferenceInput& in) {
  const int64_t H = in.q_BHTD.size(1), K = in.k_BKTD.size(1), T = in.q_BHTD.size(2);
  const int64_t D = in.q_BHTD.size(3), group = H / K;
  const int64_t keep = in.options.at("keep").get<int64_t>();
  const auto w_KD = parameter(*in.variant, "delta_weight");
  const auto a_K = parameter(*in.variant, "delta_a");
  const auto z_BKT = torch::log1p(torch::exp((in.v_BKTD * w_KD.view({1, K, 1, D})).sum(-1)));
  const auto delta_BKT = torch::exp(a_K.view({1, K, 1}) * z_BKT);
  const auto kept_BHTT = kept_keys(delta_BKT.detach(), keep).repeat_interleave(group, 1);
  auto s_BHTT = torch::matmul(in.q_BHTD, in.k_BKTD.repeat_interleave(group, 1).transpose(-2, -1)) /
                    std::sqrt(static_cast<double>(D)) +
                delta_BKT.repeat_interleave(group, 1).unsqueeze(2);
  s_BHTT = s_BHTT.masked_fill(kept_BHTT.logical_not(), -INFINITY);
  const auto y = torch::matmul(torch::softmax(s_BHTT, -1), in.v_BKTD.repeat_interleave(group, 1));
  // Every sequence keeps min(i + 1, keep) keys per query: the first one stands for all.
  const auto kept = kept_BHTT.accessor<bool, 4>();
  auto flops =
      attention_flops(H, T, D, [&](int64_t h, int64_t i, int64_t j) { return kept[0][h][i][j]; });
  flops += projection_flops(T, K, D);
  return {y, flops};
}

}  // namespace

// small: a few kept keys and A != 0, so the selection is not just the initial sliding window;
// smooth: A != 0, so the gradient reaches W_Δ (at A = 0 every Δ is 1 whatever W_Δ is).
ATTNLAB_PLUGIN_REFERENCE("dma",
                         PluginReference{dma, {{"a_init", 0.5}}, {{"keep", 5}, {"a_init", 1.0}}});

}  // namespace attnlab::test
