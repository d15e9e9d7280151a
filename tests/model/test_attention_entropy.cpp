// Tests of the attention entropy measurement (AttentionLayerImpl::set_measure_entropy): each
// layer's value against a naive fp64 loop over the q, k its variant received, the sampled
// query positions, and that measuring is off by default and changes nothing else.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "attnlab/model/decoder.h"
#include "small_model_config.h"

using namespace attnlab;

namespace {

// Keeps the q, k of its last forward; returns v (each query head reads its kv head).
class RecordingVariant : public AttentionVariant {
 public:
  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const AttentionContext&) override {
    q = q_BHTD.detach().clone();
    k = k_BKTD.detach().clone();
    return v_BKTD.repeat_interleave(q_BHTD.size(1) / k_BKTD.size(1), 1);
  }
  AttentionFlops flops(int64_t) const override { return {}; }

  torch::Tensor q, k;
};

struct Recorded {
  model::Decoder decoder{nullptr};
  std::vector<std::shared_ptr<RecordingVariant>> variants;
};

Recorded make_recorded(uint64_t seed) {
  torch::manual_seed(seed);
  Recorded r;
  r.decoder =
      model::Decoder(test::small_model_config("entropy", 53, 3), [&](const attnlab_layer_dims&) {
        r.variants.push_back(std::make_shared<RecordingVariant>());
        return r.variants.back();
      });
  return r;
}

// Mean over b, h and the sampled positions i of -sum_{j<=i} p_j log p_j, p = softmax over the
// causal keys of q_i·k_j/√D, query head h reading kv head h / (H/K); loops in fp64.
double naive_entropy(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD) {
  const auto q = q_BHTD.to(torch::kFloat64).contiguous();
  const auto k = k_BKTD.to(torch::kFloat64).contiguous();
  const auto qa = q.accessor<double, 4>(), ka = k.accessor<double, 4>();
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), G = H / k.size(1);
  const int64_t S = std::min<int64_t>(32, T);
  double total = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t n = 0; n < S; ++n) {
        const int64_t i = (n + 1) * T / S - 1;
        std::vector<double> s(i + 1, 0.0);
        double top = -INFINITY, z = 0.0, h_i = 0.0;
        for (int64_t j = 0; j <= i; ++j) {
          for (int64_t d = 0; d < D; ++d) s[j] += qa[b][h][i][d] * ka[b][h / G][j][d];
          s[j] /= std::sqrt(static_cast<double>(D));
          top = std::max(top, s[j]);
        }
        for (double x : s) z += std::exp(x - top);
        for (double x : s) {
          const double p = std::exp(x - top) / z;
          h_i -= p * std::log(p);
        }
        total += h_i;
      }
    }
  }
  return total / static_cast<double>(B * H * S);
}

}  // namespace

TEST_CASE("attention_entropy_positions: at most 32, evenly spaced, the last included",
          "[attn_entropy]") {
  CHECK(model::attention_entropy_positions(5) == std::vector<int64_t>{0, 1, 2, 3, 4});
  for (int64_t T : {32, 33, 100, 4097}) {
    INFO(T);
    const auto pos = model::attention_entropy_positions(T);
    REQUIRE(pos.size() == 32);
    CHECK(pos.back() == T - 1);
    for (size_t n = 1; n < pos.size(); ++n) {
      const int64_t step = pos[n] - pos[n - 1];
      CHECK(step >= T / 32);
      CHECK(step <= T / 32 + 1);
    }
  }
}

TEST_CASE("attention entropy equals a naive fp64 loop over each layer's q and k",
          "[attn_entropy]") {
  auto r = make_recorded(31);
  r.decoder->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;  // sharper, varied attention than the init gives
    for (const auto& module : *r.decoder->blocks) {
      auto& attn = *module->as<model::BlockImpl>()->attn;
      attn.q_norm->weight.uniform_(1.0, 4.0);
      attn.k_norm->weight.uniform_(0.5, 3.0);
    }
  }
  r.decoder->set_measure_entropy(true);
  for (int64_t T : {7, 45}) {
    INFO("T = " << T);
    const auto idx = torch::randint(0, 53, {2, T}, torch::kInt64);
    r.decoder->forward(idx);  // with autograd on: the entropy must still be detached
    const auto entropy_L = r.decoder->attention_entropy();
    REQUIRE(entropy_L.size() == 3);
    for (size_t l = 0; l < 3; ++l) {
      INFO("layer " << l);
      REQUIRE(entropy_L[l].defined());
      CHECK(entropy_L[l].dim() == 0);
      CHECK(entropy_L[l].scalar_type() == torch::kFloat32);
      CHECK_FALSE(entropy_L[l].requires_grad());
      const double ref = naive_entropy(r.variants[l]->q, r.variants[l]->k);
      CHECK(entropy_L[l].item<double>() == Approx(ref).epsilon(1e-6));
      double uniform = 0.0;  // the value of uniform attention over the causal keys
      for (int64_t i : model::attention_entropy_positions(T)) uniform += std::log(i + 1.0);
      CHECK(ref < uniform / static_cast<double>(std::min<int64_t>(32, T)) - 0.05);
    }
  }
}

TEST_CASE("attention entropy is measured only when on and changes nothing else", "[attn_entropy]") {
  auto r = make_recorded(32);
  const auto idx = torch::randint(0, 53, {2, 40}, torch::kInt64);
  torch::NoGradGuard no_grad;
  const auto plain = r.decoder->forward(idx);
  for (const auto& e : r.decoder->attention_entropy()) CHECK_FALSE(e.defined());
  r.decoder->set_measure_entropy(true);
  CHECK(torch::equal(r.decoder->forward(idx), plain));
  const auto measured_L = r.decoder->attention_entropy();
  for (const auto& e : measured_L) REQUIRE(e.defined());
  // fp32 model: the measurement agrees with the loop to fp32 precision
  CHECK(measured_L[1].item<double>() ==
        Approx(naive_entropy(r.variants[1]->q, r.variants[1]->k)).epsilon(1e-5));
  r.decoder->set_measure_entropy(false);
  r.decoder->forward(torch::randint(0, 53, {1, 9}, torch::kInt64));
  CHECK(torch::equal(r.decoder->attention_entropy()[0], measured_L[0]));  // the last measured
}
