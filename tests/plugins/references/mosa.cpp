// Conformance reference for plugin `mosa` (plugins/mosa/README.md), from the formula in fp64:
// r[b,h,t] = σ(Σ_c x[b,t,c]·W_r[h,c]); head h chooses the N = min(T, max(⌊T/sparsity⌋, 2))
// positions of largest r (found by sorting every position); chosen i attends to chosen j <= i
// with the full T×T score matrix; its output times r[b,h,i]; unchosen positions give 0. FLOPs
// (its README): attention over the chosen pairs, the router projection and the scaling of the
// chosen outputs.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

// chosen_BHT[b,h,t]: t is one of head h's n positions of largest r (ties to the earlier one).
torch::Tensor chosen_positions(const torch::Tensor& r_BHT, int64_t n) {
  const int64_t B = r_BHT.size(0), H = r_BHT.size(1), T = r_BHT.size(2);
  auto chosen = torch::zeros({B, H, T}, torch::kBool);
  auto r = r_BHT.accessor<double, 3>();
  auto out = chosen.accessor<bool, 3>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      std::vector<int64_t> order(T);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t x, int64_t y) { return r[b][h][x] > r[b][h][y]; });
      for (int64_t m = 0; m < n; ++m) out[b][h][order[m]] = true;
    }
  }
  return chosen;
}

// Multiplying each chosen output channel by its score: 1 forward, 2 backward (dy·r, dy·o).
ReferenceFlops scaling_flops(const torch::Tensor& chosen_HT, int64_t D) {
  ReferenceFlops flops;
  auto chosen = chosen_HT.accessor<bool, 2>();
  for (int64_t h = 0; h < chosen_HT.size(0); ++h) {
    for (int64_t t = 0; t < chosen_HT.size(1); ++t) {
      if (!chosen[h][t]) continue;
      flops.forward += 1.0 * D;
      flops.backward += 2.0 * D;
    }
  }
  return flops;
}

ReferenceOutput mosa(const ReferenceInput& in) {
  const int64_t H = in.q_BHTD.size(1), K = in.k_BKTD.size(1), T = in.q_BHTD.size(2);
  const int64_t D = in.q_BHTD.size(3), C = in.x_BTC.size(2), group = H / K;
  const int64_t sparsity = in.options.at("sparsity").get<int64_t>();
  const int64_t n = std::min(T, std::max<int64_t>(T / sparsity, 2));
  const auto w_HC = parameter(*in.variant, "gate_weight");
  const auto r_BHT =
      torch::sigmoid((in.x_BTC.unsqueeze(1) * w_HC.view({1, H, 1, C})).sum(-1));  // [B, H, T]
  const auto chosen_BHT = chosen_positions(r_BHT.detach(), n);
  // Chosen query i sees chosen keys j <= i; an unchosen row sees only itself (its output is
  // multiplied by 0 below), so that its softmax stays finite.
  const auto causal_TT = torch::ones({T, T}, torch::kBool).tril();
  const auto pairs_BHTT = chosen_BHT.unsqueeze(3) & chosen_BHT.unsqueeze(2) & causal_TT;
  const auto sees_BHTT = pairs_BHTT | torch::eye(T, torch::kBool);
  const auto s_BHTT =
      torch::matmul(in.q_BHTD, in.k_BKTD.repeat_interleave(group, 1).transpose(-2, -1)) /
      std::sqrt(static_cast<double>(D));
  const auto p_BHTT = torch::softmax(s_BHTT.masked_fill(sees_BHTT.logical_not(), -INFINITY), -1);
  const auto gate_BHT = r_BHT * chosen_BHT.to(torch::kDouble);
  const auto y_BHTD =
      torch::matmul(p_BHTT, in.v_BKTD.repeat_interleave(group, 1)) * gate_BHT.unsqueeze(-1);
  // Every sequence chooses n positions per head: the first one stands for all.
  const auto pairs = pairs_BHTT.accessor<bool, 4>();
  auto flops =
      attention_flops(H, T, D, [&](int64_t h, int64_t i, int64_t j) { return pairs[0][h][i][j]; });
  flops += projection_flops(T, H, C);
  flops += scaling_flops(chosen_BHT[0], D);
  return {y_BHTD, flops};
}

}  // namespace

// small: T/3 chosen tokens (4 of 12, 13 of 40) and a router spread wide enough that the choice
// differs between heads and batch rows; no smooth options (only the choice is discrete).
ATTNLAB_PLUGIN_REFERENCE("mosa", PluginReference{mosa,
                                                 {},
                                                 {{"sparsity", 3}, {"gate_weight_init_std", 0.5}}});

}  // namespace attnlab::test
