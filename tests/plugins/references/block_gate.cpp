// Conformance reference for plugin `block_gate` (plugins/block_gate/README.md), query by query
// in fp64 plain loops from the formula: for kv head κ and query t in block i = t / L,
//   gq = RoPE_{iL}(W_q[κ] · mean of q over the group's heads and positions iL..t)
//   gk_j = RoPE_{jL}(W_k[κ] · mean of k over block j) for j < i, and over iL..t for j = i
//   s_j = gq·gk_j / √G, p = softmax(s_0..s_i); kept: block 0, block i, and the top_blocks
//   middle blocks 0 < j < i of largest s (threshold > 0: those with p_j >= threshold);
//   y_h[t] = Σ over kept causal keys u of softmax(q_h[t]·k_u/√D + log p_{u/L}) v_u.
// FLOPs (its README): attention over the kept pairs (the mean over the batch), both gate
// projections, one G-dot per causal (query, block) pair; pooling and RoPE are not counted.
// Also checks the kept_block_fraction statistic against the same selection.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "../conformance/conformance.h"

namespace attnlab::test {
namespace {

using Vector = std::vector<double>;

struct Options {
  int64_t L, top;
  double threshold, theta;
};

Options read_options(const nlohmann::json& o) {
  return {o.at("block_size").get<int64_t>(), o.at("top_blocks").get<int64_t>(),
          o.at("threshold").get<double>(), o.at("rope_theta").get<double>()};
}

// Mean of x[b, n, u, :] over heads n in [n0, n1) and positions u in [u0, u1].
Vector mean_of(const torch::Tensor& x_BNTD, int64_t b, int64_t n0, int64_t n1, int64_t u0,
               int64_t u1) {
  const auto x = x_BNTD.accessor<double, 4>();
  Vector m(x_BNTD.size(3), 0.0);
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t u = u0; u <= u1; ++u) {
      for (size_t d = 0; d < m.size(); ++d) m[d] += x[b][n][u][d];
    }
  }
  for (auto& value : m) value /= static_cast<double>((n1 - n0) * (u1 - u0 + 1));
  return m;
}

// RoPE_pos(W[κ] · x): halves rotated by pos · θ^(-2m/G).
Vector gate_vector(const torch::Tensor& w_KGD, int64_t kappa, const Vector& x, int64_t pos,
                   double theta) {
  const auto w = w_KGD.accessor<double, 3>();
  const int64_t G = w_KGD.size(1), half = G / 2;
  Vector z(G, 0.0), out(G);
  for (int64_t g = 0; g < G; ++g) {
    for (size_t d = 0; d < x.size(); ++d) z[g] += w[kappa][g][d] * x[d];
  }
  for (int64_t m = 0; m < half; ++m) {
    const double angle = static_cast<double>(pos) * std::pow(theta, -2.0 * m / G);
    out[m] = z[m] * std::cos(angle) - z[m + half] * std::sin(angle);
    out[m + half] = z[m + half] * std::cos(angle) + z[m] * std::sin(angle);
  }
  return out;
}

// The gate of every (b, κ, t): log p over blocks 0..i and which blocks are kept.
struct QueryGate {
  Vector log_p;
  std::vector<bool> kept;
};
using Gates = std::vector<std::vector<std::vector<QueryGate>>>;  // [b][κ][t]

QueryGate query_gate(const ReferenceInput& in, const Options& o, const torch::Tensor& wq,
                     const torch::Tensor& wk, int64_t b, int64_t kappa, int64_t t) {
  const int64_t group = in.q_BHTD.size(1) / in.k_BKTD.size(1), i = t / o.L;
  const auto gq =
      gate_vector(wq, kappa, mean_of(in.q_BHTD, b, kappa * group, (kappa + 1) * group, i * o.L, t),
                  i * o.L, o.theta);
  Vector s(i + 1);
  for (int64_t j = 0; j <= i; ++j) {
    const int64_t last = j < i ? j * o.L + o.L - 1 : t;
    const auto gk = gate_vector(wk, kappa, mean_of(in.k_BKTD, b, kappa, kappa + 1, j * o.L, last),
                                j * o.L, o.theta);
    s[j] = std::inner_product(gq.begin(), gq.end(), gk.begin(), 0.0) /
           std::sqrt(static_cast<double>(gq.size()));
  }
  const double top = *std::max_element(s.begin(), s.end());
  double sum = 0;
  for (const double value : s) sum += std::exp(value - top);
  QueryGate gate{Vector(i + 1), std::vector<bool>(i + 1, false)};
  for (int64_t j = 0; j <= i; ++j) gate.log_p[j] = s[j] - top - std::log(sum);
  std::vector<int64_t> middle(std::max<int64_t>(i - 1, 0));
  std::iota(middle.begin(), middle.end(), 1);
  std::stable_sort(middle.begin(), middle.end(), [&](int64_t x, int64_t y) { return s[x] > s[y]; });
  for (size_t n = 0; n < middle.size(); ++n) {
    const int64_t j = middle[n];
    gate.kept[j] =
        o.threshold > 0 ? std::exp(gate.log_p[j]) >= o.threshold : static_cast<int64_t>(n) < o.top;
  }
  gate.kept[0] = gate.kept[i] = true;
  return gate;
}

Gates all_gates(const ReferenceInput& in) {
  const auto o = read_options(in.options);
  const int64_t B = in.q_BHTD.size(0), K = in.k_BKTD.size(1), T = in.q_BHTD.size(2);
  const auto wq = parameter(*in.variant, "gate_query_weight");
  const auto wk = parameter(*in.variant, "gate_key_weight");
  Gates gates(B, std::vector<std::vector<QueryGate>>(K));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t kappa = 0; kappa < K; ++kappa) {
      for (int64_t t = 0; t < T; ++t)
        gates[b][kappa].push_back(query_gate(in, o, wq, wk, b, kappa, t));
    }
  }
  return gates;
}

// y_h[t]: softmax over the kept causal keys of q·k/√D + log p, times v.
torch::Tensor attend(const ReferenceInput& in, const Gates& gates, int64_t L) {
  const int64_t B = in.q_BHTD.size(0), H = in.q_BHTD.size(1), T = in.q_BHTD.size(2);
  const int64_t D = in.q_BHTD.size(3), group = H / in.k_BKTD.size(1);
  const auto q = in.q_BHTD.accessor<double, 4>(), k = in.k_BKTD.accessor<double, 4>();
  const auto v = in.v_BKTD.accessor<double, 4>();
  auto y_BHTD = torch::zeros_like(in.q_BHTD);
  auto y = y_BHTD.accessor<double, 4>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t t = 0; t < T; ++t) {
        const auto& gate = gates[b][h / group][t];
        Vector logit(t + 1, -INFINITY);
        for (int64_t u = 0; u <= t; ++u) {
          if (!gate.kept[u / L]) continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += q[b][h][t][d] * k[b][h / group][u][d];
          logit[u] = dot / std::sqrt(static_cast<double>(D)) + gate.log_p[u / L];
        }
        const double top = *std::max_element(logit.begin(), logit.end());
        double sum = 0;
        for (auto& value : logit) sum += (value = std::exp(value - top));
        for (int64_t u = 0; u <= t; ++u) {
          for (int64_t d = 0; d < D; ++d) y[b][h][t][d] += logit[u] / sum * v[b][h / group][u][d];
        }
      }
    }
  }
  return y_BHTD;
}

ReferenceOutput block_gate(const ReferenceInput& in) {
  const int64_t B = in.q_BHTD.size(0), H = in.q_BHTD.size(1), K = in.k_BKTD.size(1);
  const int64_t T = in.q_BHTD.size(2), D = in.q_BHTD.size(3), group = H / K;
  const auto o = read_options(in.options);
  const int64_t G = parameter(*in.variant, "gate_query_weight").size(1);
  const auto gates = all_gates(in);
  ReferenceOutput out{attend(in, gates, o.L), {}};
  for (int64_t b = 0; b < B; ++b) {
    const auto per_sequence = attention_flops(H, T, D, [&](int64_t h, int64_t i, int64_t j) {
      return static_cast<bool>(gates[b][h / group][i].kept[j / o.L]);
    });
    out.flops.forward += per_sequence.forward / static_cast<double>(B);
    out.flops.backward += per_sequence.backward / static_cast<double>(B);
  }
  out.flops += projection_flops(T, K * G, D);  // W_q
  out.flops += projection_flops(T, K * G, D);  // W_k
  for (int64_t kappa = 0; kappa < K; ++kappa) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t j = 0; j <= t / o.L; ++j) {
        out.flops.forward += 2.0 * G;   // gq · gk_j
        out.flops.backward += 4.0 * G;  // d gq and d gk_j
      }
    }
  }
  return out;
}

using namespace conformance;

// kept_block_fraction = kept (query, block) pairs / causal (query, block) pairs.
void check_kept_block_fraction(const nlohmann::json& overrides) {
  static plugin::PluginRegistry registry(ATTNLAB_BINARY_DIR "/plugins");
  const auto& plugin = registry.load("block_gate");
  const auto options = plugin.complete_options(overrides);
  INFO("options " << options.dump());
  auto variant = plugin.create(kDims, options);
  variant->to(torch::kDouble);
  const auto s = random_sample(37);
  torch::NoGradGuard no_grad;
  run(*variant, s);
  const auto gates =
      all_gates({s.q_BHTD, s.k_BKTD, s.v_BKTD, s.x_BTC, variant.get(), options, kDims});
  double kept = 0, causal = 0;
  for (const auto& per_b : gates) {
    for (const auto& per_kappa : per_b) {
      for (const auto& gate : per_kappa) {
        kept += static_cast<double>(std::count(gate.kept.begin(), gate.kept.end(), true));
        causal += static_cast<double>(gate.kept.size());
      }
    }
  }
  std::map<std::string, double> stats;
  for (const auto& stat : variant->statistics()) stats[stat.name] = stat.value.item<double>();
  CHECK(stats.at("kept_block_fraction") == Approx(kept / causal).epsilon(1e-12));
  CHECK(kept < causal);
  CHECK(stats.count("distill_recall") == 0);
}

// KL(teacher || p) from the reference's gates and the dense probabilities pooled by loops.
double naive_kl(const ReferenceInput& in, const Gates& gates, int64_t L) {
  const int64_t group = in.q_BHTD.size(1) / in.k_BKTD.size(1);
  const auto p_BHTT = torch::softmax(naive_scores(in.q_BHTD, in.k_BKTD, -1), -1);
  const auto p = p_BHTT.accessor<double, 4>();
  double kl = 0, queries = 0;
  for (int64_t b = 0; b < p_BHTT.size(0); ++b) {
    for (int64_t kappa = 0; kappa < in.k_BKTD.size(1); ++kappa) {
      for (int64_t t = 0; t < p_BHTT.size(2); ++t) {
        const auto& log_p = gates[b][kappa][t].log_p;
        Vector teacher(log_p.size(), 0.0);
        for (int64_t h = kappa * group; h < (kappa + 1) * group; ++h) {
          for (int64_t u = 0; u <= t; ++u) teacher[u / L] += p[b][h][t][u] / group;
        }
        for (size_t j = 0; j < log_p.size(); ++j) {
          if (teacher[j] > 0) kl += teacher[j] * (std::log(teacher[j]) - log_p[j]);
        }
        queries += 1;
      }
    }
  }
  return kl / queries;
}

// The distillation hooks: off by default (undefined), on: the KL of the formula, a gradient
// reaching only the gate projections, the same output, recall as a statistic; off again.
void check_distillation_hooks() {
  static plugin::PluginRegistry registry(ATTNLAB_BINARY_DIR "/plugins");
  const auto& plugin = registry.load("block_gate");
  const auto options = plugin.complete_options(
      {{"block_size", 4}, {"top_blocks", 1}, {"gate_weight_init_std", 0.5}});
  auto variant = plugin.create(kDims, options);
  variant->to(torch::kDouble);
  REQUIRE(variant->supports_gate_distillation());
  const auto s = random_sample(29);
  for (const auto* t : {&s.q_BHTD, &s.k_BKTD, &s.v_BKTD}) t->requires_grad_(true);
  const auto y = run(*variant, s);
  CHECK_FALSE(variant->gate_distillation().loss.defined());
  variant->set_gate_distillation(true);
  CHECK_FALSE(variant->gate_distillation().loss.defined());
  CHECK(torch::allclose(run(*variant, s), y, 0, 1e-14));
  const auto d = variant->gate_distillation();
  REQUIRE(d.loss.defined());
  REQUIRE(d.recall.defined());
  const auto gates =
      all_gates({s.q_BHTD, s.k_BKTD, s.v_BKTD, s.x_BTC, variant.get(), options, kDims});
  CHECK(d.loss.item<double>() == Approx(naive_kl({s.q_BHTD.detach(), s.k_BKTD.detach(), s.v_BKTD,
                                                  s.x_BTC, variant.get(), options, kDims},
                                                 gates, 4))
                                     .epsilon(1e-10));
  CHECK_FALSE(d.recall.requires_grad());
  CHECK(d.recall.item<double>() >= 0);
  CHECK(d.recall.item<double>() <= 1);
  std::map<std::string, double> stats;
  for (const auto& stat : variant->statistics()) stats[stat.name] = stat.value.item<double>();
  CHECK(stats.at("distill_recall") == d.recall.item<double>());
  d.loss.backward();
  for (const auto& p : variant->named_parameters()) {
    INFO("parameter " << p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().abs().sum().item<double>() > 0);
  }
  for (const auto* t : {&s.q_BHTD, &s.k_BKTD, &s.v_BKTD}) CHECK_FALSE(t->grad().defined());
  variant->set_gate_distillation(false);
  CHECK_FALSE(variant->gate_distillation().recall.defined());
  run(*variant, s);
  CHECK_FALSE(variant->gate_distillation().loss.defined());
}

}  // namespace

// small: blocks of 4 and two middle blocks kept (T 12: 3 blocks, T 40: 10 blocks); smooth: a
// wider gate, so that log p differs between blocks and its gradients are large enough.
ATTNLAB_PLUGIN_REFERENCE("block_gate", PluginReference{block_gate,
                                                       {{"gate_weight_init_std", 0.5}},
                                                       {{"block_size", 4}, {"top_blocks", 2}}});

TEST_CASE("block_gate: kept_block_fraction follows the selection", "[block_gate]") {
  torch::manual_seed(7);
  check_kept_block_fraction({{"block_size", 4}, {"top_blocks", 2}});
  check_kept_block_fraction(
      {{"block_size", 3}, {"threshold", 0.1}, {"gate_dim", 4}, {"gate_weight_init_std", 0.5}});
}

TEST_CASE("block_gate: distillation hooks give the KL of the formula, gate gradients only",
          "[block_gate]") {
  torch::manual_seed(8);
  check_distillation_hooks();
}

}  // namespace attnlab::test
