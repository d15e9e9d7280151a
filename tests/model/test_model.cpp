// Tests of the decoder's pieces (RMSNorm, RoPE, SwiGLU, attention layer, full model) against
// references written here independently in fp64, plus parameter counts of the presets.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "attnlab/config/config.h"
#include "attnlab/model/decoder.h"
#include "small_model_config.h"

using namespace attnlab;
using torch::indexing::None;
using torch::indexing::Slice;

namespace {

const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

// Plain causal softmax attention with GQA, as the model's reference variant.
class NaiveDense : public AttentionVariant {
 public:
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const AttentionContext&) override {
    const int64_t group = q.size(1) / k.size(1), T = q.size(2);
    auto k_full = k.repeat_interleave(group, 1), v_full = v.repeat_interleave(group, 1);
    auto s = torch::matmul(q, k_full.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));
    auto mask = torch::ones({T, T}, torch::kBool).triu(1);
    return torch::matmul(s.masked_fill(mask, -INFINITY).softmax(-1), v_full);
  }
  AttentionFlops flops(int64_t) const override { return {}; }
};

model::VariantFactory naive_factory() {
  return [](const attnlab_layer_dims&) { return std::make_shared<NaiveDense>(); };
}

model::ModelConfig small_config() {  // wider than small_model_config: 6 heads of dim 8
  auto c = test::small_model_config("test", 97, 2);
  c.d_model = 48;
  c.n_head = 6;
  c.head_dim = 8;
  c.ffn_hidden = 80;
  return c;
}

torch::Tensor rms_ref(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  return x / (x.pow(2).mean(-1, true) + eps).sqrt() * w;
}

// RoPE written pair by pair: dims (i, i + D/2) rotate by position * theta^(-2i/D).
torch::Tensor rope_ref(const torch::Tensor& x_BHTD, double theta) {
  auto out = x_BHTD.clone();
  const int64_t T = x_BHTD.size(2), D = x_BHTD.size(3);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t i = 0; i < D / 2; ++i) {
      const double angle = t * std::pow(theta, -2.0 * i / D);
      auto a = x_BHTD.index({Slice(), Slice(), t, i});
      auto b = x_BHTD.index({Slice(), Slice(), t, i + D / 2});
      out.index_put_({Slice(), Slice(), t, i}, a * std::cos(angle) - b * std::sin(angle));
      out.index_put_({Slice(), Slice(), t, i + D / 2}, b * std::cos(angle) + a * std::sin(angle));
    }
  }
  return out;
}

// The whole decoder recomputed from its parameters with the reference pieces above.
torch::Tensor decoder_ref(model::DecoderImpl& m, const torch::Tensor& idx_BT) {
  const auto& c = m.config();
  const int64_t B = idx_BT.size(0), T = idx_BT.size(1);
  auto x = m.embed->weight.index({idx_BT});
  NaiveDense attention;
  for (const auto& module : *m.blocks) {
    auto& blk = *module->as<model::BlockImpl>();
    auto& at = *blk.attn;
    auto h = rms_ref(x, blk.attn_norm->weight, c.norm_eps);
    auto split = [&](const torch::Tensor& t, int64_t n) {
      return t.view({B, T, n, c.head_dim}).transpose(1, 2);
    };
    auto q = rope_ref(rms_ref(split(torch::matmul(h, at.q_proj->weight.t()), c.n_head),
                              at.q_norm->weight, c.norm_eps), c.rope_theta);
    auto k = rope_ref(rms_ref(split(torch::matmul(h, at.k_proj->weight.t()), c.n_kv_head),
                              at.k_norm->weight, c.norm_eps), c.rope_theta);
    auto v = split(torch::matmul(h, at.v_proj->weight.t()), c.n_kv_head);
    auto y = attention.forward(q, k, v, {}).transpose(1, 2).reshape({B, T, -1});
    x = x + torch::matmul(y, at.o_proj->weight.t());
    auto g = rms_ref(x, blk.mlp_norm->weight, c.norm_eps);
    auto mlp = torch::matmul(torch::silu(torch::matmul(g, blk.mlp->gate->weight.t())) *
                                 torch::matmul(g, blk.mlp->up->weight.t()),
                             blk.mlp->down->weight.t());
    x = x + mlp;
  }
  x = rms_ref(x, m.final_norm->weight, c.norm_eps);
  return torch::matmul(x, m.embed->weight.t());
}

}  // namespace

TEST_CASE("RMSNorm matches the fp64 formula", "[model]") {
  torch::manual_seed(1);
  model::RMSNorm norm(24, 1e-5);
  torch::NoGradGuard g;
  norm->weight.uniform_(0.5, 1.5);
  norm->to(torch::kFloat64);
  auto x = torch::randn({3, 5, 24}, f64) * 3.0;
  CHECK(torch::allclose(norm(x), rms_ref(x, norm->weight, 1e-5), 1e-12, 1e-12));
}

TEST_CASE("RoPE rotates each dimension pair by position * theta^(-2i/D)", "[model]") {
  torch::manual_seed(2);
  model::RotaryEmbedding rope(16, 500.0);
  auto x = torch::randn({2, 3, 11, 16}, f64);
  auto ours = rope.apply(x);
  // the cos/sin cache is fp32, so agreement is to fp32 precision
  CHECK(torch::allclose(ours, rope_ref(x, 500.0), 1e-5, 1e-5));
  SECTION("scores depend only on the relative position") {
    auto q = torch::randn({1, 1, 1, 16}, f64).expand({1, 1, 11, 16}).contiguous();
    auto k = torch::randn({1, 1, 1, 16}, f64).expand({1, 1, 11, 16}).contiguous();
    auto s = torch::matmul(rope.apply(q), rope.apply(k).transpose(-2, -1))[0][0];
    CHECK(std::abs(s[7][3].item<double>() - s[5][1].item<double>()) < 1e-5);
    CHECK(std::abs(s[4][4].item<double>() - s[9][9].item<double>()) < 1e-5);
  }
}

TEST_CASE("the decoder equals its naive fp64 recomputation", "[model]") {
  torch::manual_seed(3);
  model::Decoder m(small_config(), naive_factory());
  m->to(torch::kFloat64);
  {
    torch::NoGradGuard g;  // norms away from one so their weights matter
    for (auto& p : m->parameters()) {
      if (p.dim() == 1) p.uniform_(0.5, 1.5);
    }
  }
  auto idx = torch::randint(0, 97, {2, 13}, torch::kInt64);
  torch::NoGradGuard g;
  auto ours = m->forward(idx);
  auto ref = decoder_ref(*m, idx);
  REQUIRE(ours.sizes() == ref.sizes());
  CHECK(torch::allclose(ours, ref, 1e-6, 1e-6));
  const int64_t n = 1 + torch::randint(13, {1}).item<int64_t>();
  INFO("forward_tail of the last " << n << " positions");
  CHECK(torch::allclose(m->forward_tail(idx, n), ref.narrow(1, 13 - n, n), 1e-6, 1e-6));
  CHECK_THROWS_WITH(m->forward_tail(idx, 14), Catch::Contains("must be in [1, 13]"));
}

TEST_CASE("the decoder is causal and its loss reaches every parameter", "[model]") {
  torch::manual_seed(4);
  model::Decoder m(small_config(), naive_factory());
  m->to(torch::kFloat64);
  auto idx = torch::randint(0, 97, {1, 16}, torch::kInt64);
  auto changed = idx.clone();
  changed.index_put_({0, Slice(10, None)}, (idx.index({0, Slice(10, None)}) + 1) % 97);
  {
    torch::NoGradGuard g;
    auto a = m->forward(idx), b = m->forward(changed);
    CHECK(torch::allclose(a.index({0, Slice(0, 10)}), b.index({0, Slice(0, 10)}), 0, 0));
    CHECK_FALSE(torch::allclose(a.index({0, 10}), b.index({0, 10}), 1e-6, 1e-6));
  }
  auto targets = torch::randint(0, 97, {1, 16}, torch::kInt64);
  auto loss = m->loss(idx, targets);
  // an untrained model predicts roughly uniformly
  CHECK(std::abs(loss.item<double>() - std::log(97.0)) < 1.0);
  loss.backward();
  for (const auto& p : m->named_parameters()) {
    INFO(p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().abs().sum().item<double>() > 0);
  }
}

TEST_CASE("parameter_count equals the parameters the decoder allocates", "[model]") {
  auto c = small_config();
  for (bool tie : {true, false}) {
    c.tie_embeddings = tie;
    model::Decoder m(c, naive_factory());
    int64_t n = 0;
    for (const auto& p : m->parameters()) n += p.numel();
    CHECK(c.parameter_count() == n);
    CHECK(c.parameter_count(true) == n - (tie ? 1 : 2) * c.vocab_size * c.d_model);
  }
}

namespace {

// A model preset as the smoke experiment composes it (so `${data...}` interpolations resolve),
// with the model schema's defaults for keys the preset leaves out.
model::ModelConfig preset(const std::string& name, std::vector<std::string> overrides = {}) {
  overrides.push_back("model=" + name);
  const auto cells = config::compose_experiment(
      std::string(ATTNLAB_SOURCE_DIR) + "/experiments/smoke.yaml", overrides, {});
  nlohmann::json j = {{"rope_theta", 1e4}, {"norm_eps", 1e-6}, {"init_std", 0.02},
                      {"tie_embeddings", true}};
  j.update(cells.front().tree.at("model"));
  return model::ModelConfig::from_json(j);
}

}  // namespace

TEST_CASE("the presets have the sizes their names claim", "[model]") {
  const auto m134 = preset("qwen3_134m");
  CHECK(m134.n_head == 12);
  // gated variants add n_layer * (C*H + H) = 110,736 parameters, still inside 134M +- 2M
  CHECK(std::abs(m134.parameter_count() - 134'000'000) <= 2'000'000);
  CHECK(std::abs(m134.parameter_count() + 12 * (768 * 12 + 12) - 134'000'000) <= 2'000'000);
  const auto literal = preset("paper_literal");
  CHECK(literal.n_head == 12);
  CHECK(literal.head_dim == 128);
  CHECK(literal.parameter_count() > 1'000'000'000);  // the paper's literal shape is not 134M
  CHECK(preset("tiny").parameter_count() < 10'000'000);
  // tiny's embedding follows the data's tokenizer: GPT-2 padded to 50,304, Qwen3 to 151,680.
  CHECK(preset("tiny").vocab_size == 50304);
  CHECK(preset("tiny", {"data=fineweb_sample_prepared_qwen3"}).vocab_size == 151680);
  CHECK(preset("qwen3_134m", {"data=fineweb_sample_prepared_qwen3"}).vocab_size == 50304);
}
