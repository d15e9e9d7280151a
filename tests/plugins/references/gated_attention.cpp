// Conformance reference of plugin `gated_attention` (Qiu et al. 2025, G1): dense causal
// attention, head h of token t scaled by sigmoid(x_t W_θᵀ) — one gate per head (W_θ [H, C],
// headwise) or per channel (W_θ [H·D, C], elementwise, channel h·D + d). FLOPs (its README):
// dense attention plus the gate, E = H or H·D projections of x (no bias) and the scaling.
#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

ReferenceOutput gated_attention(const ReferenceInput& in) {
  const int64_t B = in.q_BHTD.size(0), H = in.q_BHTD.size(1), T = in.q_BHTD.size(2);
  const int64_t D = in.q_BHTD.size(3), C = in.x_BTC.size(2);
  const bool elementwise = in.options.at("granularity").get<std::string>() == "elementwise";
  auto out = windowed_attention(in, -1);
  out.flops += gate_flops(T, elementwise ? H * D : H, C, H, D);
  const auto w_EC = parameter(*in.variant, "gate_weight");
  const auto gate_BTHG = torch::sigmoid(torch::matmul(in.x_BTC, w_EC.t())).view({B, T, H, -1});
  out.y_BHTD = out.y_BHTD * gate_BTHG.permute({0, 2, 1, 3});
  return out;
}

}  // namespace

// Defaults check the headwise gate, small_options the elementwise one; smooth: a wider gate
// weight, so the gradient along x is large enough for finite differences.
ATTNLAB_PLUGIN_REFERENCE("gated_attention", PluginReference{gated_attention,
                                                            {{"gate_weight_init_std", 0.5}},
                                                            {{"granularity", "elementwise"}}});

}  // namespace attnlab::test
