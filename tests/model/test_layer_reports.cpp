// What the decoder reports about its attention layers: attention_flops(T) against a sum over
// layers computed here, gate_activations() against per-layer means taken here element by
// element from each layer's gates.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <random>

#include "attnlab/model/decoder.h"
#include "small_model_config.h"

using namespace attnlab;

namespace {

// Output zero, but FLOPs that depend on T and on the layer (so a sum that skips or repeats a
// layer is caught), and fresh random gates in [0, 1) on every forward when `gated`.
class ReportingVariant : public AttentionVariant {
 public:
  ReportingVariant(const attnlab_layer_dims& dims, bool gated) : dims_(dims), gated_(gated) {}
  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor&, const torch::Tensor&,
                        const AttentionContext&) override {
    if (gated_) last_gate_BTH_ = torch::rand({q_BHTD.size(0), q_BHTD.size(2), q_BHTD.size(1)});
    return torch::zeros_like(q_BHTD);
  }
  AttentionFlops flops(int64_t T) const override { return {forward_flops(dims_, T), 3.0 * T}; }
  torch::Tensor last_gate_BTH() const override { return last_gate_BTH_; }

  static double forward_flops(const attnlab_layer_dims& dims, int64_t T) {
    return 4.0 * T * T * dims.n_head * dims.head_dim + 7.0 * dims.layer_index;
  }

 private:
  attnlab_layer_dims dims_;
  bool gated_;
  torch::Tensor last_gate_BTH_;
};

model::ModelConfig small_config() { return test::small_model_config("reports", 53, 3); }

// gated(layer): whether that layer's variant reports gates.
model::Decoder make_decoder(const std::function<bool(int64_t)>& gated) {
  return model::Decoder(small_config(), [&](const attnlab_layer_dims& dims) {
    return std::make_shared<ReportingVariant>(dims, gated(dims.layer_index));
  });
}

void run_forward(model::Decoder& m, int64_t B, int64_t T) {
  torch::NoGradGuard no_grad;
  m->forward(torch::randint(0, small_config().vocab_size, {B, T}, torch::kInt64));
}

}  // namespace

TEST_CASE("attention_flops sums every layer's forward and backward FLOPs", "[model]") {
  auto m = make_decoder([](int64_t) { return false; });
  const auto c = small_config();
  std::mt19937 rng(std::random_device{}());
  const int64_t T = std::uniform_int_distribution<int64_t>(1, 4096)(rng);
  INFO("T = " << T);
  double expected = 0.0;
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const attnlab_layer_dims dims{c.d_model, c.n_head, c.n_kv_head, c.head_dim, c.n_layer, l};
    expected += ReportingVariant::forward_flops(dims, T) + 3.0 * T;
  }
  CHECK(m->attention_flops(T) == expected);
}

TEST_CASE("gate_activations is each layer's per-head mean gate of the last forward", "[model]") {
  auto m = make_decoder([](int64_t) { return true; });
  CHECK(m->gate_activations().empty());  // no forward yet
  const int64_t B = 3, T = 7, H = small_config().n_head;
  run_forward(m, B, T);
  run_forward(m, B, T);  // the last forward counts, not an average of both
  const auto mean_LH = m->gate_activations();
  REQUIRE(mean_LH.size() == static_cast<size_t>(small_config().n_layer));
  for (size_t l = 0; l < mean_LH.size(); ++l) {
    const auto gate_BTH = (*m->blocks)[l]->as<model::BlockImpl>()->attn->variant->last_gate_BTH();
    const auto g = gate_BTH.accessor<float, 3>();
    REQUIRE(mean_LH[l].size() == static_cast<size_t>(H));
    for (int64_t h = 0; h < H; ++h) {
      double sum = 0.0;
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t t = 0; t < T; ++t) sum += g[b][t][h];
      }
      INFO("layer " << l << " head " << h);
      CHECK(mean_LH[l][h] == Approx(sum / (B * T)).epsilon(1e-12));
    }
  }
}

TEST_CASE("gate_activations is empty unless every layer reports gates", "[model]") {
  auto partly = make_decoder([](int64_t layer) { return layer != 1; });
  run_forward(partly, 2, 5);
  CHECK(partly->gate_activations().empty());
  auto gated = make_decoder([](int64_t) { return true; });
  run_forward(gated, 2, 5);
  CHECK(gated->gate_activations().size() == static_cast<size_t>(small_config().n_layer));
}
