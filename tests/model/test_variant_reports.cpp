// The decoder's gathering of the v2 variant capabilities over layers: aux_loss() is the sum of
// the layers' auxiliary losses (and differentiable), attention_statistics() lays each
// statistic out per layer with gaps where a layer does not report it, grouped_parameters()
// lists exactly the parameters the variants put in a named group. Checked against sums and
// lists taken here from each layer's variant.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "attnlab/model/decoder.h"
#include "small_model_config.h"

using namespace attnlab;

namespace {

// Attention output q·scale; an aux loss (scale·mean q)², a statistic "share" from fresh
// random numbers on every forward, and "odd_only" only in odd layers; parameter scale in
// group "gate" and parameter bias in no group.
class CapableVariant : public AttentionVariant {
 public:
  explicit CapableVariant(const attnlab_layer_dims& dims) : layer_(dims.layer_index) {
    scale_ = register_parameter("scale", torch::rand({}) + 0.5);
    bias_ = register_parameter("bias", torch::randn({dims.head_dim}));
  }
  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor&, const torch::Tensor&,
                        const AttentionContext&) override {
    aux_ = (scale_ * q_BHTD.mean()).pow(2);
    share_ = torch::rand({});
    return q_BHTD * scale_ + bias_;
  }
  AttentionFlops flops(int64_t) const override { return {}; }
  torch::Tensor aux_loss() const override { return aux_; }
  std::vector<VariantStatistic> statistics() const override {
    std::vector<VariantStatistic> stats = {{"share", share_, 0.0, 1.0}};
    if (layer_ % 2 == 1) stats.push_back({"odd_only", torch::full({}, 1.0 * layer_), 0, 100});
    return stats;
  }
  std::string parameter_group(const std::string& name) const override {
    return name == "scale" ? "gate" : "";
  }
  torch::Tensor aux_, share_;

 private:
  int64_t layer_;
  torch::Tensor scale_, bias_;
};

CapableVariant& variant(model::Decoder& m, size_t layer) {
  return dynamic_cast<CapableVariant&>(*m->blocks[layer]->as<model::BlockImpl>()->attn->variant);
}

}  // namespace

TEST_CASE("the decoder sums aux losses, lays statistics out per layer, lists grouped parameters",
          "[model][variant_reports]") {
  const auto config = test::small_model_config("capable", 41, 3);
  model::Decoder m(config, [](const attnlab_layer_dims& dims) {
    return std::make_shared<CapableVariant>(dims);
  });
  CHECK_FALSE(m->aux_loss().defined());  // before any forward, no variant has one
  const auto idx_BT = torch::randint(0, config.vocab_size, {2, 9}, torch::kInt64);
  m->forward(idx_BT).sum();

  double expected_aux = 0.0;
  for (size_t l = 0; l < 3; ++l) expected_aux += variant(m, l).aux_.item<double>();
  const auto aux = m->aux_loss();
  REQUIRE(aux.defined());
  CHECK(aux.item<double>() == Approx(expected_aux).epsilon(1e-6));  // fp32 sums
  aux.backward();
  for (size_t l = 0; l < 3; ++l) {
    const auto grad = variant(m, l).named_parameters()["scale"].grad();
    REQUIRE(grad.defined());
    CHECK(grad.abs().item<double>() > 0);
  }

  const auto stats = m->attention_statistics();
  REQUIRE(stats.size() == 2);
  CHECK(stats[0].first == "share");
  CHECK(stats[1].first == "odd_only");
  for (size_t l = 0; l < 3; ++l) {
    REQUIRE(stats[0].second[l].has_value());
    CHECK(*stats[0].second[l] == variant(m, l).share_.item<double>());
    CHECK(stats[1].second[l].has_value() == (l % 2 == 1));
  }
  CHECK(*stats[1].second[1] == 1.0);

  const auto grouped = m->grouped_parameters();
  REQUIRE(grouped.size() == 3);
  for (size_t l = 0; l < 3; ++l) {
    CHECK(grouped[l].first == "gate");
    CHECK(grouped[l].second.is_same(variant(m, l).named_parameters()["scale"]));
  }
}
