// Conformance reference of plugin `hybrid` with inner = gated_window: dense causal attention on
// the first dense_heads query heads (and their kv heads, dense_heads / G of them); on the rest
// gated_window's formula: the window (keys i-window..i) when T > adaptive_threshold, dense
// otherwise, head h of token t scaled by sigmoid(x_t W_gᵀ + b_g) with the inner's parameters
// inner.gate_weight and inner.gate_bias. Inner options default to gated_window's (256, 512).
// FLOPs: the dense heads' attention plus the inner heads' attention and gate.
#include <catch2/catch.hpp>

#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

// `in` restricted to query heads h0.. (count h) and their kv heads.
ReferenceInput heads(const ReferenceInput& in, int64_t h0, int64_t h) {
  const int64_t G = in.q_BHTD.size(1) / in.k_BKTD.size(1);
  ReferenceInput part = in;
  part.q_BHTD = in.q_BHTD.narrow(1, h0, h);
  part.k_BKTD = in.k_BKTD.narrow(1, h0 / G, h / G);
  part.v_BKTD = in.v_BKTD.narrow(1, h0 / G, h / G);
  return part;
}

ReferenceOutput hybrid(const ReferenceInput& in) {
  REQUIRE(in.options.at("inner").get<std::string>() == "gated_window");
  const int64_t H = in.q_BHTD.size(1), T = in.q_BHTD.size(2), D = in.q_BHTD.size(3);
  const int64_t G = H / in.k_BKTD.size(1), K = in.k_BKTD.size(1);
  // dense_heads 0 (the default): half the kv-head groups, at least one.
  const int64_t given = in.options.at("dense_heads").get<int64_t>();
  const int64_t n = given > 0 ? given : G * std::max<int64_t>(1, K / 2);
  const auto inner = nlohmann::json::parse(in.options.at("inner_options").get<std::string>());
  const int64_t threshold = inner.value("adaptive_threshold", int64_t{512});
  const int64_t window = T > threshold ? inner.value("window", int64_t{256}) : -1;
  const auto w_HC = parameter(*in.variant, "inner.gate_weight");
  const auto b_H = parameter(*in.variant, "inner.gate_bias");
  const auto gate_BTH = torch::sigmoid(torch::matmul(in.x_BTC, w_HC.t()) + b_H);
  const auto dense = windowed_attention(heads(in, 0, n), -1);
  const auto rest = windowed_attention(heads(in, n, H - n), window, gate_BTH);
  auto flops = dense.flops;
  flops += rest.flops;
  flops += gate_flops(T, H - n, in.x_BTC.size(2), H - n, D);
  return {torch::cat({dense.y_BHTD, rest.y_BHTD}, 1), flops};
}

}  // namespace

ATTNLAB_PLUGIN_REFERENCE("hybrid",
                         PluginReference{
                             hybrid,
                             nlohmann::json::object(),
                             {{"dense_heads", 2},
                              {"inner_options", "{\"window\": 5, \"adaptive_threshold\": 16}"}}});

}  // namespace attnlab::test
