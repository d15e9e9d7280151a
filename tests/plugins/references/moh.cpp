// Conformance reference of plugin `moh` (plugins/moh/README.md, Jin et al. 2024), token by token
// in fp64 from the formula: S = shared_heads, R = H − S routed heads;
//   shared h < S: g = α₁ · softmax(W_s x)_h (1 when S = 1); routed h ≥ S: g = α₂ · softmax(W_r
//   x)_{h−S} when it is among the top_k largest, else 0; [α₁, α₂] = softmax(W_mix x) (α = 1 without
//   the other group); every head's dense causal attention output times g. FLOPs (its README): dense
//   attention of every head, the router projections (E outputs of C) and the scaling.
// Also checks aux_loss() = Σ_i f_i·P_i and the statistics against the same routing.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "../conformance/conformance.h"

namespace attnlab::test {
namespace {

using Matrix = torch::TensorAccessor<double, 2>;

// softmax(W x) for W [E, C] and x [C].
std::vector<double> softmax_of(const Matrix& w_EC, const torch::TensorAccessor<double, 1>& x_C) {
  std::vector<double> z(w_EC.size(0), 0.0);
  double top = -INFINITY, sum = 0;
  for (size_t e = 0; e < z.size(); ++e) {
    for (int64_t c = 0; c < x_C.size(0); ++c) z[e] += w_EC[e][c] * x_C[c];
    top = std::max(top, z[e]);
  }
  for (auto& v : z) sum += (v = std::exp(v - top));
  for (auto& v : z) v /= sum;
  return z;
}

struct Routing {
  torch::Tensor gate_BTH, chosen_BTR, p_BTR;  // chosen/p: [B, T, R]
  double mean_alpha1 = 0;
};

// The variant's router weight `name`, fp64 (an empty [0, 0] when its group does not exist).
torch::Tensor router_weight(const ReferenceInput& in, const char* name, bool exists) {
  return exists ? parameter(*in.variant, name).contiguous() : torch::zeros({0, 0}, torch::kDouble);
}

Routing route(const ReferenceInput& in) {
  const int64_t B = in.x_BTC.size(0), T = in.x_BTC.size(1), H = in.q_BHTD.size(1);
  const int64_t S = in.options.at("shared_heads").get<int64_t>(), R = H - S;
  const int64_t k = in.options.at("top_k").get<int64_t>();
  const auto w_mix = router_weight(in, "router_mix_weight", S > 0 && R > 0);
  const auto w_shared = router_weight(in, "router_shared_weight", S >= 2);
  const auto w_routed = router_weight(in, "router_routed_weight", R > 0);
  const auto x_BTC = in.x_BTC.contiguous();
  Routing r{torch::zeros({B, T, H}, torch::kDouble), torch::zeros({B, T, R}, torch::kDouble),
            torch::zeros({B, T, R}, torch::kDouble)};
  auto g = r.gate_BTH.accessor<double, 3>(), chosen = r.chosen_BTR.accessor<double, 3>();
  auto p_out = r.p_BTR.accessor<double, 3>();
  const auto x = x_BTC.accessor<double, 3>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> alpha = {1.0, 1.0};
      if (S > 0 && R > 0) alpha = softmax_of(w_mix.accessor<double, 2>(), x[b][t]);
      r.mean_alpha1 += alpha[0] / static_cast<double>(B * T);
      const auto shared = S >= 2 ? softmax_of(w_shared.accessor<double, 2>(), x[b][t])
                                 : std::vector<double>(S, 1.0);
      for (int64_t h = 0; h < S; ++h) g[b][t][h] = alpha[0] * shared[h];
      if (R == 0) continue;
      const auto p = softmax_of(w_routed.accessor<double, 2>(), x[b][t]);
      std::vector<int64_t> order(R);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return p[i] > p[j]; });
      for (int64_t i = 0; i < R; ++i) p_out[b][t][i] = p[i];
      for (int64_t n = 0; n < k; ++n) {
        g[b][t][S + order[n]] = alpha[1] * p[order[n]];
        chosen[b][t][order[n]] = 1.0;
      }
    }
  }
  return r;
}

ReferenceOutput moh(const ReferenceInput& in) {
  const int64_t H = in.q_BHTD.size(1), T = in.q_BHTD.size(2), D = in.q_BHTD.size(3);
  const int64_t S = in.options.at("shared_heads").get<int64_t>(), R = H - S;
  const int64_t router_outputs = (S >= 2 ? S : 0) + R + (S > 0 && R > 0 ? 2 : 0);
  auto out = windowed_attention(in, -1, route(in).gate_BTH);
  out.flops += gate_flops(T, router_outputs, in.x_BTC.size(2), H, D);
  return out;
}

using namespace conformance;

// The load-balancing loss and the statistics of one forward against the reference's routing.
void check_loss_and_statistics(const nlohmann::json& overrides) {
  static plugin::PluginRegistry registry(ATTNLAB_BINARY_DIR "/plugins");
  const auto& plugin = registry.load("moh");
  const auto options = plugin.complete_options(overrides);
  INFO("options " << options.dump());
  auto variant = plugin.create(kDims, options);
  variant->to(torch::kDouble);
  const auto s = random_sample(30);
  run(*variant, s);
  const auto r = route({s.q_BHTD, s.k_BKTD, s.v_BKTD, s.x_BTC, variant.get(), options, kDims});
  const auto f_R = r.chosen_BTR.mean(torch::IntArrayRef{0, 1}),
             P_R = r.p_BTR.mean(torch::IntArrayRef{0, 1});
  CHECK(variant->aux_loss().item<double>() == Approx((f_R * P_R).sum().item<double>()));
  std::map<std::string, double> stats;
  for (const auto& stat : variant->statistics()) stats[stat.name] = stat.value.item<double>();
  CHECK(stats.at("active_heads") ==
        Approx(r.gate_BTH.gt(0).to(torch::kDouble).mean().item<double>()));
  CHECK(stats.at("max_routed_load") == Approx(f_R.max().item<double>()));
  CHECK(stats.at("shared_weight") == Approx(r.mean_alpha1));
}

}  // namespace

// small: two shared heads (their own softmax) and one routed head of two; smooth: a wider router
// weight, so that routing weights differ and their gradients are large enough for differences.
ATTNLAB_PLUGIN_REFERENCE("moh", PluginReference{moh,
                                                {{"gate_weight_init_std", 0.5}},
                                                {{"shared_heads", 2}, {"top_k", 1}}});

TEST_CASE("moh: the load-balancing loss and statistics follow the formula", "[moh]") {
  torch::manual_seed(7);
  check_loss_and_statistics({{"gate_weight_init_std", 0.5}});
  check_loss_and_statistics({{"shared_heads", 2}, {"top_k", 1}, {"gate_weight_init_std", 0.5}});
}

}  // namespace attnlab::test
