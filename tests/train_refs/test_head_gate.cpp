// The head gate of the real gated_window plugin inside a decoder block: g_BTH =
// sigmoid(RMSNorm(x) W_g^T + b_g), where RMSNorm is the block's attn_norm (with its weight)
// and x the block input, recomputed here in fp64 and compared with last_gate_BTH().
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "attnlab/attention_variant.h"
#include "attnlab/model/decoder.h"
#include "attnlab/plugin/registry.h"
#include "tensor_diff.h"
#include "../model/small_model_config.h"

using namespace attnlab;
using test::max_abs_diff;

namespace {

model::ModelConfig tiny_config() {  // one block of the model tests' small decoder
  auto c = test::small_model_config("head_gate", 53, 1);
  c.d_model = 16;
  c.head_dim = 8;
  c.ffn_hidden = 32;
  c.norm_eps = 1e-5;
  return c;
}

model::Block gated_block(const model::ModelConfig& c) {
  static plugin::PluginRegistry registry(std::filesystem::path(ATTNLAB_BINARY_DIR) / "plugins");
  const auto& gated_window = registry.load("gated_window");
  return model::Block(c, 0, [&](const attnlab_layer_dims& dims) {
    return gated_window.create(dims, nlohmann::json::object());
  });
}

// The named parameter `name` of `block`, overwritten with `values` (so nothing is at its init).
torch::Tensor randomise(model::Block& block, const std::string& name, const torch::Tensor& values) {
  auto params = block->named_parameters();  // find() points into this dict: keep it alive
  auto* p = params.find(name);
  REQUIRE(p != nullptr);
  REQUIRE(p->sizes() == values.sizes());
  torch::NoGradGuard no_grad;
  p->copy_(values);
  return p->detach().to(torch::kFloat64);
}

torch::Tensor sigmoid_gate(const torch::Tensor& x_BTC, const torch::Tensor& w_HC,
                           const torch::Tensor& b_H) {
  return 1.0 / (1.0 + torch::exp(-(torch::einsum("btc,hc->bth", {x_BTC, w_HC}) + b_H)));
}

}  // namespace

TEST_CASE("gated_window's gate is sigmoid(W_g RMSNorm(x) + b_g) per head", "[train_refs][gate]") {
  torch::manual_seed(3);
  const auto c = tiny_config();
  auto block = gated_block(c);
  const auto norm_w_C = randomise(block, "attn_norm.weight", 0.5 + torch::rand({c.d_model}));
  const auto w_HC = randomise(block, "attn.variant.gate_weight",
                              0.3 * torch::randn({c.n_head, c.d_model}));
  const auto b_H = randomise(block, "attn.variant.gate_bias", torch::randn({c.n_head}));
  // Rows of very different scale, so normalising matters.
  const auto x_BTC = 3.0 * torch::randn({2, 6, c.d_model}) * torch::rand({2, 6, 1}).add(0.2);
  torch::NoGradGuard no_grad;
  block->forward(x_BTC);
  const auto gate_BTH = block->attn->variant->last_gate_BTH();
  REQUIRE(gate_BTH.sizes() == torch::IntArrayRef({2, 6, c.n_head}));

  const auto x64_BTC = x_BTC.to(torch::kFloat64);
  const auto normed_BTC =
      x64_BTC / (x64_BTC.pow(2).mean(-1, /*keepdim=*/true) + c.norm_eps).sqrt() * norm_w_C;
  CHECK(max_abs_diff(gate_BTH, sigmoid_gate(normed_BTC, w_HC, b_H)) < 2e-6);
  // The inputs tell the wrong formulas apart: un-normalised x, no norm weight, no bias.
  CHECK(max_abs_diff(gate_BTH, sigmoid_gate(x64_BTC, w_HC, b_H)) > 1e-2);
  CHECK(max_abs_diff(gate_BTH, sigmoid_gate(normed_BTC / norm_w_C, w_HC, b_H)) > 1e-2);
  CHECK(max_abs_diff(gate_BTH, sigmoid_gate(normed_BTC, w_HC, torch::zeros_like(b_H))) > 1e-2);
}
